"""Reproducible packages and immutable publishing, against Helm's engine and a real OCI registry."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import helm_python
import pytest
from typer.testing import CliRunner

from chartgen import oci, package
from chartgen.cli import app
from chartgen.errors import PublishError
from tests.support.registry import start_registry

pytestmark = pytest.mark.integration

CHART = {
    "Chart.yaml": b"apiVersion: v2\nname: demo\nversion: 1.0.0\nappVersion: t\n",
    "values.yaml": b"greeting: hello\n",
    "templates/cm.yaml": b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  g: {{ .Values.greeting | quote }}\n",
    "templates/NOTES.txt": b"hi\n",
}


def write_dir(root: Path, files: dict[str, bytes], mtime: int) -> Path:
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        os.utime(p, (mtime, mtime))
    return root


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_package_is_byte_identical_across_copies_and_mtimes(tmp_path):
    a = write_dir(tmp_path / "a" / "demo", CHART, 1_000_000)
    b = write_dir(tmp_path / "b" / "demo", CHART, 2_000_000_000)
    ta = package.write_archive(package.read_chart_dir(a), tmp_path / "outa")
    tb = package.write_archive(package.read_chart_dir(b), tmp_path / "outb")
    assert ta.name == "demo-1.0.0.tgz"
    assert sha(ta) == sha(tb)
    assert ta.stat().st_mtime == package.epoch()  # the OCI `created` annotation comes from this


def test_package_content_change_changes_bytes(tmp_path):
    changed = dict(CHART, **{"values.yaml": b"greeting: bye\n"})
    one = package.archive_bytes(CHART, "demo")
    two = package.archive_bytes(changed, "demo")
    assert one != two


def test_helm_loads_the_archive_and_renders_like_the_directory(tmp_path):
    d = write_dir(tmp_path / "demo", CHART, 1_000_000)
    tgz = package.write_archive(package.read_chart_dir(d), tmp_path / "out")
    from_dir = helm_python.Chart.load(str(d)).render({}, name="r", namespace="n")
    from_tgz = helm_python.Chart.load(str(tgz)).render({}, name="r", namespace="n")
    assert from_dir == from_tgz
    assert 'g: "hello"' in from_tgz["demo/templates/cm.yaml"]
    lint = helm_python.lint(str(tgz))
    assert not lint["errors"], lint


def test_source_date_epoch_is_honoured(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    t = package.write_archive(CHART, tmp_path)
    assert t.stat().st_mtime == 1700000000
    import tarfile

    with tarfile.open(t) as tar:
        assert {m.mtime for m in tar.getmembers()} == {1700000000}
        assert {(m.uid, m.gid, m.uname, m.gname) for m in tar.getmembers()} == {(0, 0, "", "")}
        assert tar.getmembers()[0].name == "demo/Chart.yaml"


@pytest.fixture()
def registry(tmp_path):
    server, host = start_registry(tmp_path / "reg")
    yield host
    server.stop()
    assert not server.alive()


@pytest.fixture()
def auth_registry(tmp_path):
    server, host = start_registry(tmp_path / "areg", user="ci", password="s3cret")
    yield host
    server.stop()


def test_publish_round_trip_and_immutability(tmp_path, registry):
    tgz = package.write_archive(CHART, tmp_path / "one")
    remote = f"oci://{registry}/charts"
    first = oci.publish(tgz, remote, plain_http=True)
    assert first.pushed and first.digest.startswith("sha256:")
    assert first.ref == f"{remote}/demo:1.0.0"

    # Pull back with Helm's registry client and compare the bytes and the manifest digest.
    client = helm_python.RegistryClient(plain_http=True, credentials_file=str(tmp_path / "c.json"))
    pulled = tmp_path / "pulled"
    pulled.mkdir()
    client.pull(first.ref, destination=str(pulled))
    assert sha(pulled / "demo-1.0.0.tgz") == sha(tgz)
    assert client.resolve(first.ref)["digest"] == first.digest

    # Same bytes again, even from a freshly packaged copy: a no-op success with the same digest.
    again = package.write_archive(dict(CHART), tmp_path / "two")
    second = oci.publish(again, remote, plain_http=True)
    assert (second.pushed, second.digest) == (False, first.digest)

    # Different content under the same version is refused, and the registry keeps the original.
    changed = package.write_archive(dict(CHART, **{"values.yaml": b"greeting: bye\n"}), tmp_path / "three")
    with pytest.raises(PublishError, match="already exists with different content"):
        oci.publish(changed, remote, plain_http=True)
    assert client.resolve(first.ref)["digest"] == first.digest


def test_publish_with_auth(tmp_path, auth_registry):
    tgz = package.write_archive(CHART, tmp_path / "one")
    remote = f"oci://{auth_registry}/charts"
    with pytest.raises(PublishError) as err:
        oci.publish(tgz, remote, plain_http=True, registry_config=str(tmp_path / "empty.json"))
    assert "authentication missing or wrong" in str(err.value)
    with pytest.raises(PublishError, match="cannot log in"):
        oci.publish(tgz, remote, plain_http=True, username="ci", password="wrong")
    result = oci.publish(tgz, remote, plain_http=True, username="ci", password="s3cret")
    assert result.pushed


def test_publish_cli_password_stdin_prints_digest(tmp_path, auth_registry):
    d = write_dir(tmp_path / "demo", CHART, 1_000_000)
    runner = CliRunner()
    args = ["publish", str(d), f"oci://{auth_registry}/charts", "--plain-http", "--username", "ci", "--password-stdin"]
    res = runner.invoke(app, args, input="s3cret\n")
    assert res.exit_code == 0, res.output
    assert "pushed" in res.output and "Digest: sha256:" in res.output
    res = runner.invoke(app, args, input="s3cret\n")
    assert res.exit_code == 0 and "already published" in res.output


def test_publish_errors_are_one_line(tmp_path):
    tgz = package.write_archive(CHART, tmp_path)
    chartgen = shutil.which("chartgen", path=str(Path(sys.executable).parent))
    for remote in ("https://example.invalid/x", "oci://"):
        proc = subprocess.run([chartgen, "publish", str(tgz), remote], capture_output=True, text=True)
        assert proc.returncode == 1
        assert "Traceback" not in proc.stderr
        assert proc.stderr.startswith("error: ") and "oci://" in proc.stderr


def test_publish_to_a_plain_http_registry_without_the_flag_says_so(tmp_path, registry):
    tgz = package.write_archive(CHART, tmp_path)
    res = CliRunner().invoke(app, ["publish", str(tgz), f"oci://{registry}/charts"])
    assert res.exit_code != 0
    assert "pass --plain-http" in res.output and "Traceback" not in res.output
    assert len([line for line in res.output.splitlines() if line.strip()]) == 1
