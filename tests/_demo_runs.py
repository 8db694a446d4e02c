"""One run of each demo per language for the whole test session (shared by test_language and test_golden_reports).

The report date comes from ``SOURCE_DATE_EPOCH`` (fixed here), so the demo's report is the same on every run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

#: 2026-01-01 00:00 UTC: the report date printed in the demos' reports.
EPOCH = "1767225600"

DEMOS = {
    "coverage": ["demo"],
    "suggest": ["suggest", "--demo", "--type", "社工站", "-p", "2"],
    "names": ["names", "demo"],
    "boundaries": ["boundaries", "demo"],
}


def run_demo(name: str, lang: str, out: Path) -> Path:
    """Run demo ``name`` in ``lang`` into ``out`` through the CLI, with the report date fixed."""
    from geoplan.cli import main

    old = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    try:
        res = CliRunner().invoke(main, [*DEMOS[name], "-o", str(out), "--lang", lang], catch_exceptions=False)
    finally:
        if old is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = old
    assert res.exit_code == 0, res.output
    return out


@pytest.fixture(scope="session")
def demo_output(tmp_path_factory):
    """``demo_output(name, lang)``: the folder of that demo's run (made on first use, then reused)."""
    cache: dict[tuple[str, str], Path] = {}

    def get(name: str, lang: str) -> Path:
        if (name, lang) not in cache:
            cache[name, lang] = run_demo(name, lang, tmp_path_factory.mktemp(f"{name}_{lang}") / "out")
        return cache[name, lang]

    return get
