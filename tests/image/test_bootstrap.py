"""The bootstrap runner on a real PostgreSQL 15, called exactly as Patroni calls post_init.

As OS user postgres, with `HUMAN_ROLE CONNINFO` and an environment holding only what Patroni passes
(PGOPTIONS, PGPASSFILE-style variables) plus the runner's own documented variables: no PATH.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.image import pg
from tests.support.procs import as_postgres, give_to_postgres

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SECRETS = {"POSTGRES_PASSWORD": "s3cret-Pa55 with 'quote'", "JWT_SECRET": "jwt-secret-at-least-32-characters-long",
           "JWT_EXP": "7200"}
HUMAN_ROLE = "zalandos"


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def events(self) -> list[dict]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.startswith("{")]

    def event(self, name: str) -> list[dict]:
        return [e for e in self.events if e["event"] == name]


@pytest.fixture(scope="session")
def installed(pg_base) -> Path:
    """image/bootstrap copied where the postgres user can read it, as the image installs it."""
    dest = pg_base / "image" / "supabase"
    shutil.copytree(REPO / "image" / "bootstrap", dest)
    # The fixture list too: the checkout may sit in a directory the postgres user cannot enter.
    shutil.copy(FIXTURES / "create-extensions.txt", dest.parent / "fixture-create-extensions.txt")
    give_to_postgres(dest.parent)
    return dest


@pytest.fixture(scope="session")
def template(pg_base) -> Path:
    data = pg_base / "template" / "data"
    pg.initdb(data)
    return data


@pytest.fixture()
def workdir(pg_tmp) -> Path:
    return pg_tmp


@pytest.fixture()
def cluster(template, workdir):
    c = pg.start(pg.clone_template(template, workdir / "data"))
    yield c
    c.stop()


def migrations_copy(workdir: Path, *extra: Path) -> Path:
    root = workdir / "db"
    shutil.copytree(FIXTURES / "supabase", root)
    for path in extra:
        shutil.copy(path, root / "migrations" / path.name)
    give_to_postgres(root)
    return root


def secrets_dir(workdir: Path, values: dict[str, str] = SECRETS) -> Path:
    d = workdir / "secrets"
    d.mkdir(exist_ok=True)
    for name, value in values.items():
        # Kubernetes Secret volumes deliver values without a trailing newline; hand-made files often have one.
        (d / name).write_text(value + "\n")
    give_to_postgres(d)
    for f in d.iterdir():
        f.chmod(0o400)
    return d


def bootstrap(installed: Path, conninfo: str, root: Path, secrets: Path | None = None, env: dict | None = None,
              human_role: str = HUMAN_ROLE) -> Run:
    environment = {"PGOPTIONS": "-c synchronous_commit=local -c statement_timeout=0",
                   "SUPABASE_MIGRATIONS_DIR": str(root),
                   "SUPABASE_CREATE_EXTENSIONS_FILE": str(installed.parent / "fixture-create-extensions.txt"),
                   "PSQL": str(pg.pg_bin() / "psql")}
    if secrets is not None:
        environment["SUPABASE_SECRETS_DIR"] = str(secrets)
    environment.update(env or {})
    proc = subprocess.run(as_postgres([str(installed / "supabase-bootstrap"), human_role, conninfo]),
                          env=environment, capture_output=True, text=True, timeout=300)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def all_files(root: Path) -> dict[str, str]:
    return {f"{phase}/{p.name}": hashlib.sha256(p.read_bytes()).hexdigest()
            for phase in ("init-scripts", "migrations") for p in sorted((root / phase).glob("*.sql"))}


def applied(cluster: pg.Cluster) -> dict[str, str]:
    return dict(cluster.rows("select name, sha256 from supabase_bootstrap.applied_files order by name"))


def test_fresh_cluster_is_bootstrapped_and_a_rerun_applies_nothing(installed, cluster, workdir):
    root = migrations_copy(workdir)
    run = bootstrap(installed, cluster.conninfo(), root, secrets_dir(workdir))
    assert run.code == 0, run.stdout + run.stderr

    # One structured line per file, in byte order, init scripts as postgres and migrations as supabase_admin.
    files = all_files(root)
    lines = run.event("applied")
    assert [e["file"] for e in lines] == list(files)
    assert all(isinstance(e["duration_ms"], (int, float)) and e["duration_ms"] >= 0 for e in lines)
    assert {e["role"] for e in lines if e["file"].startswith("init-scripts/")} == {"postgres"}
    assert {e["role"] for e in lines if e["file"].startswith("migrations/")} == {"supabase_admin"}
    assert applied(cluster) == files

    roles = {r[0]: r[1:] for r in cluster.rows(
        "select rolname, rolsuper, rolcanlogin from pg_roles where rolname in "
        "('postgres','supabase_admin','anon','authenticated','service_role','authenticator')")}
    assert roles["postgres"] == ["t", "t"], "postgres must stay superuser (Patroni needs it)"
    assert roles["supabase_admin"] == ["t", "t"]
    for api_role in ("anon", "authenticated", "service_role"):
        assert roles[api_role] == ["f", "f"], api_role
    assert run.event("superuser-kept")[0]["file"] == "migrations/10000000000000_demote-postgres.sql"

    # Secrets reached the SQL through the backtick \set lines.
    settings = cluster.value("select array_to_string(setconfig, ',') from pg_db_role_setting s "
                             "join pg_database d on d.oid = s.setdatabase where d.datname = 'postgres' "
                             "and s.setrole = 0")
    assert f"app.settings.jwt_secret={SECRETS['JWT_SECRET']}" in settings
    assert "app.settings.jwt_exp=7200" in settings
    login = cluster.psql("select current_user", user="authenticator", host="127.0.0.1",
                         password=SECRETS["POSTGRES_PASSWORD"])
    assert login.stdout.strip() == "authenticator"
    admin = cluster.psql("select current_user", user="supabase_admin", host="127.0.0.1",
                         password=SECRETS["POSTGRES_PASSWORD"])
    assert admin.stdout.strip() == "supabase_admin"

    # Ownership follows the role each file ran as, SET ROLE included.
    owners = dict(cluster.rows("select nspname, pg_get_userbyid(nspowner) from pg_namespace where nspname in "
                               "('auth','supabase_functions','graphql_public','extensions','supabase_bootstrap')"))
    assert owners == {"auth": "supabase_admin", "supabase_functions": "supabase_admin",
                      "graphql_public": "postgres", "extensions": "postgres", "supabase_bootstrap": "postgres"}
    assert cluster.value("select tableowner from pg_tables where schemaname='auth' and tablename='sessions'") \
        == "supabase_auth_admin"
    assert cluster.value("select pg_get_userbyid(evtowner) || ' ' || evtenabled::text from pg_event_trigger "
                         "where evtname = 'pgrst_ddl_watch'") == "supabase_admin O"
    assert cluster.value("select count(*) from pg_tables where tablename = 'after_event_trigger'") == "1"

    # \c into another database, with and without going back.
    assert cluster.value("select pg_get_userbyid(datdba) from pg_database where datname = '_supabase'") \
        == "supabase_admin"
    assert cluster.rows("select nspname, pg_get_userbyid(nspowner) from pg_namespace "
                        "where nspname like '\\_%' escape '\\' order by 1", dbname="_supabase") == [
        ["_analytics", "supabase_admin"], ["_realtime", "supabase_admin"]]

    # The post-migration CREATE EXTENSION list.
    assert cluster.rows("select extname, extnamespace::regnamespace from pg_extension "
                        "where extname in ('pgcrypto','uuid-ossp','citext') order by 1") == [
        ["citext", "public"], ["pgcrypto", "extensions"], ["uuid-ossp", "extensions"]]

    # The rerun: nothing applied, exit 0, the table unchanged.
    before = cluster.rows("select name, applied_at from supabase_bootstrap.applied_files order by name")
    again = bootstrap(installed, cluster.conninfo(), root, secrets_dir(workdir))
    assert again.code == 0, again.stdout + again.stderr
    assert again.event("applied") == []
    assert again.event("up-to-date")[0]["files"] == len(files)
    assert cluster.rows("select name, applied_at from supabase_bootstrap.applied_files order by name") == before


def test_a_new_file_is_applied_alone_and_a_changed_file_is_an_error(installed, cluster, workdir):
    root = migrations_copy(workdir)
    assert bootstrap(installed, cluster.conninfo(), root, secrets_dir(workdir)).code == 0

    (root / "migrations" / "99-zz-new.sql").write_text("create table public.added_later (id int);\n")
    give_to_postgres(root)
    run = bootstrap(installed, cluster.conninfo(), root, secrets_dir(workdir))
    assert run.code == 0, run.stdout + run.stderr
    assert [e["file"] for e in run.event("applied")] == ["migrations/99-zz-new.sql"]

    changed = root / "init-scripts" / "99-jwt.sql"
    changed.write_text(changed.read_text() + "-- edited after it was applied\n")
    (root / "migrations" / "99-zzz-pending.sql").write_text("create table public.never (id int);\n")
    give_to_postgres(root)
    run = bootstrap(installed, cluster.conninfo(), root, secrets_dir(workdir))
    assert run.code == 1
    mismatch = run.event("checksum-mismatch")
    assert [e["file"] for e in mismatch] == ["init-scripts/99-jwt.sql"]
    assert mismatch[0]["current_sha256"] == hashlib.sha256(changed.read_bytes()).hexdigest()
    assert "init-scripts/99-jwt.sql" in run.stderr and "changed" in run.stderr
    assert run.event("applied") == [], "nothing may be applied when an applied file changed"
    assert cluster.value("select count(*) from pg_tables where tablename = 'never'") == "0"


def test_a_failing_file_stops_the_run_with_its_name_and_the_psql_error(installed, cluster, workdir):
    root = migrations_copy(workdir, FIXTURES / "broken" / "50-broken.sql")
    run = bootstrap(installed, cluster.conninfo(), root, secrets_dir(workdir))
    assert run.code == 1
    failed = run.event("failed")
    assert len(failed) == 1 and failed[0]["file"] == "migrations/50-broken.sql"
    assert 'relation "public.no_such_table" does not exist' in failed[0]["error"]
    assert "migrations/50-broken.sql" in run.stderr and "no_such_table" in run.stderr

    recorded = applied(cluster)
    everything = all_files(root)
    before = [name for name in everything if name < "migrations/50-broken.sql"]
    assert sorted(recorded) == before, "exactly the files before the failing one are recorded"
    # ON_ERROR_STOP: the statement before the error ran, the one after did not; later files never ran.
    assert cluster.value("select string_agg(tablename, ',' order by tablename) from pg_tables "
                         "where tablename in ('before_the_error','after_the_error')") == "before_the_error"
    assert cluster.value("select count(*) from pg_database where datname = '_supabase'") == "0"

    # Fixed file, same name: the run resumes where it stopped.
    (root / "migrations" / "50-broken.sql").write_text("create table public.fixed (id int);\n")
    give_to_postgres(root)
    run = bootstrap(installed, cluster.conninfo(), root, secrets_dir(workdir))
    assert run.code == 0, run.stdout + run.stderr
    assert run.event("applied")[0]["file"] == "migrations/50-broken.sql"
    assert set(applied(cluster)) == set(all_files(root))


@pytest.mark.parametrize("missing", ["JWT_SECRET", "POSTGRES_PASSWORD"])
def test_a_missing_secret_refuses_to_run(installed, cluster, workdir, missing):
    values = {k: v for k, v in SECRETS.items() if k != missing}
    run = bootstrap(installed, cluster.conninfo(), migrations_copy(workdir), secrets_dir(workdir, values))
    assert run.code == 1
    assert missing in run.stderr and "Traceback" not in run.stderr
    assert applied(cluster) == {}
    assert cluster.value("select count(*) from pg_roles where rolname = 'supabase_admin'") == "0"


def test_an_empty_secret_in_the_environment_refuses_to_run(installed, cluster, workdir):
    run = bootstrap(installed, cluster.conninfo(), migrations_copy(workdir), secrets_dir(workdir),
                    env={"POSTGRES_PASSWORD": ""})
    assert run.code == 1
    assert "POSTGRES_PASSWORD is empty" in run.stderr
    assert applied(cluster) == {}


def test_secrets_from_the_environment_and_a_uri_conninfo(installed, cluster, workdir):
    uri = f"postgresql://postgres@{quote(str(cluster.sockets), safe='')}:{cluster.port}/postgres"
    env = {**SECRETS, "JWT_SECRET": "from-the-environment-not-a-file-xxxxxxxx", "POSTGRES_USER": "supabase_admin"}
    run = bootstrap(installed, uri, migrations_copy(workdir), secrets=None, env=env)
    assert run.code == 0, run.stdout + run.stderr
    assert "app.settings.jwt_secret=from-the-environment-not-a-file-xxxxxxxx" in cluster.value(
        "select array_to_string(setconfig, ',') from pg_db_role_setting where setrole = 0")


def test_a_replica_is_left_alone(installed, cluster, workdir):
    replica = pg.start_replica(cluster, workdir / "replica")
    try:
        # No secrets at all: a replica must not even need them.
        run = bootstrap(installed, replica.conninfo(), migrations_copy(workdir), secrets=None)
        assert run.code == 0, run.stdout + run.stderr
        assert run.event("skipped")[0]["reason"].startswith("server is in recovery")
        assert run.event("applied") == []
        assert cluster.value("select count(*) from pg_namespace where nspname = 'supabase_bootstrap'") == "0"
    finally:
        replica.stop()


def test_usage_errors(installed):
    proc = subprocess.run(as_postgres([str(installed / "supabase-bootstrap"), "only-one-argument"]),
                          env={}, capture_output=True, text=True)
    assert proc.returncode == 2 and "usage: supabase-bootstrap HUMAN_ROLE CONNINFO" in proc.stderr


def test_post_init_wrapper_runs_spilos_script_first_then_the_runner(installed, cluster, workdir):
    scripts = workdir / "scripts"
    scripts.mkdir()
    shutil.copy(REPO / "image" / "bootstrap" / "post_init.sh", scripts / "post_init.sh")
    shutil.copytree(installed, scripts / "supabase")
    marker = workdir / "spilo-ran"
    # Stands in for Spilo's post_init.sh, which needs Spilo's files; it must run first and get the same args.
    (scripts / "post_init.spilo.sh").write_text(
        "#!/bin/sh\nprintf '%s\\n' \"$@\" > " + str(marker) + "\n"
        "psql -X -q -d \"$2\" -c 'create table public.spilo_was_first (id int)'\n")
    (scripts / "post_init.spilo.sh").chmod(0o755)
    give_to_postgres(workdir)
    env = {"PATH": str(pg.pg_bin()) + ":/usr/bin:/bin", "SUPABASE_MIGRATIONS_DIR": str(migrations_copy(workdir)),
           "SUPABASE_SECRETS_DIR": str(secrets_dir(workdir)),
           "SUPABASE_CREATE_EXTENSIONS_FILE": str(installed.parent / "fixture-create-extensions.txt")}
    proc = subprocess.run(as_postgres([str(scripts / "post_init.sh"), HUMAN_ROLE, cluster.conninfo()]),
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert marker.read_text().splitlines() == [HUMAN_ROLE, cluster.conninfo()]
    spilo_xmin = int(cluster.value("select xmin::text from pg_class where relname = 'spilo_was_first'"))
    first_applied = int(cluster.value("select min(xmin::text::bigint) from supabase_bootstrap.applied_files"))
    assert spilo_xmin < first_applied, "Spilo's post_init must run before the Supabase bootstrap"

    # A failing Spilo step fails the wrapper and the runner never starts.
    (scripts / "post_init.spilo.sh").write_text("#!/bin/sh\necho 'spilo step failed' >&2\nexit 3\n")
    proc = subprocess.run(as_postgres([str(scripts / "post_init.sh"), HUMAN_ROLE, "dbname=postgres"]),
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3 and "spilo step failed" in proc.stderr
    assert '"logger":"supabase-bootstrap"' not in proc.stdout
