"""Shared fixtures. Servers are started per test module by the module's own fixtures (tests/support)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support import procs
from tests.support.upstream import PayloadCache

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("CHARTGEN_SHARED", ROOT.parent / "shared"))
CRD_SCHEMA = SHARED / "crds" / "postgresql.acid.zalan.do-v1.schema.json"


def pytest_sessionfinish(session, exitstatus):
    procs.stop_all()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def crd_schema_path() -> Path:
    assert CRD_SCHEMA.is_file(), f"the operator's CRD schema is expected at {CRD_SCHEMA} (../shared/crds)"
    return CRD_SCHEMA


@pytest.fixture(scope="session")
def supabase_payload():
    """``supabase_payload(release)`` -> Supabase's initdb.d for 15.8.1.004 or 15.8.1.085 (default), built once
    per session by image/fetch-supabase-sql.sh from the shared archives served on 127.0.0.1."""
    cache = PayloadCache()
    yield cache
    cache.cleanup()
