#!/usr/bin/env python3
"""Bootstrap-runner benchmark: time per file and for a rerun, on a real PostgreSQL 15.

Supabase's own release SQL cannot run here (pgsodium, pg_graphql, pg_net ... are not installable on this
machine), so the runner applies a generated set shaped like release 15.8.1.085 plus the self-hosting files:
53 files (5 init scripts, 41 migrations, 7 self-hosting files), similar sizes, the same habits (backtick
\\set secrets, \\c into _supabase, SET ROLE, event triggers, grants, functions).

Target (issue 5): the whole set in <= 1.2 x 2.8 s; a rerun that applies nothing in < 0.5 s.
Usage: .venv/bin/python bench/bootstrap.py [--runs 3]   (as root: servers run as the postgres user)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.image import pg  # noqa: E402
from tests.support.procs import as_postgres, give_to_postgres, stop_all  # noqa: E402

SECRETS = {"POSTGRES_PASSWORD": "bench-password", "JWT_SECRET": "bench-jwt-secret-with-at-least-32-chars",
           "JWT_EXP": "3600"}


def _block(rng: random.Random, n: int, schema: str) -> str:
    kind = rng.choice(["table", "function", "grant", "policy"])
    if kind == "table":
        return (f"create table if not exists {schema}.t{n} (id bigserial primary key, name text not null, "
                f"payload jsonb default '{{}}'::jsonb, created_at timestamptz default now());\n"
                f"create index if not exists t{n}_name on {schema}.t{n} (name);\n"
                f"grant select on {schema}.t{n} to anon, authenticated;\n")
    if kind == "function":
        return (f"create or replace function {schema}.f{n}(a int) returns int language plpgsql stable as $$\n"
                f"begin\n  -- generated body\n  return a + {n};\nend;\n$$;\n"
                f"grant execute on function {schema}.f{n}(int) to authenticated, service_role;\n")
    if kind == "grant":
        return (f"grant usage on schema {schema} to anon, authenticated, service_role;\n"
                f"alter default privileges in schema {schema} grant all on tables to service_role;\n")
    return (f"create table if not exists {schema}.p{n} (id int primary key, owner uuid);\n"
            f"alter table {schema}.p{n} enable row level security;\n"
            f"create policy p{n}_own on {schema}.p{n} for select to authenticated using (owner is not null);\n")


def _file(rng: random.Random, size: int, schema: str, prefix: str = "") -> str:
    text, n = prefix + f"-- migrate:up\ncreate schema if not exists {schema};\n", 0
    while len(text) < size:
        text += _block(rng, n, schema)
        n += 1
    return text + "\n-- migrate:down\n"


def generate(root: Path, seed: int = 5) -> list[Path]:
    rng = random.Random(seed)
    init, mig = root / "init-scripts", root / "migrations"
    init.mkdir(parents=True)
    mig.mkdir()
    files = []
    init_sizes = [2600, 8000, 6500, 1500, 3000]
    for i, size in enumerate(init_sizes):
        prefix = ""
        if i == 0:
            prefix = ("alter user supabase_admin with superuser createdb createrole replication bypassrls;\n"
                      "create role anon nologin noinherit;\ncreate role authenticated nologin noinherit;\n"
                      "create role service_role nologin noinherit bypassrls;\n"
                      "create user authenticator noinherit;\ngrant anon, authenticated, service_role to authenticator;\n"
                      "create schema if not exists extensions;\n")
        path = init / f"0000000000000{i}-schema-{i}.sql"
        path.write_text(_file(rng, size, f"init{i}", prefix))
        files.append(path)
    for i in range(41):
        size = int(rng.lognormvariate(7.0, 0.8))  # median ~1.1 KB, a few up to ~6 KB, like the release
        prefix = ""
        if i == 3:
            prefix = ("create or replace function extensions.watch() returns event_trigger language plpgsql as $$\n"
                      "begin perform pg_notify('pgrst', 'reload schema'); end; $$;\n"
                      "create event trigger bench_watch on ddl_command_end execute procedure extensions.watch();\n")
        if i == 7:
            prefix = "set role authenticator;\nreset role;\n"
        path = mig / f"2022{i:04d}000000_migration_{i}.sql"
        path.write_text(_file(rng, min(size, 6000), f"m{i}", prefix))
        files.append(path)
    selfhost = {
        "init-scripts/98-webhooks.sql": "BEGIN;\n" + _file(rng, 2500, "supabase_functions") + "COMMIT;\n",
        "init-scripts/99-roles.sql": "\\set pgpass `echo \"$POSTGRES_PASSWORD\"`\n"
                                     "ALTER USER authenticator WITH PASSWORD :'pgpass';\n",
        "init-scripts/99-jwt.sql": "\\set jwt_secret `echo \"$JWT_SECRET\"`\n\\set jwt_exp `echo \"$JWT_EXP\"`\n"
                                   "ALTER DATABASE postgres SET \"app.settings.jwt_secret\" TO :'jwt_secret';\n"
                                   "ALTER DATABASE postgres SET \"app.settings.jwt_exp\" TO :'jwt_exp';\n",
        "migrations/97-_supabase.sql": "\\set pguser `echo \"$POSTGRES_USER\"`\nCREATE DATABASE _supabase WITH OWNER :pguser;\n",
        "migrations/99-logs.sql": "\\set pguser `echo \"$POSTGRES_USER\"`\n\\c _supabase\n"
                                  "create schema if not exists _analytics;\nalter schema _analytics owner to :pguser;\n\\c postgres\n",
        "migrations/99-pooler.sql": "\\set pguser `echo \"$POSTGRES_USER\"`\n\\c _supabase\n"
                                    "create schema if not exists _supavisor;\nalter schema _supavisor owner to :pguser;\n\\c postgres\n",
        "migrations/99-realtime.sql": "\\set pguser `echo \"$POSTGRES_USER\"`\n"
                                      "create schema if not exists _realtime;\nalter schema _realtime owner to :pguser;\n",
    }
    for rel, text in selfhost.items():
        path = root / rel
        path.write_text(text)
        files.append(path)
    return files


def run_runner(runner: Path, cluster: pg.Cluster, root: Path, secrets: Path) -> tuple[float, list[dict], int]:
    env = {"PGOPTIONS": "-c synchronous_commit=local -c statement_timeout=0", "SUPABASE_MIGRATIONS_DIR": str(root),
           "SUPABASE_SECRETS_DIR": str(secrets), "PSQL": str(pg.pg_bin() / "psql"),
           "SUPABASE_CREATE_EXTENSIONS_FILE": "/nonexistent"}
    t0 = time.perf_counter()
    proc = subprocess.run(as_postgres([str(runner), "admin", cluster.conninfo()]), env=env,
                          capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - t0
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0:
        raise SystemExit(f"runner failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return elapsed, events, proc.returncode


def run_baseline(cluster: pg.Cluster, root: Path) -> float:
    """migrate.sh's loop on the same files (one psql per file, no bookkeeping): the reference under equal load."""
    env = {"PATH": "/usr/bin:/bin", **SECRETS, "POSTGRES_USER": "supabase_admin"}
    psql = str(pg.pg_bin() / "psql")
    t0 = time.perf_counter()
    subprocess.run(as_postgres([psql, "-X", "-q", "-h", str(cluster.sockets), "-p", str(cluster.port), "-U", "postgres",
                                "-d", "postgres", "-c", "create role supabase_admin superuser login"]),
                   env=env, check=True, capture_output=True)
    for phase, user in (("init-scripts", "postgres"), ("migrations", "supabase_admin")):
        for path in sorted((root / phase).glob("*.sql"), key=lambda p: p.name.encode()):
            subprocess.run(as_postgres([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "--no-psqlrc", "--no-password",
                                        "-h", str(cluster.sockets), "-p", str(cluster.port), "-U", user,
                                        "-d", "postgres", "-f", str(path)]),
                           env=env, check=True, capture_output=True)
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="cgbench-"))
    give_to_postgres(base)
    try:
        runner_dir = base / "supabase"
        shutil.copytree(ROOT / "image" / "bootstrap", runner_dir)
        root = base / "db"
        files = generate(root)
        secrets = base / "secrets"
        secrets.mkdir()
        for k, v in SECRETS.items():
            (secrets / k).write_text(v)
        give_to_postgres(base)
        template = base / "template"
        pg.initdb(template)
        size = sum(p.stat().st_size for p in files)
        print(f"files: {len(files)} ({size / 1024:.0f} KiB), PostgreSQL {pg.pg_bin().parent.name}, "
              f"runs: {args.runs}")
        totals, reruns, per_file, baselines = [], [], [], []
        for i in range(args.runs):
            cluster = pg.start(pg.clone_template(template, base / f"run{i}"))
            try:
                total, events, _ = run_runner(runner_dir / "supabase-bootstrap", cluster, root, secrets)
                applied = [e for e in events if e["event"] == "applied"]
                assert len(applied) == len(files), f"applied {len(applied)} of {len(files)}"
                per_file += [e["duration_ms"] for e in applied]
                rerun, events, _ = run_runner(runner_dir / "supabase-bootstrap", cluster, root, secrets)
                assert not [e for e in events if e["event"] == "applied"]
                totals.append(total)
                reruns.append(rerun)
            finally:
                cluster.stop()
            reference = pg.start(pg.clone_template(template, base / f"ref{i}"))
            try:
                baseline = run_baseline(reference, root)
                baselines.append(baseline)
            finally:
                reference.stop()
            print(f"run {i + 1}: apply {total:.2f} s ({total / len(files) * 1000:.1f} ms/file), "
                  f"rerun {rerun * 1000:.0f} ms; migrate.sh-style loop on the same files {baseline:.2f} s "
                  f"(ratio {total / baseline:.2f})")
        q = statistics.quantiles(per_file, n=20)
        print(f"per file (ms, from the runner's log): median {statistics.median(per_file):.1f}, "
              f"p95 {q[18]:.1f}, max {max(per_file):.1f}")
        print(f"apply median {statistics.median(totals):.2f} s (target <= {1.2 * 2.8:.2f} s); "
              f"rerun median {statistics.median(reruns) * 1000:.0f} ms (target < 500 ms); "
              f"ratio to the migrate.sh-style loop: median {statistics.median(t / b for t, b in zip(totals, baselines)):.2f} "
              f"(target <= 1.2)")
        print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    finally:
        stop_all()
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
