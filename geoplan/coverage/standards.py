"""Facility types, service standards and policy targets, each with its source.

The defaults below are the figures of ``shared/DESIGN.md`` §1–2.  Some come
from secondary sources and are marked *(unverified)*; all are defaults that a
planner overrides from a TOML or YAML file (:func:`load_catalogue`), never
hard-wired law.

Example override file (``targets.toml``)::

    [types.elder_care_centre]
    mode = "drive"          # rural county: township centres reached by car/e-bike
    cutoff_min = 20

    [types.elder_care_centre.unit_targets]
    street = 0.8            # this year's target: 80 % of streets have a centre
    town = 0.6
    township = 0.6

    [types.social_work]
    people_target = 0.3
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from geoplan._errors import InputError

__all__ = [
    "UNIT_KINDS", "WEIGHTS", "FacilityType", "DEFAULT_TYPES", "Catalogue", "default_catalogue", "load_catalogue",
    "unit_kind",
]

#: Kinds of township-level unit by the 3 digits after the county part of the
#: 12-digit statistical code (国家统计局《统计用区划代码》编制规则).
UNIT_KINDS = {"street": "街道", "town": "镇", "township": "乡"}
WEIGHTS = ("pop", "pop_60", "pop_0_17")


@dataclasses.dataclass(frozen=True)
class FacilityType:
    """One kind of civil-affairs facility and how its coverage is judged.

    Attributes
    ----------
    key
        Canonical English key (``elder_care_centre`` ...).
    name_zh, name_en
        Display names.
    mode
        Network the catchment is measured on: ``walk`` or ``drive``.
    cutoff_min
        Catchment in minutes of travel.
    weight
        Demand column whose people the facility serves: ``pop``, ``pop_60`` or ``pop_0_17``.
    unit_targets
        Target share of admin units (by kind: ``street``/``town``/``township``,
        or ``any`` for units whose kind is unknown) that have at least one facility.
    people_target
        Target share of ``weight`` people within the cutoff (None: reported, not judged).
    aliases
        Names that mean this type in a facility file's 类型 column.
    sources
        Where each default comes from.
    """

    key: str
    name_zh: str
    name_en: str
    mode: str
    cutoff_min: float
    weight: str
    unit_targets: Mapping[str, float]
    people_target: float | None
    aliases: tuple[str, ...] = ()
    sources: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def unit_target(self, kind: str | None) -> float | None:
        """Target share of units with a facility for a unit kind (falls back to ``any``).

        Parameters
        ----------
        kind
            ``"street"``, ``"town"``, ``"township"`` (:func:`unit_kind`) or None.

        Returns
        -------
        float or None
            The target share (0–1), the ``any`` target when the kind has none, or None without either.
        """
        if kind in self.unit_targets:
            return self.unit_targets[kind]
        return self.unit_targets.get("any")

    def name(self, lang: str = "zh") -> str:
        """The type's display name.

        Parameters
        ----------
        lang
            ``"zh"`` for the Chinese name; anything else gives the English.

        Returns
        -------
        str
        """
        return self.name_zh if lang == "zh" else self.name_en


_GB50180 = "GB 50180-2018 城市居住区规划设计标准 (15/10/5-minute life circles: 800–1,000 m / 500 m / 300 m walk)"
_XT = "湘潭市民政局年度目标 (DESIGN.md §1): street centres 80 %, township centres 60 % a year"

DEFAULT_TYPES: tuple[FacilityType, ...] = (
    FacilityType(
        key="elder_care_centre",
        name_zh="街道/乡镇综合养老服务中心",
        name_en="Street/township comprehensive elder-care centre",
        mode="walk",
        cutoff_min=15.0,
        weight="pop_60",
        unit_targets={"street": 0.8, "town": 0.6, "township": 0.6, "any": 0.8},
        people_target=None,
        aliases=("综合养老服务中心", "街道综合养老服务中心", "乡镇综合养老服务中心", "养老服务中心", "养老院", "敬老院", "elder_care_centre"),
        sources={
            "cutoff_min": "15-minute elder-care service circle; " + _GB50180,
            "unit_targets": _XT,
            "weight": "people aged 60+ (national definition of 老年人, 老年人权益保障法 art. 2)",
        },
    ),
    FacilityType(
        key="elder_care_station",
        name_zh="社区养老服务站",
        name_en="Community elder-care station",
        mode="walk",
        cutoff_min=5.0,
        weight="pop_60",
        unit_targets={},
        people_target=1.0,
        aliases=("社区养老服务站", "养老服务站", "日间照料中心", "社区日间照料中心", "老年服务站", "elder_care_station"),
        sources={
            "cutoff_min": "5-minute life circle, ≤ 300 m walk: GB 50180-2018 App. B (unverified)",
            "people_target": "end state 'full coverage' of community facilities (DESIGN.md §1)",
        },
    ),
    FacilityType(
        key="minor_protection",
        name_zh="未成年人保护工作站",
        name_en="Minor-protection station",
        mode="walk",
        cutoff_min=15.0,
        weight="pop_0_17",
        unit_targets={"any": 1.0},
        people_target=None,
        aliases=("未成年人保护工作站", "未保站", "未成年人保护站", "minor_protection"),
        sources={
            "unit_targets": "未成年人保护法 (2020) art. 81: every township and street sets up a station; "
            "yearly targets (e.g. 20 % of towns) are set locally",
            "cutoff_min": "15-minute life circle, " + _GB50180,
        },
    ),
    FacilityType(
        key="social_work",
        name_zh="乡镇/街道社工站",
        name_en="Township/street social-work station",
        mode="walk",
        cutoff_min=15.0,
        weight="pop",
        unit_targets={"any": 1.0},
        people_target=None,
        aliases=("社工站", "乡镇社工站", "街道社工站", "社会工作服务站", "乡镇（街道）社工站", "social_work"),
        sources={
            "unit_targets": "14th Five-Year Plan for civil affairs: basic full coverage of township/street social-work stations",
            "cutoff_min": "15-minute life circle, " + _GB50180,
        },
    ),
)


@dataclasses.dataclass(frozen=True)
class Catalogue:
    """The facility types in force for a run, looked up by key or alias."""

    types: tuple[FacilityType, ...] = DEFAULT_TYPES
    source: str = "geoplan defaults (shared/DESIGN.md §1–2)"

    def __iter__(self):
        return iter(self.types)

    def __len__(self) -> int:
        return len(self.types)

    @property
    def keys(self) -> list[str]:
        """The type keys, in catalogue order."""
        return [t.key for t in self.types]

    def __getitem__(self, key: str) -> FacilityType:
        for t in self.types:
            if t.key == key:
                return t
        raise InputError(f"unknown facility type {key!r}; known: {', '.join(self.keys)}", field="type")

    def resolve(self, name: Any) -> str | None:
        """Map a value from a file's 类型 column to a type key (None if unknown).

        Parameters
        ----------
        name
            A cell value: a key, an alias, the Chinese name or the English name (any case);
            surrounding spaces are ignored.

        Returns
        -------
        str or None
            The type key; None for an unknown value, None or NaN.
        """
        if name is None or (isinstance(name, float) and math.isnan(name)):
            return None
        text = str(name).strip()
        for t in self.types:
            if text == t.key or text in t.aliases or text == t.name_zh or text.lower() == t.name_en.lower():
                return t.key
        return None

    def subset(self, keys: Iterable[str]) -> "Catalogue":
        """A catalogue of only these types, in the order given.

        Parameters
        ----------
        keys
            Type keys.

        Returns
        -------
        Catalogue
            Same ``source``.

        Raises
        ------
        InputError
            An unknown key (field ``type``).
        """
        return Catalogue(tuple(self[k] for k in keys), self.source)

    def with_modes(self, modes: str | Mapping[str, str] | None, *, source: str = "mode override") -> "Catalogue":
        """A copy whose travel modes are overridden.

        Parameters
        ----------
        modes
            ``"walk"`` or ``"drive"`` for every type, or a mapping from a type
            (key, Chinese name or alias) to its mode; None leaves the catalogue as it is.
        source
            What to record as the source of the overridden modes (e.g. ``"--mode"``).

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
                raise InputError(f"unknown facility type {name!r} in the mode override; known: {', '.join(self.keys)} "
                                 "(or their Chinese names)", field="mode")
            if mode not in ("walk", "drive"):
                raise InputError(f"mode must be walk or drive, not {mode!r} (type {name!r})", field="mode")
            wanted[key] = mode
        types = tuple(
            dataclasses.replace(t, mode=wanted[t.key], sources={**t.sources, "mode": source})
            if t.key in wanted and wanted[t.key] != t.mode else t
            for t in self.types
        )
        return Catalogue(types, self.source)


def default_catalogue() -> Catalogue:
    """The built-in catalogue.

    Returns
    -------
    Catalogue
        The default types (:data:`DEFAULT_TYPES`) with their sources.
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


_FIELDS = {"mode", "cutoff_min", "weight", "unit_targets", "people_target", "name_zh", "name_en", "aliases"}


def load_catalogue(path: str | Path | None = None, *, overrides: Mapping | None = None) -> Catalogue:
    """Defaults overridden by a planner's TOML/YAML file and/or a mapping.

    Unknown type keys and fields are errors, not silently ignored: a typo such
    as ``cutof_min`` would otherwise leave the default in force unnoticed.
    New types may be added with all fields given.

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
        The defaults with the overrides; each overridden field records where it came from.

    Raises
    ------
    InputError
        The file is missing, unreadable or not TOML/YAML; an unknown section, type field or
        unit kind; a new type without all fields; a mode, cutoff, weight or target out of range.
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
    for key, fields in (data.get("types") or {}).items():
        if not isinstance(fields, Mapping):
            raise InputError(f"[types.{key}] must be a table", file=path, field=key)
        bad = set(fields) - _FIELDS
        if bad:
            raise InputError(f"unknown field(s) {sorted(bad)} in [types.{key}]; allowed: {sorted(_FIELDS)}", file=path, field=key)
        if key in types:
            base = types[key]
            merged = dataclasses.asdict(base)
            if "unit_targets" in fields:
                merged["unit_targets"] = {**base.unit_targets, **fields["unit_targets"]}
            merged.update({k: v for k, v in fields.items() if k != "unit_targets"})
            merged["sources"] = {**base.sources, **{k: f"override from {path or 'overrides'}" for k in fields}}
        else:
            missing = {"name_zh", "name_en", "mode", "cutoff_min", "weight"} - set(fields)
            if missing:
                raise InputError(f"new type {key!r} needs {sorted(missing)}", file=path, field=key)
            merged = {"key": key, "unit_targets": {}, "people_target": None, **fields,
                      "sources": {k: f"defined in {path or 'overrides'}" for k in fields}}
        merged["aliases"] = tuple(merged.get("aliases") or ())
        _validate(merged, path)
        types[key] = FacilityType(**merged)
    return Catalogue(tuple(types.values()), src)


def _validate(f: dict, path) -> None:
    key = f["key"]
    if f["mode"] not in ("walk", "drive"):
        raise InputError(f"mode must be walk or drive, not {f['mode']!r}", file=path, field=f"{key}.mode")
    if not (isinstance(f["cutoff_min"], (int, float)) and f["cutoff_min"] > 0):
        raise InputError(f"cutoff_min must be a positive number, not {f['cutoff_min']!r}", file=path, field=f"{key}.cutoff_min")
    if f["weight"] not in WEIGHTS:
        raise InputError(f"weight must be one of {WEIGHTS}, not {f['weight']!r}", file=path, field=f"{key}.weight")
    for kind, v in dict(f["unit_targets"]).items():
        if kind not in (*UNIT_KINDS, "any"):
            raise InputError(f"unit kind must be street, town, township or any, not {kind!r}", file=path, field=f"{key}.unit_targets")
        if not (isinstance(v, (int, float)) and 0 <= v <= 1):
            raise InputError(f"targets are shares between 0 and 1, got {v!r}", file=path, field=f"{key}.unit_targets.{kind}")
    pt = f["people_target"]
    if pt is not None and not (isinstance(pt, (int, float)) and 0 <= pt <= 1):
        raise InputError(f"people_target is a share between 0 and 1, got {pt!r}", file=path, field=f"{key}.people_target")


def unit_kind(code: Any) -> str | None:
    """Kind of a township-level unit from its 9- or 12-digit statistical code.

    Digits 7–9 (the township part): 001–099 街道 (street), 100–199 镇 (town),
    200–399 乡 (township); anything else, or a code of another length, gives None.

    Parameters
    ----------
    code
        The statistical code (digits, as text or a number).

    Returns
    -------
    str or None
        ``"street"``, ``"town"``, ``"township"`` or None.
    """
    if code is None:
        return None
    text = str(code).strip()
    if not text.isdigit() or len(text) not in (9, 12):
        return None
    part = int(text[6:9])
    if 1 <= part <= 99:
        return "street"
    if 100 <= part <= 199:
        return "town"
    if 200 <= part <= 399:
        return "township"
    return None
