"""The HA lab on a real cluster: etcd + 3 Patroni members + PostgreSQL 15 + PgBouncer, durability sync, fast
preset, bootstrapped with Supabase's real 15.8.1.085 payload (image/fetch-supabase-sql.sh on the shared
release archives) by the image's post_init and runner.

One hard kill of the leader and one switchover. Asserted: the cluster became Supabase-ready; a new leader
each time; no acknowledged commit missing; every Supabase invariant holds at ready and after each run, and
the invariants do fail when what they check is broken; every process the lab started is gone (pids and
ports) afterwards. Timings are the benchmark's business (bench/ha.py); the only time bounds here are the
functional ones inside the lab (a leader appears).
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import jsonschema
import pytest
import yaml

from chartgen.lab import Invariants, from_manifests, run_plan
from chartgen.lab.cluster import Cluster
from chartgen.lab.invariants import CHECKS
from chartgen.lab.procs import pid_alive

ROOT = Path(__file__).resolve().parents[2]
PRESETS = ROOT / "chartgen" / "presets"


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def manifests(tmp_path_factory) -> list[dict]:
    """What `chartgen render` makes for examples/trio.yaml (durability sync) with the fast preset."""
    from chartgen.render import render_manifests

    spec = (ROOT / "examples" / "trio.yaml").read_text()
    assert "durability: sync " in spec
    spec = spec.replace("failover: balanced", "failover: fast")
    path = tmp_path_factory.mktemp("ha") / "trio-fast-sync.yaml"
    path.write_text(spec)
    return render_manifests(str(path))


@pytest.fixture(scope="module")
def cr(manifests) -> dict:
    return next(d for d in manifests if d["kind"] == "postgresql")


def test_rendered_resource_carries_the_presets(cr, crd_schema_path):
    schema = json.loads(crd_schema_path.read_text())
    errors = list(jsonschema.validators.validator_for(schema)(schema).iter_errors(cr))
    assert errors == [], [e.message for e in errors]
    patroni = cr["spec"]["patroni"]
    fast = yaml.safe_load((PRESETS / "failover.yaml").read_text())["fast"]
    assert {k: patroni[k] for k in ("ttl", "loop_wait", "retry_timeout")} == \
        {k: fast[k] for k in ("ttl", "loop_wait", "retry_timeout")}
    assert patroni["synchronous_mode"] is True and cr["spec"]["numberOfInstances"] == 3


@pytest.mark.integration
@pytest.mark.slow
def test_hard_kill_and_switchover_keep_every_acknowledged_commit_and_supabases_invariants(manifests,
                                                                                          supabase_payload):
    payload = supabase_payload()
    plan = from_manifests(manifests)
    assert plan.members == 3 and plan.durability == "sync"
    seen: dict = {}

    def grab(cluster: Cluster) -> None:
        seen["pids"] = dict(cluster.seen_pids)
        seen["ports"] = list(cluster.ports_used)
        seen["broken"] = _break_what_the_invariants_check(cluster)

    lines: list[str] = []
    result = run_plan(plan, ["hard_kill", "switchover"], runs=1, log=lines.append, on_cluster=grab,
                      payload=payload)
    assert result["ready_s"] is not None and any("Supabase-ready" in line for line in lines), lines[:20]
    sql_files = sorted(p for p in payload.rglob("*.sql"))
    assert result["cluster"]["payload_files"] == len(sql_files) > 40
    assert result["invariants_at_ready"] == {name: "" for name in CHECKS}, result["invariants_at_ready"]
    runs = {r["experiment"]: r for r in result["runs"]}
    assert set(runs) == {"hard_kill", "switchover"}, lines
    for name, r in runs.items():
        assert r["ok"], (name, r, lines[-15:])
        assert r["new_leader"] and r["new_leader"] != r["old_leader"], (name, r)
        assert r["acks"] > 0, (name, r)
        assert r["lost_acks"] == 0, (name, r)
        assert r["outage_s"] is not None and r["redundancy_s"] is not None, (name, r)
        # Checked on the new leader: the bootstrap's table, the vault secret written before, PgBouncer.
        assert r["invariants"] == {c: "" for c in CHECKS}, (name, r["invariants"])
    assert result["summary"]["hard_kill"]["invariant_failures"] == 0
    # Spilo's on_role_change re-ran post_init -> supabase-bootstrap on the promoted replica, which found
    # every file applied (the "bootstrap" check above: nothing applied since ready).
    kill = runs["hard_kill"]
    assert kill["bootstrap_reruns"].get(kill["new_leader"], 0) >= 1, (kill["bootstrap_reruns"], lines[-10:])

    # The checks are not vacuous: each broken thing is reported by its own check, and only by it.
    broken = seen["broken"]
    assert broken["before"] == {c: "" for c in CHECKS}
    assert broken["vault"]["vault"] and broken["vault"]["bootstrap"] == ""
    assert broken["realtime"]["realtime"] and broken["realtime"]["vault"] == ""
    assert broken["bootstrap"]["bootstrap"] and broken["bootstrap"]["realtime"] == ""

    # Cleanup, checked here independently of the lab's own report: every pid gone, every port closed.
    assert result["leftovers"] == []
    assert any(what.startswith("postmaster") for what in seen["pids"].values()), seen
    assert any(what == "pgbouncer" for what in seen["pids"].values()), seen
    alive = {pid: what for pid, what in seen["pids"].items() if pid_alive(pid)}
    assert alive == {}
    assert [p for p in seen["ports"] if _port_open(p)] == []


def _break_what_the_invariants_check(cluster: Cluster) -> dict:
    """After the experiments: break one thing at a time on the leader and record what the checks say."""
    inv = Invariants.start(cluster)
    inv.write_secret()
    out = {"before": inv.check()}
    inv.vault["lab-probe-1"] = "not-what-was-written"
    out["vault"] = inv.check()
    inv.vault.clear()
    leader = cluster.primary()
    assert leader is not None
    cluster.psql(leader, "alter publication supabase_realtime rename to lab_renamed")
    out["realtime"] = inv.check()
    cluster.psql(leader, "alter publication lab_renamed rename to supabase_realtime")
    cluster.psql(leader, "insert into supabase_bootstrap.applied_files (name, sha256, role) "
                         "values ('migrations/lab-extra.sql', 'x', 'postgres')")
    out["bootstrap"] = inv.check()
    return out
