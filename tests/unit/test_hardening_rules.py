"""The rules behind reliability and security hardening, one table each: anchored patterns, cron, Kubernetes
names, YAML 1.1 keys, chart identity, registry references, values paths, secrets kept out of messages."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chartgen import checks, oci, package, schema, sensitive, spec as spec_mod, yamlio
from chartgen.cli import app
from chartgen.errors import PackageError, PublishError

ROOT = Path(__file__).resolve().parents[2]
TRIO = ROOT / "examples" / "trio.yaml"
runner = CliRunner()


def _patterned_strings(data, path=()):
    """Every string in ``data`` whose schema node has a pattern (or a propertyNames pattern for keys)."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _patterned_strings(value, path + (key,))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _patterned_strings(value, path + (i,))
    elif isinstance(data, str) and "pattern" in (schema.subschema(path) or {}):
        yield path


def _set(data, path, value):
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def test_a_trailing_newline_fails_every_pattern():
    data = yamlio.fast_load(TRIO.read_text())
    paths = list(_patterned_strings(data))
    covered = {p[-1] for p in paths}
    # the fields the probe found accepting "x\n"
    assert {"name", "namespace", "version", "size", "tag", "bucket", "secretName"} <= covered, covered
    for path in paths:
        bad = copy.deepcopy(data)
        _set(bad, path, _get(data, path) + "\n")
        found = [p for p, _, _ in schema.errors(bad)]
        assert path in found, (path, found)


def _get(data, path):
    for part in path:
        data = data[part]
    return data


@pytest.mark.parametrize("pattern, text, ok", [
    (r"^[a-z]+$", "abc", True), (r"^[a-z]+$", "abc\n", False), (r"^[$a]+$", "$a", True),
    (r"^a\$$", "a$", True), (r"^(x)$|^y$", "y\n", False),
])
def test_ecma_anchors(pattern, text, ok):
    assert schema.pattern_matches(pattern, text) is ok


@pytest.mark.parametrize("schedule, fragment", [
    ("0 1 * * *", None), ("*/15 0-6,22 1 jan-mar mon-fri", None), ("@daily", None), ("0 0 * * 7", None),
    ("60 25 * * *", "minute: 60 is out of range"), ("0 24 * * *", "hour: 24"), ("0 0 0 * *", "day of month: 0"),
    ("0 0 * 13 *", "month: 13"), ("0 0 * * 8", "day of week: 8"), ("*/0 * * * *", "step"),
    ("5-1 * * * *", "runs backwards"), ("0 1 * *", "4 fields"), ("@dailyfoo", "only digits"),
    ("@daily; rm -rf /", "only digits"), ("0 1 * *\n*", "only digits"), ("0\t1 * * *", "only digits"),
])
def test_cron(schedule, fragment):
    why = checks.cron_problem(schedule)
    assert (why is None) if fragment is None else (fragment in why), why


@pytest.mark.parametrize("key, ok", [
    ("app.kubernetes.io/name", True), ("team", True), ("a", True), ("x" * 63, True), ("x" * 64, False),
    ("team name", False), ("-team", False), ("Example.com/x", False), ("/x", False), ("on", True), ("", False),
])
def test_label_keys(key, ok):
    assert (checks.qualified_name_problem(key) is None) is ok


@pytest.mark.parametrize("value, ok", [("", True), ("platform", True), ("a.b-c_d", True), ("x" * 64, False),
                                       ("platform team", False), ("ends-", False)])
def test_label_values(value, ok):
    assert (checks.label_value_problem(value) is None) is ok


@pytest.mark.parametrize("key, quoted", [
    ("on", True), ("Off", True), ("YES", True), ("n", True), ("Y", True), ("true", True), ("null", True),
    ("~", True), ("", True), ("1.0", True), ("0x10", True), ("a b", True), ("shared_buffers", False),
    ("pg_stat_statements.max", False), ("online", False), ("no-such", False),
])
def test_helm_keys(key, quoted):
    out = yamlio.helm_key(key)
    assert (out != key) is quoted
    import yaml  # PyYAML reads YAML 1.1, like Helm's go-yaml

    assert list(yaml.safe_load(f"{out}: v"))[0] == key


@pytest.mark.parametrize("name, version, ok", [
    ("demo", "1.0.0", True), ("demo", "1.2.3-rc.1+build.5", True), ("Demo_chart.x", "0.0.1", True),
    ("../x", "1.0.0", False), ("/abs", "1.0.0", False), ("", "1.0.0", False), (".", "1.0.0", False),
    ("..", "1.0.0", False), (".hidden", "1.0.0", False), ("a\n", "1.0.0", False), (["a"], "1.0.0", False),
    ("demo", "banana", False), ("demo", "1.0", False), ("demo", "v1.0.0", False), ("demo", "01.0.0", False),
    ("demo", "1.0.0\n", False), ("demo", "1.0.0-", False), ("demo", 1, False), ("demo", "1.0.0-01", False),
    ("demo", "\u0661.0.0", False),
])
def test_chart_identity(name, version, ok):
    if ok:
        assert package.check_identity(name, version) == (name, version)
    else:
        with pytest.raises(PackageError):
            package.check_identity(name, version)


@pytest.mark.parametrize("remote", ["oci://[::1/charts", "oci://h:x/c", "https://h/c", "oci://", "oci://u:p@h/c",
                                    "oci://h/c?x=1", "oci://h/c:1.0", "oci://h/C", "oci://h/c d"])
def test_bad_remotes(remote):
    with pytest.raises(PublishError) as err:
        oci.parse_remote(remote)
    assert "\n" not in str(err.value) and ":p@" not in str(err.value)


def test_good_remotes():
    assert oci.parse_remote("oci://127.0.0.1:5000/charts/sub") == ("127.0.0.1:5000", "charts/sub")
    assert oci.parse_remote("oci://[::1]:5000/charts") == ("[::1]:5000", "charts")
    assert oci.parse_remote("oci://ghcr.io/acme") == ("ghcr.io", "acme")


@pytest.mark.parametrize("path", ["", "..", "a..b", ".a", "a.", " "])
def test_explain_refuses_malformed_paths(path):
    res = runner.invoke(app, ["explain", str(TRIO), "--path", path])
    assert res.exit_code == 1
    assert "is not a values key" in res.output and len(res.output.strip().splitlines()) == 1


def test_explain_still_takes_bracketed_keys():
    res = runner.invoke(app, ["explain", str(TRIO), "--path", 'postgresql.parameters["shared_buffers"]'])
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize("value", ["AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                                   "Zm9vYmFyYmF6cXV4cXV1eHh5eXp6MTIzNDU2"])
def test_key_shaped_values(value):
    assert sensitive.looks_like_secret(value)


@pytest.mark.parametrize("value", ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AZURE_STORAGE_ACCESS_KEY",
                                   "key.json", "azure-storage-account-key"])
def test_key_names_are_not_secrets(value):
    assert not sensitive.looks_like_secret(value)


def test_messages_never_repeat_a_value_that_may_be_a_secret(tmp_path):
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    text = TRIO.read_text().replace(
        "      credentials:\n        secretName: acme-db-s3",
        f'      endpoint: "ftp://AKIAIOSFODNN7EXAMPLE:{secret}@minio"\n'
        f'      credentials: {{secretName: acme-db-s3, accessKeyIdKey: "{secret}", secretAccessKeyKey: 42}}')
    assert text != TRIO.read_text()
    path = tmp_path / "leak.yaml"
    path.write_text(text)
    found, problems = spec_mod.check_file(str(path))
    assert found is None
    messages = " ".join(p.message for p in problems)
    assert len(problems) >= 3, messages
    assert secret not in messages and "AKIAIOSFODNN7EXAMPLE" not in messages
    res = runner.invoke(app, ["validate", str(path), "--output", "json"])
    assert secret not in res.output and "AKIAIOSFODNN7EXAMPLE" not in res.output


@pytest.mark.parametrize("secret", ["hunter2", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "pa?ss#word"])
def test_an_endpoint_with_credentials_is_refused_whatever_the_secret_holds(tmp_path, secret):
    # An unencoded "/" in the secret made the userinfo look like a host and path, and the key was rendered.
    text = TRIO.read_text().replace(
        "      credentials:\n", f'      endpoint: "https://AKIAIOSFODNN7EXAMPLE:{secret}@minio.example.com:9000"\n'
                               "      credentials:\n")
    assert text != TRIO.read_text()
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    found, problems = spec_mod.check_file(str(path))
    assert found is None
    assert any("credentials" in p.message for p in problems), [p.message for p in problems]
    assert all(secret not in p.message and "AKIAIOSFODNN7EXAMPLE" not in p.message for p in problems)
    res = runner.invoke(app, ["render", str(path), "--output-dir", str(tmp_path / "dist")])
    assert res.exit_code == 1 and secret not in res.output
    assert not (tmp_path / "dist").exists() or not any((tmp_path / "dist").iterdir())


def test_redacted_urls_hide_secrets_with_slashes():
    assert sensitive.redact_url("https://u:pa/ss@host/x") == "https://***@host/x"


def test_render_refuses_an_endpoint_with_credentials_before_writing(tmp_path):
    text = TRIO.read_text().replace("      credentials:\n",
                                    '      endpoint: "https://bot:hunter2@minio.example.com"\n      credentials:\n')
    assert text != TRIO.read_text()
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    res = runner.invoke(app, ["render", str(path), "--output-dir", str(tmp_path / "dist")])
    assert res.exit_code == 1 and "hunter2" not in res.output
    assert not (tmp_path / "dist" / "acme-db").exists()


def test_package_leaves_out_the_render_marker(tmp_path):
    from chartgen import output

    output.write_chart({"Chart.yaml": b"apiVersion: v2\nname: demo\nversion: 1.0.0\n"}, tmp_path, "demo")
    assert (tmp_path / "demo" / output.MARKER).is_file()
    assert set(package.read_chart_dir(tmp_path / "demo")) == {"Chart.yaml"}
    assert output.read_tree(tmp_path / "demo") == {"Chart.yaml": b"apiVersion: v2\nname: demo\nversion: 1.0.0\n"}


def test_package_refuses_a_symlink_out_of_the_chart(tmp_path):
    chart = tmp_path / "demo"
    chart.mkdir()
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 1.0.0\n")
    (tmp_path / "outside").write_text("secret")
    (chart / "leak.txt").symlink_to(tmp_path / "outside")
    with pytest.raises(PackageError, match="symbolic link"):
        package.read_chart_dir(chart)
