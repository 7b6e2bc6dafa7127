"""pgbouncer.ini for the lab, with the pool sizes the operator gives its pooler pods."""

from __future__ import annotations

import resource
from dataclasses import dataclass
from pathlib import Path

from .plan import PoolerPlan
from .spilo import SUPERUSER, Credentials


def raise_fd_limit() -> int:
    """Raise the soft open-files limit to the hard one: PgBouncer needs one fd per client (max_client_conn)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else 65536
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft


# Supabase's PgBouncer lookup: the role and SECURITY DEFINER function that the payload's
# init-scripts/00-schema.sql (ansible/files/pgbouncer_config/pgbouncer_auth_schema.sql) creates.
SUPABASE_AUTH_USER = "pgbouncer"
SUPABASE_AUTH_QUERY = "SELECT * FROM pgbouncer.get_auth($1)"


@dataclass(frozen=True)
class AuthQuery:
    """PgBouncer's auth_user (listed in the auth file) and the query it runs for every other role."""

    user: str
    password: str
    query: str


def write_config(plan: PoolerPlan, root: Path, port: int, target_port: int, creds: Credentials,
                 auth_query: AuthQuery | None = None) -> Path:
    auth = root / "userlist.txt"
    users = [(SUPERUSER, creds.superuser_password)]
    if auth_query is not None:
        users.append((auth_query.user, auth_query.password))
    auth.write_text("".join(f'"{u}" "{p}"\n' for u, p in users))
    auth.chmod(0o600)
    lookup = [f"auth_user = {auth_query.user}", f"auth_query = {auth_query.query}"] if auth_query else []
    ini = root / "pgbouncer.ini"
    ini.write_text("\n".join([
        "[databases]",
        f"* = host=127.0.0.1 port={target_port}",
        "[pgbouncer]",
        "listen_addr = 127.0.0.1",
        f"listen_port = {port}",
        "unix_socket_dir =",
        "auth_type = scram-sha-256",
        f"auth_file = {auth}",
        *lookup,
        f"logfile = {root / 'pgbouncer.log'}",
        f"pool_mode = {plan.mode}",
        f"max_client_conn = {plan.max_client_conn}",
        f"default_pool_size = {plan.default_pool_size}",
        f"min_pool_size = {plan.min_pool_size}",
        f"reserve_pool_size = {plan.reserve_pool_size}",
        f"max_db_connections = {plan.max_db_conn}",
        # libpq clients (pgbench, psql) send it; PgBouncer 1.18 rejects unknown startup parameters.
        "ignore_startup_parameters = extra_float_digits",
        "",
    ]))
    return ini
