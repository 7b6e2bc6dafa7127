"""What Supabase needs from the database, checked on the leader after every experiment.

Each check asks the current leader (or PgBouncer in front of it) the way a Supabase service would:
  vault         every vault secret written before a disruption decrypts (same root key on every member,
                never regenerated)
  authenticator PostgREST's login: authenticator logs in with its password and switches to anon
  pooler_auth   PgBouncer logs authenticator in through auth_query = pgbouncer.get_auth($1), and
                get_auth answers pgbouncer directly
  realtime      the supabase_realtime publication exists
  pgrst_notify  DDL as postgres sends NOTIFY pgrst (PostgREST's schema reload, an event trigger)
  bootstrap     one applied-files row per payload file, unchanged since the cluster became ready, and no
                member applied anything since: Spilo's on_role_change re-runs post_init on every promoted
                replica, and the runner must find nothing to do there
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from dataclasses import dataclass, field

from . import failures
from .cluster import Cluster
from .errors import LabError

CHECKS = ("vault", "authenticator", "pooler_auth", "realtime", "pgrst_notify", "bootstrap")
RUNNER_LOGGER = '"logger":"supabase-bootstrap"'


@dataclass
class Invariants:
    """State carried between checks: the secrets written so far and the bootstrap's record at ready."""

    cluster: Cluster
    vault: dict[str, str] = field(default_factory=dict)
    applied: str = ""
    log_offsets: dict[str, int] = field(default_factory=dict)
    probes: int = 0
    # Per member: runs of the runner since ready that found nothing to apply (Spilo's promotion callback
    # re-runs post_init on every new primary; this is how often it did, and applied nothing).
    reruns: dict[str, int] = field(default_factory=dict)

    @classmethod
    def start(cls, cluster: Cluster) -> Invariants:
        """Record the state right after the cluster became ready (needs a Supabase payload)."""
        if not cluster.supabase_ready_needed:
            raise LabError("Supabase's invariants need a payload (the cluster was started without one)")
        inv = cls(cluster)
        leader = inv._leader()
        inv.applied = inv._applied(leader)
        for m in cluster.members:
            inv.log_offsets[m.name] = m.log_path.stat().st_size if m.log_path.exists() else 0
        return inv

    def _leader(self) -> str:
        leader = self.cluster.primary()
        if leader is None:
            raise LabError("no primary to check Supabase's invariants on")
        return leader

    def _applied(self, leader: str) -> str:
        return self.cluster.psql(leader, "select name, sha256, applied_at from supabase_bootstrap.applied_files "
                                         "order by name")

    def write_secret(self) -> str:
        """A vault secret on the leader, to be read back after the next disruption."""
        self.probes += 1
        name = f"lab-probe-{self.probes}"
        value = secrets.token_hex(16)
        self.cluster.psql(self._leader(), f"select vault.create_secret('{value}', '{name}')")
        self.vault[name] = value
        return name

    # ---- the checks ----------------------------------------------------------------------------------

    def check(self) -> dict[str, str]:
        """{check: "" when it holds, else why not}, on the current leader."""
        leader = self._leader()
        out: dict[str, str] = {}
        for name in CHECKS:
            try:
                out[name] = getattr(self, f"_check_{name}")(leader)
            except (LabError, subprocess.SubprocessError, OSError) as exc:
                out[name] = " ".join(str(exc).split())[:400]
        return out

    def _check_vault(self, leader: str) -> str:
        if not self.vault:
            return ""
        names = "','".join(self.vault)
        rows = self.cluster.psql(leader, f"select name, decrypted_secret from vault.decrypted_secrets "
                                         f"where name in ('{names}')")
        got = dict(line.split("|", 1) for line in rows.splitlines() if "|" in line)
        bad = [n for n, v in self.vault.items() if got.get(n) != v]
        return f"secrets {', '.join(bad)} do not decrypt to what was written" if bad else ""

    def _check_authenticator(self, leader: str) -> str:
        out = self._as("authenticator", self.cluster.member(leader).pg_port,
                       ["-c", "set role anon", "-c", "select current_user"])
        return "" if out.strip().splitlines()[-1:] == ["anon"] else f"current_user after set role anon: {out!r}"

    def _check_pooler_auth(self, leader: str) -> str:
        direct = self._as("pgbouncer", self.cluster.member(leader).pg_port,
                          ["-c", "select username from pgbouncer.get_auth('authenticator')"])
        if direct.strip() != "authenticator":
            return f"pgbouncer.get_auth('authenticator') on {leader} returned {direct!r}"
        if self.cluster.pgbouncer_port is None:
            return "no PgBouncer running (the CR enables no pooler)"
        target = self.cluster.repoint_pooler()
        if target != leader:
            return f"PgBouncer points at {target}, not the leader {leader}"
        out = self._as("authenticator", self.cluster.pgbouncer_port, ["-c", "select current_user"])
        return "" if out.strip() == "authenticator" else f"through PgBouncer: {out!r}"

    def _check_realtime(self, leader: str) -> str:
        n = self.cluster.psql(leader, "select count(*) from pg_publication where pubname = 'supabase_realtime'")
        return "" if n.strip() == "1" else "no supabase_realtime publication"

    def _check_pgrst_notify(self, leader: str) -> str:
        self.probes += 1
        table = f"public.lab_pgrst_probe_{self.probes}"
        out = self._as("postgres", self.cluster.member(leader).pg_port,
                       ["-c", "LISTEN pgrst", "-c", f"create table {table} (id int)", "-c", f"drop table {table}"],
                       password=self.cluster.creds.superuser_password)
        return "" if 'notification "pgrst"' in out else "no NOTIFY pgrst after DDL as postgres"

    def _check_bootstrap(self, leader: str) -> str:
        assert self.cluster.supabase is not None
        now = self._applied(leader)
        rows = [line.split("|")[0] for line in now.splitlines() if line]
        files = self.cluster.supabase.files
        if sorted(rows) != sorted(files):
            extra = sorted(set(rows) - set(files))
            missing = sorted(set(files) - set(rows))
            return (f"applied_files has {len(rows)} rows for {len(files)} files "
                    f"(missing {missing[:3]}, unexpected {extra[:3]})")
        if now != self.applied:
            return "applied_files changed since the cluster became ready"
        for m in self.cluster.members:
            text = failures.read_from(m.log_path, self.log_offsets.get(m.name, 0))
            events = [json.loads(line).get("event") for line in text.splitlines() if RUNNER_LOGGER in line
                      and line.lstrip().startswith("{")]
            reran = [e for e in events if e in ("start", "applied")]
            if reran:
                return f"supabase-bootstrap applied files again on {m.name} ({len(reran)} events)"
            broken = [e for e in events if e in ("failed", "error")]
            if broken:
                return f"supabase-bootstrap failed on {m.name} after the cluster was ready (see its log)"
            self.reruns[m.name] = events.count("up-to-date")
        return ""

    def _as(self, user: str, port: int, args: list[str], password: str | None = None) -> str:
        """psql as ``user`` over TCP with a password (Supabase's POSTGRES_PASSWORD unless given)."""
        sb = self.cluster.supabase
        assert sb is not None
        env = {**os.environ, "PGPASSWORD": password or sb.postgres_password, "PGCONNECT_TIMEOUT": "5"}
        res = subprocess.run([str(self.cluster.bindir / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", user,
                              "-d", "postgres", "-XAtq", "-v", "ON_ERROR_STOP=1", *args],
                             capture_output=True, text=True, env=env, timeout=30)
        if res.returncode != 0:
            raise LabError(f"psql as {user} on port {port}: {res.stderr.strip()}")
        return res.stdout


def failed(result: dict[str, str]) -> list[str]:
    return [f"{k}: {v}" for k, v in result.items() if v]
