"""The lab's client: commits rows with increasing ids and records what the server acknowledged.

Run by the Patroni venv's interpreter (it has psycopg), never imported by chartgen, so it imports only
psycopg and the standard library. One line per event goes to the output file:
  A <id> <monotonic time> <server port>   the commit returned: acknowledged
  U <id> <monotonic time> <error>          the commit raised: outcome unknown (it may have committed)
  F <monotonic time> <error>               no connection
Times are CLOCK_MONOTONIC, which is system-wide on Linux, so the lab compares them with its own.

A commit that hangs (a frozen server, a sync commit waiting for a lost standby) is cut off after
--timeout seconds by shutting the socket down from a watchdog thread, since libpq has no client-side
statement timeout and a SIGSTOPped server cannot honour a server-side one.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading
import time

import psycopg

_stop = threading.Event()


class Watchdog(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.lock = threading.Lock()
        self.deadline: float | None = None
        self.fd: int | None = None

    def arm(self, fd: int, timeout: float) -> None:
        with self.lock:
            self.fd, self.deadline = fd, time.monotonic() + timeout

    def disarm(self) -> None:
        with self.lock:
            self.fd, self.deadline = None, None

    def run(self) -> None:
        while True:
            time.sleep(0.05)
            with self.lock:
                if self.deadline is None or time.monotonic() < self.deadline or self.fd is None:
                    continue
                try:
                    s = socket.socket(fileno=os.dup(self.fd))
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
                self.deadline = None


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--start-id", type=int, required=True)
    ap.add_argument("--interval", type=float, default=0.005)
    ap.add_argument("--timeout", type=float, default=3.0)
    ap.add_argument("--wait-go", action="store_true", help="start after a line on stdin")
    ap.add_argument("--duration", type=float, default=0, help="stop after this many seconds (0: until SIGTERM)")
    args = ap.parse_args()
    dsn = os.environ["LAB_DSN"]
    signal.signal(signal.SIGTERM, lambda *_: _stop.set())
    dog = Watchdog()
    dog.start()
    out = open(args.out, "a", buffering=1)
    if args.wait_go:
        sys.stdin.readline()
    end = time.monotonic() + args.duration if args.duration else None
    next_id = args.start_id
    conn = None
    while not _stop.is_set() and (end is None or time.monotonic() < end):
        if conn is None:
            try:
                conn = psycopg.connect(dsn, autocommit=True)
            except Exception as exc:  # noqa: BLE001 - every failure is data
                out.write(f"F {time.monotonic():.6f} {one_line(exc)}\n")
                conn = None
                _stop.wait(0.05)
                continue
        i = next_id
        next_id += 1
        try:
            dog.arm(conn.pgconn.socket, args.timeout)
            conn.execute("insert into lab_writes (id) values (%s)", (i,))
            dog.disarm()
            out.write(f"A {i} {time.monotonic():.6f} {conn.info.port}\n")
        except Exception as exc:  # noqa: BLE001
            dog.disarm()
            out.write(f"U {i} {time.monotonic():.6f} {one_line(exc)}\n")
            try:
                conn.close()
            except Exception:  # noqa: BLE001
                pass
            conn = None
        _stop.wait(args.interval)
    out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
