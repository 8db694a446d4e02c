"""Column headers: the Chinese and English headers accepted for each canonical column, and matching them.

Headers are compared after Unicode NFKC normalisation (full-width characters become half-width),
lower-casing, and dropping spaces and bracketed notes, so ``"经度（WGS84）"`` and ``" Longitude "``
both mean longitude."""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Iterable, Mapping

from geoplan._errors import InputError


#: Accepted headers for each canonical column, best match first.  The
#: canonical English name itself is always accepted.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "lon": ("lon", "lng", "longitude", "long", "经度", "x"),
    "lat": ("lat", "latitude", "纬度", "y"),
    "id": ("id", "编号", "code", "设施编号", "机构编号"),
    "name": ("name", "名称", "机构名称", "设施名称", "单位名称"),
    "type": ("type", "类型", "设施类型", "机构类型"),
    "capacity": ("capacity", "beds", "床位", "床位数", "床位数量"),
    "pop": ("pop", "population", "人口", "人口数", "总人口", "常住人口"),
    "pop_60": ("pop_60", "elderly", "60岁以上", "60岁及以上", "60岁以上人口", "60岁及以上人口",
               "老年人口", "老年人"),
    "pop_0_17": ("pop_0_17", "minors", "0-17岁", "0-17岁人口", "未成年人", "未成年人口"),
    "admin_code": ("admin_code", "行政区划代码", "区划代码", "统计用区划代码"),
}


#: Headers accepted for admin-unit polygons (:func:`read_polygons`).
POLYGON_ALIASES: dict[str, tuple[str, ...]] = {
    "code": ("code", "admin_code", "adcode", "行政区划代码", "区划代码", "统计用区划代码", "代码", "编码"),
    "name": ("name", "名称", "行政区划名称", "区划名称", "地名"),
}


#: Headers of a single "longitude,latitude" column, as Amap's API and POI
#: exports give it ("112.944,27.829").
LONLAT_ALIASES: tuple[str, ...] = ("经纬度", "经纬度坐标", "坐标", "location", "lnglat", "lonlat")


#: Headers of a column that states the datum of every row (one value for the whole file).
DATUM_ALIASES: tuple[str, ...] = ("datum", "坐标系", "坐标系统", "坐标类型", "coord_type", "coordtype")


def _norm_header(text: Any) -> str:
    s = unicodedata.normalize("NFKC", str(text)).strip().lower().lstrip("\ufeff")
    s = re.sub(r"\(.*?\)|\[.*?\]|【.*?】", "", s)
    s = re.sub(r"\s+", "", s)
    return re.sub(r"[-~—–－]", "_", s)


def _match_columns(
    columns: Iterable[str],
    aliases: Mapping[str, tuple[str, ...]],
    explicit: Mapping[str, str | None],
    *,
    file: str,
) -> dict[str, str]:
    """Map canonical name -> source column.

    Explicit choices win; otherwise the best-ranked alias.  Several columns
    that could be longitude (or latitude) is an error: guessing between, say,
    "经度(高德)" and "经度(WGS84)" would silently shift points by 500 m.
    """
    cols = list(columns)
    normed = {c: _norm_header(c) for c in cols}
    found: dict[str, str] = {}
    used: set[str] = set()
    for canon, choice in explicit.items():
        if choice is None:
            continue
        if choice in cols:
            src = choice
        else:
            hits = [c for c in cols if normed[c] == _norm_header(choice)]
            if len(hits) > 1:
                raise InputError(
                    f"column {choice!r} (given for {canon}) is ambiguous: {', '.join(hits)}; "
                    "give the header exactly",
                    file=file, field=choice,
                )
            if not hits:
                raise InputError(
                    f"column {choice!r} (given for {canon}) not found; columns are: "
                    f"{', '.join(map(str, cols))}",
                    file=file, field=choice,
                )
            src = hits[0]
        found[canon] = src
        used.add(src)
    for canon, names in aliases.items():
        if canon in found:
            continue
        keys = [_norm_header(a) for a in names]
        hits = [(keys.index(normed[c]), i, c) for i, c in enumerate(cols)
                if c not in used and normed[c] in keys]
        if not hits:
            continue
        if canon in ("lon", "lat") and len(hits) > 1:
            raise InputError(
                f"several columns could be the {'longitude' if canon == 'lon' else 'latitude'}: "
                f"{', '.join(h[2] for h in hits)}; say which with {canon}=...",
                file=file, field=hits[0][2],
            )
        src = min(hits)[2]
        found[canon] = src
        used.add(src)
    return found
