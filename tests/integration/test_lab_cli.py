"""`chartgen lab` argument handling (the HA runs themselves are in test_ha.py)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from chartgen.cli import app

ROOT = Path(__file__).resolve().parents[2]


def test_unknown_experiment_is_a_clean_error():
    res = CliRunner().invoke(app, ["lab", str(ROOT / "examples" / "trio.yaml"), "-e", "hard_kil"])
    assert res.exit_code == 1
    assert "unknown experiment 'hard_kil'" in res.output
    assert "Traceback" not in res.output


def test_invalid_spec_is_reported_with_its_position(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / "examples" / "trio.yaml").read_text().replace("topology: trio", "topology: quad"))
    res = CliRunner().invoke(app, ["lab", str(bad)])
    assert res.exit_code == 1
    assert f"{bad}:10:13: spec.topology:" in res.output


def test_a_payload_that_is_not_the_initdb_layout_is_refused_before_anything_starts(tmp_path):
    (tmp_path / "migrations").mkdir()
    res = CliRunner().invoke(app, ["lab", str(ROOT / "examples" / "trio.yaml"), "--payload", str(tmp_path),
                                   "-e", "none"])
    assert res.exit_code == 1
    assert f"payload {tmp_path} has no init-scripts/" in res.output
    assert "Traceback" not in res.output
    assert "cluster acme-db" not in res.output     # no member was started
