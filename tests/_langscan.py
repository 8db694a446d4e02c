"""Text a reader sees in geoplan's outputs, and the words in it of the wrong language (used by test_language.py).

Texts come from every Markdown file, the text nodes of every HTML page (not scripts or styles), every
Excel cell and sheet name, every paragraph and table cell of a Word file, and the map's own strings (layer names, legend, popups, tooltips read from
map.html).  A Chinese report may hold Latin words only when they are

* proper names: a word found in a proper-name column of the same output (名称, 拼音, 道路...: the
  names of the data, such as Aleksanterinkatu or Yuhu Lu), or in the demo's data attribution; the
  依据/来源 columns count as names only in an English report (a cited Chinese title);
* codes, file names, identifiers (``osm:node/123``, ``Helsinki.osm.pbf``, ``GB/T 16159-2012``), and
  pinyin marked as such (（拼音 sha shi zhen）: the official romanisation, GB/T 16159, not English);
* units: m, km, min, km², %;
* the short :data:`ALLOW_ZH` list below, each with its reason.

An English report may hold CJK characters only inside proper names and codes found the same way.
"""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

#: Latin words a Chinese report may use, each with the reason.
ALLOW_ZH = {
    # attribution text the ODbL licence asks to be quoted as published
    "OpenStreetMap", "OSM", "ODbL", "contributors",
    # names of software and data packages: proper names with no Chinese form
    "pyrosm", "HiGHS", "Helsinki", "cnmaps", "data", "fast", "geocn", "quhua", "mcp", "geoplan", "Amap",
    # coordinate-system names used as such in Chinese GIS practice
    "WGS", "GCJ", "CGCS", "UTM", "EPSG",
    # model names kept beside their Chinese names, as Chinese planning texts do (最大覆盖模型（MCLP）)
    "MCLP", "LSCP",
    # licence names, quoted as the licences name themselves
    "CC", "BY", "MIT",
}
UNITS = {"m", "km", "min", "km²", "h", "s"}
# Column headers (either language) whose cells are proper names or codes.
NAME_HEADERS = re.compile(
    r"名称|拼音|道路|地名|名字|编号|代码|文件|地址|对象|name|pinyin|road|street|code|id\b|file|item|address|"
    r"标志|牌文|sign|门牌|door|县（市、区）|\bcounty\b|\broads?\b", re.I)
# Columns citing documents: an English report may quote a Chinese title there (《未成年人保护法》), but a
# Chinese report's 依据 must be Chinese (issue 16: "15-minute elder-care service circle…" there), so these
# cells are names only in an English scan.
SOURCE_HEADERS = re.compile(r"来源|source|依据", re.I)

_CODEISH = re.compile(
    r"（拼音[^）]*）|(?:osm|node|way|relation)[:/][\w/:]+|[\w./\-]+\.(?:md|png|csv|xlsx|gpkg|pbf|geojson|html|toml|yaml|json|txt|shp)\b"
    r"|\bGB(?:/T)?\s*\d+(?:[.\-]\d+)*|\b[A-Z]{1,4}-[A-Z0-9-]+\b|\b[A-Z]\d+\w*|\d+[A-Za-z]+\b|https?://\S+", re.I)
_LETTER = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"  # Latin letters, accented ones too (not × ÷)
_WORD = re.compile(f"[{_LETTER}][{_LETTER}'’]*")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.out: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        for k, v in attrs:
            if k in ("alt", "title") and v:
                self.out.append(v)

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.out.append(data)


def html_texts(markup: str) -> list[str]:
    p = _Text()
    p.feed(markup)
    return p.out


def _table_cells(rows: list[list[str]], lang: str | None = None) -> tuple[list[str], set[str]]:
    """Texts of a table, and the proper-name words of its name columns (source columns too unless ``zh``)."""
    if not rows:
        return [], set()
    head = rows[0]
    names_cols = {j for j, h in enumerate(head) if NAME_HEADERS.search(str(h) or "")
                  or (lang != "zh" and SOURCE_HEADERS.search(str(h) or ""))}
    texts, names = list(map(str, head)), set()
    for r in rows[1:]:
        for j, v in enumerate(r):
            if v is None or v == "":
                continue
            (names.update(_WORD.findall(str(v)) + _CJK.findall(str(v))) if j in names_cols else texts.append(str(v)))
    return texts, names


def md_texts(text: str, lang: str | None = None) -> tuple[list[str], set[str]]:
    texts, names, table = [], set(), []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            cells = [c.strip().replace("\\", "") for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if not all(re.fullmatch(r":?-+:?", c) for c in cells):
                table.append(cells)
            continue
        if table:
            t, n = _table_cells(table, lang)
            texts += t
            names |= n
            table = []
        line = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", line)
        texts.append(line.replace("\\", ""))
    return texts, names


def html_report_texts(markup: str, lang: str | None = None) -> tuple[list[str], set[str]]:
    tables = re.findall(r"<table>.*?</table>", markup, flags=re.S)
    texts, names = html_texts(re.sub(r"<table>.*?</table>", "", markup, flags=re.S)), set()
    for tab in tables:
        rows = [[html.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr, re.S)]
                for tr in re.findall(r"<tr>(.*?)</tr>", tab, re.S)]
        t, n = _table_cells(rows, lang)
        texts += t
        names |= n
    return texts, names


def xlsx_texts(path: Path, lang: str | None = None) -> tuple[list[str], set[str]]:
    from openpyxl import load_workbook

    wb = load_workbook(path)
    texts, names = [], set()
    for ws in wb.worksheets:
        texts.append(ws.title)
        rows = [[c for c in row] for row in ws.iter_rows(values_only=True)]
        rows = [[v if isinstance(v, str) else "" for v in r] for r in rows]
        t, n = _table_cells(rows, lang)
        texts += t
        names |= n
    return texts, names


def map_texts(markup: str) -> tuple[list[str], set[str]]:
    """Strings a reader of the web map sees (layer names, legend, popups, tooltips, title), and proper names."""
    out, names = [], set()
    for m in re.finditer(r'"_popup": ?("(?:[^"\\]|\\.)*")', markup):
        pop = json.loads(m.group(1))
        for th, td in re.findall(r"<th[^>]*>(.*?)</th>\s*<td[^>]*>(.*?)</td>", pop, re.S):
            th, td = html.unescape(th), html.unescape(re.sub(r"<[^>]+>", "", td))
            out.append(th)
            (names.update(_WORD.findall(td) + _CJK.findall(td)) if NAME_HEADERS.search(th) else out.append(td))
    for m in re.finditer(r'"_tooltip": ?("(?:[^"\\]|\\.)*")', markup):
        out += html_texts(json.loads(m.group(1)))
    for m in re.finditer(r'innerHTML = ("(?:[^"\\]|\\.)*")', markup):
        out += html_texts(json.loads(m.group(1)))
    for m in re.finditer(r'^\s*("(?:[^"\\]|\\.)*") : (?:feature_group|tile_layer|geo_json|marker)_', markup, re.M):
        out.append(json.loads(m.group(1)))
    body = re.sub(r"<script.*?</script>|<style.*?</style>", "", markup, flags=re.S)
    out += html_texts(body)
    return out, names


def docx_texts(path: Path, lang: str | None = None) -> tuple[list[str], set[str]]:
    """Paragraphs (headings, body, captions, footers) and table cells of a Word file."""
    import docx

    doc = docx.Document(str(path))
    texts, names = [p.text for p in doc.paragraphs if p.text.strip()], set()
    for sec in doc.sections:
        texts += [p.text for p in sec.footer.paragraphs if p.text.strip()]
    for table in doc.tables:
        t, n = _table_cells([[c.text for c in row.cells] for row in table.rows], lang)
        texts += t
        names |= n
    return texts, names


def folder_texts(folder: Path, lang: str | None = None) -> tuple[dict[str, list[str]], set[str]]:
    """Texts per file (relative name) and the proper-name words of the whole folder."""
    per, names = {}, set()
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        if p.suffix == ".md":
            t, n = md_texts(p.read_text(encoding="utf-8"), lang)
        elif p.suffix == ".html" and p.name.startswith("map"):
            t, n = map_texts(p.read_text(encoding="utf-8"))
        elif p.suffix == ".html":
            t, n = html_report_texts(p.read_text(encoding="utf-8"), lang)
        elif p.suffix == ".xlsx":
            t, n = xlsx_texts(p, lang)
        elif p.suffix == ".docx":
            t, n = docx_texts(p, lang)
        else:
            continue
        per[rel] = t
        names |= n
    return per, names


def offenders(folder: Path, lang: str, *, extra_names: set[str] = frozenset()) -> list[tuple[str, str, str]]:
    """``(file, word, text)`` for each word of the wrong language in the outputs of ``folder``."""
    per, names = folder_texts(folder, lang)
    names |= set(extra_names)
    bad = []
    for rel, texts in per.items():
        for text in texts:
            clean = _CODEISH.sub(" ", str(text))
            if lang == "zh":
                words = [w for w in _WORD.findall(clean)
                         if w not in ALLOW_ZH and w not in UNITS and w not in names and not re.fullmatch(r"[A-Z]", w)]
            else:
                words = [w for w in _CJK.findall(clean) if w not in names]
            bad += [(rel, w, str(text)[:160]) for w in words]
    return bad
