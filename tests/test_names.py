"""Place names: expectations a person can check against the spelling rules and the regulations."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner

from geoplan import CRSError, InputError
from geoplan.registers.names import (
    Gazetteer,
    check_names,
    door_numbers,
    read_names,
    road_signs,
    sign_pinyin,
    split_name,
    summarize_findings,
)

TOWNSHIPS = Path(__file__).resolve().parents[1] / "data" / "names" / "townships_cn.csv.gz"


# --------------------------------------------------------------------------- pinyin
@pytest.mark.parametrize(
    "name, expected",
    [
        ("雨湖路", "Yuhu Lu"),  # specific and generic separate, capitalised
        ("长安街", "Chang'an Jie"),  # apostrophe before a-initial syllable; 长 = chang
        ("西安市", "Xi'an Shi"),
        ("天安门广场", "Tian'anmen Guangchang"),
        ("长沙市", "Changsha Shi"),  # polyphones from the place-name dictionary
        ("重庆市", "Chongqing Shi"),
        ("六安市", "Lu'an Shi"),
        ("蚌埠市", "Bengbu Shi"),
        ("番禺区", "Panyu Qu"),
        ("乐亭县", "Laoting Xian"),
        ("大理市", "Dali Shi"),
        ("单县", "Shan Xian"),
        ("洪洞县", "Hongtong Xian"),
        ("厦门市", "Xiamen Shi"),
        ("建设北路", "Jianshe Beilu"),  # one-syllable direction joins the generic
        ("中山东路", "Zhongshan Donglu"),
        ("景山后街", "Jingshan Houjie"),  # 1984 rules' own example
        ("广东路", "Guangdong Lu"),  # ... but not when it is part of a two-character specific
        ("东四十条", "Dongsi 10 Tiao"),  # 1984 rules: sequence number in Arabic digits
        ("二七路", "Erqi Lu"),  # numerals in a name stay pinyin
        ("绿洲路", "Lüzhou Lu"),  # ü kept
        ("雨湖路街道", "Yuhulu Jiedao"),
        ("姜畲镇", "Jiangshe Zhen"),  # Xiangtan township
        ("韶山乡", "Shaoshan Xiang"),
    ],
)
def test_sign_pinyin_real_names(name, expected):
    assert sign_pinyin(name) == expected


def test_natural_village_one_word_and_upper():
    assert sign_pinyin("周口店", category="natural_village") == "Zhoukoudian"
    assert sign_pinyin("雨湖路", upper=True) == "YUHU LU"


def test_user_dictionary_extends(tmp_path):
    assert sign_pinyin("长乐路") == "Changle Lu"
    (tmp_path / "place_pinyin.txt").write_text("长乐\tzhang le\n", encoding="utf-8")  # a user override
    assert sign_pinyin("长乐路", wordlists=tmp_path) == "Zhangle Lu"


def test_split_name():
    p = split_name("雨湖路街道")
    assert (p.specific, p.generic, p.generic_category) == ("雨湖路", "街道", "township")
    assert split_name("路").generic == ""  # nothing left as specific: no split


# --------------------------------------------------------------------------- rules
@pytest.mark.parametrize(
    "rule, fires, near_miss",
    [
        ("NAME-BIG", "环球中心路", "环城路"),
        ("NAME-BIG", "帝豪花园", "凤凰路"),  # 帝 fires; 凰 is not 皇
        ("NAME-FOREIGN", "维多利亚花园", "维多利亚港"),  # exception list: Victoria Harbour's established name
        ("NAME-FOREIGN", "加州花园", "嘉州路"),  # 嘉州 is Leshan's historical name
        ("NAME-FEUDAL", "御府小区", "王府井大街"),  # 王府井 exempt (exceptions.txt)
        ("NAME-DIGIT", "1号路", "二七路"),
        ("NAME-LATIN", "A区路", "安区路"),
        ("NAME-SYMBOL", "路#1", "乌兰·察布路"),  # the middle dot of transcribed names is allowed
        ("NAME-RARE", "犇村", "奔村"),  # 犇 lies outside GB 2312 and the official-names list
    ],
)
def test_each_rule_fires_and_not_on_near_miss(rule, fires, near_miss):
    f = check_names(pd.DataFrame({"name": [fires, near_miss], "code": ["a", "b"]}), rules=[rule])
    assert list(f["code"]) == ["a"], f
    row = f.iloc[0]
    assert row["rule"] == rule and row["part"] and row["source"] and row["why"]


def test_personal_names_from_user_list(tmp_path):
    (tmp_path / "personal_names.txt").write_text("张三丰\n", encoding="utf-8")
    f = check_names(pd.DataFrame({"name": ["张三丰路", "张家湾路"]}), wordlists=tmp_path, rules=["NAME-PERSON"])
    assert list(f["name"]) == ["张三丰路"]


def test_duplicate_scope_townships_within_province():
    # Real data: 先锋街道 exists in 长沙 430103, 湘潭 430302, 衡阳 430406 (all 湖南)
    d = pd.read_csv(TOWNSHIPS, dtype=str, keep_default_na=False)
    xf = d[d["name"] == "先锋街道"]
    hunan = xf[xf["code"].str.startswith("43")]
    assert set(hunan["code"]) >= {"430103010000", "430302010000", "430406001000"}
    other = xf[~xf["code"].str.startswith("43")]
    assert len(other) >= 1  # the same name in another province too
    one_each = pd.concat([hunan.iloc[:1], other.iloc[:1]]).assign(category="township")
    assert check_names(one_each, rules=["NAME-DUP"]).empty  # two provinces: not a duplicate
    f = check_names(hunan.assign(category="township"), rules=["NAME-DUP"])
    assert len(f) == len(hunan) and set(f["rule"]) == {"NAME-DUP"}


def test_homophone_in_scope_real():
    # Real: 月塘街道 (株洲 430202) and 岳塘街道 (湘潭 430304) are both yue tang jie dao, in 湖南
    df = pd.DataFrame({"code": ["430202001000", "430304001000"], "name": ["月塘街道", "岳塘街道"]})
    f = check_names(df.assign(category="township"))
    assert list(f["rule"]) == ["NAME-HOMOPHONE", "NAME-HOMOPHONE"]
    assert "yue tang jie dao" in f["why"].iloc[0]


def test_scope_roads_within_township_and_villages_within_county():
    roads = pd.DataFrame(
        {
            "code": ["r1", "r2", "r3"],
            "name": ["建设路", "建设路", "建设路"],
            "category": "road",
            "admin_code": ["430302001000", "430302001000", "430302002000"],  # r3 in another 街道
        }
    )
    f = check_names(roads, rules=["NAME-DUP"])
    assert sorted(f["code"]) == ["r1", "r2"]
    villages = pd.DataFrame(
        {"code": ["430302100201", "430321100201"], "name": ["新村村", "新村村"], "category": "village"}
    )
    assert check_names(villages, rules=["NAME-DUP"]).empty  # different counties


def test_summary_counts():
    f = check_names(pd.DataFrame({"name": ["环球路", "环球路"], "code": ["1", "2"], "category": "county"}))
    s = summarize_findings(f).set_index("rule")
    assert s.loc["NAME-BIG", "findings"] == 2 and s.loc["NAME-DUP", "findings"] == 2


# --------------------------------------------------------------------------- gazetteer
CSV = (
    "code,name,category,admin_code,lon,lat,meaning\n"
    "430302001000,雨湖路街道,township,,112.90,27.86,因雨湖路得名\n"
    "430302002000,城正街街道,township,,112.91,27.85,\n"
    "430302004000,云塘街道,township,,112.93,27.88,\n"
)


def _content(path):
    con = sqlite3.connect(path)
    out = {t: con.execute(f'SELECT * FROM "{t}"').fetchall()
           for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")}
    con.close()
    return out


def test_gazetteer_history_and_state_at(tmp_path):
    src = tmp_path / "t.csv"
    src.write_text(CSV, encoding="utf-8")
    gz = Gazetteer(tmp_path / "g.gpkg")
    ev = gz.import_file(src, date="2020-01-01", approval_doc="湘政函〔2020〕1号")
    assert list(ev["event"]) == ["named"] * 3
    gz.rename("430302004000", "云塘新街道", date="2022-06-01", approval_doc="湘政函〔2022〕9号")
    gz.abolish("430302002000", date="2023-03-01", approval_doc="湘政函〔2023〕2号")
    past = gz.state_at("2021-12-31")
    assert sorted(past["name"]) == ["云塘街道", "城正街街道", "雨湖路街道"]
    now = gz.state_at()
    assert sorted(now["name"]) == ["云塘新街道", "雨湖路街道"]
    assert now.set_index("code").loc["430302004000", "pinyin"] == "Yuntangxin Jiedao"
    h = gz.history("430302004000")
    assert list(h["event"]) == ["named", "renamed"] and h["previous_name"].iloc[1] == "云塘街道"
    assert h["approval_doc"].iloc[1] == "湘政函〔2022〕9号"
    # nothing deleted: 5 events, the abolished name still in the event layer
    assert len(gz.events()) == 5 and "城正街街道" in set(gz.events()["name"])
    # re-importing an unchanged row adds nothing; a changed meaning is an 'amended' event
    same = tmp_path / "same.csv"
    same.write_text("\n".join(CSV.splitlines()[:2]) + "\n", encoding="utf-8")
    assert gz.import_file(same, date="2024-01-01").empty
    same.write_text(CSV.splitlines()[0] + "\n430302001000,雨湖路街道,township,,112.90,27.86,新含义\n", encoding="utf-8")
    assert list(gz.import_file(same, date="2024-01-01")["event"]) == ["amended"]
    assert len(gz.events()) == 6
    # GDAL/QGIS can read both layers
    gz.store.close()
    layers = dict(pyogrio.list_layers(tmp_path / "g.gpkg"))
    assert layers["place_name_events"] == "Point" and layers["place_names"] == "Point"
    cur = pyogrio.read_dataframe(tmp_path / "g.gpkg", layer="place_names")
    assert "雨湖路街道" in set(cur["name"])


def test_import_with_bad_row_in_the_middle_leaves_store_unchanged(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text(CSV, encoding="utf-8")
    gz = Gazetteer(tmp_path / "g.gpkg")
    gz.import_file(good, date="2020-01-01")
    before = _content(tmp_path / "g.gpkg")
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "code,name,category\n"
        "430302005000,广场街道,township\n"
        "430302007000,,township\n"  # missing name: spreadsheet row 3
        "430302009000,昭潭街道,township\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as ei:
        gz.import_file(bad, date="2021-01-01")
    assert ei.value.row == 3 and ei.value.field == "name" and "bad.csv" in str(ei.value)
    assert _content(tmp_path / "g.gpkg") == before


@pytest.mark.parametrize(
    "body, row, field",
    [
        ("code,name,category\n4303,雨湖路街道,township\n", 2, "code"),  # township needs 12 digits
        ("code,name\nx y,雨湖路\n", 2, "code"),
        ("code,name,wkt\na,雨湖路,LINESTRING (0 0\n", 2, "wkt"),  # broken WKT
        ("code,name,wkt\na,甲,\"POLYGON ((0 0, 1 1, 1 0, 0 1, 0 0))\"\n", 2, "wkt"),  # self-intersecting
        ("code,name,lon,lat\na,甲,112.9,27.8\nb,乙,abc,27.8\n", 3, "lon"),
        ("code,name,admin_code\na,甲,43030200100\n", 2, "admin_code"),
    ],
)
def test_bad_rows_named(tmp_path, body, row, field):
    p = tmp_path / "f.csv"
    p.write_text(body, encoding="utf-8")
    with pytest.raises(InputError) as ei:
        read_names(p)
    assert (ei.value.row, ei.value.field) == (row, field)


def test_gbk_csv_from_excel(tmp_path):
    p = tmp_path / "gbk.csv"
    p.write_bytes("code,name,category\r\n430302001000,雨湖路街道,township\r\n".encode("gbk"))
    df = read_names(p)
    assert df["name"].iloc[0] == "雨湖路街道"


def test_unknown_encoding(tmp_path):
    # UTF-16 without a byte-order mark is not detected: an encoding error, never names with NULs
    p = tmp_path / "u16.csv"
    p.write_bytes("code,name\na,雨湖路\n".encode("utf-16-le"))
    with pytest.raises(InputError, match="encoding"):
        read_names(p)


def test_utf16_with_bom_reads_like_every_table(tmp_path):
    # names files are decoded by geoplan's one sniffer (geoplan.io.decode_text): Excel's "Unicode text" reads
    p = tmp_path / "u16.csv"
    p.write_bytes("code,name\na,雨湖路\n".encode("utf-16"))
    assert read_names(p)["name"].tolist() == ["雨湖路"]


def test_excel_and_geojson_roundtrip(tmp_path):
    src = tmp_path / "t.csv"
    src.write_text(CSV, encoding="utf-8")
    gz = Gazetteer(tmp_path / "g.gpkg")
    gz.import_file(src, date="2020-01-01")
    for suffix in ("xlsx", "geojson", "csv"):
        out = gz.export(tmp_path / f"out.{suffix}")
        back = read_names(out)
        assert sorted(back["name"]) == sorted(gz.state_at()["name"])
        assert back.geometry.iloc[0] is not None


# --------------------------------------------------------------------------- signs and doors
def _roads():
    return gpd.GeoDataFrame(
        {"name": ["雨湖路", "雨湖路", "建设北路", "韶山路"]},
        geometry=[
            shapely.LineString([(0, 0), (100, 0)]),
            shapely.LineString([(100, 0), (200, 0)]),
            shapely.LineString([(100, -100), (100, 100)]),
            shapely.LineString([(200, 0), (200, 100)]),
        ],
        crs=32649,
    )


def test_road_signs_locations_and_findings():
    signs = gpd.GeoDataFrame(
        {"text": ["雨湖路", "建设路", "韶山路"]},
        geometry=[shapely.Point(5, 3), shapely.Point(100, 50), shapely.Point(205, 0)],
        crs=32649,
    )
    s = road_signs(_roads(), signs=signs)
    loc = s.locations
    inter = loc[loc["kind"] == "intersection"]
    assert sorted(inter["roads"]) == ["建设北路；雨湖路", "雨湖路；韶山路"]
    assert {(round(p.x), round(p.y)) for p in inter.geometry} == {(100, 0), (200, 0)}
    assert sorted(loc.loc[loc["kind"] == "road_end", "roads"]) == ["建设北路", "建设北路", "雨湖路", "韶山路"]
    f = s.findings
    assert list(f.loc[f["rule"] == "SIGN-TEXT", "text"]) == ["建设路"]  # 建设路 ≠ 建设北路
    assert list(f.loc[f["rule"] == "SIGN-MISSING", "road"]) == ["建设北路"]
    assert "Jianshe Beilu" in loc["sign_texts"].str.cat()


def test_road_signs_need_metres():
    with pytest.raises(CRSError):
        road_signs(_roads().to_crs(4326))


def test_door_numbers_rule_and_stable_sub_numbers():
    road = shapely.LineString([(0, 0), (100, 0)])  # an east-west street
    pts = [(90, 10), (70, 10), (50, 10), (90, -10), (70, -10), (30, -10)]
    b = gpd.GeoDataFrame({"number": [None] * 6}, geometry=[shapely.Point(p) for p in pts], crs=32649)
    r = door_numbers(road, b, start="east", odd_side="north")
    # from the east end, odd on the north side
    assert list(r["number"]) == ["1", "3", "5", "2", "4", "6"]
    b["number"] = r["number"]
    added = gpd.GeoDataFrame(
        {"number": [None, None, None]},
        geometry=[shapely.Point(80, 10), shapely.Point(75, 10), shapely.Point(10, 10)],
        crs=32649,
    )
    b2 = pd.concat([b, added], ignore_index=True)
    r2 = door_numbers(road, b2, start="east", odd_side="north")
    assert list(r2["number"][:6]) == ["1", "3", "5", "2", "4", "6"]  # never renumbered
    assert list(r2["number"][6:]) == ["1-1", "1-2", "7"]
    assert list(r2["status"][6:]) == ["new_sub", "new_sub", "new"]


def test_door_numbers_free_number_and_flags():
    road = shapely.LineString([(0, 0), (100, 0)])
    b = gpd.GeoDataFrame(
        {"number": ["1", None, "7", "4"]},
        geometry=[shapely.Point(90, 10), shapely.Point(60, 10), shapely.Point(30, 10), shapely.Point(50, -10)],
        crs=32649,
    )
    r = door_numbers(road, b, start="east", odd_side="north")
    assert r["number"].iloc[1] == "3"  # free number between 1 and 7
    assert r["status"].iloc[3] == "kept"
    b.loc[3, "number"] = "5"  # odd number on the even side: kept, flagged
    r = door_numbers(road, b, start="east", odd_side="north")
    assert r["number"].iloc[3] == "5" and r["status"].iloc[3] == "review"


# --------------------------------------------------------------------------- CLI
def test_cli_import_history_export_pinyin(tmp_path):
    from geoplan.cli import main

    src = tmp_path / "t.csv"
    src.write_bytes(CSV.encode("gbk"))
    store = tmp_path / "g.gpkg"
    run = CliRunner().invoke
    r = run(main, ["names", "import", str(store), str(src), "--date", "2020-01-01"])
    assert r.exit_code == 0, r.output
    r = run(main, ["names", "history", str(store)])
    assert r.exit_code == 0 and "雨湖路街道" in r.output
    r = run(main, ["names", "export", str(store), str(tmp_path / "o.csv")])
    assert r.exit_code == 0 and (tmp_path / "o.csv").exists()
    r = run(main, ["names", "pinyin", "长安街", "雨湖路"])
    assert r.output.splitlines() == ["长安街\tChang'an Jie", "雨湖路\tYuhu Lu"]
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name\n1,\n", encoding="utf-8")
    r = run(main, ["names", "import", str(store), str(bad)])
    assert r.exit_code == 2 and "row 2" in r.output


def test_cli_check_writes_report(tmp_path):
    from geoplan.cli import main

    src = tmp_path / "t.csv"
    src.write_text(CSV + "430302005000,环球街道,township,,,,\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["names", "check", str(src), "-o", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    f = pd.read_csv(tmp_path / "out" / "findings.csv")
    assert "NAME-BIG" in set(f["rule"])
    assert (tmp_path / "out" / "report.md").exists() and (tmp_path / "out" / "report.xlsx").exists()


def test_all_hunan_township_pinyin_is_well_formed():
    """Every Hunan township name gives sign pinyin without tones; apostrophes only before a/o/e."""
    import re

    d = pd.read_csv(TOWNSHIPS, dtype=str, keep_default_na=False)
    hunan = d[d["code"].str.startswith("43") & (d["abolished"] == "0")]
    assert len(hunan) > 1900
    pat = re.compile(r"^[A-Z0-9][a-zü0-9']*( [A-Z0-9][a-zü0-9']*)*$")
    for name in hunan["name"]:
        py = sign_pinyin(name, category="township")
        assert pat.match(py), (name, py)
        assert all(py[i + 1] in "aoe" for i, ch in enumerate(py) if ch == "'"), (name, py)
        assert py.split()[-1] in {"Zhen", "Xiang", "Jiedao"}, (name, py)


def test_gzip_csv_and_abolished_column(tmp_path):
    import gzip

    p = tmp_path / "t.csv.gz"
    p.write_bytes(gzip.compress(
        "code,name,abolished\n430302001000,雨湖路街道,0\n140213002000,北关街道,1\n".encode("utf-8")))
    gz = Gazetteer(tmp_path / "g.gpkg")
    ev = gz.import_file(p, date="2026-09-11", default_category="township")
    assert list(ev["event"]) == ["named", "abolished"]
    assert list(gz.state_at()["name"]) == ["雨湖路街道"]
