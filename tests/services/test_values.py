"""`chartgen values --for supabase-kubernetes` rendered through the real services chart (Helm's engine), every
Deployment's environment resolved as the kubelet would, against the Secrets that would exist."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
import yaml
from typer.testing import CliRunner

from chartgen import atomic, supabase_services
from chartgen.errors import ChartgenError
from chartgen.cli import app

from .conftest import EXAMPLES, SOURCE_JWT, install, secret_value
from .resolve import container_env, service_connection

pytestmark = pytest.mark.integration

FACTS = supabase_services.facts()
#: With the logging stack on: Logflare (analytics) connects to the `_supabase` database.
WITH_ANALYTICS = {"deployment": {"analytics": {"enabled": True}, "vector": {"enabled": True}}}


def shared_password(installed) -> str:
    """The one password of the database chart's pre-created operator Secrets (all of them hold it)."""
    creds = {name: doc for name, doc in installed.secrets.items() if name.endswith(".credentials.postgresql.acid.zalan.do")}
    passwords = {secret_value(doc, "password") for doc in creds.values()}
    assert len(creds) >= 4 and len(passwords) == 1, (sorted(creds), len(passwords))
    return passwords.pop()


def access(installed) -> dict[str, set[str]]:
    """(database -> roles) the rendered CR's pg_hba lets in without TLS, by scram, from the pod network."""
    cr = next(d for d in installed.database if d["kind"] == "postgresql")
    allowed: dict[str, set[str]] = {}
    for line in cr["spec"]["patroni"]["pg_hba"]:
        fields = line.split()
        if fields[0] == "hostnossl" and fields[-1] == "scram-sha-256":
            _, db, users, address, _method = fields
            assert address in installed.spec.get("spec.supabase.services.sourceCIDRs"), line
            for d in db.split(","):
                allowed.setdefault(d, set()).update(users.split(","))
    return allowed


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_database_client_resolves_to_the_primary_with_the_shared_password(example, services_chart):
    installed = install(example, services_chart, WITH_ANALYTICS)
    password = shared_password(installed)
    containers = installed.deployments()
    allowed = access(installed)
    assert set(FACTS["connections"]) <= set(containers), sorted(containers)
    for service, want in FACTS["connections"].items():
        env = container_env(containers[service], installed.secrets)
        conn = service_connection(service, env)
        p = conn.params
        assert p["host"] == supabase_services.primary_host(installed.spec), (service, p["host"])
        assert p["port"] == "5432"
        assert (p["user"], p["dbname"]) == (want["role"], want["database"]), service
        assert p["password"] == password, service
        # The chart hard-codes sslmode=disable (DB_SSL=false for Realtime): no TLS, whatever we generate.
        assert p.get("sslmode") == "disable", (service, conn.tls_note)
        assert p["user"] in allowed.get(p["dbname"], set()), (service, allowed)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_container_of_the_services_chart_starts(example, services_chart):
    # A secretKeyRef to a missing Secret or key keeps a pod in CreateContainerConfigError: every container of
    # every workload and test hook must resolve against the Secrets that exist after the README's steps.
    installed = install(example, services_chart, WITH_ANALYTICS)
    pods = [d for d in installed.services if d["kind"] in ("Deployment", "Job", "Pod", "StatefulSet")]
    assert not [d for d in pods if d["kind"] == "StatefulSet"], "deployment.db.enabled: false renders no database"
    checked = 0
    for doc in pods:
        spec = doc["spec"]["template"]["spec"] if "template" in doc["spec"] else doc["spec"]
        for container in spec.get("initContainers", []) + spec["containers"]:
            container_env(container, installed.secrets)
            checked += 1
    assert checked >= 10


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_the_values_hold_no_secret(example, services_chart):
    installed = install(example, services_chart)
    text = yaml.safe_dump(installed.services_values)
    plain = {secret_value(doc, k) for doc in installed.secrets.values() for k in (doc.get("data") or {})
             if doc["metadata"]["name"] in {installed.keys["metadata"]["name"]}
             or doc["metadata"]["name"].endswith(".credentials.postgresql.acid.zalan.do")}
    assert not [v for v in plain if len(v) >= 16 and v in text]
    # The services chart renders none of the Secrets we reference (it would overwrite or shadow them).
    ours = set(n for n in installed.secrets if n.endswith(".credentials.postgresql.acid.zalan.do")) | {
        installed.keys["metadata"]["name"]}
    rendered_by_services = {d["metadata"]["name"] for d in installed.services if d["kind"] == "Secret"}
    assert not ours & rendered_by_services


def _verify(token: str, secret: str) -> dict:
    header, payload, signature = token.split(".")
    expect = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)) == expect
    assert json.loads(base64.urlsafe_b64decode(header + "==")) == {"alg": "HS256", "typ": "JWT"}
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_services_get_the_databases_jwt_secret_and_keys_signed_with_it(example, services_chart):
    installed = install(example, services_chart)
    containers = installed.deployments()
    rest = container_env(containers["rest"], installed.secrets)
    auth = container_env(containers["auth"], installed.secrets)
    studio = container_env(containers["studio"], installed.secrets)
    assert rest["PGRST_JWT_SECRET"] == auth["GOTRUE_JWT_SECRET"] == studio["AUTH_JWT_SECRET"]
    secret = rest["PGRST_JWT_SECRET"]
    if not installed.spec.get("spec.supabase.jwt.existingSecret"):
        # the database chart's generated JWT secret (app.settings.jwt_secret in the database) is the same one
        db_jwt = next(d for d in installed.database if d["kind"] == "Secret" and d["metadata"]["name"].endswith("-jwt"))
        assert secret_value(db_jwt, "secret") == secret
    elif supabase_services.inherits_jwt(installed.spec):
        # a restored cluster keeps its source's JWT secret, in a keys Secret of its own name
        assert secret == SOURCE_JWT
        assert installed.keys["metadata"]["name"] == f"{installed.spec.name}-supabase-keys"
        assert installed.keys["metadata"]["name"] != installed.spec.get("spec.supabase.jwt.existingSecret")
    else:
        assert installed.keys["metadata"]["name"] == installed.spec.get("spec.supabase.jwt.existingSecret")
    assert _verify(studio["SUPABASE_ANON_KEY"], secret)["role"] == "anon"
    claims = _verify(studio["SUPABASE_SERVICE_KEY"], secret)
    assert claims["role"] == "service_role" and claims["exp"] > claims["iat"]
    realtime = container_env(containers["realtime"], installed.secrets)
    assert len(realtime["DB_ENC_KEY"]) == 16


def test_the_database_chart_opens_exactly_the_roles_the_services_use(services_chart):
    installed = install(EXAMPLES[0], services_chart)
    used: dict[str, set[str]] = {}
    for conn in FACTS["connections"].values():
        used.setdefault(conn["database"], set()).add(conn["role"])
    assert access(installed) == used
    cr = next(d for d in installed.database if d["kind"] == "postgresql")
    assert sorted(cr["spec"]["usersIgnoringSecretRotation"]) == sorted(set().union(*used.values()))


def test_values_cli_writes_the_same_values(tmp_path):
    example = next(p for p in EXAMPLES if p.stem == "trio")
    out = tmp_path / "supabase-values.yaml"
    result = CliRunner().invoke(app, ["values", str(example), "--for", "supabase-kubernetes", "--output-file", str(out)])
    assert result.exit_code == 0, result.output
    from chartgen import spec as spec_mod
    assert yaml.safe_load(out.read_text()) == supabase_services.values(spec_mod.load(str(example)))
    as_json = CliRunner().invoke(app, ["values", str(example), "--for", "supabase-kubernetes", "--output", "json"])
    assert json.loads(as_json.stdout) == yaml.safe_load(out.read_text())


def test_values_cli_refuses_a_spec_without_services(tmp_path):
    spec = tmp_path / "plain.yaml"
    spec.write_text((EXAMPLES[0].read_text()).replace("enabled: true            # GoTrue", "enabled: false  # GoTrue"))
    result = CliRunner().invoke(app, ["values", str(spec), "--for", "supabase-kubernetes"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{spec}:") and "spec.supabase.services.enabled: must be true" in lines[0]
    assert "Traceback" not in result.output


def test_keys_cli_needs_the_jwt_secret_unless_the_spec_names_its_secret(tmp_path):
    trio = next(p for p in EXAMPLES if p.stem == "trio")
    result = CliRunner().invoke(app, ["keys", str(trio)])
    assert result.exit_code == 1 and "--jwt-secret-file" in result.output
    jwt = "j" * 40
    out = tmp_path / "keys.yaml"
    result = CliRunner().invoke(app, ["keys", str(trio), "--jwt-secret-file", "-", "--output-file", str(out)], input=jwt + "\n")
    assert result.exit_code == 0, result.output
    assert out.stat().st_mode & 0o777 == 0o600
    doc = yaml.safe_load(out.read_text())
    assert secret_value(doc, "secret") == jwt
    assert _verify(secret_value(doc, "anonKey"), jwt)["role"] == "anon"
    again = CliRunner().invoke(app, ["keys", str(trio), "--jwt-secret-file", "-", "--output-file", str(out)], input=jwt)
    assert again.exit_code == 1 and "--force" in again.output
    short = CliRunner().invoke(app, ["keys", str(trio), "--jwt-secret-file", "-"], input="short")
    assert short.exit_code == 1 and "at least 32" in short.output


def test_keys_for_a_restored_cluster_keep_the_sources_jwt_secret_and_never_take_its_secret_name(tmp_path):
    # restore-spec sets jwt.existingSecret to the SOURCE's live Secret: a new JWT secret under that name,
    # applied with kubectl apply, would invalidate every token the source issued.
    from chartgen import spec as spec_mod
    restored = tmp_path / "restored.yaml"
    source = next(p for p in EXAMPLES if p.stem == "trio")
    made = CliRunner().invoke(app, ["restore-spec", str(source), "--at", "latest", "--output-file", str(restored)])
    assert made.exit_code == 0, made.output
    spec = spec_mod.load(str(restored))
    source_secret = spec.get("spec.supabase.jwt.existingSecret")
    assert source_secret
    refused = CliRunner().invoke(app, ["keys", str(restored)])
    assert refused.exit_code == 1 and "--jwt-secret-file" in refused.output and "Traceback" not in refused.output
    jwt = "s" * 48
    result = CliRunner().invoke(app, ["keys", str(restored), "--jwt-secret-file", "-", "-o", "json"], input=jwt)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["metadata"]["name"] == supabase_services.keys_secret_name(spec) != source_secret
    assert secret_value(doc, "secret") == jwt
    values = supabase_services.values(spec)
    assert values["secret"]["jwt"]["secretRef"] == doc["metadata"]["name"]


def test_keys_cli_refuses_a_jwt_secret_that_is_not_text(tmp_path):
    trio = next(p for p in EXAMPLES if p.stem == "trio")
    bad = tmp_path / "jwt.bin"
    bad.write_bytes(b"\xff\xfe" + b"a" * 40)
    for args, stdin in ((["--jwt-secret-file", str(bad)], None), (["--jwt-secret-file", "-"], b"\xff" * 40)):
        result = CliRunner().invoke(app, ["keys", str(trio), *args], input=stdin)
        assert result.exit_code == 1, result.output
        assert "not UTF-8" in result.output and "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)


def test_keys_file_is_private_even_over_a_stale_temp_file_or_symlink(tmp_path):
    import os
    out = tmp_path / "keys.yaml"
    stale = tmp_path / f".keys.yaml.{os.getpid()}.tmp"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("untouched")
    stale.symlink_to(elsewhere)
    old = os.umask(0)
    try:
        atomic.write_text(str(out), "secret: x\n", private=True)
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o600
    assert elsewhere.read_text() == "untouched" and not stale.exists()
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    with pytest.raises(ChartgenError, match="cannot write"):
        atomic.write_text(str(blocked / "x.yaml"), "x", private=True)


def test_output_plugin_libraries_lets_realtime_decode_and_yields_to_the_user():
    from chartgen import manifests, resources

    chart = resources.path(resources.CHART_DIR_NAME)

    def param(values: dict) -> str:
        docs = manifests.render(chart, values, release="acme-db", namespace="supabase")
        return next(d for d in docs if d["kind"] == "postgresql")["spec"]["postgresql"]["parameters"][
            "output_plugin_libraries"]

    assert param({}).split(", ") == ["pgoutput", "test_decoding", "wal2json"]
    assert param({"postgresql": {"parameters": {"output_plugin_libraries": "pgoutput"}}}) == "pgoutput"
