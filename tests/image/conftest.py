"""Temp dirs the postgres OS user can reach.

pytest's own tmp dirs live under /tmp/pytest-of-<user>, which pytest resets to mode 0700 whenever a
session starts, so a concurrent pytest run would lock the postgres user out mid-test. These live
directly under the system temp dir instead and are removed at the end.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.support.procs import give_to_postgres


@pytest.fixture(scope="session")
def pg_base():
    base = Path(tempfile.mkdtemp(prefix="cgimg-"))
    give_to_postgres(base)
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture()
def pg_tmp(pg_base) -> Path:
    """A per-test directory owned by postgres (the tests run as root and hand it over)."""
    # Short: Unix socket paths are limited to 107 bytes.
    path = Path(tempfile.mkdtemp(prefix="t", dir=pg_base))
    give_to_postgres(path)
    return path
