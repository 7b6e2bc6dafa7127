"""Real PostgreSQL clusters for the image tests: initdb once, copy per test, run as the postgres OS user."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.procs import LOOPBACK, Server, as_postgres, free_port, give_to_postgres, wait_until

PREFERRED_MAJOR = "15"


def pg_bin() -> Path:
    """Debian's PostgreSQL binaries: $PG_BIN, else version 15, else the newest installed."""
    explicit = os.environ.get("PG_BIN")
    if explicit:
        return Path(explicit)
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql-15; ./dev test does it)")
    preferred = [p for p in found if p.split("/")[4] == PREFERRED_MAJOR]
    return Path((preferred or found)[-1]).parent


HBA = """\
local   all             all                                     trust
local   replication     all                                     trust
host    all             all             127.0.0.1/32            scram-sha-256
"""


def initdb(data: Path) -> None:
    """A cluster with `postgres` as the bootstrap superuser, as Spilo's Patroni creates it."""
    data.parent.mkdir(parents=True, exist_ok=True)
    give_to_postgres(data.parent)
    subprocess.run(as_postgres([str(pg_bin() / "initdb"), "-D", str(data), "-U", "postgres", "-E", "UTF8",
                                "--locale=C", "-N", "-A", "trust"]),
                   check=True, capture_output=True, text=True)
    (data / "pg_hba.conf").write_text(HBA)
    give_to_postgres(data)


def configure(data: Path, settings: dict[str, str]) -> None:
    """Append ``settings`` to postgresql.conf (later lines win, as in Spilo's generated file)."""
    with open(data / "postgresql.conf", "a", encoding="utf-8") as conf:
        for key, value in settings.items():
            conf.write(f"{key} = '{value.replace(chr(39), chr(39) * 2)}'\n")


@dataclass
class Cluster:
    data: Path
    sockets: Path
    port: int
    server: Server

    def conninfo(self, dbname: str = "postgres", user: str = "postgres") -> str:
        """What Patroni hands post_init: a key=value string for the local superuser connection."""
        return f"dbname={dbname} user={user} host={self.sockets} port={self.port}"

    def psql(self, sql: str, dbname: str = "postgres", user: str = "postgres", check: bool = True,
             host: str | None = None, password: str | None = None) -> subprocess.CompletedProcess:
        env = {"PATH": os.environ.get("PATH", os.defpath)}
        if password is not None:
            env["PGPASSWORD"] = password
        proc = subprocess.run(
            as_postgres([str(pg_bin() / "psql"), "-X", "-tA", "-v", "ON_ERROR_STOP=1", "-h", host or str(self.sockets),
                         "-p", str(self.port), "-U", user, "-d", dbname, "-c", sql]),
            env=env, capture_output=True, text=True, timeout=60)
        if check and proc.returncode != 0:
            raise AssertionError(f"psql failed ({proc.returncode}) on {sql!r}: {proc.stderr.strip()}")
        return proc

    def value(self, sql: str, dbname: str = "postgres") -> str:
        return self.psql(sql, dbname).stdout.strip()

    def rows(self, sql: str, dbname: str = "postgres") -> list[list[str]]:
        out = self.psql(sql, dbname).stdout.strip()
        return [line.split("|") for line in out.splitlines()] if out else []

    def stop(self) -> None:
        self.server.stop()


def start(data: Path, name: str = "postgres", env: dict[str, str] | None = None) -> Cluster:
    """Start the server; ``env`` replaces the environment (Spilo's runit script hands Patroni, and so
    PostgreSQL and the key script it runs, only PATH and a few Kubernetes variables)."""
    sockets = data.parent / f"{data.name}-sock"
    sockets.mkdir(exist_ok=True)
    give_to_postgres(sockets)
    port = free_port()
    server = Server(name, as_postgres([
        str(pg_bin() / "postgres"), "-D", str(data), "-p", str(port), "-k", str(sockets),
        "-c", f"listen_addresses={LOOPBACK}", "-c", "fsync=off", "-c", "synchronous_commit=off",
        "-c", "full_page_writes=off", "-c", "wal_level=replica", "-c", "max_wal_senders=4",
    ]), log=data.parent / f"{data.name}.log", env=env)
    isready = [str(pg_bin() / "pg_isready"), "-q", "-h", str(sockets), "-p", str(port)]
    server.wait_ready(lambda: subprocess.run(isready, capture_output=True).returncode == 0, timeout=60)
    return Cluster(data=data, sockets=sockets, port=port, server=server)


def clone_template(template: Path, dest: Path) -> Path:
    """A fresh cluster directory from the session's initdb (faster than initdb per test)."""
    shutil.copytree(template, dest, symlinks=True)
    give_to_postgres(dest)
    os.chmod(dest, 0o700)
    return dest


def start_replica(primary: Cluster, dest: Path) -> Cluster:
    """A streaming replica of ``primary`` (pg_basebackup -R), running in recovery."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    give_to_postgres(dest.parent)
    subprocess.run(as_postgres([str(pg_bin() / "pg_basebackup"), "-D", str(dest), "-h", str(primary.sockets),
                                "-p", str(primary.port), "-U", "postgres", "-R", "-X", "stream", "-c", "fast"]),
                   check=True, capture_output=True, text=True, timeout=120)
    replica = start(dest, name="replica")
    wait_until(lambda: replica.value("select pg_is_in_recovery()") == "t", 30, "replica in recovery")
    return replica
