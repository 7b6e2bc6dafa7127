"""PostgreSQL's value rules (chartgen.pgsettings) on the committed catalogs; the real-server comparison is in
tests/integration/test_pg_catalog.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chartgen import pgsettings

ROOT = Path(__file__).resolve().parents[2]
CAT15, CAT17 = pgsettings.load("15"), pgsettings.load("17")


def parse(name: str, text: str, cat: pgsettings.Catalog = CAT17):
    return pgsettings.parse(cat.get(name), text)


def test_every_major_the_schema_allows_has_a_catalog():
    schema = json.loads((ROOT / "schemas" / "deployment.schema.json").read_text())
    versions = schema["properties"]["spec"]["properties"]["postgres"]["properties"]["version"]["enum"]
    assert pgsettings.majors() == versions
    for major in versions:
        cat = pgsettings.load(major)
        assert cat.major == major and cat.server.startswith(f"PostgreSQL {major}.")
        assert "pg_settings of a running server" in cat.source
        assert len([n for n in cat.settings if "." not in n]) > 340


def test_catalog_facts_as_postgresql_documents_them():
    for cat in (CAT15, CAT17):
        work = cat.get("work_mem")
        assert (work.type, work.unit, work.min, work.context, work.default) == ("integer", "kB", 64, "user", "4096")
        shared = cat.get("shared_buffers")
        assert (shared.unit, shared.context, shared.restart) == ("8kB", "postmaster", True)
        assert cat.get("wal_level").hidden == ("archive", "hot_standby")
        assert cat.get("block_size").context == "internal"
        assert cat.get("DateStyle") is cat.get("datestyle")  # names match case-insensitively
    # 16 renamed force_parallel_mode to debug_parallel_query; 17 has the new name only.
    assert CAT15.get("force_parallel_mode") and not CAT17.get("force_parallel_mode")
    assert CAT17.get("debug_parallel_query") and not CAT15.get("debug_parallel_query")


def test_library_parameters_come_from_the_libraries_the_catalog_was_made_with():
    assert {"pg_stat_statements", "pg_cron", "pgaudit", "auto_explain"} <= set(CAT17.libraries)
    assert {"pg_net", "pgsodium", "supautils", "pg_tle", "supabase_vault"} <= set(CAT15.libraries)
    assert CAT15.get("pg_stat_statements.max").context == "postmaster"
    assert CAT17.get("cron.max_running_jobs").type == "integer"
    assert {"pg_net", "supautils", "vault", "pgtle"} <= CAT15.prefixes
    assert "pg_net" not in CAT17.prefixes  # no PostgreSQL 17 build of pg_net was loaded


@pytest.mark.parametrize(("name", "text", "value"), [
    ("work_mem", "64MB", 65536),
    ("work_mem", "64", 64),
    ("work_mem", " 64 MB ", 65536),
    ("work_mem", "1.5MB", 1536),
    ("work_mem", "0x100", 256),  # strtol base 0: hex
    ("work_mem", "0100", 64),  # ... and octal
    ("work_mem", "1e3", 1000),
    ("work_mem", "65536B", 64),
    ("shared_buffers", "4GB", 524288),  # 8kB pages
    ("wal_buffers", "12288B", 2),  # 1.5 pages, rounded half to even
    ("wal_buffers", "20480B", 2),  # 2.5 pages: half to even again
    ("max_wal_size", "1536kB", 2),  # MB base: 1.5 MB rounds to 2
    ("statement_timeout", "60s", 60000),
    ("statement_timeout", "1.5h", 5400000),
    ("log_rotation_age", "1d", 1440),
    ("log_rotation_age", "90s", 2),  # 1.5 min -> 2
    ("vacuum_cost_delay", "200us", 0.2),
    ("random_page_cost", "1.1", 1.1),
    ("max_connections", "100.5", 100),  # integers accept fractions, rounded (half to even)
    ("fsync", "of", False),
    ("fsync", "TRUE", True),
    ("fsync", "ye", True),
    ("fsync", "0", False),
    ("synchronous_commit", "Remote_Apply", "remote_apply"),
    ("synchronous_commit", "true", "true"),  # a hidden spelling
    ("wal_level", "hot_standby", "hot_standby"),
    ("search_path", "anything, really", "anything, really"),
])
def test_values_postgresql_accepts(name, text, value):
    result = parse(name, text)
    assert result.ok, result
    assert result.value == value


@pytest.mark.parametrize(("name", "text", "reason"), [
    ("work_mem", "lots", '"lots" is not an integer (a number in kB, or with one of the units B, kB, MB, GB, TB; '
                         "units are case-sensitive)"),
    ("work_mem", "64mb", '"64mb" has an invalid unit; did you mean "64MB"?'),
    ("work_mem", "2Gi", '"2Gi" has an invalid unit; did you mean "2GB"?'),
    ("work_mem", "64 M", '"64 M" has an invalid unit; did you mean "64MB"?'),
    ("work_mem", "08", "(a leading 0 makes it octal)"),
    ("work_mem", "32kB", '"32kB" is outside the valid range 64kB .. ~2TB'),
    ("work_mem", "32", '"32" is outside the valid range 64kB .. ~2TB (it is 32kB)'),
    ("work_mem", "3000000000", "is outside the valid range"),  # beyond int32
    ("work_mem", "", '"" is not an integer'),
    ("work_mem", "64MBs", "has an invalid unit"),
    ("statement_timeout", "10sec", '"10sec" has an invalid unit; did you mean "10s"?'),
    ("statement_timeout", "5 minutes", 'did you mean "5min"?'),
    ("statement_timeout", "60S", 'did you mean "60s"?'),
    ("statement_timeout", "-1", '"-1" is outside the valid range 0 .. ~24.9d'),
    ("vacuum_cost_delay", "2s", "\"2s\" is outside the valid range 0 .. 100ms"),
    ("vacuum_cost_delay", "2000", "\"2000\" is outside the valid range 0 .. 100ms (it is 2s)"),
    ("max_connections", "10s", '"10s" is not an integer (this parameter takes no unit)'),
    ("max_connections", "0", "is outside the valid range 1 .. 262143"),
    ("random_page_cost", "nan", '"nan" is not a number'),
    ("random_page_cost", "-1", "is outside the valid range 0 .."),
    ("random_page_cost", "٣", "is not a number"),  # a Unicode digit: C's strtod reads ASCII only
    ("fsync", "o", '"o" is not a boolean (on/off, true/false, yes/no, 1/0)'),
    ("fsync", " on", "is not a boolean"),
    ("fsync", "enabled", "is not a boolean"),
    ("synchronous_commit", "fast", '"fast" is not one of its values (allowed: local, remote_write, remote_apply, '
                                   "on, off)"),
    ("synchronous_commit", "locl", 'did you mean "local"?'),
    ("huge_pages", "tri", 'did you mean "try"?'),
])
def test_values_postgresql_refuses(name, text, reason):
    result = parse(name, text)
    assert not result.ok
    assert reason in result.reason, result.reason


def test_conf_text_is_what_postgresql_reads():
    assert [pgsettings.conf_text(v) for v in (True, False, 64, 1.5, "64MB")] == ["on", "off", "64", "1.5", "64MB"]
    assert parse("fsync", pgsettings.conf_text(True)).value is True


def test_show_picks_a_readable_unit():
    show = pgsettings.show
    assert show(CAT17.get("work_mem"), 65536) == "64MB"
    assert show(CAT17.get("shared_buffers"), 16) == "128kB"
    assert show(CAT17.get("statement_timeout"), 5400000) == "90min"
    assert show(CAT17.get("max_connections"), 100) == "100"
    assert show(CAT17.get("statement_timeout"), -1) == "-1"
