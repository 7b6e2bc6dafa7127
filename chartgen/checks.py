"""Semantic checks of a deployment spec: what the schema cannot say.

Each check reads the spec with defaults applied and yields ``(path, message, severity)``. They are defensive
(the spec may also have schema errors) so that every problem of a file is reported in one run.
"""

from __future__ import annotations

import functools
import json
import math
import re
from datetime import datetime
from typing import Any, Iterator

from . import paramcheck, presets
from .dicts import dig as _get
from .sensitive import CREDENTIAL_KEY, NOT_SHOWN, URL_USERINFO, looks_like_secret
from .limits import RESERVED_CONNECTIONS

Finding = tuple[tuple, str, str]

#: Parameters that must not come from the spec, with the reason shown to the user.
OWNED_PARAMETERS = {
    "archive_mode": "Spilo turns archiving on when spec.backup is enabled; setting it here breaks WAL-G archiving",
    "archive_command": "Spilo writes the WAL-G archive command; setting it here silently stops archiving",
    "archive_timeout": "set spec.backup.maxDataLossSeconds instead",
    "restore_command": "Patroni and Spilo own recovery; use spec.restore",
    "recovery_target_time": "use spec.restore.targetTime",
    "primary_conninfo": "Patroni owns replication connections",
    "shared_preload_libraries": "chartgen builds it from the image's extension list (Spilo's and Supabase's libraries)",
    "session_preload_libraries": "chartgen sets it to Supabase's supautils/safeupdate from the image's extension list",
    "listen_addresses": "Patroni owns it",
    "port": "Patroni owns it (the services expose 5432)",
    "data_directory": "Spilo owns it",
    "hba_file": "Patroni owns it",
    "ident_file": "Patroni owns it",
    "config_file": "Patroni owns it",
    "cluster_name": "Patroni owns it",
    "hot_standby": "Patroni owns it",
    "wal_log_hints": "Patroni needs it on for pg_rewind",
    "cron.database_name": "pg_cron must run in the postgres database, where Supabase creates it",
    "pgsodium.getkey_script": "it must point at the image's key script, which reads the root key Secret",
    "vault.getkey_script": "it must point at the image's key script, which reads the root key Secret",
}

_TARGETS = ("s3", "gcs", "azure")

_SECRET_PARAMETER = re.compile(r"(?i)(password|passwd|secret|token|private_key|api_key|access_key)")
_WAL_LEVELS = {"minimal": 0, "replica": 1, "archive": 1, "hot_standby": 1, "logical": 2}

#: Secret references that hold no credential (a CA certificate is public): an unknown key in them, such as
#: ``secret``, is a misspelt ``secretName``, not a literal credential.
_SECRET_REFERENCES = ("caBundle",)


def credential_hint(path: tuple, cluster: Any = None) -> str | None:
    """When an unknown key looks like a literal credential, the Secret to reference instead (else None).

    ``cluster`` (metadata.name) lets the message name the operator's generated role Secret exactly.
    """
    if not path or not isinstance(path[-1], str) or not CREDENTIAL_KEY.match(path[-1]):
        return None
    if len(path) > 1 and path[-2] in _SECRET_REFERENCES:
        # The schema's own message (with its did-you-mean) points at the right field.
        return None
    parts = [str(p) for p in path if not isinstance(p, int)]
    where = ".".join(parts).lower()
    target = next((t for t in _TARGETS if t in parts), None)
    if "jwt" in where:
        ref = "spec.supabase.jwt.existingSecret (a Secret with key `secret`)"
    elif "rootkey" in where or "pgsodium" in where or "vault" in where:
        ref = "spec.supabase.rootKey.existingSecret (a Secret with key `key`)"
    elif target:
        section = parts[parts.index(target) - 1] if parts.index(target) > 0 else "backup"
        keys = {"s3": "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", "gcs": "key.json",
                "azure": "AZURE_STORAGE_ACCESS_KEY"}[target]
        ref = f"spec.{section}.{target}.credentials.secretName (a Secret with {keys})"
    else:
        name = cluster if isinstance(cluster, str) and cluster else "<metadata.name>"
        return ("literal credentials are not allowed in a spec (it is committed and rendered in plain text): "
                f"the operator generates role passwords and keeps them in the Secret "
                f"<role>.{name}.credentials.postgresql.acid.zalan.do (e.g. postgres.{name}.credentials."
                "postgresql.acid.zalan.do); read it from there")
    return (f"literal credentials are not allowed in a spec (it is committed and rendered in plain text): "
            f"store the value in a Kubernetes Secret and reference it with {ref}")


# ---- values that could be secrets ------------------------------------------------------------------------

#: Kubernetes' rule for a key of a Secret's data (apimachinery validation.IsConfigMapKey).
_SECRET_DATA_KEY = re.compile(r"[-._a-zA-Z0-9]+")


def _walk(node: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, path + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, path + (i,))


def _secrets(data: dict) -> Iterator[Finding]:
    for path, value in _walk(data):
        if not isinstance(value, str) or not path:
            continue
        if URL_USERINFO.match(value):
            yield path, ("the URL holds credentials (user:password@host): they would be rendered in plain text; "
                         "remove them and put the credentials in the Secret that credentials.secretName names "
                         + NOT_SHOWN), "error"
            continue
        last = path[-1]
        if not isinstance(last, str) or not (last == "key" or last.endswith("Key")):
            continue
        if looks_like_secret(value):
            yield path, ("this looks like a credential value, not the name of a key in the Secret (e.g. "
                         "AWS_ACCESS_KEY_ID): put the value into the Secret and name its key here " + NOT_SHOWN), "error"
        elif len(value) > 253 or not _SECRET_DATA_KEY.fullmatch(value):
            yield path, ('not a valid Secret key name (letters, digits, "-", "_" and ".", at most 253 characters) '
                         + NOT_SHOWN), "error"


# ---- what Kubernetes would refuse --------------------------------------------------------------------------

# apimachinery pkg/util/validation: IsQualifiedName (label and annotation keys), IsValidLabelValue,
# and pkg/api/validation ValidateAnnotations' TotalAnnotationSizeLimitB.
_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
ANNOTATIONS_MAX_BYTES = 256 * 1024


def qualified_name_problem(key: str) -> str | None:
    """Why ``key`` is not a Kubernetes label/annotation key ([prefix/]name), or None."""
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _DNS1123_SUBDOMAIN.fullmatch(prefix)):
        return "its prefix (before /) must be a DNS subdomain: lowercase letters, digits, \"-\" and \".\", at most 253"
    if not name or len(name) > 63 or not _QUALIFIED_NAME.fullmatch(name):
        return ('its name must be 1-63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit'
                + (" (after an optional DNS-subdomain prefix and /)" if not slash else ""))
    return None


def label_value_problem(value: str) -> str | None:
    if value == "":
        return None
    if len(value) > 63 or not _QUALIFIED_NAME.fullmatch(value):
        return ('a label value is at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter '
                "or digit (or empty)")
    return None


def _kubernetes_metadata(data: dict) -> Iterator[Finding]:
    for path in (("metadata", "labels"), ("spec", "networkPolicy", "operator", "podLabels")):
        labels = _get(data, *path)
        if not isinstance(labels, dict):
            continue
        for key, value in labels.items():
            why = qualified_name_problem(str(key))
            if why:
                yield path + (key,), f"invalid label key {_shown(key)}: {why}", "error"
            elif isinstance(value, str) and (why := label_value_problem(value)):
                yield path + (key,), f"invalid label value {_shown(value)}: {why}", "error"
    annotations = _get(data, "metadata", "annotations")
    if isinstance(annotations, dict):
        total = 0
        for key, value in annotations.items():
            why = qualified_name_problem(str(key))
            if why:
                yield ("metadata", "annotations", key), f"invalid annotation key {_shown(key)}: {why}", "error"
            total += len(str(key).encode()) + len(str(value).encode())
        if total > ANNOTATIONS_MAX_BYTES:
            yield ("metadata", "annotations"), (
                f"annotations take {total} bytes; Kubernetes allows at most {ANNOTATIONS_MAX_BYTES} (256 KiB) in all"), "error"


def _storage(data: dict) -> Iterator[Finding]:
    size = _get(data, "spec", "postgres", "storage", "size")
    if isinstance(size, str) and re.fullmatch(r"0+(\.0+)?[A-Za-z]*", size):
        yield ("spec", "postgres", "storage", "size"), f"{_shown(size)} is no storage: a volume needs a size above 0", "error"


def _shown(value: Any) -> str:
    text = json.dumps(str(value), ensure_ascii=False)
    return text if len(text) <= 60 else text[:56] + '..."'


# ---- cron ------------------------------------------------------------------------------------------------

#: Field ranges of a 5-field cron schedule (as Spilo's crontab and Vixie cron read it), with the names cron accepts.
_CRON_FIELDS = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, {m: i for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}),
    ("day of week", 0, 7, {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}),
)
CRON_MACROS = ("@daily", "@hourly", "@weekly", "@monthly")


def cron_problem(schedule: str) -> str | None:
    """Why ``schedule`` is not a cron schedule chartgen accepts (5 fields or a macro), or None."""
    if schedule in CRON_MACROS:
        return None
    fields = schedule.split(" ")
    if any(not re.fullmatch(r"[0-9A-Za-z*/,-]+", f) for f in fields if f) or "\t" in schedule:
        return "only digits, names, * / , - and single spaces between 5 fields (no newline or other characters)"
    fields = [f for f in fields if f]
    if len(fields) != 5:
        return f"{len(fields)} fields, cron needs 5 (minute hour day-of-month month day-of-week)"
    for text, (what, low, high, names) in zip(fields, _CRON_FIELDS):
        for item in text.split(","):
            base, slash, step = item.partition("/")
            if slash and (not step.isdigit() or int(step) == 0):
                return f"{what}: step {_shown(step)} must be a whole number above 0"
            if base == "*":
                continue
            bounds = base.split("-")
            if len(bounds) > 2:
                return f"{what}: {_shown(item)} is not a value, range or step"
            values = []
            for b in bounds:
                v = names.get(b.lower()) if not b.isdigit() else int(b)
                if v is None:
                    return f"{what}: {_shown(b)} is not a number"
                if not low <= v <= high:
                    return f"{what}: {v} is out of range ({low}-{high})"
                values.append(v)
            if len(values) == 2 and values[0] > values[1]:
                return f"{what}: range {_shown(base)} runs backwards"
    return None


def _schedule(data: dict) -> Iterator[Finding]:
    from . import schema

    schedule = _get(data, "spec", "backup", "schedule")
    shape = (schema.subschema(("spec", "backup", "schedule")) or {}).get("pattern")
    if shape and isinstance(schedule, str) and not schema.pattern_matches(shape, schedule):
        return  # the schema's message says it already
    if isinstance(schedule, str) and (why := cron_problem(schedule)):
        yield ("spec", "backup", "schedule"), f"{_shown(schedule)} is not a valid cron schedule: {why}", "error"


def check(data: dict) -> Iterator[Finding]:
    """Every semantic finding of a spec (with defaults applied), in check order."""
    for one in CHECKS:
        yield from one(data)




def _backup(data: dict) -> Iterator[Finding]:
    backup = _get(data, "spec", "backup")
    if not isinstance(backup, dict):
        return
    base = ("spec", "backup")
    targets = [t for t in _TARGETS if isinstance(backup.get(t), dict)]
    enabled = backup.get("enabled") is True
    if enabled and not targets:
        yield base, "backup is enabled but has no target: set exactly one of s3, gcs, azure", "error"
    if len(targets) > 1:
        yield base + (targets[1],), f"more than one backup target ({', '.join(targets)}): set exactly one", "error"
    if not enabled and targets:
        yield base + ("enabled",), f"a backup target ({targets[0]}) is set but backup.enabled is false: nothing is archived", "warning"
    for target in targets:
        yield from _target(base + (target,), target, backup[target])


def _target(path: tuple, target: str, conf: dict) -> Iterator[Finding]:
    creds = conf.get("credentials")
    if target == "s3":
        if conf.get("endpoint") and not creds:
            yield path + ("credentials",), (
                "an S3-compatible endpoint needs a credentials Secret (there is no instance profile off AWS): "
                "set credentials.secretName"), "error"
        elif not creds:
            yield path + ("credentials",), (
                "no credentials Secret: WAL-G will use the pod's AWS instance profile / IRSA role"), "warning"
        if str(conf.get("endpoint", "")).startswith("http://"):
            yield path + ("endpoint",), "plain-HTTP endpoint: WAL and base backups travel unencrypted", "warning"
    elif target == "gcs" and not creds:
        yield path + ("credentials",), "no credentials Secret: WAL-G will use the pod's Workload Identity", "warning"
    elif target == "azure" and not creds:
        yield path + ("credentials",), "Azure needs a credentials Secret with the storage account key", "error"


_OFFSET_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:?\d{2})$")


def _restore(data: dict) -> Iterator[Finding]:
    spec = _get(data, "spec")
    if not isinstance(spec, dict):
        return
    restore, standby = spec.get("restore"), spec.get("standby")
    if isinstance(restore, dict) and isinstance(standby, dict):
        yield ("spec", "standby"), "restore and standby are mutually exclusive: a cluster bootstraps one way", "error"
    for mode, conf in (("restore", restore), ("standby", standby)):
        if not isinstance(conf, dict):
            continue
        path = ("spec", mode)
        if isinstance(conf.get("cluster"), str) and conf.get("cluster") == _get(data, "metadata", "name"):
            yield path + ("cluster",), (
                f"{mode}.cluster is this cluster's own name: the new cluster would archive into the backups it "
                "restores from; give the new cluster a new metadata.name"), "error"
        sources = [t for t in _TARGETS if isinstance(conf.get(t), dict)]
        if not sources and not any(isinstance(_get(spec, "backup", t), dict) for t in _TARGETS):
            yield path, f"{mode} needs the source storage: set {mode}.s3/gcs/azure or a spec.backup target", "error"
        if len(sources) > 1:
            yield path + (sources[1],), f"more than one {mode} source ({', '.join(sources)}): set one", "error"
        for t in sources:
            if t == "s3" and conf[t].get("endpoint") and not conf[t].get("credentials"):
                yield path + (t, "credentials"), "an S3-compatible source needs a credentials Secret", "error"
    if isinstance(restore, dict) and isinstance(restore.get("targetTime"), str):
        when = restore["targetTime"]
        if when.endswith("Z") or when.endswith("z"):
            yield ("spec", "restore", "targetTime"), (
                f'"{when}" uses Z: the operator needs a numeric UTC offset, write "{when[:-1]}+00:00"'), "error"
        elif not _OFFSET_TIME.match(when):
            yield ("spec", "restore", "targetTime"), (
                f'"{when}" is not an ISO 8601 time with a numeric UTC offset, e.g. "2026-11-20T10:00:00+00:00"'), "error"
        else:
            try:
                datetime.fromisoformat(when)
            except ValueError as exc:
                yield ("spec", "restore", "targetTime"), f'"{when}" is not a valid time: {exc}', "error"


def _durability(data: dict) -> Iterator[Finding]:
    topology = _get(data, "spec", "topology")
    durability = _get(data, "spec", "durability")
    path = ("spec", "durability")
    if topology == "single" and durability == "strict":
        yield path, "durability strict needs a replica: with topology single every write would block", "error"
    elif topology == "single" and durability == "sync":
        yield path, "durability sync has no effect with topology single (there is no replica)", "warning"
    elif topology == "duo" and durability == "sync":
        yield path, ("with topology duo, sync keeps writing when the only replica is down and then loses its "
                     "guarantee until it is back; use trio, or strict to block writes instead"), "warning"
    elif topology == "duo" and durability == "strict":
        yield path, "with topology duo, strict blocks all writes while the only replica is down", "warning"


def _parameters(data: dict) -> Iterator[Finding]:
    params = _get(data, "spec", "postgres", "parameters")
    if not isinstance(params, dict):
        return
    base = ("spec", "postgres", "parameters")
    for name, value in params.items():
        if name in OWNED_PARAMETERS:
            yield base + (name,), f"{name} cannot be set here: {OWNED_PARAMETERS[name]}", "error"
        elif name == "wal_level" and str(value).lower() != "logical":
            known = str(value).lower() in _WAL_LEVELS
            what = f"wal_level {value} is below logical" if known else f"{_show(value)} is not a wal_level"
            yield base + (name,), (f"{what}: Supabase Realtime and logical replication slots need wal_level logical "
                                   "(the default; allowed: logical, or leave it out)"), "error"
        elif isinstance(value, str) and re.search(r"[\x00-\x1f\x7f]", value):
            yield base + (name,), (f"{name}: the value holds a newline or another control character, which "
                                   "postgresql.conf cannot hold (Patroni would write a broken line)"), "error"
        elif isinstance(value, float) and not math.isfinite(value):
            yield base + (name,), f"{_show(value)} is not a usable value (a finite number or a string)", "error"
        elif _SECRET_PARAMETER.search(name):
            yield base + (name,), (
                f"{name} looks like a credential: parameters are rendered in plain text into the postgresql "
                "resource; the JWT secret comes from spec.supabase.jwt.existingSecret (or the chart's generated "
                "Secret), other secrets belong in Kubernetes Secrets"), "error"
        else:
            for message, severity in paramcheck.check_parameter(name, value, _get(data, "spec", "postgres", "version")):
                yield base + (name,), message, severity
    max_conn = _as_int(params.get("max_connections"))
    pooler_max = _pooler_max(data)
    if max_conn is not None and pooler_max is not None and max_conn < pooler_max + _reserved():
        yield base + ("max_connections",), (
            f"max_connections {max_conn} leaves no room beside the pooler's maxDBConnections {pooler_max}: "
            f"it must be at least {pooler_max + _reserved()} (maxDBConnections + {_reserved()} for superuser, "
            "replication and Supabase service connections)"), "error"


def _show(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else ("-" if value < 0 else "") + ".inf"
    return str(value)


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _pooler_max(data: dict) -> int | None:
    """The pooler's server connections as rendered: the spec's, else the size preset's."""
    if _get(data, "spec", "pooler", "enabled") is False:
        return None
    value = _get(data, "spec", "pooler", "maxDBConnections")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    size = _get(data, "spec", "postgres", "size")
    try:
        preset = presets.get("sizes", size)["pooler"]["maxDBConnections"]
    except Exception:  # noqa: BLE001 - an unknown size is the schema's error; nothing to compare with
        return None
    return preset if isinstance(preset, int) else None


def _reserved() -> int:
    # The render reserves the same head room when it derives max_connections from the pooler.
    return RESERVED_CONNECTIONS


def _scrape_access(data: dict) -> Iterator[Finding]:
    mon, net = _get(data, "spec", "monitoring"), _get(data, "spec", "networkPolicy")
    if (isinstance(mon, dict) and mon.get("serviceMonitor") and mon.get("exporter")
            and isinstance(net, dict) and net.get("enabled")
            and not net.get("metricsNamespaces")):
        yield ("spec", "networkPolicy", "metricsNamespaces"), (
            "the NetworkPolicy lets no other namespace reach the metrics port, so Prometheus cannot scrape the "
            "ServiceMonitor's targets: list Prometheus' namespace here"), "warning"


def _monitoring(data: dict) -> Iterator[Finding]:
    mon = _get(data, "spec", "monitoring")
    if isinstance(mon, dict) and mon.get("serviceMonitor") and not mon.get("exporter"):
        yield ("spec", "monitoring", "serviceMonitor"), "a ServiceMonitor needs monitoring.exporter: true", "error"


def _extensions(data: dict) -> Iterator[Finding]:
    wanted = _get(data, "spec", "supabase", "extensions")
    if not isinstance(wanted, list) or not wanted:
        return
    path = ("spec", "supabase", "extensions")
    try:
        # Imported here: validation must work (with a warning) even when the image's list is missing or broken.
        from . import extensions

        catalog = extensions.load()
        known = list(catalog.names())
        no_sql = {e.name for e in getattr(catalog, "extensions", ()) if getattr(e, "sql", True) is False}
    except Exception as exc:  # noqa: BLE001 - see above
        reason = " ".join(str(exc).split()) or type(exc).__name__
        yield path, f"cannot check against the image's extension list: {reason}", "warning"
        return
    for i, name in enumerate(wanted):
        if not isinstance(name, str):
            continue
        if name in no_sql:
            yield path + (i,), (f"{name} is a library without CREATE EXTENSION: the image loads it through the "
                                "preload parameters, leave it out of this list"), "error"
        elif name not in known:
            from .schema import suggest

            yield path + (i,), (f"extension {json.dumps(name)} is not in the image{suggest(name, known)} "
                                f"(allowed: {', '.join(n for n in known if n not in no_sql)})"), "error"


@functools.lru_cache(maxsize=None)
def _crd_field(name: str) -> dict:
    """The operator's own schema of one ``postgresql`` spec field (the CRD shipped as package data)."""
    from . import resources

    with open(resources.package_data("data/crds/postgresql.acid.zalan.do-v1.schema.json"), encoding="utf-8") as fh:
        return json.load(fh)["properties"]["spec"]["properties"][name]


def _scheduling(data: dict) -> Iterator[Finding]:
    """Node affinity is passed to the operator as it is: check it against the operator's CRD at validate time,
    so a typo gets a spec path here instead of a failed render later."""
    affinity = _get(data, "spec", "scheduling", "nodeAffinity")
    if isinstance(affinity, dict) and affinity:
        from jsonschema import Draft202012Validator

        validator = Draft202012Validator(_crd_field("nodeAffinity"))
        for err in sorted(validator.iter_errors(affinity), key=lambda e: list(e.absolute_path)):
            yield (("spec", "scheduling", "nodeAffinity") + tuple(err.absolute_path),
                   f"{err.message} (the operator's nodeAffinity schema)", "error")
    yield from _resource_bounds(data)


def _resource_bounds(data: dict) -> Iterator[Finding]:
    """A request above its limit, after the size preset fills in what the spec leaves out (as the chart's
    values merge them): Kubernetes refuses such pods, so a lone `limits.cpu: 100m` under a 500m preset request
    is as wrong as both written out."""
    from .quantity import to_bytes, to_cores

    try:
        size = presets.get("sizes", _get(data, "spec", "postgres", "size"))
    except Exception:  # noqa: BLE001 - an unknown size is the schema's finding
        return
    for part, preset, pods in (("postgres", size, "PostgreSQL"), ("pooler", size["pooler"], "pooler")):
        override = _get(data, "spec", part, "resources")
        if not isinstance(override, dict) or not override:
            continue
        for res, parse in (("cpu", to_cores), ("memory", to_bytes)):
            fallback = (preset["cpu"]["request"], preset["cpu"]["limit"]) if res == "cpu" else (preset["memory"],) * 2
            req, lim = _get(override, "requests", res), _get(override, "limits", res)
            if req is None and lim is None:
                continue
            eff_req, eff_lim = (fallback[0] if req is None else req), (fallback[1] if lim is None else lim)
            try:
                bad = parse(str(eff_req)) > parse(str(eff_lim))
            except ValueError:
                continue
            if bad:
                where = ("requests", res) if req is not None else ("limits", res)
                req_text = f"{eff_req}" if req is not None else f"{eff_req} (the size preset's)"
                lim_text = f"{eff_lim}" if lim is not None else f"{eff_lim} (the size preset's)"
                yield ("spec", part, "resources") + where, (
                    f"request {req_text} is above the limit {lim_text}: Kubernetes refuses the {pods} pods"), "error"


def _backup_checks() -> tuple:
    """chartgen.backup's checks (WAL paths, CRD timestamp form, ...), which live with the WAL-G translation.

    Guarded: a broken backup module turns into one reported problem instead of a validate that cannot start.
    """
    try:
        from .backup import CHECKS as backup_checks
    except Exception as exc:  # noqa: BLE001 - see above
        reason = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"

        def _unavailable(data: dict) -> Iterator[Finding]:
            yield (), f"internal error: the backup checks could not be loaded ({reason}); please report this", "error"

        return (_unavailable,)
    return tuple(backup_checks)


def _services(data: dict) -> Iterator[Finding]:
    """A malformed network in pg_hba makes PostgreSQL reject the whole file on reload: catch it here."""
    import ipaddress

    cidrs = _get(data, "spec", "supabase", "services", "sourceCIDRs")
    for i, cidr in enumerate(cidrs if isinstance(cidrs, list) else []):
        if not isinstance(cidr, str):
            continue
        try:
            ipaddress.ip_network(cidr, strict=True)
        except ValueError as exc:
            yield (("spec", "supabase", "services", "sourceCIDRs", i),
                   f"{cidr!r} is not a network: {exc} (e.g. \"10.244.0.0/16\")", "error")


CHECKS = (_backup, _restore, _durability, _parameters, paramcheck.memory_fit, _monitoring, _scrape_access,
          _extensions, _services, _scheduling, _secrets, _kubernetes_metadata, _storage,
          _schedule) + _backup_checks()
