"""The wheel carries everything chartgen reads (schema, base chart, extension list, presets, CRD schema)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


def test_wheel_renders_outside_the_source_tree(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path / "whl"), str(ROOT)],
                   check=True, capture_output=True)
    (wheel,) = (tmp_path / "whl").glob("*.whl")
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    assert (site / "chartgen" / "_bundled" / "charts" / "spilo-supabase" / "Chart.yaml").is_file()
    # The unpacked wheel comes first on sys.path, so the source checkout's chartgen is not the one imported.
    code = (f"import sys; sys.path.insert(0, {str(site)!r}); sys.argv = ['chartgen'] + sys.argv[1:]\n"
            "import chartgen, chartgen.resources as r\n"
            f"assert chartgen.__file__.startswith({str(site)!r}), chartgen.__file__\n"
            "from chartgen.cli import main; main()")
    proc = subprocess.run([sys.executable, "-c", code, "render", str(ROOT / "examples" / "trio.yaml"),
                           "--output-dir", str(tmp_path / "out")], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / "acme-db" / "templates" / "postgresql.yaml").is_file()
    # PostgreSQL's parameter catalogs come with it: a typo is caught.
    typo = ROOT / "tests" / "unit" / "corpus" / "parameter-typo-did-you-mean.yaml"
    proc = subprocess.run([sys.executable, "-c", code, "validate", str(typo)], cwd=tmp_path, capture_output=True,
                          text=True)
    assert proc.returncode == 1 and 'did you mean "shared_buffers"?' in proc.stderr, proc.stderr
