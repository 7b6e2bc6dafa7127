"""Publish and package under misuse: concurrent publishes, silent registries, hostile Chart.yaml, credentials
in URLs; `diff --against oci://` leaves nothing on disk. Against a real docker-registry and real sockets."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import helm_python
import pytest
from typer.testing import CliRunner

from chartgen import oci, package
from chartgen.cli import app
from chartgen.errors import PackageError, PublishError
from tests.support.procs import LOOPBACK
from tests.support.registry import start_registry

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CHARTGEN = Path(sys.executable).parent / "chartgen"
runner = CliRunner()


def chart(name: str = "demo", version: str = "1.0.0", greeting: str = "hello") -> dict[str, bytes]:
    return {
        "Chart.yaml": f"apiVersion: v2\nname: {name}\nversion: {version}\n".encode(),
        "values.yaml": f"greeting: {greeting}\n".encode(),
        "templates/cm.yaml": b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  g: {{ .Values.greeting | quote }}\n",
    }


@pytest.fixture()
def registry(tmp_path):
    server, host = start_registry(tmp_path / "reg")
    yield host
    server.stop()


# ---- 2. concurrent publishes of one version -----------------------------------------------------------------


@pytest.mark.slow
def test_concurrent_publishes_of_different_bytes_never_both_succeed(tmp_path, registry):
    remote = f"oci://{registry}/charts"
    rounds, won = 8, 0
    for r in range(rounds):
        version = f"1.0.{r}"
        archives = [package.write_archive(chart(version=version, greeting=g), tmp_path / f"{r}-{g}")
                    for g in ("left", "right")]
        results: dict[int, object] = {}
        start = threading.Barrier(2)

        def run(i: int) -> None:
            start.wait()
            try:
                results[i] = oci.publish(archives[i], remote, plain_http=True, timeout=60)
            except PublishError as exc:
                results[i] = exc

        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        winners = [i for i, res in results.items() if isinstance(res, oci.Published)]
        assert len(winners) <= 1, f"round {r}: both publishes reported success: {results}"
        assert all(isinstance(res, (oci.Published, PublishError)) for res in results.values()), results
        if not winners:
            continue  # both failed (a registry error on a shared blob, or both saw the other win): no false success
        won += 1
        loser = results[1 - winners[0]]
        assert "lost the race" in str(loser) or "already exists with different content" in str(loser), loser
        # What the registry serves is the winner's chart, byte for byte.
        client = helm_python.RegistryClient(plain_http=True, credentials_file=str(tmp_path / "c.json"))
        winner = results[winners[0]]
        assert client.resolve(winner.ref)["digest"] == winner.digest
        pulled = tmp_path / f"pulled-{r}"
        pulled.mkdir()
        client.pull(winner.ref, destination=str(pulled))
        assert (pulled / f"demo-{version}.tgz").read_bytes() == archives[winners[0]].read_bytes()
    assert won >= rounds // 2, f"only {won} of {rounds} rounds had a winner"


def test_a_push_replaced_after_ours_is_reported_as_lost(tmp_path, registry, monkeypatch):
    # Deterministic version of the race: another publisher's push lands right after ours.
    remote = f"oci://{registry}/charts"
    ours = package.write_archive(chart(greeting="ours"), tmp_path / "a")
    theirs = package.write_archive(chart(greeting="theirs"), tmp_path / "b")
    real_push = oci.Registry.push

    def push_then_overwrite(self, archive, repository):
        real_push(self, archive, repository)
        with oci.Registry(registry, plain_http=True) as other:
            real_push(other, theirs, repository)

    monkeypatch.setattr(oci.Registry, "push", push_then_overwrite)
    with pytest.raises(PublishError, match="lost the race and is NOT published"):
        oci.publish(ours, remote, plain_http=True)


# ---- 9. a registry that accepts connections and never answers -----------------------------------------------


@pytest.fixture()
def silent_server():
    """A real TCP listener that accepts connections and never sends a byte."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((LOOPBACK, 0))
    sock.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"{LOOPBACK}:{sock.getsockname()[1]}"
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    sock.close()


def test_publish_to_a_silent_registry_times_out(tmp_path, silent_server):
    tgz = package.write_archive(chart(), tmp_path)
    started = time.monotonic()
    proc = subprocess.run([str(CHARTGEN), "publish", str(tgz), f"oci://{silent_server}/charts", "--plain-http",
                           "--timeout", "3"], capture_output=True, text=True, timeout=60)
    took = time.monotonic() - started
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ") and "no answer" in proc.stderr
    assert took < 20


@pytest.fixture()
def stalling_registry():
    """A real HTTP server that answers the /v2/ probe, then never answers a registry call (a stalled push)."""
    import http.server

    release = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the stdlib's name
            if self.path == "/v2/":
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")
            else:
                release.wait(60)

        do_HEAD = do_POST = do_PUT = do_GET

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer((LOOPBACK, 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"{LOOPBACK}:{server.server_address[1]}"
    release.set()
    server.shutdown()
    server.server_close()


def test_a_registry_that_stalls_after_the_probe_is_cut_at_the_deadline(tmp_path, stalling_registry):
    tgz = package.write_archive(chart(), tmp_path)
    started = time.monotonic()
    proc = subprocess.run([str(CHARTGEN), "publish", str(tgz), f"oci://{stalling_registry}/charts", "--plain-http",
                           "--timeout", "3"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.startswith("error: ")
    assert "did not answer within 3 s" in proc.stderr
    assert time.monotonic() - started < 20


# ---- 3. Chart.yaml name and version, checked before any write ------------------------------------------------


@pytest.mark.parametrize("name, version", [
    ("../../escaped", "1.0.0"), ("/tmp/abs", "1.0.0"), ("", "1.0.0"), ("[a, b]", "1.0.0"), ('"x\\ny"', "1.0.0"),
    ("..", "1.0.0"), (".hidden", "1.0.0"), ("demo", "banana"), ("demo", "1.0"), ("demo", "v1.0.0"),
    ("demo", '"1.0.0\\n"'),
])
def test_package_and_publish_refuse_unsafe_chart_yaml(tmp_path, name, version):
    src = tmp_path / "src"
    (src / "templates").mkdir(parents=True)
    (src / "Chart.yaml").write_text(f"apiVersion: v2\nname: {name}\nversion: {version}\n")
    dest = tmp_path / "a" / "b" / "dest"
    before = set(tmp_path.rglob("*"))
    res = runner.invoke(app, ["package", str(src), "-d", str(dest)])
    assert res.exit_code == 1, res.output
    assert "error: " in res.output and "Traceback" not in res.output
    assert set(tmp_path.rglob("*")) == before  # nothing written, inside -d or outside it
    with pytest.raises(PackageError):
        package.write_archive(package.read_chart_dir(src), dest)
    # publish of the directory fails before any registry is contacted, leaving nothing anywhere either
    res = runner.invoke(app, ["publish", str(src), "oci://127.0.0.1:9/charts", "--plain-http"])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert set(tmp_path.rglob("*")) == before


def test_publish_of_an_archive_with_a_bad_name_is_refused(tmp_path):
    import io
    import tarfile

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        data = b"apiVersion: v2\nname: ../../x\nversion: 1.0.0\n"
        info = tarfile.TarInfo("x/Chart.yaml")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    tgz = tmp_path / "x.tgz"
    tgz.write_bytes(raw.getvalue())
    with pytest.raises(PublishError, match="not a valid chart name"):
        oci.publish(tgz, "oci://127.0.0.1:9/charts", plain_http=True)


# ---- 4 and 11. registry references -------------------------------------------------------------------------


@pytest.mark.parametrize("remote, fragment", [
    ("oci://[::1/charts", "not an OCI registry reference"),
    ("oci://host:port/charts", "not an OCI registry reference"),
    ("oci://bot:TOPSECRET-TOKEN@127.0.0.1:9/charts", "holds credentials"),
    # A password with "/", "?" or "#" is split by URL parsers into port, path, query or fragment.
    ("oci://bot:TOPSECRET/TOKEN@127.0.0.1:9/charts", "holds credentials"),
    ("oci://bot:TOPSECRET?TOKEN@127.0.0.1:9/charts", "holds credentials"),
    ("oci://bot:TOPSECRET#TOKEN@127.0.0.1:9/charts", "holds credentials"),
    ("oci://127.0.0.1:9/Charts", "lowercase"),
    ("oci://127.0.0.1:9/charts\n", "control characters"),
])
def test_bad_registry_references_are_one_clean_line_and_never_echo_secrets(tmp_path, remote, fragment):
    tgz = package.write_archive(chart(), tmp_path)
    proc = subprocess.run([str(CHARTGEN), "publish", str(tgz), remote], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and proc.stderr.startswith("error: ")
    assert fragment in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "TOPSECRET" not in proc.stderr + proc.stdout


# ---- 5. diff --against oci:// leaves no temporary directory ------------------------------------------------


def test_diff_against_oci_leaves_nothing_in_tmp(tmp_path, registry, monkeypatch):
    spec = ROOT / "examples" / "trio.yaml"
    pkg = runner.invoke(app, ["package", str(spec), "-d", str(tmp_path / "pkg")])
    assert pkg.exit_code == 0, pkg.output
    (tgz,) = (tmp_path / "pkg").glob("*.tgz")
    oci.publish(tgz, f"oci://{registry}/charts", plain_http=True)
    # A private temporary directory (Python's and Go's), so other processes on the machine do not count.
    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setenv("TMPDIR", str(private))
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    res = runner.invoke(app, ["diff", str(spec), "--against", f"oci://{registry}/charts/acme-db:1.0.0",
                              "--plain-http"])
    assert res.exit_code == 0, res.output
    assert "no changes" in res.output
    assert list(private.iterdir()) == []
