"""A real OCI registry (Debian's docker-registry) on 127.0.0.1, optionally with htpasswd auth."""

from __future__ import annotations

import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from tests.support.procs import LOOPBACK, Server, free_port


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def start_registry(tmp: Path, *, user: str | None = None, password: str | None = None) -> tuple[Server, str]:
    """Start a registry; returns the server and its ``host:port``."""
    tmp.mkdir(parents=True, exist_ok=True)
    binary = shutil.which("docker-registry")
    if binary is None:
        raise RuntimeError("docker-registry is not installed (apt-get install docker-registry; ./dev test does it)")
    port = free_port()
    auth = ""
    if user is not None:
        htpasswd = tmp / "htpasswd"
        # The registry accepts bcrypt entries only.
        entry = subprocess.run(["htpasswd", "-Bbn", user, password or ""], check=True, capture_output=True, text=True)
        htpasswd.write_text(entry.stdout)
        auth = f"auth: {{htpasswd: {{realm: chartgen-test, path: {htpasswd}}}}}\n"
    config = tmp / "registry.yml"
    config.write_text(
        "version: 0.1\n"
        "log: {level: warn, accesslog: {disabled: true}}\n"
        f"storage: {{filesystem: {{rootdirectory: {tmp / 'data'}}}, delete: {{enabled: true}}}}\n"
        f"http: {{addr: {LOOPBACK}:{port}, secret: chartgen-test}}\n"
        "health: {storagedriver: {enabled: false}}\n" + auth
    )
    server = Server("docker-registry", [binary, "serve", str(config)], log=tmp / "registry.log")
    expected = 401 if user else 200
    server.wait_ready(lambda: _status(f"http://{LOOPBACK}:{port}/v2/") == expected, timeout=20)
    return server, f"{LOOPBACK}:{port}"
