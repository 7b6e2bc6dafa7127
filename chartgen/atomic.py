"""Writing a user's output file: whole or not at all, and private files private from their first byte.
A leaf module: the CLI and the library both write through it."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import ChartgenError


def write_text(path: str | Path, text: str, *, private: bool) -> None:
    """Write atomically (a temp file beside it, then rename); ``private`` files are 0600 from the start."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    mode = 0o600 if private else 0o644
    created = False
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.unlink(missing_ok=True)  # a stale one would keep its mode, or be a symlink to follow
        # O_EXCL|O_NOFOLLOW: the file is ours from its first byte. A private file is 0600 whatever the umask;
        # any other file gets the umask's say, as a plain open() would give it.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
        created = True
        if private:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, target)
    except OSError as exc:
        if created:
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass
        raise ChartgenError(f"cannot write {target}: {exc.strerror or exc}") from exc
