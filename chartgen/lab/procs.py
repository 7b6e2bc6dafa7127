"""Processes the lab starts: loopback only, free ports, stopped by pid, never outliving the lab.

Every process is registered on start; ``stop_all`` (wired to atexit and to the lab's own cleanup) stops
whatever is left, also after Ctrl-C or a failure. Processes are never looked up or killed by name: the
only pids touched are those we started or read from a data directory we own (``postmaster.pid``), and
those are checked against their command line first, so a recycled pid is never signalled.
"""

from __future__ import annotations

import atexit
import os
import pwd
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

LOOPBACK = "127.0.0.1"
_RUNNING: list[Proc] = []
_CLEANUPS: list[Callable[[], None]] = []


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def free_ports(n: int) -> list[int]:
    """``n`` distinct free ports (asking one at a time could hand out the same port twice)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((LOOPBACK, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def port_open(port: int, host: str = LOOPBACK) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def wait_until(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.1,
               raise_on: type[BaseException] | tuple[type[BaseException], ...] = ()) -> float:
    """Poll ``check`` until it is true; return the monotonic time it became true.

    An exception from ``check`` means "not yet", except those of the ``raise_on`` types: they end the wait.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return time.monotonic()
        except raise_on:
            raise
        except Exception:  # noqa: BLE001 - not ready yet
            pass
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what}: not reached after {timeout:.0f} s")
        time.sleep(interval)


def running_as_root() -> bool:
    return os.geteuid() == 0


def as_postgres(cmd: Sequence[str]) -> list[str]:
    """Run ``cmd`` as the postgres OS user (PostgreSQL, Patroni and PgBouncer refuse root).

    ``setpriv`` execs the command itself, so the pid we hold is the server's pid, not a wrapper's.
    """
    if not running_as_root():
        return list(cmd)
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", *cmd]


def give_to_postgres(path: Path) -> None:
    """Make a lab directory owned by the postgres user (when the lab runs as root)."""
    if not running_as_root():
        return
    pw = pwd.getpwnam("postgres")
    for p in [path, *path.rglob("*")]:
        os.chown(p, pw.pw_uid, pw.pw_gid)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (killed, not yet reaped by its parent) holds no resources and no port: count it as gone.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (from /proc, so no pgrep and no name matching)."""
    kids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            kids.append(int(entry.name))
    return kids


def signal_pid(pid: int, sig: int) -> bool:
    try:
        os.kill(pid, sig)
        return True
    except ProcessLookupError:
        return False


class Proc:
    """One started process, stopped by its own pid."""

    def __init__(self, name: str, cmd: Sequence[str], *, log: Path, env: dict | None = None,
                 cwd: Path | None = None, stop_signal: int = signal.SIGTERM):
        self.name = name
        self.cmd = list(cmd)
        self.log_path = log
        self.stop_signal = stop_signal
        log.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(log, "ab")
        try:
            self.proc = subprocess.Popen(
                self.cmd, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=env, cwd=cwd, start_new_session=True,
            )
        except OSError:
            self._log.close()
            raise
        _RUNNING.append(self)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 25) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def signal(self, sig: int) -> None:
        if self.alive():
            signal_pid(self.pid, sig)

    def stop(self, timeout: float = 20) -> None:
        if self.alive():
            # A stopped (SIGSTOP) process cannot act on SIGTERM until it is continued.
            signal_pid(self.pid, signal.SIGCONT)
            try:
                os.kill(self.pid, self.stop_signal)
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                signal_pid(self.pid, signal.SIGKILL)
                self.proc.wait(5)
            except ProcessLookupError:
                pass
        self.proc.poll()
        if not self._log.closed:
            self._log.close()
        if self in _RUNNING:
            _RUNNING.remove(self)


def register_cleanup(fn: Callable[[], None]) -> None:
    """Run ``fn`` at stop_all, before the registered processes are stopped (e.g. detached postmasters)."""
    _CLEANUPS.append(fn)


def unregister_cleanup(fn: Callable[[], None]) -> None:
    if fn in _CLEANUPS:
        _CLEANUPS.remove(fn)


def stop_all() -> None:
    for fn in list(reversed(_CLEANUPS)):
        try:
            fn()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass
    for proc in list(reversed(_RUNNING)):
        try:
            proc.stop(timeout=10)
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


atexit.register(stop_all)
