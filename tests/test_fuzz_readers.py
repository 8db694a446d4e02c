"""Fuzz the readers and parsers: whatever a planner feeds them, only geoplan's own
errors (GeoplanError subclasses) come out -- never a traceback (issue 13 item 6).

Inputs are random bytes, and real files corrupted at random: the seeds are
small files written from real places in Xiangtan (OpenStreetMap, WGS-84,
rounded to 0.001°) and pyrosm's ``test.osm.pbf``.  Bounded: modest
``max_examples``, no deadline; the whole file runs in well under a minute.
"""

from __future__ import annotations

import importlib.util
import io as _stdio
import math
import os
import tempfile
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from geoplan import GeoplanError, InputError
from geoplan import io as gc
from geoplan import io as gio
from geoplan.io import _numbers

# Deterministic and modest by default (CI); GEOPLAN_FUZZ_EXAMPLES=500 explores new inputs each run.
_EXPLORE = os.environ.get("GEOPLAN_FUZZ_EXAMPLES")
FUZZ = settings(max_examples=int(_EXPLORE or 25), deadline=None, derandomize=not _EXPLORE, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

PLACES = [("雨湖区", 112.944, 27.829, 430302), ("岳塘区", 112.970, 27.860, 430304),
          ("韶山市", 112.527, 27.918, 430382)]


def _seed_files() -> dict[str, bytes]:
    """Valid small files of every format the readers take, as bytes."""
    out: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        pts = gpd.GeoDataFrame({"名称": [p[0] for p in PLACES], "人口": [1000, 2000, 3000]},
                               geometry=[Point(p[1], p[2]) for p in PLACES], crs=4490)
        units = gpd.GeoDataFrame({"代码": [str(p[3]) for p in PLACES], "名称": [p[0] for p in PLACES]},
                                 geometry=[box(p[1] - 0.01, p[2] - 0.01, p[1] + 0.01, p[2] + 0.01) for p in PLACES],
                                 crs=4490)
        for name, gdf in (("pts", pts), ("units", units)):
            gdf.to_file(d / f"{name}.gpkg")
            gdf.to_file(d / f"{name}.geojson")
            out[f"{name}.gpkg"] = (d / f"{name}.gpkg").read_bytes()
            out[f"{name}.geojson"] = (d / f"{name}.geojson").read_bytes()
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.append(["名称", "经度", "纬度", "人口", "行政区划代码"])
        for p in PLACES:
            ws.append([p[0], p[1], p[2], 1000, p[3]])
        buf = _stdio.BytesIO()
        wb.save(buf)
        out["pts.xlsx"] = buf.getvalue()
    out["pts.csv"] = ("名称,经度,纬度,人口,行政区划代码,坐标系\n" + "\n".join(
        f"{p[0]},{p[1]},{p[2]},1000,{p[3]},wgs84" for p in PLACES) + "\n").encode("gbk")
    spec = importlib.util.find_spec("pyrosm")
    if spec is not None:
        pbf = Path(spec.origin).parent / "data" / "test.osm.pbf"
        if pbf.exists():
            out["test.osm.pbf"] = pbf.read_bytes()
    out["tiny.osm"] = (b"<?xml version='1.0'?><osm version='0.6'><node id='1' lat='27.829' lon='112.944'/>"
                       b"<node id='2' lat='27.830' lon='112.945'/><way id='3'><nd ref='1'/><nd ref='2'/>"
                       b"<tag k='highway' v='residential'/></way></osm>")
    return out


SEEDS = _seed_files()
EXTS = [".csv", ".xlsx", ".geojson", ".gpkg", ".pbf", ".osm"]


@st.composite
def corrupted(draw, names):
    """A seed file truncated and/or with random bytes overwritten, or plain random bytes."""
    if draw(st.booleans()) and names:
        data = bytearray(SEEDS[draw(st.sampled_from(names))])
        for _ in range(draw(st.integers(0, 6))):
            pos = draw(st.integers(0, max(len(data) - 1, 0)))
            chunk = draw(st.binary(min_size=1, max_size=64))
            data[pos:pos + len(chunk)] = chunk
        if draw(st.booleans()):
            data = data[:draw(st.integers(0, len(data)))]
        return bytes(data)
    return draw(st.binary(max_size=600))


def _only_geoplan_errors(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # GDAL's RuntimeWarnings on broken files are fine
        try:
            func(*args, **kwargs)
        except GeoplanError:
            pass


def _write(tmp: Path, ext: str, data: bytes) -> Path:
    path = tmp / ("input.osm.pbf" if ext == ".pbf" else f"input{ext}")
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------
# files


@FUZZ
@given(ext=st.sampled_from(EXTS), data=corrupted(sorted(k for k in SEEDS if k.startswith("pts"))),
       datum=st.sampled_from([None, "wgs84", "gcj02"]), kind=st.sampled_from(["facilities", "demand", "points"]))
def test_read_points_random_and_corrupted_files(tmp_path_factory, ext, data, datum, kind):
    path = _write(tmp_path_factory.mktemp("p"), ext, data)
    _only_geoplan_errors(gio.read_points, path, datum=datum, kind=kind)


@FUZZ
@given(ext=st.sampled_from(EXTS), data=corrupted(sorted(k for k in SEEDS if k.startswith("units"))),
       datum=st.sampled_from([None, "cgcs2000", "bd09"]))
def test_read_polygons_random_and_corrupted_files(tmp_path_factory, ext, data, datum):
    path = _write(tmp_path_factory.mktemp("u"), ext, data)
    _only_geoplan_errors(gio.read_polygons, path, datum=datum)


@FUZZ
@given(ext=st.sampled_from([".pbf", ".osm"]), data=corrupted(sorted(k for k in SEEDS if "osm" in k)))
def test_network_from_osm_file_random_and_corrupted(tmp_path_factory, ext, data):
    from geoplan import network

    path = _write(tmp_path_factory.mktemp("n"), ext, data)
    _only_geoplan_errors(network.from_osm_file, path, mode="walk")


@FUZZ
@given(ext=st.sampled_from([".csv", ".xlsx", ".geojson"]), data=corrupted(["pts.csv", "pts.xlsx", "pts.geojson"]))
def test_names_reader_random_and_corrupted(tmp_path_factory, ext, data):
    from geoplan.registers import names

    path = _write(tmp_path_factory.mktemp("nm"), ext, data)
    _only_geoplan_errors(names.read_names, path)


@FUZZ
@given(ext=st.sampled_from([".geojson", ".gpkg"]), data=corrupted(["units.geojson", "units.gpkg"]))
def test_boundaries_import_random_and_corrupted(tmp_path_factory, ext, data):
    from geoplan.registers import boundaries

    path = _write(tmp_path_factory.mktemp("b"), ext, data)
    _only_geoplan_errors(boundaries.import_divisions, path, valid_from="2020-01-01")


# --------------------------------------------------------------------------
# structured tables: every cell random

cell_text = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["1,2", "1.234,5", "4.30302E+11", "43030200100", "112°56'30\"E", "nan", "inf", "-0",
                     "１１２.９", "1,234", "gcj02", "高德", "", " ", "0", "1e400"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


@FUZZ
@given(rows=st.lists(st.tuples(cell_text, cell_text, cell_text, cell_text, cell_text, cell_text), min_size=1,
                     max_size=5),
       encoding=st.sampled_from(["utf-8", "gb18030", "utf-16"]),
       datum=st.sampled_from([None, "wgs84", "bd09"]))
def test_csv_cells_random(tmp_path_factory, rows, encoding, datum):
    lines = ["名称,经度,纬度,人口,行政区划代码,坐标系"]
    for r in rows:
        lines.append(",".join('"' + c.replace('"', '""') + '"' for c in r))
    try:
        data = "\n".join(lines).encode(encoding)
    except UnicodeEncodeError:
        data = "\n".join(lines).encode("utf-8", "replace")
    path = tmp_path_factory.mktemp("c") / "cells.csv"
    path.write_bytes(data)
    _only_geoplan_errors(gio.read_points, path, datum=datum, kind="demand")


excel_value = st.one_of(st.none(), st.booleans(), st.integers(-10**13, 10**13),
                        st.floats(allow_nan=False, allow_infinity=False), cell_text.filter(lambda s: "\x00" not in s
                                                                                           and s.isprintable()))


@FUZZ
@given(rows=st.lists(st.lists(excel_value, min_size=5, max_size=5), min_size=1, max_size=4))
def test_excel_cells_random(tmp_path_factory, rows):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["名称", "经度", "纬度", "人口", "行政区划代码"])
    for r in rows:
        try:
            ws.append(r)
        except Exception:  # openpyxl refuses some control characters; not the reader's business
            return
    path = tmp_path_factory.mktemp("x") / "cells.xlsx"
    wb.save(path)
    _only_geoplan_errors(gio.read_points, path, datum=None, kind="demand")


# --------------------------------------------------------------------------
# parsers


@FUZZ
@given(text=cell_text, thousands=st.booleans())
def test_parse_number_never_raises_and_never_guesses(text, thousands):
    value = _numbers._parse_number(text, thousands=thousands)
    assert value is None or isinstance(value, float)
    s = text.strip()
    if value is not None and "," in s:
        # A comma was read only as a thousands separator in groups of three.
        assert thousands and all(len(g) == 3 for g in s.split(".")[0].split(",")[1:])


@FUZZ
@given(text=st.one_of(st.text(max_size=20), st.sampled_from(["WGS-84", "gcj-02", "BD09", "高德", "mars"])))
def test_datum_names(text):
    try:
        assert gc.check_datum(text) in gc.DATUMS
    except InputError:
        pass


@FUZZ
@given(text=st.one_of(st.text(max_size=30), st.sampled_from(["EPSG:4490", "EPSG:4546", "epsg:99999", "+proj=",
                                                              "OGC:CRS84", "WGS 84"])))
def test_crs_strings(text):
    try:
        assert isinstance(gc.is_geographic(text), bool)
    except GeoplanError:
        pass


@FUZZ
@given(lon=st.floats(), lat=st.floats())
def test_utm_zone_and_transforms_any_float(lon, lat):
    try:
        gc.utm_crs(lon, lat)
    except InputError:
        pass
    for datum in gc.DATUMS:
        x, y = gc.to_wgs84(lon, lat, datum)
        assert isinstance(x, float) and isinstance(y, float)
    if not (math.isfinite(lon) and math.isfinite(lat)):
        assert not gc.in_mainland(lon, lat)


@FUZZ
@given(value=st.one_of(cell_text, st.integers(-10**14, 10**14), st.floats()), numeric=st.booleans(),
       strict=st.booleans())
def test_division_codes(value, numeric, strict):
    from geoplan.registers import boundaries

    try:
        code = _numbers._division_code(value, numeric=numeric, strict=strict, file="f", row=2, field="code")
        assert code is None or isinstance(code, str)
        if strict and code is not None:
            assert code.isdigit() and len(code) in (6, 9, 12)
    except InputError:
        pass
    try:
        assert len(boundaries.normalize_code(value)) == 12
    except InputError:
        pass


def test_seeds_themselves_read_cleanly(tmp_path):
    # The uncorrupted seeds are valid: the fuzzing starts from files that work.
    path = _write(tmp_path, ".csv", SEEDS["pts.csv"])
    assert gio.read_points(path, kind="demand").attrs["datum"] == "wgs84"
    path = _write(tmp_path, ".gpkg", SEEDS["units.gpkg"])
    units = gio.read_polygons(path)
    assert units.attrs["datum"] == "cgcs2000" and units["code"].tolist() == ["430302", "430304", "430382"]
    assert np.isfinite(units.total_bounds).all()


# Found by the fuzzing: boundaries.import_divisions let pyogrio's and pandas' errors through (fixed).
def test_boundaries_import_invalid_utf8(tmp_path):
    from geoplan.registers import boundaries

    data = SEEDS["units.geojson"].replace("430302".encode(), b"\x8030302")
    path = _write(tmp_path, ".geojson", data)
    _only_geoplan_errors(boundaries.import_divisions, path, valid_from="2020-01-01")


def test_boundaries_import_table_without_geometry(tmp_path):
    from geoplan.registers import boundaries

    path = _write(tmp_path, ".csv", b"code,name\n430302,x\n")
    _only_geoplan_errors(boundaries.import_divisions, path, valid_from="2020-01-01")
