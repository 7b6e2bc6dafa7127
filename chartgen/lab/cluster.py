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
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from . import pgenv, procs, spilo
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


def _http_json(url: str, timeout: float = 1.0) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback only
        return json.loads(resp.read().decode())


class Cluster:
    def __init__(self, plan: LabPlan, log: Callable[[str], None] = print, workdir: Path | None = None,
                 keep: bool = False):
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
        self._stopped = False
        procs.register_cleanup(self.stop)

    # ---- lifecycle -------------------------------------------------------------------------------------

    def start(self, timeout: float = 180) -> None:
        self._start_etcd()
        for note in self.plan.ignored:
            self.log(note)
        shared = spilo.cluster_config(self.plan, self.bindir, self.log)
        for m in self.members:
            m.root.mkdir(parents=True)
            m.socket_dir.mkdir()
            spilo.write_member_config(
                spilo.member_config(self.plan, shared, m, self.etcd_client_port, self.bindir, self.creds), m)
            procs.give_to_postgres(m.root)
            m.root.chmod(0o750)
        for m in self.members:
            self.start_member(m.name)
        self.log(f"cluster {self.plan.name}: {self.plan.members} members, ttl {self.plan.ttl} / loop_wait "
                 f"{self.plan.loop_wait} / retry_timeout {self.plan.retry_timeout}, {self.plan.durability}")
        self.wait_healthy(timeout, "bootstrap")

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
        env = {"PATH": "/usr/bin:/bin", "HOME": str(m.root), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
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
                                    interval=0.2)
        except TimeoutError as exc:
            tails = "\n".join(f"--- {m.name}\n{self.patroni[m.name].log_tail(12)}" for m in self.members
                              if m.name in self.patroni)
            raise LabError(f"{exc}; members: {self.members_status()}\n{tails}") from None

    def _healthy_or_raise(self) -> bool:
        if self.etcd is not None and not self.etcd.alive():
            raise LabError(f"etcd exited:\n{self.etcd.log_tail()}")
        return self.healthy()

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

    def start_pgbouncer(self, target: str | None = None) -> int:
        """PgBouncer in front of the leader (the operator points it at the master Service)."""
        from . import pooler

        if self.plan.pooler is None:
            raise LabError(f"postgresql/{self.plan.name} has no connection pooler enabled")
        target = target or self.leader()
        if target is None:
            raise LabError("no leader to point PgBouncer at")
        port = procs.free_port()
        root = self.workdir / "pgbouncer"
        root.mkdir(exist_ok=True)
        ini = pooler.write_config(self.plan.pooler, root, port, self.member(target).pg_port, self.creds)
        procs.give_to_postgres(root)
        pooler.raise_fd_limit()
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
        return port

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_gone(pids: list[int], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(procs.pid_alive(p) for p in pids):
        time.sleep(0.05)
