"""Publish chart archives to OCI registries as Helm artifacts, immutably.

A chart version is a promise: when its tag already exists, the same bytes are a no-op success and
different bytes are refused. Credentials never touch the user's Helm config unless they asked for it.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from .errors import PublishError, registry_hint
from .package import chart_identity


@dataclass(frozen=True)
class Published:
    ref: str
    digest: str  # the manifest digest the registry serves
    content_digest: str  # sha256 of the chart archive (the layer)
    pushed: bool  # False: the identical version was already there
    provenance: bool = False  # a .prov beside the archive went up as the provenance layer


def parse_remote(remote: str) -> tuple[str, str]:
    """``oci://host[:port]/path`` -> (host, path); a clear error for anything else."""
    parsed = urlparse(remote)
    if parsed.scheme != "oci" or not parsed.netloc:
        raise PublishError(f"{remote!r} is not an OCI registry reference: use oci://HOST[:PORT]/PATH")
    if parsed.query or parsed.fragment or ":" in parsed.path or "@" in parsed.path:
        raise PublishError(f"{remote!r}: give the repository path only; the chart name and version are added")
    return parsed.netloc, parsed.path.strip("/")


def default_registry_config() -> str | None:
    """Docker's config (DOCKER_CONFIG or ~/.docker/config.json) when it exists; Helm reads the same format."""
    docker = Path(os.environ.get("DOCKER_CONFIG", Path.home() / ".docker")) / "config.json"
    return str(docker) if docker.is_file() else None


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# Status codes only as whole words: registry URLs carry port numbers such as 127.0.0.1:40137.
_AUTH = re.compile(r"credential|unauthori[sz]ed|denied|forbidden|\b40[13]\b")
_MISSING = re.compile(r"not found|name unknown|manifest unknown|\b404\b")


def _is_auth(exc: Exception) -> bool:
    return bool(_AUTH.search(str(exc).lower()))


def _is_missing(exc: Exception) -> bool:
    # Checked after _is_auth: "basic credential not found" is an auth failure, not a missing tag.
    return bool(_MISSING.search(str(exc).lower()))


class Registry:
    """One registry session (helm_python's client), logged in when credentials are given."""

    def __init__(self, host: str, *, plain_http: bool = False, username: str | None = None,
                 password: str | None = None, registry_config: str | None = None):
        import helm_python

        self._helm = helm_python
        self._tmp = tempfile.TemporaryDirectory(prefix="chartgen-oci-")
        if username is not None:
            # A throw-away credentials file: --username/--password-stdin must not edit ~/.config/helm.
            config = str(Path(self._tmp.name) / "config.json")
        else:
            config = registry_config or default_registry_config()
        self.plain_http = plain_http
        try:
            self.client = helm_python.RegistryClient(plain_http=plain_http, credentials_file=config)
            if username is not None:
                self.client.login(host, username, password or "", plain_http=plain_http)
        except helm_python.HelmError as exc:
            raise PublishError(f"cannot log in to {host}: {_short(exc)}") from None

    def close(self) -> None:
        self.client.close()
        self._tmp.cleanup()

    def __enter__(self) -> "Registry":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def resolve(self, ref: str) -> str | None:
        try:
            return self.client.resolve(ref)["digest"]
        except self._helm.HelmError as exc:
            if _is_auth(exc):
                raise PublishError(
                    f"{ref}: the registry refused access (authentication missing or wrong): use "
                    "--username with --password-stdin, or --registry-config"
                ) from None
            if _is_missing(exc):
                return None
            raise PublishError(f"cannot read {ref}: {_short(exc)}") from None

    def fetch(self, ref: str) -> bytes:
        with tempfile.TemporaryDirectory(prefix="chartgen-pull-") as tmp:
            try:
                self.client.pull(ref, destination=tmp)
            except self._helm.HelmError as exc:
                raise PublishError(f"cannot pull {ref}: {_short(exc)}") from None
            pulled = sorted(Path(tmp).glob("*.tgz"))
            if not pulled:
                raise PublishError(f"pulling {ref} gave no chart archive")
            return pulled[0].read_bytes()

    def push(self, archive: Path, repository: str) -> None:
        try:
            self.client.push(str(archive), repository)
        except self._helm.HelmError as exc:
            raise PublishError(f"cannot push to {repository}: {_short(exc)}") from None


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text[:400] + registry_hint(text)


def reference(remote: str, name: str, version: str) -> str:
    # OCI tags cannot hold '+'; Helm writes SemVer build metadata with '_' instead.
    return f"{remote.rstrip('/')}/{name}:{version.replace('+', '_')}"


def publish(archive: Path, remote: str, *, plain_http: bool = False, username: str | None = None,
            password: str | None = None, registry_config: str | None = None) -> Published:
    """Push ``archive`` to ``remote`` unless that version exists; refuse to overwrite a different chart.

    A ``<archive>.prov`` beside the archive is pushed with it as the provenance layer (Helm's pusher picks it
    up by that name), after checking that it vouches for these bytes."""
    from . import provenance as prov_mod
    from .errors import PackageError

    host, _ = parse_remote(remote)
    data = archive.read_bytes()
    prov = prov_mod.prov_path(archive)
    signed = prov.is_file()
    if signed:
        try:
            prov_mod.check_matches(archive, prov)
        except PackageError as exc:
            raise PublishError(str(exc)) from None
    try:
        name, version = chart_identity(_chart_yaml(data))
    except Exception as exc:  # noqa: BLE001 - any unreadable archive is the same user error
        raise PublishError(f"{archive}: not a chart archive ({exc})") from None
    ref = reference(remote, name, version)
    local = _sha256(data)
    with Registry(host, plain_http=plain_http, username=username, password=password,
                  registry_config=registry_config) as reg:
        existing = reg.resolve(ref)
        if existing is not None:
            remote_bytes = reg.fetch(ref)
            if _sha256(remote_bytes) == local:
                # The version is immutable, its provenance layer included: nothing is re-pushed.
                return Published(ref, existing, local, pushed=False, provenance=False)
            raise PublishError(
                f"{ref} already exists with different content (remote chart {_sha256(remote_bytes)[:19]}..., "
                f"local {local[:19]}...): published versions are immutable; bump chart.version or --version"
            )
        reg.push(archive, remote.rstrip("/"))
        digest = reg.resolve(ref)
        if digest is None:
            raise PublishError(f"pushed {ref}, but the registry does not serve it")
        return Published(ref, digest, local, pushed=True, provenance=signed)


def _chart_yaml(archive: bytes) -> dict[str, bytes]:
    import io
    import tarfile

    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        for member in tar.getmembers():
            parts = member.name.split("/")
            if len(parts) == 2 and parts[1] == "Chart.yaml" and member.isfile():
                fh = tar.extractfile(member)
                return {"Chart.yaml": fh.read() if fh else b""}
    raise PublishError("no Chart.yaml at the top of the archive")
