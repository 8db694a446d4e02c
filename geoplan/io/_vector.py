"""GIS layers (GeoJSON, GeoPackage, Shapefile, anything GDAL reads) through pyogrio.

A multi-layer file needs ``layer=``; a Shapefile without ``.cpg`` has its text encoding detected
like a CSV's."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

from geoplan._errors import InputError
from geoplan.io._files import PathLike, _existing, _Reading

log = logging.getLogger("geoplan")


def _read_vector(p: Path, file: str, *, layer: str | int | None, encoding: str | None):
    kwargs: dict[str, Any] = {}
    if layer is not None:
        kwargs["layer"] = layer
    else:
        try:
            names = [str(n) for n, _ in pyogrio.list_layers(p)]
        except pyogrio.errors.DataSourceError as exc:
            raise InputError(f"cannot read the file: {exc}", file=file) from exc
        if len(names) > 1:
            # Taking the first layer of a multi-layer GeoPackage would be a guess.
            raise InputError(
                f"the file has several layers: {', '.join(names)}; say which with layer=...",
                file=file, field="layer",
            )
    if encoding is not None:
        kwargs["encoding"] = encoding
    try:
        data = gpd.read_file(p, engine="pyogrio", **kwargs)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise InputError(f"cannot read the file: {exc}", file=file) from exc
    except UnicodeDecodeError as exc:
        # Shapefiles from Chinese GIS software are often GBK without a .cpg file.
        raise InputError(
            "cannot decode the attribute text; pass encoding='gbk' (or the right one)",
            file=file, field="encoding",
        ) from exc
    if len(data) == 0:
        raise InputError("the file has no features", file=file)
    if encoding is None and p.suffix.lower() == ".shp":
        guessed = _shapefile_encoding(p, data)
        if guessed is not None:
            log.info("%s has no .cpg file; its attributes decode as %s", file, guessed)
            return _read_vector(p, file, layer=layer, encoding=guessed)
    return data


def _shapefile_encoding(p: Path, data: pd.DataFrame) -> str | None:
    """Encoding of a Shapefile's text when it has no ``.cpg`` file, or None.

    GDAL then reads the DBF as Latin-1, which turns Chinese into mojibake such
    as "Çø»®´úÂë".  Latin-1 round-trips every byte, so re-encoding recovers
    the original bytes; they are tried as UTF-8, then GBK/GB18030, exactly as
    for CSV files.
    """
    if any(q.exists() for q in (p.with_suffix(".cpg"), p.with_suffix(".CPG"))):
        return None
    texts = [str(c) for c in data.columns]
    for c in data.columns:
        if data[c].dtype == object or pd.api.types.is_string_dtype(data[c].dtype):
            texts += [v for v in data[c].head(200).tolist() if isinstance(v, str)]
    raw = [t for t in texts if any("\x80" <= ch <= "\xff" for ch in t)]
    if not raw:
        return None
    try:
        blob = "".join(raw).encode("latin-1")
    except UnicodeEncodeError:
        return None  # GDAL already decoded it as something else
    for enc in ("utf-8", "gb18030"):
        try:
            blob.decode(enc)
            return enc
        except UnicodeDecodeError:
            continue
    return None


def read_vector(
    path: PathLike, *, layer: str | int | None = None, encoding: str | None = None
) -> gpd.GeoDataFrame | pd.DataFrame:
    """Read a GIS layer as it is (its own CRS, its columns), any failure an :class:`InputError`.

    Parameters
    ----------
    path
        GeoJSON, GeoPackage, Shapefile or anything else GDAL reads.
    layer
        Layer of a multi-layer file; required when the file has several (never guessed).
    encoding
        Attribute text encoding (default: the file's own, or for a Shapefile without ``.cpg``
        detected like a CSV's).

    Returns
    -------
    geopandas.GeoDataFrame or pandas.DataFrame
        A DataFrame when the layer has no geometry (an attribute table).

    Raises
    ------
    InputError
        Missing, empty or unreadable file, no features, several layers and no ``layer``,
        undecodable text (``field="encoding"``).
    """
    p, file = _existing(path)
    with _Reading(file):
        return _read_vector(p, file, layer=layer, encoding=encoding)
