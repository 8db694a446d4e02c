"""Place-name rule checks (private; public entry point :func:`geoplan.names.check_names`).

Each rule has an id, a severity and a short statement of its source.  The
statements are paraphrases (摘要) of the regulations, not verbatim quotations;
look up the official text before citing them in a decision.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

import pandas as pd

from geoplan.registers._pinyin import HAN_RE, DATA_DIR, _find, no_pinyin_chars, read_list, split_name, toneless_key

#: rule id -> (severity, short title, source paraphrase)
RULES: dict[str, tuple[str, str, str]] = {
    "NAME-DUP": (
        "error",
        "重名 duplicate name in scope",
        "《地名管理条例》(国务院令第753号, 2022) 命名规定摘要: 全国范围内县级以上行政区划名称不应重名; "
        "同一省内乡镇名称、同一县内村/社区名称、同一城镇内道路街巷名称不应重名，并避免同音。",
    ),
    "NAME-HOMOPHONE": (
        "warning",
        "同音 homophone in scope",
        "《地名管理条例》(2022) 命名规定摘要: 在规定范围内避免同音地名 (比较不带声调的汉语拼音)。",
    ),
    "NAME-BIG": (
        "warning",
        "大: 夸大 exaggerated word",
        "民政部等六部门 2018 年不规范地名清理整治 (大、洋、怪、重) 摘要: 不使用 '宇宙、世界、环球、中央、天下、中华、国际、万国、帝、皇' 等夸大用词。",
    ),
    "NAME-FOREIGN": (
        "warning",
        "洋: 崇洋媚外 foreign imitation",
        "2018 年不规范地名清理整治摘要; 《地名管理条例》(2022): 不以外国人名、地名命名 (历史沿用、约定俗成者除外)。",
    ),
    "NAME-FEUDAL": (
        "warning",
        "怪: 封建色彩 feudal word",
        "2018 年不规范地名清理整治摘要: 清理带有封建色彩的地名 (如 御府、王府)。",
    ),
    "NAME-PERSON": (
        "error",
        "以人名作地名 personal name",
        "《地名管理条例》(2022) 摘要: 一般不以人名作地名; 不以国家领导人的名字作地名。",
    ),
    "NAME-DIGIT": (
        "warning",
        "怪: 阿拉伯数字 digits",
        "2018 年不规范地名清理整治摘要: 清理含阿拉伯数字、外文字母、符号等怪异地名 (道路序号用字按当地规则处理)。",
    ),
    "NAME-LATIN": (
        "warning",
        "怪: 外文字母 Latin letters",
        "2018 年不规范地名清理整治摘要: 地名不使用外文字母。",
    ),
    "NAME-SYMBOL": (
        "warning",
        "怪: 符号 symbols",
        "2018 年不规范地名清理整治摘要: 地名不使用符号。",
    ),
    "NAME-RARE": (
        "info",
        "怪: 生僻字 rare character",
        "《地名管理条例》(2022) 摘要: 地名用字应规范，避免使用生僻字 (对照《通用规范汉字表》; 本工具用 GB 2312 + 官方乡镇县名用字作近似, 见文档)。",
    ),
}

#: category -> (level, number of code digits that define the scope)
SCOPE_DIGITS = {"county": 0, "township": 2, "village": 6, "community": 6, "natural_village": 6, "road": 9}
_LEVEL = {
    "county": "county",
    "township": "township",
    "village": "village",
    "community": "village",
    "natural_village": "village",
    "road": "road",
}
_HAN = HAN_RE  # all CJK ideograph blocks incl. extensions B–I and compatibility ideographs
_LATIN = re.compile(r"[A-Za-zＡ-Ｚａ-ｚ]")
_DIGIT = re.compile(r"[0-9０-９]")
_OK_SYMBOLS = set("·")


@functools.lru_cache(maxsize=16)
def load_wordlists(folder: str | None = None) -> dict[str, object]:
    """Word lists (user folder first, shipped files as fallback)."""

    def lst(name: str) -> list[str]:
        return read_list(_find(name, folder))

    exceptions: list[tuple[str, str]] = []
    for line in lst("exceptions.txt"):
        parts = line.split(None, 1)
        if len(parts) == 2:
            exceptions.append((parts[0], parts[1].strip()))
    extra = set("".join(lst("chars_official_extra.txt")))
    return {
        "NAME-BIG": lst("exaggerated.txt"),
        "NAME-FOREIGN": lst("foreign.txt"),
        "NAME-FEUDAL": lst("feudal.txt"),
        "NAME-PERSON": lst("personal_names.txt"),
        "exceptions": exceptions,
        "common_extra": extra,
    }


def _is_common(ch: str, extra: set[str]) -> bool:
    if ch in extra:
        return True
    try:
        ch.encode("gb2312")
        return True
    except UnicodeEncodeError:
        return False


def _exempt(name: str, rule: str, word: str, pos: int, exceptions) -> str | None:
    for r, part in exceptions:
        if r not in (rule, "*"):
            continue
        start = name.find(part)
        while start != -1:
            if start <= pos and pos + len(word) <= start + len(part):
                return part
            start = name.find(part, start + 1)
    return None


def word_findings(name: str, *, folder: str | None = None) -> list[dict]:
    """Findings of the word and character rules for one name (no scope needed)."""
    wl = load_wordlists(folder)
    out: list[dict] = []
    for rule in ("NAME-BIG", "NAME-FOREIGN", "NAME-FEUDAL", "NAME-PERSON"):
        for word in wl[rule]:  # type: ignore[union-attr]
            pos = name.find(word)
            if pos == -1:
                continue
            ex = _exempt(name, rule, word, pos, wl["exceptions"])
            if ex is not None:
                continue
            out.append({"rule": rule, "part": word, "why": f"含 '{word}' (列于 {rule} 词表)"})
    digits = "".join(_DIGIT.findall(name))
    if digits:
        out.append({"rule": "NAME-DIGIT", "part": digits, "why": f"含阿拉伯数字 '{digits}'"})
    latin = "".join(_LATIN.findall(name))
    if latin:
        out.append({"rule": "NAME-LATIN", "part": latin, "why": f"含外文字母 '{latin}'"})
    symbols = "".join(
        ch for ch in name if not (_HAN.match(ch) or _DIGIT.match(ch) or _LATIN.match(ch) or ch in _OK_SYMBOLS)
    )
    if symbols:
        out.append({"rule": "NAME-SYMBOL", "part": symbols, "why": f"含符号 '{symbols}'"})
    unread = no_pinyin_chars(name, folder=folder)
    rare = "".join(
        dict.fromkeys(ch for ch in name if _HAN.match(ch) and ch not in unread and not _is_common(ch, wl["common_extra"]))  # type: ignore[arg-type]
    )
    if rare:
        out.append(
            {"rule": "NAME-RARE", "part": rare, "why": f"'{rare}' 不在常用字近似表 (GB 2312 + 官方乡镇县名用字) 中"}
        )
    if unread:
        # kept visible in the sign pinyin, but a person must supply the reading (place_pinyin.txt)
        out.append(
            {"rule": "NAME-RARE", "part": unread,
             "why": f"'{unread}' 无已知拼音: 标志拼音中保留原字, 请在 place_pinyin.txt 中补充读音"}
        )
    return out


def level_of(name: str, category: str | None, *, folder: str | None = None) -> str | None:
    """Scope level of a name: county, township, village, road (or None when unknown)."""
    if category:
        c = str(category).strip().lower()
        if c in _LEVEL:
            return _LEVEL[c]
    g = split_name(name, folder=folder).generic_category
    return {"county": "county", "township": "township", "village": "village", "road": "road"}.get(g or "")


def scope_key(level: str | None, admin_code: str | None) -> str | None:
    """Scope key from the 12-digit admin code: '' nationwide, province, county or township prefix."""
    if level is None:
        return None
    digits = {"county": 0, "township": 2, "village": 6, "road": 9}[level]
    if digits == 0:
        return ""
    if not admin_code or not re.fullmatch(r"\d{12}", str(admin_code)):
        return None
    return str(admin_code)[:digits]


def _text(v) -> str | None:
    """A cell as stripped text, None for empty/NaN."""
    if v is None or (isinstance(v, float) and v != v):
        return None
    t = str(v).strip()
    return t or None


def scope_findings(df: pd.DataFrame, *, folder: str | None = None) -> list[dict]:
    """Duplicate and homophone findings within scope.

    ``df`` has columns name, code, category (optional), admin_code (optional).
    """
    rows = []
    for idx, r in df.iterrows():
        name = str(r["name"]).strip()
        lvl = level_of(name, _text(r.get("category")), folder=folder)
        key = scope_key(lvl, _text(r.get("admin_code")) or _text(r.get("code")))
        rows.append((idx, name, str(r.get("code", "")), lvl, key, toneless_key(name, folder=folder)))
    t = pd.DataFrame(rows, columns=["idx", "name", "code", "level", "scope", "sound"])
    t = t[t["scope"].notna()]
    out: list[dict] = []
    scope_label = {"county": "全国", "township": "省", "village": "县", "road": "乡镇"}
    for (lvl, scope), grp in t.groupby(["level", "scope"], sort=True):
        label = f"{scope_label[lvl]} {scope or '(全国)'}"
        for name, g in grp.groupby("name"):
            if len(g) > 1:
                codes = "、".join(g["code"])
                for _, r in g.iterrows():
                    out.append(
                        {
                            "idx": r["idx"],
                            "rule": "NAME-DUP",
                            "part": name,
                            "why": f"{label} 范围内同名 {len(g)} 处: {codes}",
                            "scope": scope,
                        }
                    )
        for sound, g in grp.groupby("sound"):
            names = sorted(set(g["name"]))
            if len(names) > 1:
                for _, r in g.iterrows():
                    others = [n for n in names if n != r["name"]]
                    out.append(
                        {
                            "idx": r["idx"],
                            "rule": "NAME-HOMOPHONE",
                            "part": r["name"],
                            "why": f"{label} 范围内同音 ({sound}): " + "、".join(
                                f"{n}({'、'.join(g.loc[g['name'] == n, 'code'])})" for n in others
                            ),
                            "scope": scope,
                        }
                    )
    return out


def shipped_folder() -> Path:
    """The folder of shipped word lists (copy it to customise)."""
    return DATA_DIR


def _as_folder(folder: str | os.PathLike | None) -> str | None:
    return None if folder is None else str(Path(folder).resolve())
