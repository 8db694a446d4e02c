"""The vectorised cell clean-ups of the point readers (issue 17) give what the cell-by-cell functions give.

The reference is the one-cell function (:func:`_code_text`, ``None if _blank(v) else str(v).strip()``)
applied in a plain loop; the inputs mix every case those functions treat specially."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geoplan.io._numbers import _blank, _clean_texts, _code_text, _code_texts

CELLS = ["D1", " D2 ", "430302.0", "４３０３０２", "４３０３０２.0", "12.00", "1.0e3", "", "   ", "\u3000",
         "\u3000编号\u3000", "合成小区7", None, np.nan, 3.0, 3.5, 7, np.int64(12), "\x1cX\x1f", "a\tb",
         "\xa0x\xa0", "ｆｕｌｌ", "0.0", ".0", "x.0", "007"]


@pytest.mark.parametrize("wrap", [list, lambda c: pd.Series(c, dtype=object), lambda c: np.array(c, dtype=object)])
def test_code_texts_match_code_text(wrap):
    got = _code_texts(wrap(CELLS))
    assert list(got) == [_code_text(v) for v in CELLS]


def test_clean_texts_match_cell_rule():
    got = _clean_texts(pd.Series(CELLS, dtype=object))
    assert list(got) == [None if _blank(v) else str(v).strip() for v in CELLS]


def test_vectorised_on_many_random_cells():
    rng = np.random.default_rng(3)
    pool = np.array(CELLS[:12] + CELLS[18:], dtype=object)
    cells = pool[rng.integers(0, len(pool), 5000)]
    ids = np.char.add("D", rng.integers(0, 10**6, 5000).astype(str)).astype(object)
    mixed = np.where(rng.random(5000) < 0.2, cells, ids)
    assert list(_code_texts(mixed)) == [_code_text(v) for v in mixed]
    assert list(_clean_texts(mixed)) == [None if _blank(v) else str(v).strip() for v in mixed]


def test_space_class_holds_all_python_space():
    import re

    from geoplan.io._numbers import _ANY_SPACE

    space = [chr(c) for c in range(0x110000) if chr(c).isspace()]
    cls = re.compile(_ANY_SPACE.replace(r"\x{", r"\u").replace("}", ""))  # RE2 \x{....} -> Python \u....
    assert all(cls.fullmatch(ch) for ch in space)
    cells = np.array([f"{ch}名{ch}" for ch in space] + ["名"], dtype=object)
    assert list(_clean_texts(cells)) == [str(v).strip() for v in cells]
