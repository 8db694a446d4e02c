"""Issue 14, Phase B (registers and CLI): domain code moved out of the CLI works through the public API.

Real data only: the shipped township table (data/names) and files written here from it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner

from geoplan import InputError, StoreError
from geoplan.cli import main
from geoplan.registers import boundaries as B
from geoplan.registers import names

TOWNSHIPS = Path(__file__).resolve().parents[1] / "data" / "names" / "townships_cn.csv.gz"


def test_load_names_keeps_the_abolished_column_of_the_shipped_table():
    df = names.load_names(TOWNSHIPS, category="township")
    assert "abolished" in df and len(df) > 30000
    # abolished rows are there, and check_names leaves them out (abolished_mask)
    assert names.abolished_mask(df).sum() == (df["abolished"] == "1").sum() > 0


def test_load_names_from_a_gpkg_without_gazetteer_is_a_store_error(tmp_path):
    from geoplan.registers import open_store

    path = tmp_path / "empty.gpkg"
    with open_store(path) as st, st.transaction() as tx:
        tx.set_meta("purpose", "no gazetteer here")
    with pytest.raises(StoreError, match="no place-name gazetteer"):
        names.load_names(path)


def test_read_name_list_names_the_row_of_a_missing_name(tmp_path):
    p = tmp_path / "n.csv"
    p.write_text("name,category\n雨湖路,road\n,\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        names.read_name_list(p)
    assert err.value.row == 3 and err.value.field == "name"
    p.write_text("name,category\n雨湖路,road\n白石村,\n", encoding="utf-8")
    assert names.read_name_list(p, category="village") == [("雨湖路", "road"), ("白石村", "village")]


def test_read_layer_reads_codes_as_text(tmp_path):
    # two real township codes of 湘潭市雨湖区 from the shipped table, as numbers in a GeoPackage
    import pandas as pd

    d = pd.read_csv(TOWNSHIPS, dtype=str, keep_default_na=False)
    codes = d[d["code"].str.startswith("430302")]["code"].head(2).tolist()
    g = gpd.GeoDataFrame({"code": [int(c) for c in codes]},
                         geometry=[shapely.Point(112.9, 27.86), shapely.Point(112.91, 27.87)], crs=4326)
    g.to_file(tmp_path / "m.gpkg", layer="markers", driver="GPKG")
    back = B.read_layer(tmp_path / "m.gpkg", layer="markers")
    assert back["code"].tolist() == codes
    with pytest.raises(InputError, match="cannot read"):
        B.read_layer(tmp_path / "missing.gpkg")


def test_names_demo_without_osm_writes_the_report(tmp_path):
    out = tmp_path / "demo"
    res = CliRunner().invoke(main, ["-q", "names", "demo", "--no-osm", "-o", str(out), "--lang", "en"])
    assert res.exit_code == 0, res.output
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "Sign pinyin of the townships of" in text and (out / "findings.csv").exists()


def test_cli_import_loads_no_geoplan_subpackage_and_no_pandas():
    # geoplan --help stays fast: subcommand modules import geoplan's subpackages inside their functions
    code = ("import sys, geoplan.cli; "
            "print(sorted(m for m in sys.modules if m.startswith('geoplan.') and not m.startswith('geoplan.cli')), "
            "'pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['geoplan._errors'] False"
