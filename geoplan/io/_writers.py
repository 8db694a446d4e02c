"""Writing a layer for other tools: GeoJSON in EPSG:4326 (GeoPackages are written by
:func:`geoplan.outputs.write_gpkg`, the one GeoPackage writer)."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd

from geoplan._errors import CRSError
from geoplan._output import atomic_write_file
from geoplan.io._files import PathLike


def write_geojson(path: PathLike, gdf: gpd.GeoDataFrame, *, overwrite: bool = False) -> Path:
    """Write a GeoJSON file in EPSG:4326, UTF-8, Chinese text unescaped.

    Parameters
    ----------
    path
        Output file (``.geojson`` or ``.json``).
    gdf
        Layer with a CRS; reprojected to EPSG:4326 (RFC 7946).
    overwrite
        Replace an existing file; otherwise :class:`~geoplan.OutputExistsError`.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    CRSError
        ``gdf`` has no CRS.
    """
    if gdf.crs is None:
        raise CRSError("the layer has no CRS, so it cannot be written as WGS-84 GeoJSON",
                       file=str(path), field="crs")
    out = gdf.to_crs(4326)
    # default=str: dates and other non-JSON values become readable text.
    text = out.to_json(ensure_ascii=False, default=str, drop_id=True)
    # RFC 7946 drops the "crs" member; keep files small and standard.
    doc = json.loads(text)
    doc.pop("crs", None)
    text = json.dumps(doc, ensure_ascii=False)

    def writer(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    return atomic_write_file(Path(path), writer, overwrite=overwrite)
