"""Reproducible chart archives: the same chart gives the same .tgz bytes on every machine.

Helm's own packager stores each file's mtime, so a fresh clone packages differently. We write the archive
ourselves: entries sorted, mtime fixed (SOURCE_DATE_EPOCH, else 1980-01-01), owner 0:0 with no names,
modes normalised, gzip without a timestamp or file name. Helm loads it like its own (tests prove it).
"""

from __future__ import annotations

import gzip
import io
import os
import re
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


#: SemVer 2.0.0 (semver.org's reference expression), ASCII digits only, matched against the whole text.
SEMVER = re.compile(
    r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(-(0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)(\.(0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*)?"
    r"(\+[0-9a-zA-Z-]+(\.[0-9a-zA-Z-]+)*)?")
#: Helm's chart-name rule (`helm create`, pkg/chartutil/create.go: ^[a-zA-Z0-9._-]+$, at most 250), minus
#: what would be a hidden file or a path step ("." and ".." also match Helm's expression).
CHART_NAME = re.compile(r"[a-zA-Z0-9_-][a-zA-Z0-9._-]{0,249}")
#: Helm refuses larger charts when loading (--max-chart-size / --max-file-size defaults).
MAX_CHART_BYTES = 100 * 1024 * 1024
MAX_FILE_BYTES = 5 * 1024 * 1024


def is_semver(version: object) -> bool:
    return isinstance(version, str) and SEMVER.fullmatch(version) is not None


def check_identity(name: object, version: object, where: str = "Chart.yaml") -> tuple[str, str]:
    """``(name, version)`` when both are safe to use in a file name and an OCI reference, else PackageError.

    Values are never echoed: a Chart.yaml from elsewhere can hold anything."""
    if not isinstance(name, str) or not CHART_NAME.fullmatch(name):
        raise PackageError(f"{where}: name is not a valid chart name (letters, digits, \".\", \"_\" and \"-\", "
                           "at most 250, not starting with \".\")")
    if not is_semver(version):
        raise PackageError(f"{where}: version is not a SemVer 2 version (MAJOR.MINOR.PATCH, e.g. 1.2.3)")
    return name, version  # type: ignore[return-value]


def chart_identity(files: dict[str, bytes]) -> tuple[str, str]:
    """The checked ``(name, version)`` of a chart given as files."""
    try:
        meta = yaml.safe_load(files["Chart.yaml"])
    except KeyError:
        raise PackageError("not a chart: no Chart.yaml") from None
    except yaml.YAMLError:
        raise PackageError("not a chart: Chart.yaml is not valid YAML") from None
    if not isinstance(meta, dict):
        raise PackageError("not a chart: Chart.yaml is not a mapping")
    return check_identity(meta.get("name"), meta.get("version"))


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
    """The regular files of a chart directory (chartgen's render marker left out), size-bounded like Helm.

    Symbolic links are refused: packaging must not pull in files from outside the directory."""
    from .output import MARKER

    if not (chart_dir / "Chart.yaml").is_file():
        raise PackageError(f"{chart_dir}: not a chart directory (no Chart.yaml)")
    files: dict[str, bytes] = {}
    total = 0
    for path in sorted(chart_dir.rglob("*")):
        rel = path.relative_to(chart_dir).as_posix()
        if path.is_symlink():
            raise PackageError(f"{chart_dir}: {rel} is a symbolic link; a chart is packaged from regular files only")
        if not path.is_file() or rel == MARKER:
            continue
        size = path.stat().st_size
        total += size
        if size > MAX_FILE_BYTES or total > MAX_CHART_BYTES:
            raise PackageError(f"{chart_dir}: too large to be a chart ({rel}; Helm loads at most "
                               f"{MAX_FILE_BYTES // 1048576} MiB per file, {MAX_CHART_BYTES // 1048576} MiB in all)")
        files[rel] = path.read_bytes()
    return files


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
