"""Supabase's real release material, served to the project's own download code.

`GitHubMirror` is a local HTTP server on 127.0.0.1 (free port, stopped on exit) that answers GitHub's URL
layout from the shared upstream material (``$CHARTGEN_SHARED/upstream``, by default ``../shared/upstream``):

  /github.com/supabase/postgres/archive/refs/tags/<release>.tar.gz
        -> upstream/supabase-postgres/postgres-<release>.tar.gz
  /raw.githubusercontent.com/supabase-community/supabase-kubernetes/<commit>/<path>
        -> <path> inside upstream/supabase-kubernetes-chart.tar.gz (at the commit it records)

`build_payload()` runs the project's real ``image/fetch-supabase-sql.sh`` against the mirror, with a test lock
derived from ``image/supabase-postgres.lock`` (same URLs with the host swapped for the mirror's; the release
archive's sha256 computed from the shared archive, the self-hosting files keeping the lock's own checksums),
and returns a ``/docker-entrypoint-initdb.d``-style directory in Supabase's layout.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
import threading
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("CHARTGEN_SHARED", REPO.parent / "shared"))
UPSTREAM = SHARED / "upstream"
LOCK = REPO / "image" / "supabase-postgres.lock"
FETCH = REPO / "image" / "fetch-supabase-sql.sh"
RELEASES = ("15.8.1.004", "15.8.1.085")
OLD, NEW = RELEASES
HOSTS = ("github.com", "raw.githubusercontent.com")


def archive(release: str) -> Path:
    path = UPSTREAM / "supabase-postgres" / f"postgres-{release}.tar.gz"
    if not path.is_file():
        raise FileNotFoundError(f"no Supabase release archive {path} (see {UPSTREAM}/README.md)")
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class _Chart:
    """Files of supabase-community/supabase-kubernetes at the recorded commit, read from the shared tarball."""

    def __init__(self) -> None:
        self.tarball = UPSTREAM / "supabase-kubernetes-chart.tar.gz"
        self.commit = (UPSTREAM / "supabase-kubernetes-chart.commit").read_text().split()[0]

    @cached_property
    def files(self) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        with tarfile.open(self.tarball) as tar:
            for member in tar.getmembers():
                if member.isfile():
                    # The tarball's top folder stands for the repository root.
                    _, _, path = member.name.partition("/")
                    data = tar.extractfile(member)
                    if data is not None:
                        out[path] = data.read()
        return out


class GitHubMirror:
    """``with GitHubMirror() as m: m.base`` -> ``http://127.0.0.1:PORT``."""

    def __init__(self) -> None:
        self.chart = _Chart()
        self.requests: list[str] = []
        mirror = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                mirror.requests.append(self.path)
                body = mirror.resolve(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"

    def resolve(self, path: str) -> bytes | None:
        parts = path.split("?", 1)[0].lstrip("/").split("/")
        if parts[:6] == ["github.com", "supabase", "postgres", "archive", "refs", "tags"] and len(parts) == 7:
            release = parts[6].removesuffix(".tar.gz")
            if release in RELEASES and parts[6].endswith(".tar.gz"):
                return archive(release).read_bytes()
            return None
        if parts[:3] == ["raw.githubusercontent.com", "supabase-community", "supabase-kubernetes"] \
                and len(parts) > 4 and parts[3] == self.chart.commit:
            return self.chart.files.get("/".join(parts[4:]))
        return None

    def lock(self, release: str) -> str:
        """image/supabase-postgres.lock pointed at this mirror and at ``release``."""
        lines = []
        for line in LOCK.read_text().splitlines():
            fields = line.split()
            if fields and fields[0] == "supabase-postgres":
                url = fields[2].replace(f"/{fields[1]}.tar.gz", f"/{release}.tar.gz")
                line = f"supabase-postgres {release} {url} {sha256(archive(release))}"
            for host in HOSTS:
                line = line.replace(f"https://{host}/", f"{self.base}/{host}/")
            lines.append(line)
        return "\n".join(lines) + "\n"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> "GitHubMirror":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def run_fetch(mirror: GitHubMirror, release: str, dest: Path, lock_text: str | None = None) -> subprocess.CompletedProcess:
    """The real fetch script with a test lock; ``dest`` must not exist yet."""
    with tempfile.TemporaryDirectory(prefix="upstream-lock-") as tmp:
        lock = Path(tmp) / "test.lock"
        lock.write_text(lock_text if lock_text is not None else mirror.lock(release))
        return subprocess.run(["bash", str(FETCH), str(lock), str(dest)], capture_output=True, text=True,
                              timeout=120)


def build_payload(release: str, dest: Path, mirror: GitHubMirror | None = None) -> Path:
    """Supabase's ``/docker-entrypoint-initdb.d`` for ``release`` in ``dest`` (world-readable: the fetch
    script makes it so, as the image needs), built by the project's fetch script from the shared archives."""
    if release not in RELEASES:
        raise ValueError(f"unknown release {release}; the shared material has {', '.join(RELEASES)}")
    if dest.exists():
        shutil.rmtree(dest)
    own = mirror is None
    mirror = mirror or GitHubMirror()
    try:
        proc = run_fetch(mirror, release, dest)
    finally:
        if own:
            mirror.stop()
    if proc.returncode != 0:
        raise RuntimeError(f"fetch-supabase-sql.sh failed ({proc.returncode}): {proc.stderr.strip()}")
    return dest


class PayloadCache:
    """One payload per release per test session, under a directory other OS users can read."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="supabase-payload-"))
        self.root.chmod(0o755)
        self._built: dict[str, Path] = {}
        self._lock = threading.Lock()

    def __call__(self, release: str = NEW) -> Path:
        with self._lock:
            if release not in self._built:
                self._built[release] = build_payload(release, self.root / release)
            return self._built[release]

    def copy(self, release: str, dest: Path) -> Path:
        """A private, writable copy (for tests that change files)."""
        shutil.copytree(self(release), dest)
        return dest

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
