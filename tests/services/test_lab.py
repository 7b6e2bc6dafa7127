"""The services against the lab: etcd + Patroni + PostgreSQL members started from the rendered postgresql
resource of examples/trio.yaml (its Patroni settings, parameters and permanent wal2json slot), Supabase
bootstrapped on the leader by the image's runner. Each service connects to the leader with its resolved
parameters and does its first work there.

The lab replaces the CR's pg_hba with loopback password rules and has no operator, so this test proves the
cluster side (Patroni, the parameters, the slot, the payload); test_connections proves the exact pg_hba, TLS
and the operator's password handling on a single server.
"""

from __future__ import annotations

import pytest

from chartgen import supabase_services
from chartgen.lab import from_manifests, start_cluster

from . import database as db
from .conftest import EXAMPLES, install, secret_value
from .resolve import container_env, service_connection
from .test_connections import EXPECT, FIRST_ACTIONS, WITH_ANALYTICS

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FACTS = supabase_services.facts()


@pytest.fixture(scope="module")
def lab(services_chart, supabase_payload):
    installed = install(next(p for p in EXAMPLES if p.stem == "trio"), services_chart, WITH_ANALYTICS)
    cluster = start_cluster(from_manifests(installed.database), log=lambda line: None,
                            payload=supabase_payload(), pooler=False)
    try:
        leader = cluster.connection_info().leader
        admin = {"host": leader.hosts[0][0], "port": str(leader.hosts[0][1]), "user": leader.user,
                 "password": leader.password, "dbname": "postgres", "sslmode": "disable"}
        # The operator's sync: the pre-created credentials Secrets set their roles' passwords.
        for name, doc in installed.secrets.items():
            if name.endswith(".credentials.postgresql.acid.zalan.do"):
                role, password = secret_value(doc, "username"), secret_value(doc, "password")
                done = db.psql(admin, f"ALTER ROLE {role} WITH LOGIN PASSWORD '{password}'")
                assert done.ok, done.stderr
        yield installed, admin
    finally:
        cluster.stop()


@pytest.mark.parametrize("service", list(FACTS["connections"]))
def test_service_does_its_first_work_on_the_patroni_leader(lab, service):
    installed, admin = lab
    conn = service_connection(service, container_env(installed.deployments()[service], installed.secrets))
    assert conn.params["host"] == supabase_services.primary_host(installed.spec)
    params = {**conn.params, "host": admin["host"], "port": admin["port"]}
    result = db.psql_script(params, conn.after_connect + FIRST_ACTIONS[service])
    assert result.ok, f"{service}: {result.stderr}"
    for expected in EXPECT[service]:
        assert expected in result.stdout + result.stderr, (service, expected, result.stdout)


def test_patroni_keeps_realtimes_wal2json_slot(lab):
    installed, admin = lab
    slots = installed.spec.get("spec.supabase.realtime.slots")
    assert slots
    found = db.psql(admin, "SELECT slot_name || ':' || plugin FROM pg_replication_slots ORDER BY 1")
    assert found.ok, found.stderr
    for slot in slots:
        assert f"{slot}:wal2json" in found.stdout.split(), found.stdout
