"""Regenerate the published example maps in this folder (``python maps/make_maps.py``).

Runs ``geoplan demo`` (the embedded real data) once per language into a temporary folder and
copies its ``map.html`` here as ``coverage_demo_<lang>.html``.  Generated files are not committed
(see ``maps/.gitignore``).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from click.testing import CliRunner

from geoplan.cli import main as geoplan_cli

HERE = Path(__file__).resolve().parent


def make_maps(langs: tuple[str, ...] = ("zh", "en"), *, out: Path = HERE) -> list[Path]:
    """Run the demo for each language and copy its map into ``out``; return the written paths."""
    written = []
    for lang in langs:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "demo"
            res = CliRunner().invoke(geoplan_cli, ["-q", "demo", "-o", str(folder), "--lang", lang],
                                     catch_exceptions=False)
            if res.exit_code != 0:
                raise SystemExit(f"geoplan demo --lang {lang} failed:\n{res.output}")
            target = out / f"coverage_demo_{lang}.html"
            shutil.copyfile(folder / "map.html", target)
            written.append(target)
    return written


if __name__ == "__main__":
    args = sys.argv[1:]
    if any(a in ("-h", "--help") for a in args) or not set(args) <= {"zh", "en"}:
        print("usage: python maps/make_maps.py [zh] [en]   (default: both languages)", file=sys.stderr)
        raise SystemExit(0 if any(a in ("-h", "--help") for a in args) else 2)
    for path in make_maps(tuple(args) or ("zh", "en")):
        print(path)
