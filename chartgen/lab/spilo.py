"""One patroni.yml per member, written the way Spilo writes it from the operator's SPILO_CONFIGURATION.

Spilo starts from its template (spilo.yaml here), merges the operator's configuration over it (the CR
wins), and points Patroni at the DCS. The lab does the same with etcd3 on loopback instead of the
Kubernetes API, and changes only what a loopback lab must (ports, paths, no TLS), logging each change.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..dicts import deep_merge
from . import pgenv
from .plan import LabPlan
from .supabase import SupabaseSetup, key_script_parameters

DEFAULTS_FILE = Path(__file__).with_name("spilo.yaml")
SUPERUSER = "postgres"
REPLICATION_USER = "standby"     # Spilo's PGUSER_STANDBY


@dataclass(frozen=True)
class Credentials:
    superuser_password: str
    replication_password: str

    @classmethod
    def generate(cls) -> Credentials:
        return cls(secrets.token_hex(12), secrets.token_hex(12))


@dataclass(frozen=True)
class Member:
    name: str
    api_port: int
    pg_port: int
    root: Path

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def config_path(self) -> Path:
        return self.root / "patroni.yml"

    @property
    def log_path(self) -> Path:
        return self.root / "patroni.log"

    @property
    def socket_dir(self) -> Path:
        return self.root / "run"


def load_defaults() -> dict:
    return yaml.safe_load(DEFAULTS_FILE.read_text())


@dataclass(frozen=True)
class ClusterConfig:
    """What is equal on every member: the bootstrap section and the adapted local parameters."""

    bootstrap: dict
    local_parameters: dict[str, str]


def cluster_config(plan: LabPlan, bindir: Path, log: Callable[[str], None],
                   supabase: SupabaseSetup | None = None) -> ClusterConfig:
    defaults = load_defaults()
    lab = defaults["lab"]
    owned = set(lab["owned_parameters"])
    caps = lab["caps"]

    dcs_params = {**defaults["dcs"]["postgresql"]["parameters"], **plan.bootstrap_parameters}
    dcs_params = pgenv.adapt_parameters({k: str(v) for k, v in dcs_params.items()}, bindir, caps, owned, log,
                                        "bootstrap.dcs.postgresql.parameters")
    if supabase is not None:
        dcs_params = key_script_parameters(dcs_params, supabase, log, "bootstrap.dcs.postgresql.parameters")
    dcs: dict[str, Any] = deep_merge(defaults["dcs"], {k: v for k, v in plan.dcs.items()})
    dcs["postgresql"]["parameters"] = dcs_params
    for note in plan.timing_notes():
        log(f"bootstrap.dcs: {note}")

    # Spilo's own local values are the lab's too (archive_command /bin/true); only the CR's are checked.
    spilo_local = {k: str(v) for k, v in defaults["local_parameters"].items()}
    cr_local = pgenv.adapt_parameters({k: str(v) for k, v in plan.local_parameters.items()}, bindir, caps,
                                      owned, log, "postgresql.parameters")
    if "shared_preload_libraries" not in plan.local_parameters:
        spilo_local = pgenv.adapt_parameters(spilo_local, bindir, caps, set(), log, "Spilo's postgresql.parameters")
    local = {**spilo_local, **cr_local, **lab["local_parameters"]}
    if plan.pg_hba:
        log(f"postgresql.pg_hba: the CR's {len(plan.pg_hba)} rules (pod networks, TLS) are replaced by "
            "loopback password rules")
    bootstrap: dict[str, Any] = {"dcs": dcs, "initdb": defaults["initdb"]}
    if supabase is not None and supabase.post_init is not None:
        # configure_spilo.py: `post_init: /scripts/post_init.sh "{{HUMAN_ROLE}}"`; Patroni appends the conninfo.
        bootstrap["post_init"] = supabase.post_init
    return ClusterConfig(bootstrap=bootstrap, local_parameters=local)


def pg_hba() -> list[str]:
    return [
        "local all all trust",
        f"host replication {REPLICATION_USER} 127.0.0.1/32 md5",
        "host all all 127.0.0.1/32 md5",
    ]


def member_config(plan: LabPlan, shared: ClusterConfig, member: Member, etcd_port: int, bindir: Path,
                  creds: Credentials, supabase: SupabaseSetup | None = None) -> dict:
    params = {**shared.local_parameters, "unix_socket_directories": str(member.socket_dir)}
    callbacks = {}
    if supabase is not None and supabase.on_role_change is not None:
        # configure_spilo.py: on_role_change: '/scripts/on_role_change.sh {{HUMAN_ROLE}} true'
        callbacks = {"callbacks": {"on_role_change": supabase.on_role_change}}
    return {
        "scope": plan.name,
        "namespace": "/service/",
        "name": member.name,
        "restapi": {"listen": f"127.0.0.1:{member.api_port}", "connect_address": f"127.0.0.1:{member.api_port}"},
        "etcd3": {"hosts": [f"127.0.0.1:{etcd_port}"]},
        "bootstrap": shared.bootstrap,
        "postgresql": {
            "name": member.name,
            "listen": f"127.0.0.1:{member.pg_port}",
            "connect_address": f"127.0.0.1:{member.pg_port}",
            "data_dir": str(member.data_dir),
            "bin_dir": str(bindir),
            "pgpass": str(member.root / "pgpass"),
            "use_unix_socket": True,
            "parameters": params,
            "pg_hba": pg_hba(),
            "authentication": {
                "superuser": {"username": SUPERUSER, "password": creds.superuser_password},
                "replication": {"username": REPLICATION_USER, "password": creds.replication_password},
            },
            # Spilo's basebackup.sh takes a fast checkpoint too; a replica is ready in seconds, not minutes.
            "basebackup": [{"checkpoint": "fast"}],
            # A failed pg_rewind would leave the old leader out of the cluster for the rest of the run;
            # recloning it is what an operator does by hand, and a redundancy time shows the cost.
            "remove_data_directory_on_rewind_failure": True,
            **callbacks,
        },
    }


def write_member_config(config: dict, member: Member) -> None:
    member.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
