"""Reproducible chart archives: the same chart gives the same .tgz bytes on every machine.

Helm's own packager stores each file's mtime, so a fresh clone packages differently. We write the archive
ourselves: entries sorted, mtime fixed (SOURCE_DATE_EPOCH, else 1980-01-01), owner 0:0 with no names,
modes normalised, gzip without a timestamp or file name. Helm loads it like its own (tests prove it).
"""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path

import yaml

from .errors import PackageError

_DEFAULT_EPOCH = 315532800  # 1980-01-01T00:00:00Z, the usual floor for reproducible archives


def epoch() -> int:
    raw = os.environ.get("SOURCE_DATE_EPOCH")
    if raw is None:
        return _DEFAULT_EPOCH
    try:
        return int(raw)
    except ValueError:
        raise PackageError(f"SOURCE_DATE_EPOCH must be a whole number of seconds, got {raw!r}") from None


def chart_identity(files: dict[str, bytes]) -> tuple[str, str]:
    try:
        meta = yaml.safe_load(files["Chart.yaml"])
        return str(meta["name"]), str(meta["version"])
    except (KeyError, TypeError, yaml.YAMLError) as exc:
        raise PackageError(f"not a chart: Chart.yaml is missing or has no name/version ({exc})") from None


def archive_bytes(files: dict[str, bytes], name: str, mtime: int | None = None, compresslevel: int = 9) -> bytes:
    """The .tgz bytes of a chart given as ``{relative path: bytes}``."""
    when = epoch() if mtime is None else mtime
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        # Chart.yaml first, like helm package, so streaming readers find the metadata at once.
        for rel in sorted(files, key=lambda r: (r != "Chart.yaml", r)):
            data = files[rel]
            info = tarfile.TarInfo(f"{name}/{rel}")
            info.size = len(data)
            info.mtime = when
            info.mode = 0o755 if data.startswith(b"#!") else 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=compresslevel) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def read_chart_dir(chart_dir: Path) -> dict[str, bytes]:
    if not (chart_dir / "Chart.yaml").is_file():
        raise PackageError(f"{chart_dir}: not a chart directory (no Chart.yaml)")
    return {p.relative_to(chart_dir).as_posix(): p.read_bytes()
            for p in sorted(chart_dir.rglob("*")) if p.is_file()}


def write_archive(files: dict[str, bytes], dest_dir: Path) -> Path:
    """Write ``<name>-<version>.tgz`` into ``dest_dir`` atomically, mtime fixed too (the OCI manifest's
    `created` annotation is taken from the file's mtime)."""
    name, version = chart_identity(files)
    data = archive_bytes(files, name)
    target = dest_dir / f"{name}-{version}.tgz"
    tmp = dest_dir / f".{target.name}.{os.getpid()}.tmp"
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        os.utime(tmp, (epoch(), epoch()))
        os.replace(tmp, target)
    except OSError as exc:
        if tmp.is_file():
            tmp.unlink()
        raise PackageError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target
