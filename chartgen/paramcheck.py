"""spec.postgres.parameters against PostgreSQL's catalog: names, values, memory fit, restarts.

- A parameter PostgreSQL does not know, a read-only one, or a value the server would refuse is an error
  (PostgreSQL refuses to start on it, or Patroni drops it): the message says why, with a did-you-mean.
- Parameters of the image's libraries (``pg_stat_statements.max``, ``cron.max_running_jobs``) are
  checked the same way when the catalog has that library's data (read from a real server with the
  library loaded); an unknown name under such a prefix is a warning, because PostgreSQL ignores it
  with a warning of its own. Prefixes of image libraries without data are accepted unchecked.
- The memory fit is a warning: an estimate of peak memory (see ``memory_estimate``) against the pod's
  memory limit.
- ``restart_changes`` names the changed parameters that need a restart (context postmaster), for diff.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Iterator

from . import pgsettings, presets, schema, tuning
from .dicts import dig
from .quantity import to_bytes

Finding = tuple[tuple, str, str]

#: The parameters the memory estimate reads.
MEMORY_PARAMETERS = ("shared_buffers", "wal_buffers", "max_connections", "work_mem", "autovacuum_max_workers",
                     "autovacuum_work_mem", "maintenance_work_mem")

_WAL_SEGMENT = 16 * 2**20
_NAME = re.compile(schema.subschema(("spec", "postgres", "parameters"))["propertyNames"]["pattern"])  # the default --wal-segsize, which Spilo keeps


def catalog(major: Any) -> pgsettings.Catalog | None:
    try:
        return pgsettings.load(str(major))
    except (FileNotFoundError, ValueError):
        return None


@lru_cache(maxsize=1)
def _library_prefixes() -> frozenset[str]:
    """Prefixes the image's libraries may use: those seen in any catalog, and the libraries' own names."""
    found: set[str] = set()
    for major in pgsettings.majors():
        found |= pgsettings.load(major).prefixes
    try:
        from . import extensions

        cat = extensions.load()
        found |= {lib.lower() for lib in cat.spilo_preload}
        found |= {n.lower() for e in cat.extensions for n in (e.name, e.library)}
    except Exception:  # noqa: BLE001 - the extension list has its own check; use what the catalogs know
        pass
    return frozenset(found)


@lru_cache(maxsize=1)
def _dotted_names() -> tuple[str, ...]:
    return tuple(sorted({n for m in pgsettings.majors() for n in pgsettings.load(m).by_lower if "." in n}))


def _schema_versions() -> list:
    return schema.subschema(("spec", "postgres", "version")).get("enum", [])


def check_parameter(name: str, value: Any, major: Any) -> Iterator[tuple[str, str]]:
    """``(message, severity)`` about one parameter of a spec for PostgreSQL ``major``."""
    cat = catalog(major)
    if cat is None or not _NAME.match(name):
        return  # a malformed name is the schema's error
    setting = cat.get(name)
    if setting is None:
        yield from _unknown(name, cat)
        return
    if setting.context == "internal":
        yield (f"{name} is read-only: PostgreSQL sets it when it is built or when initdb runs "
               "(context internal)"), "error"
        return
    result = pgsettings.parse(setting, pgsettings.conf_text(value))
    if not result.ok:
        yield result.reason, "error"


def _unknown(name: str, cat: pgsettings.Catalog) -> Iterator[tuple[str, str]]:
    lower = name.lower()
    if "." not in lower:
        others = [m for m in pgsettings.majors() if m != cat.major and pgsettings.load(m).get(name)]
        elsewhere = f" (PostgreSQL {', '.join(others)} has it)" if others else ""
        known = [n for n in cat.by_lower if "." not in n and cat.by_lower[n].context != "internal"]
        yield f"PostgreSQL {cat.major} has no such parameter{elsewhere}{schema.suggest(lower, known)}", "error"
        return
    prefix = lower.split(".", 1)[0]
    if prefix in cat.prefixes:
        same = [n for n in cat.by_lower if n.startswith(prefix + ".")]
        yield (f"the library that owns the prefix {prefix}. has no such parameter (as loaded for PostgreSQL "
               f"{cat.major}; the server ignores it, with a warning in its log){schema.suggest(lower, same)}"), "warning"
    elif prefix not in _library_prefixes():
        hint = schema.suggest(lower, list(_dotted_names()))
        if hint:
            yield (f"no library in the image uses the prefix {prefix}. (PostgreSQL keeps it as a custom "
                   f"setting that only current_setting() reads){hint}"), "warning"


_CONTEXTS = {
    "postmaster": "a change takes effect after a restart (context postmaster)",
    "sighup": "a change takes effect on reload, without a restart (context sighup)",
    "backend": "a change takes effect for new connections (context backend)",
    "superuser-backend": "a change takes effect for new connections (context superuser-backend)",
    "superuser": "a change takes effect on reload; superusers can also set it per session (context superuser)",
    "user": "a change takes effect on reload; sessions can also set it (context user)",
    "internal": "read-only (context internal)",
}


def describe(name: str, major: Any) -> str | None:
    """One line about a parameter from the catalog (type, unit, range, default, when a change applies)."""
    cat = catalog(major)
    setting = cat.get(name) if cat else None
    if setting is None:
        return None
    parts = [f"PostgreSQL {cat.major}: {setting.type}"]
    if setting.unit:
        parts[0] += f" in {setting.unit}"
    if setting.type in ("integer", "real") and setting.min is not None:
        parts.append(f"{pgsettings.show(setting, setting.min)} .. {pgsettings.show(setting, setting.max)}")
    if setting.values:
        parts.append("one of " + ", ".join(setting.values))
    if setting.default is not None:
        default = pgsettings.parse(setting, setting.default)
        shown = pgsettings.show(setting, default.value) if default.ok and setting.unit else setting.default
        parts.append(f"default {shown}")
    return ", ".join(parts) + "; " + _CONTEXTS.get(setting.context, f"context {setting.context}")


# ---- memory fit ------------------------------------------------------------------------------------------


def memory_estimate(params: dict[str, int], settings: dict[str, pgsettings.Setting]) -> tuple[int, str]:
    """Peak memory in bytes of a server with ``params`` (base units), and the formula with its numbers.

    shared_buffers + wal_buffers (-1: shared_buffers / 32, between 64kB and one 16MB WAL segment)
    + max_connections * work_mem (one sort or hash per connection at a time; a query can use more)
    + (autovacuum_max_workers + 1) * maintenance memory (autovacuum_work_mem, -1: maintenance_work_mem;
    the + 1 is one CREATE INDEX or VACUUM run by hand).
    Not counted: per-connection overhead, hash_mem_multiplier, parallel workers, the page cache.
    """
    def b(name: str) -> int:
        return pgsettings.to_bytes(settings[name], params[name])

    shared = b("shared_buffers")
    wal = b("wal_buffers") if params["wal_buffers"] != -1 else min(max(shared // 32, 64 * 1024), _WAL_SEGMENT)
    conns, work = params["max_connections"], b("work_mem")
    workers = params["autovacuum_max_workers"]
    maint = b("maintenance_work_mem") if params["autovacuum_work_mem"] == -1 else b("autovacuum_work_mem")
    manual = b("maintenance_work_mem")
    total = shared + wal + conns * work + workers * maint + manual
    formula = (f"shared_buffers {_mem(shared)} + wal_buffers {_mem(wal)} + max_connections {conns} x work_mem "
               f"{_mem(work)} + autovacuum_max_workers {workers} x {_mem(maint)} + maintenance_work_mem "
               f"{_mem(manual)}")
    return total, formula


def _mem(n: int) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f}".rstrip("0").rstrip(".") + unit
    return f"{n}B"


def memory_fit(data: dict) -> Iterator[Finding]:
    """A warning when the estimated peak memory exceeds the PostgreSQL container's memory limit."""
    pg = dig(data, "spec", "postgres")
    if not isinstance(pg, dict) or not isinstance(pg.get("version"), str):
        return
    cat = catalog(pg["version"])
    if cat is None:
        if pg["version"] in _schema_versions():
            yield ("spec", "postgres", "version"), (
                f"chartgen has no parameter catalog for PostgreSQL {pg['version']} (a broken installation?): "
                "spec.postgres.parameters are not checked"), "warning"
        return
    try:
        size = presets.get("sizes", pg.get("size"))
    except (KeyError, TypeError):
        return
    resources = pg.get("resources") if isinstance(pg.get("resources"), dict) else {}
    limits = resources.get("limits") if isinstance(resources.get("limits"), dict) else {}
    limit_text = str(limits.get("memory", size["memory"]))
    cpu = str(limits.get("cpu", size["cpu"]["limit"]))
    storage = dig(pg, "storage", "size") or size["storageFloor"]
    pooler_max = dig(data, "spec", "pooler", "maxDBConnections")
    if not isinstance(pooler_max, int) or isinstance(pooler_max, bool):
        pooler_max = size["pooler"]["maxDBConnections"]
    try:
        limit = to_bytes(limit_text)
        derived = tuning.derive_parameters(memory=limit_text, cpu_limit=cpu, storage=str(storage),
                                           max_connections=tuning.max_connections(size["maxConnections"],
                                                                                  pooler_max))
    except (ValueError, ZeroDivisionError):
        return  # a malformed quantity is the schema's error
    user = pg.get("parameters") if isinstance(pg.get("parameters"), dict) else {}
    params: dict[str, int] = {}
    settings: dict[str, pgsettings.Setting] = {}
    for name in MEMORY_PARAMETERS:
        setting = cat.get(name)
        if setting is None:
            return
        settings[name] = setting
        # The spec's value, else chartgen's derived one, else PostgreSQL's default (an invalid value is
        # reported by check_parameter; the estimate goes on with what would be used otherwise).
        texts = [pgsettings.conf_text(user[name])] if name in user else []
        texts += [derived[name][0]] if name in derived else []
        for text in [*texts, setting.default or ""]:
            parsed = pgsettings.parse(setting, text)
            if parsed.ok:
                params[name] = int(parsed.value)
                break
        else:
            return
    total, formula = memory_estimate(params, settings)
    if total <= limit:
        return
    where = next((("spec", "postgres", "parameters", n) for n in MEMORY_PARAMETERS if n in user), None)
    if where is None:
        where = ("spec", "postgres", "resources", "limits", "memory") if "memory" in limits else \
            ("spec", "postgres", "size")
    what = "spec.postgres.resources.limits.memory" if "memory" in limits else f"size {pg.get('size')}"
    yield where, (f"estimated peak memory {_mem(total)} exceeds the memory limit {limit_text} ({what}): "
                  f"{formula}; PostgreSQL is OOM-killed when it needs it all"), "warning"


# ---- restarts --------------------------------------------------------------------------------------------


def restart_changes(old: dict, new: dict, major: Any) -> list[str]:
    """``name (old -> new)`` for every changed parameter that takes effect only after a restart."""
    cat = catalog(major)
    if cat is None:
        return []
    out = []
    for name in sorted(set(old) | set(new)):
        setting = cat.get(name)
        if setting is None or not setting.restart:
            continue
        a, b = old.get(name), new.get(name)
        if a is not None and b is not None:
            pa, pb = pgsettings.parse(setting, str(a)), pgsettings.parse(setting, str(b))
            if pa.ok and pb.ok and pa.value == pb.value:
                continue  # "1GB" -> "1024MB"
        elif a == b:
            continue
        if a != b:
            out.append(f"{name} ({a if a is not None else 'default'} -> {b if b is not None else 'default'})")
    return out


#: Restart parameters the operator puts into the pods' SPILO_CONFIGURATION instead of Patroni's dynamic
#: configuration (operator v2.0.1 pkg/cluster/k8sres.go isBootstrapOnlyParameter): a change re-creates the pods.
POD_TEMPLATE_PARAMETERS = frozenset({"shared_buffers", "logging_collector", "log_destination", "log_directory",
                                     "log_filename", "log_file_mode", "log_rotation_age",
                                     "log_truncate_on_rotation", "ssl", "ssl_ca_file", "ssl_crl_file",
                                     "ssl_cert_file", "ssl_key_file", "shared_preload_libraries",
                                     "bg_mon.listen_address", "bg_mon.history_buckets",
                                     "pg_stat_statements.track_utility", "extwlist.extensions",
                                     "extwlist.custom_path"})


def restart_message(changes: list[str]) -> str:
    """What ``diff`` says about changed restart parameters (``restart_changes``' output)."""
    names = {c.split(" ", 1)[0] for c in changes}
    how = ("the operator restarts PostgreSQL on each member through Patroni, replicas first, "
           "the primary last (its clients are disconnected)")
    if names & POD_TEMPLATE_PARAMETERS:
        how = ("the operator re-creates the pods one by one (replicas first, then a switchover, then the old "
               "primary), since " + ", ".join(sorted(names & POD_TEMPLATE_PARAMETERS))
               + " is part of the pod template")
    return f"PostgreSQL restart needed for {', '.join(changes)} (context postmaster): {how}"
