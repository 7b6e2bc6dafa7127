"""The PostgreSQL the lab runs (Debian's 15) and what it can load.

The rendered CR is written for the Spilo image (another major version, Supabase's extensions). The lab only
tests Patroni's HA behaviour, so whatever Debian's PostgreSQL cannot load is dropped, and every drop is
logged by name so nothing disappears silently.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

from .errors import LabError

PG_MAJOR = "15"
DEFAULT_BIN_DIR = f"/usr/lib/postgresql/{PG_MAJOR}/bin"


def bin_dir() -> Path:
    path = Path(os.environ.get("CHARTGEN_LAB_PG_BIN", DEFAULT_BIN_DIR))
    if not (path / "postgres").is_file():
        raise LabError(f"PostgreSQL {PG_MAJOR} server binaries not found in {path} "
                       f"(apt-get install postgresql-{PG_MAJOR}, or set CHARTGEN_LAB_PG_BIN)")
    return path


@functools.cache
def pkglibdir(bindir: Path) -> Path:
    try:
        out = subprocess.run([str(bindir / "pg_config"), "--pkglibdir"], capture_output=True, text=True,
                             check=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        raise LabError(f"pg_config --pkglibdir failed in {bindir}: {exc}") from None
    return Path(out)


@functools.cache
def known_parameters(bindir: Path) -> frozenset[str]:
    """Every server parameter this PostgreSQL knows (``postgres --describe-config`` runs even as root)."""
    try:
        out = subprocess.run([str(bindir / "postgres"), "--describe-config"], capture_output=True, text=True,
                             check=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise LabError(f"postgres --describe-config failed in {bindir}: {exc}") from None
    return frozenset(line.split("\t", 1)[0] for line in out.splitlines() if line.strip())


def split_preload(value: str, libdir: Path) -> tuple[list[str], list[str]]:
    """(libraries that exist here, libraries that don't) of a shared_preload_libraries value."""
    kept, dropped = [], []
    for lib in (part.strip().strip('"') for part in value.split(",")):
        if not lib:
            continue
        name = lib.rsplit("/", 1)[-1]
        name = name.removesuffix(".so")
        (kept if (libdir / f"{name}.so").is_file() else dropped).append(lib)
    return kept, dropped


# A library listed here that is missing fails server start (shared_) or every new session (the others).
PRELOAD_PARAMETERS = ("shared_preload_libraries", "session_preload_libraries", "local_preload_libraries")

_SIZE = re.compile(r"^\s*(\d+)\s*(kB|MB|GB|TB)?\s*$")
_UNITS = {None: 8192, "kB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}


def size_bytes(value: str) -> int | None:
    """Bytes of a memory setting counted in 8 kB blocks when it has no unit; None if not a size."""
    m = _SIZE.match(str(value))
    return int(m.group(1)) * _UNITS[m.group(2)] if m else None


def adapt_parameters(params: dict[str, str], bindir: Path, caps: dict[str, str], owned: set[str],
                     log: Callable[[str], None], where: str) -> dict[str, str]:
    """Parameters this PostgreSQL accepts, with every change logged. ``where`` names the section."""
    known = known_parameters(bindir)
    out: dict[str, str] = {}
    for key, value in params.items():
        if key in owned:
            log(f"{where}: {key} is set by the lab (paths and ports of this run); the rendered value is not used")
            continue
        # Dotted names are extension settings: PostgreSQL keeps them as placeholders, they cannot fail startup.
        if "." not in key and key not in known:
            log(f"{where}: dropped {key}={value}: PostgreSQL {PG_MAJOR} has no such parameter")
            continue
        if key in PRELOAD_PARAMETERS:
            kept, dropped = split_preload(value, pkglibdir(bindir))
            if dropped:
                log(f"{where}: {key}: dropped {', '.join(dropped)} "
                    f"(no .so in {pkglibdir(bindir)}); kept {', '.join(kept) or 'none'}")
            value = ",".join(kept)
        if key in caps:
            have, cap = size_bytes(value), size_bytes(caps[key])
            if have is not None and cap is not None and have > cap:
                log(f"{where}: {key}={value} capped to {caps[key]} (several members share this machine)")
                value = caps[key]
        out[key] = value
    return out
