#!/usr/bin/env python3
"""Render benchmark: cold single render (whole process) and 200 specs in one call, on one core.

Targets: cold single render <= 0.6 s including the Helm-engine self-check; 200 specs <= 15 ms each.
Usage: .venv/bin/python bench/render.py [--runs 7] [--specs 200]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHARTGEN = str(Path(sys.executable).parent / "chartgen")
TOPOLOGIES = ["single", "duo", "trio"]
SIZES = ["xsmall", "small", "medium", "large", "xlarge"]


TWELVE_PARAMETERS = ('statement_timeout: "60s"\n      work_mem: 4MB\n      random_page_cost: 1.1\n'
                     '      log_min_duration_statement: 1s\n      synchronous_commit: "on"\n'
                     '      idle_in_transaction_session_timeout: 10min\n      log_connections: true\n'
                     '      effective_io_concurrency: 200\n      pg_stat_statements.max: 10000\n'
                     '      cron.max_running_jobs: 8\n      checkpoint_completion_target: 0.9\n'
                     '      default_statistics_target: 200')


def one_core(cmd: list[str]) -> list[str]:
    return (["taskset", "-c", "0", *cmd]) if shutil.which("taskset") else cmd


def run(cmd: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(one_core(cmd), capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr}")
    return elapsed


def make_specs(directory: Path, count: int) -> list[str]:
    template = (ROOT / "examples" / "trio.yaml").read_text()
    paths = []
    for i in range(count):
        text = template.replace("name: acme-db", f"name: db-{i:03d}", 2)
        text = text.replace("topology: trio", f"topology: {TOPOLOGIES[i % 3]}")
        text = text.replace("size: medium", f"size: {SIZES[i % 5]}")
        text = text.replace("durability: sync", "durability: async")
        text = text.replace("storage:\n      size: 100Gi", "storage:\n      size: 500Gi")
        p = directory / f"db-{i:03d}.yaml"
        p.write_text(text)
        paths.append(str(p))
    return paths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--specs", type=int, default=200)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="chartgen-bench-") as tmp:
        t = Path(tmp)
        spec = str(ROOT / "examples" / "trio.yaml")
        run([CHARTGEN, "render", spec, "--output-dir", str(t / "warm")])  # page cache, .pyc files
        cold = [run([CHARTGEN, "render", spec, "--output-dir", str(t / f"cold{i}")]) for i in range(args.runs)]
        (t / "specs").mkdir()
        specs = make_specs(t / "specs", args.specs)
        many = run([CHARTGEN, "-q", "render", *specs, "--output-dir", str(t / "many")])
        # validate alone, with a dozen parameters per spec checked against PostgreSQL's catalog.
        for path in specs:
            text = Path(path).read_text().replace('statement_timeout: "60s"', TWELVE_PARAMETERS)
            Path(path).write_text(text)
        validate = run([CHARTGEN, "-q", "validate", *specs])
        rss_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    result = {
        "cold_single_render_s": {"median": round(statistics.median(cold), 3), "min": round(min(cold), 3),
                                 "max": round(max(cold), 3), "runs": args.runs},
        "many": {"specs": args.specs, "total_s": round(many, 2), "per_spec_ms": round(many / args.specs * 1000, 1)},
        "validate": {"specs": args.specs, "parameters_per_spec": 12, "total_s": round(validate, 2),
                     "per_spec_ms": round(validate / args.specs * 1000, 1)},
        "peak_rss_mib": round(rss_mib, 1),
        "cpu": "1 core (taskset -c 0)" if shutil.which("taskset") else "unpinned",
        "cores_on_machine": os.cpu_count(),
    }
    print(f"cold single render (whole process, median of {args.runs}): {result['cold_single_render_s']['median']:.3f} s"
          f"  (min {result['cold_single_render_s']['min']:.3f}, max {result['cold_single_render_s']['max']:.3f}; target <= 0.6 s)")
    print(f"{args.specs} specs in one call: {many:.2f} s total, {result['many']['per_spec_ms']:.1f} ms per spec"
          f"  (target <= 15 ms)")
    print(f"validate {args.specs} specs (12 parameters each) in one call: {validate:.2f} s total, "
          f"{result['validate']['per_spec_ms']:.1f} ms per spec")
    print(f"peak RSS of a chartgen process: {rss_mib:.0f} MiB")
    out = ROOT / "bench" / "results" / "render.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
