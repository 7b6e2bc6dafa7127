"""Every combination of topology x durability x pooler x backup target x bootstrap x monitoring x PG version
renders with the real Helm engine and passes the strict CRD schema and the built-in kinds' schemas.

One test walks the whole matrix (a parametrized test per point would spend more time in pytest than in
Helm) and reports every failing point, not just the first.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing

from chartgen import manifests

from chartgen.dicts import deep_merge as merged

from .conftest import AZURE, CHART_DIR, GCS, S3_AWS, S3_MINIO, SERVICE_MONITOR_API, cr

TOPOLOGIES = {"single": 1, "duo": 2, "trio": 3}
DURABILITY = {
    "async": {"synchronous_mode": False, "synchronous_mode_strict": False},
    "sync": {"synchronous_mode": True, "synchronous_mode_strict": False},
    "strict": {"synchronous_mode": True, "synchronous_mode_strict": True},
}
POOLERS = {"none": {"enabled": False, "replica": False}, "primary": {"enabled": True, "replica": False},
           "both": {"enabled": True, "replica": True}}
BACKUPS = {"none": None, "s3": {"s3": S3_MINIO}, "gcs": {"gcs": GCS}, "azure": {"azure": AZURE}}
BOOTSTRAPS = {
    "fresh": {"mode": "fresh"},
    "restore": {"mode": "restore", "restore": {"cluster": "old-db", "targetTime": "2026-11-20T10:00:00+01:00", "s3": S3_AWS}},
    "standby": {"mode": "standby", "standby": {"cluster": "main-db", "gcs": GCS}},
}
MONITORING = {"off": (False, ()), "servicemonitor": (True, (SERVICE_MONITOR_API,)), "no-api": (True, ())}
VERSIONS = ("15", "17")


def points():
    for combo in itertools.product(TOPOLOGIES, DURABILITY, POOLERS, BACKUPS, BOOTSTRAPS, MONITORING, VERSIONS):
        topology, durability = combo[0], combo[1]
        if topology == "single" and durability != "async":
            continue  # refused by design (test_negative: "sync with one member")
        yield combo


def values_for(topology, durability, pooler, backup, bootstrap, monitoring, version) -> dict:
    exporter, _ = MONITORING[monitoring]
    values = {
        "clusterName": "acme-db",
        "instances": TOPOLOGIES[topology],
        "postgresql": {"version": version},
        "patroni": DURABILITY[durability],
        "pooler": POOLERS[pooler],
        "bootstrap": BOOTSTRAPS[bootstrap],
        "monitoring": {"exporter": {"enabled": exporter}, "serviceMonitor": {"enabled": exporter}},
        "supabase": {"realtime": {"slots": ["supabase_realtime_replication_slot"]}},
    }
    if BACKUPS[backup]:
        values = merged(values, {"backup": {"enabled": True, **BACKUPS[backup]}})
    return values


def test_matrix_size():
    # 7 topology x durability pairs (single is async only) x 3 x 4 x 3 x 3 x 2
    assert len(list(points())) == 7 * 3 * 4 * 3 * 3 * 2 == 1512


_validated: set[str] = set()  # identical objects (labels, policies, ...) are validated once per process


def check_point(combo: tuple[str, ...]) -> list[str]:
    """Problems of one matrix point ([] when it renders, validates and has the expected shape)."""
    topology, durability, pooler, backup, bootstrap, monitoring, version = combo
    _, api_versions = MONITORING[monitoring]
    label = "/".join(combo)
    try:
        docs = manifests.render(CHART_DIR, values_for(*combo), release="db", namespace="supabase",
                                api_versions=api_versions, values_check="python")
    except Exception as exc:  # noqa: BLE001 - reported per point
        return [f"{label}: {exc}"]
    fresh = []
    for doc in manifests.redact(docs):
        key = json.dumps(doc, sort_keys=True)
        if key not in _validated:
            _validated.add(key)
            fresh.append(doc)
    failures = [f"{label}: {p}" for p in manifests.validate(fresh)]

    spec = cr(docs)["spec"]
    kinds = [d["kind"] for d in docs]
    expect_sm = monitoring == "servicemonitor"
    if ("ServiceMonitor" in kinds) != expect_sm:
        failures.append(f"{label}: ServiceMonitor rendered={not expect_sm}")
    if ("Service" in kinds) != (monitoring != "off"):
        failures.append(f"{label}: metrics Service rendered={'Service' in kinds}")
    if spec["numberOfInstances"] != TOPOLOGIES[topology]:
        failures.append(f"{label}: numberOfInstances {spec['numberOfInstances']}")
    if ("topologySpreadConstraints" in spec) != (topology != "single"):
        failures.append(f"{label}: topologySpreadConstraints present={'topologySpreadConstraints' in spec}")
    if spec["enableConnectionPooler"] != POOLERS[pooler]["enabled"] or \
            spec["enableReplicaConnectionPooler"] != POOLERS[pooler]["replica"]:
        failures.append(f"{label}: pooler flags")
    if ("clone" in spec) != (bootstrap == "restore") or ("standby" in spec) != (bootstrap == "standby"):
        failures.append(f"{label}: bootstrap sections")
    if spec["patroni"]["slots"] != {"supabase_realtime_replication_slot": {
            "type": "logical", "database": "postgres", "plugin": "wal2json"}}:
        failures.append(f"{label}: realtime slot")
    if spec["patroni"]["synchronous_mode"] != DURABILITY[durability]["synchronous_mode"]:
        failures.append(f"{label}: synchronous_mode")
    archived = any(e["name"] in ("WAL_S3_BUCKET", "WAL_GS_BUCKET", "WALG_AZ_PREFIX") for e in spec.get("env", []))
    if archived != (backup != "none"):
        failures.append(f"{label}: archiving={archived}")
    if spec["postgresql"]["version"] != version:
        failures.append(f"{label}: version")
    return failures


def test_every_matrix_point_renders_and_validates():
    # Two worker processes (CI has two cores); spawn, so each starts its own Helm runtime.
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        results = pool.map(check_point, list(points()), chunksize=63)
    failures = [f for result in results for f in result]
    assert not failures, f"{len(failures)} problems:\n" + "\n".join(failures[:40])


def test_a_broken_point_is_reported():
    # the walk above must be able to fail: a refused combination comes back as a problem
    problems = check_point(("single", "sync", "none", "none", "fresh", "off", "17"))
    assert problems and "at least 2 instances" in problems[0]
