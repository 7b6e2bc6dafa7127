"""The parameter catalog against this machine's real PostgreSQL 15.

- The committed chartgen/data/pg-parameters-15.json is what the generator reads from the server here, so
  the data cannot drift from PostgreSQL (regenerate: python -m chartgen.pgsettings_generate --bindir
  /usr/lib/postgresql/15/bin -o chartgen/data/pg-parameters-15.json).
- chartgen's reading of values (units, bases, rounding, ranges, booleans, enums) gives the server's
  verdict on hundreds of tricky values: ALTER SYSTEM validates exactly as postgresql.conf is read, and
  set_config() shows the number the server stored.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from chartgen import pgsettings
from chartgen.pgsettings_generate import Host, _quote, _Server, dumps, generate, libraries

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BINDIR = "/usr/lib/postgresql/15/bin"
COMMITTED = ROOT / "chartgen" / "data" / "pg-parameters-15.json"


def _committed() -> dict:
    return json.loads(COMMITTED.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def host() -> Host:
    assert Path(BINDIR, "postgres").is_file(), "PostgreSQL 15 is expected (./dev test installs postgresql-15)"
    return Host(bindir=BINDIR)


def test_the_committed_core_catalog_is_what_this_server_reports(host):
    fresh = generate(host, load_libraries=False)
    committed = _committed()
    assert fresh["major"] == committed["major"] == "15"
    core = {n: e for n, e in committed["parameters"].items() if "." not in n}
    assert fresh["parameters"] == core, "regenerate chartgen/data/pg-parameters-15.json (see the module docstring)"


def test_the_committed_catalog_with_the_image_libraries_is_what_this_server_reports(host):
    committed = _committed()
    libs = libraries(host, "15")
    here = libs["shared"] + libs["session"] + libs["load"]
    missing = sorted(set(committed["libraries"]) - set(here))
    # ./dev test installs them (Debian's packages and Supabase's pinned builds).
    assert not missing, f"libraries the catalog was made with are not installed here: {', '.join(missing)}"
    fresh = generate(host)
    assert fresh["libraries"] == committed["libraries"]
    # Byte for byte, apart from the server's version line (a Debian rebuild of the same minor).
    assert dumps({**fresh, "server": committed["server"]}) == COMMITTED.read_text(encoding="utf-8")


# ---- chartgen's parser against the server --------------------------------------------------------------

NUMBERS = ["64", "64MB", "64 MB", " 64MB", "64MB ", "64mb", "64Mb", "64M", "64MBs", "64 MB x", "1.5GB", "1.5",
           "0.5", "2.5", "3.5", "0x40", "0X40", "0x", "010", "08", "+64", "-1", "-64", "1e3", "1E3", "1e3kB", "1e",
           ".5MB", " .5", "5.", "2147483647", "2147483648", "-2147483649", "99999999999999999999", "1e400",
           "inf", "-inf", "nan", "", " ", "1TB", "1 TB", "16TB", "8kB", "8191B", "8192B", "12288B", "100us",
           "1500us", "1d", "1.5h", "0.5min", "30.1GB", "1e-3s", "0.0001ms", "1min", "1 min", "60s", "3600000ms",
           "24h", "1h30min", "0x10MB", "1_000", "1,000", "٣"]
BOOLS = ["on", "off", "ON", "Off", "o", "of", "of ", " on", "t", "tr", "TRUE", "truee", "f", "fals", "y", "ye",
         "yes", "n", "no", "nope", "1", "0", "01", "2", "", "enabled"]
ENUMS = ["on", "ON", "true", "1", "local", "LOCAL", "remote_write ", "fast", "", "hot_standby", "archive",
         "replica", "Logical", "debug", "DEBUG2", "try", "yes"]

#: Parameters of every unit base and kind (user-settable ones also get their stored value compared).
NUMERIC = ["work_mem", "temp_buffers", "shared_buffers", "wal_buffers", "max_wal_size", "min_wal_size",
           "log_rotation_age", "log_rotation_size", "autovacuum_naptime", "statement_timeout",
           "checkpoint_timeout", "effective_cache_size", "log_parameter_max_length", "tcp_keepalives_idle",
           "log_min_duration_statement", "max_connections", "vacuum_cost_delay", "random_page_cost",
           "cursor_tuple_fraction", "autovacuum_vacuum_cost_delay", "hash_mem_multiplier", "bgwriter_delay"]
BOOLEAN = ["fsync", "log_connections", "enable_seqscan"]
ENUM = ["synchronous_commit", "wal_level", "huge_pages", "client_min_messages", "log_min_messages",
        "constraint_exclusion"]

CASES = ([(n, v) for n in NUMERIC for v in NUMBERS] + [(n, v) for n in BOOLEAN for v in BOOLS]
         + [(n, v) for n in ENUM for v in ENUMS])


@pytest.fixture(scope="module")
def server(host):
    import shutil
    import tempfile

    from chartgen.pgsettings_generate import _chown

    work = Path(tempfile.mkdtemp(prefix="cg-pgparse-"))
    work.chmod(0o700)
    _chown(host, work)
    try:
        with _Server(host, str(work), {"shared": [], "session": [], "load": []}) as s:
            yield s
    finally:
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def verdicts(server) -> dict[int, bool]:
    """ALTER SYSTEM's verdict on every case (it validates like postgresql.conf, for every context)."""
    lines = ["\\set ON_ERROR_STOP 0", "\\set QUIET 1"]
    for i, (name, value) in enumerate(CASES):
        lines.append(f"ALTER SYSTEM SET {name} = {_quote(value)};")
        lines.append(f"\\if :ERROR\n\\echo R {i}\n\\else\n\\echo A {i}\n\\endif")
    lines.append("ALTER SYSTEM RESET ALL;")
    out = {}
    for line in server.psql("\n".join(lines) + "\n").splitlines():
        verdict, _, index = line.partition(" ")
        out[int(index)] = verdict == "A"
    assert len(out) == len(CASES)
    return out


@pytest.fixture(scope="module")
def stored(server) -> dict[int, str | None]:
    """pg_settings.setting after set_config() for the cases of user-settable parameters (None: refused)."""
    catalog = pgsettings.load("15")
    # tcp_keepalives_idle shows the socket's value (0 on this Unix socket), not the one set.
    rows = [(i, n, v) for i, (n, v) in enumerate(CASES) if n != "tcp_keepalives_idle"
            and catalog.get(n).context in ("user", "superuser") and catalog.get(n).type in ("integer", "real")]
    values = ", ".join(f"({i}, {_quote(n)}, {_quote(v)})" for i, n, v in rows)
    script = (
        "CREATE FUNCTION pg_temp.try(n text, v text) RETURNS text LANGUAGE plpgsql AS $$\n"
        "BEGIN PERFORM set_config(n, v, true); RETURN (SELECT setting FROM pg_settings WHERE name = n);\n"
        "EXCEPTION WHEN others THEN RETURN NULL; END $$;\n"
        f"SELECT i, coalesce(pg_temp.try(n, v), '<refused>') FROM (VALUES {values}) AS c(i, n, v) ORDER BY i;\n")
    out = {}
    for line in server.psql(script).splitlines():
        if "|" in line:
            i, _, setting = line.partition("|")
            out[int(i)] = None if setting == "<refused>" else setting
    assert len(out) == len(rows)
    return out


def test_the_cases_cover_every_unit_and_kind():
    catalog = pgsettings.load("15")
    units = {catalog.get(n).unit for n, _ in CASES}
    assert units >= {"B", "kB", "MB", "8kB", "ms", "s", "min", None}
    assert {catalog.get(n).type for n, _ in CASES} == {"integer", "real", "bool", "enum"}
    assert len(CASES) > 1000


def test_chartgen_accepts_exactly_what_the_server_accepts(verdicts):
    catalog = pgsettings.load("15")
    wrong = []
    for i, (name, value) in enumerate(CASES):
        ours = pgsettings.parse(catalog.get(name), value)
        if ours.ok != verdicts[i]:
            wrong.append(f"{name} = {value!r}: server {'accepts' if verdicts[i] else 'refuses'}, chartgen "
                         f"{'accepts' if ours.ok else 'refuses: ' + ours.reason}")
    assert not wrong, "\n".join(wrong)
    # Both verdicts occur for most parameters, so the comparison says something.
    assert sum(verdicts.values()) > 300 and len(verdicts) - sum(verdicts.values()) > 300


def test_chartgen_reads_the_number_the_server_stores(stored):
    catalog = pgsettings.load("15")
    assert len([s for s in stored.values() if s is not None]) > 100
    for i, setting in stored.items():
        name, value = CASES[i]
        ours = pgsettings.parse(catalog.get(name), value)
        assert ours.ok == (setting is not None), (name, value, setting)
        if setting is None:
            continue
        if isinstance(ours.value, int):
            assert ours.value == int(setting), (name, value, setting)
        else:
            assert math.isclose(ours.value, float(setting), rel_tol=1e-5), (name, value, setting)
