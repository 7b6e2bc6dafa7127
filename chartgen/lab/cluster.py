"""etcd + N Patroni members (+ PgBouncer) on loopback: start, inspect, break, repair, stop.

Every pid the cluster touches is one it started or one it read from a data directory it owns; all of
them are remembered so ``leftovers()`` can prove after ``stop()`` that nothing outlived the lab.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import failures, pgenv, procs, spilo
from . import pooler as pooler_mod
from . import supabase as supabase_mod
from .errors import LabError
from .plan import LabPlan

DEFAULT_PATRONI_VENV = "/var/tmp/chartgen-patroni-venv"


def patroni_venv() -> Path:
    venv = Path(os.environ.get("CHARTGEN_PATRONI_VENV", DEFAULT_PATRONI_VENV))
    if not (venv / "bin" / "patroni").is_file():
        raise LabError(
            f"no Patroni venv at {venv} (set CHARTGEN_PATRONI_VENV). Build it from Debian's interpreter so the "
            f"postgres user can run it:\n  /usr/bin/python3 -m venv {venv} && {venv}/bin/pip install "
            f"'patroni[etcd3,psycopg3]==4.1.5' && chmod -R a+rX {venv}")
    return venv


def _http_json(url: str, timeout: float = 3.0) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback only
        return json.loads(resp.read().decode())


@dataclass(frozen=True)
class Endpoint:
    """One way in: libpq parameters (password included: it is a throwaway lab) and what it is."""

    role: str                              # primary | replica | pooler
    member: str | None                     # the member behind it (None: whichever is the leader)
    hosts: tuple[tuple[str, int], ...]     # several: a multi-host string, as libpq takes it
    user: str
    password: str
    dbname: str = "postgres"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def port(self) -> int:
        return self.hosts[0][1]

    def dsn(self, **override: str) -> str:
        parts = {"host": ",".join(h for h, _ in self.hosts), "port": ",".join(str(p) for _, p in self.hosts),
                 "user": self.user, "password": self.password, "dbname": self.dbname, **self.extra, **override}
        return " ".join(f"{k}={v}" for k, v in parts.items())

    def uri(self) -> str:
        """Printable: without the password."""
        hosts = ",".join(f"{h}:{p}" for h, p in self.hosts)
        query = "&".join(f"{k}={v}" for k, v in self.extra.items())
        return f"postgresql://{self.user}@{hosts}/{self.dbname}" + (f"?{query}" if query else "")


@dataclass(frozen=True)
class ConnectionInfo:
    """Where to connect right now: the leader, the streaming replicas and PgBouncer (when the CR has one).

    ``primary`` is a multi-host string over every member with target_session_attrs=read-write, which finds
    the leader after a failover like the operator's master Service; ``leader`` is the current one directly.
    ``supabase_password`` is POSTGRES_PASSWORD from the lab's Secret mount: Supabase's roles.sql gives it to
    authenticator, pgbouncer, supabase_auth_admin, supabase_storage_admin and the other service roles, and
    the bootstrap to supabase_admin (on Kubernetes the operator later resets the roles in the CR's
    ``users`` to its own Secrets; the lab has no operator).
    """

    primary: Endpoint
    leader: Endpoint
    replicas: list[Endpoint]
    pooler: Endpoint | None
    superuser_password: str
    supabase_password: str | None
    secrets_dir: Path | None
    patroni_config: Path | None = None      # holds the superuser's password (postgresql.authentication)

    def lines(self) -> list[str]:
        out = [f"primary  {self.primary.uri()}", f"leader   {self.leader.uri()}  ({self.leader.member})"]
        out += [f"replica  {r.uri()}  ({r.member})" for r in self.replicas]
        if self.pooler is not None:
            out.append(f"pooler   {self.pooler.uri()}  (PgBouncer -> {self.pooler.member})")
        where = f"; Supabase roles: {self.secrets_dir / 'POSTGRES_PASSWORD'}" if self.secrets_dir else ""
        config = f" ({self.patroni_config})" if self.patroni_config else ""
        out.append(f"passwords: postgres in the Patroni config's superuser section{config}{where}")
        return out


class Cluster:
    def __init__(self, plan: LabPlan, log: Callable[[str], None] = print, workdir: Path | None = None,
                 keep: bool = False, payload: Path | str | None = None, root_key: str | None = None,
                 pooler: bool = True):
        """``payload``: a /docker-entrypoint-initdb.d layout (image/fetch-supabase-sql.sh) applied by the
        image's post_init; ``root_key``: the key to put in the Secret mount instead of a generated one;
        ``pooler``: start PgBouncer (when the CR enables one) once the cluster is ready."""
        self.plan = plan
        self.log = log
        self.venv = patroni_venv()
        self.bindir = pgenv.bin_dir()
        for tool in ("etcd",):
            if shutil.which(tool) is None:
                raise LabError(f"{tool} not found (apt-get install etcd-server)")
        self._own_workdir = workdir is None
        self.workdir = Path(tempfile.mkdtemp(prefix="chartgen-lab-")) if workdir is None else workdir
        self.workdir.chmod(0o755)   # the postgres user must reach its member directories
        self.keep = keep
        self.creds = spilo.Credentials.generate()
        ports = procs.free_ports(2 + 2 * plan.members)
        self.etcd_client_port, self.etcd_peer_port = ports[0], ports[1]
        self.members = [
            spilo.Member(name=f"{plan.name}-{i}", api_port=ports[2 + 2 * i], pg_port=ports[3 + 2 * i],
                         root=self.workdir / f"m{i}")
            for i in range(plan.members)
        ]
        self.etcd: procs.Proc | None = None
        self.patroni: dict[str, procs.Proc] = {}
        self.pgbouncer: procs.Proc | None = None
        self.pgbouncer_port: int | None = None
        self.frozen: set[int] = set()
        self.seen_pids: dict[int, str] = {}
        self.ports_used: list[int] = []
        self.payload = Path(payload) if payload is not None else None
        self.root_key = root_key
        self.want_pooler = pooler
        self.supabase: supabase_mod.SupabaseSetup | None = None
        self.log_offsets: dict[str, int] = {}
        self.ready_s: float | None = None
        # Until the cluster is first ready, Patroni's own "bootstrap failed / could not start" lines end a
        # wait at once; afterwards members are broken on purpose and only an exited Patroni does.
        self._starting = True
        self.stopped_on_purpose: set[str] = set()
        self.pooler_target: str | None = None
        self._pooler_settings: tuple[Path, int, pooler_mod.AuthQuery | None] | None = None
        self._follow_stop = threading.Event()
        self._follower: threading.Thread | None = None
        self._stopped = False
        procs.register_cleanup(self.stop)

    # ---- lifecycle -------------------------------------------------------------------------------------

    def start(self, timeout: float = 300) -> float:
        """Bring the cluster up; returns the seconds until it was Supabase-ready (see ``wait_ready``).

        A member that cannot start fails this within seconds with PostgreSQL's own error and its log's path.
        """
        t0 = time.monotonic()
        self._start_etcd()
        for note in self.plan.ignored:
            self.log(note)
        if self.plan.secrets is not None:
            self.supabase = supabase_mod.prepare(self.workdir, self.payload, self.plan.secrets, self.bindir,
                                                 self.log, root_key=self.root_key)
            procs.give_to_postgres(self.workdir / "scripts")
            procs.give_to_postgres(self.supabase.secrets)
            self.supabase.secrets.chmod(0o750)
        elif self.payload is not None:
            raise LabError(f"postgresql/{self.plan.name} mounts no {supabase_mod.SECRETS_VOLUME} volume; "
                           "a Supabase payload needs the chart's Secret mount")
        shared = spilo.cluster_config(self.plan, self.bindir, self.log, self.supabase)
        for m in self.members:
            m.root.mkdir(parents=True)
            m.socket_dir.mkdir()
            spilo.write_member_config(
                spilo.member_config(self.plan, shared, m, self.etcd_client_port, self.bindir, self.creds,
                                    self.supabase), m)
            procs.give_to_postgres(m.root)
            m.root.chmod(0o750)
        for m in self.members:
            self.start_member(m.name)
        self.log(f"cluster {self.plan.name}: {self.plan.members} members, ttl {self.plan.ttl} / loop_wait "
                 f"{self.plan.loop_wait} / retry_timeout {self.plan.retry_timeout}, {self.plan.durability}")
        self.wait_ready(timeout)
        self.ready_s = round(time.monotonic() - t0, 2)
        self._starting = False
        if self.want_pooler and self.plan.pooler is not None:
            self.start_pgbouncer(follow=True)
        return self.ready_s

    @property
    def supabase_ready_needed(self) -> bool:
        return self.supabase is not None and self.supabase.payload is not None

    def wait_ready(self, timeout: float) -> None:
        """Every member up and streaming, and (with a payload) the leader holds Supabase's schemas and one
        applied-files row per payload file."""
        self.wait_healthy(timeout, "bootstrap")
        if not self.supabase_ready_needed:
            return
        leader = self.leader()
        if leader is None:
            raise LabError("no leader after the bootstrap")
        missing = self.missing_supabase(leader)
        if missing:
            raise LabError(f"{leader} is the leader but the bootstrap left it without {missing}; its log: "
                           f"{self.member(leader).log_path}")

    def missing_supabase(self, name: str) -> str:
        """'' when ``name`` has Supabase's schemas and every payload file applied, else what is missing."""
        assert self.supabase is not None
        schemas = "','".join(supabase_mod.SUPABASE_SCHEMAS)
        have = set(self.psql(name, f"select nspname from pg_namespace where nspname in ('{schemas}')").split())
        lacking = [s for s in supabase_mod.SUPABASE_SCHEMAS if s not in have]
        if lacking:
            return f"the schemas {', '.join(lacking)}"
        applied = set(self.psql(name, "select name from supabase_bootstrap.applied_files").split())
        pending = [f for f in self.supabase.files if f not in applied]
        if pending:
            return f"{len(pending)} applied payload files (first: {pending[0]})"
        return ""

    def _start_etcd(self) -> None:
        c, p = self.etcd_client_port, self.etcd_peer_port
        data = self.workdir / "etcd"
        self.etcd = procs.Proc("etcd", [
            "etcd", "--name", "lab", "--data-dir", str(data),
            "--listen-client-urls", f"http://127.0.0.1:{c}", "--advertise-client-urls", f"http://127.0.0.1:{c}",
            "--listen-peer-urls", f"http://127.0.0.1:{p}", "--initial-advertise-peer-urls", f"http://127.0.0.1:{p}",
            "--initial-cluster", f"lab=http://127.0.0.1:{p}", "--log-level", "warn",
        ], log=self.workdir / "etcd.log")
        self._remember(self.etcd.pid, "etcd")
        self.ports_used += [c, p]
        try:
            procs.wait_until(lambda: self._etcd_ready(), 30, "etcd health")
        except TimeoutError:
            raise LabError(f"etcd did not become healthy:\n{self.etcd.log_tail()}") from None

    def _etcd_ready(self) -> bool:
        if self.etcd is None or not self.etcd.alive():
            raise LabError(f"etcd exited:\n{self.etcd.log_tail() if self.etcd else ''}")
        return _http_json(f"http://127.0.0.1:{self.etcd_client_port}/health").get("health") == "true"

    def start_member(self, name: str) -> None:
        m = self.member(name)
        old = self.patroni.get(name)
        if old is not None and old.alive():
            raise LabError(f"{name} is already running (pid {old.pid})")
        # PGHOST/PGPORT: where Spilo's callback finds its member through libpq's defaults (socket, 5432).
        env = {"PATH": "/usr/bin:/bin", "HOME": str(m.root), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
               "PGHOST": str(m.socket_dir), "PGPORT": str(m.pg_port)}
        # PostgreSQL's own bin dir first: the post_init hooks call psql as the image's PATH would.
        env["PATH"] = f"{self.bindir}:{env['PATH']}"
        self.log_offsets[name] = m.log_path.stat().st_size if m.log_path.exists() else 0
        self.stopped_on_purpose.discard(name)
        proc = procs.Proc(name, procs.as_postgres([str(self.venv / "bin" / "patroni"), str(m.config_path)]),
                          log=m.log_path, env=env, cwd=m.root)
        self.patroni[name] = proc
        self._remember(proc.pid, f"patroni {name}")
        self.ports_used += [m.api_port, m.pg_port]

    def stop(self) -> None:
        """Stop everything by pid: Patroni (which stops PostgreSQL), stray postmasters, PgBouncer, etcd."""
        if self._stopped:
            return
        self._stopped = True
        procs.unregister_cleanup(self.stop)
        self._follow_stop.set()
        if self._follower is not None:
            self._follower.join(5)
        for pid in list(self.frozen):
            procs.signal_pid(pid, signal.SIGCONT)
        self.frozen.clear()
        if self.pgbouncer is not None:
            self.pgbouncer.stop(timeout=10)
        for proc in self.patroni.values():
            if proc.alive():
                proc.signal(signal.SIGCONT)
                proc.signal(signal.SIGTERM)
        for proc in self.patroni.values():
            proc.stop(timeout=30)
        for m in self.members:
            self._stop_postmaster(m)
        if self.etcd is not None:
            self.etcd.stop(timeout=10)
        if self._own_workdir and not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _stop_postmaster(self, m: spilo.Member) -> None:
        """A postmaster whose Patroni was killed keeps running detached: fast shutdown, then SIGKILL."""
        pm = self.postmaster_pid(m.name)
        if pm is None:
            return
        procs.signal_pid(pm, signal.SIGCONT)
        procs.signal_pid(pm, signal.SIGINT)
        try:
            procs.wait_until(lambda: not procs.pid_alive(pm), 15, f"postmaster {pm} exit")
        except TimeoutError:
            for pid in [pm, *procs.children(pm)]:
                procs.signal_pid(pid, signal.SIGKILL)

    def leftovers(self) -> list[str]:
        """Anything this cluster started that is still alive or listening (empty after a clean stop)."""
        alive = [f"pid {pid} ({what})" for pid, what in self.seen_pids.items() if procs.pid_alive(pid)]
        open_ports = [f"port {p}" for p in sorted(set(self.ports_used)) if procs.port_open(p)]
        return alive + open_ports

    def _remember(self, pid: int, what: str) -> None:
        self.seen_pids.setdefault(pid, what)

    # ---- inspection ------------------------------------------------------------------------------------

    def member(self, name: str) -> spilo.Member:
        for m in self.members:
            if m.name == name:
                return m
        raise LabError(f"no member {name}")

    def postmaster_pid(self, name: str) -> int | None:
        """The member's postmaster, from its postmaster.pid, checked against its command line."""
        m = self.member(name)
        try:
            pid = int((m.data_dir / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None
        if not procs.pid_alive(pid) or str(m.data_dir) not in " ".join(procs.cmdline(pid)):
            return None
        self._remember(pid, f"postmaster {name}")
        return pid

    def member_pids(self, name: str) -> list[int]:
        """Patroni, the postmaster and the postmaster's children: one 'node' of the cluster."""
        pids = []
        proc = self.patroni.get(name)
        if proc is not None and proc.alive():
            pids.append(proc.pid)
        pm = self.postmaster_pid(name)
        if pm is not None:
            pids.append(pm)
            pids.extend(procs.children(pm))
        return pids

    def members_status(self) -> list[dict]:
        """Patroni's /cluster view, asked of any member that answers."""
        for m in self.members:
            proc = self.patroni.get(m.name)
            if proc is None or not proc.alive() or proc.pid in self.frozen:
                continue
            try:
                return _http_json(f"http://127.0.0.1:{m.api_port}/cluster").get("members", [])
            except (OSError, ValueError):
                continue
        return []

    def leader(self, status: list[dict] | None = None) -> str | None:
        status = self.members_status() if status is None else status
        for s in status:
            if s.get("role") in ("leader", "master", "primary") and s.get("state") == "running":
                return s["name"]
        return None

    def sync_standbys(self, status: list[dict] | None = None) -> list[str]:
        status = self.members_status() if status is None else status
        return [s["name"] for s in status if s.get("role") == "sync_standby" and s.get("state") == "streaming"]

    def member_state(self, name: str) -> dict | None:
        """The member's own view (REST /patroni), or None if its Patroni is not running or not answering.

        Asked of the member itself because the DCS keeps a dead member's key until its ttl expires.
        """
        proc = self.patroni.get(name)
        if proc is None or not proc.alive() or proc.pid in self.frozen:
            return None
        try:
            return _http_json(f"http://127.0.0.1:{self.member(name).api_port}/patroni")
        except (OSError, ValueError):
            return None

    def primary(self) -> str | None:
        """The member that says it is the primary (its own REST view, not the DCS's leader key)."""
        for m in self.members:
            state = self.member_state(m.name)
            if state is not None and state.get("role") in ("primary", "master") and state.get("state") == "running":
                return m.name
        return None

    def healthy(self) -> bool:
        """Every member up, one primary, every replica streaming, and a sync standby where one is required."""
        states = [self.member_state(m.name) for m in self.members]
        if any(s is None or s.get("state") != "running" for s in states):
            return False
        primaries = [s for s in states if s.get("role") in ("primary", "master")]
        replicas = [s for s in states if s.get("role") == "replica"]
        if len(primaries) != 1 or len(replicas) != len(states) - 1:
            return False
        if not all(s.get("replication_state") == "streaming" for s in replicas):
            return False
        if self.plan.synchronous and replicas and not self.sync_standbys():
            return False
        return True

    def wait_healthy(self, timeout: float, what: str) -> float:
        try:
            return procs.wait_until(self._healthy_or_raise, timeout, f"{self.plan.name} healthy after {what}",
                                    interval=0.2, raise_on=LabError)
        except TimeoutError as exc:
            tails = "\n".join(f"--- {m.name} ({m.log_path})\n{self.patroni[m.name].log_tail(12)}"
                              for m in self.members if m.name in self.patroni)
            found = [e for e in (self.member_failure(m.name, final=True) for m in self.members) if e]
            why = ("\n" + "\n".join(found)) if found else ""
            raise LabError(f"{exc}; members: {self.members_status()}{why}\n{tails}") from None

    def _healthy_or_raise(self) -> bool:
        if self.etcd is not None and not self.etcd.alive():
            raise LabError(f"etcd exited:\n{self.etcd.log_tail()}")
        found = [e for e in (self.member_failure(m.name) for m in self.members) if e]
        if found:
            raise LabError("a member cannot start:\n" + "\n".join(found))
        return self.healthy()

    def member_failure(self, name: str, final: bool = False) -> str | None:
        """Why ``name`` will not come up, from its log since it was last started; None if nothing says so.

        ``final``: also explain a member that is merely not up yet (used once a wait has timed out).
        """
        proc = self.patroni.get(name)
        if proc is None:
            return None
        m = self.member(name)
        text = failures.read_from(m.log_path, self.log_offsets.get(name, 0))
        exited = proc.proc.poll()
        if exited is not None and name in self.stopped_on_purpose:
            return None
        if exited is None and not self._starting and not final:
            return None
        found = failures.explain(name, m.log_path, text, exited)
        if found is None and final:
            causes = failures.causes(text)
            if causes:
                found = f"{name}: not up; PostgreSQL said: {causes[-1]}\n  log: {m.log_path}"
        return found

    def keep_artifacts(self, dest: Path) -> Path:
        """Every member's Patroni config and log, PostgreSQL's configs, etcd's and PgBouncer's logs."""
        dest.mkdir(parents=True, exist_ok=True)
        for m in self.members:
            failures.keep_member(m.root, dest / m.name)
        for f in (self.workdir / "etcd.log",):
            if f.is_file():
                shutil.copy(f, dest / f.name)
        bouncer = self.workdir / "pgbouncer"
        if bouncer.is_dir():
            (dest / "pgbouncer").mkdir(exist_ok=True)
            for f in bouncer.iterdir():
                if f.is_file() and f.name != "userlist.txt":
                    shutil.copy(f, dest / "pgbouncer" / f.name)
        if self.supabase is not None:
            (dest / "supabase").mkdir(exist_ok=True)
            shutil.copy(self.supabase.scripts / "supabase" / "defaults.env", dest / "supabase" / "defaults.env")
            (dest / "supabase" / "secret-files.txt").write_text(
                "".join(f"{p.name}\n" for p in sorted(self.supabase.secrets.iterdir())))
        return dest

    def wait_leader(self, timeout: float, other_than: str | None = None) -> tuple[str, float]:
        found: list[str] = []

        def check() -> bool:
            name = self.leader()
            if name is not None and name != other_than:
                found.append(name)
                return True
            return False

        at = procs.wait_until(check, timeout, "a new leader", interval=0.1)
        return found[-1], at

    # ---- SQL and client strings ------------------------------------------------------------------------

    def dsn(self, names: list[str] | None = None, **extra: str) -> str:
        """A libpq multi-host string over the given members (all by default)."""
        ms = [self.member(n) for n in names] if names else self.members
        parts = {"host": ",".join("127.0.0.1" for _ in ms), "port": ",".join(str(m.pg_port) for m in ms),
                 "user": spilo.SUPERUSER, "password": self.creds.superuser_password, "dbname": "postgres",
                 **extra}
        return " ".join(f"{k}={v}" for k, v in parts.items())

    def psql(self, name: str, sql: str, timeout: float = 30) -> str:
        m = self.member(name)
        env = {**os.environ, "PGPASSWORD": self.creds.superuser_password, "PGCONNECT_TIMEOUT": "3"}
        try:
            res = subprocess.run([str(self.bindir / "psql"), "-h", "127.0.0.1", "-p", str(m.pg_port), "-U",
                                  spilo.SUPERUSER, "-d", "postgres", "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql],
                                 capture_output=True, text=True, env=env, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise LabError(f"psql on {name} timed out after {timeout:.0f} s: {sql[:80]}") from None
        if res.returncode != 0:
            raise LabError(f"psql on {name} failed: {res.stderr.strip()}")
        return res.stdout

    # ---- breaking and repairing ------------------------------------------------------------------------

    def kill_member(self, name: str) -> list[int]:
        """A node crash: SIGKILL to Patroni, the postmaster and all its children at once."""
        self.stopped_on_purpose.add(name)
        pids = self.member_pids(name)
        for pid in pids:
            procs.signal_pid(pid, signal.SIGKILL)
        proc = self.patroni.get(name)
        if proc is not None:
            proc.proc.wait(10)
        wait_gone(pids)
        return pids

    def stop_member_graceful(self, name: str, timeout: float = 60) -> None:
        """A pod deletion: SIGTERM to Patroni, which stops PostgreSQL and releases the leader key."""
        proc = self.patroni[name]
        self.stopped_on_purpose.add(name)
        proc.signal(signal.SIGTERM)
        try:
            proc.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            # Kubernetes would SIGKILL the pod after its grace period; the lab does the same, after saying so.
            self.kill_member(name)
            raise LabError(f"{name}: Patroni did not stop {timeout:.0f} s after SIGTERM (killed)") from None

    def freeze_member(self, name: str) -> list[int]:
        pids = self.member_pids(name)
        for pid in pids:
            if procs.signal_pid(pid, signal.SIGSTOP):
                self.frozen.add(pid)
        return pids

    def thaw_member(self, pids: list[int]) -> None:
        # PostgreSQL first, Patroni last: the old primary gets every chance to accept a write before
        # Patroni can demote it, so the split-brain check is not flattered by the order.
        for pid in reversed(pids):
            procs.signal_pid(pid, signal.SIGCONT)
            self.frozen.discard(pid)

    def switchover(self, leader: str, candidate: str) -> tuple[bool, str]:
        """``patronictl switchover``; it exits 0 even when Patroni refuses, so the leader is checked."""
        cfg = self.member(leader).config_path
        res = subprocess.run([str(self.venv / "bin" / "patronictl"), "-c", str(cfg), "switchover",
                              "--leader", leader, "--candidate", candidate, "--force"],
                             capture_output=True, text=True, timeout=120)
        output = (res.stdout + res.stderr).strip()
        try:
            procs.wait_until(lambda: self.leader() == candidate, 30, f"{candidate} leading")
        except TimeoutError:
            return False, output
        return True, output

    # ---- PgBouncer ---------------------------------------------------------------------------------------

    def start_pgbouncer(self, target: str | None = None, follow: bool = False,
                        auth: pooler_mod.AuthQuery | None = None) -> int:
        """PgBouncer in front of the leader (the operator points it at the master Service); its port.

        Pool mode and sizes are the operator's for the CR (plan.PoolerPlan). With Supabase's payload it
        authenticates clients through ``auth_user`` pgbouncer and ``auth_query`` pgbouncer.get_auth($1), so any
        role logs in without being listed in a file; ``auth`` replaces that (e.g. the operator's own
        ``pooler.user_lookup`` once something has created it). ``follow``: repoint it at the new leader
        after a failover, as the master Service's endpoint moves.
        """
        if self.pgbouncer is not None and self.pgbouncer.alive() and self.pgbouncer_port is not None:
            return self.pgbouncer_port
        if self.plan.pooler is None:
            raise LabError(f"postgresql/{self.plan.name} has no connection pooler enabled")
        target = target or self.leader()
        if target is None:
            raise LabError("no leader to point PgBouncer at")
        port = procs.free_port()
        root = self.workdir / "pgbouncer"
        root.mkdir(exist_ok=True)
        if auth is None and self.supabase_ready_needed:
            assert self.supabase is not None
            auth = pooler_mod.AuthQuery(user=pooler_mod.SUPABASE_AUTH_USER, password=self.supabase.postgres_password,
                                    query=pooler_mod.SUPABASE_AUTH_QUERY)
        self._pooler_settings = (root, port, auth)
        ini = pooler_mod.write_config(self.plan.pooler, root, port, self.member(target).pg_port, self.creds, auth)
        self.pooler_target = target
        procs.give_to_postgres(root)
        pooler_mod.raise_fd_limit()
        self.pgbouncer = procs.Proc("pgbouncer", procs.as_postgres(["pgbouncer", str(ini)]),
                                    log=root / "stdout.log", stop_signal=signal.SIGTERM)
        self._remember(self.pgbouncer.pid, "pgbouncer")
        self.pgbouncer_port = port
        self.ports_used.append(port)
        try:
            procs.wait_until(lambda: self.pgbouncer is not None and self.pgbouncer.alive() and procs.port_open(port),
                             15, "pgbouncer listening")
        except TimeoutError:
            raise LabError(f"pgbouncer did not start:\n{self.pgbouncer.log_tail()}") from None
        if follow and self._follower is None:
            self._follower = threading.Thread(target=self._follow_leader, name="pgbouncer-follower", daemon=True)
            self._follower.start()
        return port

    def repoint_pooler(self) -> str | None:
        """Point PgBouncer at the member that is primary now (config rewrite + SIGHUP); the target."""
        if self.pgbouncer is None or not self.pgbouncer.alive() or self.plan.pooler is None:
            return None
        primary = self.primary()
        if primary is None or primary == self.pooler_target:
            return self.pooler_target
        assert self._pooler_settings is not None
        root, port, auth = self._pooler_settings
        pooler_mod.write_config(self.plan.pooler, root, port, self.member(primary).pg_port, self.creds, auth)
        procs.give_to_postgres(root)
        self.pgbouncer.signal(signal.SIGHUP)
        self.pooler_target = primary
        return primary

    def _follow_leader(self) -> None:
        while not self._follow_stop.wait(0.5):
            try:
                self.repoint_pooler()
            except Exception:  # noqa: BLE001 - a member mid-failover; the next round sees the new state
                continue

    def connection_info(self) -> ConnectionInfo:
        """Endpoints as of now (the leader and the replicas move with every failover)."""
        leader = self.primary() or self.leader()
        if leader is None:
            raise LabError("no leader right now")
        pw = self.creds.superuser_password

        def ep(role: str, name: str) -> Endpoint:
            return Endpoint(role, name, (("127.0.0.1", self.member(name).pg_port),), spilo.SUPERUSER, pw)

        replicas = [ep("replica", m.name) for m in self.members
                    if m.name != leader and (self.member_state(m.name) or {}).get("role") == "replica"]
        primary = Endpoint("primary", None, tuple(("127.0.0.1", m.pg_port) for m in self.members),
                           spilo.SUPERUSER, pw, extra={"target_session_attrs": "read-write"})
        pooler_ep = None
        if self.pgbouncer is not None and self.pgbouncer.alive() and self.pgbouncer_port is not None:
            pooler_ep = Endpoint("pooler", self.pooler_target, (("127.0.0.1", self.pgbouncer_port),),
                                 spilo.SUPERUSER, pw)
        sb = self.supabase
        return ConnectionInfo(primary=primary, leader=ep("primary", leader), replicas=replicas, pooler=pooler_ep,
                              superuser_password=pw,
                              supabase_password=sb.postgres_password if sb and "POSTGRES_PASSWORD" in sb.values
                              else None, secrets_dir=sb.secrets if sb else None,
                              patroni_config=self.member(leader).config_path)

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_gone(pids: list[int], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(procs.pid_alive(p) for p in pids):
        time.sleep(0.05)
