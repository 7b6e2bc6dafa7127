"""Supabase's real release SQL, fetched by the project's fetch script, bootstrapped on a real PostgreSQL 15
with Supabase's preload libraries and the image's key script."""

from __future__ import annotations

import hashlib
import tarfile

import pytest

from tests.image import pg
from tests.support import supabase_image as img
from tests.support.upstream import NEW, OLD, RELEASES, UPSTREAM, GitHubMirror, archive, run_fetch

pytestmark = pytest.mark.integration

SELFHOST_TARGETS = {"init-scripts/98-webhooks.sql": "webhooks.sql", "init-scripts/99-roles.sql": "roles.sql",
                    "init-scripts/99-jwt.sql": "jwt.sql", "migrations/97-_supabase.sql": "_supabase.sql",
                    "migrations/99-logs.sql": "logs.sql", "migrations/99-pooler.sql": "pooler.sql",
                    "migrations/99-realtime.sql": "realtime.sql"}


def _archive_members(release: str) -> dict[str, bytes]:
    with tarfile.open(archive(release)) as tar:
        return {m.name.split("/", 1)[1]: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


@pytest.mark.parametrize("release", RELEASES)
def test_fetch_lays_out_supabases_own_initdb_directory(supabase_payload, release):
    root = supabase_payload(release)
    members = _archive_members(release)
    expected = {name.removeprefix("migrations/db/"): data for name, data in members.items()
                if name.startswith("migrations/db/")}
    expected["init-scripts/00-schema.sql"] = members["ansible/files/pgbouncer_config/pgbouncer_auth_schema.sql"]
    expected["migrations/00-extension.sql"] = members["ansible/files/stat_extension.sql"]
    for target, name in SELFHOST_TARGETS.items():
        expected[target] = (UPSTREAM / "supabase-selfhost" / name).read_bytes()
    found = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert sorted(found) == sorted(expected)
    assert {k: hashlib.sha256(v).hexdigest() for k, v in found.items()} == \
        {k: hashlib.sha256(v).hexdigest() for k, v in expected.items()}
    sql = [name for name in found if name.endswith(".sql")]
    assert len(sql) >= (53 if release == NEW else 43)


def test_the_lock_pins_the_self_hosting_files_by_their_real_checksums(tmp_path):
    """The committed lock's sha256 for each self-hosting file matches the real bytes at its commit."""
    with GitHubMirror() as mirror:
        proc = run_fetch(mirror, NEW, tmp_path / "root")
        assert proc.returncode == 0, proc.stderr
        assert any("/raw.githubusercontent.com/supabase-community/supabase-kubernetes/" in r for r in mirror.requests)
        assert any(r.endswith(f"/github.com/supabase/postgres/archive/refs/tags/{NEW}.tar.gz") for r in mirror.requests)


def test_fetch_refuses_a_tampered_archive(tmp_path):
    with GitHubMirror() as mirror:
        lock = mirror.lock(NEW).replace(f"/{NEW}.tar.gz", f"/{OLD}.tar.gz")
        proc = run_fetch(mirror, NEW, tmp_path / "root", lock_text=lock)
    assert proc.returncode == 1 and "checksum mismatch" in proc.stderr
    assert not (tmp_path / "root" / "migrations").exists()


@pytest.fixture(scope="module")
def supabase_env(pg_base):
    base = pg_base / "payload-env"
    secrets = img.write_secrets(base / "secrets")
    runner = img.install_runner(base / "supabase", secrets)
    return runner, secrets


def start_supabase_cluster(workdir, runner, template=None):
    data = workdir / "data"
    if template is not None:
        pg.clone_template(template, data)
    else:
        pg.initdb(data)
    pg.configure(data, img.server_settings(runner))
    return pg.start(data, env={"PATH": "/usr/bin:/bin"})


def test_fresh_bootstrap_of_the_real_release_succeeds(supabase_env, supabase_payload, pg_tmp):
    runner, _ = supabase_env
    payload = supabase_payload(NEW)
    cluster = start_supabase_cluster(pg_tmp, runner)
    try:
        run = img.run_bootstrap(runner, cluster.conninfo(), env={"SUPABASE_MIGRATIONS_DIR": str(payload)})
        assert run.code == 0, run.stdout[-3000:] + run.stderr
        files = sorted(p.relative_to(payload).as_posix() for p in payload.glob("*/*.sql"))
        assert len(run.event("applied")) == len(files) >= 53
        assert cluster.value("select count(*) from supabase_bootstrap.applied_files") == str(len(files))
        # The pgbouncer role from Supabase's 00-schema.sql got the password from 99-roles.sql.
        assert cluster.value("select rolpassword is not null from pg_authid where rolname = 'pgbouncer'") == "t"
        # pgmq and pg_tle pin their schemas in their control files; the runner follows them.
        created = dict(cluster.rows("select extname, extnamespace::regnamespace from pg_extension"))
        for name in img.CATALOG.bootstrap_extensions():
            if name not in img.UNAVAILABLE_HERE:
                assert name in created, name
    finally:
        cluster.stop()
