"""A rendered ``postgresql`` resource (Zalando operator v2.0.1) -> what the lab must run.

This reads the CR the way the operator and Spilo do: ``spec.patroni`` becomes Patroni's bootstrap DCS
settings, ``spec.postgresql.parameters`` is split into the DCS part (parameters that must be equal on every
member) and the local part exactly like the operator's ``isBootstrapOnlyParameter``, and the pooler sizes
come from ``spec.connectionPooler`` with the operator's own arithmetic (``getConnectionPoolerEnvVars``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import LabError
from .supabase import SecretsVolume, secrets_volume

POSTGRESQL_KIND = ("acid.zalan.do/v1", "postgresql")
PG_LAB_MAJOR = "15"      # pgenv.PG_MAJOR; kept here so reading a plan needs no PostgreSQL

# Spilo's own values when the CR leaves a Patroni setting out (configure_spilo.py's template).
SPILO_DCS_DEFAULTS = {"ttl": 30, "loop_wait": 10, "retry_timeout": 10, "maximum_lag_on_failover": 33554432}
PATRONI_MIN_TTL = 20

# spec.patroni keys the operator copies into bootstrap.dcs (pg_hba and initdb go elsewhere).
DCS_KEYS = ("ttl", "loop_wait", "retry_timeout", "maximum_lag_on_failover", "synchronous_mode",
            "synchronous_mode_strict", "synchronous_node_count", "failsafe_mode", "slots")

# The operator's isBootstrapOnlyParameter: these stay local to each member; every other parameter goes to
# bootstrap.dcs.postgresql.parameters.
LOCAL_PARAMETERS = frozenset({
    "archive_command", "shared_buffers", "logging_collector", "log_destination", "log_directory",
    "log_filename", "log_file_mode", "log_rotation_age", "log_truncate_on_rotation", "ssl", "ssl_ca_file",
    "ssl_crl_file", "ssl_cert_file", "ssl_key_file", "shared_preload_libraries", "bg_mon.listen_address",
    "bg_mon.history_buckets", "pg_stat_statements.track_utility", "extwlist.extensions",
    "extwlist.custom_path",
})

# The operator's pooler defaults (operator configuration and pkg/util/constants).
POOLER_DEFAULT_MAX_DB_CONNECTIONS = 60
POOLER_DEFAULT_INSTANCES = 2
POOLER_DEFAULT_MODE = "transaction"
POOLER_MAX_CLIENT_CONN = 10000


@dataclass(frozen=True)
class PoolerPlan:
    """PgBouncer settings as the operator's pooler pod receives them (per pooler instance)."""

    mode: str
    instances: int
    max_db_connections: int      # the CR's maxDBConnections, for the whole pooler deployment
    max_db_conn: int             # per instance: maxDBConnections / instances
    default_pool_size: int       # max_db_conn / 2
    min_pool_size: int           # default_pool_size / 2
    reserve_pool_size: int       # = min_pool_size
    max_client_conn: int = POOLER_MAX_CLIENT_CONN


@dataclass(frozen=True)
class LabPlan:
    name: str
    members: int
    version: str
    dcs: dict[str, Any]
    bootstrap_parameters: dict[str, str]
    local_parameters: dict[str, str]
    pg_hba: list[str] = field(default_factory=list)
    pooler: PoolerPlan | None = None
    secrets: SecretsVolume | None = None               # the CR's Supabase Secret mount (supabase.py)
    ignored: list[str] = field(default_factory=list)   # CR sections the lab does not reproduce, said out loud

    @property
    def ttl(self) -> int:
        return max(int(self.dcs["ttl"]), PATRONI_MIN_TTL)

    @property
    def loop_wait(self) -> int:
        return int(self.dcs["loop_wait"])

    @property
    def retry_timeout(self) -> int:
        return int(self.dcs["retry_timeout"])

    @property
    def synchronous(self) -> bool:
        return bool(self.dcs.get("synchronous_mode"))

    @property
    def strict(self) -> bool:
        return bool(self.dcs.get("synchronous_mode_strict"))

    @property
    def durability(self) -> str:
        return "strict" if self.strict else "sync" if self.synchronous else "async"

    def timing_notes(self) -> list[str]:
        """What Patroni will silently change about these timings, said out loud."""
        notes = []
        if int(self.dcs["ttl"]) < PATRONI_MIN_TTL:
            notes.append(f"ttl {self.dcs['ttl']} is below Patroni's minimum; Patroni runs with ttl {PATRONI_MIN_TTL}")
        if self.loop_wait + 2 * self.retry_timeout > self.ttl:
            notes.append(f"loop_wait {self.loop_wait} + 2 * retry_timeout {self.retry_timeout} > ttl {self.ttl}: "
                         "Patroni adjusts the timings at runtime")
        return notes


def find_postgresql(manifests: list[dict]) -> dict:
    found = [m for m in manifests if isinstance(m, dict)
             and (m.get("apiVersion"), m.get("kind")) == POSTGRESQL_KIND]
    if not found:
        kinds = sorted({f"{m.get('kind')}" for m in manifests if isinstance(m, dict)})
        raise LabError(f"no acid.zalan.do/v1 postgresql resource among the manifests (found: {', '.join(kinds) or 'none'})")
    if len(found) > 1:
        names = ", ".join(str(m.get("metadata", {}).get("name")) for m in found)
        raise LabError(f"the lab runs one cluster, but the manifests hold {len(found)} postgresql resources: {names}")
    return found[0]


def pooler_plan(spec: dict) -> PoolerPlan | None:
    pooler = spec.get("connectionPooler")
    enabled = spec.get("enableConnectionPooler")
    # The operator's needMasterConnectionPooler: enabled explicitly, or a connectionPooler section without the flag.
    if not (enabled is True or (enabled is None and pooler is not None)):
        return None
    pooler = pooler or {}
    instances = int(pooler.get("numberOfInstances") or POOLER_DEFAULT_INSTANCES)
    max_db = int(pooler.get("maxDBConnections") or POOLER_DEFAULT_MAX_DB_CONNECTIONS)
    per_instance = max_db // instances
    default_size = per_instance // 2
    min_size = default_size // 2
    if default_size < 1:
        raise LabError(f"spec.connectionPooler: maxDBConnections {max_db} over {instances} instances leaves "
                       "a pool size of 0")
    return PoolerPlan(mode=str(pooler.get("mode") or POOLER_DEFAULT_MODE), instances=instances,
                      max_db_connections=max_db, max_db_conn=per_instance, default_pool_size=default_size,
                      min_pool_size=min_size, reserve_pool_size=min_size)


def from_manifests(manifests: list[dict]) -> LabPlan:
    """Read the one ``postgresql`` resource of a render into a lab plan. Raises LabError."""
    cr = find_postgresql(manifests)
    spec = cr.get("spec") or {}
    name = str((cr.get("metadata") or {}).get("name") or "lab")
    members = spec.get("numberOfInstances")
    if not isinstance(members, int) or members < 1:
        raise LabError(f"postgresql/{name}: spec.numberOfInstances must be at least 1 (got {members!r})")
    pg = spec.get("postgresql") or {}
    version = str(pg.get("version") or "")
    if not version:
        raise LabError(f"postgresql/{name}: spec.postgresql.version is missing")
    patroni = spec.get("patroni") or {}
    dcs: dict[str, Any] = dict(SPILO_DCS_DEFAULTS)
    for key in DCS_KEYS:
        if patroni.get(key) is not None:
            dcs[key] = patroni[key]
    params = {str(k): str(v) for k, v in (pg.get("parameters") or {}).items()}
    local = {k: v for k, v in params.items() if k in LOCAL_PARAMETERS}
    bootstrap = {k: v for k, v in params.items() if k not in LOCAL_PARAMETERS}
    ignored = [f"spec.{key}: the lab bootstraps an empty cluster (no clone, standby or backups)"
               for key in ("clone", "standby") if spec.get(key)]
    if version != PG_LAB_MAJOR:
        ignored.append(f"spec.postgresql.version {version}: the lab runs Debian's PostgreSQL {PG_LAB_MAJOR}; "
                       "the failover behaviour under test is Patroni's")
    return LabPlan(name=name, members=members, version=version, dcs=dcs, bootstrap_parameters=bootstrap,
                   local_parameters=local, pg_hba=list(patroni.get("pg_hba") or []), pooler=pooler_plan(spec),
                   secrets=secrets_volume(cr, manifests), ignored=ignored)
