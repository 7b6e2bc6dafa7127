"""Generate chartgen/data/pg-parameters-<major>.json from a real PostgreSQL server.

The catalog is read from ``pg_settings`` of a throwaway cluster (initdb in a temp dir, started on a Unix
socket only, stopped by its pid): every parameter's type, unit, range, enum values, context and built-in
default, exactly as that server reports them. Libraries the image loads (image/extensions.yaml:
Spilo's and Supabase's shared_preload_libraries, the session preload, and the extensions' modules, which
are LOADed) are loaded when this machine has them, so their parameters come from the real code too.

``pg_settings.enumvals`` omits the spellings PostgreSQL still accepts but hides (``wal_level =
hot_standby``, ``synchronous_commit = true``); the server is asked about candidate spellings with
``ALTER SYSTEM`` (which validates exactly like postgresql.conf) and the accepted ones are kept as
``hidden``.

    python -m chartgen.pgsettings_generate --bindir /usr/lib/postgresql/15/bin -o chartgen/data/pg-parameters-15.json
    # a server of another Debian release, installed into a chroot (e.g. debootstrap trixie + postgresql-17):
    python -m chartgen.pgsettings_generate --chroot /srv/trixie --bindir /usr/lib/postgresql/17/bin \\
        -o chartgen/data/pg-parameters-17.json

Runs as root (it switches to the ``postgres`` OS user, which PostgreSQL requires) or as that user.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import extensions

#: Spellings to try on every enum parameter: the boolean spellings (PostgreSQL hides on/off/true/false/
#: yes/no/1/0 on many enums that used to be booleans) and the deprecated names of wal_level (replica's
#: old names "archive" and "hot_standby") and of the message levels ("debug" for debug2).
HIDDEN_CANDIDATES = ("on", "off", "true", "false", "yes", "no", "1", "0", "archive", "hot_standby", "debug")

#: Libraries that need a key script at startup, and the parameter naming it.
_KEY_SCRIPTS = {"pgsodium": "pgsodium.getkey_script", "supabase_vault": "vault.getkey_script"}

_COLUMNS = ("name", "vartype", "unit", "min_val", "max_val", "enumvals", "context", "boot_val")


@dataclass
class Host:
    """Where the server's files live: this machine, or a chroot (paths below are inside it)."""

    bindir: str
    chroot: str | None = None

    def outside(self, inner: str | Path) -> Path:
        """The path on this machine of ``inner``; symlinks inside a chroot are resolved inside it."""
        if not self.chroot:
            return Path(inner)
        path, seen = str(inner), 0
        while seen < 40:
            outer = Path(self.chroot + path)
            # Resolve the first symlinked component against the chroot, not against this machine.
            for parent in [*reversed(Path(path).parents[:-1]), Path(path)]:
                candidate = Path(self.chroot + str(parent))
                if candidate.is_symlink():
                    target = os.readlink(candidate)
                    base = target if target.startswith("/") else str(parent.parent / target)
                    path = os.path.normpath(base + path[len(str(parent)):])
                    seen += 1
                    break
            else:
                return outer
        raise SystemExit(f"too many symbolic links under {self.chroot}: {inner}")

    def user(self) -> tuple[int, int] | None:
        """The postgres OS user's uid/gid (of the chroot's passwd when there is one), or None if not root."""
        if os.geteuid() != 0:
            return None
        for line in self.outside("/etc/passwd").read_text().splitlines():
            fields = line.split(":")
            if fields[0] == "postgres":
                return int(fields[2]), int(fields[3])
        raise SystemExit("no postgres OS user (install the postgresql package)")

    def command(self, *args: str) -> list[str]:
        ids = self.user()
        if self.chroot:
            spec = [f"--userspec={ids[0]}:{ids[1]}"] if ids else []
            return ["chroot", *spec, self.chroot, *args]
        if ids:
            # setpriv execs the command, so a server's pid is the one we hold.
            return ["setpriv", f"--reuid={ids[0]}", f"--regid={ids[1]}", "--clear-groups", *args]
        return list(args)

    def bin(self, name: str) -> str:
        return f"{self.bindir}/{name}"

    @property
    def major(self) -> str:
        out = subprocess.run(self.command(self.bin("postgres"), "--version"), capture_output=True, text=True,
                             check=True).stdout
        return re.search(r"\) (\d+)", out).group(1)

    @property
    def version(self) -> str:
        out = subprocess.run(self.command(self.bin("postgres"), "--version"), capture_output=True, text=True,
                             check=True).stdout
        return out.strip().replace("postgres (PostgreSQL) ", "PostgreSQL ", 1)


def _libdir(host: Host) -> str:
    # Debian's layout: /usr/lib/postgresql/<major>/{bin,lib}.
    return str(Path(host.bindir).parent / "lib")


def _sharedir(host: Host, major: str) -> str:
    return f"/usr/share/postgresql/{major}"


def _module(host: Host, major: str, ext: extensions.Extension) -> str | None:
    """The shared library an image extension loads (its control file's module_pathname), if installed."""
    control = host.outside(f"{_sharedir(host, major)}/extension/{ext.name}.control")
    name = ext.library
    if control.is_file():
        m = re.search(r"^\s*module_pathname\s*=\s*'\$libdir/([^']+)'", control.read_text(), re.M)
        if not m:
            return None  # a pure-SQL extension: nothing to load
        name = m.group(1)
    return name if host.outside(f"{_libdir(host)}/{name}.so").is_file() else None


def libraries(host: Host, major: str, catalog: extensions.Catalog | None = None) -> dict[str, list[str]]:
    """The image's libraries this server has: {"shared": [...], "session": [...], "load": [...]}."""
    cat = catalog or extensions.load()
    have = lambda lib: host.outside(f"{_libdir(host)}/{lib}.so").is_file()  # noqa: E731
    shared = [lib for lib in cat.shared_preload_libraries(timescaledb=True) if have(lib)]
    session = [lib for lib in cat.session_preload_libraries() if have(lib) and lib not in shared]
    load = []
    for ext in cat.extensions:
        # Preloaded extensions too: a preloaded loader may define the rest of its parameters in a versioned
        # module that CREATE EXTENSION loads (timescaledb -> timescaledb-2.x).
        module = _module(host, major, ext)
        if module and module not in shared + session + load:
            load.append(module)
    return {"shared": shared, "session": session, "load": load}


class _Server:
    def __init__(self, host: Host, work_inner: str, libs: dict[str, list[str]]):
        self.host, self.work, self.libs = host, work_inner, libs
        self.data, self.sock = f"{work_inner}/data", f"{work_inner}/sock"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "_Server":
        h = self.host
        subprocess.run(h.command(h.bin("initdb"), "-D", self.data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                                 "--locale=C", "-N"), check=True, capture_output=True, text=True)
        h.outside(self.sock).mkdir()
        _chown(h, h.outside(self.sock))
        log = h.outside(f"{self.work}/server.log").open("w")
        options = {"listen_addresses": "", "fsync": "off",
                   "shared_preload_libraries": ",".join(self.libs["shared"]),
                   "session_preload_libraries": ",".join(self.libs["session"])}
        for lib, setting in _KEY_SCRIPTS.items():
            if lib in self.libs["shared"]:
                # These libraries refuse to start without a root key; any fixed key will do here.
                script = h.outside(f"{self.work}/getkey")
                script.write_text("#!/bin/sh\necho " + "0" * 64 + "\n")
                script.chmod(0o755)
                _chown(h, script)
                options[setting] = f"{self.work}/getkey"
        args = [arg for name, value in options.items() for arg in ("-c", f"{name}={value}")]
        self.proc = subprocess.Popen(h.command(h.bin("postgres"), "-D", self.data, "-k", self.sock, *args),
                                     stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while subprocess.run(h.command(h.bin("pg_isready"), "-q", "-h", self.sock), capture_output=True).returncode:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not start:\n{h.outside(f'{self.work}/server.log').read_text()}")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def psql(self, script: str) -> str:
        h = self.host
        path = h.outside(f"{self.work}/script.sql")
        path.write_text(script)
        _chown(h, path)
        proc = subprocess.run(h.command(h.bin("psql"), "-X", "-At", "-v", "ON_ERROR_STOP=1", "-h", self.sock, "-U", "postgres", "-d",
                                        "postgres", "-f", f"{self.work}/script.sql"),
                              capture_output=True, text=True, timeout=300)
        if proc.returncode:
            raise SystemExit(f"psql failed: {proc.stderr.strip()}")
        return proc.stdout


def _chown(host: Host, path: Path) -> None:
    ids = host.user()
    if ids:
        os.chown(path, *ids)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _number(text: str | None, vartype: str) -> int | float | None:
    if text is None:
        return None
    return int(text) if vartype == "integer" else float(text)


def _entry(row: dict) -> dict:
    kind = row["vartype"]
    out: dict = {"type": kind, "context": row["context"]}
    if row["unit"]:
        out["unit"] = row["unit"]
    if kind in ("integer", "real"):
        out["min"], out["max"] = _number(row["min_val"], kind), _number(row["max_val"], kind)
    if kind == "enum":
        out["values"] = row["enumvals"]
    if kind != "string":
        # Strings are left out: nothing reads their defaults, and a library's may be unset memory
        # (supabase_vault's vault.getkey_script differs on every run).
        out["default"] = row["boot_val"]
    return out


def _hidden(server: _Server, settings: dict[str, dict], preamble: str) -> dict[str, list[str]]:
    """Enum spellings the server accepts beyond pg_settings.enumvals, by asking it with ALTER SYSTEM.

    ``preamble`` loads the libraries again (each psql run is a new session)."""
    lines = [preamble.rstrip("\n"), "\\set ON_ERROR_STOP 0", "\\set QUIET 1", "\\set VERBOSITY terse"]
    for name, entry in settings.items():
        if entry["type"] != "enum" or entry["context"] == "internal":
            continue
        listed = {v.lower() for v in entry["values"]}
        for candidate in HIDDEN_CANDIDATES:
            if candidate in listed:
                continue
            lines.append(f"ALTER SYSTEM SET {_ident(name)} = {_quote(candidate)};")
            lines.append(f"\\if :ERROR\n\\else\n\\echo ACCEPT {name} {candidate}\n\\endif")
    lines.append("ALTER SYSTEM RESET ALL;")
    found: dict[str, list[str]] = {}
    for line in server.psql("\n".join(lines) + "\n").splitlines():
        if line.startswith("ACCEPT "):
            _, name, candidate = line.split(" ")
            found.setdefault(name, []).append(candidate)
    return found


def _ident(name: str) -> str:
    return ".".join(f'"{part}"' for part in name.split("."))


def generate(host: Host, catalog: extensions.Catalog | None = None, load_libraries: bool = True) -> dict:
    """The catalog document for the server at ``host`` (see the module docstring)."""
    major = host.major
    libs = libraries(host, major, catalog) if load_libraries else {"shared": [], "session": [], "load": []}
    work_outer = Path(tempfile.mkdtemp(prefix="cg-pgset-", dir=host.outside("/tmp")))
    try:
        os.chmod(work_outer, 0o700)
        _chown(host, work_outer)
        work_inner = "/tmp/" + work_outer.name if host.chroot else str(work_outer)
        with _Server(host, work_inner, libs) as server:
            loads = "".join(f"LOAD {_quote(lib)};\n" for lib in libs["load"])
            cols = ", ".join(_COLUMNS)
            raw = server.psql(f"{loads}SELECT json_agg(row_to_json(s) ORDER BY name) "
                              f"FROM (SELECT {cols} FROM pg_settings) s;\n")
            rows = json.loads(raw.strip().splitlines()[-1])
            settings = {row["name"]: _entry(row) for row in rows}
            hidden = _hidden(server, settings, loads)
    finally:
        shutil.rmtree(work_outer, ignore_errors=True)
    for name, spellings in hidden.items():
        settings[name]["hidden"] = spellings
    loaded = libs["shared"] + libs["session"] + libs["load"]
    return {
        "major": major,
        "server": host.version,
        "source": ("pg_settings of a running server" + (f" in a chroot ({_os_release(host)})" if host.chroot else
                                                         f" ({_os_release(host)})")
                   + "; hidden enum spellings confirmed with ALTER SYSTEM"),
        "generator": "python -m chartgen.pgsettings_generate",
        "libraries": loaded,
        "parameters": settings,
    }


def _os_release(host: Host) -> str:
    try:
        text = host.outside("/etc/os-release").read_text()
    except OSError:
        return "unknown OS"
    m = re.search(r'^PRETTY_NAME="?([^"\n]+)', text, re.M)
    return m.group(1) if m else "unknown OS"


def dumps(doc: dict) -> str:
    """The committed form: one parameter per line, so a regenerated file diffs by parameter."""
    head = {k: v for k, v in doc.items() if k != "parameters"}
    lines = ["{"]
    for key, value in head.items():
        lines.append(f"  {json.dumps(key)}: {json.dumps(value)},")
    lines.append('  "parameters": {')
    items = sorted(doc["parameters"].items())
    for i, (name, entry) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        lines.append(f"    {json.dumps(name)}: {json.dumps(entry, ensure_ascii=False)}{comma}")
    lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bindir", required=True, help="the server's bin directory (inside the chroot, if any)")
    ap.add_argument("--chroot", help="run the server inside this root directory")
    ap.add_argument("--no-libraries", action="store_true", help="the server's own parameters only")
    ap.add_argument("-o", "--output", help="write here (default: stdout)")
    args = ap.parse_args(argv)
    host = Host(bindir=args.bindir.rstrip("/"), chroot=args.chroot.rstrip("/") if args.chroot else None)
    text = dumps(generate(host, load_libraries=not args.no_libraries))
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
