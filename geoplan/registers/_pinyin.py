"""Sign pinyin for Chinese place names (GB 17733; GB/T 16159-2012; 1984 place-name spelling rules).

Private: the public entry points are :func:`geoplan.names.sign_pinyin` and
:func:`geoplan.names.split_name`.
"""

from __future__ import annotations

import functools
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from pypinyin import Style, lazy_pinyin

DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "names"

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_NUMERAL_CHARS = set(_CN_DIGITS) | set(_CN_UNITS)
# generics after which a numeral is a sequence number (东四十条 -> Dongsi 10 Tiao)
_ORDINAL_GENERICS = ("条", "巷", "弄", "胡同", "横路", "横街")
# Han characters: every CJK Unified Ideographs block (URO, Ext A; Ext B–I live in planes 2 and 3, which
# Unicode reserves for ideographs, so the whole planes count and a future extension is not dropped) and the
# compatibility ideographs (U+F900–FAFF, U+2F800–2FA1F in plane 2).
HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003fffd]")
_HAN = HAN_RE


def is_han(ch: str) -> bool:
    """Whether ``ch`` (one character) is a CJK ideograph, extensions and compatibility forms included."""
    return bool(HAN_RE.fullmatch(ch))


def read_list(path: str | os.PathLike) -> list[str]:
    """Read a word-list file: one entry per line, ``#`` comments, blank lines ignored."""
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(line)
    return out


def _find(name: str, folder: str | os.PathLike | None) -> Path:
    if folder is not None and (Path(folder) / name).exists():
        return Path(folder) / name
    return DATA_DIR / name


@functools.lru_cache(maxsize=32)
def load_dictionary(folder: str | None = None) -> dict[str, tuple[str, ...]]:
    """Place-name pronunciation dictionary: shipped entries updated by ``folder/place_pinyin.txt``."""
    d: dict[str, tuple[str, ...]] = {}
    files = [DATA_DIR / "place_pinyin.txt"]
    if folder is not None and (Path(folder) / "place_pinyin.txt").exists():
        files.append(Path(folder) / "place_pinyin.txt")
    for f in files:
        for line in read_list(f):
            parts = line.split(None, 1)
            if len(parts) == 2:
                d[parts[0]] = tuple(parts[1].lower().replace("v", "ü").split())
    return d


@functools.lru_cache(maxsize=32)
def load_generics(folder: str | None = None) -> list[tuple[str, str]]:
    """Generic parts as (generic, category), longest first."""
    out = []
    for line in read_list(_find("generics.txt", folder)):
        parts = line.split()
        if len(parts) == 2:
            out.append((parts[1], parts[0]))
    return sorted(set(out), key=lambda t: -len(t[0]))


@dataclass(frozen=True)
class NameParts:
    """A place name split into specific (专名) and generic (通名) parts."""

    name: str
    specific: str
    generic: str
    generic_category: str | None


def split_name(name: str, *, category: str | None = None, folder: str | None = None) -> NameParts:
    """Split a name into specific and generic by the longest matching generic suffix.

    A generic is only split off when something remains (泰山 keeps 山? no: 山 is not in the
    list; 路 alone stays a specific).  With ``category`` given, generics of that
    category are preferred.
    """
    name = name.strip()
    cands = [(g, c) for g, c in load_generics(folder) if name.endswith(g) and len(name) > len(g)]
    if category is not None:
        pref = [(g, c) for g, c in cands if c == category]
        cands = pref or cands
    if not cands:
        return NameParts(name, name, "", None)
    g, c = cands[0]
    return NameParts(name, name[: -len(g)], g, c)


def _numeral_value(s: str) -> int | None:
    if not s or any(ch not in _NUMERAL_CHARS for ch in s):
        return None
    if all(ch in _CN_DIGITS for ch in s):
        return int("".join(str(_CN_DIGITS[ch]) for ch in s)) if len(s) > 1 else _CN_DIGITS[s]
    total, cur = 0, 0
    for ch in s:
        if ch in _CN_DIGITS:
            cur = _CN_DIGITS[ch]
        else:
            total += (cur or 1) * _CN_UNITS[ch]
            cur = 0
    return total + cur


def _reading(ch: str) -> str | None:
    """pypinyin's toneless reading of one Han character, or None when it knows none.

    A compatibility ideograph (U+F900–FAFF, U+2F800–2FA1F) is read as the unified
    character it stands for (NFKC), e.g. U+2F800 → 丽.
    """
    for c in dict.fromkeys((ch, unicodedata.normalize("NFKC", ch))):
        r = lazy_pinyin(c, style=Style.NORMAL, v_to_u=True, errors="ignore")  # [] when unknown
        if len(r) == 1 and r[0] and r[0] != c:
            return r[0]
    return None


def no_pinyin_chars(text: str, *, folder: str | None = None) -> str:
    """The Han characters of ``text`` for which no pinyin is known (kept visible on signs; flagged).

    A one-character entry in the user's ``place_pinyin.txt`` counts as a known reading.
    """
    dictionary = load_dictionary(folder)
    return "".join(
        dict.fromkeys(ch for ch in text if is_han(ch) and ch not in dictionary and _reading(ch) is None)
    )


def _char_syllables(text: str, dictionary: dict[str, tuple[str, ...]]) -> list[str]:
    """One toneless syllable per character (ü kept); dictionary words (longest match) win.

    Characters that are not Han keep themselves (digits, Latin letters); a Han
    character without a known reading also keeps itself (never dropped).
    """
    base = lazy_pinyin(text, style=Style.NORMAL, v_to_u=True, errors=lambda s: list(s))
    out = list(base) if len(base) == len(text) else [
        lazy_pinyin(ch, style=Style.NORMAL, v_to_u=True, errors=lambda s: list(s))[0] for ch in text
    ]
    for k, ch in enumerate(text):
        if out[k] == ch and is_han(ch):  # pypinyin had no reading for the phrase: try the character alone
            out[k] = _reading(ch) or ch
    maxlen = max((len(k) for k in dictionary), default=0)
    i, n = 0, len(text)
    while i < n:
        for L in range(min(maxlen, n - i), 0, -1):
            w = text[i : i + L]
            if w in dictionary and len(dictionary[w]) == L:
                out[i : i + L] = list(dictionary[w])
                i += L
                break
        else:
            i += 1
    return out


def _syllables(text: str, dictionary: dict[str, tuple[str, ...]]) -> list[str]:
    """Toneless syllables of a text (see :func:`_char_syllables`)."""
    return _char_syllables(text, dictionary)


def join_word(syllables: list[str] | list[tuple[str, bool]]) -> str:
    """Join syllables into one word: apostrophe before a/o/e-initial syllables after the first.

    Items may be ``(text, from_han)`` pairs: the apostrophe rule (1984 spelling
    rules) is about pinyin syllables, so it applies only between two syllables
    that both come from Han characters; other text (Latin letters) is copied.
    """
    word = ""
    prev_han = False
    for k, item in enumerate(syllables):
        s, han = item if isinstance(item, tuple) else (item, True)
        if k and han and prev_han and s[:1] in ("a", "o", "e") and word and word[-1].isalpha():
            word += "'"
        word += s
        prev_han = han and s.isalpha()
    return word


def _cap(word: str) -> str:
    return word[:1].upper() + word[1:] if word else word


def _word(text: str, syl: list[str]) -> str:
    """Pinyin of a run of characters (with their syllables) as one word; digit runs separate.

    Han characters become lower-case syllables; Latin letters and other
    non-Han letters are copied unchanged (no apostrophes, no capitalising).
    """
    words: list[tuple[str, bool]] = []  # (word, starts with a Han syllable)
    cur: list[tuple[str, bool]] = []
    digits = ""
    for ch, s in zip(text, syl):
        if ch.isdigit() and not is_han(ch):
            if cur:
                words.append((join_word(cur), cur[0][1]))
                cur = []
            digits += ch
            continue
        if digits:
            words.append((digits, False))
            digits = ""
        if is_han(ch):
            cur.append((s.lower(), True))
        elif ch.isalnum():
            cur.append((ch, False))
        elif cur:
            words.append((join_word(cur), cur[0][1]))
            cur = []
    if cur:
        words.append((join_word(cur), cur[0][1]))
    if digits:
        words.append((digits, False))
    return " ".join(_cap(w) if han else w for w, han in words if w)


_ATTACH = set("东西南北中前后内外")


def sign_pinyin(
    name: str,
    *,
    category: str | None = None,
    one_word: bool = False,
    upper: bool = False,
    folder: str | None = None,
) -> str:
    """Pinyin for a sign: specific and generic separate and capitalised, no tones.

    Parameters
    ----------
    name
        Standard Chinese name, e.g. ``"雨湖路"``.
    category
        ``"natural_village"`` writes the whole name as one word (周口店 → Zhoukoudian);
        other categories only steer the generic split.
    one_word
        Force one word (names whose generic has become part of the specific).
    upper
        All capitals (some sign designs).
    folder
        Folder with a user ``place_pinyin.txt`` / ``generics.txt``.
    """
    dictionary = load_dictionary(folder)
    name = name.strip()
    if not any(is_han(ch) for ch in name):
        # Latin (or other non-Han) text is not Chinese: no pinyin to write, pass it through unchanged
        return name.upper() if upper else name
    syl = _char_syllables(name, dictionary)
    if category == "natural_village" or one_word:
        out = _word(name, syl)
    else:
        parts = split_name(name, category=category, folder=folder)
        k = len(parts.specific)
        spec, gen = parts.specific, parts.generic
        spec_syl, gen_syl = syl[:k], syl[k:]
        seq = None
        if gen in _ORDINAL_GENERICS:
            # sequence number before 条/巷/弄 in Arabic digits: 东四十条 -> Dongsi 10 Tiao
            cut = len(spec)
            while cut > 0 and spec[cut - 1] in _NUMERAL_CHARS:
                cut -= 1
            for w in dictionary:  # dictionary words are not cut (东四 stays whole)
                pos = spec.find(w)
                if pos != -1 and pos < len(spec) and pos + len(w) > cut:
                    cut = pos + len(w)
            val = _numeral_value(spec[cut:])
            if val is not None:
                spec, spec_syl, seq = spec[:cut], spec_syl[:cut], str(val)
        elif (
            parts.generic_category == "road"
            and len(gen) == 1
            and len(spec) >= 3
            and spec[-1] in _ATTACH
        ):
            # one-syllable additions attach to the generic: 建设北路 -> Jianshe Beilu
            gen, gen_syl = spec[-1] + gen, spec_syl[-1:] + gen_syl
            spec, spec_syl = spec[:-1], spec_syl[:-1]
        pieces = []
        if spec:
            pieces.append(_word(spec, spec_syl))
        if seq:
            pieces.append(seq)
        if gen:
            pieces.append(_word(gen, gen_syl))
        out = " ".join(p for p in pieces if p)
    return out.upper() if upper else out


def toneless_key(name: str, *, folder: str | None = None) -> str:
    """Homophone key: toneless syllables joined by spaces (dictionary applied)."""
    return " ".join(_syllables(name.strip(), load_dictionary(folder)))
