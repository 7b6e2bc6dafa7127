"""Write a rendered chart into ``OUT/<name>/`` safely, or compare it with what is on disk (``--check``).

What ``render`` may replace: only a directory chartgen itself wrote. Every rendered chart carries a marker
file (``MARKER``) listing the files chartgen put there; a path that holds anything else (a directory
without the marker, a plain file, a symbolic link, or a chartgen directory with files someone added) is
refused, never moved or deleted.

How it replaces: the new tree is written into a staging directory beside the destination (same file
system) and swapped in with ``renameat2(RENAME_EXCHANGE)`` on Linux, so ``OUT/<name>`` always holds
either the complete old chart or the complete new one, even under SIGKILL. Where the kernel or file
system cannot exchange, the old tree is moved aside and the new one renamed in; a crash between those two
renames leaves the old tree aside, and the next run puts it back. All of it happens under an exclusive
``flock`` of OUT, so concurrent renders into one OUT take turns, and each run first restores or removes
what a killed run left behind (``.chartgen-stage.*``, ``.chartgen-old.*``).
"""

from __future__ import annotations

import contextlib
import ctypes
import difflib
import errno
import fcntl
import json
import os
import re
import secrets
import shutil
import stat
from pathlib import Path
from typing import Iterator

from .errors import RenderError

#: Inside every chart directory chartgen writes: what it wrote, so that it never replaces anything else.
MARKER = ".chartgen-rendered"
#: Names of chartgen's own temporary entries in OUT (followed by "<chart name>.<random>").
STAGE = ".chartgen-stage."
OLD = ".chartgen-old."
#: Staging directories of chartgen versions before the marker (tempfile.mkdtemp(prefix=".chartgen-")).
_LEGACY_STAGE = re.compile(r"^\.chartgen-[a-z0-9_]{8}$")
#: Reading back (``--check``) stops here: a rendered chart is a few hundred KiB.
MAX_READ_BYTES = 64 * 1024 * 1024

_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _renameat2_function():
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_renameat2_fn = _renameat2_function()


def _renameat2(src: Path, dst: Path, flags: int) -> bool:
    """``renameat2(src, dst, flags)``: True when done, False when this system cannot (then use a fallback)."""
    if _renameat2_fn is None:
        return False
    if _renameat2_fn(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), flags) == 0:
        return True
    err = ctypes.get_errno()
    # ENOSYS: no such system call; EINVAL/ENOTSUP: the file system does not support the flag.
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(dst))


def write_tree(files: dict[str, bytes], root: Path) -> None:
    for directory in sorted({(root / rel).parent for rel in files}):
        directory.mkdir(parents=True, exist_ok=True)
    for rel, data in sorted(files.items()):
        with open(root / rel, "wb") as fh:
            fh.write(data)


def _check_name(name: str) -> None:
    # The schema allows DNS-like names only; this guards the file system against any other caller.
    if not name or name in (".", "..") or "/" in name or "\0" in name or name.startswith("."):
        raise RenderError(f"{name!r} cannot be a chart directory name")


@contextlib.contextmanager
def locked(out: Path) -> Iterator[None]:
    """An exclusive lock on the directory OUT for the duration (released when the process dies)."""
    fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _marker(directory: Path) -> set[str] | None:
    """The files chartgen recorded in ``directory``'s marker, or None when it has no readable marker."""
    path = directory / MARKER
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        with open(path, "rb") as fh:
            data = json.loads(fh.read(1024 * 1024))
        files = data["files"]
        if data.get("generator") != "chartgen" or not isinstance(files, list):
            return None
        return {str(f) for f in files}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _legacy_chart(directory: Path) -> bool:
    """A chart directory rendered before the marker existed: its Chart.yaml carries chartgen's stamp."""
    import yaml

    path = directory / "Chart.yaml"
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return False
        with open(path, "rb") as fh:
            meta = yaml.safe_load(fh.read(1024 * 1024))
    except (OSError, yaml.YAMLError):
        return False
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    return isinstance(annotations, dict) and "chartgen.io/spec-sha256" in annotations


def _foreign_entries(directory: Path, owned: set[str]) -> list[str]:
    """Entries under ``directory`` that are not files chartgen recorded (symbolic links never are)."""
    parents = {str(Path(rel).parent) for rel in owned} | {
        str(p) for rel in owned for p in Path(rel).parents}
    foreign = []
    for top, dirs, names in os.walk(directory):
        base = Path(top).relative_to(directory)
        for d in list(dirs):
            rel = (base / d).as_posix()
            if os.path.islink(Path(top) / d) or rel not in parents:
                foreign.append(rel + ("" if os.path.islink(Path(top) / d) else "/"))
                dirs.remove(d)
        for n in names:
            rel = (base / n).as_posix()
            if rel == MARKER:
                continue
            if rel not in owned or not stat.S_ISREG(os.lstat(Path(top) / n).st_mode):
                foreign.append(rel)
    return sorted(foreign)


def check_replaceable(destination: Path, new_files: dict[str, bytes]) -> bool:
    """True when ``destination`` is a chart directory chartgen wrote (replace it), False when nothing is
    there; RenderError for anything else, which chartgen must not touch."""
    try:
        st = os.lstat(destination)
    except FileNotFoundError:
        return False
    refuse = "chartgen replaces only a chart directory it wrote itself; move it away or choose another --output-dir"
    if stat.S_ISLNK(st.st_mode):
        raise RenderError(f"{destination} is a symbolic link: {refuse}")
    if not stat.S_ISDIR(st.st_mode):
        raise RenderError(f"{destination} exists and is not a directory: {refuse}")
    owned = _marker(destination)
    if owned is None:
        if not _legacy_chart(destination):
            raise RenderError(f"{destination} exists and was not written by chartgen (no {MARKER} in it): {refuse}")
        owned = set(new_files)
    foreign = _foreign_entries(destination, owned)
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise RenderError(f"{destination} holds files chartgen did not write ({shown}): {refuse}")
    return True


def recover(out: Path) -> list[str]:
    """Undo or remove what a killed run left in OUT; call with OUT locked. Returns what it did."""
    done = []
    try:
        entries = sorted(os.scandir(out), key=lambda e: e.name)
    except OSError:
        return done
    olds: dict[str, list[os.DirEntry]] = {}
    for entry in entries:
        if entry.name.startswith(OLD):
            olds.setdefault(entry.name[len(OLD):].rpartition(".")[0], []).append(entry)
    for name, candidates in olds.items():
        destination = out / name
        if name and not os.path.lexists(destination):
            # Killed between "old aside" and "new in": the old chart goes back.
            newest = max(candidates, key=lambda e: e.stat(follow_symlinks=False).st_mtime_ns)
            os.rename(newest.path, destination)
            done.append(f"restored {destination}")
    for entry in entries:
        if entry.name.startswith((STAGE, OLD)) or _is_legacy_stage(entry):
            if not os.path.lexists(entry.path):
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                os.unlink(entry.path)
            done.append(f"removed {entry.path}")
    return done


def _is_legacy_stage(entry: os.DirEntry) -> bool:
    """An older chartgen's staging directory: its name pattern AND its content (empty, or a chart chartgen
    stamped), so that a user's own `.chartgen-settings` folder is never taken for one."""
    if not (_LEGACY_STAGE.match(entry.name) and entry.is_dir(follow_symlinks=False)):
        return False
    try:
        names = os.listdir(entry.path)
        if not names:
            return True
        chart_yaml = Path(entry.path, "Chart.yaml")
        if chart_yaml.is_symlink() or not chart_yaml.is_file() or chart_yaml.stat().st_size > 1024 * 1024:
            return False
        return "chartgen.io/spec-sha256" in chart_yaml.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def write_chart(files: dict[str, bytes], out: Path, name: str) -> Path:
    """Write ``files`` as ``out/name`` (see the module docstring for what is and is not replaced)."""
    _check_name(name)
    destination = out / name
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RenderError(f"cannot write to {out}: {exc.strerror or exc}") from None
    if not out.is_dir():
        raise RenderError(f"{out} is not a directory: --output-dir names the directory that receives <chart name>/")
    try:
        with locked(out):
            recover(out)
            replace = check_replaceable(destination, files)
            staged = out / f"{STAGE}{name}.{secrets.token_hex(4)}"
            try:
                staged.mkdir()
                write_tree(files, staged)
                # Last: a staging directory with a marker is complete.
                (staged / MARKER).write_text(json.dumps(
                    {"generator": "chartgen", "chart": name, "files": sorted(files)}, indent=1) + "\n")
                _swap(staged, destination, replace)
            finally:
                if os.path.lexists(staged):
                    shutil.rmtree(staged, ignore_errors=True)
    except OSError as exc:
        raise RenderError(f"cannot write {destination}: {exc.strerror or exc} (nothing was changed)") from None
    return destination


def _swap(staged: Path, destination: Path, replace: bool) -> None:
    if not replace:
        if not _renameat2(staged, destination, _RENAME_NOREPLACE):
            if os.path.lexists(destination):
                raise FileExistsError(errno.EEXIST, "appeared while writing", str(destination))
            os.rename(staged, destination)
        return
    if _renameat2(staged, destination, _RENAME_EXCHANGE):
        return  # ``staged`` now holds the old tree; the caller removes it
    old = destination.with_name(f"{OLD}{destination.name}.{secrets.token_hex(4)}")
    os.rename(destination, old)
    try:
        os.rename(staged, destination)
    except OSError:
        os.rename(old, destination)
        raise
    shutil.rmtree(old, ignore_errors=True)


def read_tree(root: Path) -> dict[str, bytes]:
    """The files under ``root`` (chartgen's marker left out); a symbolic link reads as a line naming it.

    Bounded: a tree larger than MAX_READ_BYTES is an error, not a memory spike."""
    if not root.is_dir():
        return {}
    out: dict[str, bytes] = {}
    total = 0
    for top, dirs, names in os.walk(root):
        dirs.sort()
        for n in sorted(names) + [d for d in dirs if os.path.islink(Path(top) / d)]:
            path = Path(top) / n
            rel = path.relative_to(root).as_posix()
            if rel == MARKER:
                continue
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = f"<symbolic link to {os.readlink(path)}>\n".encode()
                continue
            if not stat.S_ISREG(st.st_mode):
                out[rel] = b"<not a regular file>\n"
                continue
            total += st.st_size
            if total > MAX_READ_BYTES:
                raise RenderError(f"{root} holds more than {MAX_READ_BYTES // 1048576} MiB: not a rendered chart")
            out[rel] = path.read_bytes()
    return out


def unified_diff(expected: dict[str, bytes], actual: dict[str, bytes], label: str) -> str:
    """Diff of what is on disk (``actual``) against what the spec gives (``expected``); '' when equal."""
    chunks = []
    for rel in sorted(set(expected) | set(actual)):
        want, have = expected.get(rel), actual.get(rel)
        if want == have:
            continue
        a = (have or b"").decode("utf-8", "replace").splitlines(keepends=True)
        b = (want or b"").decode("utf-8", "replace").splitlines(keepends=True)
        chunks.extend(difflib.unified_diff(
            a, b,
            fromfile=f"{label}/{rel}" if have is not None else "/dev/null",
            tofile=f"{label}/{rel} (from spec)" if want is not None else "/dev/null",
        ))
        if chunks and not chunks[-1].endswith("\n"):
            chunks[-1] += "\n"
    return "".join(chunks)
