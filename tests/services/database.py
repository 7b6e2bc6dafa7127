"""A real PostgreSQL 15 set up from a rendered spec the way Spilo and the operator set it up, as far as the
services' connections are concerned, and a PgBouncer configured like the operator's pooler.

- the server: Supabase's real release SQL bootstrapped by the image's runner (tests/support), with the
  preloads the chart gives, `wal_level` from the rendered CR, TLS on with a real certificate (Spilo always
  runs with `ssl: on`), and the rendered CR's `pg_hba` lines;
- the operator's part: every credentials Secret the database chart pre-creates sets its role's password
  (postgres-operator v2.0.1 keeps a Secret's password, pkg/cluster/sync.go:1211-1217, and ALTERs the role to
  it, pkg/util/users/users.go:253);
- addresses: the pod network of `spec.supabase.services.sourceCIDRs` is 127.0.0.1 here, where the tests
  connect from; Spilo's in-pod loopback lines (127.0.0.1/32) move to 127.0.0.2/32, an address no test uses,
  so they cannot let anything in that the pod network would not get in a cluster.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.procs import LOOPBACK, Server, as_postgres, free_port, give_to_postgres, wait_until

from .resolve import conninfo

POD_NETWORK = "127.0.0.1/32"
POD_LOOPBACK = "127.0.0.2/32"


def pg_bin() -> Path:
    from tests.image import pg
    return pg.pg_bin()


def map_addresses(lines: list[str], source_cidrs: list[str]) -> list[str]:
    """The rendered pg_hba with cluster addresses moved onto this machine's loopback (see the module doc)."""
    out = []
    for line in lines:
        fields = line.split()
        fields = [POD_LOOPBACK if f == "127.0.0.1/32" else f for f in fields]
        fields = [POD_NETWORK if f in source_cidrs else f for f in fields]
        out.append(" ".join(fields))
    return out


def make_certificate(directory: Path, name: str, cn: str = "localhost") -> tuple[Path, Path]:
    """A self-signed certificate and key from openssl, like the one Spilo generates when none is given."""
    crt, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(["openssl", "req", "-nodes", "-new", "-x509", "-days", "2", "-subj", f"/CN={cn}",
                    "-newkey", "rsa:2048", "-keyout", str(key), "-out", str(crt)],
                   check=True, capture_output=True, timeout=60)
    give_to_postgres(directory)
    key.chmod(0o600)
    return crt, key


@dataclass
class Result:
    ok: bool
    stdout: str
    stderr: str


def psql(params: dict[str, str], sql: str, *, extra: dict[str, str] | None = None, timeout: float = 60) -> Result:
    """psql (libpq) with exactly ``params``; nothing from the environment, no password file."""
    env = {"PATH": os.environ.get("PATH", os.defpath), "PGPASSFILE": os.devnull, "PGSYSCONFDIR": os.devnull}
    proc = subprocess.run([str(pg_bin() / "psql"), "-X", "-At", "-v", "ON_ERROR_STOP=1",
                           "-d", conninfo({**params, **(extra or {})}), "-c", sql],
                          env=env, capture_output=True, text=True, timeout=timeout)
    return Result(proc.returncode == 0, proc.stdout, proc.stderr)


def psql_script(params: dict[str, str], statements: list[str], timeout: float = 60) -> Result:
    """One session running ``statements`` in order (psql -f), as a service's pooled connection would."""
    env = {"PATH": os.environ.get("PATH", os.defpath), "PGPASSFILE": os.devnull, "PGSYSCONFDIR": os.devnull}
    proc = subprocess.run([str(pg_bin() / "psql"), "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", conninfo(params),
                           "-f", "-"], input="\n".join(s.rstrip().rstrip(";") + ";" for s in statements) + "\n",
                          env=env, capture_output=True, text=True, timeout=timeout)
    return Result(proc.returncode == 0, proc.stdout, proc.stderr)


@dataclass
class Database:
    data: Path
    sockets: Path
    port: int
    server: Server

    def admin(self, sql: str, dbname: str = "postgres") -> str:
        """The local superuser over the Unix socket (Spilo's `local all all trust`)."""
        proc = subprocess.run(as_postgres([str(pg_bin() / "psql"), "-X", "-At", "-v", "ON_ERROR_STOP=1",
                                           "-h", str(self.sockets), "-p", str(self.port), "-U", "postgres",
                                           "-d", dbname, "-c", sql]),
                              capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            raise AssertionError(f"psql failed on {sql!r}: {proc.stderr.strip()}")
        return proc.stdout.strip()

    def stop(self) -> None:
        self.server.stop()


def start(data: Path, settings: dict[str, str], pg_hba: list[str]) -> Database:
    """Start ``data`` with ``settings`` (postgresql.conf) and ``pg_hba`` as the only pg_hba.conf."""
    (data / "pg_hba.conf").write_text("\n".join(pg_hba) + "\n")
    with open(data / "postgresql.conf", "a", encoding="utf-8") as conf:
        for key, value in settings.items():
            conf.write(f"{key} = '{str(value).replace(chr(39), chr(39) * 2)}'\n")
    give_to_postgres(data)
    sockets = data.parent / f"{data.name}-sock"
    sockets.mkdir(exist_ok=True)
    give_to_postgres(sockets)
    port = free_port()
    server = Server("postgres", as_postgres([
        str(pg_bin() / "postgres"), "-D", str(data), "-p", str(port), "-k", str(sockets),
        "-c", f"listen_addresses={LOOPBACK}", "-c", "fsync=off", "-c", "synchronous_commit=off",
    ]), log=data.parent / f"{data.name}.log", env={"PATH": "/usr/bin:/bin"})
    isready = [str(pg_bin() / "pg_isready"), "-q", "-h", str(sockets), "-p", str(port)]
    server.wait_ready(lambda: subprocess.run(isready, capture_output=True).returncode == 0, timeout=60)
    return Database(data=data, sockets=sockets, port=port, server=server)


def start_operator_pooler(workdir: Path, target_port: int, users: dict[str, str]) -> tuple[Server, int]:
    """PgBouncer with the client and server TLS settings of the operator's pooler image
    (postgres-operator v2.0.1 pooler/pgbouncer.ini.tmpl:20-25: client_tls_sslmode = require with the
    certificate its entrypoint makes, server_tls_sslmode = require), transaction pooling, md5 auth."""
    workdir.mkdir(parents=True, exist_ok=True)
    crt, key = make_certificate(workdir, "pgbouncer", cn="spilo.dummy.org")
    auth = workdir / "userlist.txt"
    auth.write_text("".join(f'"{u}" "{p}"\n' for u, p in users.items()))
    port = free_port()
    ini = workdir / "pgbouncer.ini"
    ini.write_text("\n".join([
        "[databases]",
        f"* = host={LOOPBACK} port={target_port}",
        "[pgbouncer]",
        f"listen_addr = {LOOPBACK}", f"listen_port = {port}", "unix_socket_dir =",
        "pool_mode = transaction", "auth_type = md5", f"auth_file = {auth}",
        f"logfile = {workdir / 'pgbouncer.log'}",
        "server_tls_sslmode = require", "server_tls_protocols = secure",
        "client_tls_sslmode = require", f"client_tls_key_file = {key}", f"client_tls_cert_file = {crt}",
        "ignore_startup_parameters = extra_float_digits,options",
        "",
    ]))
    give_to_postgres(workdir)
    auth.chmod(0o600)
    server = Server("pgbouncer", as_postgres(["pgbouncer", str(ini)]), log=workdir / "pgbouncer.out")
    wait_until(lambda: _listening(port), 20, "pgbouncer")
    return server, port


def _listening(port: int) -> bool:
    from tests.support.procs import port_open
    return port_open(port)
