"""The facility-type record and the built-in types, each default with its source in Chinese and English.

:mod:`geoplan.coverage.standards` re-exports these and holds the catalogue and its loader.  Figures
come from ``shared/DESIGN.md`` §1–2 and the laws named there; a default without a published
standard says so (无公开标准，规划人员设定 / no published standard: planner's choice).
"""

from __future__ import annotations

import dataclasses
from typing import Mapping

from geoplan.coverage._units import KIND_GROUPS, KIND_LEVEL

__all__ = ["Bilingual", "FacilityType", "DEFAULT_TYPES", "EXTRA_TYPES", "WEIGHTS", "LEVEL_VALUES", "VILLAGE_MEASURES"]

#: The standard demand columns (any other non-empty column name is accepted as a weight).
WEIGHTS = ("pop", "pop_60", "pop_0_17")
#: Levels a type is provided at.
LEVEL_VALUES = ("county", "township", "village")
#: Village-level indicators a type's village targets may judge.
VILLAGE_MEASURES = ("presence", "reach")


class Bilingual(str):
    """A source text: the string itself is the English, ``.zh`` the Chinese.

    Being a ``str``, it prints, compares and serialises as the English; a source replaced by a
    plain string (e.g. ``"--mode"``) simply has the same text in both languages.
    """

    def __new__(cls, en: str, zh: str | None = None) -> Bilingual:
        obj = super().__new__(cls, en)
        obj.zh = en if zh is None else zh
        return obj

    def __getnewargs__(self):  # copy/pickle keep both languages
        return (str(self), self.zh)


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
        Demand column whose people the facility serves: ``pop``, ``pop_60``, ``pop_0_17`` or any
        other column of the demand (e.g. ``低保户数``).
    unit_targets
        Target share of admin units that have at least one facility, by unit kind (``street``,
        ``town``, ``township``, ``community``, ``village``, ``special``), by group (``town_township``
        = 镇 + 乡 together, ``village_community`` = 村 + 社区 together) or ``any`` (units of the
        type's own level without a target of their kind).  A kind inside a group that has a target is
        reported as a breakdown without its own pass/fail unless it has its own target.
    people_target
        Target share of ``weight`` people within the cutoff (None: reported, not judged).
    aliases
        Names that mean this type in a facility file's 类型 column.
    sources
        Where each default comes from (field → text): a :class:`Bilingual` string (English, with the
        Chinese as ``.zh``) or a plain string used for both; :meth:`source` picks the language.
    level
        Level the type is provided at: ``county``, ``township`` (default) or ``village``.
    village_measure
        Which village-level indicator the village targets judge: ``presence`` (share of villages with a
        facility, default) or ``reach`` (share of villages reached within the cutoff).
    nursing_bed_share_target
        Target share of nursing-type beds (护理型床位) among the beds of built facilities (None: not judged).
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
    level: str = "township"
    village_measure: str = "presence"
    nursing_bed_share_target: float | None = None

    def unit_target(self, kind: str | None) -> float | None:
        """Target share of units with a facility for a unit kind or group.

        Parameters
        ----------
        kind
            A kind (:func:`geoplan.coverage.standards.unit_kind`), a group of :data:`KIND_GROUPS`, or None
            (a unit of unknown kind).

        Returns
        -------
        float or None
            The kind's own target; None for a group without one, and for a kind of a group that has one
            (a breakdown row); otherwise the ``any`` target when the kind is at the type's own level
            (county- and township-level types: county and township kinds), else None.
        """
        if kind in self.unit_targets:
            return self.unit_targets[kind]
        if kind in KIND_GROUPS:
            return None
        if any(kind in members and g in self.unit_targets for g, members in KIND_GROUPS.items()):
            return None
        own = ("village",) if self.level == "village" else ("county", "township")
        if kind is None or KIND_LEVEL.get(kind) in own:
            return self.unit_targets.get("any")
        return None

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

    def source(self, field: str, lang: str = "zh") -> str | None:
        """Where a field's value comes from, in one language.

        Parameters
        ----------
        field
            A field name (``cutoff_min``, ``unit_targets`` ...).
        lang
            ``"zh"`` for Chinese; anything else gives the English.

        Returns
        -------
        str or None
            None when no source is recorded for the field; a plain-string source in both languages.
        """
        text = self.sources.get(field)
        if text is None:
            return None
        return str(getattr(text, "zh", text)) if lang == "zh" else str(text)


def _ft(key, name_zh, name_en, mode, cutoff_min, weight, *, src: Mapping[str, tuple[str, str]],
        unit_targets=None, people_target=None, aliases=(), level="township", nursing=None) -> FacilityType:
    """A built-in type; ``src`` maps each field to its source as (Chinese, English)."""
    return FacilityType(key=key, name_zh=name_zh, name_en=name_en, mode=mode, cutoff_min=cutoff_min, weight=weight,
                        unit_targets=dict(unit_targets or {}), people_target=people_target,
                        aliases=tuple(dict.fromkeys((*aliases, key))), level=level, nursing_bed_share_target=nursing,
                        sources={k: Bilingual(en, zh) for k, (zh, en) in src.items()})


_GB50180 = ("GB 50180-2018《城市居住区规划设计标准》（15/10/5 分钟生活圈：步行 800–1000 米/500 米/300 米）",
            "GB 50180-2018 城市居住区规划设计标准 (15/10/5-minute life circles: 800–1,000 m / 500 m / 300 m walk)")
_L15 = ("15 分钟生活圈，" + _GB50180[0], "15-minute life circle, " + _GB50180[1])
_ELDER15 = ("“15 分钟养老服务圈”；" + _GB50180[0], "15-minute elder-care service circle; " + _GB50180[1])
_POP60 = ("60 岁及以上人口（《老年人权益保障法》第二条对老年人的定义）",
          "people aged 60+ (national definition of 老年人, 老年人权益保障法 art. 2)")
_POP017 = ("0–17 岁人口（《未成年人保护法》第二条：未满十八周岁）", "people aged 0–17 (Minors Protection Law art. 2: under 18)")
_RURAL = ("乡镇级设施以驾车/电动车时间衡量（例如 15–30 分钟），规划人员设定（DESIGN.md §2）",
          "rural facilities: a drive/e-bike cutoff (e.g. 15–30 min), planner's choice (DESIGN.md §2)")
_NONE = ("无公开标准，规划人员设定", "no published standard: planner's choice")
_NURSING = ("护理型床位占机构床位 ≥ 60 %（衡阳市蒸湘区 2022 年工作计划，DESIGN.md §1；全国：2025 年 ≥ 55 %）",
            "nursing-type beds ≥ 60 % of institution beds (衡阳市蒸湘区 2022 plan, DESIGN.md §1; national: ≥ 55 % by 2025)")

DEFAULT_TYPES: tuple[FacilityType, ...] = (
    _ft("elder_care_centre", "街道/乡镇综合养老服务中心", "Street/township comprehensive elder-care centre", "walk", 15.0,
        "pop_60", unit_targets={"street": 0.8, "town_township": 0.6, "any": 0.8}, nursing=0.6,
        aliases=("综合养老服务中心", "街道综合养老服务中心", "乡镇综合养老服务中心", "养老服务中心"),
        src={"cutoff_min": _ELDER15,
             "unit_targets": ("衡阳市蒸湘区 2022 年工作计划（DESIGN.md §1）：街道综合养老服务中心覆盖率 80 %，"
                              "乡镇（镇、乡合计）60 %；类别不明的单位按街道目标",
                              "衡阳市蒸湘区 (Zhengxiang district, Hengyang) 2022 plan (DESIGN.md §1): street centres 80 %, "
                              "towns and townships (镇 and 乡 together) 60 %; units of unknown kind: the street figure"),
             "weight": _POP60, "nursing_bed_share_target": _NURSING}),
    _ft("elder_care_station", "社区养老服务站", "Community elder-care station", "walk", 5.0, "pop_60", people_target=1.0,
        aliases=("社区养老服务站", "养老服务站", "老年服务站"),
        src={"cutoff_min": ("5 分钟生活圈居住区，步行距离 300 米：GB 50180-2018《城市居住区规划设计标准》",
                            "5-minute life-circle residential area, 300 m walk: GB 50180-2018 (urban residential "
                            "area planning standard)"),
             "people_target": ("社区养老设施“全覆盖”的终期目标（DESIGN.md §1）",
                               "end state 'full coverage' of community facilities (DESIGN.md §1)"),
             "weight": _POP60}),
    _ft("minor_protection", "未成年人保护工作站", "Minor-protection station", "walk", 15.0, "pop_0_17",
        unit_targets={"any": 1.0}, aliases=("未成年人保护工作站", "未保站", "未成年人保护站"),
        src={"unit_targets": ("《未成年人保护法》（2020）第八十一条：乡镇人民政府和街道办事处设立未成年人保护工作站；"
                              "年度目标（如“20 % 的镇”）由各地设定",
                              "未成年人保护法 (2020) art. 81: every township and street sets up a station; "
                              "yearly targets (e.g. 20 % of towns) are set locally"),
             "cutoff_min": _L15, "weight": _POP017}),
    _ft("social_work", "乡镇/街道社工站", "Township/street social-work station", "walk", 15.0, "pop",
        unit_targets={"any": 1.0, "village_community": 0.3},
        aliases=("社工站", "乡镇社工站", "街道社工站", "社会工作服务站", "乡镇（街道）社工站"),
        src={"unit_targets": ("“十四五”民政事业发展规划：乡镇（街道）社工站基本全覆盖；村（社区）：专业社工服务覆盖"
                              " ≥ 30 % 的村（社区），为各地年度工作目标的示例值，按本地文件设定（DESIGN.md §1）",
                              "14th Five-Year Plan for civil affairs: basic full coverage of township/street social-work "
                              "stations; villages/communities: professional social work covering ≥ 30 % of them "
                              "(an example of a locally set yearly target; set it from the local document, DESIGN.md §1)"),
             "cutoff_min": _L15}),
)

#: Built-in types known by name (a register's 类型, ``--type``) but assessed only when asked for.
EXTRA_TYPES: tuple[FacilityType, ...] = (
    _ft("rural_care_home", "乡镇敬老院（特困供养服务机构）", "Township care home (support institution for people in "
        "extreme poverty)", "drive", 30.0, "pop_60", nursing=0.6,
        aliases=("敬老院", "乡镇敬老院", "特困供养服务机构", "农村特困人员供养服务机构", "特困人员供养服务机构"),
        src={"cutoff_min": _RURAL, "mode": _RURAL, "weight": _POP60, "nursing_bed_share_target": _NURSING}),
    _ft("day_care_centre", "社区日间照料中心", "Community day-care centre", "walk", 5.0, "pop_60", level="village",
        unit_targets={"community": 1.0}, aliases=("日间照料中心", "社区日间照料中心", "老年人日间照料中心"),
        src={"cutoff_min": ("社区日间照料中心/老年服务站：5 分钟生活圈，≤ 300 米，GB 50180 附录 B（未核实，DESIGN.md §2）",
                            "社区日间照料中心 / 老年服务站: 5-minute tier, ≤ 300 m, GB 50180 App. B (unverified, "
                            "DESIGN.md §2)"),
             "unit_targets": ("“每个社区有日间照料中心”；社区养老设施“全覆盖”的终期目标（DESIGN.md §1）",
                              "'every community has a day-care centre'; end state 'full coverage' of community "
                              "facilities (DESIGN.md §1)"),
             "weight": _POP60}),
    _ft("mutual_aid_elder_care", "农村互助养老服务点", "Rural mutual-aid elder-care point", "walk", 15.0, "pop_60",
        level="village", unit_targets={"village": 0.6},
        aliases=("互助养老服务点", "农村互助养老服务设施", "互助养老点", "村级互助养老服务设施", "农村幸福院"),
        src={"unit_targets": ("农村养老服务设施覆盖率 ≥ 60 %（DESIGN.md §1）",
                              "rural elder-care facility coverage ≥ 60 % (DESIGN.md §1)"),
             "cutoff_min": _ELDER15, "weight": _POP60}),
    _ft("children_home", "儿童之家", "Children's home (village/community)", "walk", 15.0, "pop_0_17", level="village",
        aliases=("儿童之家", "村（社区）儿童之家", "社区儿童之家"), src={"cutoff_min": _L15, "weight": _POP017}),
    _ft("marriage_registry", "婚姻登记处", "Marriage registry", "drive", 30.0, "pop", level="county",
        aliases=("婚姻登记处", "婚姻登记中心", "婚姻登记机关"), src={"cutoff_min": _NONE, "mode": _NONE}),
    _ft("funeral_home", "殡仪馆", "Funeral home", "drive", 30.0, "pop", level="county",
        aliases=("殡仪馆",), src={"cutoff_min": _NONE, "mode": _NONE}),
    _ft("public_cemetery", "公益性公墓", "Public-welfare cemetery", "drive", 30.0, "pop", level="county",
        aliases=("公益性公墓", "农村公益性公墓", "城市公益性公墓"), src={"cutoff_min": _NONE, "mode": _NONE}),
    _ft("charity_station", "慈善工作站", "Charity work station", "walk", 15.0, "pop",
        aliases=("慈善工作站", "乡镇（街道）慈善工作站", "慈善站"), src={"cutoff_min": _L15}),
)
