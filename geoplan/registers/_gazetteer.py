"""The gazetteer: standard place names with their history, kept in a GeoPackage store.

Internals of :mod:`geoplan.registers.names` (:class:`Gazetteer` is re-exported there).
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geoplan._errors import InputError, StoreError
from geoplan.registers._namefiles import (
    _NAMES_SCHEMA, CURRENT_LAYER, EVENTS_LAYER, FIELDS, _blank, _iso, _read_table, read_names, write_names,
)
from geoplan.registers._spelling import sign_pinyin
from geoplan.registers._store import Store


class Gazetteer:
    """Standard place names with their history, in a GeoPackage store.

    Parameters
    ----------
    store
        A :class:`~geoplan.registers.Store` or the path of a ``.gpkg`` file.
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
        """All events (oldest first), optionally of one code.

        Parameters
        ----------
        code
            Only the events of this code.

        Returns
        -------
        geopandas.GeoDataFrame
            Layer ``place_name_events`` sorted by ``date`` and ``event_id`` (empty when the
            store has no gazetteer yet).
        """
        if not self.store.has_layer(EVENTS_LAYER):
            return self._empty_events()
        where, params = (None, None) if code is None else ("code = ?", (str(code),))
        ev = self.store.read_layer(EVENTS_LAYER, where=where, params=params)
        return ev.sort_values(["date", "event_id"], kind="stable").reset_index(drop=True)

    def history(self, code: str | None = None) -> pd.DataFrame:
        """Events as a table (no geometry): date, event, code, name, previous_name, approval_doc...

        Parameters
        ----------
        code
            Only the events of this code.

        Returns
        -------
        pandas.DataFrame
            Columns ``date``, ``event``, ``code``, ``name``, ``previous_name``, ``approval_doc``,
            ``pinyin``, ``category``, ``admin_code``, ``history_note``; oldest first.
        """
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

        Parameters
        ----------
        path
            The names file (see :func:`read_names`); also recorded as the events' ``source``.
        date
            Date of the events (ISO; default today) where a row gives none.
        approval_doc
            Approval document number where a row gives none.
        sheet
            Excel sheet (name or index).
        default_category
            Category for rows that give none.

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

        Parameters
        ----------
        names
            The names; its ``attrs["columns"]`` (set by :func:`read_names`) tells which fields
            the file gave, otherwise the columns present.
        date
            Date of the events (ISO; default today) where a row gives none.
        approval_doc
            Approval document number where a row gives none.
        source
            Recorded as the events' ``source`` (e.g. the file path).

        Returns
        -------
        pandas.DataFrame
            The events written (no geometry); empty when nothing changed.

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
        """Record a renaming (更名) of ``code`` (refused when dated before the code's last event).

        Parameters
        ----------
        code
            Code of a name in force.
        new_name
            The new name.
        date
            Date of the renaming.
        approval_doc
            Approval document number.
        pinyin
            Sign pinyin of the new name (default: computed by :func:`sign_pinyin`).

        Returns
        -------
        pandas.DataFrame
            The event written (one row).

        Raises
        ------
        InputError
            ``code`` is not in force, or ``date`` is before the code's last recorded event.
        """
        return self._change_one(code, date, "renamed", approval_doc, lambda cur: dict(
            name=new_name, pinyin=pinyin or sign_pinyin(new_name, category=cur.get("category"), wordlists=self.wordlists)))

    def abolish(self, code: str, *, date: str | _dt.date, approval_doc: str | None = None) -> pd.DataFrame:
        """Record the abolition (撤销) of ``code``; its past stays readable.

        Parameters
        ----------
        code
            Code of a name in force.
        date
            Date of the abolition.
        approval_doc
            Approval document number.

        Returns
        -------
        pandas.DataFrame
            The event written (one row).

        Raises
        ------
        InputError
            ``code`` is not in force, or ``date`` is before the code's last recorded event.
        """
        return self._change_one(code, date, "abolished", approval_doc, lambda cur: {})

    def _change_one(self, code: str, date: str | _dt.date, event: str, approval_doc: str | None,
                    changes: Callable[[dict], dict]) -> pd.DataFrame:
        """Append one ``event`` for the name in force under ``code``: its current record plus ``changes(current)``.

        Read and write happen in one store transaction (BEGIN IMMEDIATE), so concurrent imports lose nothing.
        """
        d = _iso(date)
        with self.store.transaction() as tx:
            ev = self.events()
            cur = self._current(code, ev)
            self._check_sequence(str(code), d, event, self._last_events(ev))
            rec = {k: cur.get(k) for k in FIELDS}
            rec.update(approval_doc=approval_doc, date=d, event=event, previous_name=cur["name"],
                       geometry=cur.get("geometry"), source=None)
            rec.update(changes(cur))
            return self._append(tx, [rec])

    def export(self, path: str | os.PathLike, *, date: str | _dt.date | None = None, overwrite: bool = False) -> Path:
        """Write the state at ``date`` to CSV, Excel or GeoJSON (by suffix).

        Parameters
        ----------
        path
            Output file; its suffix chooses the format (see :func:`write_names`).
        date
            State at this date (default the latest).
        overwrite
            Replace an existing file.

        Returns
        -------
        pathlib.Path
            The file written.
        """
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


def require_gazetteer(gz: Gazetteer, path: str | os.PathLike) -> None:
    """Raise StoreError unless ``gz``'s store holds a gazetteer.

    An empty answer would look like "no names": a store without a gazetteer is an error.

    Parameters
    ----------
    gz
        The gazetteer.
    path
        The store's file, for the message.

    Raises
    ------
    StoreError
        The store has no layer ``place_name_events``.
    """
    if not gz.store.has_layer(EVENTS_LAYER):
        raise StoreError(f"{path}: no place-name gazetteer in this GeoPackage (layer {EVENTS_LAYER!r} missing); "
                         "create one with 'geoplan names import'")


def load_names(path: str | os.PathLike, *, date: str | None = None, category: str | None = None) -> pd.DataFrame:
    """Names to check, from a gazetteer (``.gpkg``: the state at ``date``), a plain ``.csv.gz`` table or a names file.

    Parameters
    ----------
    path
        A gazetteer GeoPackage (opened read-only: checking never writes to the store), a plain
        table such as the shipped townships (``.csv.gz``: the ``abolished`` column is kept), or
        any file :func:`read_names` reads.
    date
        State of a gazetteer at this date (default the latest).
    category
        Category for rows that give none.

    Returns
    -------
    pandas.DataFrame
        One row per name, as a plain DataFrame (a gazetteer's geometry stays an ordinary column).

    Raises
    ------
    InputError
        No names (in force on ``date``), or a bad file (see :func:`read_names`).
    StoreError
        A GeoPackage without a gazetteer.
    """
    p = Path(path)
    if p.suffix.lower() == ".gpkg":
        gz = Gazetteer(p, readonly=True)
        try:
            require_gazetteer(gz, p)
            df = pd.DataFrame(gz.state_at(date))
        finally:
            gz.store.close()
        if df.empty:
            raise InputError(f"no place names in force{f' on {date}' if date else ''}", file=p)
        return df
    if p.name.endswith(".csv.gz"):
        df, _ = _read_table(p)  # plain table (e.g. the shipped townships): clean errors, `abolished` kept
        if df.empty:
            raise InputError("no rows: the file has a header but no names", file=p, row=2)
        if category and "category" not in df:
            df["category"] = category
        return df
    return pd.DataFrame(read_names(p, default_category=category))
