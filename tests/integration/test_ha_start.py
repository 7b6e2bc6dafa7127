"""The lab's members run what a pod of this chart runs, and a member that cannot start is explained at once.

The cluster comes from `chartgen render` of examples/trio.yaml (its postgresql resource and its ConfigMap).
The root key is the one thing varied: the image's key script refuses a malformed key, pgsodium cannot read
it and PostgreSQL stops with a FATAL. The lab must say so (PostgreSQL's line and the member's log) instead
of waiting for its timeout, and keep every member's logs and configs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chartgen.lab import LabError, from_manifests, pgenv
from chartgen.lab.runner import start_cluster

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def manifests() -> list[dict]:
    from chartgen.render import render_manifests

    return render_manifests(str(ROOT / "examples" / "trio.yaml"))


def _key_readers(manifests: list[dict]) -> list[str]:
    """Preloaded libraries of the render that read the root key and exist on this machine."""
    cr = next(m for m in manifests if m["kind"] == "postgresql")
    params = cr["spec"]["postgresql"]["parameters"]
    libdir = pgenv.pkglibdir(pgenv.bin_dir())
    readers = {k.split(".")[0] for k in params if k.endswith(".getkey_script")}
    preload = params["shared_preload_libraries"].split(",")
    return [lib for lib in preload if any(lib.startswith(r) or r.startswith(lib) for r in readers)
            and (libdir / f"{lib}.so").is_file()]


@pytest.mark.integration
@pytest.mark.slow
def test_a_member_that_cannot_start_fails_the_lab_with_postgresqls_reason(manifests, tmp_path):
    readers = _key_readers(manifests)
    assert readers, ("no preloaded library of the render that reads the root key is installed here "
                     "(../shared/tools/build-supabase-extensions.sh installs pgsodium and supabase_vault)")
    plan = from_manifests(manifests)
    lines: list[str] = []
    bad_key = "g" * 64     # 64 characters, not hexadecimal
    with pytest.raises(LabError) as err:
        start_cluster(plan, log=lines.append, artifacts=tmp_path / "art", root_key=bad_key, pooler=False)
    msg = str(err.value)
    # The cause, in the words of the image's key script and of PostgreSQL, and where to read more.
    assert "supabase-root-key: root key in" in msg and "malformed" in msg, msg
    assert "FATAL:" in msg, msg
    assert "/patroni.log" in msg, msg
    # It ended on the cause, not on the wait's timeout.
    assert "not reached after" not in msg, msg
    # Every member's Patroni config (passwords redacted), Patroni/PostgreSQL log and PostgreSQL config.
    kept = tmp_path / "art" / f"{plan.name}-start"
    assert f"kept every member's logs and configs in {kept}" in msg
    members = sorted(p.name for p in kept.iterdir() if p.is_dir() and p.name.startswith(plan.name))
    assert members == [f"{plan.name}-{i}" for i in range(plan.members)]
    for name in members:
        config = (kept / name / "patroni.yml").read_text()
        assert "password: <redacted>" in config and "getkey_script" in config, name
    logs = [(kept / name / "patroni.log").read_text(errors="replace") for name in members]
    assert any("FATAL:" in text for text in logs)
    assert any(any((kept / name).glob("*postgresql.conf")) for name in members)
    # The files of the lab's Secret mount are named as the CR's volume names them; no value is kept.
    assert plan.secrets is not None
    listed = set((kept / "supabase" / "secret-files.txt").read_text().split())
    assert set(plan.secrets.secret_files) | set(plan.secrets.config_files) <= listed
    assert not any(bad_key in p.read_text(errors="replace") for p in kept.rglob("*") if p.is_file())
