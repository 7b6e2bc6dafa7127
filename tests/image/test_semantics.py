"""Supabase's behaviour on a Spilo-style cluster bootstrapped with the real 15.8.1.085 payload: the things
Supabase's services rely on, each checked on the running server."""

from __future__ import annotations

import json

import pytest

from tests.image import pg, roles
from tests.support import supabase_image as img
from tests.support.upstream import NEW

pytestmark = pytest.mark.integration

PASSWORD = img.SECRETS["POSTGRES_PASSWORD"]


@pytest.fixture(scope="module")
def supabase(pg_base, supabase_payload):
    base = pg_base / "semantics"
    secrets = img.write_secrets(base / "secrets")
    runner = img.install_runner(base / "supabase", secrets, migrations_dir=supabase_payload(NEW))
    scripts = img.install_scripts(base / "scripts", runner)
    data = base / "c" / "data"
    pg.initdb(data)
    pg.configure(data, img.server_settings(runner))
    cluster = pg.start(data, env={"PATH": "/usr/bin:/bin"})
    # As Patroni calls bootstrap.post_init: the wrapper, HUMAN_ROLE, a key=value conninfo; no SUPABASE_* env.
    run = img.run_bootstrap(scripts, cluster.conninfo(), script="post_init.sh")
    assert run.code == 0, run.stdout[-3000:] + run.stderr
    holder = {"cluster": cluster}
    yield holder
    holder["cluster"].stop()


def tcp(c: pg.Cluster, sql: str, user: str, check: bool = True):
    return c.psql(sql, user=user, host="127.0.0.1", password=PASSWORD, check=check)


def test_ddl_as_postgres_notifies_postgrest_and_fires_the_grant_triggers(supabase):
    c = supabase["cluster"]
    out = c.psql("LISTEN pgrst;\ncreate table public.notify_probe (id int);\nselect 'after';").stdout
    assert 'Asynchronous notification "pgrst" with payload "reload schema"' in out
    # issue_pg_net_access: (re)creating pg_net as postgres grants its functions to the API roles.
    c.psql("drop extension if exists pg_net")
    c.psql("create extension pg_net schema extensions")
    assert c.value("select has_function_privilege('anon', 'net.http_get(text, jsonb, jsonb, integer)', 'execute')") == "t"
    assert c.value("select has_schema_privilege('service_role', 'net', 'usage')") == "t"


def test_authenticator_logs_in_and_switches_to_the_api_roles_only(supabase):
    c = supabase["cluster"]
    for role in ("anon", "authenticated", "service_role"):
        assert tcp(c, f"set role {role}; select current_user", "authenticator").stdout.strip().endswith(role)
    denied = tcp(c, "set role supabase_admin", "authenticator", check=False)
    assert denied.returncode != 0 and "permission denied" in denied.stderr
    for role in ("anon", "authenticated", "service_role"):
        login = tcp(c, "select 1", role, check=False)
        assert login.returncode != 0, f"{role} must not log in"


def test_a_vault_secret_written_before_a_restart_decrypts_after_it(supabase):
    c = supabase["cluster"]
    c.psql("select vault.create_secret('s3cr3t-value', 'probe_secret')")
    assert c.value("select decrypted_secret from vault.decrypted_secrets where name = 'probe_secret'") == "s3cr3t-value"
    assert c.value("select secret from vault.secrets where name = 'probe_secret'") != "s3cr3t-value"
    c.stop()
    # The same server, same environment-less start: the key comes from the key script via defaults.env.
    supabase["cluster"] = c = pg.start(c.data, env={"PATH": "/usr/bin:/bin"})
    assert c.value("select decrypted_secret from vault.decrypted_secrets where name = 'probe_secret'") == "s3cr3t-value"


def test_pgbouncer_get_auth_answers_for_the_pooler(supabase):
    c = supabase["cluster"]
    out = tcp(c, "select username, password from pgbouncer.get_auth('authenticator')", "pgbouncer").stdout.strip()
    user, _, secret = out.partition("|")
    assert user == "authenticator" and secret.startswith("SCRAM-SHA-256$")
    assert tcp(c, "select count(*) from pgbouncer.get_auth('authenticator')", "anon", check=False).returncode != 0


def test_the_realtime_publication_and_schemas_exist(supabase):
    c = supabase["cluster"]
    assert c.value("select pubname from pg_publication where pubname = 'supabase_realtime'") == "supabase_realtime"
    assert c.value("select pg_get_userbyid(nspowner) from pg_namespace where nspname = '_realtime'") == "supabase_admin"


def test_database_ownership_is_supabases(supabase):
    """migrate.sh makes `postgres` the owner of database postgres; _supabase belongs to POSTGRES_USER."""
    c = supabase["cluster"]
    owners = dict(c.rows("select datname, pg_get_userbyid(datdba) from pg_database where not datistemplate"))
    assert owners == {"postgres": "postgres", "_supabase": "supabase_admin"}


def test_postgres_stays_superuser_on_spilo(supabase):
    """Spilo's Patroni connects as postgres: the runner restores SUPERUSER after Supabase's demotion. The
    chosen consequence (image/README.md): Supabase's later revokes from postgres are recorded in the catalog
    but do not bind it, as they would not bind any superuser."""
    c = supabase["cluster"]
    assert c.value("select rolsuper from pg_roles where rolname = 'postgres'") == "t"
    assert c.value("select count(*) from supabase_bootstrap.applied_files "
                   "where name = 'migrations/10000000000000_demote-postgres.sql'") == "1"
    # 20250421084701 revoked supabase_auth_admin and CREATE on schema auth from postgres ...
    assert c.value("select count(*) from pg_auth_members where roleid = 'supabase_auth_admin'::regrole "
                   "and member = 'postgres'::regrole") == "0"
    acl = c.value("select array_to_string(nspacl, ',') from pg_namespace where nspname = 'auth'").split(",")
    assert [a for a in acl if a.startswith("postgres=")] == ["postgres=U/supabase_admin"], acl
    # ... yet postgres, a superuser, still acts in auth and as the auth admin.
    out = c.psql("set role supabase_auth_admin; select current_user;\nreset role;\n"
                 "create table auth.superuser_probe (id int); select count(*) from auth.superuser_probe;").stdout
    assert "supabase_auth_admin" in out
    assert c.value("select tableowner from pg_tables where schemaname = 'auth' and tablename = 'superuser_probe'") \
        == "postgres"
    # A role that is not a superuser is bound by the same kind of revoke: authenticator cannot create in auth.
    denied = tcp(c, "create table auth.not_allowed (id int)", "authenticator", check=False)
    assert denied.returncode != 0 and "permission denied" in denied.stderr


def test_the_charts_users_and_databases_are_what_the_sql_leaves_behind(supabase):
    """image/supabase-roles.yaml is derived from this cluster (python -m tests.image.roles), and the chart's
    supabase.users / supabase.databases defaults are that file."""
    derived = roles.derive(supabase["cluster"])
    assert derived == roles.load(), "run: python -m tests.image.roles"
    schema = json.loads((roles.REPO / "charts" / "spilo-supabase" / "values.schema.json").read_text())
    defaults = schema["properties"]["supabase"]["properties"]
    assert {u: sorted(f) for u, f in defaults["users"]["default"].items()} == \
        {u: sorted(f) for u, f in derived["users"].items()}
    assert defaults["databases"]["default"] == derived["databases"]
    assert "postgres" not in derived["databases"] and "postgres" not in derived["users"]


def test_every_extension_of_the_image_is_created_as_the_runner_creates_it(supabase, pg_base):
    """Each CREATE EXTENSION entry of image/extensions.yaml, through the runner's own creation step (on a rerun:
    the list is applied on every run), in its control file's schema or the list's. Not available on Debian 12,
    so not created here: UNAVAILABLE_HERE (pg_graphql, pg_jsonschema, wrappers, timescaledb)."""
    c = supabase["cluster"]
    wanted = [e for e in img.sql_extensions() if e.name not in img.UNAVAILABLE_HERE]
    assert {e.name for e in img.sql_extensions()} - {e.name for e in wanted} == img.UNAVAILABLE_HERE
    listing = img.create_list_here(pg_base / "semantics" / "all-extensions.txt", [e.name for e in wanted])
    runner = pg_base / "semantics" / "supabase"
    run = img.run_bootstrap(runner, c.conninfo(), env={"SUPABASE_CREATE_EXTENSIONS_FILE": str(listing)})
    assert run.code == 0, run.stdout[-2000:] + run.stderr
    assert run.event("applied") == [] and run.event("extensions")[0]["created"] == [e.name for e in wanted]
    created = dict(c.rows("select extname, extnamespace::regnamespace from pg_extension"))
    fixed = dict(c.rows("select v.name, v.schema from pg_available_extension_versions v join pg_available_extensions a "
                        "on a.name = v.name and a.default_version = v.version where v.schema is not null"))
    for e in wanted:
        assert e.name in created, e.name
        assert created[e.name] == fixed.get(e.name, e.schema or created[e.name]), e.name
    # The two the old runner got wrong: their control files pin the schema.
    assert created["pgmq"] == "pgmq" and created["pg_tle"] == "pgtle"

    # An extension that is not installed stops the run with its name; nothing of the list is created.
    bad = pg_base / "semantics" / "bad-extensions.txt"
    bad.write_text("pg_hashids extensions\npg_graphql -\n")
    bad.chmod(0o644)
    c.psql("drop extension if exists pg_hashids")
    run = img.run_bootstrap(runner, c.conninfo(), env={"SUPABASE_CREATE_EXTENSIONS_FILE": str(bad)})
    assert run.code == 1 and "not installed on this server: pg_graphql" in run.stderr
    assert c.value("select count(*) from pg_extension where extname = 'pg_hashids'") == "0"
