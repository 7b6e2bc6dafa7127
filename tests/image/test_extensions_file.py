"""Which CREATE EXTENSION list the runner uses: the chart's per-cluster file wins over the image's."""

from __future__ import annotations

import importlib.machinery
import importlib.util
from pathlib import Path

RUNNER = Path(__file__).resolve().parents[2] / "image" / "bootstrap" / "supabase-bootstrap"


def load_runner():
    loader = importlib.machinery.SourceFileLoader("supabase_bootstrap", str(RUNNER))
    spec = importlib.util.spec_from_loader("supabase_bootstrap", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_precedence(tmp_path, monkeypatch):
    runner = load_runner()
    monkeypatch.delenv("SUPABASE_CREATE_EXTENSIONS_FILE", raising=False)
    assert runner.extensions_file(str(tmp_path)) == RUNNER.parent / "create-extensions.txt"
    assert runner.extensions_file(None) == RUNNER.parent / "create-extensions.txt"
    (tmp_path / "create-extensions.txt").write_text("vector extensions\n")
    assert runner.extensions_file(str(tmp_path)) == tmp_path / "create-extensions.txt"
    monkeypatch.setenv("SUPABASE_CREATE_EXTENSIONS_FILE", "/elsewhere/list.txt")
    assert runner.extensions_file(str(tmp_path)) == Path("/elsewhere/list.txt")
