"""Publish chart archives to OCI registries as Helm artifacts, immutably.

A chart version is a promise: when its tag already exists, the same bytes are a no-op success and
different bytes are refused. Credentials never touch the user's Helm config unless they asked for it,
and never appear in a URL (userinfo is refused) or an error message.

Concurrency: the OCI distribution API has no conditional tag write (a manifest PUT to a tag always replaces
it), so a publish cannot reserve a version. It checks that the tag is free, pushes, and then verifies: the
tag must resolve to a manifest whose chart is byte-identical to ours, and still resolve to the same digest
after a settle time of twice this publish's own check-and-push time (at least SETTLE_SECONDS). A publish
whose push was replaced by a concurrent one in that time fails ("lost the race") instead of reporting
success; of concurrent publishes of different bytes, at most one succeeds unless a competing push takes
longer than the settle time.

Every registry call runs against one deadline (``timeout``): a registry that accepts connections and
never answers is an error after that long, not a hang.
"""

from __future__ import annotations

import hashlib
import os
import re
import ssl
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from .errors import PublishError, registry_hint
from .package import chart_identity
from .sensitive import redact_url


@dataclass(frozen=True)
class Published:
    ref: str
    digest: str  # the manifest digest the registry serves
    content_digest: str  # sha256 of the chart archive (the layer)
    pushed: bool  # False: the identical version was already there
    provenance: bool = False  # a .prov beside the archive went up as the provenance layer


#: Whole publish (probe, login, checks, push, verification), in seconds; --timeout changes it.
DEFAULT_TIMEOUT = 120.0
#: A TCP connect that takes longer than this is a dead host.
CONNECT_TIMEOUT = 10.0
#: Least time a pushed tag must keep our digest before the publish reports success.
SETTLE_SECONDS = 1.0
#: A chart archive read back from a registry (Helm's own --max-chart-size default).
MAX_PULL_BYTES = 100 * 1024 * 1024

# OCI distribution spec, "Pulling manifests": path components [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
_OCI_COMPONENT = re.compile(r"[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*")


redact = redact_url


def parse_remote(remote: str) -> tuple[str, str]:
    """``oci://host[:port]/path`` -> (host, path); a clear error for anything else."""
    shown = repr(redact(remote))
    usage = "use oci://HOST[:PORT]/PATH"
    if any(ord(c) < 32 or ord(c) == 127 or c.isspace() for c in remote):
        raise PublishError(f"{shown} is not an OCI registry reference (it holds spaces or control characters): {usage}")
    # Before parsing: a password holding "/", "?" or "#" makes urlparse split it into host, path or query,
    # and its errors would quote the pieces.
    if "@" in remote:
        raise PublishError(
            "the registry URL holds credentials (user:password@host), which would end up in logs and shell "
            "history: remove them and pass --username with --password-stdin, or --registry-config")
    try:
        parsed = urlparse(remote)
        parsed.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise PublishError(f"{shown} is not an OCI registry reference ({exc}): {usage}") from None
    if parsed.scheme != "oci" or not parsed.hostname:
        raise PublishError(f"{shown} is not an OCI registry reference: {usage}")
    if parsed.query or parsed.fragment or ":" in parsed.path:
        raise PublishError(f"{shown}: give the repository path only; the chart name and version are added")
    path = parsed.path.strip("/")
    if path and not all(_OCI_COMPONENT.fullmatch(part) for part in path.split("/")):
        raise PublishError(f"{shown}: each repository path component must be lowercase letters and digits, "
                           'separated by ".", "_", "__" or "-"')
    return parsed.netloc, path


def probe(host: str, *, plain_http: bool, timeout: float) -> None:
    """Fail fast, with a clear message, on a registry that cannot be reached or does not answer HTTP.

    Any HTTP answer (200, 401, 404 ...) will do; no credentials are sent. The certificate is not checked
    here (Helm checks it on the real calls)."""
    url = f"{'http' if plain_http else 'https'}://{host}/v2/"
    context = None if plain_http else ssl._create_unverified_context()  # noqa: S323 - liveness only, see above
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=min(timeout, CONNECT_TIMEOUT), context=context) as resp:
            resp.read(1)
    except urllib.error.HTTPError:
        return
    except (TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError) or "timed out" in str(reason):
            waited = time.monotonic() - started
            raise PublishError(f"{host}: no answer from the registry within {waited:.0f} s (it accepted no "
                               "connection or sent nothing back); check the address and --plain-http") from None
        text = getattr(reason, "strerror", None) or " ".join(str(reason).split())[:200]
        hint = ""
        if isinstance(reason, ssl.SSLError) and "WRONG_VERSION_NUMBER" in str(reason):
            hint = registry_hint("server gave HTTP response to HTTPS client")  # Go's words for the same mistake
        raise PublishError(f"cannot reach the registry {host}: {text}{hint}") from None


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
    """One registry session (helm_python's client), logged in when credentials are given.

    Every call shares one deadline; a call still running at the deadline is abandoned (its thread left to
    the Go runtime, the client never freed under it) and reported as a timeout."""

    def __init__(self, host: str, *, plain_http: bool = False, username: str | None = None,
                 password: str | None = None, registry_config: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT):
        import helm_python

        self._helm = helm_python
        self.host = host
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self._abandoned = False
        self.client = None
        probe(host, plain_http=plain_http, timeout=timeout)
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
                self._bounded(f"logging in to {host}", self.client.login, host, username, password or "",
                              plain_http=plain_http)
        except helm_python.HelmError as exc:
            self.close()
            raise PublishError(f"cannot log in to {host}: {_short(exc)}") from None
        except PublishError:
            self.close()
            raise

    def _bounded(self, what: str, fn, *args, **kwargs):
        remaining = self.deadline - time.monotonic()
        box: dict = {}

        def run() -> None:
            try:
                box["value"] = fn(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                box["error"] = exc

        if remaining > 0:
            worker = threading.Thread(target=run, name="chartgen-registry", daemon=True)
            worker.start()
            worker.join(remaining)
            if not worker.is_alive():
                if "error" in box:
                    raise box["error"]
                return box.get("value")
            self._abandoned = True
        raise PublishError(f"{what}: the registry did not answer within {self.timeout:g} s "
                           "(--timeout; nothing is known about the outcome of a push that timed out)")

    def close(self) -> None:
        if self.client is not None and not self._abandoned:
            self.client.close()
        self._tmp.cleanup()

    def __enter__(self) -> "Registry":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def resolve(self, ref: str) -> str | None:
        try:
            return self._bounded(f"reading {ref}", self.client.resolve, ref)["digest"]
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
                self._bounded(f"pulling {ref}", self.client.pull, ref, destination=tmp)
            except self._helm.HelmError as exc:
                raise PublishError(f"cannot pull {ref}: {_short(exc)}") from None
            pulled = sorted(Path(tmp).glob("*.tgz"))
            if not pulled:
                raise PublishError(f"pulling {ref} gave no chart archive")
            if pulled[0].stat().st_size > MAX_PULL_BYTES:
                raise PublishError(f"{ref} is larger than {MAX_PULL_BYTES // 1048576} MiB: not a chart")
            return pulled[0].read_bytes()

    def push(self, archive: Path, repository: str) -> None:
        try:
            self._bounded(f"pushing to {repository}", self.client.push, str(archive), repository)
        except self._helm.HelmError as exc:
            raise PublishError(f"cannot push to {repository}: {_short(exc)}") from None


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text[:400] + registry_hint(text)


def reference(remote: str, name: str, version: str) -> str:
    # OCI tags cannot hold '+'; Helm writes SemVer build metadata with '_' instead.
    return f"{remote.rstrip('/')}/{name}:{version.replace('+', '_')}"


def publish(archive: Path, remote: str, *, plain_http: bool = False, username: str | None = None,
            password: str | None = None, registry_config: str | None = None,
            timeout: float = DEFAULT_TIMEOUT) -> Published:
    """Push ``archive`` to ``remote`` unless that version exists; refuse to overwrite a different chart.

    A ``<archive>.prov`` beside the archive is pushed with it as the provenance layer (Helm's pusher picks it
    up by that name), after checking that it vouches for these bytes. See the module docstring for what a
    concurrent publish of the same version can and cannot do."""
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
    except PackageError as exc:
        raise PublishError(f"{archive}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - any unreadable archive is the same user error
        raise PublishError(f"{archive}: not a chart archive ({exc})") from None
    if not _OCI_COMPONENT.fullmatch(name):
        raise PublishError(f"{archive}: the chart name is not a valid OCI repository name (lowercase letters and "
                           'digits, separated by ".", "_" or "-")')
    ref = reference(remote, name, version)
    local = _sha256(data)
    with Registry(host, plain_http=plain_http, username=username, password=password,
                  registry_config=registry_config, timeout=timeout) as reg:
        checked = time.monotonic()
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
        try:
            reg.push(archive, remote.rstrip("/"))
        except PublishError:
            # Registries can fail one of two simultaneous pushes that share a blob (docker-registry says
            # "manifest blob unknown"), and the competitor's tag may land only after our failure: when the tag
            # appears within the settle window, the verification below says whose it is.
            if not _tag_appears(reg, ref, within=max(SETTLE_SECONDS, 2 * (time.monotonic() - checked))):
                raise
        # A competitor's window runs from its own free-tag check to the end of its push; ours is the estimate.
        took = time.monotonic() - checked
        digest = _verify(reg, ref, local, settle=max(SETTLE_SECONDS, 2 * took))
        return Published(ref, digest, local, pushed=True, provenance=signed)


def _tag_appears(reg: Registry, ref: str, *, within: float) -> bool:
    """Whether ``ref`` resolves at some point in the next ``within`` seconds (bounded by the call's deadline)."""
    until = min(time.monotonic() + within, reg.deadline - 1)
    while True:
        if reg.resolve(ref) is not None:
            return True
        if time.monotonic() >= until:
            return False
        time.sleep(0.1)


def _verify(reg: Registry, ref: str, local: str, *, settle: float) -> str:
    """The digest ``ref`` serves when it is our chart and stays so for ``settle`` seconds; else PublishError."""
    lost = (f"{ref}: another publish of this version replaced ours while it was being pushed (the tag now "
            "serves a different chart): this publish lost the race and is NOT published; the version is taken, "
            "bump chart.version or --version")
    first = reg.resolve(ref)
    if first is None:
        raise PublishError(f"pushed {ref}, but the registry does not serve it")
    try:
        pulled = reg.fetch(ref)
    except PublishError:
        # A pull that fails right after our push: a tag that moved under it is a lost race, anything else
        # is the registry's error as it is.
        if reg.resolve(ref) != first:
            raise PublishError(lost) from None
        raise
    if _sha256(pulled) != local:
        raise PublishError(lost)
    time.sleep(min(settle, max(0.0, reg.deadline - time.monotonic() - 1)))
    if reg.resolve(ref) != first:
        raise PublishError(lost)
    return first


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
