"""Random mutations of the examples (fixed seed): validate never crashes and always answers in format.

Also checks that the libyaml fast path and the ruamel round-trip parser agree on every mutated text,
since a valid spec is only ever read by the fast path.
"""

from __future__ import annotations

import json
import math
import random
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chartgen import spec as spec_mod
from chartgen import yamlio
from chartgen.cli import app

ROOT = Path(__file__).resolve().parent.parent.parent
SEEDS = sorted((ROOT / "examples").glob("*.yaml")) + sorted((Path(__file__).parent / "corpus").glob("*.yaml"))
CASES = 400
LINE_RE = re.compile(r'^(?P<file>.+?):(?P<line>[1-9]\d*):(?P<col>[1-9]\d*): (?P<path>(?:[^\s"]|"(?:[^"\\]|\\.)*")+): (warning: )?\S.*$')

TOKENS = ["", " ", "\t", ":", ": ", "- ", "-", "[", "]", "{", "}", ",", "#", "'", '"', "&a ", "*a", "!!str ",
          "!x ", "<<: ", "? ", "|", ">", "%YAML 1.1\n", "---\n", "...\n", "~", "null", "yes", "no", "on", "0b_",
          "-_", "0x1F", "0o17", "017", "1e400", ".nan", "-.inf", "2.0", "1_000", "2026-01-01", "=", "\u00e9",
          "\u2028", "\x85", "\ufeff", "\x07", "\r", "\r\n", "x" * 300, "true", "FALSE", "0", "-1", "[]", "{}",
          "password: x", "secretAccessKey: y", "archive_command: z", "topology: tri", "\\", "@", "`"]


def mutate(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(9)
        i = rng.randrange(len(lines)) if lines else 0
        if op == 0 and lines:
            del lines[i]
        elif op == 1 and lines:
            lines.insert(i, lines[rng.randrange(len(lines))])
        elif op == 2 and len(lines) > 1:
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == 3 and lines:
            pos = rng.randint(0, len(lines[i]))
            lines[i] = lines[i][:pos] + rng.choice(TOKENS) + lines[i][pos:]
        elif op == 4 and lines:
            lines[i] = " " * rng.randint(0, 6) + lines[i].lstrip()
        elif op == 5 and lines and ": " in lines[i]:
            key, _, _ = lines[i].partition(": ")
            lines[i] = f"{key}: {rng.choice(TOKENS)}"
        elif op == 6:
            lines = lines[: rng.randint(0, len(lines))]
        elif op == 7 and lines and lines[i].strip():
            pos = rng.randrange(len(lines[i]))
            lines[i] = lines[i][:pos] + lines[i][pos + 1:]
        elif op == 8 and lines:
            indent = len(lines[i]) - len(lines[i].lstrip())
            lines.insert(i + 1, " " * indent + f"{rng.choice(['x', 'name', 'enabled', 'spec'])}: {rng.choice(TOKENS)}")
    return "\n".join(lines)


def same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def _texts() -> list[str]:
    rng = random.Random(20261125)
    seeds = [p.read_text(encoding="utf-8") for p in SEEDS]
    return [mutate(rng.choice(seeds), rng) for _ in range(CASES)]


TEXTS = _texts()


def test_mutations_are_mostly_distinct():
    # Guards the fuzzer itself: a broken mutate() would test one text 400 times.
    assert len(set(TEXTS)) > CASES * 0.9


@pytest.mark.parametrize("chunk", range(8))
def test_mutated_specs_never_crash(tmp_path: Path, chunk: int):
    answered = {"valid": 0, "invalid": 0}
    for n, text in enumerate(TEXTS[chunk::8]):
        path = tmp_path / f"m{n}.yaml"
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        spec, problems = spec_mod.check_file(str(path))
        errors = [p for p in problems if p.severity == "error"]
        assert (spec is None) == bool(errors), text
        answered["invalid" if errors else "valid"] += 1
        max_line = text.count("\n") + 2
        for p in problems:
            assert p.severity in ("error", "warning")
            assert 1 <= p.line <= max_line and p.column >= 1, (p, text)
            assert p.path and p.message and "\n" not in p.message and "\r" not in p.message, p
            assert "internal error" not in p.message, (p, text)
            assert LINE_RE.match(p.format()), p.format()
    assert answered["invalid"] > 0


@pytest.mark.parametrize("chunk", range(4))
def test_fast_path_agrees_with_round_trip_parser(chunk: int):
    fast_count = 0
    for text in TEXTS[chunk::4]:
        fast = yamlio.fast_load(text)
        if fast is None:
            continue
        fast_count += 1
        doc, problem = yamlio.parse("m.yaml", text)
        assert problem is None and doc is not None, (problem, text)
        assert same(fast, doc.data), text
        # The fast path accepts only what has no problem at all; the round-trip path must agree.
        full, found = spec_mod._findings(fast)
        _, problems = spec_mod.check_document(doc, text)
        assert sorted((p.path, p.message, p.severity) for p in problems) == \
               sorted((spec_mod.schema.dotted(f[0]), f[1], f[2]) for f in found), text
    assert fast_count > 0


def test_mutated_specs_through_the_cli(tmp_path: Path):
    files = []
    for n, text in enumerate(TEXTS[::10]):
        path = tmp_path / f"cli{n}.yaml"
        path.write_text(text, encoding="utf-8")
        files.append(str(path))
    for file in files:
        result = CliRunner().invoke(app, ["validate", file], env={"NO_COLOR": "1"})
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        assert result.exit_code in (0, 1) and "Traceback" not in result.output
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert all(LINE_RE.match(line) for line in lines), lines
        assert (result.exit_code == 1) == any("warning: " not in line for line in lines)
        as_json = CliRunner().invoke(app, ["validate", "-o", "json", file])
        assert as_json.exit_code == result.exit_code
        assert len(json.loads(as_json.stdout)) == len(lines)
