"""The coverage map: facilities by type, service areas, covered/uncovered demand, units by indicator."""

from __future__ import annotations

import functools
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geoplan.outputs import maps
from geoplan.outputs._i18n import label, pick, type_caption

_TXT = {
    "units": ("行政单位：{what}", "Admin units: {what}"),
    "facilities": ("现有设施", "Existing facilities"),
    "area": ("服务范围：{name}", "Service area: {name}"),
    "uncovered": ("未覆盖需求点：{name}", "Uncovered demand: {name}"),
    "covered": ("已覆盖需求点：{name}", "Covered demand: {name}"),
    "legend": ("覆盖率（所选设施类型）", "Share covered (type shown)"),
}


_t = functools.partial(pick, _TXT)


def coverage_map(result: "geoplan.coverage.CoverageResult", path: str | Path, *, lang: str = "zh",
                 basemap: str = "osm", overwrite: bool = False) -> Path:
    """Write the coverage map of a :class:`~geoplan.coverage.CoverageResult` as one HTML file.

    Layer names carry each type's travel mode and cutoff as used in the result (never the config's).

    Parameters
    ----------
    result
        A coverage result.
    path
        The HTML file to write.
    lang
        ``"zh"`` (default) or ``"en"``.
    basemap
        Basemap, as for :func:`geoplan.outputs.maps.base_map`.
    overwrite
        Replace an existing file.

    Returns
    -------
    pathlib.Path
        The file written (from :func:`geoplan.outputs.maps.finish`).

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``overwrite`` is False (see :func:`geoplan.outputs.maps.finish`).
    """
    cat = result.catalogue
    first = cat.keys[0]
    extent = result.units if isinstance(result.units, gpd.GeoDataFrame) and len(result.units) else result.demand
    m = maps.base_map(extent, basemap=basemap, lang=lang)

    if isinstance(result.units, gpd.GeoDataFrame) and len(result.units):
        first_layer = None  # the per-type layers share one legend (same classes)
        for i, t in enumerate(cat.keys):
            ft = cat[t]
            sub = result.units[result.units["type"] == t]
            col = f"share_{ft.weight}_covered"
            what = f"{type_caption(result, t, lang)} — {label(col, lang)}"
            layer = maps.add_choropleth(
                m, sub, value_col=col, name=_t("units", lang, what=what), legend_title=_t("legend", lang),
                legend=first_layer if first_layer is not None else True,
                bins=[0, 0.2, 0.4, 0.6, 0.8, 1.0], tooltip_col="unit_name",
                popup_cols=["unit_code", "unit_name", "n_facilities", "has_facility", ft.weight, f"{ft.weight}_covered", col,
                            "median_min", "p90_min"],
                lang=lang, show=(i == 0),
            )
            first_layer = first_layer if first_layer is not None else layer

    sa = result.service_areas
    for i, t in enumerate(cat.keys):
        part = sa[sa["type"] == t] if len(sa) else sa
        if len(part):
            part = part.assign(geometry=part.geometry.simplify(2.0))  # metres: keeps the HTML small
            color = maps.CATEGORY_COLORS.get(t, "#555555")
            maps.add_polygons(
                m, part, name=_t("area", lang, name=type_caption(result, t, lang)),
                style={"color": color, "fillColor": color, "fillOpacity": 0.15, "weight": 1},
                tooltip_col="facility_id", lang=lang, show=(i == 0),
            )

    dem = result.demand
    for i, t in enumerate(cat.keys):
        cov = dem[f"{t}_covered"].astype(bool)
        cols = [c for c in ("id", "name", "pop", "pop_60", "pop_0_17", f"{t}_min", f"{t}_nearest", "unit_code") if c in dem]
        view = dem[cols + ["geometry"]].copy()
        view[f"{t}_min"] = view[f"{t}_min"].round(1)
        view = gpd.GeoDataFrame(view, geometry="geometry", crs=dem.crs)
        if (~cov).any():
            maps.add_points(m, view[~cov.to_numpy()], name=_t("uncovered", lang, name=type_caption(result, t, lang)), color="#e53e3e",
                            radius=4, popup_cols=cols, tooltip_col="name" if "name" in cols else None, lang=lang,
                            show=(i == 0), legend=(i == 0))
        if cov.any():
            maps.add_points(m, view[cov.to_numpy()], name=_t("covered", lang, name=type_caption(result, t, lang)), color="#38a169",
                            radius=3, popup_cols=cols, tooltip_col="name" if "name" in cols else None, lang=lang,
                            show=False, legend=(i == 0))

    fac = result.facilities
    fcols = [c for c in ("id", "name", "type", "unit_code", "snap_m") if c in fac]
    view = gpd.GeoDataFrame(pd.DataFrame(fac[fcols]), geometry=fac.geometry.to_numpy(), crs=fac.crs)
    maps.add_points(m, view, name=_t("facilities", lang), category_col="type", colors=maps.CATEGORY_COLORS, radius=8,
                    popup_cols=fcols, tooltip_col="name", lang=lang)
    return maps.finish(m, path, overwrite=overwrite, collapsed=True)
