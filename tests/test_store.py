"""GeoPackage store: real GeoPackage on disk, transactions all-or-nothing."""

from __future__ import annotations

import sqlite3

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import LineString, Point, Polygon

from geoplan import CRSError, StoreError
from geoplan.registers import Store, decode_gpkg_geometry, encode_gpkg_geometry


def _roads():
    # Two real Xiangtan streets, rough WGS-84 coordinates.
    return gpd.GeoDataFrame(
        {"name": ["雨湖路", "建设北路"], "lanes": [4, 6], "width_m": [24.0, None]},
        geometry=[LineString([(112.90, 27.86), (112.91, 27.87)]), LineString([(112.93, 27.85), (112.93, 27.88)])],
        crs="EPSG:4326",
    )


def _content(path):
    """Logical content of an SQLite file (all tables, all rows)."""
    con = sqlite3.connect(path)
    out = {}
    for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name"):
        out[t] = con.execute(f'SELECT * FROM "{t}"').fetchall()
    con.close()
    return out


def test_roundtrip_and_pyogrio_reads_it(tmp_path):
    path = tmp_path / "area.gpkg"
    store = Store(path)
    with store.transaction() as tx:
        tx.write_layer("roads", _roads())
        tx.write_layer("notes", pd.DataFrame({"text": ["中文 OK"], "n": [1]}))
    assert store.layers() == ["notes", "roads"]
    back = store.read_layer("roads")
    assert list(back["name"]) == ["雨湖路", "建设北路"]
    assert back.crs.to_epsg() == 4326
    assert back.geometry.iloc[0].equals(_roads().geometry.iloc[0])
    assert isinstance(store.read_layer("notes"), pd.DataFrame)
    store.close()
    # GDAL sees the same thing (QGIS uses GDAL to open GeoPackages)
    layers = dict(pyogrio.list_layers(path))
    assert layers["roads"] == "LineString" and layers["notes"] is None
    g = pyogrio.read_dataframe(path, layer="roads")
    assert list(g["name"]) == ["雨湖路", "建设北路"] and g.crs.to_epsg() == 4326
    assert list(g["lanes"]) == [4, 6]
    assert g.geometry.iloc[1].equals(_roads().geometry.iloc[1])
    assert list(pyogrio.read_dataframe(path, layer="notes")["text"]) == ["中文 OK"]


def test_failed_transaction_leaves_content_unchanged(tmp_path):
    path = tmp_path / "area.gpkg"
    store = Store(path)
    with store.transaction() as tx:
        tx.write_layer("roads", _roads())
    before = _content(path)
    with pytest.raises(ZeroDivisionError):
        with store.transaction() as tx:
            tx.write_layer("roads", _roads())  # append
            tx.write_layer("roads2", _roads())
            1 / 0
    assert _content(path) == before
    assert len(store.read_layer("roads")) == 2


def test_failed_transaction_leaves_file_bytes_unchanged(tmp_path):
    path = tmp_path / "area.gpkg"
    store = Store(path)
    with store.transaction() as tx:
        tx.write_layer("roads", _roads())
    raw = path.read_bytes()
    with pytest.raises(StoreError):
        with store.transaction() as tx:
            tx.write_layer("roads", _roads(), mode="replace")
            tx.write_layer("roads", pd.DataFrame({"a": [1]}))  # attributes onto a features layer: refused
    assert path.read_bytes() == raw


def test_append_replace_where(tmp_path):
    store = Store(tmp_path / "a.gpkg")
    with store.transaction() as tx:
        tx.write_layer("roads", _roads())
        tx.write_layer("roads", _roads().assign(extra="x"), mode="append")
    assert len(store.read_layer("roads")) == 4
    assert store.read_layer("roads", where="extra IS NULL").shape[0] == 2
    assert list(store.read_layer("roads", where="name = ?", params=("雨湖路",))["lanes"]) == [4, 4]
    with store.transaction() as tx:
        tx.write_layer("roads", _roads().iloc[:1], mode="replace")
    assert len(store.read_layer("roads")) == 1


def test_projected_input_is_stored_in_wgs84_and_cgcs2000_kept(tmp_path):
    store = Store(tmp_path / "a.gpkg")
    pts = gpd.GeoDataFrame({"a": [1]}, geometry=[Point(112.9, 27.86)], crs=4326)
    with store.transaction() as tx:
        tx.write_layer("p_utm", pts.to_crs(32649))
        tx.write_layer("p_cgcs", pts.set_crs(4490, allow_override=True))
    got = store.read_layer("p_utm")
    assert got.crs.to_epsg() == 4326
    assert got.geometry.iloc[0].distance(Point(112.9, 27.86)) < 1e-7
    assert store.read_layer("p_cgcs").crs.to_epsg() == 4490


def test_errors(tmp_path):
    store = Store(tmp_path / "a.gpkg")
    with pytest.raises(CRSError):
        with store.transaction() as tx:
            tx.write_layer("x", gpd.GeoDataFrame({"a": [1]}, geometry=[Point(0, 0)]))
    with pytest.raises(StoreError):
        with store.transaction() as tx:
            tx.write_layer("bad name", pd.DataFrame({"a": [1]}))
    with pytest.raises(StoreError):
        store.read_layer("missing")
    with pytest.raises(StoreError):
        with store.transaction():
            with store.transaction():
                pass
    (tmp_path / "not.gpkg").write_text("hello")
    with pytest.raises(StoreError):
        Store(tmp_path / "not.gpkg")


def test_schema_version_and_reopen(tmp_path):
    path = tmp_path / "a.gpkg"
    Store(path).close()
    store = Store(path)
    assert store.schema_version == 1
    with store.transaction() as tx:
        tx.set_meta("names_schema", "1")
    assert store.get_meta("names_schema") == "1"
    con = sqlite3.connect(path)
    con.execute("UPDATE geoplan_meta SET value='99' WHERE key='schema_version'")
    con.commit()
    con.close()
    store.close()
    with pytest.raises(StoreError, match="newer"):
        Store(path)


@pytest.mark.parametrize(
    "geom",
    [Point(1, 2), LineString([(0, 0), (1, 1)]), Polygon([(0, 0), (1, 0), (1, 1)]), Point()],
)
def test_geometry_codec(geom):
    blob = encode_gpkg_geometry(geom, 4326)
    assert blob[:2] == b"GP"
    back = decode_gpkg_geometry(blob)
    assert back.equals(geom) or (geom.is_empty and back.is_empty)
