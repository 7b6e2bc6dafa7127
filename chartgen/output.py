"""Write a rendered chart atomically, or compare it with what is on disk (``--check``)."""

from __future__ import annotations

import difflib
import os
import shutil
import tempfile
from pathlib import Path

from .errors import RenderError


def write_tree(files: dict[str, bytes], root: Path) -> None:
    for directory in sorted({(root / rel).parent for rel in files}):
        directory.mkdir(parents=True, exist_ok=True)
    for rel, data in sorted(files.items()):
        with open(root / rel, "wb") as fh:
            fh.write(data)


def staging_dir(out_dir: Path) -> Path:
    """A fresh directory beside the destination (same filesystem, so the final rename is atomic)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".chartgen-", dir=out_dir))


def commit(staged: Path, destination: Path) -> None:
    """Replace ``destination`` with ``staged``: the old tree is moved aside first and removed last, so a
    failure at any point leaves either the old or the new tree in place, never a mix."""
    old = None
    if destination.exists():
        old = destination.with_name(f".{destination.name}.old-{os.getpid()}")
        os.replace(destination, old)
    try:
        os.replace(staged, destination)
    except OSError as exc:
        if old is not None:
            os.replace(old, destination)
        raise RenderError(f"cannot write {destination}: {exc.strerror or exc}") from exc
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def read_tree(root: Path) -> dict[str, bytes]:
    if not root.is_dir():
        return {}
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


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
