"""Helm chart provenance: sign a packaged chart (``<archive>.prov``) and check a provenance file.

Signing and verifying are Helm's own code (helm_python), so ``helm verify`` and ``helm install --verify``
accept what we write. Helm reads legacy GnuPG keyrings only: export them with
``gpg --export-secret-keys > secring.gpg`` (signing) and ``gpg --export > pubring.gpg`` (verifying).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from .errors import PackageError

#: The OCI media type Helm gives the provenance layer of a pushed chart.
MEDIA_TYPE = "application/vnd.cncf.helm.chart.provenance.v1.prov"


def prov_path(archive: Path) -> Path:
    """Where Helm looks for an archive's provenance: beside it, named ``<archive>.prov``."""
    return archive.with_name(archive.name + ".prov")


def _short(exc: Exception) -> str:
    return " ".join(str(exc).split())[:300]


def sign(archive: Path, *, key: str, keyring: Path, passphrase_file: Path | None = None) -> Path:
    """Clear-sign ``archive`` with ``key`` from the secret ``keyring``; returns the ``.prov`` path."""
    import helm_python

    if not keyring.is_file():
        raise PackageError(f"{keyring}: no such keyring file (export one with: gpg --export-secret-keys > FILE)")
    if passphrase_file is not None and not passphrase_file.is_file():
        raise PackageError(f"{passphrase_file}: no such passphrase file")
    try:
        written = helm_python.sign(archive, key=key, keyring=keyring, passphrase_file=passphrase_file)
    except helm_python.HelmError as exc:
        raise PackageError(f"cannot sign {archive.name} with key {key!r} from {keyring}: {_short(exc)}") from None
    return Path(written)


def verify(archive: Path, keyring: Path, provenance: Path | None = None) -> dict:
    """Check the signature and the archive hash; returns ``{file_name, file_hash, signed_by}``."""
    import helm_python

    prov = provenance or prov_path(archive)
    if not prov.is_file():
        raise PackageError(f"{archive.name}: no provenance file ({prov.name})")
    try:
        return helm_python.verify(archive, keyring, provenance_file=prov)
    except helm_python.HelmError as exc:
        raise PackageError(f"{archive.name}: provenance does not verify: {_short(exc)}") from None


_FILE_HASH = re.compile(r"^\s+(\S+\.tgz):\s+(sha256:[0-9a-f]{64})\s*$", re.MULTILINE)


def signed_hash(provenance: Path) -> tuple[str, str] | None:
    """The (archive name, sha256) a provenance file vouches for, read from its signed body."""
    match = _FILE_HASH.search(provenance.read_text(encoding="utf-8", errors="replace"))
    return (match.group(1), match.group(2)) if match else None


def check_matches(archive: Path, provenance: Path) -> None:
    """Refuse a provenance file that belongs to other bytes (a stale ``.prov`` after re-packaging).

    This needs no keyring: it guards publishing, where pushing a mismatched ``.prov`` would make every
    ``helm install --verify`` of the chart fail."""
    vouched = signed_hash(provenance)
    if vouched is None:
        raise PackageError(f"{provenance}: not a Helm provenance file (no 'files:' entry with a sha256)")
    actual = "sha256:" + hashlib.sha256(archive.read_bytes()).hexdigest()
    if vouched[1] != actual:
        raise PackageError(
            f"{provenance.name} is for other bytes than {archive.name} (signed {vouched[1][:19]}..., "
            f"archive {actual[:19]}...): sign the archive again (chartgen package --sign) or delete the .prov"
        )
