"""Drive writer_main.py (in the Patroni venv, which has psycopg) and read back what it recorded."""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from . import procs
from .errors import LabError

SCRIPT = Path(__file__).with_name("writer_main.py")


@dataclass
class WriteLog:
    acks: list[tuple[int, float, int]] = field(default_factory=list)     # (id, time, server port)
    unknown: list[tuple[int, float, str]] = field(default_factory=list)  # (id, time, error)
    connect_failures: int = 0

    @classmethod
    def read(cls, path: Path) -> WriteLog:
        log = cls()
        try:
            lines = path.read_text().splitlines()
        except OSError:
            return log
        for line in lines:
            parts = line.split(" ", 3)
            try:
                if parts[0] == "A" and len(parts) == 4:
                    log.acks.append((int(parts[1]), float(parts[2]), int(parts[3])))
                elif parts[0] == "U" and len(parts) >= 3:
                    log.unknown.append((int(parts[1]), float(parts[2]), parts[3] if len(parts) > 3 else ""))
                elif parts[0] == "F":
                    log.connect_failures += 1
            except ValueError:
                continue  # a line cut short while the writer was still writing it
        return log

    def last_ack_before(self, t: float) -> float | None:
        times = [a[1] for a in self.acks if a[1] <= t]
        return max(times) if times else None

    def longest_gap_from(self, t: float) -> float | None:
        """The longest time without an acknowledged commit, from the last ack before ``t`` to the last ack."""
        start = self.last_ack_before(t)
        if start is None:
            return None
        times = sorted(a[1] for a in self.acks if a[1] >= start)
        if len(times) < 2:
            return None
        return max(b - a for a, b in zip(times, times[1:]))

    def first_ack_after(self, t: float) -> float | None:
        times = [a[1] for a in self.acks if a[1] > t]
        return min(times) if times else None


class Writer:
    """One writer process: ``target_session_attrs=read-write`` over every member, like an application."""

    def __init__(self, venv: Path, dsn: str, out: Path, start_id: int, *, interval: float = 0.005,
                 timeout: float = 3.0, wait_go: bool = False, duration: float = 0):
        self.out = out
        self.wait_go = wait_go
        cmd = [str(venv / "bin" / "python"), str(SCRIPT), "--out", str(out), "--start-id", str(start_id),
               "--interval", str(interval), "--timeout", str(timeout)]
        if wait_go:
            cmd.append("--wait-go")
        if duration:
            cmd += ["--duration", str(duration)]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LAB_DSN": dsn}
        with open(out.with_suffix(".err"), "ab") as err:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE if wait_go else subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=err, env=env, start_new_session=True)
        procs.register_cleanup(self.stop)

    def go(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.write(b"go\n")
            self.proc.stdin.flush()

    def log(self) -> WriteLog:
        return WriteLog.read(self.out)

    def wait_acks(self, after: float, timeout: float, what: str) -> float:
        """Wait for an acknowledged commit later than ``after``; return its time."""
        found: list[float] = []

        def check() -> bool:
            if self.proc.poll() is not None:
                raise LabError(f"the writer exited ({self.proc.returncode}): "
                               f"{self.out.with_suffix('.err').read_text(errors='replace')[-500:]}")
            t = self.log().first_ack_after(after)
            if t is not None:
                found.append(t)
            return t is not None

        try:
            procs.wait_until(check, timeout, what, interval=0.1)
        except TimeoutError as exc:
            raise LabError(f"{exc} (no acknowledged commit)") from None
        return found[-1]

    def stop(self) -> WriteLog:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stdin is not None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        procs.unregister_cleanup(self.stop)
        return self.log()
