"""Spec -> chart values: pure functions, every value traceable to where it came from.

``build(spec)`` returns a ``Values`` holding the values for charts/spilo-supabase and, for each leaf,
its source: a spec field, a preset, a formula, or the chart's default. ``chartgen explain`` prints those.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from . import pgsettings, presets, tuning
from .limits import RESERVED_CONNECTIONS
from .quantity import to_bytes
from .spec import Spec



_PART = re.compile(r'\["([^"]+)"\]|([^.\[\]]+)')


def join(prefix: str, key: str) -> str:
    """Append a key to a values path; keys holding a dot (``pg_stat_statements.max``) are bracketed."""
    part = f'["{key}"]' if "." in key else key
    if not prefix:
        return part
    return prefix + part if part.startswith("[") else f"{prefix}.{part}"


def split(path: str) -> list[str]:
    """``postgresql.parameters["cron.max_running_jobs"]`` -> its keys."""
    return [bracketed or plain for bracketed, plain in _PART.findall(path)]


#: A whole values path: keys separated by ".", a key holding a dot written as ["a.b"]; nothing empty.
_PATH = re.compile(r'(?:[^.\[\]"\s]+|\["[^"]+"\])(?:\.[^.\[\]"\s]+|\["[^"]+"\])*')


def is_path(path: str) -> bool:
    """``a.b["c.d"]`` is a values path; "", "..", "a..b", ".a" and "a." are not."""
    return _PATH.fullmatch(path) is not None


def canonical(path: str) -> str:
    """One spelling per path: ``a.b.c`` and ``a["b"].c`` are the same key."""
    out = ""
    for part in split(path):
        out = join(out, part)
    return out


@dataclass
class Values:
    data: dict = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    #: Mappings that replace the chart's default instead of merging into it (label selectors).
    replace: list[str] = field(default_factory=list)

    def set(self, path: str, value: Any, source: str, *, replace: bool = False) -> None:
        if replace:
            self.replace.append(path)
        node = self.data
        parts = split(path)
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = copy.deepcopy(value)
        self._trace(path, value, source)

    def _trace(self, path: str, value: Any, source: str) -> None:
        if isinstance(value, dict) and value:
            for k, v in value.items():
                self._trace(join(path, k), v, source)
        else:
            self.sources[path] = source

    def source(self, path: str) -> str | None:
        """Where ``path`` came from; for a mapping, the sources of its leaves."""
        path = canonical(path)
        if path in self.sources:
            return self.sources[path]
        below = {k: v for k, v in self.sources.items() if k.startswith(path + ".") or k.startswith(path + "[")}
        if below:
            return "\n".join(f"{k}: {v}" for k, v in sorted(below.items()))
        return None


def _spec_source(field_path: str) -> str:
    return f"spec: {field_path}"


def build(spec: Spec) -> Values:
    """The chart values for ``spec`` (only what the spec determines; the chart's defaults fill the rest)."""
    v = Values()
    d = spec.data
    s = d["spec"]
    pg = s["postgres"]

    v.set("clusterName", d["metadata"]["name"], _spec_source("metadata.name"))
    for key in ("labels", "annotations"):
        if d["metadata"].get(key):
            v.set(key, d["metadata"][key], _spec_source(f"metadata.{key}"))
    if s.get("teamId"):
        v.set("teamId", s["teamId"], _spec_source("spec.teamId"))
    else:
        # The chart derives the same when teamId is empty (_helpers.tpl, spilo-supabase.teamId); set here so that
        # values.yaml and `chartgen explain` show what the postgresql resource gets.
        v.set("teamId", d["metadata"]["name"].split("-")[0],
              "formula: metadata.name up to its first '-' (spec.teamId unset; the operator's team prefix check)")

    topo = presets.get("topologies", s["topology"])
    v.set("instances", topo["instances"], f"preset topologies.{s['topology']}.instances (spec.topology)")
    v.set("topologySpread.enabled", topo["spread"], f"preset topologies.{s['topology']}.spread (spec.topology)")

    image = {k: s["image"][k] for k in ("repository", "tag", "digest") if k in s["image"]}
    v.set("image", image, _spec_source("spec.image"))

    v.set("postgresql.version", pg["version"], _spec_source("spec.postgres.version"))

    size_name = pg["size"]
    size = presets.get("sizes", size_name)
    pre = f"preset sizes.{size_name}"
    _resources(v, pg, size, pre)

    floor = size["storageFloor"]
    storage_size = pg["storage"].get("size")
    if storage_size:
        v.set("storage.size", storage_size, _spec_source("spec.postgres.storage.size"))
    else:
        v.set("storage.size", floor, f"{pre}.storageFloor")
    if pg["storage"].get("storageClass"):
        v.set("storage.storageClass", pg["storage"]["storageClass"], _spec_source("spec.postgres.storage.storageClass"))

    patroni = {**presets.get("failover", s["failover"]), **presets.get("durability", s["durability"])}
    for key, value in patroni.items():
        kind = "failover" if key in presets.get("failover", s["failover"]) else "durability"
        v.set(f"patroni.{key}", value, f"preset {kind}.{s[kind]}.{key} (spec.{kind})")

    _pooler(v, s["pooler"], size, pre)
    _parameters(v, spec, size, pre)

    backup = s.get("backup") or {}
    if backup.get("enabled"):
        v.set("backup", backup, _spec_source("spec.backup"))
    else:
        v.set("backup.enabled", False, _spec_source("spec.backup.enabled") if "backup" in spec.raw.get("spec", {})
              else "default: backups off")

    _bootstrap(v, s)
    _supabase(v, s["supabase"])
    _scheduling(v, s["scheduling"])
    if s.get("tls"):
        tls = s["tls"]
        v.set("tls.secretName", tls["secretName"], _spec_source("spec.tls.secretName"))
        if tls.get("caSecretName"):
            v.set("tls.caSecretName", tls["caSecretName"], _spec_source("spec.tls.caSecretName"))
            v.set("tls.caFile", tls["caKey"], _spec_source("spec.tls.caKey"))

    mon = s["monitoring"]
    v.set("monitoring.exporter.enabled", mon["exporter"], _spec_source("spec.monitoring.exporter"))
    v.set("monitoring.serviceMonitor.enabled", mon["serviceMonitor"], _spec_source("spec.monitoring.serviceMonitor"))
    net = s["networkPolicy"]
    v.set("networkPolicy.enabled", net["enabled"], _spec_source("spec.networkPolicy.enabled"))
    v.set("networkPolicy.allowedNamespaces", net["allowedNamespaces"], _spec_source("spec.networkPolicy.allowedNamespaces"))
    v.set("networkPolicy.metricsNamespaces", net["metricsNamespaces"], _spec_source("spec.networkPolicy.metricsNamespaces"))
    v.set("operator.namespace", net["operator"]["namespace"], _spec_source("spec.networkPolicy.operator.namespace"))
    # The chart's default labels are replaced, not merged: the operator's pods carry one set or the other.
    v.set("operator.podLabels", net["operator"]["podLabels"], _spec_source("spec.networkPolicy.operator.podLabels"),
          replace=True)
    return v


def _scheduling(v: Values, sched: dict) -> None:
    # preferred: the host spread becomes ScheduleAnyway, so duo/trio start on a one-node cluster (kind,
    # minikube); members may then share a node, and losing it loses them all.
    when = {"required": "DoNotSchedule", "preferred": "ScheduleAnyway"}[sched["hostSpread"]]
    v.set("topologySpread.host.whenUnsatisfiable", when, _spec_source("spec.scheduling.hostSpread"))
    for key, target in (("tolerations", "scheduling.tolerations"), ("nodeAffinity", "scheduling.nodeAffinity"),
                        ("priorityClassName", "scheduling.priorityClassName")):
        if sched.get(key):
            v.set(target, sched[key], _spec_source(f"spec.scheduling.{key}"), replace=True)


def _resources(v: Values, pg: dict, size: dict, pre: str) -> None:
    # Memory request == limit: PostgreSQL under memory pressure is OOM-killed, not slowed down, so the
    # scheduler must reserve what the limit allows.
    _set_resources(v, "resources", size, pre, pg.get("resources"), "spec.postgres.resources")


def _pooler(v: Values, pooler: dict, size: dict, pre: str) -> None:
    v.set("pooler.enabled", pooler["enabled"], _spec_source("spec.pooler.enabled"))
    v.set("pooler.instances", pooler["instances"], _spec_source("spec.pooler.instances"))
    v.set("pooler.mode", pooler["mode"], _spec_source("spec.pooler.mode"))
    v.set("pooler.replica", pooler["replica"], _spec_source("spec.pooler.replica"))
    if "maxDBConnections" in pooler:
        v.set("pooler.maxDBConnections", pooler["maxDBConnections"], _spec_source("spec.pooler.maxDBConnections"))
    else:
        v.set("pooler.maxDBConnections", size["pooler"]["maxDBConnections"], f"{pre}.pooler.maxDBConnections")
    _set_resources(v, "pooler.resources", size["pooler"], f"{pre}.pooler", pooler.get("resources"),
                   "spec.pooler.resources")


def _set_resources(v: Values, key: str, preset: dict, pre: str, override: dict | None, spec_path: str) -> None:
    """Requests and limits from a size preset ({cpu: {request, limit}, memory}), each overridable in the spec."""
    defaults = {
        "requests.cpu": (preset["cpu"]["request"], f"{pre}.cpu.request"),
        "requests.memory": (preset["memory"], f"{pre}.memory"),
        "limits.cpu": (preset["cpu"]["limit"], f"{pre}.cpu.limit"),
        "limits.memory": (preset["memory"], f"{pre}.memory"),
    }
    override = override or {}
    for sub, (value, source) in defaults.items():
        group, res = sub.split(".")
        if res in override.get(group, {}):
            v.set(f"{key}.{sub}", str(override[group][res]), _spec_source(f"{spec_path}.{sub}"))
        else:
            v.set(f"{key}.{sub}", value, source)


def _parameters(v: Values, spec: Spec, size: dict, pre: str) -> None:
    pooler_max = v.data["pooler"]["maxDBConnections"]
    # The pooler's connections must fit under max_connections with room for direct clients.
    max_conn = tuning.max_connections(size["maxConnections"], pooler_max)
    derived = tuning.derive_parameters(
        memory=v.data["resources"]["limits"]["memory"],
        cpu_limit=v.data["resources"]["limits"]["cpu"],
        max_connections=max_conn,
        storage=v.data["storage"]["size"],
    )
    for name, (value, formula) in sorted(derived.items()):
        source = f"formula: {formula}" if formula != "size preset" else f"{pre}.maxConnections"
        if name == "max_connections" and max_conn != size["maxConnections"]:
            source = f"formula: pooler.maxDBConnections + {RESERVED_CONNECTIONS}"
        v.set(join("postgresql.parameters", name), value, source)
    for name, value in sorted((spec.get("spec.postgres.parameters") or {}).items()):
        v.set(join("postgresql.parameters", name), pgsettings.conf_text(value),
              _spec_source(join("spec.postgres.parameters", name)))


def _bootstrap(v: Values, s: dict) -> None:
    if s.get("restore"):
        v.set("bootstrap.mode", "restore", _spec_source("spec.restore"))
        v.set("bootstrap.restore", _with_source_storage(s["restore"], s), _spec_source("spec.restore"))
    elif s.get("standby"):
        v.set("bootstrap.mode", "standby", _spec_source("spec.standby"))
        v.set("bootstrap.standby", _with_source_storage(s["standby"], s), _spec_source("spec.standby"))
    else:
        v.set("bootstrap.mode", "fresh", "default: no spec.restore or spec.standby")


def _with_source_storage(section: dict, s: dict) -> dict:
    """A restore/standby source defaults to this cluster's own backup target (same bucket, other cluster)."""
    out = copy.deepcopy(section)
    if not any(t in out for t in ("s3", "gcs", "azure")):
        for target in ("s3", "gcs", "azure"):
            if target in (s.get("backup") or {}):
                out[target] = copy.deepcopy(s["backup"][target])
                break
    return out


def _supabase(v: Values, sb: dict) -> None:
    jwt = sb["jwt"]
    if jwt.get("existingSecret"):
        v.set("supabase.jwt.existingSecret", jwt["existingSecret"], _spec_source("spec.supabase.jwt.existingSecret"))
    v.set("supabase.jwt.expiry", jwt["expiry"], _spec_source("spec.supabase.jwt.expiry"))
    if sb["rootKey"].get("existingSecret"):
        v.set("supabase.rootKey.existingSecret", sb["rootKey"]["existingSecret"],
              _spec_source("spec.supabase.rootKey.existingSecret"))
    if "extensions" in sb:
        v.set("supabase.extensions", sb["extensions"], _spec_source("spec.supabase.extensions"))
        v.set("supabase.timescaledb", "timescaledb" in sb["extensions"], _spec_source("spec.supabase.extensions"))
    v.set("supabase.realtime.slots", sb["realtime"]["slots"], _spec_source("spec.supabase.realtime.slots"))
    v.set("supabase.realtime.plugin", sb["realtime"]["plugin"], _spec_source("spec.supabase.realtime.plugin"))
    services = sb["services"]
    v.set("supabase.services.enabled", services["enabled"], _spec_source("spec.supabase.services.enabled"))
    if services["enabled"]:
        v.set("supabase.services.sourceCIDRs", services["sourceCIDRs"], _spec_source("spec.supabase.services.sourceCIDRs"))


def storage_bytes(values: dict) -> int:
    return to_bytes(values["storage"]["size"])
