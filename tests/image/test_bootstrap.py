"""The bootstrap runner on a real PostgreSQL 15 with Supabase's real 15.8.1.085 SQL, called as Patroni calls
post_init: as OS user postgres, with `HUMAN_ROLE CONNINFO` and only Patroni's environment (no SUPABASE_*:
the runner finds the payload and the secrets through defaults.env, as in the image)."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.image import pg
from tests.support import supabase_image as img
from tests.support.procs import as_postgres, give_to_postgres
from tests.support.upstream import NEW

pytestmark = pytest.mark.integration

SECRETS = img.SECRETS
# A file of this project's own, added next to Supabase's to fail halfway (statement 2 of 3).
BROKEN = "create table public.before_the_error (id int);\nselect * from public.no_such_table;\n" \
         "create table public.after_the_error (id int);\n"


@pytest.fixture(scope="session")
def template(pg_base) -> Path:
    data = pg_base / "template" / "data"
    pg.initdb(data)
    return data


@pytest.fixture()
def env(pg_tmp, supabase_payload):
    """A private payload copy (tests add files to it), the secrets, the runner installed over them."""
    payload = supabase_payload.copy(NEW, pg_tmp / "initdb.d")
    give_to_postgres(payload)
    secrets = img.write_secrets(pg_tmp / "secrets")
    runner = img.install_runner(pg_tmp / "supabase", secrets, migrations_dir=payload)
    return runner, payload, secrets


@pytest.fixture()
def cluster(template, pg_tmp, env):
    runner = env[0]
    data = pg.clone_template(template, pg_tmp / "data")
    pg.configure(data, img.server_settings(runner))
    c = pg.start(data, env={"PATH": "/usr/bin:/bin"})
    yield c
    c.stop()


def all_files(root: Path) -> dict[str, str]:
    return {f"{phase}/{p.name}": hashlib.sha256(p.read_bytes()).hexdigest()
            for phase in ("init-scripts", "migrations") for p in sorted((root / phase).glob("*.sql"))}


def applied(cluster: pg.Cluster) -> dict[str, str]:
    return dict(cluster.rows("select name, sha256 from supabase_bootstrap.applied_files order by name"))


def test_fresh_cluster_is_bootstrapped_and_a_rerun_applies_nothing(env, cluster):
    runner, payload, _ = env
    run = img.run_bootstrap(runner, cluster.conninfo())
    assert run.code == 0, run.stdout[-3000:] + run.stderr

    # One structured line per file, in byte order, init scripts as postgres and migrations as supabase_admin.
    files = all_files(payload)
    lines = run.event("applied")
    assert [e["file"] for e in lines] == list(files) and len(files) >= 53
    assert all(isinstance(e["duration_ms"], (int, float)) and e["duration_ms"] >= 0 for e in lines)
    assert {e["role"] for e in lines if e["file"].startswith("init-scripts/")} == {"postgres"}
    assert {e["role"] for e in lines if e["file"].startswith("migrations/")} == {"supabase_admin"}
    assert applied(cluster) == files

    roles = {r[0]: r[1:] for r in cluster.rows(
        "select rolname, rolsuper, rolcanlogin from pg_roles where rolname in "
        "('postgres','supabase_admin','anon','authenticated','service_role','authenticator','pgbouncer')")}
    assert roles["postgres"] == ["t", "t"], "postgres must stay superuser (Patroni needs it)"
    assert roles["supabase_admin"] == ["t", "t"]
    assert roles["authenticator"] == roles["pgbouncer"] == ["f", "t"]
    for api_role in ("anon", "authenticated", "service_role"):
        assert roles[api_role] == ["f", "f"], api_role
    assert run.event("superuser-kept")[0]["file"] == "migrations/10000000000000_demote-postgres.sql"

    # Secrets reached Supabase's SQL through its backtick \set lines (99-jwt.sql, 99-roles.sql).
    settings = cluster.value("select array_to_string(setconfig, ',') from pg_db_role_setting s "
                             "join pg_database d on d.oid = s.setdatabase where d.datname = 'postgres' "
                             "and s.setrole = 0")
    assert f"app.settings.jwt_secret={SECRETS['JWT_SECRET']}" in settings
    assert "app.settings.jwt_exp=7200" in settings
    for user in ("authenticator", "supabase_admin", "pgbouncer", "supabase_auth_admin", "supabase_storage_admin"):
        login = cluster.psql("select current_user", user=user, host="127.0.0.1", password=SECRETS["POSTGRES_PASSWORD"])
        assert login.stdout.strip() == user

    owners = dict(cluster.rows("select nspname, pg_get_userbyid(nspowner) from pg_namespace where nspname in "
                               "('auth','storage','pgbouncer','extensions','supabase_bootstrap','vault')"))
    assert owners == {"auth": "supabase_admin", "storage": "supabase_admin", "pgbouncer": "pgbouncer",
                      "extensions": "postgres", "supabase_bootstrap": "postgres", "vault": "supabase_admin"}
    assert cluster.value("select tableowner from pg_tables where schemaname='auth' and tablename='users'") \
        == "supabase_auth_admin"
    assert cluster.value("select pg_get_userbyid(evtowner) || ' ' || evtenabled::text from pg_event_trigger "
                         "where evtname = 'pgrst_ddl_watch'") == "supabase_admin O"

    # \c into _supabase and back (99-logs.sql, 99-pooler.sql).
    assert cluster.value("select pg_get_userbyid(datdba) from pg_database where datname = '_supabase'") \
        == "supabase_admin"
    assert cluster.rows("select nspname, pg_get_userbyid(nspowner) from pg_namespace "
                        "where nspname like '\\_%' escape '\\' order by 1", dbname="_supabase") == [
        ["_analytics", "supabase_admin"], ["_supavisor", "supabase_admin"]]

    # The post-migration CREATE EXTENSION list, each in its control file's schema or `extensions`.
    assert dict(cluster.rows("select extname, extnamespace::regnamespace from pg_extension")) == {
        "plpgsql": "pg_catalog", "pg_stat_statements": "extensions", "pg_net": "extensions",
        "supabase_vault": "vault", "pgjwt": "extensions", "pgcrypto": "extensions",
        "uuid-ossp": "extensions"}
    assert run.event("extensions")[0]["created"] == [
        n for n in img.CATALOG.bootstrap_extensions() if n not in img.UNAVAILABLE_HERE]

    # The rerun: nothing applied, exit 0, the table unchanged.
    before = cluster.rows("select name, applied_at from supabase_bootstrap.applied_files order by name")
    again = img.run_bootstrap(runner, cluster.conninfo())
    assert again.code == 0, again.stdout + again.stderr
    assert again.event("applied") == []
    assert again.event("up-to-date")[0]["files"] == len(files)
    assert cluster.rows("select name, applied_at from supabase_bootstrap.applied_files order by name") == before


def test_a_new_file_is_applied_alone_and_an_edited_file_is_reported_not_rerun(env, cluster):
    runner, payload, _ = env
    assert img.run_bootstrap(runner, cluster.conninfo()).code == 0

    (payload / "migrations" / "99-zz-new.sql").write_text("create table public.added_later (id int);\n")
    edited = payload / "init-scripts" / "99-jwt.sql"
    edited.write_text(edited.read_text() + "create table public.never (id int);\n")
    give_to_postgres(payload)
    run = img.run_bootstrap(runner, cluster.conninfo())
    assert run.code == 0, run.stdout + run.stderr
    assert [e["file"] for e in run.event("applied")] == ["migrations/99-zz-new.sql"]
    report = run.event("edited-after-apply")
    assert [e["file"] for e in report] == ["init-scripts/99-jwt.sql"]
    assert report[0]["current_sha256"] == hashlib.sha256(edited.read_bytes()).hexdigest()
    assert cluster.value("select count(*) from pg_tables where tablename = 'never'") == "0", "not run again"
    assert cluster.rows("select name, current_sha256 from supabase_bootstrap.edited_files") == [
        ["init-scripts/99-jwt.sql", report[0]["current_sha256"]]]


def test_a_failing_file_stops_the_run_with_its_name_and_the_psql_error(env, cluster):
    runner, payload, _ = env
    (payload / "migrations" / "50-broken.sql").write_text(BROKEN)
    give_to_postgres(payload)
    run = img.run_bootstrap(runner, cluster.conninfo())
    assert run.code == 1
    failed = run.event("failed")
    assert len(failed) == 1 and failed[0]["file"] == "migrations/50-broken.sql"
    assert 'relation "public.no_such_table" does not exist' in failed[0]["error"]
    assert "migrations/50-broken.sql" in run.stderr and "no_such_table" in run.stderr

    recorded = applied(cluster)
    everything = all_files(payload)
    assert sorted(recorded) == [name for name in everything if name < "migrations/50-broken.sql"]
    # ON_ERROR_STOP: the statement before the error ran, the one after did not; later files never ran.
    assert cluster.value("select string_agg(tablename, ',' order by tablename) from pg_tables "
                         "where tablename in ('before_the_error','after_the_error')") == "before_the_error"
    assert cluster.value("select count(*) from pg_database where datname = '_supabase'") == "0"

    # Fixed file, same name: the run resumes where it stopped.
    (payload / "migrations" / "50-broken.sql").write_text("create table public.fixed (id int);\n")
    give_to_postgres(payload)
    run = img.run_bootstrap(runner, cluster.conninfo())
    assert run.code == 0, run.stdout + run.stderr
    assert run.event("applied")[0]["file"] == "migrations/50-broken.sql"
    assert set(applied(cluster)) == set(all_files(payload))


@pytest.mark.parametrize("missing", ["JWT_SECRET", "POSTGRES_PASSWORD"])
def test_a_missing_secret_refuses_to_run(env, cluster, missing):
    runner, _, secrets = env
    (secrets / missing).unlink()
    run = img.run_bootstrap(runner, cluster.conninfo())
    assert run.code == 1
    assert missing in run.stderr and "Traceback" not in run.stderr
    assert applied(cluster) == {}
    assert cluster.value("select count(*) from pg_roles where rolname = 'supabase_admin'") == "0"


def test_an_empty_secret_in_the_environment_refuses_to_run(env, cluster):
    run = img.run_bootstrap(env[0], cluster.conninfo(), env={"POSTGRES_PASSWORD": ""})
    assert run.code == 1
    assert "POSTGRES_PASSWORD is empty" in run.stderr
    assert applied(cluster) == {}


def test_secrets_from_the_environment_and_a_uri_conninfo(env, cluster):
    runner, _, secrets = env
    for f in secrets.iterdir():
        f.unlink()
    uri = f"postgresql://postgres@{quote(str(cluster.sockets), safe='')}:{cluster.port}/postgres"
    environment = {**SECRETS, "JWT_SECRET": "from-the-environment-not-a-file-xxxxxxxx"}
    run = img.run_bootstrap(runner, uri, env=environment)
    assert run.code == 0, run.stdout[-2000:] + run.stderr
    assert "app.settings.jwt_secret=from-the-environment-not-a-file-xxxxxxxx" in cluster.value(
        "select array_to_string(setconfig, ',') from pg_db_role_setting where setrole = 0 and setdatabase = "
        "(select oid from pg_database where datname = 'postgres')")


def test_a_replica_is_left_alone(env, cluster, pg_tmp):
    runner, _, secrets = env
    replica = pg.start_replica(cluster, pg_tmp / "replica")
    try:
        for f in secrets.iterdir():  # a replica must not even need the secrets
            f.unlink()
        run = img.run_bootstrap(runner, replica.conninfo())
        assert run.code == 0, run.stdout + run.stderr
        assert run.event("skipped")[0]["reason"].startswith("server is in recovery")
        assert run.event("applied") == []
        assert cluster.value("select count(*) from pg_namespace where nspname = 'supabase_bootstrap'") == "0"
    finally:
        replica.stop()


def test_usage_errors(env):
    proc = subprocess.run(as_postgres([str(env[0] / "supabase-bootstrap"), "only-one-argument"]),
                          env={}, capture_output=True, text=True)
    assert proc.returncode == 2 and "usage: supabase-bootstrap HUMAN_ROLE CONNINFO" in proc.stderr


def test_post_init_wrapper_runs_spilos_script_first_then_the_runner(env, cluster, pg_tmp):
    runner = env[0]
    scripts = img.install_scripts(pg_tmp / "scripts", runner)
    marker = pg_tmp / "spilo-ran"
    # Stands in for Spilo's post_init.sh, which needs Spilo's files; it must run first and get the same args.
    (scripts / "post_init.spilo.sh").write_text(
        "#!/bin/sh\nprintf '%s\\n' \"$@\" > " + str(marker) + "\n"
        "psql -X -q -d \"$2\" -c 'create table public.spilo_was_first (id int)'\n")
    give_to_postgres(pg_tmp)
    run = img.run_bootstrap(scripts, cluster.conninfo(), script="post_init.sh")
    assert run.code == 0, run.stdout[-2000:] + run.stderr
    assert marker.read_text().splitlines() == [img.HUMAN_ROLE, cluster.conninfo()]
    spilo_xmin = int(cluster.value("select xmin::text from pg_class where relname = 'spilo_was_first'"))
    first_applied = int(cluster.value("select min(xmin::text::bigint) from supabase_bootstrap.applied_files"))
    assert spilo_xmin < first_applied, "Spilo's post_init must run before the Supabase bootstrap"

    # A failing Spilo step fails the wrapper and the runner never starts.
    (scripts / "post_init.spilo.sh").write_text("#!/bin/sh\necho 'spilo step failed' >&2\nexit 3\n")
    run = img.run_bootstrap(scripts, "dbname=postgres", script="post_init.sh")
    assert run.code == 3 and "spilo step failed" in run.stderr
    assert '"logger":"supabase-bootstrap"' not in run.stdout


def test_each_file_starts_with_a_clean_session(env, cluster):
    """Files share one psql process per phase; the trailer must undo what a file leaves behind, as a new
    process would: SET ROLE, settings, search_path, and a \\c into another database."""
    runner, payload, _ = env
    (payload / "migrations" / "99-zz-1-leaves-state.sql").write_text(
        "set role anon;\nset search_path = nowhere;\nset statement_timeout = '1s';\n\\c _supabase\n")
    (payload / "migrations" / "99-zz-2-next.sql").write_text(
        "create table probe_after_state (id int);\n"
        "create table probe_settings as select current_setting('statement_timeout') as t, current_user as u;\n")
    give_to_postgres(payload)
    run = img.run_bootstrap(runner, cluster.conninfo())
    assert run.code == 0, run.stdout[-2000:] + run.stderr
    assert cluster.value("select schemaname || ' ' || tableowner from pg_tables where tablename = 'probe_after_state'") \
        == "public supabase_admin"
    assert cluster.rows("select t, u from probe_settings") == [["0", "supabase_admin"]]


def test_a_password_with_backslashes_and_a_tcp_conninfo_with_the_superusers_password(pg_tmp, template,
                                                                                     supabase_payload):
    # /bin/sh is dash on Debian: its echo turned "\n" and "\\" in POSTGRES_PASSWORD into other characters, and
    # the superuser's PGPASSWORD from CONNINFO was offered as supabase_admin's.
    password = r"back\slash\n 'quote' \"dq\" $HOME %s"
    payload = supabase_payload.copy(NEW, pg_tmp / "initdb.d")
    give_to_postgres(payload)
    secrets = img.write_secrets(pg_tmp / "secrets", {**SECRETS, "POSTGRES_PASSWORD": password})
    runner = img.install_runner(pg_tmp / "supabase", secrets, migrations_dir=payload)
    data = pg.clone_template(template, pg_tmp / "data")
    pg.configure(data, img.server_settings(runner))
    c = pg.start(data, env={"PATH": "/usr/bin:/bin"})
    try:
        c.psql("alter role postgres password 'the-bootstrap-superusers-own'")
        conninfo = (f"dbname=postgres user=postgres host=127.0.0.1 port={c.port} "
                    "password=the-bootstrap-superusers-own")
        run = img.run_bootstrap(runner, conninfo)
        assert run.code == 0, run.stdout[-3000:] + run.stderr
        assert len(run.event("applied")) >= 53
        login = c.psql("select current_user", user="supabase_admin", host="127.0.0.1", password=password)
        assert login.stdout.strip() == "supabase_admin"
    finally:
        c.stop()
