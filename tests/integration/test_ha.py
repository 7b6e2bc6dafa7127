"""The HA lab on a real cluster: etcd + 3 Patroni members + PostgreSQL 15, durability sync, fast preset.

One hard kill of the leader and one switchover. Asserted: a new leader each time, no acknowledged commit
missing, and every process the lab started gone (pids and ports) afterwards. Timings are the benchmark's
business (bench/ha.py); the only time bound here is the functional one inside the lab (a leader appears).
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import jsonschema
import pytest
import yaml

from chartgen.lab import from_manifests, run_plan
from chartgen.lab.cluster import Cluster
from chartgen.lab.procs import pid_alive

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "integration" / "data" / "ha_trio_sync.yaml"
PRESETS = ROOT / "chartgen" / "presets"


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def cr() -> dict:
    doc = yaml.safe_load(FIXTURE.read_text())
    # The fixture carries the presets' values; read them from the preset data so the test follows tuning.
    doc["spec"]["patroni"].update(yaml.safe_load((PRESETS / "failover.yaml").read_text())["fast"])
    doc["spec"]["patroni"].update(yaml.safe_load((PRESETS / "durability.yaml").read_text())["sync"])
    return doc


def test_fixture_is_a_valid_operator_resource(cr, crd_schema_path):
    errors = list(jsonschema.Draft7Validator(json.loads(crd_schema_path.read_text())).iter_errors(cr))
    assert errors == [], [e.message for e in errors]


@pytest.mark.integration
@pytest.mark.slow
def test_hard_kill_and_switchover_keep_every_acknowledged_commit(cr):
    plan = from_manifests([cr])
    assert plan.members == 3 and plan.durability == "sync"
    seen: dict = {}

    def grab(cluster: Cluster) -> None:
        seen["pids"] = dict(cluster.seen_pids)
        seen["ports"] = list(cluster.ports_used)

    lines: list[str] = []
    result = run_plan(plan, ["hard_kill", "switchover"], runs=1, log=lines.append, on_cluster=grab)
    runs = {r["experiment"]: r for r in result["runs"]}
    assert set(runs) == {"hard_kill", "switchover"}, lines
    for name, r in runs.items():
        assert r["ok"], (name, r, lines[-15:])
        assert r["new_leader"] and r["new_leader"] != r["old_leader"], (name, r)
        assert r["acks"] > 0, (name, r)
        assert r["lost_acks"] == 0, (name, r)
        assert r["outage_s"] is not None and r["redundancy_s"] is not None, (name, r)

    # Cleanup, checked here independently of the lab's own report: every pid gone, every port closed.
    assert result["leftovers"] == []
    assert any(what.startswith("postmaster") for what in seen["pids"].values()), seen
    alive = {pid: what for pid, what in seen["pids"].items() if pid_alive(pid)}
    assert alive == {}
    assert [p for p in seen["ports"] if _port_open(p)] == []
