"""The pgsodium / vault getkey script: prints the mounted root key, never invents one."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.procs import as_postgres, give_to_postgres

REPO = Path(__file__).resolve().parents[2]
KEY = "0123456789abcdef" * 3 + "0123456789ABCDEF"


@pytest.fixture()
def script(pg_tmp) -> Path:
    tmp_path = pg_tmp
    """The script and its defaults.env, installed as the image does (with a symlink on PATH)."""
    scripts = tmp_path / "scripts" / "supabase"
    scripts.mkdir(parents=True)
    for name in ("supabase-root-key", "defaults.env"):
        shutil.copy(REPO / "image" / "bootstrap" / name, scripts / name)
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "supabase-root-key").symlink_to(scripts / "supabase-root-key")
    give_to_postgres(tmp_path)
    return tmp_path / "bin" / "supabase-root-key"


def run(script: Path, env: dict) -> subprocess.CompletedProcess:
    # pgsodium runs the script from the postmaster, as the postgres user.
    return subprocess.run(as_postgres([str(script)]), env={"PATH": "/usr/bin:/bin", **env},
                          capture_output=True, text=True, timeout=30)


def key_file(tmp_path: Path, content: str, mode: int = 0o400) -> Path:
    secrets = tmp_path / "secrets"
    secrets.mkdir(exist_ok=True)
    path = secrets / "root-key"
    path.write_text(content)
    give_to_postgres(secrets)
    path.chmod(mode)
    return path


@pytest.mark.parametrize("content", [KEY, KEY + "\n", KEY + "\r\n"])
def test_prints_the_key_from_the_secrets_dir(script, pg_tmp, content):
    tmp_path = pg_tmp
    key_file(tmp_path, content)
    proc = run(script, {"SUPABASE_SECRETS_DIR": str(tmp_path / "secrets")})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == KEY + "\n" and proc.stderr == ""


def test_explicit_key_file_wins(script, pg_tmp):
    tmp_path = pg_tmp
    path = key_file(tmp_path, KEY)
    proc = run(script, {"SUPABASE_ROOT_KEY_FILE": str(path), "SUPABASE_SECRETS_DIR": "/nonexistent"})
    assert proc.returncode == 0 and proc.stdout.strip() == KEY


def test_default_path_comes_from_defaults_env(script):
    defaults = dict(line.split("=", 1) for line in (REPO / "image/bootstrap/defaults.env").read_text().splitlines()
                    if line and not line.startswith("#"))
    expected = f"{defaults['SUPABASE_SECRETS_DIR']}/root-key"
    assert expected == "/run/secrets/supabase/root-key"
    proc = run(script, {})
    if Path(expected).exists():
        pytest.fail(f"{expected} exists on this machine; the test needs it absent")
    assert proc.returncode == 1
    assert proc.stderr == f"supabase-root-key: root key file {expected} does not exist (is the Supabase Secret mounted?)\n"
    assert proc.stdout == ""


@pytest.mark.parametrize("content, reason", [
    ("", "is empty"),
    ("\n", "is empty"),
    (KEY[:-1], "malformed: expected 64 hexadecimal characters (32 bytes), got 63 characters"),
    (KEY + "0", "got 65 characters"),
    (KEY[:-1] + "g", "found other characters"),
    (KEY[:32] + "\n" + KEY[32:] + "\n" + KEY, "got 128 characters"),
    ("secret", "got 6 characters"),
])
def test_malformed_key_is_refused(script, pg_tmp, content, reason):
    tmp_path = pg_tmp
    key_file(tmp_path, content)
    proc = run(script, {"SUPABASE_SECRETS_DIR": str(tmp_path / "secrets")})
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith("supabase-root-key: ") and reason in proc.stderr
    assert KEY[:16] not in proc.stderr, "the key must never be echoed"


def test_missing_and_unreadable_key(script, pg_tmp):
    tmp_path = pg_tmp
    proc = run(script, {"SUPABASE_SECRETS_DIR": str(tmp_path / "nowhere")})
    assert proc.returncode == 1 and "does not exist" in proc.stderr and proc.stdout == ""
    path = key_file(tmp_path, KEY, mode=0o000)
    if os.geteuid() == 0:
        os.chown(path, 0, 0)
    proc = run(script, {"SUPABASE_SECRETS_DIR": str(tmp_path / "secrets")})
    assert proc.returncode == 1 and "not readable by postgres" in proc.stderr and proc.stdout == ""


def test_never_generates_a_key(script, pg_tmp):
    tmp_path = pg_tmp
    # Two calls without a key: both fail and nothing is written anywhere under the secrets dir.
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    give_to_postgres(secrets)
    for _ in range(2):
        proc = run(script, {"SUPABASE_SECRETS_DIR": str(secrets)})
        assert proc.returncode == 1 and proc.stdout == ""
    assert list(secrets.iterdir()) == []
