"""Why a member did not come up, in PostgreSQL's and Patroni's own words, and the files to look at.

PostgreSQL logs to stderr, which Patroni passes through into the member's log (``patroni.log``), as does
the post_init hook (Spilo's steps and supabase-bootstrap). A member has failed when its Patroni exited or
when Patroni itself says a start or the bootstrap failed; the explanation is then the first FATAL/PANIC line
PostgreSQL wrote (or the hook's error) since the member was started, plus the log's path.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

# Patroni 4.1 log lines that mean "this will not come up by itself" (patroni/ha.py, postgresql/bootstrap.py).
PATRONI_FAILED = re.compile(
    r"post_init script .* (returned non-zero code|failed)"
    r"|removing initialize key after failed attempt to bootstrap"
    r"|Failed to bootstrap cluster"
    r"|failed to start postgres"
    r"|removed leader key after trying and failing to start postgres"
    r"|replica creation failed|failed to bootstrap from leader"
    r"|PatroniFatalException")
# PostgreSQL FATALs that are part of normal operation (start-up, shutdown, failover), not a cause.
BENIGN = re.compile(
    r"the database system is (starting up|shutting down|in recovery mode|not yet accepting connections"
    r"|not accepting connections)"
    r"|terminating connection due to administrator command"
    r"|could not receive data from WAL stream|terminating walreceiver"
    r"|could not connect to the primary server|the database system is in recovery"
    r"|connection to client lost|canceling statement due to conflict")
CAUSE = re.compile(r"\b(FATAL|PANIC):\s|supabase-bootstrap: error:|supabase-root-key:|fetch-supabase-sql:"
                   r"|psql:.*ERROR:|^ERROR:")


def read_from(path: Path, offset: int) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def causes(text: str) -> list[str]:
    """PostgreSQL's and the hooks' error lines, benign ones left out, in order, without repeats."""
    out: list[str] = []
    for line in text.splitlines():
        if CAUSE.search(line) and not BENIGN.search(line) and line.strip() not in out:
            out.append(line.strip())
    return out


def patroni_gave_up(text: str) -> str | None:
    for line in text.splitlines():
        if PATRONI_FAILED.search(line):
            return line.strip()
    return None


def explain(name: str, log_path: Path, text: str, exited: int | None) -> str | None:
    """One paragraph for a failed member, or None if nothing in ``text`` says it failed."""
    verdict = patroni_gave_up(text)
    if exited is None and verdict is None:
        return None
    found = causes(text)
    head = f"{name}: Patroni exited with code {exited}" if exited is not None else f"{name}: {verdict}"
    lines = [head]
    if found:
        lines.append("  cause: " + found[0])
        lines += ["         " + c for c in found[1:4]]
    else:
        tail = [ln for ln in text.splitlines() if ln.strip()][-5:]
        lines += ["  last lines:"] + ["    " + ln for ln in tail]
    lines.append(f"  log: {log_path}")
    return "\n".join(lines)


REDACT = re.compile(r"(password:\s*)(\S+)", re.I)


def copy_redacted(src: Path, dest: Path) -> None:
    """A config copy without password values (the artifacts directory outlives the lab)."""
    dest.write_text(REDACT.sub(r"\1<redacted>", src.read_text(errors="replace")))


CONFIG_FILES = ("postgresql.conf", "postgresql.base.conf", "pg_hba.conf", "patroni.dynamic.json",
                "postmaster.opts", "standby.signal")


def keep_member(root: Path, dest: Path) -> None:
    """A member's Patroni config and log and PostgreSQL's configs (also of data dirs Patroni moved aside)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("patroni.log",):
        if (root / name).is_file():
            shutil.copy(root / name, dest / name)
    if (root / "patroni.yml").is_file():
        copy_redacted(root / "patroni.yml", dest / "patroni.yml")
    for data in sorted(root.glob("data*")):
        if not data.is_dir():
            continue
        for name in CONFIG_FILES:
            f = data / name
            if f.is_file():
                target = dest / (name if data.name == "data" else f"{data.name}.{name}")
                shutil.copy(f, target)
        for logfile in sorted((data / "log").glob("*")) if (data / "log").is_dir() else []:
            shutil.copy(logfile, dest / f"{data.name}.{logfile.name}")
