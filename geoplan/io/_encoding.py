"""The one text-encoding sniffer of geoplan: UTF-8 (with or without BOM), else GBK/GB18030, and
UTF-16 with a byte-order mark, as Excel on Chinese Windows saves CSV and "Unicode text" files."""

from __future__ import annotations

from geoplan._errors import InputError


def _chinese_share(text: str) -> float:
    """Share of the non-ASCII characters that are CJK ideographs or CJK/full-width punctuation."""
    other = [ch for ch in text if ord(ch) > 0x7F]
    if not other:
        return 0.0
    cjk = sum(1 for ch in other if "\u3000" <= ch <= "\u303f" or "\u3400" <= ch <= "\u9fff"
              or "\uff00" <= ch <= "\uffef" or "\U00020000" <= ch <= "\U0003134f")
    return cjk / len(other)


def _decode(data: bytes, encoding: str | None, file: str) -> str:
    if encoding is not None:
        try:
            return data.decode(encoding)
        except LookupError as exc:
            raise InputError(f"unknown text encoding {encoding!r}", file=file, field="encoding") from exc
        except UnicodeDecodeError as exc:
            raise InputError(
                f"the file is not valid {encoding} text (byte {exc.start}); "
                "leave encoding unset to detect UTF-8/GBK",
                file=file, field="encoding",
            ) from exc
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        # Excel's "Unicode text (*.txt)" export: UTF-16 with a byte-order mark.
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    # UTF-8 first: valid UTF-8 is rarely accidentally valid GB18030 text of a
    # different meaning, while the reverse happens often.  Rarely is not never:
    # GBK "位" (CE BB) is also UTF-8 "λ".  When both decode and differ, keep the
    # reading that looks more like a Chinese table (see _chinese_share).
    texts = {}
    for enc in ("utf-8-sig", "gb18030"):
        try:
            texts[enc] = data.decode(enc)
        except UnicodeDecodeError:
            continue
    # A UTF-8 byte-order mark settles it (Excel's "CSV UTF-8" writes one).
    if len(texts) == 2 and texts["utf-8-sig"] != texts["gb18030"] and not data.startswith(b"\xef\xbb\xbf"):
        utf, gb = texts["utf-8-sig"], texts["gb18030"]
        # Only the narrow case: the UTF-8 reading has no Chinese and no accented Latin letters
        # (Finnish, French... names stay UTF-8), while the GBK reading is all Chinese.
        latin = any("\u00c0" <= ch <= "\u024f" for ch in utf)
        if _chinese_share(utf) == 0 and not latin and _chinese_share(gb) == 1.0:
            return gb
    if texts:
        return next(iter(texts.values()))
    raise InputError(
        "cannot tell the text encoding (tried UTF-8 and GBK/GB18030); "
        "save the file as 'CSV UTF-8' or pass encoding=...",
        file=file, field="encoding",
    )


def decode_text(data: bytes, *, encoding: str | None = None, file: str | None = None) -> str:
    """Text of a file's bytes, its encoding detected as for every table geoplan reads.

    UTF-16 with a byte-order mark (Excel's "Unicode text"), else UTF-8 (with or without BOM), else
    GBK/GB18030; when bytes are valid both ways, the reading that looks like a Chinese table wins
    only in the narrow case where the UTF-8 reading has no Chinese and no accented letters.

    Parameters
    ----------
    data
        The file's bytes.
    encoding
        Force an encoding instead of detecting one.
    file
        The file, named in errors.

    Returns
    -------
    str

    Raises
    ------
    InputError
        An unknown or wrong ``encoding``, or bytes that are neither UTF-8 nor GB18030
        (``field="encoding"``).
    """
    return _decode(data, encoding, "" if file is None else str(file))
