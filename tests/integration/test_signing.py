"""Chart provenance with a throw-away GnuPG key: Helm's verifier accepts what we sign, rejects tampering,
and publish pushes the .prov as the chart's provenance layer to a real registry."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.request
from pathlib import Path

import helm_python
import pytest
from typer.testing import CliRunner

from chartgen import oci, package, provenance
from chartgen.cli import app
from chartgen.errors import PackageError, PublishError
from tests.support.registry import start_registry

pytestmark = pytest.mark.integration

UID = "Chart Signer <signer@example.test>"
CHART = {
    "Chart.yaml": b"apiVersion: v2\nname: demo\nversion: 1.0.0\nappVersion: t\n",
    "values.yaml": b"greeting: hello\n",
    "templates/cm.yaml": b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n",
}
runner = CliRunner()


def _gpg(home: Path, *args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(["gpg", "--batch", "--homedir", str(home), *args], check=True, capture_output=True, **kw)


def _keyrings(tmp: Path, uid: str, passphrase: str = "") -> tuple[Path, Path]:
    home = tmp / "gnupg"
    home.mkdir(mode=0o700)
    # A throw-away key needs no key-stretching: the agent's calibrated default makes protecting it take seconds.
    (home / "gpg-agent.conf").write_text("s2k-count 65536\n")
    try:
        _gpg(home, "--pinentry-mode", "loopback", "--passphrase", passphrase, "--quick-gen-key", uid, "ed25519",
             "sign", "never")
        secring, pubring = tmp / "secring.gpg", tmp / "pubring.gpg"
        # Helm reads legacy keyring files, not gpg-agent: export the keys to plain files.
        secring.write_bytes(_gpg(home, "--pinentry-mode", "loopback", "--passphrase", passphrase,
                                 "--export-secret-keys").stdout)
        pubring.write_bytes(_gpg(home, "--export").stdout)
    finally:
        # gpg started an agent for this home; the exported files are all the tests need.
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], capture_output=True, timeout=30)
    return secring, pubring


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    if shutil.which("gpg") is None:
        pytest.fail("gpg is not installed (apt-get install gnupg; ./dev test does it)")
    return _keyrings(tmp_path_factory.mktemp("keys"), UID)


@pytest.fixture()
def chart_dir(tmp_path) -> Path:
    root = tmp_path / "demo"
    for rel, data in CHART.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def test_sign_and_verify_with_helm(tmp_path, keys):
    secring, pubring = keys
    tgz = package.write_archive(CHART, tmp_path)
    prov = provenance.sign(tgz, key="signer@example.test", keyring=secring)
    assert prov == tgz.with_name("demo-1.0.0.tgz.prov")
    body = prov.read_text()
    assert body.startswith("-----BEGIN PGP SIGNED MESSAGE-----") and "name: demo" in body
    result = helm_python.verify(tgz, pubring)
    assert result["signed_by"] == [UID]
    assert result["file_hash"] == provenance.signed_hash(prov)[1]
    assert provenance.verify(tgz, pubring)["file_name"] == "demo-1.0.0.tgz"


def test_tampered_archive_is_rejected(tmp_path, keys):
    secring, pubring = keys
    tgz = package.write_archive(CHART, tmp_path)
    provenance.sign(tgz, key="signer@example.test", keyring=secring)
    tgz.write_bytes(package.archive_bytes(dict(CHART, **{"values.yaml": b"greeting: evil\n"}), "demo"))
    with pytest.raises(helm_python.HelmError):
        helm_python.verify(tgz, pubring)
    with pytest.raises(PackageError, match="provenance does not verify"):
        provenance.verify(tgz, pubring)
    with pytest.raises(PackageError, match="is for other bytes"):
        provenance.check_matches(tgz, provenance.prov_path(tgz))


def test_another_key_does_not_verify(tmp_path, keys):
    secring, _ = keys
    _, other_pub = _keyrings(tmp_path, "Someone Else <else@example.test>")
    tgz = package.write_archive(CHART, tmp_path / "out")
    provenance.sign(tgz, key="signer@example.test", keyring=secring)
    with pytest.raises(PackageError, match="provenance does not verify"):
        provenance.verify(tgz, other_pub)


def test_cli_package_sign_with_passphrase_file(tmp_path, chart_dir):
    secring, pubring = _keyrings(tmp_path, "Locked <locked@example.test>", passphrase="open sesame")
    secret = tmp_path / "pass"
    secret.write_text("open sesame\n")
    secret.chmod(0o600)
    out = tmp_path / "dist"
    res = runner.invoke(app, ["package", str(chart_dir), "-d", str(out), "--sign", "--key", "locked@example.test",
                              "--keyring", str(secring), "--passphrase-file", str(secret), "--output", "json"])
    assert res.exit_code == 0, res.output
    [entry] = json.loads(res.stdout)
    assert entry["provenance"] == str(out / "demo-1.0.0.tgz.prov")
    assert helm_python.verify(out / "demo-1.0.0.tgz", pubring)["signed_by"] == ["Locked <locked@example.test>"]

    # Without the passphrase the locked key cannot sign: one clear line, no traceback.
    res = runner.invoke(app, ["package", str(chart_dir), "-d", str(tmp_path / "d2"), "--sign", "--key",
                              "locked@example.test", "--keyring", str(secring)])
    assert res.exit_code == 1 and res.output.startswith("error: cannot sign demo-1.0.0.tgz")
    assert "Traceback" not in res.output
    assert not (tmp_path / "d2").exists() or list((tmp_path / "d2").iterdir()) == []  # no unsigned archive


def test_cli_sign_usage_and_key_errors(tmp_path, keys, chart_dir):
    secring, _ = keys
    res = runner.invoke(app, ["package", str(chart_dir), "-d", str(tmp_path), "--sign"])
    assert res.exit_code == 2 and "--key" in res.output
    res = runner.invoke(app, ["package", str(chart_dir), "-d", str(tmp_path), "--key", "x"])
    assert res.exit_code == 2
    out = tmp_path / "out"
    res = runner.invoke(app, ["package", str(chart_dir), "-d", str(out), "--sign", "--key", "nobody@example.test",
                              "--keyring", str(secring)])
    assert res.exit_code == 1 and "nobody@example.test" in res.output and "Traceback" not in res.output
    res = runner.invoke(app, ["package", str(chart_dir), "-d", str(out), "--sign", "--key", "signer",
                              "--keyring", str(tmp_path / "missing.gpg")])
    assert res.exit_code == 1 and "no such keyring file" in res.output
    # A failed --sign leaves nothing behind: no unsigned archive, no staging directory.
    assert not out.exists() or list(out.iterdir()) == []


def test_failed_sign_keeps_the_previous_signed_pair(tmp_path, keys, chart_dir):
    secring, pubring = keys
    out = tmp_path / "out"
    args = ["package", str(chart_dir), "-d", str(out), "--sign", "--keyring", str(secring)]
    assert runner.invoke(app, [*args, "--key", "signer"]).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert set(before) == {"demo-1.0.0.tgz", "demo-1.0.0.tgz.prov"}
    (chart_dir / "values.yaml").write_text("greeting: changed\n")
    assert runner.invoke(app, [*args, "--key", "nobody@example.test"]).exit_code == 1
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert helm_python.verify(out / "demo-1.0.0.tgz", pubring)["signed_by"] == [UID]


def test_default_keyring_is_gnupghome_with_modern_gnupg(tmp_path, chart_dir, monkeypatch):
    """GnuPG >= 2.1 keeps no secring.gpg: without --keyring the key is exported from $GNUPGHOME."""
    home = tmp_path / "modern-home"
    home.mkdir(mode=0o700)
    (home / "gpg-agent.conf").write_text("s2k-count 65536\n")
    try:
        _gpg(home, "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key", "Modern <modern@example.test>",
             "ed25519", "sign", "never")
        assert not (home / "secring.gpg").exists()
        pubring = tmp_path / "pubring.gpg"
        pubring.write_bytes(_gpg(home, "--export").stdout)
        monkeypatch.setenv("GNUPGHOME", str(home))
        monkeypatch.setenv("HOME", str(tmp_path / "nohome"))  # ~/.gnupg must not be what is read
        out = tmp_path / "dist"
        res = runner.invoke(app, ["package", str(chart_dir), "-d", str(out), "--sign", "--key", "modern@example.test"])
        assert res.exit_code == 0, res.output
        assert helm_python.verify(out / "demo-1.0.0.tgz", pubring)["signed_by"] == ["Modern <modern@example.test>"]
        assert sorted(p.name for p in out.iterdir()) == ["demo-1.0.0.tgz", "demo-1.0.0.tgz.prov"]
        res = runner.invoke(app, ["package", str(chart_dir), "-d", str(tmp_path / "d2"), "--sign", "--key",
                                  "absent@example.test"])
        assert res.exit_code == 1 and f"no secret key 'absent@example.test' in GnuPG's home {home}" in res.output
        assert not (tmp_path / "d2").exists() or list((tmp_path / "d2").iterdir()) == []
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], capture_output=True, timeout=30)


def test_repackaging_warns_about_a_stale_prov(tmp_path, keys, chart_dir):
    secring, _ = keys
    out = tmp_path / "dist"
    args = ["package", str(chart_dir), "-d", str(out)]
    assert runner.invoke(app, [*args, "--sign", "--key", "signer", "--keyring", str(secring)]).exit_code == 0
    (chart_dir / "values.yaml").write_text("greeting: changed\n")
    res = runner.invoke(app, args)
    assert res.exit_code == 0 and "warning: demo-1.0.0.tgz.prov is for other bytes" in res.output


def _manifest(host: str, repo: str, tag: str) -> dict:
    req = urllib.request.Request(f"http://{host}/v2/{repo}/manifests/{tag}",
                                 headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())


def _blob(host: str, repo: str, digest: str) -> bytes:
    with urllib.request.urlopen(f"http://{host}/v2/{repo}/blobs/{digest}", timeout=5) as resp:
        return resp.read()


def test_publish_pushes_the_provenance_layer(tmp_path, keys, chart_dir):
    secring, pubring = keys
    server, host = start_registry(tmp_path / "reg")
    try:
        out = tmp_path / "dist"
        res = runner.invoke(app, ["package", str(chart_dir), "-d", str(out), "--sign", "--key", "signer",
                                  "--keyring", str(secring)])
        assert res.exit_code == 0, res.output
        tgz = out / "demo-1.0.0.tgz"
        # An empty registry config: the user's Docker/Helm logins play no part in the test.
        res = runner.invoke(app, ["publish", str(tgz), f"oci://{host}/charts", "--plain-http",
                                  "--registry-config", str(tmp_path / "registry.json")])
        assert res.exit_code == 0, res.output
        assert "pushed with its provenance (.prov)" in res.output

        layers = {layer["mediaType"]: layer["digest"] for layer in _manifest(host, "charts/demo", "1.0.0")["layers"]}
        assert set(layers) == {"application/vnd.cncf.helm.chart.content.v1.tar+gzip", provenance.MEDIA_TYPE}
        (tmp_path / "pulled").mkdir()
        pulled_prov = tmp_path / "pulled" / "demo-1.0.0.tgz.prov"
        pulled_prov.write_bytes(_blob(host, "charts/demo", layers[provenance.MEDIA_TYPE]))
        pulled_tgz = tmp_path / "pulled" / "demo-1.0.0.tgz"
        pulled_tgz.write_bytes(_blob(host, "charts/demo", layers["application/vnd.cncf.helm.chart.content.v1.tar+gzip"]))
        # What the registry serves verifies with Helm, like `helm pull --verify` would do.
        assert helm_python.verify(pulled_tgz, pubring, provenance_file=pulled_prov)["signed_by"] == [UID]

        # The same chart again: a no-op; the version (and its provenance) is immutable.
        again = oci.publish(tgz, f"oci://{host}/charts", plain_http=True, registry_config=str(tmp_path / "r.json"))
        assert (again.pushed, again.provenance) == (False, False)
    finally:
        server.stop()


def test_publish_refuses_a_stale_prov_and_pushes_unsigned_without_one(tmp_path, keys):
    secring, _ = keys
    server, host = start_registry(tmp_path / "reg")
    try:
        tgz = package.write_archive(CHART, tmp_path / "a")
        provenance.sign(tgz, key="signer", keyring=secring)
        tgz.write_bytes(package.archive_bytes(dict(CHART, **{"values.yaml": b"greeting: other\n"}), "demo"))
        os.utime(tgz, (package.epoch(), package.epoch()))
        with pytest.raises(PublishError, match="is for other bytes"):
            oci.publish(tgz, f"oci://{host}/charts", plain_http=True, registry_config=str(tmp_path / "r.json"))
        provenance.prov_path(tgz).unlink()
        result = oci.publish(tgz, f"oci://{host}/charts", plain_http=True, registry_config=str(tmp_path / "r.json"))
        assert result.pushed and not result.provenance
        media = [layer["mediaType"] for layer in _manifest(host, "charts/demo", "1.0.0")["layers"]]
        assert media == ["application/vnd.cncf.helm.chart.content.v1.tar+gzip"]
    finally:
        server.stop()
