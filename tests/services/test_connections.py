"""Every service of the supabase-community chart, with the connection resolved from the rendered chart, against
a real PostgreSQL 15 bootstrapped with Supabase 15.8.1.085 and set up from the same spec: each connects with
exactly its resolved libpq parameters and does its first real work. Nothing wider gets in."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import pytest

from chartgen import supabase_services
from tests.support import supabase_image as img
from tests.support.procs import give_to_postgres

from . import database as db
from .conftest import EXAMPLES, install, secret_value
from .resolve import container_env, service_connection

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FACTS = supabase_services.facts()
WITH_ANALYTICS = {"deployment": {"analytics": {"enabled": True}, "vector": {"enabled": True}}}

# --- each service's first real work, as one session on its own connection ---------------------------------

FIRST_ACTIONS: dict[str, list[str]] = {
    # PostgREST: LISTEN for schema reloads on its session, then per request a transaction that switches to the
    # JWT's role (anon for the anon key) and reads the schema cache from the catalog.
    "rest": [
        "LISTEN pgrst",
        "BEGIN", "SET LOCAL ROLE anon", "SELECT 'role=' || current_user",
        "SELECT count(*) >= 0 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname IN ('public', 'storage', 'graphql_public')",
        "COMMIT",
        "BEGIN", "SET LOCAL ROLE service_role", "SELECT 'role=' || current_user", "COMMIT",
        "BEGIN", "SET LOCAL ROLE authenticated", "SELECT 'role=' || current_user", "COMMIT",
        "NOTIFY pgrst, 'reload schema'",
        "SELECT 'after-notify'",
    ],
    # GoTrue: migrations in its own schema (pop's schema_migrations in auth), DDL on its tables.
    "auth": [
        "SET search_path = auth",
        "SELECT 'migrations=' || count(*) FROM auth.schema_migrations",
        "CREATE TABLE auth.chartgen_probe (id uuid PRIMARY KEY)",
        "ALTER TABLE auth.users ADD COLUMN chartgen_probe text",
        "ALTER TABLE auth.users DROP COLUMN chartgen_probe",
        "DROP TABLE auth.chartgen_probe",
        "SELECT 'auth-ddl-ok'",
    ],
    # Storage: its migrations in the storage schema, DDL on its own tables.
    "storage": [
        "SET search_path = storage",
        "CREATE TABLE storage.chartgen_probe (id int PRIMARY KEY)",
        "ALTER TABLE storage.objects ADD COLUMN chartgen_probe text",
        "ALTER TABLE storage.objects DROP COLUMN chartgen_probe",
        "DROP TABLE storage.chartgen_probe",
        "SELECT 'buckets=' || count(*) FROM storage.buckets",
        "SELECT 'storage-ddl-ok'",
    ],
    # Realtime: its own tables in _realtime (DB_AFTER_CONNECT_QUERY), a logical slot read with wal2json, and
    # the publication it reads (supabase_realtime, created by Supabase's migrations).
    "realtime": [
        "CREATE TABLE IF NOT EXISTS chartgen_tenants (id int PRIMARY KEY)",
        "SELECT 'schema=' || (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relname = 'chartgen_tenants')",
        "SELECT 'slot=' || slot_name FROM pg_create_logical_replication_slot('chartgen_realtime_probe', 'wal2json')",
        "CREATE TABLE public.chartgen_messages (id int PRIMARY KEY, body text)",
        "ALTER PUBLICATION supabase_realtime ADD TABLE public.chartgen_messages",
        "INSERT INTO public.chartgen_messages VALUES (1, 'hello')",
        "SELECT 'change=' || data FROM pg_logical_slot_get_changes('chartgen_realtime_probe', NULL, NULL) "
        "WHERE data LIKE '%chartgen_messages%'",
        "SELECT 'published=' || tablename FROM pg_publication_tables WHERE pubname = 'supabase_realtime'",
        "SELECT pg_drop_replication_slot('chartgen_realtime_probe')",
    ],
    # postgres-meta: the catalog queries behind Studio's table editor.
    "meta": [
        "SELECT 'schemas=' || count(*) FROM pg_catalog.pg_namespace WHERE nspname IN ('auth', 'storage', 'realtime')",
        "SELECT 'roles=' || count(*) FROM pg_catalog.pg_roles WHERE rolname IN ('anon', 'authenticated', 'service_role')",
        "SELECT 'columns=' || count(*) FROM information_schema.columns WHERE table_schema = 'auth' AND table_name = 'users'",
        "SELECT 'extensions=' || count(*) FROM pg_catalog.pg_extension",
        "SELECT 'policies=' || count(*) FROM pg_catalog.pg_policies",
    ],
    # Logflare: its Postgres backend in the _supabase database, schema _analytics.
    "analytics": [
        "SELECT 'db=' || current_database()",
        "CREATE TABLE _analytics.chartgen_probe (id bigint PRIMARY KEY, event jsonb)",
        "INSERT INTO _analytics.chartgen_probe VALUES (1, '{}')",
        "DROP TABLE _analytics.chartgen_probe",
        "SELECT 'analytics-ddl-ok'",
    ],
}

EXPECT: dict[str, list[str]] = {
    "rest": ["role=anon", "role=service_role", "role=authenticated",
             'Asynchronous notification "pgrst" with payload "reload schema" received'],
    "auth": ["auth-ddl-ok"],
    "storage": ["storage-ddl-ok"],
    "realtime": ["schema=_realtime", "slot=chartgen_realtime_probe", "chartgen_messages", "published=chartgen_messages"],
    "meta": ["schemas=3", "roles=3"],
    "analytics": ["db=_supabase", "analytics-ddl-ok"],
}


# --- the database, per example ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def workspace():
    base = Path(tempfile.mkdtemp(prefix="cgsvc-"))
    give_to_postgres(base)
    yield base
    shutil.rmtree(base, ignore_errors=True)


class Setup:
    """One example installed the README's way, and its database running here."""

    def __init__(self, example: Path, services_chart: Path, workspace: Path, payload: Path):
        self.installed = install(example, services_chart, WITH_ANALYTICS)
        spec = self.installed.spec
        work = workspace / example.stem
        work.mkdir()
        give_to_postgres(work)
        cr = next(d for d in self.installed.database if d["kind"] == "postgresql")
        secrets = self.installed.secrets
        self.password = secret_value(secrets[supabase_services.credentials_secret("supabase_admin", spec.name)],
                                     "password")
        jwt = secret_value(secrets[supabase_services.keys_secret_name(spec)], "secret")
        # The image's runner, reading the Secret files the chart mounts: supabase_admin's password from the
        # operator's Secret (pre-created with the shared password), the JWT secret.
        secrets_dir = img.write_secrets(work / "secrets", {"POSTGRES_PASSWORD": self.password, "JWT_SECRET": jwt,
                                                           "JWT_EXP": str(spec.get("spec.supabase.jwt.expiry"))})
        self.runner = img.install_runner(work / "supabase", secrets_dir, payload)
        from tests.image import pg
        pg.initdb(work / "data")
        crt, key = db.make_certificate(work, "server")
        # From the rendered CR: what decides whether Realtime's logical decoding works; the preloads as the
        # image's tests run them (Spilo's own libraries are not packaged here); TLS on, as Spilo runs.
        params = cr["spec"]["postgresql"]["parameters"]
        settings = {**img.server_settings(self.runner),
                    **{k: params[k] for k in ("wal_level", "output_plugin_libraries")},
                    "ssl": "on", "ssl_cert_file": str(crt), "ssl_key_file": str(key)}
        self.hba = db.map_addresses(cr["spec"]["patroni"]["pg_hba"], spec.get("spec.supabase.services.sourceCIDRs"))
        self.db = db.start(work / "data", settings, self.hba)
        run = img.run_bootstrap(self.runner, f"dbname=postgres user=postgres host={self.db.sockets} port={self.db.port}")
        assert run.code == 0, run.stdout[-3000:] + run.stderr
        # The operator's sync: every credentials Secret sets its role's password (and LOGIN).
        for name, doc in secrets.items():
            if name.endswith(".credentials.postgresql.acid.zalan.do"):
                role, password = secret_value(doc, "username"), secret_value(doc, "password")
                self.db.admin(f"ALTER ROLE {role} WITH LOGIN PASSWORD '{password}'")

    def connection(self, service: str):
        containers = self.installed.deployments()
        conn = service_connection(service, container_env(containers[service], self.installed.secrets))
        # The primary's Service name resolves to the primary; here, to the server on 127.0.0.1.
        assert conn.params["host"] == supabase_services.primary_host(self.installed.spec)
        assert conn.params["port"] == str(supabase_services.PORT)
        params = {**conn.params, "host": "127.0.0.1", "port": str(self.db.port)}
        return conn, params

    def stop(self) -> None:
        self.db.stop()


@pytest.fixture(scope="module", params=EXAMPLES, ids=lambda p: p.stem)
def setup(request, services_chart, workspace, supabase_payload):
    s = Setup(request.param, services_chart, workspace, supabase_payload())
    yield s
    s.stop()


@pytest.mark.parametrize("service", list(FACTS["connections"]))
def test_service_connects_with_its_resolved_parameters_and_does_its_first_work(setup, service):
    conn, params = setup.connection(service)
    statements = conn.after_connect + FIRST_ACTIONS[service]
    result = db.psql_script(params, statements)
    assert result.ok, f"{service} as {params['user']}@{params['dbname']} sslmode={params.get('sslmode')}: {result.stderr}"
    for expected in EXPECT[service]:
        assert expected in result.stdout + result.stderr, (service, expected, result.stdout)


def test_realtime_streams_its_publication_over_a_replication_connection(setup):
    """Realtime's replication connection (walsender, replication=database) with pgoutput and a publication."""
    conn, params = setup.connection("realtime")
    repl = {**params, "replication": "database"}
    ident = db.psql(repl, "IDENTIFY_SYSTEM")
    assert ident.ok, ident.stderr
    slot = db.psql(repl, "CREATE_REPLICATION_SLOT chartgen_walsender TEMPORARY LOGICAL pgoutput")
    assert slot.ok and "chartgen_walsender" in slot.stdout, slot.stderr


def test_nothing_wider_gets_in(setup):
    spec = setup.installed.spec
    _, rest = setup.connection("rest")
    # the API role cannot reach Logflare's database, nor the services' roles another database
    denied = db.psql({**rest, "dbname": "_supabase"}, "SELECT 1")
    assert not denied.ok and "no encryption" in denied.stderr, denied.stderr
    # a role outside the services' list, with its own (operator) password, is refused without TLS
    secrets = setup.installed.secrets
    functions = secrets.get(supabase_services.credentials_secret("supabase_functions_admin", spec.name))
    other = {**rest, "user": "supabase_functions_admin",
             "password": secret_value(functions, "password") if functions else "whatever"}
    refused = db.psql(other, "SELECT 1")
    assert not refused.ok and "no encryption" in refused.stderr, refused.stderr
    # edge functions' SUPABASE_DB_URL names postgres, the operator's superuser: not opened
    containers = setup.installed.deployments()
    fn = service_connection("functions", container_env(containers["functions"], secrets))
    fn_params = {**fn.params, "host": "127.0.0.1", "port": str(setup.db.port)}
    assert fn_params["user"] == "postgres"
    assert not db.psql(fn_params, "SELECT 1").ok
    # a wrong password fails even from the pod network
    assert "password authentication failed" in db.psql({**rest, "password": "wrong"}, "SELECT 1").stderr
    # Spilo's own rules still hold: with TLS, a role logs in with its password (hostssl all all all md5)
    tls = db.psql({**rest, "sslmode": "require"}, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    assert tls.ok and tls.stdout.strip() == "t", tls.stderr


def test_the_operators_pooler_refuses_the_services_connection(setup, workspace):
    """Why the services use the primary: the operator's PgBouncer requires client TLS, which sslmode=disable
    never offers (and PostgREST's LISTEN, Realtime's replication need a session anyway)."""
    conn, params = setup.connection("rest")
    server, port = db.start_operator_pooler(workspace / f"pooler-{setup.installed.spec.name}", setup.db.port,
                                            {params["user"]: params["password"]})
    try:
        through = {**params, "port": str(port)}
        refused = db.psql(through, "SELECT 1")
        assert not refused.ok and re.search(r"SSL required", refused.stderr), refused.stderr
        # the same connection with TLS goes through: it is the TLS that the pooler refuses, nothing else
        tls = db.psql({**through, "sslmode": "require"}, "SELECT current_user")
        assert tls.ok and tls.stdout.strip() == "authenticator", tls.stderr
    finally:
        server.stop()
