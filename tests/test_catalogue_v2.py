"""Catalogue v2: new built-in types, combined kinds, bilingual sources, any weight column, new fields."""

import pytest

from geoplan import InputError
from geoplan.coverage.standards import TARGET_KINDS, default_catalogue, load_catalogue

NEW = {"rural_care_home": "敬老院", "day_care_centre": "社区日间照料中心", "mutual_aid_elder_care": "农村互助养老服务点",
       "children_home": "儿童之家", "marriage_registry": "婚姻登记处", "funeral_home": "殡仪馆",
       "public_cemetery": "公益性公墓", "charity_station": "慈善工作站"}


@pytest.mark.parametrize("key,name", sorted(NEW.items()))
def test_new_types_known_by_chinese_name_and_sourced(key, name):
    cat = default_catalogue()
    assert cat.resolve(name) == key and cat.resolve(key) == key
    ft = cat[key]
    assert cat.resolve(ft.name_zh) == key and cat.resolve(ft.name_en.upper()) == key
    for field in ft.sources:  # every default says where it comes from, in both languages
        zh, en = ft.source(field, "zh"), ft.source(field, "en")
        assert zh and en and zh != en
    assert ft.source("cutoff_min", "zh")
    assert key not in cat.keys and key in cat.known_keys  # known by name, assessed when asked for
    assert cat.subset([key]).keys == [key]


def test_drive_and_levels_of_new_types():
    cat = default_catalogue()
    assert {cat[k].mode for k in ("rural_care_home", "marriage_registry", "funeral_home", "public_cemetery")} == {"drive"}
    assert cat["mutual_aid_elder_care"].level == "village" and cat["children_home"].weight == "pop_0_17"
    assert cat["mutual_aid_elder_care"].unit_target("village") == 0.6
    assert cat["day_care_centre"].unit_target("community") == 1.0 and cat["day_care_centre"].unit_target("village") is None


def test_care_homes_are_not_elder_care_centres():
    cat = default_catalogue()
    ecc = cat["elder_care_centre"]
    assert "敬老院" not in ecc.aliases and "养老院" not in ecc.aliases
    for name in ("敬老院", "乡镇敬老院", "特困供养服务机构", "农村特困人员供养服务机构"):
        assert cat.resolve(name) == "rural_care_home"
    for name in ("日间照料中心", "社区日间照料中心"):
        assert cat.resolve(name) == "day_care_centre"
    assert cat.resolve("养老院") is None


def test_combined_town_township_target_and_attribution():
    ecc = default_catalogue()["elder_care_centre"]
    assert ecc.unit_target("street") == 0.8 and ecc.unit_target("town_township") == 0.6
    assert ecc.unit_target("town") is None and ecc.unit_target("township") is None  # breakdown rows
    assert "蒸湘区" in ecc.source("unit_targets", "zh") and "湘潭" not in ecc.source("unit_targets", "zh")
    assert "Zhengxiang" in ecc.source("unit_targets", "en")
    assert ecc.nursing_bed_share_target == 0.6
    sw = default_catalogue()["social_work"]
    assert sw.unit_target("village_community") == 0.3 and sw.unit_target("village") is None
    assert sw.unit_target("street") == 1.0 and sw.unit_target(None) == 1.0


def test_per_kind_target_configured_is_judged(tmp_path):
    p = tmp_path / "t.toml"
    p.write_text('[types.elder_care_centre.unit_targets]\ntown = 0.7\n', encoding="utf-8")
    ecc = load_catalogue(p)["elder_care_centre"]
    assert ecc.unit_target("town") == 0.7 and ecc.unit_target("township") is None
    assert ecc.source("unit_targets", "zh") == f"由 {p} 覆盖" and ecc.source("unit_targets", "en") == f"override from {p}"


def test_any_weight_column_and_new_fields(tmp_path):
    p = tmp_path / "t.toml"
    p.write_text('[types.social_work]\nweight = "低保户数"\n[types.funeral_home]\nmode = "walk"\n'
                 '[types.mutual_aid_elder_care]\nvillage_measure = "reach"\n'
                 '[types.help_point]\nname_zh = "救助点"\nname_en = "Help point"\nmode = "walk"\ncutoff_min = 10\n'
                 'weight = "特困人员数"\nlevel = "village"\n', encoding="utf-8")
    cat = load_catalogue(p)
    assert cat["social_work"].weight == "低保户数"
    assert cat["mutual_aid_elder_care"].village_measure == "reach"
    assert "funeral_home" in cat.keys and "mutual_aid_elder_care" in cat.keys  # named in the file: assessed
    assert cat["help_point"].level == "village" and cat.resolve("救助点") == "help_point"
    assert cat["help_point"].source("weight", "zh") == f"在 {p} 中定义"


@pytest.mark.parametrize("text,field", [
    ('[types.social_work]\nweight = 3\n', "social_work.weight"),
    ('[types.social_work]\nlevel = "province"\n', "social_work.level"),
    ('[types.social_work]\nvillage_measure = "walk"\n', "social_work.village_measure"),
    ('[types.social_work]\nnursing_bed_share_target = 1.5\n', "social_work.nursing_bed_share_target"),
    ('[types.social_work.unit_targets]\nhamlet = 0.5\n', "social_work.unit_targets"),
])
def test_new_field_errors_name_the_field(tmp_path, text, field):
    p = tmp_path / "bad.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as e:
        load_catalogue(p)
    assert e.value.field == field


def test_target_kinds_accept_groups(tmp_path):
    assert {"town_township", "village_community", "community", "village", "special", "any"} <= set(TARGET_KINDS)
    p = tmp_path / "t.toml"
    p.write_text('[types.children_home.unit_targets]\nvillage_community = 0.5\n', encoding="utf-8")
    assert load_catalogue(p)["children_home"].unit_target("village_community") == 0.5


def test_mode_override_of_an_extra_type_is_bilingual():
    cat = default_catalogue().with_modes({"殡仪馆": "walk"}, source="--mode", source_zh="--mode 参数")
    ft = cat["funeral_home"]
    assert ft.mode == "walk" and ft.source("mode", "en") == "--mode" and ft.source("mode", "zh") == "--mode 参数"
