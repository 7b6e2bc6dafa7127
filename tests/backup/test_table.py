"""chartgen.backup's docstring table and the chart that executes it say the same thing."""

from __future__ import annotations

import re

from chartgen import backup

from .conftest import AWS, AZURE, GCS, MINIO, spec

VAR = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")
NEVER = {"USE_PAUSE_AT_RECOVERY_TARGET", "CLONE_TARGET_INCLUSIVE", "ALLOW_NOSSL"}


def table() -> tuple[set[str], set[str]]:
    """(variables, CR fields) named in the table's second column; "P"-less rows name the own-archive names."""
    names, fields = set(), set()
    for line in backup.__doc__.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] in ("spec field", "---"):
            continue
        names |= set(VAR.findall(cells[1]))
        fields |= set(re.findall(r"(?:spec\.(?:clone|standby)|postgresql\.parameters)\.[a-z0-9_]+", cells[1]))
    return names, fields


SPECS = [
    spec(topology="duo", backup={"enabled": True, "s3": {**MINIO, "prefix": "p"}, "fromReplica": True}),
    spec(backup={"enabled": True, "s3": {"bucket": "b-1", "endpoint": "https://s3.example.com", "forcePathStyle": False,
                                         "disableSSE": False, "credentials": {"secretName": "c"}}}),
    spec(backup={"enabled": True, "gcs": {**GCS, "prefix": "p"}}),
    spec(backup={"enabled": True, "azure": AZURE}),
    spec("new-db", backup={"enabled": True, "s3": MINIO}, restore={
        "cluster": "acme-db", "targetTime": "2026-11-20T10:00:00+00:00", "uid": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"}),
    spec("new-db", restore={"cluster": "acme-db", "s3": {**MINIO, "prefix": "p"}}),
    spec("new-db", restore={"cluster": "acme-db", "gcs": GCS, "targetTime": "2026-11-20T10:00:00+00:00"}),
    spec("new-db", restore={"cluster": "acme-db", "azure": AZURE}),
    spec("new-db", restore={"cluster": "acme-db", "targetTime": "2026-11-20T10:00:00+00:00", "s3": {
        "bucket": "b-1", "endpoint": "https://s3.example.com", "forcePathStyle": False, "credentials": {"secretName": "c"}}}),
    spec("new-db", standby={"cluster": "acme-db", "s3": AWS}),
    spec("new-db", standby={"cluster": "acme-db", "s3": MINIO}),
    spec("new-db", standby={"cluster": "acme-db", "s3": {
        "bucket": "b-1", "endpoint": "https://s3.example.com", "forcePathStyle": False, "credentials": {"secretName": "c"}}}),
    spec("new-db", standby={"cluster": "acme-db", "gcs": GCS}),
]


def test_table_and_rendered_env_agree(build):
    names, fields = table()
    rendered, rendered_fields = set(), set()
    for data in SPECS:
        cr = build(data)
        rendered |= {e["name"] for e in cr["spec"].get("env", [])}
        for section in ("clone", "standby"):
            rendered_fields |= {f"spec.{section}.{k}" for k in cr["spec"].get(section) or {}}
        rendered_fields |= {f"postgresql.parameters.{k}" for k in cr["spec"]["postgresql"]["parameters"]
                            if k.startswith("archive")}
    # "CLONE_ + every storage variable above": the prefixed forms of the own-archive rows (no Azure standby)
    own = {n for n in names if not n.startswith(("CLONE_", "STANDBY_")) and n not in NEVER}
    storage = own - {"WAL_BUCKET_SCOPE_PREFIX", "WAL_BUCKET_SCOPE_SUFFIX", "BACKUP_SCHEDULE", "BACKUP_NUM_TO_RETAIN",
                     "WALG_COMPRESSION_METHOD", "WALG_BACKUP_FROM_REPLICA", "USE_WALG_BACKUP", "USE_WALG_RESTORE"}
    azure = {"WALG_AZ_PREFIX", "AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_ACCESS_KEY"}
    expected = own | {f"CLONE_{n}" for n in storage} | {f"STANDBY_{n}" for n in storage - azure} \
        | {n for n in names if n.startswith(("CLONE_", "STANDBY_")) and n not in NEVER}
    assert expected - rendered == set(), "in the table, never rendered"
    assert rendered - expected == set(), "rendered, missing from the table"
    assert fields == rendered_fields
    assert not NEVER & rendered
