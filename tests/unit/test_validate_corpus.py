"""`chartgen validate` on malformed specs: exact exit code, FILE:LINE:COL, spec path, one line per problem.

The corpus files live in tests/unit/corpus (one defect each, named for it, the defect described in the file's
first comment). Inputs that should not be committed (10 MB, binary, non-UTF-8, directories, missing files)
are made in tmp_path.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

import chartgen
from chartgen.cli import app

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CORPUS = HERE / "corpus"
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
SCHEMA_FILE = ROOT / "schemas" / "deployment.schema.json"
CHARTGEN = Path(sys.executable).parent / "chartgen"

# FILE:LINE:COL: PATH: [warning: ]MESSAGE
LINE_RE = re.compile(r'^(?P<file>.+?):(?P<line>[1-9]\d*):(?P<col>[1-9]\d*): (?P<path>(?:[^\s"]|"(?:[^"\\]|\\.)*")+): '
                     r"(?P<warning>warning: )?(?P<message>\S.*)$")


@dataclass(frozen=True)
class Want:
    """One expected problem line."""

    line: int
    col: int
    path: str
    fragment: str  # must appear in the message
    warning: bool = False


def W(pos: str, path: str, fragment: str, warning: bool = False) -> Want:
    line, col = (int(x) for x in pos.split(":"))
    return Want(line, col, path, fragment, warning)


DOC = "(document)"

#: file name (without .yaml) -> exit code and every expected line, in output order.
CASES: dict[str, tuple[int, list[Want]]] = {
    "empty-file": (1, [W("1:1", DOC, "file is empty")]),
    "comments-only": (1, [W("1:1", DOC, "file is empty")]),
    "yaml-syntax-error": (1, [W("9:13", DOC, "YAML syntax error: expected ',' or ']'")]),
    "tab-indentation": (1, [W("12:1", DOC, "tab character: YAML indentation must use spaces")]),
    "duplicate-key": (1, [W("10:3", DOC, 'duplicate key "topology"')]),
    "list-where-mapping-belongs": (1, [W("16:3", "spec.pooler", "expected a mapping, got a list")]),
    "top-level-list": (1, [W("2:1", DOC, "expected a mapping (apiVersion, kind, metadata, spec), got a list")]),
    "top-level-scalar": (1, [W("1:1", DOC, "expected a mapping")]),
    "multiple-documents": (1, [W("21:1", DOC, "expected one YAML document, found 2")]),
    "unknown-key-did-you-mean": (1, [W("8:3", "spec.topolgy", 'unknown field; did you mean "topology"?')]),
    "enum-typo-topology-tri": (1, [W("8:13", "spec.topology", 'did you mean "trio"?')]),
    "unquoted-version": (1, [W("11:14", "spec.postgres.version", 'expected a string, got number 17 (quote it: "17")')]),
    "bad-name-pattern": (1, [W("5:9", "metadata.name", 'string "Acme_DB" is not valid (lowercase letters')]),
    "name-longer-than-51": (1, [W("5:9", "metadata.name", "is 52 characters long (at most 51")]),
    "missing-required-field": (1, [W("7:1", "spec.image", "missing required field 'image' in spec")]),
    "missing-required-nested": (1, [W("13:3", "spec.image.tag", "missing required field 'tag' in spec.image")]),
    "wrong-type-nested": (1, [W("18:16", "spec.pooler.instances", 'expected an integer, got string "two"')]),
    "literal-password": (1, [W("13:5", "spec.postgres.password",
                               "Secret <role>.acme-db.credentials.postgresql.acid.zalan.do")]),
    "literal-secret-access-key": (1, [W("26:9", "spec.backup.s3.credentials.secretAccessKey",
                                        "reference it with spec.backup.s3.credentials.secretName")]),
    "literal-jwt-secret": (1, [W("21:7", "spec.supabase.jwt.secret", "reference it with spec.supabase.jwt.existingSecret")]),
    "s3-endpoint-without-credentials": (1, [W("21:5", "spec.backup.s3.credentials",
                                              "an S3-compatible endpoint needs a credentials Secret")]),
    "backup-enabled-without-target": (1, [W("19:3", "spec.backup", "backup is enabled but has no target")]),
    "two-backup-targets": (1, [W("26:5", "spec.backup.gcs", "more than one backup target (s3, gcs)"),
                               W("26:5", "spec.backup.gcs.credentials", "no credentials Secret", warning=True)]),
    "restore-target-time-z": (1, [W("28:17", "spec.restore.targetTime", 'uses Z: the operator needs a numeric UTC offset, '
                                                                        'write "2026-11-20T10:00:00+00:00"')]),
    "restore-target-time-no-offset": (1, [W("28:17", "spec.restore.targetTime", "not an ISO 8601 time with a numeric UTC offset")]),
    "durability-strict-single": (1, [W("9:15", "spec.durability", "durability strict needs a replica")]),
    "owned-archive-command": (1, [W("14:24", "spec.postgres.parameters.archive_command", "archive_command cannot be set here")]),
    "owned-archive-mode-off": (1, [W("14:21", "spec.postgres.parameters.archive_mode", "archive_mode cannot be set here")]),
    "owned-shared-preload-libraries": (1, [W("14:33", "spec.postgres.parameters.shared_preload_libraries",
                                             "cannot be set here: chartgen builds it from the image's extension list")]),
    "wal-level-replica": (1, [W("14:18", "spec.postgres.parameters.wal_level", "wal_level replica is below logical")]),
    "max-connections-below-pooler": (1, [W("14:24", "spec.postgres.parameters.max_connections",
                                           "max_connections 70 leaves no room beside the pooler's maxDBConnections 60: "
                                           "it must be at least 80")]),
    "restore-and-standby": (1, [W("28:3", "spec.standby", "restore and standby are mutually exclusive")]),
    "restore-own-cluster-name": (1, [W("27:14", "spec.restore.cluster", "restore.cluster is this cluster's own name")]),
    "service-monitor-without-exporter": (1, [W("20:21", "spec.monitoring.serviceMonitor", "needs monitoring.exporter: true")]),
    "bad-chart-semver": (1, [W("20:12", "chart.version", 'string "v1.0" is not valid (a SemVer 2 version')]),
    "bad-image-digest": (1, [W("16:13", "spec.image.digest", '"sha256:" and 64 lowercase hex digits')]),
    "zero-pooler-instances": (1, [W("18:16", "spec.pooler.instances", "number 0 is out of range (must be at least 1)")]),
    "unknown-extension": (1, [W("20:28", "spec.supabase.extensions[1]", 'extension "pgvector" is not in the image; '
                                                                       'did you mean "vector"?')]),
    "wrong-api-version": (1, [W("2:13", "apiVersion", 'must be "chartgen/v1", got string "v1"')]),
    "yes-as-boolean": (1, [W("17:14", "spec.pooler.enabled", 'expected true or false, got string "yes"')]),
    "float-instances": (1, [W("18:16", "spec.pooler.instances", "expected an integer, got number 2.0 (write 2)")]),
    "custom-yaml-tag": (1, [W("9:15", "spec.durability", "YAML tag !strict is not supported")]),
    "complex-mapping-key": (1, [W("7:1", "spec", "a mapping key must be a plain scalar")]),
    "malformed-int-scalar": (1, [W("18:16", "spec.pooler.instances", 'expected an integer, got string "0b_"')]),
    "bad-parameter-name": (1, [W("14:7", "spec.postgres.parameters.Work-Mem", 'invalid name "Work-Mem"')]),
    "alias-bomb": (1, [W("6:24", DOC, "more than 50000 values (anchors and aliases expand too far)")]),
    "merge-key-with-error": (1, [W("17:36", "spec.pooler.instances", "number 0 is out of range")]),
    "multi-defect": (1, [
        W("5:9", "metadata.name", 'string "Acme-db" is not valid'),
        W("8:13", "spec.topology", 'did you mean "trio"?'),
        W("18:16", "spec.pooler.instances", "number 0 is out of range"),
        W("19:5", "spec.pooler.mdoe", 'unknown field; did you mean "mode"?'),
        W("21:12", "chart.version", 'string "one" is not valid'),
    ]),
    "restore-without-root-key": (1, [W("26:3", "spec.restore", "restore without spec.supabase.rootKey.existingSecret"),
                                     W("26:3", "spec.restore", "a new JWT secret invalidates acme-db-old's API keys",
                                       warning=True)]),
    "standby-without-root-key": (1, [W("26:3", "spec.standby", "cannot be decrypted once the standby is promoted")]),
    "from-replica-single": (1, [W("26:18", "spec.backup.fromReplica", "never takes a base backup")]),
    "warning-from-replica-trio": (0, [W("26:18", "spec.backup.fromReplica", "both replicas take a base backup",
                                        warning=True)]),
    "ca-bundle-typo": (1, [W("25:17", "spec.backup.s3.caBundle.secretName", "missing required field 'secretName'"),
                           W("25:18", "spec.backup.s3.caBundle.secret", 'unknown field; did you mean "secretName"?')]),
    "node-affinity-typo": (1, [
        W("28:7", "spec.scheduling.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution",
          "'nodeSelectorTerms' is a required property (the operator's nodeAffinity schema)"),
        W("28:7", "spec.scheduling.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution",
          "('nodeSelectorTerm' was unexpected)")]),
    "pooler-request-above-limit": (1, [W("20:23", "spec.pooler.resources.requests.cpu", "request 2 is above the limit 1")]),
    "limit-below-preset-request": (1, [W("14:21", "spec.postgres.resources.limits.cpu",
                                         "request 500m (the size preset's) is above the limit 100m")]),
    "host-spread-typo": (1, [W("27:17", "spec.scheduling.hostSpread", 'string "loose" is not allowed')]),
    # Probe cases (reliability and security hardening): each passed validate before, or crashed render.
    "trailing-newline-name": (1, [W("5:9", "metadata.name", 'string "acme-db\\n" is not valid')]),
    "trailing-newline-namespace": (1, [W("6:14", "metadata.namespace", 'string "supabase\\n" is not valid')]),
    "trailing-newline-chart-name": (1, [W("18:9", "chart.name", 'string "acme\\n" is not valid')]),
    "parameter-name-newline": (1, [W("14:7", 'spec.postgres.parameters["archive_command\\n"]',
                                     'invalid name "archive_command\\n"'),
                                   W("14:28", 'spec.postgres.parameters["archive_command\\n"]',
                                     'no such parameter; did you mean "archive_command"?')]),
    "parameter-value-newline": (1, [W("14:26", "spec.postgres.parameters.statement_timeout",
                                      "the value holds a newline or another control character")]),
    "null-label-key": (1, [W("7:3", "metadata.labels", "a mapping key is null (~, null or empty)")]),
    "bad-label-key": (1, [W("8:18", 'metadata.labels["team name"]', 'invalid label key "team name"')]),
    "bad-label-value": (1, [W("8:11", "metadata.labels.team", 'invalid label value "platform team!"')]),
    "cron-injection": (1, [W("18:15", "spec.backup.schedule", 'string "@daily; rm -rf /" is not valid (a cron')]),
    "cron-out-of-range": (1, [W("18:15", "spec.backup.schedule", "minute: 60 is out of range (0-59)")]),
    "cron-seven-fields": (1, [W("18:15", "spec.backup.schedule", 'string "0 0 1 * * * 2026" is not valid')]),
    "cron-two-lines": (1, [W("18:15", "spec.backup.schedule", "no newline or other characters")]),
    "zero-storage": (1, [W("14:13", "spec.postgres.storage.size", '"0Gi" is no storage')]),
    "endpoint-with-credentials": (1, [W("20:17", "spec.backup.s3.endpoint",
                                        "the URL holds credentials (user:password@host)")]),
    "access-key-in-key-name": (1, [
        W("23:25", "spec.backup.s3.credentials.accessKeyIdKey", "looks like a credential value"),
        W("24:29", "spec.backup.s3.credentials.secretAccessKeyKey", "looks like a credential value"),
    ]),
    "warning-durability-sync-duo": (0, [W("9:15", "spec.durability", "with topology duo, sync keeps writing", warning=True)]),
    "parameter-typo-did-you-mean": (1, [W("14:22", "spec.postgres.parameters.shared_bufers",
                                          'PostgreSQL 17 has no such parameter; did you mean "shared_buffers"?')]),
    "parameter-not-a-number": (1, [W("14:17", "spec.postgres.parameters.work_mem",
                                     '"lots" is not an integer (a number in kB, or with one of the units')]),
    "parameter-out-of-range": (1, [W("14:17", "spec.postgres.parameters.work_mem",
                                     '"32kB" is outside the valid range 64kB .. ~2TB')]),
    "parameter-bad-enum": (1, [W("14:27", "spec.postgres.parameters.synchronous_commit",
                                 '"fast" is not one of its values (allowed: local, remote_write, remote_apply, on, off)')]),
    "parameter-unit-case": (1, [W("14:29", "spec.postgres.parameters.maintenance_work_mem",
                                  '"64mb" has an invalid unit; did you mean "64MB"?')]),
    "parameter-read-only": (1, [W("14:19", "spec.postgres.parameters.block_size", "block_size is read-only")]),
    "warning-parameter-memory-over-limit": (0, [W("14:23", "spec.postgres.parameters.shared_buffers",
                                                  "estimated peak memory 5GiB exceeds the memory limit 2Gi (size small)",
                                                  warning=True)]),
    "warning-parameter-extension-typo": (0, [W("14:32", 'spec.postgres.parameters["pg_stat_statements.maxx"]',
                                               'has no such parameter', warning=True)]),
}


def problem_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() and not line.endswith(": valid")]


def assert_lines(file: str, lines: list[str], wants: list[Want]) -> None:
    assert len(lines) == len(wants), "\n".join(lines)
    for line, want in zip(lines, wants):
        m = LINE_RE.match(line)
        assert m, f"not FILE:LINE:COL: PATH: MESSAGE: {line!r}"
        assert m["file"] == file, line
        assert (int(m["line"]), int(m["col"]), m["path"]) == (want.line, want.col, want.path), line
        assert want.fragment in m["message"], line
        assert bool(m["warning"]) == want.warning, line


def run_cli(*args: str):
    # NO_COLOR: the runner is not a tty anyway; this keeps escape codes out if that ever changes.
    return CliRunner().invoke(app, list(args), env={"NO_COLOR": "1"})


def test_corpus_has_one_file_per_case():
    files = {p.stem for p in CORPUS.glob("*.yaml")}
    assert files == set(CASES), f"without a case: {files - set(CASES)}; without a file: {set(CASES) - files}"
    defects = [name for name, (code, _) in CASES.items() if code == 1]
    assert len(defects) >= 30


@pytest.mark.parametrize("name", sorted(CASES))
def test_corpus_file(name: str):
    code, wants = CASES[name]
    file = str(CORPUS / f"{name}.yaml")
    result = run_cli("validate", file)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert result.exit_code == code, result.output
    assert_lines(file, problem_lines(result.stderr), wants)
    if code == 0:
        assert result.stdout.strip() == f"{file}: valid"


@pytest.mark.parametrize("name", sorted(CASES))
def test_corpus_file_as_json(name: str):
    code, wants = CASES[name]
    file = str(CORPUS / f"{name}.yaml")
    result = run_cli("validate", "--output", "json", file)
    assert result.exit_code == code
    payload = json.loads(result.stdout)
    assert isinstance(payload, list) and len(payload) == len(wants)
    for item, want in zip(payload, wants):
        assert set(item) == {"file", "line", "column", "path", "message", "severity"}
        assert (item["file"], item["line"], item["column"], item["path"]) == (file, want.line, want.col, want.path)
        assert want.fragment in item["message"] and "\n" not in item["message"]
        assert item["severity"] == ("warning" if want.warning else "error")


# ---- inputs made at test time ----------------------------------------------------------------------------

VALID = """apiVersion: chartgen/v1
kind: SupabaseDatabase
metadata:
  name: acme-db
  namespace: supabase
spec:
  image:
    repository: ghcr.io/acme/spilo-supabase
    tag: 17-4.0-p3-supabase-15.8.1.085
"""


def _huge(tmp_path: Path) -> tuple[str, list[Want]]:
    path = tmp_path / "huge-10mb.yaml"
    path.write_text("a: " + "x" * (10 * 1024 * 1024) + "\n", encoding="utf-8")
    return str(path), [W("1:1", DOC, "file is too large (10.0 MiB; a spec is at most 1 MiB)")]


def _binary(tmp_path: Path) -> tuple[str, list[Want]]:
    path = tmp_path / "binary.yaml"
    path.write_bytes(random.Random(7).randbytes(4096) + b"\x00")
    return str(path), [W("1:1", DOC, "binary data, not a YAML text file")]


def _random_bytes(tmp_path: Path) -> tuple[str, list[Want]]:
    # Garbage without a NUL byte gets past the binary test and must fail as text.
    data = bytes(b for b in random.Random(11).randbytes(4096) if b)
    path = tmp_path / "garbage.yaml"
    path.write_bytes(data)
    return str(path), [W("1:3", DOC, "not valid UTF-8 text (byte 0xcf)")]


def _latin1(tmp_path: Path) -> tuple[str, list[Want]]:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("apiVersion: chartgen/v1\nkind: SupabaseDatabase\nmetadata:\n  name: caf\u00e9\n".encode("latin-1"))
    return str(path), [W("4:12", DOC, "not valid UTF-8 text (byte 0xe9)")]


def _control(tmp_path: Path) -> tuple[str, list[Want]]:
    path = tmp_path / "control-char.yaml"
    path.write_text(VALID.replace("namespace: supabase", "namespace: supa\x07base"), encoding="utf-8")
    return str(path), [W("5:18", DOC, "control character U+0007 is not allowed")]


def _deep(tmp_path: Path) -> tuple[str, list[Want]]:
    path = tmp_path / "deep.yaml"
    path.write_text("a: " + "[" * 200 + "]" * 200 + "\n", encoding="utf-8")
    return str(path), [W("1:67", DOC, "YAML nesting is too deep (more than 64 levels)")]


def _very_deep(tmp_path: Path) -> tuple[str, list[Want]]:
    # libyaml gives up at 1000 levels, which is where it reports.
    path = tmp_path / "very-deep.yaml"
    path.write_text("a: " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    return str(path), [W("1:1003", DOC, "YAML nesting is too deep")]


def _directory(tmp_path: Path) -> tuple[str, list[Want]]:
    path = tmp_path / "a-directory.yaml"
    path.mkdir()
    return str(path), [W("1:1", DOC, "is a directory, not a spec file")]


def _missing(tmp_path: Path) -> tuple[str, list[Want]]:
    return str(tmp_path / "missing.yaml"), [W("1:1", DOC, "no such file")]


def _alias_amplified(tmp_path: Path) -> tuple[str, list[Want]]:
    # A 400 KB string repeated through aliases: few values, hundreds of MB once expanded.
    path = tmp_path / "alias-amplified.yaml"
    refs = ", ".join(["*big"] * 1000)
    path.write_text(VALID + f"  notes: &big \"{'x' * 400_000}\"\n  more: [{refs}]\n", encoding="utf-8")
    return str(path), [W("11:70", DOC, "more than 4 MiB of text once anchors and aliases are expanded")]


def _annotations_too_large(tmp_path: Path) -> tuple[str, list[Want]]:
    path = tmp_path / "annotations.yaml"
    big = "\n".join(f"    note-{i}: \"{'y' * 1000}\"" for i in range(300))
    path.write_text(VALID.replace("  namespace: supabase\n", f"  namespace: supabase\n  annotations:\n{big}\n"),
                    encoding="utf-8")
    return str(path), [W("6:3", "metadata.annotations", "Kubernetes allows at most 262144 (256 KiB) in all")]


#: Inputs made at test time; every one of them exits 1.
GENERATED = {"huge": _huge, "binary": _binary, "random-bytes": _random_bytes, "latin1": _latin1,
             "control": _control, "deep": _deep, "very-deep": _very_deep, "directory": _directory,
             "missing": _missing, "alias-amplified": _alias_amplified, "annotations-too-large": _annotations_too_large}


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_input(tmp_path: Path, name: str):
    file, wants = GENERATED[name](tmp_path)
    result = run_cli("validate", file)
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert_lines(file, problem_lines(result.stderr), wants)


def test_utf8_bom_is_accepted(tmp_path: Path):
    spec = tmp_path / "bom.yaml"
    spec.write_bytes(b"\xef\xbb\xbf" + VALID.encode("utf-8"))
    result = run_cli("validate", str(spec))
    assert result.exit_code == 0, result.output


def test_all_problems_of_all_files_in_one_run():
    files = [str(CORPUS / f"{n}.yaml") for n in ("multi-defect", "zero-pooler-instances")] + [str(p) for p in EXAMPLES]
    result = run_cli("validate", *files)
    assert result.exit_code == 1
    lines = problem_lines(result.stderr)
    assert len(lines) == len(CASES["multi-defect"][1]) + len(CASES["zero-pooler-instances"][1])
    assert {LINE_RE.match(line)["file"] for line in lines} == set(files[:2])
    for example in EXAMPLES:
        assert f"{example}: valid" in result.stdout


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_examples_are_valid(example: Path):
    result = run_cli("validate", str(example))
    assert result.exit_code == 0, result.output
    errors = [line for line in problem_lines(result.stderr) if "warning: " not in line]
    assert errors == []


def test_all_examples_at_once():
    assert len(EXAMPLES) >= 5
    result = run_cli("validate", *map(str, EXAMPLES))
    assert result.exit_code == 0, result.output


def test_json_output_of_valid_specs_is_an_empty_list():
    result = run_cli("validate", "-o", "json", str(ROOT / "examples" / "trio.yaml"))
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []


@pytest.mark.parametrize("args", [["validate"], ["validate", "--bogus", "x.yaml"], ["validate", "-o", "xml", "x.yaml"],
                                  ["no-such-command"], []])
def test_usage_errors_exit_2(args: list[str]):
    result = run_cli(*args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


def test_schema_command_prints_the_schema_file():
    result = run_cli("schema")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def test_version():
    result = run_cli("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"chartgen {chartgen.__version__}"


# ---- the installed console script, in a real process ------------------------------------------------------


def run_script(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    assert CHARTGEN.exists(), f"the chartgen console script is expected next to {sys.executable}"
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run([str(CHARTGEN), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("name", ["tab-indentation", "multi-defect", "duplicate-key", "alias-bomb",
                                  "literal-secret-access-key", "unknown-extension"])
def test_console_script_on_corpus(name: str):
    code, wants = CASES[name]
    rel = f"tests/unit/corpus/{name}.yaml"
    proc = run_script("validate", rel)
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert_lines(rel, problem_lines(proc.stderr), wants)


@pytest.mark.parametrize("name", ["huge", "binary", "directory", "missing", "latin1", "very-deep"])
def test_console_script_on_generated_input(tmp_path: Path, name: str):
    file, wants = GENERATED[name](tmp_path)
    proc = run_script("validate", file)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert_lines(file, problem_lines(proc.stderr), wants)


def test_console_script_examples_and_usage():
    proc = run_script("validate", *[str(p.relative_to(ROOT)) for p in EXAMPLES])
    assert proc.returncode == 0, proc.stderr
    assert run_script("validate").returncode == 2
    assert run_script("validate", "--no-such-option", "x.yaml").returncode == 2
    version = run_script("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"chartgen {chartgen.__version__}"
    schema = run_script("schema")
    assert schema.returncode == 0
    assert json.loads(schema.stdout) == json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
