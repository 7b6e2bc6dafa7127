"""What `chartgen render` may replace, and what a crash or a concurrent render can leave behind.

The kill tests SIGKILL a real process that renders in a loop, at random moments, and then check that the
output path holds a complete chart (the old one or the new one, never a mix and never nothing) and that the
next run leaves no `.chartgen-*` entries behind.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from chartgen import output, render
from chartgen.cli import app

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TRIO = str(ROOT / "examples" / "trio.yaml")
runner = CliRunner()


@pytest.fixture(scope="module")
def trio() -> render.Rendered:
    return render.build(TRIO)


def _render(out: Path, *specs: str):
    return runner.invoke(app, ["render", *specs, "--output-dir", str(out)], env={"NO_COLOR": "1"})


def _leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if p.name.startswith(".chartgen"))


def test_a_directory_chartgen_did_not_write_is_refused_and_kept(tmp_path):
    # The probe's case: a work directory with a git repository and notes at OUT/<name>.
    work = tmp_path / "work" / "acme-db"
    (work / ".git").mkdir(parents=True)
    (work / "notes.sql").write_text("months of work")
    res = _render(tmp_path / "work", TRIO)
    assert res.exit_code == 1
    assert "was not written by chartgen" in res.output and len(res.output.strip().splitlines()) == 1
    assert (work / "notes.sql").read_text() == "months of work" and (work / ".git").is_dir()
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == ["acme-db"]


def test_a_plain_file_or_a_symlink_at_the_path_is_refused_and_kept(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "acme-db").write_text("a file")
    res = _render(out, TRIO)
    assert res.exit_code == 1 and "is not a directory" in res.output
    assert (out / "acme-db").read_text() == "a file" and sorted(p.name for p in out.iterdir()) == ["acme-db"]

    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "keep").write_text("x")
    (out / "acme-db").unlink()
    (out / "acme-db").symlink_to(target)
    res = _render(out, TRIO)
    assert res.exit_code == 1 and "is a symbolic link" in res.output
    assert (out / "acme-db").is_symlink() and (target / "keep").read_text() == "x"
    assert sorted(p.name for p in target.iterdir()) == ["keep"]


def test_a_system_directory_named_like_the_chart_is_never_replaced(tmp_path):
    # `metadata.name: etc` with `-o /` used to replace /etc; here a stand-in with the same shape.
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text("root:x:0:0")
    spec = tmp_path / "etc.yaml"
    spec.write_text(Path(TRIO).read_text().replace("name: acme-db", "name: etc"))
    res = _render(root, str(spec))
    assert res.exit_code == 1 and "was not written by chartgen" in res.output
    assert (root / "etc" / "passwd").read_text() == "root:x:0:0"


def test_files_added_to_a_rendered_chart_are_not_deleted(tmp_path):
    out = tmp_path / "dist"
    assert _render(out, TRIO).exit_code == 0
    (out / "acme-db" / "my-notes.md").write_text("mine")
    res = _render(out, TRIO)
    assert res.exit_code == 1 and "holds files chartgen did not write (my-notes.md)" in res.output
    assert (out / "acme-db" / "my-notes.md").read_text() == "mine"


def test_a_chart_rendered_before_the_marker_existed_is_replaced(tmp_path, trio):
    out = tmp_path / "dist"
    output.write_tree(trio.files, out / "acme-db")  # what older chartgen versions left: no marker
    assert _render(out, TRIO).exit_code == 0
    assert (out / "acme-db" / output.MARKER).is_file()


def test_rerender_replaces_and_check_ignores_the_marker(tmp_path):
    out = tmp_path / "dist"
    assert _render(out, TRIO).exit_code == 0
    assert _render(out, TRIO).exit_code == 0
    marker = json.loads((out / "acme-db" / output.MARKER).read_text())
    assert marker["generator"] == "chartgen" and "Chart.yaml" in marker["files"]
    res = runner.invoke(app, ["render", TRIO, "--output-dir", str(out), "--check"])
    assert res.exit_code == 0, res.output
    assert _leftovers(out) == []


def test_two_specs_with_one_chart_name_in_one_call_is_an_error(tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text(Path(TRIO).read_text().replace("namespace: supabase", "namespace: elsewhere"))
    res = _render(tmp_path / "out", TRIO, str(other))
    assert res.exit_code == 1
    assert f"chart acme-db is also rendered from {TRIO} in this run" in res.output
    # The first spec's chart is written; the second did not overwrite it.
    chart = yaml.safe_load((tmp_path / "out" / "acme-db" / "values.yaml").read_text())
    assert chart is not None
    assert "namespace: supabase" in Path(TRIO).read_text()


# ---- crashes and concurrency --------------------------------------------------------------------------------

_WRITER = """
import sys
from pathlib import Path
from chartgen import output, render
out, mode, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
if mode == "fallback":
    output._renameat2 = lambda src, dst, flags: False   # as on a kernel or file system without renameat2
base = render.build(sys.argv[4]).files
versions = [base, {**base, "values.yaml": base["values.yaml"] + b"# second version\\n"}]
print("ready", flush=True)
i = 0
while count < 0 or i < count:
    output.write_chart(versions[i % 2], out, "acme-db")
    i += 1
print("done", flush=True)
"""


def _writer(out: Path, mode: str, count: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", _WRITER, str(out), mode, str(count), TRIO],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _versions(trio: render.Rendered) -> list[dict[str, bytes]]:
    base = trio.files
    return [base, {**base, "values.yaml": base["values.yaml"] + b"# second version\n"}]


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["exchange", "fallback"])
def test_sigkill_at_random_points_never_loses_the_chart(tmp_path, trio, mode):
    rng = random.Random(20261201)
    versions = _versions(trio)
    out = tmp_path / "out"
    output.write_chart(versions[0], out, "acme-db")
    kills = 20
    for _ in range(kills):
        proc = _writer(out, mode, -1)
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        time.sleep(rng.uniform(0.0, 0.08))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        if mode == "exchange":
            # RENAME_EXCHANGE: the path is never empty and never a mix, even right after the kill.
            assert output.read_tree(out / "acme-db") in versions
        # The next run recovers (fallback: puts the old tree back) and cleans up.
        with output.locked(out):
            output.recover(out)
        assert output.read_tree(out / "acme-db") in versions
        assert _leftovers(out) == []
    output.write_chart(versions[1], out, "acme-db")
    assert output.read_tree(out / "acme-db") == versions[1]
    assert sorted(p.name for p in out.iterdir()) == ["acme-db"]


def test_a_killed_fallback_swap_is_restored_by_the_next_render(tmp_path, trio):
    # The window the fallback has: old tree moved aside, new one not yet in place.
    out = tmp_path / "out"
    output.write_chart(trio.files, out, "acme-db")
    aside = out / f"{output.OLD}acme-db.dead"
    os.rename(out / "acme-db", aside)
    (out / f"{output.STAGE}acme-db.dead").mkdir()
    (out / ".chartgen-abcd1234").mkdir()  # a staging folder of chartgen before the marker
    res = _render(out, TRIO)
    assert res.exit_code == 0, res.output
    assert output.read_tree(out / "acme-db") == trio.files
    assert sorted(p.name for p in out.iterdir()) == ["acme-db"]


def test_recovery_keeps_a_users_folder_named_like_an_old_staging_folder(tmp_path, trio):
    # ".chartgen-" plus eight lowercase characters was all recovery looked at: a user's folder went.
    out = tmp_path / "out"
    mine = out / ".chartgen-settings"
    mine.mkdir(parents=True)
    (mine / "keep").write_text("mine")
    old_stage = out / ".chartgen-x1y2z3w4"  # an older chartgen's staging folder: a stamped chart
    old_stage.mkdir()
    (old_stage / "Chart.yaml").write_bytes(trio.files["Chart.yaml"])
    res = _render(out, TRIO)
    assert res.exit_code == 0, res.output
    assert (mine / "keep").read_text() == "mine"
    assert not old_stage.exists()


@pytest.mark.slow
def test_concurrent_renders_into_one_output_all_succeed(tmp_path, trio):
    out = tmp_path / "out"
    for _ in range(3):
        procs = [_writer(out, "exchange", 5) for _ in range(6)]
        for proc in procs:
            stdout, stderr = proc.communicate(timeout=120)
            assert proc.returncode == 0, stderr
            assert stdout.split() == ["ready", "done"]
        assert output.read_tree(out / "acme-db") in _versions(trio)
        assert sorted(p.name for p in out.iterdir()) == ["acme-db"]


def _wait_for_mapping(pid: int, marker: str, timeout: float = 30) -> bool:
    """Until the process has loaded a shared library whose path holds ``marker`` (False if it ended first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if marker in Path(f"/proc/{pid}/maps").read_text():
                return True
        except OSError:
            return False
        time.sleep(0.001)
    return False


def test_interrupt_during_startup_prints_no_traceback():
    # SIGINT while the CLI is still importing (typer, jsonschema, ruamel ...: about 150 ms). The signal is sent
    # once the process maps _uuid (loaded on typer's import, so after chartgen's entry point took over; before
    # that, Python's own start-up runs), then after a random delay that lands in the imports or the command.
    chartgen = Path(sys.executable).parent / "chartgen"
    rng = random.Random(130)
    for _ in range(6):
        proc = subprocess.Popen([str(chartgen), "validate", TRIO], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        if _wait_for_mapping(proc.pid, "_uuid"):
            time.sleep(rng.uniform(0.0, 0.1))
            proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
        assert "Traceback" not in stderr + stdout, stderr
        assert proc.returncode in (0, 1, 130), (proc.returncode, stderr)
