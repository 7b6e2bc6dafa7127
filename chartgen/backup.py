"""Backups, point-in-time restore and standby: the spec -> Spilo environment translation and its checks.

A pure table: it imports nothing of the render side (``chartgen restore-spec`` lives in chartgen/restore.py).

The chart (charts/spilo-supabase/templates/_backup.tpl and _clone.tpl) executes this table; chartgen's
values.py only copies ``spec.backup`` / ``spec.restore`` / ``spec.standby`` into the chart's ``backup`` and
``bootstrap`` values (a restore or standby without its own target reads the backup target).
tests/backup/test_table.py renders every row and fails when a variable here is not rendered, or a
rendered one is missing here. Spilo 4.0 reads these in postgres-appliance/scripts/configure_spilo.py; the
operator adds its own CLONE_*/STANDBY_* from the CR sections (pkg/cluster/k8sres.go,
generateCloneEnvironment / generateStandbyEnvironment) after spec.env, so a name both set appears twice and
the operator's wins (CLONE_AWS_S3_FORCE_PATH_STYLE is "1" there, "true" here; Spilo rewrites it from the
endpoint anyway, see _clone.tpl).

Prefix ``P`` is empty for the cluster's own backups, ``CLONE_`` for ``spec.restore`` and ``STANDBY_`` for
``spec.standby``: a restore or standby inherits nothing from the main variables.

| spec field | variable or CR field | value |
|---|---|---|
| backup.enabled | WAL_BUCKET_SCOPE_PREFIX | "" always: else Spilo writes under "<namespace>-<cluster>" (postgres-operator#2116) |
| backup.enabled | WAL_BUCKET_SCOPE_SUFFIX | "" always: no UID in the path, so a restore finds it by name |
| backup.enabled | USE_WALG_BACKUP, USE_WALG_RESTORE | exactly "true" (anything else selects WAL-E) |
| backup.enabled | postgresql.parameters.archive_timeout | backup.maxDataLossSeconds (Spilo's default is 1800) |
| backup.s3.bucket | WAL_S3_BUCKET | the bucket; Spilo builds s3://<bucket>/spilo/<cluster>/wal/<pg> |
| backup.s3.prefix | WALE_S3_PREFIX, WALG_S3_PREFIX | s3://<bucket>/<prefix>/spilo/<cluster>/wal/<pg> |
| backup.s3.region | AWS_REGION | the region; "us-east-1" with an endpoint and no region (Spilo would guess "loca") |
| backup.s3.endpoint | AWS_ENDPOINT | the URL |
| backup.s3.forcePathStyle | AWS_S3_FORCE_PATH_STYLE | "true" (default with an endpoint) |
| backup.s3.forcePathStyle | WALE_S3_ENDPOINT | https+virtualhost://host when false with an endpoint (Spilo assumes path style) |
| backup.s3.disableSSE | WALG_DISABLE_S3_SSE | "true" (default with an endpoint); "false" only when asked with an endpoint |
| backup.s3.caBundle | WALG_S3_CA_CERT_FILE | /run/secrets/wal-g/<purpose>-ca/<key>, a Secret volume |
| backup.s3.credentials | AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY | secretKeyRef; absent: instance profile / IRSA |
| backup.gcs.bucket | WAL_GS_BUCKET | the bucket |
| backup.gcs.prefix | WALE_GS_PREFIX, WALG_GS_PREFIX | gs://<bucket>/<prefix>/spilo/<cluster>/wal/<pg> |
| backup.gcs.credentials | GOOGLE_APPLICATION_CREDENTIALS | /run/secrets/wal-g/<purpose>-gcs/<key>, a Secret volume |
| backup.gcs / backup.azure | WAL_S3_BUCKET | "": shadows an operator-wide wal_s3_bucket, which Spilo would prefer |
| backup.azure | WAL_GS_BUCKET | "": shadows an operator-wide wal_gs_bucket |
| backup.azure.container, .prefix | WALG_AZ_PREFIX | azure://<container>[/<prefix>]/spilo/<cluster>/wal/<pg> |
| backup.azure.storageAccount | AZURE_STORAGE_ACCOUNT | the account |
| backup.azure.credentials | AZURE_STORAGE_ACCESS_KEY | secretKeyRef |
| backup.schedule | BACKUP_SCHEDULE | cron |
| backup.retention | BACKUP_NUM_TO_RETAIN | a count AND days: keep the newest N base backups, delete older ones only when at least N days old (Spilo raises both to 2) |
| backup.compression | WALG_COMPRESSION_METHOD | lz4, lzma, zstd, brotli |
| backup.fromReplica | WALG_BACKUP_FROM_REPLICA | "true" only (absent when false); refused on single, warned on duo/trio |
| restore.cluster | spec.clone.cluster | S3 with targetTime |
| restore.cluster | CLONE_SCOPE | latest, or GCS/Azure (the operator sets it from spec.clone otherwise) |
| restore.cluster | CLONE_METHOD | CLONE_WITH_WALE, same condition |
| restore.cluster | CLONE_WAL_BUCKET_SCOPE_PREFIX | "", same condition |
| restore.targetTime | spec.clone.timestamp | S3: numeric offset (+00:00) |
| restore.targetTime | CLONE_TARGET_TIME | GCS/Azure; absent for the latest state |
| restore.uid | spec.clone.uid | and in the path: spilo/<cluster>/<uid>/wal/<pg> |
| restore (S3 source) | spec.clone.s3_wal_path | s3://<bucket>[/<prefix>]/spilo/<source>[/<uid>]/wal/<pg> |
| restore.s3.endpoint | spec.clone.s3_endpoint, spec.clone.s3_force_path_style | path-style endpoints only |
| restore.<target> | CLONE_ + every storage variable above | the source's bucket, path, region, endpoint, SSE, CA, credentials |
| restore.<target> | CLONE_USE_WALG_BACKUP, CLONE_USE_WALG_RESTORE | "true" (GCS needs both; the region survives only with BACKUP) |
| standby.cluster | spec.standby.s3_wal_path / spec.standby.gs_wal_path | the source's WAL path |
| standby.<target> | STANDBY_ + every storage variable above | as for restore |
| standby.<target> | STANDBY_USE_WALG_BACKUP, STANDBY_USE_WALG_RESTORE | "true" |

Never set: USE_PAUSE_AT_RECOVERY_TARGET, CLONE_TARGET_INCLUSIVE, ALLOW_NOSSL (Spilo reads "false" as true),
and the CR's plain-text s3_access_key_id / s3_secret_access_key.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Iterator

from .dicts import dig as _get
from .errors import ChartgenError

Finding = tuple[tuple, str, str]

TARGETS = ("s3", "gcs", "azure")
#: The operator refuses longer cluster names.
MAX_NAME = 51
SEGMENT_MIB = 16
#: The postgresql CRD's clone.timestamp pattern: seconds and a numeric offset with a colon are required.
CRD_TIMESTAMP = re.compile(
    r"^([0-9]+)-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])[Tt]([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9]|60)"
    r"(\.[0-9]+)?(([+-]([01][0-9]|2[0-3]):[0-5][0-9]))$")
_LOOSE_TIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2})(:\d{2}(\.\d+)?)?\s*(?P<tz>[Zz]|[+-]\d{2}(:?\d{2})?)?$")


def target_of(section: Any) -> str | None:
    """The one storage target a backup/restore/standby section names (None for none or several)."""
    if not isinstance(section, dict):
        return None
    found = [t for t in TARGETS if isinstance(section.get(t), dict)]
    return found[0] if len(found) == 1 else None


def wal_path(kind: str, target: dict, cluster: str, version: str, uid: str | None = None) -> str:
    """Where Spilo archives ``cluster``'s WAL (the chart's spilo-supabase.walPath)."""
    scheme = {"s3": "s3", "gcs": "gs", "azure": "azure"}[kind]
    bucket = target.get("container") if kind == "azure" else target.get("bucket")
    parts = [f"{scheme}://{bucket}"] + ([target["prefix"]] if target.get("prefix") else [])
    parts += ["spilo", cluster] + ([uid] if uid else []) + ["wal", str(version)]
    return "/".join(parts)


def _source(data: dict, mode: str) -> tuple[str, dict] | None:
    """A restore/standby source's target: its own, else the backup target (values.py does the same)."""
    section = _get(data, "spec", mode)
    kind = target_of(section)
    if kind:
        return kind, section[kind]
    kind = target_of(_get(data, "spec", "backup"))
    return (kind, data["spec"]["backup"][kind]) if kind else None


# --- checks (hooked into chartgen.checks.CHECKS) -------------------------------------------------------

def _s3_targets(data: dict) -> Iterator[tuple[tuple, dict]]:
    for mode in ("backup", "restore", "standby"):
        s3 = _get(data, "spec", mode, "s3")
        if isinstance(s3, dict):
            yield ("spec", mode, "s3"), s3


def _ca_bundle(data: dict) -> Iterator[Finding]:
    for path, s3 in _s3_targets(data):
        if s3.get("caBundle") and not s3.get("endpoint"):
            yield path + ("caBundle",), (
                "caBundle without endpoint: WAL-G would talk to AWS S3 (public CAs) and the bundle is for a private "
                "endpoint; set endpoint, or remove caBundle"), "error"


def _paths(data: dict) -> Iterator[Finding]:
    """A restore or standby must never share a WAL path with the cluster's own archive."""
    spec = _get(data, "spec")
    name = _get(data, "metadata", "name")
    version = _get(data, "spec", "postgres", "version")
    if not isinstance(spec, dict) or not isinstance(name, str) or version is None:
        return
    backup = spec.get("backup") if isinstance(spec.get("backup"), dict) else {}
    own_kind = target_of(backup)
    if not (backup.get("enabled") and own_kind):
        return
    own = wal_path(own_kind, backup[own_kind], name, version)
    for mode in ("restore", "standby"):
        section = spec.get(mode)
        src = _source(data, mode) if isinstance(section, dict) else None
        # The source named like this cluster is chartgen.checks' error already.
        if not src or not isinstance(section.get("cluster"), str) or section["cluster"] == name:
            continue
        theirs = wal_path(src[0], src[1], section["cluster"], version, section.get("uid"))
        if theirs == own or theirs.startswith(own + "/") or own.startswith(theirs + "/"):
            what = "restores from" if mode == "restore" else "follows"
            yield ("spec", mode, "cluster"), (
                f"this cluster {what} {theirs} and archives to {own}: once it writes (a restore at once, a standby "
                "when promoted) it would overwrite its source's WAL; give it another metadata.name or backup "
                "target"), "error"


def _source_checks(data: dict) -> Iterator[Finding]:
    spec = _get(data, "spec")
    if not isinstance(spec, dict):
        return
    standby = spec.get("standby")
    if isinstance(standby, dict) and not target_of(standby):
        src = _source(data, "standby")
        if src and src[0] == "azure":
            yield ("spec", "standby"), (
                "a standby cannot follow an Azure archive (the operator's standby section knows S3 and GCS only); "
                "set standby.s3 or standby.gcs"), "error"


def _target_time(data: dict) -> Iterator[Finding]:
    when = _get(data, "spec", "restore", "targetTime")
    if not isinstance(when, str) or CRD_TIMESTAMP.match(when):
        return
    m = _LOOSE_TIME.match(when.strip())
    # "Z" and free-form text are reported by chartgen.checks; here the near misses the CRD would refuse.
    if m and m.group("tz") and m.group("tz") not in ("Z", "z"):
        try:
            fixed = normalise_time(when)
        except ChartgenError:
            return
        yield ("spec", "restore", "targetTime"), (
            f'"{when}": the operator\'s CRD needs seconds and a "+HH:MM" offset, write "{fixed}"'), "error"


def _data_loss(data: dict) -> Iterator[Finding]:
    backup = _get(data, "spec", "backup")
    seconds = backup.get("maxDataLossSeconds") if isinstance(backup, dict) else None
    if not (isinstance(backup, dict) and backup.get("enabled")) or not isinstance(seconds, int) \
            or isinstance(seconds, bool) or seconds >= 60:
        return
    per_day = 86400 // seconds
    yield ("spec", "backup", "maxDataLossSeconds"), (
        f"{seconds} s: a database with any activity switches WAL segments up to {per_day} times a day, each a "
        f"{SEGMENT_MIB} MiB file before compression (up to {per_day * SEGMENT_MIB / 1024:.0f} GiB/day of mostly "
        "empty segments, and as many uploads); 60 s or more is usual, CloudNativePG uses 300"), "warning"


def _secrets_follow_source(data: dict) -> Iterator[Finding]:
    """A restore or standby carries the source's Vault/pgsodium data: it needs the source's root key.

    Without ``rootKey.existingSecret`` the chart generates a new random key at install, and every Vault
    secret copied from the source stays encrypted with a key the new cluster does not have (after a restore
    at once, for a standby at promotion). A new JWT secret "only" invalidates the API keys and issued tokens.
    """
    spec = _get(data, "spec")
    if not isinstance(spec, dict):
        return
    for mode in ("restore", "standby"):
        conf = spec.get(mode)
        if not isinstance(conf, dict):
            continue
        src = conf.get("cluster") if isinstance(conf.get("cluster"), str) else "<source>"
        when = "after the restore" if mode == "restore" else "once the standby is promoted"
        if not _get(spec, "supabase", "rootKey", "existingSecret"):
            yield ("spec", mode), (
                f"{mode} without spec.supabase.rootKey.existingSecret: the chart would generate a new root key and "
                f"the Vault/pgsodium secrets copied from {src} cannot be decrypted {when}; reference {src}'s root "
                f"key Secret ({src}-supabase-root-key when its chart generated it)"), "error"
        if not _get(spec, "supabase", "jwt", "existingSecret"):
            yield ("spec", mode), (
                f"{mode} without spec.supabase.jwt.existingSecret: a new JWT secret invalidates {src}'s API keys "
                f"and every token it issued; reference {src}'s JWT Secret ({src}-supabase-jwt when its chart "
                "generated it)"), "warning"


def _from_replica(data: dict) -> Iterator[Finding]:
    """WALG_BACKUP_FROM_REPLICA's traps, per topology (Spilo 4.0 postgres_backup.sh and launch.sh).

    postgres_backup.sh exits on a primary when the variable is "true" and on a replica otherwise; the backup
    that launch.sh starts at pod start waits for the primary role (patroni_wait.sh's default), so it never
    runs with fromReplica; only the cron job (configure_spilo.py, on every pod) does, on every replica.
    """
    backup = _get(data, "spec", "backup")
    if not (isinstance(backup, dict) and backup.get("enabled") is True and backup.get("fromReplica") is True):
        return
    topology = _get(data, "spec", "topology")
    path = ("spec", "backup", "fromReplica")
    if topology == "single":
        yield path, ("fromReplica with topology single never takes a base backup: Spilo's backup script exits on "
                     "a primary when WALG_BACKUP_FROM_REPLICA is true, and there is no replica; remove it"), "error"
    elif topology in ("duo", "trio"):
        extra = (" and both replicas take a base backup at the same time (two uploads, and two retention runs "
                 "deleting concurrently)") if topology == "trio" else \
            " and none while the only replica is down"
        yield path, ("fromReplica: no base backup exists until the first schedule slot (the backup at pod start "
                     f"runs on the primary only, and Spilo skips it there), so a restore is impossible until then,"
                     f"{extra}; leave it false unless the primary cannot spare the I/O"), "warning"


CHECKS = (_ca_bundle, _paths, _source_checks, _target_time, _data_loss, _secrets_follow_source, _from_replica)


# --- the rendered environment, checked against Spilo's traps -----------------------------------------

_STORAGE = ("WAL_S3_BUCKET", "WALE_S3_PREFIX", "WALG_S3_PREFIX", "WAL_GS_BUCKET", "WALE_GS_PREFIX", "WALG_GS_PREFIX",
            "WALG_AZ_PREFIX")
_FALSE_IS_TRUE = ("USE_PAUSE_AT_RECOVERY_TARGET", "CLONE_TARGET_INCLUSIVE", "ALLOW_NOSSL")


def env_problems(env: list[dict]) -> list[str]:
    """Traps in a rendered ``spec.env`` (names as Spilo reads them); [] when none."""
    problems = []
    values = {}
    for e in env:
        values[e["name"]] = e.get("value") if "value" in e else e.get("valueFrom")
    for name in _FALSE_IS_TRUE:
        if name in values:
            problems.append(f"{name} is set: Spilo reads any non-empty value as true")
    for prefix in ("", "CLONE_", "STANDBY_"):
        if not any(values.get(prefix + n) for n in _STORAGE):
            continue
        for flag in ("USE_WALG_BACKUP", "USE_WALG_RESTORE"):
            if values.get(prefix + flag) != "true":
                problems.append(f"{prefix}{flag} is {values.get(prefix + flag)!r}, not \"true\": WAL-E would be used")
        if prefix == "" and values.get("WAL_BUCKET_SCOPE_PREFIX") != "":
            problems.append('WAL_BUCKET_SCOPE_PREFIX is not "": Spilo would archive under "<namespace>-<cluster>"')
        if values.get(prefix + "WAL_S3_BUCKET") or values.get(prefix + "WALG_S3_PREFIX"):
            if not values.get(prefix + "AWS_REGION"):
                problems.append(f"{prefix}AWS_REGION is not set: Spilo guesses it (\"loca\" off AWS)")
            if values.get(prefix + "AWS_ENDPOINT") and prefix + "WALG_DISABLE_S3_SSE" not in values:
                problems.append(f"{prefix}AWS_ENDPOINT without {prefix}WALG_DISABLE_S3_SSE")
    if values.get("CLONE_METHOD") == "CLONE_WITH_WALE" and not values.get("CLONE_SCOPE"):
        problems.append("CLONE_METHOD without CLONE_SCOPE: Spilo would start an empty database")
    return problems


# --- restore-spec -------------------------------------------------------------------------------------

def normalise_time(text: str) -> str:
    """``text`` as the CRD wants it (``YYYY-MM-DDTHH:MM:SS[.f]+HH:MM``); ChartgenError when it has no offset."""
    m = _LOOSE_TIME.match(text.strip())
    if not m:
        raise ChartgenError(f'--at "{text}": not a time; use ISO 8601 with an offset, e.g. '
                            '2026-11-20T10:00:00+00:00, or "latest"')
    if not m.group("tz"):
        raise ChartgenError(f'--at "{text}" has no UTC offset: PostgreSQL would read it in the server\'s time zone; '
                            f'add one, e.g. {m.group(1)}T{m.group(2)}{m.group(3) or ":00"}+00:00 for UTC')
    tz = m.group("tz")
    if tz in ("Z", "z"):
        tz = "+00:00"
    elif ":" not in tz:
        tz = f"{tz[:3]}:{tz[3:] or '00'}"
    seconds = m.group(3) or ":00"
    try:
        when = datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}{seconds}{tz}")
    except ValueError as exc:
        raise ChartgenError(f'--at "{text}": {exc}') from None
    return when.isoformat()
