"""Locate data files that live at the repository root (schemas/, charts/, image/).

In a source checkout (editable install) they are read in place; in a wheel they are bundled under
chartgen/_bundled by the build (see pyproject.toml). One copy of each fact, two ways to reach it.
"""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent
_BUNDLED = _PKG / "_bundled"
_SOURCE_ROOT = _PKG.parent


def path(relative: str) -> Path:
    """Return the path of a repository-root data file or directory, e.g. ``schemas/deployment.schema.json``."""
    for base in (_BUNDLED, _SOURCE_ROOT):
        candidate = base / relative
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"chartgen data file not found: {relative} (broken installation?)")


def package_data(relative: str) -> Path:
    """Return a file shipped inside the chartgen package itself (presets, CRD schema copy)."""
    return _PKG / relative


CHART_DIR_NAME = "charts/spilo-supabase"
SPEC_SCHEMA = "schemas/deployment.schema.json"
EXTENSIONS = "image/extensions.yaml"
