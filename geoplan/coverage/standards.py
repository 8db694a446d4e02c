"""Facility types, service standards and policy targets, each with its source.

The defaults are the figures of ``shared/DESIGN.md`` §1–2 (types and sources in
``_facility_types``).  Some come from secondary sources and are marked *(unverified)*; all are
defaults that a planner overrides from a TOML or YAML file (:func:`load_catalogue`), never
hard-wired law.  The catalogue holds the types assessed by default (:data:`DEFAULT_TYPES`) and
further built-in types known by name and assessed when asked for (:data:`EXTRA_TYPES`: 敬老院,
日间照料中心, 互助养老, 儿童之家, 婚姻登记处, 殡仪馆, 公益性公墓, 慈善工作站); a config file
that names one of those adds it to the assessed types.

Example override file (``targets.toml``)::

    [types.elder_care_centre]
    mode = "drive"          # rural county: township centres reached by car/e-bike
    cutoff_min = 20

    [types.elder_care_centre.unit_targets]
    street = 0.8            # this year's target: 80 % of streets have a centre
    town_township = 0.6     # 乡镇: 镇 and 乡 together

    [types.social_work]
    people_target = 0.3
    weight = "低保户数"      # any demand column

    [types.mutual_aid_elder_care]
    village_measure = "reach"   # villages reached within the cutoff, not only villages with a point
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from geoplan._errors import InputError
from geoplan.coverage._facility_types import (
    DEFAULT_TYPES, EXTRA_TYPES, LEVEL_VALUES, VILLAGE_MEASURES, WEIGHTS, Bilingual, FacilityType,
)
from geoplan.coverage._units import KIND_GROUPS, KIND_LABELS, TOWNSHIP_KINDS, VILLAGE_KINDS, unit_kind

__all__ = [
    "UNIT_KINDS", "TARGET_KINDS", "WEIGHTS", "FacilityType", "DEFAULT_TYPES", "EXTRA_TYPES", "Catalogue",
    "default_catalogue", "load_catalogue", "unit_kind",
]

#: Chinese names of the township- and village-level unit kinds (labels of every kind: ``_units.KIND_LABELS``).
UNIT_KINDS = {k: KIND_LABELS[k][0] for k in (*TOWNSHIP_KINDS, *VILLAGE_KINDS)}
#: Keys allowed in ``unit_targets``.
TARGET_KINDS = (*TOWNSHIP_KINDS, *VILLAGE_KINDS, *KIND_GROUPS, "any")


@dataclasses.dataclass(frozen=True)
class Catalogue:
    """The facility types in force for a run, looked up by key or alias.

    ``types`` are assessed by default (``keys``); ``extra`` are known types (names resolve, ``[]``
    and :meth:`subset` find them) assessed only when asked for.
    """

    types: tuple[FacilityType, ...] = DEFAULT_TYPES
    source: str = "geoplan defaults (shared/DESIGN.md §1–2)"
    extra: tuple[FacilityType, ...] = EXTRA_TYPES

    def __post_init__(self):
        # a type assessed is not also extra (e.g. Catalogue(types, source) built from a subset)
        keys = {t.key for t in self.types}
        object.__setattr__(self, "extra", tuple(t for t in self.extra if t.key not in keys))

    def __iter__(self):
        return iter(self.types)

    def __len__(self) -> int:
        return len(self.types)

    @property
    def keys(self) -> list[str]:
        """The keys of the types assessed by default, in catalogue order."""
        return [t.key for t in self.types]

    @property
    def known_keys(self) -> list[str]:
        """The keys of every known type: the assessed ones, then the extra ones."""
        return [t.key for t in (*self.types, *self.extra)]

    def __getitem__(self, key: str) -> FacilityType:
        for t in (*self.types, *self.extra):
            if t.key == key:
                return t
        raise InputError(f"unknown facility type {key!r}; known: {', '.join(self.known_keys)}", field="type")

    def resolve(self, name: Any) -> str | None:
        """Map a value from a file's 类型 column to a type key (None if unknown).

        Parameters
        ----------
        name
            A cell value: a key, an alias, the Chinese name or the English name (any case) of an
            assessed or an extra type (assessed types first); surrounding spaces are ignored.

        Returns
        -------
        str or None
            The type key; None for an unknown value, None or NaN.
        """
        if name is None or (isinstance(name, float) and math.isnan(name)):
            return None
        text = str(name).strip()
        low = text.lower()
        for t in (*self.types, *self.extra):
            if text == t.key or text in t.aliases or text == t.name_zh or low == t.name_en.lower():
                return t.key
        return None

    def subset(self, keys: Iterable[str]) -> "Catalogue":
        """A catalogue assessing only these types, in the order given (the others stay known).

        Parameters
        ----------
        keys
            Type keys (assessed or extra).

        Returns
        -------
        Catalogue
            Same ``source``.

        Raises
        ------
        InputError
            An unknown key (field ``type``).
        """
        chosen = tuple(self[k] for k in dict.fromkeys(keys))
        names = {t.key for t in chosen}
        rest = tuple(t for t in (*self.types, *self.extra) if t.key not in names)
        return Catalogue(chosen, self.source, rest)

    def with_modes(self, modes: str | Mapping[str, str] | None, *, source: str = "mode override",
                   source_zh: str | None = None) -> "Catalogue":
        """A copy whose travel modes are overridden.

        Parameters
        ----------
        modes
            ``"walk"`` or ``"drive"`` for every assessed type, or a mapping from a type (key,
            Chinese name or alias, also of an extra type) to its mode; None leaves the catalogue as it is.
        source
            What to record as the source of the overridden modes (e.g. ``"--mode"``).
        source_zh
            The same in Chinese (default: ``source``).

        Returns
        -------
        Catalogue
            The same catalogue when ``modes`` is None; otherwise a copy in which the changed
            types carry the new mode and ``source`` as the source of their mode.

        Raises
        ------
        InputError
            An unknown type or a mode other than walk/drive (field ``mode``).
        """
        if modes is None:
            return self
        if isinstance(modes, str):
            modes = {t.key: modes for t in self.types}
        wanted: dict[str, str] = {}
        for name, mode in modes.items():
            key = self.resolve(name)
            if key is None:
                raise InputError(f"unknown facility type {name!r} in the mode override; known: "
                                 f"{', '.join(self.known_keys)} (or their Chinese names)", field="mode")
            if mode not in ("walk", "drive"):
                raise InputError(f"mode must be walk or drive, not {mode!r} (type {name!r})", field="mode")
            wanted[key] = mode

        def changed(t: FacilityType) -> FacilityType:
            if t.key not in wanted or wanted[t.key] == t.mode:
                return t
            return dataclasses.replace(t, mode=wanted[t.key], sources={**t.sources, "mode": Bilingual(source, source_zh)})

        return Catalogue(tuple(map(changed, self.types)), self.source, tuple(map(changed, self.extra)))


def default_catalogue() -> Catalogue:
    """The built-in catalogue.

    Returns
    -------
    Catalogue
        The default types (:data:`DEFAULT_TYPES`) with their sources, and the extra built-in
        types (:data:`EXTRA_TYPES`) known by name.
    """
    return Catalogue()


def _read_config(path: Path) -> dict:
    text = path.read_bytes()
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            import tomllib  # Python 3.11+: a .toml config needs it, a .yaml one does not (3.10 is supported)

            return tomllib.loads(text.decode("utf-8-sig"))
        if suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text.decode("utf-8-sig"))
            return data or {}
    except Exception as exc:  # tomllib/yaml errors carry line numbers in their text
        raise InputError(f"cannot parse config: {exc}", file=path) from exc
    raise InputError("config must be .toml, .yaml or .yml", file=path)


_FIELDS = {"mode", "cutoff_min", "weight", "unit_targets", "people_target", "name_zh", "name_en", "aliases", "level",
           "village_measure", "nursing_bed_share_target"}


def load_catalogue(path: str | Path | None = None, *, overrides: Mapping | None = None) -> Catalogue:
    """Defaults overridden by a planner's TOML/YAML file and/or a mapping.

    Unknown type keys and fields are errors, not silently ignored: a typo such
    as ``cutof_min`` would otherwise leave the default in force unnoticed.
    New types may be added with all fields given.  An extra built-in type
    (:data:`EXTRA_TYPES`) named in the file joins the types assessed by default.

    Parameters
    ----------
    path
        A ``.toml``, ``.yaml`` or ``.yml`` file with ``[types.<key>]`` tables (see the module
        docstring); None: defaults only.
    overrides
        A mapping ``{"types": {key: {field: value}}}`` applied after the file; a type given
        here replaces that type's whole table from the file (fields are then merged into the defaults).

    Returns
    -------
    Catalogue
        The defaults with the overrides; each overridden field records where it came from
        (:meth:`FacilityType.source`: "由 FILE 覆盖" / "override from FILE"; new types "在 FILE 中定义" /
        "defined in FILE").

    Raises
    ------
    InputError
        The file is missing, unreadable or not TOML/YAML; an unknown section, type field or
        unit kind; a new type without all fields; a mode, cutoff, weight, level, village measure
        or target out of range.
    """
    data: dict = {}
    src = "geoplan defaults"
    if path is not None:
        path = Path(path)
        if not path.exists():
            raise InputError("config file not found", file=path)
        data = _read_config(path)
        src += f" + {path}"
    if overrides:
        data = {**data, "types": {**data.get("types", {}), **overrides.get("types", {})}}
    unknown_top = set(data) - {"types"}
    if unknown_top:
        raise InputError(f"unknown section(s) {sorted(unknown_top)}; expected [types.<key>]", file=path)
    types = {t.key: t for t in DEFAULT_TYPES}
    extra = {t.key: t for t in EXTRA_TYPES}
    where = path or "overrides"
    for key, fields in (data.get("types") or {}).items():
        if not isinstance(fields, Mapping):
            raise InputError(f"[types.{key}] must be a table", file=path, field=key)
        bad = set(fields) - _FIELDS
        if bad:
            raise InputError(f"unknown field(s) {sorted(bad)} in [types.{key}]; allowed: {sorted(_FIELDS)}", file=path, field=key)
        base = types.get(key) or extra.pop(key, None)
        if base is not None:
            merged = dataclasses.asdict(base)
            if "unit_targets" in fields:
                merged["unit_targets"] = {**base.unit_targets, **(fields["unit_targets"] or {})}
            merged.update({k: v for k, v in fields.items() if k != "unit_targets"})
            merged["sources"] = {**base.sources, **{k: Bilingual(f"override from {where}", f"由 {where} 覆盖")
                                                     for k in fields}}
        else:
            missing = {"name_zh", "name_en", "mode", "cutoff_min", "weight"} - set(fields)
            if missing:
                raise InputError(f"new type {key!r} needs {sorted(missing)}", file=path, field=key)
            merged = {"key": key, "unit_targets": {}, "people_target": None, **fields,
                      "sources": {k: Bilingual(f"defined in {where}", f"在 {where} 中定义") for k in fields}}
        merged["aliases"] = tuple(merged.get("aliases") or ())
        merged["unit_targets"] = dict(merged.get("unit_targets") or {})
        _validate(merged, path)
        types[key] = FacilityType(**merged)
    return Catalogue(tuple(types.values()), src, tuple(extra.values()))


def _share_ok(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1


def _validate(f: dict, path) -> None:
    key = f["key"]
    if f["mode"] not in ("walk", "drive"):
        raise InputError(f"mode must be walk or drive, not {f['mode']!r}", file=path, field=f"{key}.mode")
    if not (isinstance(f["cutoff_min"], (int, float)) and f["cutoff_min"] > 0):
        raise InputError(f"cutoff_min must be a positive number, not {f['cutoff_min']!r}", file=path, field=f"{key}.cutoff_min")
    # Any demand column may be the weight (低保户数, 特困人员...): assess checks that it exists.
    if not (isinstance(f["weight"], str) and f["weight"].strip()):
        raise InputError(f"weight must be a column name (e.g. {', '.join(WEIGHTS)} or 低保户数), not {f['weight']!r}",
                         file=path, field=f"{key}.weight")
    for kind, v in dict(f["unit_targets"]).items():
        if kind not in TARGET_KINDS:
            raise InputError(f"unit kind must be one of {', '.join(TARGET_KINDS)}, not {kind!r}", file=path,
                             field=f"{key}.unit_targets")
        if not _share_ok(v):
            raise InputError(f"targets are shares between 0 and 1, got {v!r}", file=path, field=f"{key}.unit_targets.{kind}")
    for name in ("people_target", "nursing_bed_share_target"):
        v = f.get(name)
        if v is not None and not _share_ok(v):
            raise InputError(f"{name} is a share between 0 and 1, got {v!r}", file=path, field=f"{key}.{name}")
    if f.get("level", "township") not in LEVEL_VALUES:
        raise InputError(f"level must be one of {', '.join(LEVEL_VALUES)}, not {f['level']!r}", file=path,
                         field=f"{key}.level")
    if f.get("village_measure", "presence") not in VILLAGE_MEASURES:
        raise InputError(f"village_measure must be presence or reach, not {f['village_measure']!r}", file=path,
                         field=f"{key}.village_measure")
