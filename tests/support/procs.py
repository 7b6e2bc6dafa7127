"""Servers started by tests: loopback only, free ports, stopped by pid, never outliving the run.

Every ``Server`` registers itself; ``stop_all`` (wired to pytest's session end and to atexit) stops
whatever a failing test left behind. Processes are never looked up or killed by name.
"""

from __future__ import annotations

import atexit
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable, Sequence

LOOPBACK = "127.0.0.1"
_RUNNING: list["Server"] = []


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def port_open(port: int, host: str = LOOPBACK) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def wait_until(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 - the server is not ready yet
            pass
        time.sleep(interval)
    raise TimeoutError(f"{what} not ready after {timeout:.0f} s")


def as_postgres(cmd: Sequence[str]) -> list[str]:
    """Run ``cmd`` as the postgres OS user (PostgreSQL, Patroni and PgBouncer refuse root).

    ``setpriv`` execs the command itself, so the pid we hold is the server's pid, not a wrapper's.
    """
    if os.geteuid() != 0:
        return list(cmd)
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", *cmd]


def postgres_uid_gid() -> tuple[int, int]:
    pw = pwd.getpwnam("postgres")
    return pw.pw_uid, pw.pw_gid


def give_to_postgres(path: Path) -> None:
    """Make a temp dir usable by the postgres user (when tests run as root)."""
    if os.geteuid() != 0:
        return
    uid, gid = postgres_uid_gid()
    for p in [path, *path.rglob("*")]:
        try:
            os.chown(p, uid, gid)
        except FileNotFoundError:
            pass  # a running server's temporary file (pg_internal.init.PID) vanished between listing and chown
    # Parents of pytest's tmp dirs are root-only; postgres needs to traverse them.
    parent = path
    while parent != parent.parent:
        parent = parent.parent
        mode = parent.stat().st_mode
        if not mode & 0o001:
            os.chmod(parent, mode | 0o711 if parent.stat().st_uid == 0 else mode)


class Server:
    """One started process, stopped by its own pid."""

    def __init__(self, name: str, cmd: Sequence[str], *, log: Path, env: dict | None = None,
                 cwd: Path | None = None, stop_signal: int = signal.SIGTERM):
        self.name = name
        self.cmd = list(cmd)
        self.log_path = log
        self.stop_signal = stop_signal
        log.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(log, "ab")
        self.proc = subprocess.Popen(
            self.cmd, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, cwd=cwd, start_new_session=True,
        )
        _RUNNING.append(self)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def wait_ready(self, check: Callable[[], bool], timeout: float = 30) -> "Server":
        def ready() -> bool:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            return check()

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if ready():
                    return self
            except RuntimeError:
                raise
            except Exception:  # noqa: BLE001
                pass
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"{self.name} not ready after {timeout:.0f} s:\n{self.log_tail()}")

    def signal(self, sig: int) -> None:
        if self.alive():
            os.kill(self.pid, sig)

    def stop(self, timeout: float = 15) -> None:
        if self.alive():
            try:
                os.kill(self.pid, self.stop_signal)
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(5)
            except ProcessLookupError:
                pass
        self._log.close()
        if self in _RUNNING:
            _RUNNING.remove(self)

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def stop_all() -> None:
    for server in list(reversed(_RUNNING)):
        try:
            server.stop(timeout=10)
        except Exception:  # noqa: BLE001 - best effort at teardown
            pass


atexit.register(stop_all)


def which(name: str, *extra_dirs: str) -> str | None:
    return shutil.which(name, path=os.pathsep.join([*extra_dirs, os.environ.get("PATH", "")]))
