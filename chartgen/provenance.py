"""Helm chart provenance: sign a packaged chart (``<archive>.prov``) and check a provenance file.

Signing and verifying are Helm's own code (helm_python), so ``helm verify`` and ``helm install --verify``
accept what we write. Helm reads legacy GnuPG keyrings only: export them with
``gpg --export-secret-keys > secring.gpg`` (signing) and ``gpg --export > pubring.gpg`` (verifying).
Without ``--keyring``, ``$GNUPGHOME/secring.gpg`` (``~/.gnupg``) is used when it exists; GnuPG 2.1 and
later keep no such file, so the key is then exported from GnuPG into a private temporary file for the
one signature.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

from .errors import PackageError
from .package import write_archive

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


def gnupg_home() -> Path:
    """GnuPG's home as gpg finds it: ``$GNUPGHOME``, else ``~/.gnupg``."""
    return Path(os.environ.get("GNUPGHOME") or "~/.gnupg").expanduser()


@contextlib.contextmanager
def secret_keyring(key: str, keyring: Path | None, passphrase_file: Path | None = None) -> Iterator[Path]:
    """A legacy secret keyring holding ``key``: ``keyring``, the home's secring.gpg, or a private export."""
    if keyring is not None:
        yield keyring
        return
    legacy = gnupg_home() / "secring.gpg"
    if legacy.is_file():
        yield legacy
        return
    gpg = shutil.which("gpg")
    if gpg is None:
        raise PackageError(f"no --keyring and no {legacy}, and gpg is not installed to export {key!r} from: pass "
                           "--keyring FILE (gpg --export-secret-keys KEY > FILE)")
    args = [gpg, "--batch", "--homedir", str(gnupg_home())]
    if passphrase_file is not None:
        # gpg >= 2.1 asks for the passphrase to export a protected key; the export stays protected by it.
        args += ["--pinentry-mode", "loopback", "--passphrase-file", str(passphrase_file)]
    with tempfile.TemporaryDirectory(prefix="chartgen-keyring-") as tmp:  # mode 0700: the key stays private
        ring = Path(tmp) / "secring.gpg"
        try:
            with open(os.open(ring, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
                proc = subprocess.run([*args, "--export-secret-keys", key], stdout=out, stderr=subprocess.PIPE,
                                      timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PackageError(f"cannot export {key!r} from GnuPG ({gnupg_home()}): {_short(exc)}") from None
        if proc.returncode != 0 or ring.stat().st_size == 0:
            why = " ".join(proc.stderr.decode("utf-8", "replace").split())[:200]
            raise PackageError(f"no secret key {key!r} in GnuPG's home {gnupg_home()} (and no {legacy})"
                               + (f": {why}" if why else "") + "; check `gpg --list-secret-keys` or pass --keyring")
        yield ring


def write_signed(files: dict[str, bytes], dest_dir: Path, *, key: str, keyring: Path | None,
                 passphrase_file: Path | None = None) -> tuple[Path, Path]:
    """Package and sign; the archive and its .prov appear in ``dest_dir`` together, or not at all.

    Both are made in a private directory beside the destination (the .prov names the archive's file name,
    so it must be final there) and moved in only once the signature exists.
    """
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".chartgen-sign-", dir=dest_dir))
    except OSError as exc:
        raise PackageError(f"cannot write {dest_dir}: {exc.strerror or exc}") from None
    try:
        archive = write_archive(files, staging)
        with secret_keyring(key, keyring, passphrase_file) as ring:
            prov = sign(archive, key=key, keyring=ring, passphrase_file=passphrase_file)
        final_archive, final_prov = dest_dir / archive.name, dest_dir / prov.name
        # The archive last: a reader that sees the new .tgz finds its .prov already in place.
        os.replace(prov, final_prov)
        os.replace(archive, final_archive)
        return final_archive, final_prov
    finally:
        shutil.rmtree(staging, ignore_errors=True)


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
