"""Place names (地名): gazetteer with history, rule checks, sign pinyin, road signs, door numbers.

The gazetteer lives in a :class:`geoplan.store.Store` (GeoPackage) as an
append-only event layer ``place_name_events`` (named, renamed, amended,
abolished; each with a date and approval document number) plus a convenience
layer ``place_names`` holding the current state, rewritten on every change so
QGIS shows today's names.  Nothing is ever deleted; :meth:`Gazetteer.state_at`
replays the events up to any date.

Rare characters: the 通用规范汉字表 (2013, 8,105 characters) is not shipped by
any installed package, so the rule NAME-RARE uses a documented proxy: GB 2312
(6,763 characters, via Python's codec) plus the characters that already occur
in the 38,749 official township and county names (``chars_official_extra.txt``).
Rule source texts are paraphrases (摘要), not quotations.

Rule checks (:func:`check_names`), sign pinyin (:func:`sign_pinyin`), road-name
signs (:func:`road_signs`) and door numbers (:func:`door_numbers`) work on plain
(Geo)DataFrames and need no store.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import wkt as _wkt

from geoplan._errors import CRSError, InputError, StoreError
from geoplan.registers._namerules import RULES, _as_folder, scope_findings, shipped_folder, word_findings
from geoplan.registers._pinyin import NameParts, sign_pinyin as _sign_pinyin, split_name as _split_name, toneless_key
from geoplan.registers._store import Store

__all__ = [
    "FIELDS",
    "EVENTS_LAYER",
    "CURRENT_LAYER",
    "RULES",
    "Gazetteer",
    "SignSurvey",
    "read_names",
    "write_names",
    "check_names",
    "abolished_mask",
    "summarize_findings",
    "sign_pinyin",
    "split_name",
    "homophone_key",
    "road_signs",
    "door_numbers",
    "wordlists_folder",
]

#: Gazetteer fields, after the national place-name census form (第二次全国地名普查 登记表).
FIELDS: dict[str, str] = {
    "code": "地名代码 / record code (12-digit statistical code for divisions)",
    "name": "标准名称 / standard name",
    "pinyin": "汉语拼音 / sign pinyin (no tones)",
    "category": "类别 / category keyword: province, city, county, township, village, community, natural_village, road, other",
    "category_code": "类别代码 / category code per GB/T 18521 (as entered; not validated)",
    "admin_code": "所在行政区划代码 / 12-digit code of the administrative unit",
    "meaning": "地名含义 / meaning",
    "origin": "来历 / origin",
    "history_note": "历史沿革 / history (text)",
    "approval_doc": "批准文号 / approval document number",
}
EVENTS_LAYER = "place_name_events"
CURRENT_LAYER = "place_names"
_EVENT_KINDS = ("named", "renamed", "amended", "abolished")
_CODE_RE = re.compile(r"^[0-9A-Za-z_\-]{1,40}$")
_ADMIN_CATEGORIES = {"province", "city", "county", "township", "village", "community"}
_NAMES_SCHEMA = "1"
_TRUTHY = {"1", "1.0", "true", "yes", "y", "是"}


def wordlists_folder() -> Path:
    """The shipped word-list folder (copy and edit it; pass the copy as ``wordlists=``)."""
    return shipped_folder()


def split_name(name: str, *, category: str | None = None, wordlists: str | os.PathLike | None = None) -> NameParts:
    """Split a name into specific (专名) and generic (通名) parts.

    Parameters
    ----------
    name
        Standard name, e.g. ``"雨湖路"``.
    category
        Prefer generics of this category (road, village, township, county, city, province).
    wordlists
        Folder with a user ``generics.txt``.

    Returns
    -------
    NameParts
        ``specific``, ``generic`` and ``generic_category``.
    """
    return _split_name(name, category=category, folder=_as_folder(wordlists))


def sign_pinyin(
    name: str,
    *,
    category: str | None = None,
    one_word: bool = False,
    upper: bool = False,
    wordlists: str | os.PathLike | None = None,
) -> str:
    """Pinyin of a place name for signs (GB 17733; GB/T 16159-2012; 1984 spelling rules).

    Specific and generic are written separately and capitalised (雨湖路 →
    ``Yuhu Lu``); an apostrophe separates a/o/e-initial syllables inside a word
    (西安 → ``Xi'an``); one-syllable directions attach to the road generic
    (建设北路 → ``Jianshe Beilu``); sequence numbers before 条/巷/弄 become
    Arabic digits (东四十条 → ``Dongsi 10 Tiao``); natural villages are one word;
    polyphonic characters follow the place-name dictionary ``place_pinyin.txt``
    (长沙 ``Changsha``, 六安 ``Lu'an``, 单县 ``Shan Xian``), which users extend.
    No tone marks.

    Parameters
    ----------
    name
        Standard name.
    category
        ``"natural_village"`` for one word; other categories steer the generic split.
    one_word
        Write as one word regardless of category.
    upper
        All capitals.
    wordlists
        Folder with user ``place_pinyin.txt`` / ``generics.txt``.
    """
    return _sign_pinyin(name, category=category, one_word=one_word, upper=upper, folder=_as_folder(wordlists))


def homophone_key(name: str, *, wordlists: str | os.PathLike | None = None) -> str:
    """Toneless pinyin (space separated) used to detect homophones."""
    return toneless_key(name, folder=_as_folder(wordlists))


# --------------------------------------------------------------------------- reading files
def _decode(raw: bytes, path: Path) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(enc)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            continue
        return text
    raise InputError("unknown text encoding (neither UTF-8 nor GBK/GB18030); save the file as UTF-8 CSV", file=path)


def _read_table(path: Path, *, sheet: str | int | None = None) -> tuple[pd.DataFrame, int]:
    """Read CSV/Excel/GeoJSON as strings; returns (frame, row offset for spreadsheet numbering)."""
    suffix = path.suffix.lower()
    if not path.exists():
        raise InputError("file not found", file=path)
    if suffix in (".csv", ".txt") or path.name.lower().endswith(".csv.gz"):
        raw = path.read_bytes()
        if path.name.lower().endswith(".gz"):
            import gzip

            try:
                raw = gzip.decompress(raw)
            except OSError as exc:
                raise InputError(f"not a gzip file: {exc}", file=path) from exc
        text = _decode(raw, path)
        if not text.strip():
            raise InputError("the file is empty: a header row with at least 'code' and 'name' is needed", file=path, row=1)
        try:
            df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        except pd.errors.EmptyDataError as exc:
            raise InputError("the file is empty: a header row with at least 'code' and 'name' is needed",
                             file=path, row=1) from exc
        except pd.errors.ParserError as exc:
            raise InputError(f"cannot parse CSV: {exc}", file=path) from exc
        return df, 2
    if suffix in (".xlsx", ".xlsm", ".xls"):
        try:
            df = pd.read_excel(path, sheet_name=sheet or 0, dtype=str, keep_default_na=False)
        except Exception as exc:  # openpyxl raises many kinds
            raise InputError(f"cannot read Excel file: {exc}", file=path) from exc
        return df, 2
    if suffix in (".geojson", ".json"):
        try:
            doc = json.loads(_decode(path.read_bytes(), path))
        except json.JSONDecodeError as exc:
            raise InputError(f"not valid JSON: {exc}", file=path) from exc
        feats = doc.get("features") if isinstance(doc, dict) else None
        if feats is None:
            raise InputError("GeoJSON must be a FeatureCollection", file=path)
        recs = []
        for f in feats:
            props = {k: ("" if v is None else str(v)) for k, v in (f.get("properties") or {}).items()}
            props["__geometry__"] = f.get("geometry")
            recs.append(props)
        # a property some features lack is empty text there (pandas would fill NaN, read back as "nan")
        df = pd.DataFrame(recs)
        props = [c for c in df.columns if c != "__geometry__"]
        df[props] = df[props].astype(object).where(df[props].notna(), "")
        return df, 1
    raise InputError(f"unsupported file type {suffix!r} (use .csv, .csv.gz, .xlsx or .geojson)", file=path)


def _parse_geometry(r: dict, path: Path, row: int):
    g = r.get("__geometry__")
    if g is not None:
        try:
            geom = shapely.geometry.shape(g)
        except Exception as exc:
            raise InputError(f"broken geometry: {exc}", file=path, row=row, field="geometry") from exc
        field = "geometry"
    elif _text(r.get("wkt")):
        try:
            geom = _wkt.loads(_text(r["wkt"]))
        except Exception as exc:
            raise InputError(f"broken geometry (WKT not readable): {exc}", file=path, row=row, field="wkt") from exc
        field = "wkt"
    elif _text(r.get("lon")) or _text(r.get("lat")):
        try:
            lon, lat = float(_text(r.get("lon"))), float(_text(r.get("lat")))
        except ValueError as exc:
            raise InputError("broken geometry: lon/lat not numbers", file=path, row=row, field="lon") from exc
        geom, field = shapely.Point(lon, lat), "lon"
    else:
        return None
    if geom.is_empty:
        raise InputError("broken geometry: empty", file=path, row=row, field=field)
    if not geom.is_valid:
        raise InputError(
            f"broken geometry: {shapely.is_valid_reason(geom)}", file=path, row=row, field=field
        )
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InputError("geometry outside longitude/latitude range (expected WGS-84/CGCS2000 degrees)",
                         file=path, row=row, field=field)
    return geom


def _text(value) -> str:
    """Cell text, stripped; missing values (None, NaN) are empty, never ``"nan"``/``"None"``."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA or value is pd.NaT:
        return ""
    return str(value).strip()


def _blank(value):
    """``None`` for a missing or empty value, else its text (to compare stored and new fields)."""
    t = _text(value)
    return t or None


_YEAR_RE = re.compile(r"^(\d{4})(?:\.0)?$")


def read_names(
    path: str | os.PathLike,
    *,
    sheet: str | int | None = None,
    default_category: str | None = None,
) -> gpd.GeoDataFrame:
    """Read and validate a place-name table (CSV UTF-8/GBK, Excel, GeoJSON).

    Columns: ``code`` and ``name`` required; optional ``pinyin``, ``category``,
    ``category_code``, ``admin_code``, ``meaning``, ``origin``, ``history_note``,
    ``approval_doc``, ``date`` (YYYY-MM-DD), ``event`` (``abolished`` to abolish; a truthy ``abolished``
    column does the same)
    and a geometry (GeoJSON geometry, ``wkt`` or ``lon``/``lat`` in WGS-84/CGCS2000).

    Parameters
    ----------
    path
        The file.
    sheet
        Excel sheet (default the first).
    default_category
        Category for rows that leave it empty.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per input row, EPSG:4326, ``source_row`` holding the spreadsheet row,
        ``abolished_year`` the year of an abolition when the file gives only that.
        ``attrs["columns"]`` lists the fields the file gives (``geometry`` when it
        has a geometry column): :meth:`Gazetteer.record` keeps the stored value
        of every other field.

    Raises
    ------
    InputError
        Unknown encoding, missing name, bad code, broken geometry, duplicate
        code; the message names file, row (header = 1, first data row = 2;
        GeoJSON: feature number) and field; a file with a header but no rows.
    """
    path = Path(path)
    df, offset = _read_table(path, sheet=sheet)
    df.columns = [str(c).strip().lstrip("\ufeff") for c in df.columns]
    for col in ("code", "name"):
        if col not in df.columns:
            raise InputError(f"required column {col!r} missing (columns: {', '.join(df.columns)})", file=path, row=1, field=col)
    if df.empty:  # "0 events" and an empty store would hide a wrong file
        raise InputError("no rows: the file has a header but no names", file=path, row=offset)
    given = [f for f in FIELDS if f in df.columns]
    if default_category and "category" not in given:
        given.append("category")
    if "__geometry__" in df.columns or "wkt" in df.columns or "lon" in df.columns or "lat" in df.columns:
        given.append("geometry")
    recs = []
    seen: dict[str, int] = {}
    for i, r in enumerate(df.to_dict("records")):
        row = i + offset
        name = _text(r.get("name"))
        if not name:
            raise InputError("missing name", file=path, row=row, field="name")
        code = _text(r.get("code"))
        if not _CODE_RE.match(code):
            raise InputError(f"bad code {code!r} (letters, digits, '-' or '_', up to 40)", file=path, row=row, field="code")
        category = (_text(r.get("category")) or default_category or "").strip().lower() or None
        if category in _ADMIN_CATEGORIES and not re.fullmatch(r"\d{12}", code):
            raise InputError(
                f"bad code {code!r}: a {category} needs its 12-digit statistical code", file=path, row=row, field="code"
            )
        admin = _text(r.get("admin_code"))
        if admin and not re.fullmatch(r"\d{12}", admin):
            raise InputError(f"bad admin_code {admin!r}: must be 12 digits", file=path, row=row, field="admin_code")
        if not admin and re.fullmatch(r"\d{12}", code):
            admin = code
        if code in seen:
            raise InputError(f"code {code!r} repeats row {seen[code]}", file=path, row=row, field="code")
        seen[code] = row
        date = _text(r.get("date"))
        if date:
            date = _parse_date(date, file=path, row=row)
        event = _text(r.get("event")).lower()
        if not event and _text(r.get("abolished")).lower() in _TRUTHY:
            event = "abolished"
        if event and event not in _EVENT_KINDS:
            raise InputError(f"bad event {event!r} (one of {', '.join(_EVENT_KINDS)})", file=path, row=row, field="event")
        year = None
        if event == "abolished" and not date:
            # the shipped township table gives only the year of an abolition
            m = _YEAR_RE.match(_text(r.get("abolished_year")))
            year = m.group(1) if m else None
        geom = _parse_geometry(r, path, row)
        rec = {
            "code": code,
            "name": name,
            "pinyin": _text(r.get("pinyin")) or None,
            "category": category,
            "category_code": _text(r.get("category_code")) or None,
            "admin_code": admin or None,
            "meaning": _text(r.get("meaning")) or None,
            "origin": _text(r.get("origin")) or None,
            "history_note": _text(r.get("history_note")) or None,
            "approval_doc": _text(r.get("approval_doc")) or None,
            "date": date or None,
            "event": event or None,
            "abolished_year": year,
            "source_row": row,
            "geometry": geom,
        }
        recs.append(rec)
    cols = list(FIELDS) + ["date", "event", "abolished_year", "source_row", "geometry"]
    out = gpd.GeoDataFrame(pd.DataFrame(recs, columns=cols), geometry="geometry", crs="EPSG:4326")
    out.attrs["columns"] = given
    return out


def write_names(gdf: pd.DataFrame, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write names to CSV (UTF-8 with BOM, opens in Excel; geometry as ``wkt``), Excel or GeoJSON.

    The format follows the suffix: ``.csv``, ``.xlsx``, ``.geojson``.  Written atomically.
    Text is always written as text, never as a spreadsheet formula (OWASP CSV
    injection): in CSV a value starting with ``= + - @``, tab or CR gets a
    leading ``'`` (so does such a start after a line break inside a value, and
    a value holding a line break is quoted); in Excel every text is a string cell.
    """
    from geoplan._output import atomic_write_file, write_csv

    path = Path(path)
    suffix = path.suffix.lower()
    df = pd.DataFrame(gdf).copy()
    if "geometry" in df:
        df["wkt"] = [None if g is None else g.wkt for g in df["geometry"]]
        df = df.drop(columns="geometry")
    if suffix == ".csv":
        return write_csv(df, path, overwrite=overwrite)  # CRLF lines: a CR inside a cell is quoted
    elif suffix == ".xlsx":
        writer = lambda p: _write_xlsx_text_safe(df, p)  # noqa: E731
    elif suffix == ".geojson":
        g = gpd.GeoDataFrame(gdf.copy(), geometry="geometry", crs=getattr(gdf, "crs", None) or "EPSG:4326")
        writer = lambda p: Path(p).write_text(g.to_json(ensure_ascii=False, drop_id=True), encoding="utf-8")  # noqa: E731
    else:
        raise InputError(f"unsupported export type {suffix!r} (use .csv, .xlsx or .geojson)", file=path)
    atomic_write_file(path, writer, overwrite=overwrite)
    return path


def _write_xlsx_text_safe(df: pd.DataFrame, path) -> None:
    """One-sheet workbook in which no text becomes a formula (string cells, quote prefix for = + - @)."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    wb = Workbook()
    ws = wb.active
    ws.title = "names"

    def put(r: int, c: int, v) -> None:
        if v is None or (isinstance(v, float) and v != v) or v is pd.NaT:
            return
        if isinstance(v, (np.integer, np.floating, np.bool_)):
            v = v.item()
        if not isinstance(v, (str, int, float, bool, _dt.date)):
            v = str(v)
        if isinstance(v, str):
            v = ILLEGAL_CHARACTERS_RE.sub(" ", v)
        cell = ws.cell(row=r, column=c, value=v)
        if isinstance(v, str):
            cell.data_type = "s"  # openpyxl would otherwise store '=...' as a live formula
            if v.startswith(("=", "+", "-", "@", "\t", "\r")):
                cell.quotePrefix = True  # editing the cell in Excel keeps it text

    for c, name in enumerate(df.columns, start=1):
        put(1, c, str(name))
    for r, row in enumerate(df.itertuples(index=False), start=2):
        for c, v in enumerate(row, start=1):
            put(r, c, v)
    wb.save(path)


# --------------------------------------------------------------------------- gazetteer
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ].+)?$")


def _parse_date(text: str, *, file=None, row: int | None = None, field: str = "date") -> str:
    """A strict ISO date: ``YYYY-MM-DD``, or a full valid ISO date-time (its date is kept).

    ``2020-02-30`` and ``2020-02-03T99:99`` are refused, never truncated.
    """
    t = str(text).strip()
    try:
        if not _DATE_RE.match(t):
            raise ValueError("not YYYY-MM-DD")
        if len(t) == 10:
            return _dt.date.fromisoformat(t).isoformat()
        return _dt.datetime.fromisoformat(t).date().isoformat()
    except ValueError as exc:
        raise InputError(f"bad date {t!r} (use YYYY-MM-DD): {exc}", file=file, row=row, field=field) from exc


def _iso(date: str | _dt.date | None) -> str:
    if date is None:
        return _dt.date.today().isoformat()
    if isinstance(date, _dt.datetime):
        return date.date().isoformat()
    if isinstance(date, _dt.date):
        return date.isoformat()
    return _parse_date(str(date))


class Gazetteer:
    """Standard place names with their history, in a GeoPackage store.

    Parameters
    ----------
    store
        A :class:`~geoplan.store.Store` or the path of a ``.gpkg`` file.
    wordlists
        Folder of user word lists / pinyin dictionary (see :func:`wordlists_folder`).
    readonly
        Open the store read-only (for history, check, export): the file must
        exist and is never modified.

    Notes
    -----
    Every change (import, rename, abolish) reads the current state and writes
    its events inside one write transaction of the store, so two processes
    importing into the same file at once are serialised (the second waits)
    and neither loses the other's events; ``event_id`` is unique by a
    database constraint.  Dates must be plausible in sequence: an event of a
    code may not be dated before the last recorded event of that code.

    Examples
    --------
    >>> gz = Gazetteer("xiangtan.gpkg")                                 # doctest: +SKIP
    >>> gz.import_file("townships.csv", date="2024-01-01", approval_doc="湘政函〔2024〕1号")  # doctest: +SKIP
    >>> gz.state_at("2023-12-31")                                        # doctest: +SKIP
    """

    def __init__(
        self,
        store: Store | str | os.PathLike,
        *,
        wordlists: str | os.PathLike | None = None,
        readonly: bool = False,
    ) -> None:
        self.store = store if isinstance(store, Store) else Store(store, readonly=readonly)
        self.wordlists = wordlists

    # -- reading
    def events(self, *, code: str | None = None) -> gpd.GeoDataFrame:
        """All events (oldest first), optionally of one code."""
        if not self.store.has_layer(EVENTS_LAYER):
            return self._empty_events()
        where, params = (None, None) if code is None else ("code = ?", (str(code),))
        ev = self.store.read_layer(EVENTS_LAYER, where=where, params=params)
        return ev.sort_values(["date", "event_id"], kind="stable").reset_index(drop=True)

    def history(self, code: str | None = None) -> pd.DataFrame:
        """Events as a table (no geometry): date, event, code, name, previous_name, approval_doc..."""
        ev = self.events(code=code)
        cols = ["date", "event", "code", "name", "previous_name", "approval_doc", "pinyin", "category", "admin_code",
                "history_note"]
        return pd.DataFrame(ev[cols])

    def state_at(self, date: str | _dt.date | None = None) -> gpd.GeoDataFrame:
        """The gazetteer as it stood at the end of ``date`` (default: today and later events too).

        Parameters
        ----------
        date
            ISO date; ``None`` means the latest state.

        Returns
        -------
        geopandas.GeoDataFrame
            One row per name in force (abolished names removed), sorted by code,
            with ``since`` (date of the last event).
        """
        ev = self.events()
        if date is not None:
            ev = ev[ev["date"] <= _iso(date)]
        return self._state(ev)

    def _state(self, ev: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """State after replaying the events ``ev`` (sorted by date, event_id)."""
        if ev.empty:
            return self._empty_state()
        last = ev.groupby("code", sort=True).tail(1)
        last = last[last["event"] != "abolished"].sort_values("code")
        out = last.rename(columns={"date": "since"})
        cols = list(FIELDS) + ["since", "geometry"]
        return gpd.GeoDataFrame(out[cols].reset_index(drop=True), geometry="geometry", crs=ev.crs)

    # -- writing
    def import_file(
        self,
        path: str | os.PathLike,
        *,
        date: str | _dt.date | None = None,
        approval_doc: str | None = None,
        sheet: str | int | None = None,
        default_category: str | None = None,
    ) -> pd.DataFrame:
        """Import a CSV/Excel/GeoJSON file in one transaction.

        New codes are ``named``; a changed name is ``renamed``; other changed
        fields ``amended``; rows with ``event=abolished`` abolish the code (a code
        not yet in the gazetteer is recorded as abolished only);
        unchanged rows add nothing (an empty cell equals a missing value).  A
        column the file does not have keeps the stored value: a ``code,name``
        file renames without losing location, meaning or category (an empty
        geometry keeps the stored one too).  An abolition of a code already
        abolished records nothing; a row giving only ``abolished_year`` is
        dated 1 January of that year, otherwise the import date, and the
        event's ``history_note`` says which.  Row ``date``/``approval_doc`` columns
        override the arguments.  Any bad row raises :class:`~geoplan.InputError`
        before anything is written: the store is unchanged.

        Returns
        -------
        pandas.DataFrame
            The events written.
        """
        names = read_names(path, sheet=sheet, default_category=default_category)
        return self.record(names, date=date, approval_doc=approval_doc, source=str(path))

    def record(
        self,
        names: pd.DataFrame,
        *,
        date: str | _dt.date | None = None,
        approval_doc: str | None = None,
        source: str | None = None,
    ) -> pd.DataFrame:
        """Record a table of names (as :func:`read_names` returns) as events, in one transaction.

        The current state is read inside the same write transaction that
        appends the events, so a concurrent import cannot slip in between.

        Raises
        ------
        InputError
            A row's event is dated before the last recorded event of its code
            (e.g. a renaming dated before the name was created): the message
            names the file, row, code and both dates; nothing is written.
        """
        default_date = _iso(date)
        rows = names.to_dict("records")
        given = names.attrs.get("columns")
        if given is None:  # a frame built by hand: the fields it has columns for
            given = [c for c in names.columns if c in FIELDS or c == "geometry"]
        given = set(given) | {"code", "name"}
        # pinyin depends on the row only: computed before taking the write lock, to keep it short
        pinyins = [
            _blank(r.get("pinyin")) or sign_pinyin(r["name"], category=_blank(r.get("category")), wordlists=self.wordlists)
            for r in rows
        ]
        with self.store.transaction() as tx:
            ev = self.events()
            current = {r["code"]: r for r in self._state(ev).to_dict("records")}
            last = self._last_events(ev)
            recs = self._records(rows, pinyins, current, last, default_date, approval_doc, source, given)
            return self._append(tx, recs)

    def _records(self, rows, pinyins, current, last, default_date, approval_doc, source, given) -> list[dict]:
        recs = []
        for r, pinyin in zip(rows, pinyins):
            code = str(r["code"])
            rd = _blank(r.get("date"))
            d = default_date if rd is None else _iso(rd)
            doc = _blank(r.get("approval_doc")) or approval_doc
            geom = r.get("geometry")
            rec = {k: _blank(r.get(k)) for k in FIELDS}
            rec.update(code=code, pinyin=pinyin, approval_doc=doc, date=d, geometry=geom, previous_name=None)
            cur = current.get(code)
            if r.get("event") == "abolished":
                if cur is None and last.get(code, ("", ""))[1] == "abolished":
                    continue  # already abolished: re-importing the same register records nothing
                if cur is not None:
                    rec.update({k: cur.get(k) for k in FIELDS if k != "approval_doc"})
                    rec.update(geometry=cur.get("geometry"), previous_name=cur["name"])
                else:  # known only as abolished (e.g. a register that marks 撤销): recorded as such
                    rec.update(previous_name=rec["name"])
                rec["event"] = "abolished"
                if rd is None:
                    d = self._abolition_date(rec, r, code, default_date, last)
                    rec["date"] = d
            elif cur is None:
                rec["event"] = "named"
            else:
                # a partial file (e.g. only code,name) changes only what it gives: the rest is carried forward
                for k in FIELDS:
                    if k not in given and k not in ("approval_doc", "pinyin") and _blank(cur.get(k)) is not None:
                        rec[k] = cur.get(k)  # (admin_code derived from a 12-digit code fills only a gap)
                if _blank(r.get("pinyin")) is None:
                    if rec["name"] == cur["name"] and _blank(rec["category"]) == _blank(cur.get("category")):
                        rec["pinyin"] = cur.get("pinyin")  # a pinyin set earlier is not recomputed
                    elif _blank(rec["category"]) != _blank(r.get("category")):  # category carried forward
                        rec["pinyin"] = sign_pinyin(rec["name"], category=_blank(rec["category"]),
                                                    wordlists=self.wordlists)
                if geom is None:
                    rec["geometry"] = cur.get("geometry")
                if cur["name"] != rec["name"]:
                    rec.update(event="renamed", previous_name=cur["name"])
                else:
                    # missing values compare equal whatever their form (None, NaN, "")
                    same = all(_blank(cur.get(k)) == _blank(rec.get(k)) for k in FIELDS if k != "approval_doc")
                    g0 = cur.get("geometry")
                    same_geom = geom is None or (g0 is not None and g0.equals(geom))
                    if same and same_geom:
                        continue
                    rec["event"] = "amended"
            self._check_sequence(code, d, rec["event"], last, file=source, row=r.get("source_row"))
            rec["source"] = source
            recs.append(rec)
        return recs

    @staticmethod
    def _abolition_date(rec: dict, r: dict, code: str, default_date: str, last: dict) -> str:
        """Date of an abolition whose row gives no date, with a note saying where it came from.

        Convention: a row with only ``abolished_year`` is dated 1 January of that
        year (the table gives no day); without it, or when that year lies before
        the code's last recorded event, the import date.  The reason is written
        into the event's ``history_note``.
        """
        year = _blank(r.get("abolished_year"))
        prev = last.get(code)
        if year is not None:
            d = f"{year}-01-01"
            if prev is None or d >= prev[0]:
                note = f"撤销日期：表中只有撤销年份 {year}，记为 {d}"
            else:
                d = default_date
                note = f"撤销日期：表中撤销年份 {year} 早于该地名最后一次记录（{prev[0]}），记为导入日期 {d}"
        else:
            d = default_date
            note = f"撤销日期：表中未给日期，记为导入日期 {d}"
        old = _blank(rec.get("history_note"))
        rec["history_note"] = note if old is None else f"{old}；{note}"
        return d

    @staticmethod
    def _last_events(ev: pd.DataFrame) -> dict[str, tuple[str, str]]:
        """code -> (date, event) of its latest recorded event (abolished codes included)."""
        if ev.empty:
            return {}
        tail = ev.groupby("code", sort=False).tail(1)
        return {str(c): (str(d), str(e)) for c, d, e in zip(tail["code"], tail["date"], tail["event"])}

    @staticmethod
    def _check_sequence(code: str, date: str, event: str, last: dict, *, file=None, row=None) -> None:
        """Refuse an event dated before the code's last recorded event (it would rewrite history silently)."""
        prev = last.get(code)
        if prev is not None and date < prev[0]:
            raise InputError(
                f"code {code}: {event} dated {date} is before its last recorded event "
                f"({prev[1]} on {prev[0]}); events of a name must be in date order",
                file=file, row=row, field="date",
            )

    def rename(self, code: str, new_name: str, *, date: str | _dt.date, approval_doc: str | None = None,
               pinyin: str | None = None) -> pd.DataFrame:
        """Record a renaming (更名) of ``code`` (refused when dated before the code's last event)."""
        d = _iso(date)
        with self.store.transaction() as tx:
            ev = self.events()
            cur = self._current(code, ev)
            self._check_sequence(str(code), d, "renamed", self._last_events(ev))
            rec = {k: cur.get(k) for k in FIELDS}
            rec.update(name=new_name, pinyin=pinyin or sign_pinyin(new_name, category=cur.get("category"),
                                                                     wordlists=self.wordlists),
                       approval_doc=approval_doc, date=d, event="renamed", previous_name=cur["name"],
                       geometry=cur.get("geometry"), source=None)
            return self._append(tx, [rec])

    def abolish(self, code: str, *, date: str | _dt.date, approval_doc: str | None = None) -> pd.DataFrame:
        """Record the abolition (撤销) of ``code``; its past stays readable."""
        d = _iso(date)
        with self.store.transaction() as tx:
            ev = self.events()
            cur = self._current(code, ev)
            self._check_sequence(str(code), d, "abolished", self._last_events(ev))
            rec = {k: cur.get(k) for k in FIELDS}
            rec.update(approval_doc=approval_doc, date=d, event="abolished", previous_name=cur["name"],
                       geometry=cur.get("geometry"), source=None)
            return self._append(tx, [rec])

    def export(self, path: str | os.PathLike, *, date: str | _dt.date | None = None, overwrite: bool = False) -> Path:
        """Write the state at ``date`` to CSV, Excel or GeoJSON (by suffix)."""
        return write_names(self.state_at(date), path, overwrite=overwrite)

    # -- internals
    def _current(self, code: str, ev: pd.DataFrame | None = None) -> dict:
        st = self.state_at() if ev is None else self._state(ev)
        hit = st[st["code"] == str(code)]
        if hit.empty:
            raise InputError(f"code {code!r} is not in the gazetteer (or already abolished)", field="code")
        return hit.iloc[0].to_dict()

    def _append(self, tx, recs: list[dict]) -> pd.DataFrame:
        """Append events inside the caller's open transaction ``tx`` (ids taken under the write lock)."""
        cols = ["event_id", "date", "event", *FIELDS, "previous_name", "source", "recorded_at", "geometry"]
        if not recs:
            return pd.DataFrame(columns=cols[:-1])
        now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        start = int(tx.max_value(EVENTS_LAYER, "event_id") or 0) + 1
        for k, r in enumerate(recs):
            r["event_id"] = start + k
            r["recorded_at"] = now
        df = pd.DataFrame(recs)
        for c in cols:
            if c not in df:
                df[c] = None
        df = df[cols]
        for c in cols:
            if c not in ("event_id", "geometry"):
                df[c] = df[c].astype(object).where(df[c].notna(), None)
        gdf = gpd.GeoDataFrame(df, geometry="geometry", crs="EPSG:4326")
        tx.write_layer(EVENTS_LAYER, gdf, mode="append", description="place-name events (append-only)")
        tx.create_index(EVENTS_LAYER, ["event_id"], unique=True)  # a repeated id is refused by the database
        tx.set_meta("names_schema_version", _NAMES_SCHEMA)
        state = self.state_at()
        tx.write_layer(CURRENT_LAYER, state, mode="replace", description="place names in force (derived)")
        return pd.DataFrame(df.drop(columns="geometry"))

    @staticmethod
    def _empty_events() -> gpd.GeoDataFrame:
        cols = ["event_id", "date", "event", *FIELDS, "previous_name", "source", "recorded_at"]
        return gpd.GeoDataFrame(pd.DataFrame(columns=cols), geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")

    @staticmethod
    def _empty_state() -> gpd.GeoDataFrame:
        cols = [*FIELDS, "since"]
        return gpd.GeoDataFrame(pd.DataFrame(columns=cols), geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")


# --------------------------------------------------------------------------- rule checks
def check_names(
    names: pd.DataFrame,
    *,
    wordlists: str | os.PathLike | None = None,
    rules: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Check names against the naming rules; every finding explains itself.

    Parameters
    ----------
    names
        Columns ``name`` (required), ``code``, ``category``, ``admin_code``
        (12-digit; the scope of duplicates comes from it: county-level names
        nationwide, townships within the province (2 digits), villages and
        communities within the county (6), roads within the township (9)).
        Rows marked abolished (a truthy ``abolished`` column — 1, true, yes,
        是 — or ``event == "abolished"``) are skipped: an abolished name is
        neither checked nor counted as a duplicate/homophone of a current one.
    wordlists
        Folder of user word lists (missing files fall back to the shipped ones).
    rules
        Rule ids to run (default all, see :data:`RULES`).

    Returns
    -------
    pandas.DataFrame
        One row per finding: ``rule``, ``severity``, ``title``, ``code``,
        ``name``, ``part`` (the offending part), ``why``, ``source`` (the
        rule's source, paraphrased), ``row`` (index label of ``names``).
    """
    if "name" not in names.columns:
        raise InputError("names table needs a 'name' column", field="name")
    folder = _as_folder(wordlists)
    wanted = set(RULES) if rules is None else set(rules)
    unknown = wanted - set(RULES)
    if unknown:
        raise InputError(f"unknown rule id(s) {sorted(unknown)}; known: {', '.join(RULES)}", field="rules")
    df = names.copy()
    if "code" not in df:
        df["code"] = [str(i) for i in df.index]
    df["code"] = df["code"].astype(str)
    for c in ("category", "admin_code"):
        if c not in df:
            df[c] = None
    # abolished names are history, not names in use: they can clash with nothing
    df = df[~abolished_mask(df)]
    out = []
    for idx, r in df.iterrows():
        for f in word_findings(str(r["name"]).strip(), folder=folder):
            out.append({"row": idx, **f})
    for f in scope_findings(df, folder=folder):
        out.append({"row": f.pop("idx"), **f})
    recs = []
    for f in out:
        if f["rule"] not in wanted:
            continue
        sev, title, src = RULES[f["rule"]]
        r = df.loc[f["row"]]
        recs.append(
            {
                "rule": f["rule"],
                "severity": sev,
                "title": title,
                "code": r["code"],
                "name": r["name"],
                "part": f["part"],
                "why": f["why"],
                "source": src,
                "row": f["row"],
            }
        )
    cols = ["rule", "severity", "title", "code", "name", "part", "why", "source", "row"]
    res = pd.DataFrame(recs, columns=cols)
    order = {"error": 0, "warning": 1, "info": 2}
    res["_sev"] = res["severity"].map(order)
    res["_rule"] = res["rule"].map({r: k for k, r in enumerate(RULES)})
    res = res.sort_values(["_sev", "_rule", "code"], kind="stable").drop(columns=["_sev", "_rule"])
    return res.reset_index(drop=True)


def abolished_mask(df: pd.DataFrame) -> pd.Series:
    """Rows marked abolished: a truthy ``abolished`` column or ``event == "abolished"``."""
    mask = pd.Series(False, index=df.index)
    if "abolished" in df:
        mask |= df["abolished"].map(lambda v: str(v).strip().lower() in _TRUTHY)
    if "event" in df:
        mask |= df["event"].map(lambda v: str(v).strip().lower() == "abolished")
    return mask


def summarize_findings(findings: pd.DataFrame) -> pd.DataFrame:
    """Counts per rule: rule, severity, title, findings, names (distinct codes)."""
    rows = []
    for rule, (sev, title, _src) in RULES.items():
        f = findings[findings["rule"] == rule]
        rows.append({"rule": rule, "severity": sev, "title": title, "findings": len(f),
                     "names": f["code"].nunique()})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- road signs
@dataclass(frozen=True)
class SignSurvey:
    """Result of :func:`road_signs`.

    Attributes
    ----------
    locations
        GeoDataFrame of points where road-name signs belong: ``kind``
        (``intersection``/``road_end``), ``roads`` (names meeting there, ``；``
        separated), ``sign_texts`` (standard name + sign pinyin per road),
        ``has_sign`` (a matching existing sign within ``max_distance``; None when
        no signs were given).
    findings
        DataFrame: ``rule`` (SIGN-MISSING, SIGN-TEXT), ``road``, ``sign_id``,
        ``text``, ``why``.
    """

    locations: gpd.GeoDataFrame
    findings: pd.DataFrame


def _require_metres(gdf: gpd.GeoDataFrame, what: str) -> None:
    if gdf.crs is None:
        raise CRSError(f"{what} has no CRS; project it to metres (e.g. a UTM zone)")
    if gdf.crs.is_geographic:
        raise CRSError(f"{what} is in degrees ({gdf.crs.to_string()}); project it to metres first")


def _norm_text(s: str) -> str:
    return re.sub(r"\s+", "", str(s)).replace("（", "(").replace("）", ")")


def road_signs(
    roads: gpd.GeoDataFrame,
    *,
    name_col: str = "name",
    signs: gpd.GeoDataFrame | None = None,
    sign_text_col: str = "text",
    max_distance: float = 30.0,
    snap: float = 1.0,
    wordlists: str | os.PathLike | None = None,
) -> SignSurvey:
    """Where road-name signs belong, and which roads or signs are wrong.

    Signs belong at every point where two or more differently named roads meet
    or cross (``intersection``) and at the free ends of named roads
    (``road_end``).  With ``signs`` given, each named road without a sign within
    ``max_distance`` of it is flagged (SIGN-MISSING), and each sign whose text
    does not equal the standard name of a road near it is flagged (SIGN-TEXT).

    Parameters
    ----------
    roads
        Road lines in a projected CRS (metres), with a name column; unnamed rows
        are ignored.
    name_col
        Column of standard road names.
    signs
        Existing signs as points (same CRS) with a text column.
    sign_text_col
        Column of the sign text (Chinese name as written on the sign).
    max_distance
        Metres between a sign and the road it names.
    snap
        Metres within which road ends count as meeting.
    wordlists
        Folder of user word lists / pinyin dictionary.

    Returns
    -------
    SignSurvey
    """
    _require_metres(roads, "roads")
    if name_col not in roads:
        raise InputError(f"roads have no column {name_col!r}", field=name_col)
    r = roads[[name_col, roads.geometry.name]].copy()
    r = r[r[name_col].notna() & (r[name_col].astype(str).str.strip() != "")]
    r = r[r.geometry.notna() & ~r.geometry.is_empty]
    r[name_col] = r[name_col].astype(str).str.strip()
    r = r.explode(index_parts=False).reset_index(drop=True)
    r = r[r.geom_type == "LineString"]
    merged = r.dissolve(by=name_col).geometry.apply(lambda g: shapely.line_merge(g))
    names = list(merged.index)
    geoms = list(merged.values)
    pts: list[tuple[float, float, frozenset, str]] = []
    tree = shapely.STRtree(geoms)
    # intersections between differently named roads
    left, right = tree.query(geoms, predicate="dwithin", distance=snap)
    for a, b in zip(left, right):
        if a >= b:
            continue
        inter = shapely.intersection(geoms[a], geoms[b])
        if inter.is_empty:  # ends that stop just short of each other
            inter = shapely.centroid(shapely.shortest_line(geoms[a], geoms[b]))
        for part in getattr(inter, "geoms", [inter]):
            c = part.representative_point() if part.geom_type != "Point" else part
            p = shapely.Point(c.x, c.y)
            near = tree.query(p, predicate="dwithin", distance=snap)
            pts.append((p.x, p.y, frozenset(names[k] for k in near), "intersection"))
    # free ends
    for k, g in enumerate(geoms):
        for line in getattr(g, "geoms", [g]):
            for xy in (line.coords[0], line.coords[-1]):
                p = shapely.Point(xy)
                near = [names[j] for j in tree.query(p, predicate="dwithin", distance=snap)]
                if len(set(near)) == 1:
                    # an end of this road meets no other named road: check it is a true end of the road
                    others = [ln for ln in getattr(g, "geoms", [g]) if ln is not line]
                    if any(o.distance(p) <= snap for o in others):
                        continue
                    pts.append((p.x, p.y, frozenset([names[k]]), "road_end"))
    # merge points closer than 3*snap
    recs: list[dict] = []
    grid = {}
    for x, y, rs, kind in pts:
        key = (round(x / (3 * snap)), round(y / (3 * snap)))
        if key in grid:
            rec = recs[grid[key]]
            rec["roads"] = rec["roads"] | rs
            if kind == "intersection":
                rec["kind"] = "intersection"
            continue
        grid[key] = len(recs)
        recs.append({"kind": kind, "roads": rs, "geometry": shapely.Point(x, y)})
    loc = gpd.GeoDataFrame(
        {
            "kind": [r_["kind"] for r_ in recs],
            "roads": ["；".join(sorted(r_["roads"])) for r_ in recs],
            "sign_texts": [
                "；".join(f"{n} {sign_pinyin(n, category='road', wordlists=wordlists)}" for n in sorted(r_["roads"]))
                for r_ in recs
            ],
        },
        geometry=[r_["geometry"] for r_ in recs],
        crs=roads.crs,
    )
    findings: list[dict] = []
    has_sign = [None] * len(loc)
    if signs is not None:
        _require_metres(signs, "signs")
        if sign_text_col not in signs:
            raise InputError(f"signs have no column {sign_text_col!r}", field=sign_text_col)
        signs = signs.to_crs(roads.crs)
        std = {_norm_text(n): n for n in names}
        good_by_road: dict[str, list] = {n: [] for n in names}
        for sid, srow in signs.iterrows():
            text = _norm_text(srow[sign_text_col])
            near = [names[k] for k in tree.query(srow.geometry, predicate="dwithin", distance=max_distance)]
            if text in std and std[text] in near:
                good_by_road[std[text]].append(srow.geometry)
                continue
            if near:
                nearest = min(near, key=lambda n: merged[n].distance(srow.geometry))
                why = f"牌文 '{srow[sign_text_col]}' 与附近道路标准名称不符 (最近: {nearest})"
            else:
                nearest, why = None, f"牌文 '{srow[sign_text_col]}': {max_distance:g} m 内没有同名道路"
            findings.append({"rule": "SIGN-TEXT", "road": nearest, "sign_id": sid, "text": srow[sign_text_col], "why": why})
        for n in names:
            if not good_by_road[n]:
                findings.append({"rule": "SIGN-MISSING", "road": n, "sign_id": None, "text": None,
                                 "why": f"道路 '{n}' 在 {max_distance:g} m 内没有文字正确的路名牌"})
        for i, (p, rs) in enumerate(zip(loc.geometry, recs)):
            has_sign[i] = all(any(p.distance(s) <= max_distance for s in good_by_road[n]) for n in rs["roads"])
    loc["has_sign"] = has_sign
    return SignSurvey(loc, pd.DataFrame(findings, columns=["rule", "road", "sign_id", "text", "why"]))


# --------------------------------------------------------------------------- door numbers
_COMPASS = {"north": (0.0, 1.0), "south": (0.0, -1.0), "east": (1.0, 0.0), "west": (-1.0, 0.0)}


def _parse_number(s) -> tuple[int, int] | None:
    """'12' -> (12, 0); '12-1'/'12之1' -> (12, 1); '33b' -> (33, 2); None for no number.

    Raises ValueError for text that is not a door number.
    """
    if s is None or (isinstance(s, float) and np.isnan(s)) or str(s).strip() == "":
        return None
    m = re.match(r"\s*(\d+)\s*(?:[-之]\s*(\d+)|([A-Za-z]))?", str(s))
    if not m:
        raise ValueError(str(s))
    sub = int(m.group(2)) if m.group(2) else (ord(m.group(3).lower()) - 96 if m.group(3) else 0)
    return int(m.group(1)), sub


def door_numbers(
    road: shapely.LineString | gpd.GeoSeries,
    buildings: gpd.GeoDataFrame,
    *,
    start: Literal["east", "west", "north", "south", "first", "last"] = "east",
    odd_side: Literal["left", "right", "north", "south", "east", "west"] = "north",
    number_col: str = "number",
    max_distance: float = 100.0,
) -> pd.DataFrame:
    """Number buildings along a road; keep existing numbers, give new ones sub-numbers.

    Numbering runs from the ``start`` end of the road; odd numbers on
    ``odd_side`` (left/right of the numbering direction, or a compass side),
    even on the other, 1, 3, 5 … and 2, 4, 6 … in order along the road.
    Existing numbers in ``number_col`` are never changed.  A building without a
    number gets the free main number between its numbered neighbours on its
    side when there is one, else a sub-number of the building before it
    (``12-1``, ``12-2``); after the last numbered building the main sequence
    continues.  Existing numbers that break the rule (wrong side parity, out of
    order) are kept and flagged.

    Parameters
    ----------
    road
        The road centre line in metres (a LineString, or a one-row GeoSeries).
    buildings
        Building points/polygons in the same projected CRS.
    start, odd_side
        The city's rule (a common one: east–west streets from the east, north
        side odd; north–south streets from the north, west side odd).
    number_col
        Column with existing numbers (missing column: number everything anew).
    max_distance
        Buildings farther than this from the road are left out (status ``too_far``).

    Returns
    -------
    pandas.DataFrame
        Aligned to ``buildings.index``: ``number`` (str), ``status`` (kept, new,
        new_sub, too_far, review), ``side`` (left/right of the numbering
        direction), ``along_m``, ``offset_m``, ``note``.
    """
    _require_metres(buildings, "buildings")
    if isinstance(road, gpd.GeoSeries):
        _require_metres(road, "road")
        road = shapely.line_merge(road.to_crs(buildings.crs).union_all())
    if road.geom_type != "LineString":
        raise InputError(f"road must be one continuous line, got {road.geom_type}", field="road")
    coords = np.asarray(road.coords)
    a, b = coords[0], coords[-1]
    flip = {
        "east": a[0] < b[0],
        "west": a[0] > b[0],
        "north": a[1] < b[1],
        "south": a[1] > b[1],
        "first": False,
        "last": True,
    }
    if start not in flip:
        raise InputError(f"start must be one of {', '.join(flip)}", field="start")
    if flip[start]:
        road = shapely.reverse(road)
        coords = coords[::-1]
    d = coords[-1] - coords[0]
    left_normal = np.array([-d[1], d[0]])
    if odd_side in ("left", "right"):
        odd_left = odd_side == "left"
    elif odd_side in _COMPASS:
        odd_left = float(np.dot(left_normal, _COMPASS[odd_side])) > 0
    else:
        raise InputError("odd_side must be left, right or a compass side", field="odd_side")
    pts = buildings.geometry.representative_point()
    along = np.array([road.project(p) for p in pts])
    near = [road.interpolate(s) for s in along]
    offset = np.array([p.distance(q) for p, q in zip(pts, near)])
    side = []
    for p, s in zip(pts, along):
        s0, s1 = max(s - 1.0, 0.0), min(s + 1.0, road.length)
        p0, p1 = road.interpolate(s0), road.interpolate(s1)
        cross = (p1.x - p0.x) * (p.y - p0.y) - (p1.y - p0.y) * (p.x - p0.x)
        side.append("left" if cross >= 0 else "right")
    existing = buildings[number_col] if number_col in buildings else pd.Series([None] * len(buildings), index=buildings.index)
    res = pd.DataFrame(
        {"number": None, "status": None, "side": side, "along_m": along, "offset_m": offset, "note": ""},
        index=buildings.index,
    )
    res["number"] = res["number"].astype(object)
    for lab, row in zip(buildings.index, existing):
        if res.at[lab, "offset_m"] > max_distance:
            res.at[lab, "status"] = "too_far"
    for sd in ("left", "right"):
        parity = 1 if (sd == "left") == odd_left else 0
        sel = res[(res["side"] == sd) & (res["status"] != "too_far")].sort_values("along_m", kind="stable")
        parsed = {}
        for lab in sel.index:
            try:
                parsed[lab] = _parse_number(existing.loc[lab])
            except ValueError:
                parsed[lab] = None
                res.at[lab, "note"] = f"现有门牌 '{existing.loc[lab]}' 无法识别 / existing number not understood"
        used = {v for v in parsed.values() if v is not None}
        last_main = max((m for m, _ in used), default=None)
        prev_seen = None  # last numbered (main, sub) along the road
        prev_main = 0
        for pos, lab in enumerate(sel.index):
            v = parsed[lab]
            if v is not None:
                res.at[lab, "number"] = str(existing.loc[lab]).strip()
                res.at[lab, "status"] = "kept"
                notes = []
                if v[0] % 2 != parity:
                    notes.append("单双号与所在侧不符 / parity does not match side")
                if prev_seen is not None and v < prev_seen:
                    notes.append("顺序倒置 / out of order")
                res.at[lab, "note"] = "; ".join(notes)
                if notes:
                    res.at[lab, "status"] = "review"
                prev_seen = v
                prev_main = v[0]
                continue
            if res.at[lab, "note"]:
                res.at[lab, "status"] = "review"
                continue
            # next numbered main number after this building on this side
            nxt = next((parsed[l2][0] for l2 in sel.index[pos + 1 :] if parsed[l2] is not None), None)
            if not used:
                cand = prev_main + 2 if prev_main else (1 if parity else 2)
                parsed[lab] = (cand, 0)
                res.at[lab, "number"], res.at[lab, "status"] = str(cand), "new"
                prev_main, prev_seen = cand, (cand, 0)
                continue
            # free main number strictly between neighbours
            lo = prev_main + 1
            hi = nxt if nxt is not None else None
            cand = lo if lo % 2 == parity else lo + 1
            if (hi is None or cand < hi) and (cand, 0) not in used and (last_main is None or hi is not None or cand > last_main):
                parsed[lab] = (cand, 0)
                used.add((cand, 0))
                res.at[lab, "number"], res.at[lab, "status"] = str(cand), "new"
                prev_main, prev_seen = cand, (cand, 0)
                continue
            if prev_seen is None:
                res.at[lab, "status"] = "review"
                res.at[lab, "note"] = "起点与首个门牌之间无空号 / no free number before the first door"
                continue
            base = prev_seen[0]
            k = 1
            while (base, k) in used:
                k += 1
            used.add((base, k))
            parsed[lab] = (base, k)
            res.at[lab, "number"], res.at[lab, "status"] = f"{base}-{k}", "new_sub"
            prev_seen = (base, k)
    return res
