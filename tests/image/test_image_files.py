"""The image's files: linters clean, the lock consistent with the Dockerfile, the fetch step checks every
checksum (against a real local HTTP server), the workflow valid."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.upstream import NEW, GitHubMirror, archive, run_fetch

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
    # supabase-kubernetes names each file as the compose file mounts it.
    assert sorted(selfhost) == sorted(SELFHOST.values())
    assert all(url.rsplit("/", 1)[1] == target.split("/", 1)[1] for target, url in selfhost.items())
    for row in rows.values():
        assert len(row) == 4, row
        assert row[3] == "-" or re.fullmatch(r"[0-9a-f]{64}", row[3]), row


@pytest.fixture()
def mirror():
    with GitHubMirror() as m:
        yield m


def _fetch(tmp_path: Path, mirror: GitHubMirror, edit) -> subprocess.CompletedProcess:
    lines = mirror.lock(NEW).splitlines()
    return run_fetch(mirror, NEW, tmp_path / "initdb.d", lock_text="\n".join(edit(lines)) + "\n")


def _edit_row(lines: list[str], kind: str, field: int, value: str, key: str | None = None) -> list[str]:
    out = []
    for line in lines:
        f = line.split()
        if f and f[0] == kind and (key is None or f[1] == key):
            f[field] = value
            line = " ".join(f)
        out.append(line)
    return out


def test_fetch_refuses_a_checksum_mismatch(tmp_path, mirror):
    proc = _fetch(tmp_path, mirror, lambda ls: _edit_row(ls, "selfhost", 3, "0" * 64, "migrations/99-realtime.sql"))
    assert proc.returncode == 1 and "checksum mismatch" in proc.stderr and "99-realtime.sql" in proc.stderr


def test_fetch_refuses_an_empty_checksum(tmp_path, mirror):
    proc = _fetch(tmp_path, mirror, lambda ls: _edit_row(ls, "supabase-postgres", 3, "-"))
    assert proc.returncode == 1 and f"no sha256 for supabase/postgres {NEW}" in proc.stderr
    assert "update-lock.sh" in proc.stderr


def test_fetch_refuses_an_unpinned_commit(tmp_path, mirror):
    proc = _fetch(tmp_path, mirror, lambda ls: _edit_row(ls, "selfhost-commit", 2, "-"))
    assert proc.returncode == 1 and "pins no commit for the self-hosting files" in proc.stderr


def test_fetch_refuses_an_archive_without_supabases_ansible_files(tmp_path, mirror):
    """The pgbouncer schema and the stat extension are part of Supabase's layout, not optional."""
    import tarfile as _tar
    site = tmp_path / "bad.tar.gz"
    with _tar.open(archive(NEW)) as src, _tar.open(site, "w:gz") as dst:
        for m in src.getmembers():
            if "pgbouncer_auth_schema" not in m.name:
                dst.addfile(m, src.extractfile(m) if m.isfile() else None)
    original = mirror.resolve
    mirror.resolve = lambda path: site.read_bytes() if path.endswith(f"/{NEW}.tar.gz") else original(path)
    sha = hashlib.sha256(site.read_bytes()).hexdigest()
    proc = _fetch(tmp_path, mirror, lambda ls: _edit_row(ls, "supabase-postgres", 3, sha))
    assert proc.returncode == 1 and "pgbouncer_auth_schema.sql" in proc.stderr
