"""From a rendered Deployment to the exact connection parameters its service uses.

Three steps, each done the way the real component does it:
- the container's environment, as the kubelet builds it (pkg/kubelet/kubelet_pods.go, makeEnvironmentVariables):
  envFrom first, then `env` in order, each `value` with `$(VAR)` expanded against the variables defined so far
  (an unknown `$(VAR)` stays as written, `$$` is a literal `$`), each secretKeyRef read from the Secret; a later
  entry of the same name replaces an earlier one;
- the service's own reading of that environment (which variables, which URL);
- the URL or key/value string parsed by libpq itself (PQconninfoParse), so the parameters are libpq's.
"""

from __future__ import annotations

import base64
import ctypes
import ctypes.util
import json
from dataclasses import dataclass, field


class Unresolvable(AssertionError):
    """The kubelet would refuse to start the container (a missing Secret or key)."""


def expand(value: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion (third_party/forked/golang/expansion)."""
    out, i = [], 0
    while i < len(value):
        ch = value[i]
        if ch == "$" and i + 1 < len(value):
            nxt = value[i + 1]
            if nxt == "$":
                out.append("$")
                i += 2
                continue
            if nxt == "(":
                end = value.find(")", i + 2)
                if end != -1:
                    name = value[i + 2:end]
                    out.append(env[name] if name in env else value[i:end + 1])
                    i = end + 1
                    continue
        out.append(ch)
        i += 1
    return "".join(out)


def secret_data(secrets: dict[str, dict], name: str, key: str) -> str:
    if name not in secrets:
        raise Unresolvable(f"Secret {name!r} does not exist")
    data = secrets[name].get("data") or {}
    if key not in data:
        raise Unresolvable(f"Secret {name!r} has no key {key!r} (keys: {sorted(data)})")
    return base64.b64decode(data[key]).decode()


def container_env(container: dict, secrets: dict[str, dict]) -> dict[str, str]:
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        if "secretRef" in source:
            name = source["secretRef"]["name"]
            for key in (secrets.get(name) or {}).get("data") or {}:
                env[source.get("prefix", "") + key] = secret_data(secrets, name, key)
    for entry in container.get("env") or []:
        if entry.get("value") not in (None, ""):
            env[entry["name"]] = expand(str(entry["value"]), env)
        elif "valueFrom" in entry:
            source = entry["valueFrom"]
            if "secretKeyRef" in source:
                ref = source["secretKeyRef"]
                env[entry["name"]] = secret_data(secrets, ref["name"], ref["key"])
            elif "fieldRef" in source or "resourceFieldRef" in source:
                # the pod's own fields (node name, limits): always there, never a database setting
                env[entry["name"]] = f"<{json.dumps(source, sort_keys=True)}>"
            else:
                raise Unresolvable(f"{entry['name']}: {source} is not modelled")
        else:
            env[entry["name"]] = ""
    return env


# --- libpq --------------------------------------------------------------------------------------------------

class _Option(ctypes.Structure):
    _fields_ = [("keyword", ctypes.c_char_p), ("envvar", ctypes.c_char_p), ("compiled", ctypes.c_char_p),
                ("val", ctypes.c_char_p), ("label", ctypes.c_char_p), ("dispchar", ctypes.c_char_p),
                ("dispsize", ctypes.c_int)]


def _libpq():
    lib = ctypes.CDLL(ctypes.util.find_library("pq") or "libpq.so.5")
    lib.PQconninfoParse.restype = ctypes.POINTER(_Option)
    lib.PQconninfoParse.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p)]
    lib.PQconninfoFree.argtypes = [ctypes.POINTER(_Option)]
    return lib


def libpq_parse(conninfo: str) -> dict[str, str]:
    """The parameters libpq reads from a URI or key=value string (only those set)."""
    lib = _libpq()
    err = ctypes.c_char_p()
    opts = lib.PQconninfoParse(conninfo.encode(), ctypes.byref(err))
    if not opts:
        raise ValueError(f"libpq cannot parse {conninfo!r}: {(err.value or b'').decode().strip()}")
    params, i = {}, 0
    while opts[i].keyword:
        if opts[i].val is not None:
            params[opts[i].keyword.decode()] = opts[i].val.decode()
        i += 1
    lib.PQconninfoFree(opts)
    return params


def conninfo(params: dict[str, str]) -> str:
    def quote(v: str) -> str:
        return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return " ".join(f"{k}={quote(v)}" for k, v in sorted(params.items()))


# --- what each service reads ---------------------------------------------------------------------------------

@dataclass
class Connection:
    service: str
    params: dict[str, str]
    #: statements the service runs on every new connection before anything else
    after_connect: list[str] = field(default_factory=list)
    #: how the TLS mode was decided (the service's own default when its URL has none)
    tls_note: str = ""


def _bool_ssl(value: str) -> str:
    # Realtime: DB_SSL "true" -> Postgrex ssl: true (TLS without verification), anything else -> no TLS.
    return "require" if value.strip().lower() == "true" else "disable"


def service_connection(service: str, env: dict[str, str]) -> Connection:
    """The connection a service opens, from its resolved environment (each service's documented variables)."""
    if service == "rest":          # PostgREST: db-uri, handed to libpq as is
        return Connection(service, libpq_parse(env["PGRST_DB_URI"]), tls_note="sslmode in PGRST_DB_URI")
    if service == "auth":          # GoTrue: GOTRUE_DB_DATABASE_URL (pgx reads libpq's URI syntax)
        return Connection(service, libpq_parse(env["GOTRUE_DB_DATABASE_URL"]), tls_note="sslmode in the URL")
    if service == "storage":       # Storage: DATABASE_URL (node-postgres, libpq URI syntax)
        return Connection(service, libpq_parse(env["DATABASE_URL"]), tls_note="sslmode in the URL")
    if service == "meta":          # postgres-meta: PG_META_DB_{HOST,PORT,NAME,USER,PASSWORD,SSL_MODE}
        return Connection(service, {
            "host": env["PG_META_DB_HOST"], "port": env["PG_META_DB_PORT"], "dbname": env["PG_META_DB_NAME"],
            "user": env["PG_META_DB_USER"], "password": env["PG_META_DB_PASSWORD"],
            "sslmode": env["PG_META_DB_SSL_MODE"]}, tls_note="PG_META_DB_SSL_MODE")
    if service == "realtime":      # Realtime: DB_HOST/DB_PORT/DB_NAME/DB_USER/DB_PASSWORD, DB_SSL true|false
        after = [env["DB_AFTER_CONNECT_QUERY"]] if env.get("DB_AFTER_CONNECT_QUERY") else []
        return Connection(service, {
            "host": env["DB_HOST"], "port": env["DB_PORT"], "dbname": env["DB_NAME"], "user": env["DB_USER"],
            "password": env["DB_PASSWORD"], "sslmode": _bool_ssl(env.get("DB_SSL", "false"))},
            after_connect=after, tls_note=f"DB_SSL={env.get('DB_SSL')!r}")
    if service == "analytics":     # Logflare: POSTGRES_BACKEND_URL; Ecto/Postgrex use TLS only with ssl: true
        params = libpq_parse(env["POSTGRES_BACKEND_URL"])
        params.setdefault("sslmode", "disable")
        schema = env.get("POSTGRES_BACKEND_SCHEMA") or env.get("DB_SCHEMA")
        return Connection(service, params, after_connect=[f"SET search_path TO {schema}"] if schema else [],
                          tls_note="no sslmode in the URL: Postgrex connects without TLS unless told to")
    if service == "functions":     # edge functions' SUPABASE_DB_URL: search_path is a server setting there
        url = env["SUPABASE_DB_URL"]
        base, _, query = url.partition("?")
        extra = [p for p in query.split("&") if p and not p.startswith("search_path=")]
        params = libpq_parse(base + ("?" + "&".join(extra) if extra else ""))
        return Connection(service, params, tls_note="sslmode in SUPABASE_DB_URL")
    raise KeyError(service)
