"""Admin-unit codes: kind, level and parent of a statistical division code, and the one table of kind labels.

The 12-digit statistical code (国家统计局《统计用区划代码和城乡划分代码》) is 6 + 3 + 3 digits:

* digits 1–6: the county (区县), GB/T 2260;
* digits 7–9: the township part (《县以下行政区划代码编制规则》 GB/T 10114): 001–099 街道 (street),
  100–199 镇 (town), 200–399 乡 (township), 400–599 units combining government and enterprise (no kind here);
* digits 10–12: the village part: 001–199 居民委员会 (residents' committee, here ``community``),
  200–399 村民委员会 (villagers' committee, ``village``).  Other values occur in the published list
  (e.g. 5xx codes of committees in some counties) but the rule names only these two ranges, so they are
  classed ``special`` (其他) and keep no kind-specific target.

Other modules import the labels from here (reports render every kind by :data:`KIND_LABELS`).
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import pandas as pd

from geoplan.io._numbers import _code_text

__all__ = [
    "KIND_LABELS", "LEVEL_LABELS", "KIND_GROUPS", "KIND_LEVEL", "TOWNSHIP_KINDS", "VILLAGE_KINDS", "LEVELS",
    "unit_kind", "unit_level", "parent_code", "unit_kinds", "kind_label", "level_label", "township_key",
]

#: Kinds of township-level unit, by digits 7–9.
TOWNSHIP_KINDS = ("street", "town", "township")
#: Kinds of village-level unit, by digits 10–12.
VILLAGE_KINDS = ("community", "village", "special")
#: Several kinds judged together against one target (镇 + 乡 = 乡镇; 村 + 社区 = 村（社区）).
KIND_GROUPS: dict[str, tuple[str, ...]] = {
    "town_township": ("town", "township"),
    "village_community": ("village", "community"),
}
#: Levels, from the top.
LEVELS = ("county", "township", "village")
#: The level each kind or group belongs to.
KIND_LEVEL: dict[str, str] = {
    "county": "county",
    **{k: "township" for k in TOWNSHIP_KINDS}, "town_township": "township",
    **{k: "village" for k in VILLAGE_KINDS}, "village_community": "village",
}
#: Display labels (Chinese, English) of every kind, group and the summary's pseudo-kinds.
KIND_LABELS: dict[str, tuple[str, str]] = {
    "county": ("区县", "County"),
    "street": ("街道", "Street"),
    "town": ("镇", "Town"),
    "township": ("乡", "Township"),
    "town_township": ("乡镇", "Towns and townships"),
    "community": ("社区", "Community"),
    "village": ("村", "Village"),
    "village_community": ("村（社区）", "Villages and communities"),
    "special": ("其他", "Other"),
    "any": ("未分类", "Unclassified"),
    "all": ("全部", "All"),
}
#: Display labels (Chinese, English) of the levels.
LEVEL_LABELS: dict[str, tuple[str, str]] = {
    "county": ("区县", "County"),
    "township": ("乡镇（街道）", "Township level"),
    "village": ("村（社区）", "Village level"),
    "all": ("全域", "Whole area"),
}


def _digits(code: Any) -> str | None:
    # io's one rule for code cells (blank, a float from a spreadsheet, full-width digits), then digits only
    text = _code_text(code)
    return text if text is not None and text.isdigit() else None


def unit_kind(code: Any) -> str | None:
    """Kind of a unit from its statistical code.

    6 digits: ``county``.  9 digits, or 12 digits ending ``000``: by digits 7–9, 001–099
    ``street`` (街道), 100–199 ``town`` (镇), 200–399 ``township`` (乡), else None.  12 digits
    with digits 10–12 not ``000``: 001–199 ``community`` (居委会/社区), 200–399 ``village``
    (村委会), anything else ``special`` (其他).

    Parameters
    ----------
    code
        The statistical code (digits, as text or a number).

    Returns
    -------
    str or None
        The kind; None for another length, non-digits or a township part outside 001–399.
    """
    text = _digits(code)
    if text is None:
        return None
    if len(text) == 6:
        return "county"
    if len(text) == 12 and text[9:] != "000":
        part = int(text[9:])
        return "community" if part <= 199 else "village" if part <= 399 else "special"
    if len(text) not in (9, 12):
        return None
    part = int(text[6:9])
    if 1 <= part <= 99:
        return "street"
    if 100 <= part <= 199:
        return "town"
    if 200 <= part <= 399:
        return "township"
    return None


def unit_kinds(codes: Iterable[Any]) -> np.ndarray:
    """:func:`unit_kind` of many codes at once (vectorised; for the national village list).

    Parameters
    ----------
    codes
        Codes (text or numbers).

    Returns
    -------
    numpy.ndarray of object
        One kind (or None) per code.
    """
    s = pd.Series(list(codes), dtype=object).map(lambda c: _digits(c) or "")
    n = s.str.len().to_numpy()
    head = pd.to_numeric(s.str[6:9], errors="coerce").fillna(-1).to_numpy()
    tail = pd.to_numeric(s.str[9:12], errors="coerce").fillna(-1).to_numpy()
    twp = np.select([(head >= 1) & (head <= 99), (head >= 100) & (head <= 199), (head >= 200) & (head <= 399)],
                    list(TOWNSHIP_KINDS), default=None).astype(object)
    vil = np.select([(tail >= 1) & (tail <= 199), (tail >= 200) & (tail <= 399)], ["community", "village"],
                    default="special").astype(object)
    is_vil = (n == 12) & (tail != 0)
    is_twp = (n == 9) | ((n == 12) & (tail == 0))
    out = np.where(is_vil, vil, np.where(is_twp, twp, None)).astype(object)
    out[n == 6] = "county"
    return out


def unit_level(code: Any) -> str | None:
    """Level of a unit from its code: ``county`` (6 digits), ``township`` (9, or 12 ending 000), ``village``.

    Parameters
    ----------
    code
        The statistical code.

    Returns
    -------
    str or None
        None for a code of another length or with non-digits.
    """
    text = _digits(code)
    if text is None:
        return None
    if len(text) == 6:
        return "county"
    if len(text) == 9 or (len(text) == 12 and text[9:] == "000"):
        return "township"
    if len(text) == 12:
        return "village"
    return None


def parent_code(code: Any) -> str | None:
    """Code of the unit one level up: a village's township (12 digits, ending 000), a township's county (6).

    Parameters
    ----------
    code
        The statistical code.

    Returns
    -------
    str or None
        None for a county code or a code of no level.
    """
    text = _digits(code)
    level = unit_level(text)
    if level == "village":
        return text[:9] + "000"
    if level == "township":
        return text[:6]
    return None


def township_key(code: Any) -> str | None:
    """The 9 digits that name a township in both the 9- and the 12-digit form (a village's: its township's).

    Parameters
    ----------
    code
        A township or village code.

    Returns
    -------
    str or None
        The first 9 digits; None for a county code or a code of no level.
    """
    text = _digits(code)
    return text[:9] if unit_level(text) in ("township", "village") else None


def kind_label(kind: str | None, lang: str = "zh") -> str:
    """Display label of a kind, group or pseudo-kind (``any``, ``all``).

    Parameters
    ----------
    kind
        A key of :data:`KIND_LABELS`; None reads as ``any``.
    lang
        ``"zh"`` or anything else for English.

    Returns
    -------
    str
        The label; an unknown kind is returned as it is.
    """
    zh, en = KIND_LABELS.get(kind or "any", (str(kind), str(kind)))
    return zh if lang == "zh" else en


def level_label(level: str | None, lang: str = "zh") -> str:
    """Display label of a level (``county``, ``township``, ``village``, ``all``).

    Parameters
    ----------
    level
        A key of :data:`LEVEL_LABELS`.
    lang
        ``"zh"`` or anything else for English.

    Returns
    -------
    str
        The label; an unknown level is returned as it is.
    """
    zh, en = LEVEL_LABELS.get(level or "all", (str(level), str(level)))
    return zh if lang == "zh" else en
