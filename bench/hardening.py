#!/usr/bin/env python3
"""Cost of the safety measures, and what hostile inputs cost now: prints numbers, asserts nothing.

- write_chart: replacing OUT/<name> under flock with RENAME_EXCHANGE (and the rename fallback), per write;
- validate of a 415 KB spec that repeats a 400 KB string through aliases (wall time and peak RSS of the process);
- `diff --against` a chart whose template emits 200 MB (wall time and the largest process's peak RSS).

Usage: .venv/bin/python bench/hardening.py [--writes 200]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRIO = ROOT / "examples" / "trio.yaml"


def _ms(samples: list[float]) -> str:
    return f"median {statistics.median(samples) * 1000:.2f} ms, p90 {sorted(samples)[int(len(samples) * 0.9)] * 1000:.2f} ms"


def writes(count: int) -> None:
    from chartgen import output, render

    files = render.build(str(TRIO)).files
    for mode in ("exchange", "fallback"):
        if mode == "fallback":
            output._renameat2 = lambda src, dst, flags: False
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            output.write_chart(files, out, "acme-db")
            samples = []
            for _ in range(count):
                started = time.perf_counter()
                output.write_chart(files, out, "acme-db")
                samples.append(time.perf_counter() - started)
        print(f"write_chart ({mode}, {len(files)} files): {_ms(samples)}")


def _measured(code: str, *args: str) -> tuple[float, int, str]:
    """Wall seconds, peak RSS in KiB and stderr of a child Python running ``code``."""
    wrapper = ("import resource, sys, runpy\nsys.argv = ['x'] + sys.argv[1:]\n" + code +
               "\nprint('rss', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n")
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", wrapper, *args], capture_output=True, text=True, timeout=600)
    took = time.perf_counter() - started
    rss = int(next(line.split()[1] for line in proc.stderr.splitlines() if line.startswith("rss ")))
    return took, rss, proc.stderr


def aliases() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "amplified.yaml"
        refs = ", ".join(["*big"] * 1000)
        spec.write_text(TRIO.read_text() + f"notes: &big \"{'x' * 400_000}\"\nmore: [{refs}]\n")
        took, rss, err = _measured(
            "from chartgen import spec\nprint(spec.check_file(sys.argv[1])[1][0].format(), file=sys.stderr)", str(spec))
        print(f"validate, {spec.stat().st_size // 1024} KB spec expanding to ~400 MB: {took:.2f} s, "
              f"peak RSS {rss // 1024} MiB -> {err.splitlines()[0].split(': ', 2)[-1][:70]}")


def huge_template() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        chart = Path(tmp) / "huge"
        (chart / "templates").mkdir(parents=True)
        (chart / "Chart.yaml").write_text("apiVersion: v2\nname: huge\nversion: 1.0.0\n")
        (chart / "values.yaml").write_text("{}\n")
        (chart / "templates" / "big.yaml").write_text(
            '{{- range until 200 }}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big-{{ . }}\n'
            'data:\n  x: {{ repeat 1000000 "x" | quote }}\n{{- end }}\n')
        started = time.perf_counter()
        proc = subprocess.run([str(Path(sys.executable).parent / "chartgen"), "diff", str(TRIO), "--against",
                               str(chart)], capture_output=True, text=True, timeout=600)
        took = time.perf_counter() - started
        import resource

        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB, the largest process of the command
        print(f"diff against a template emitting 200 MB: {took:.2f} s, peak RSS {rss // 1024} MiB (largest "
              f"process) -> {proc.stderr.splitlines()[0][:90]}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writes", type=int, default=200)
    args = parser.parse_args()
    writes(args.writes)
    aliases()
    huge_template()


if __name__ == "__main__":
    main()
