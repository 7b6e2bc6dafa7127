"""The image's files: linters clean, the lock consistent with the Dockerfile, the fetch step checks every
checksum (against a real local HTTP server), the workflow valid."""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
IMAGE = REPO / "image"
BIN = Path(sys.executable).parent
LOCK = IMAGE / "supabase-postgres.lock"
SELFHOST = {  # the self-hosting files and where Supabase's docker-compose mounts them
    "_supabase.sql": "migrations/97-_supabase.sql", "webhooks.sql": "init-scripts/98-webhooks.sql",
    "roles.sql": "init-scripts/99-roles.sql", "jwt.sql": "init-scripts/99-jwt.sql",
    "logs.sql": "migrations/99-logs.sql", "pooler.sql": "migrations/99-pooler.sql",
    "realtime.sql": "migrations/99-realtime.sql",
}


def shell_scripts() -> list[Path]:
    scripts = []
    for path in sorted(IMAGE.rglob("*")):
        if path.is_file():
            first = path.read_bytes()[:64].split(b"\n", 1)[0]
            if first.startswith(b"#!") and re.search(rb"\b(ba)?sh\b", first):
                scripts.append(path)
    return scripts


def lock_rows(path: Path = LOCK) -> list[list[str]]:
    return [line.split() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def test_hadolint_has_no_findings():
    proc = subprocess.run([str(BIN / "hadolint"), "--config", str(REPO / ".hadolint.yaml"), "-f", "json",
                           str(IMAGE / "Dockerfile")], capture_output=True, text=True)
    assert proc.returncode == 0 and json.loads(proc.stdout) == [], proc.stdout + proc.stderr


def test_hadolint_config_fails_on_warnings():
    # The threshold matters: a Dockerfile with a warning-level finding must fail with our config.
    bad = "FROM ghcr.io/zalando/spilo-17:4.0-p3\nRUN apt-get update && apt-get install -y curl\n"
    proc = subprocess.run([str(BIN / "hadolint"), "--config", str(REPO / ".hadolint.yaml"), "-"], input=bad,
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "DL3008" in proc.stdout


def test_shellcheck_has_no_findings():
    scripts = shell_scripts()
    names = {p.relative_to(IMAGE).as_posix() for p in scripts}
    assert {"bootstrap/post_init.sh", "bootstrap/supabase-root-key", "fetch-supabase-sql.sh",
            "update-lock.sh"} <= names
    proc = subprocess.run([str(BIN / "shellcheck"), "-x", "-f", "gcc", *map(str, scripts)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_workflow_is_a_valid_github_workflow():
    proc = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                           str(REPO / ".github" / "workflows" / "image.yml")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_lock_matches_the_dockerfile_and_the_issue():
    rows = {(r[0], r[1]): r for r in lock_rows()}
    dockerfile = (IMAGE / "Dockerfile").read_text()
    base = [k for kind, k in rows if kind == "base-image"]
    assert base == [re.search(r"^FROM (\S+?)\$\{", dockerfile, re.M).group(1)]
    release = [k for kind, k in rows if kind == "supabase-postgres"]
    assert release == [re.search(r"^ARG SUPABASE_POSTGRES_RELEASE=(\S+)", dockerfile, re.M).group(1)] == ["15.8.1.085"]
    assert rows[("supabase-postgres", "15.8.1.085")][2].endswith("/supabase/postgres/archive/refs/tags/15.8.1.085.tar.gz")
    selfhost = {k: r[2] for (kind, k), r in rows.items() if kind == "selfhost"}
    assert {url.rsplit("/", 1)[1]: target for target, url in selfhost.items()} == SELFHOST
    for row in rows.values():
        assert len(row) == 4, row
        assert row[3] == "-" or re.fullmatch(r"[0-9a-f]{64}", row[3]), row


def _serve(directory: Path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _release_tarball(path: Path) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, text in {"postgres-15.8.1.085/migrations/db/init-scripts/00-initial.sql": "select 1;\n",
                           "postgres-15.8.1.085/migrations/db/migrations/20220101_a.sql": "select 2;\n",
                           "postgres-15.8.1.085/migrations/db/migrate.sh": "#!/bin/sh\n",
                           "postgres-15.8.1.085/README.md": "x\n"}.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


@pytest.fixture()
def upstream(tmp_path):
    """A local stand-in for GitHub: the release archive and the self-hosting files at a commit."""
    site = tmp_path / "site"
    commit = "0123456789abcdef0123456789abcdef01234567"
    (site / "raw" / commit).mkdir(parents=True)
    _release_tarball(site / "release.tar.gz")
    for name in SELFHOST:
        (site / "raw" / commit / name).write_text(f"-- {name}\n")
    server, url = _serve(site)
    sha = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    lines = [f"supabase-postgres 15.8.1.085 {url}/release.tar.gz {sha(site / 'release.tar.gz')}",
             f"selfhost-commit supabase/supabase {commit} -"]
    lines += [f"selfhost {target} {url}/raw/{{commit}}/{name} {sha(site / 'raw' / commit / name)}"
              for name, target in SELFHOST.items()]
    yield tmp_path, lines
    server.shutdown()


def _fetch(tmp_path: Path, lines: list[str]) -> subprocess.CompletedProcess:
    lock = tmp_path / "test.lock"
    lock.write_text("# test lock\n" + "\n".join(lines) + "\n")
    root = tmp_path / "initdb.d"
    shutil.rmtree(root, ignore_errors=True)
    return subprocess.run(["bash", str(IMAGE / "fetch-supabase-sql.sh"), str(lock), str(root)],
                          capture_output=True, text=True, timeout=60)


def test_fetch_lays_out_the_release_and_the_self_hosting_files(upstream):
    tmp_path, lines = upstream
    proc = _fetch(tmp_path, lines)
    assert proc.returncode == 0, proc.stderr
    root = tmp_path / "initdb.d"
    found = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.sql"))
    assert found == sorted(["init-scripts/00-initial.sql", "migrations/20220101_a.sql", *SELFHOST.values()])


def test_fetch_refuses_a_checksum_mismatch(upstream):
    tmp_path, lines = upstream
    lines[-1] = lines[-1].rsplit(" ", 1)[0] + " " + "0" * 64
    proc = _fetch(tmp_path, lines)
    assert proc.returncode == 1 and "checksum mismatch" in proc.stderr and "realtime.sql" in proc.stderr


def test_fetch_refuses_an_empty_checksum(upstream):
    tmp_path, lines = upstream
    lines[0] = lines[0].rsplit(" ", 1)[0] + " -"
    proc = _fetch(tmp_path, lines)
    assert proc.returncode == 1 and "no sha256 for supabase/postgres 15.8.1.085" in proc.stderr
    assert "update-lock.sh" in proc.stderr


def test_fetch_refuses_an_unpinned_commit(upstream):
    tmp_path, lines = upstream
    lines[1] = "selfhost-commit supabase/supabase - -"
    proc = _fetch(tmp_path, lines)
    assert proc.returncode == 1 and "pins no supabase/supabase commit" in proc.stderr

