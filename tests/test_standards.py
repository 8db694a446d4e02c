import pytest

from geoplan import InputError
from geoplan.coverage.standards import default_catalogue, load_catalogue, unit_kind


def test_defaults_have_sources():
    cat = default_catalogue()
    assert cat.keys == ["elder_care_centre", "elder_care_station", "minor_protection", "social_work"]
    for ft in cat:
        assert ft.sources, ft.key
    assert cat["elder_care_centre"].unit_target("street") == 0.8
    # 镇 and 乡 are judged together (乡镇 60 %); the per-kind rows are a breakdown without a target
    assert cat["elder_care_centre"].unit_target("town_township") == 0.6
    assert cat["elder_care_centre"].unit_target("township") is None
    assert cat["minor_protection"].unit_target("town") == 1.0


@pytest.mark.parametrize("alias,key", [("未保站", "minor_protection"), ("社工站", "social_work"), ("日间照料中心", "day_care_centre"), ("敬老院", "rural_care_home"),
                                       ("街道综合养老服务中心", "elder_care_centre"), ("playground", None)])
def test_aliases(alias, key):
    assert default_catalogue().resolve(alias) == key


@pytest.mark.parametrize("code,kind", [("430302001000", "street"), ("430321100000", "town"), ("430321203000", "township"),
                                       ("430302", "county"), ("430302001001", "community"), ("430302001201", "village"), ("430302450000", None), ("43030200100x", None)])
def test_unit_kind_from_code(code, kind):
    assert unit_kind(code) == kind


def test_toml_override(tmp_path):
    p = tmp_path / "targets.toml"
    p.write_text('[types.elder_care_centre]\nmode = "drive"\ncutoff_min = 20\n[types.elder_care_centre.unit_targets]\nstreet = 0.9\n',
                 encoding="utf-8")
    cat = load_catalogue(p)
    ft = cat["elder_care_centre"]
    assert ft.mode == "drive" and ft.cutoff_min == 20
    assert ft.unit_targets["street"] == 0.9 and ft.unit_targets["town_township"] == 0.6  # others kept
    assert "override" in ft.sources["cutoff_min"]


def test_yaml_override_and_new_type(tmp_path):
    p = tmp_path / "t.yaml"
    p.write_text("types:\n  day_care:\n    name_zh: 日间照料中心\n    name_en: Day-care centre\n    mode: walk\n"
                 "    cutoff_min: 10\n    weight: pop_60\n", encoding="utf-8")
    cat = load_catalogue(p)
    assert cat["day_care"].cutoff_min == 10 and len(cat) == 5


@pytest.mark.parametrize("text,field", [
    ('[types.elder_care_centre]\ncutof_min = 20\n', "elder_care_centre"),
    ('[types.social_work]\nweight = ""\n', "social_work.weight"),
    ('[types.social_work.unit_targets]\nstreet = 80\n', "social_work.unit_targets.street"),
    ('[types.social_work]\nmode = "bike"\n', "social_work.mode"),
])
def test_config_errors_name_the_field(tmp_path, text, field):
    p = tmp_path / "bad.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as e:
        load_catalogue(p)
    assert e.value.field == field and str(p) in str(e.value)


def test_unparseable_config(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("[types\n", encoding="utf-8")
    with pytest.raises(InputError, match="cannot parse"):
        load_catalogue(p)


def test_with_modes_all_one_and_errors():
    cat = default_catalogue()
    drive = cat.with_modes("drive", source="--mode")
    assert {ft.mode for ft in drive} == {"drive"} and drive["social_work"].sources["mode"] == "--mode"
    one = cat.with_modes({"社工站": "drive"})
    assert one["social_work"].mode == "drive" and one["minor_protection"].mode == "walk"
    assert cat.with_modes(None) is cat
    assert cat["social_work"].mode == "walk"  # the original is not changed
    with pytest.raises(InputError) as e:
        cat.with_modes({"游乐场": "drive"})
    assert e.value.field == "mode" and "游乐场" in str(e.value)
    with pytest.raises(InputError, match="walk or drive"):
        cat.with_modes({"social_work": "bike"})
