#!/usr/bin/env python3
"""HA presets measured on a real local Patroni cluster: outage, lost acknowledged commits, split brain,
time to Supabase-ready and Supabase's invariants.

For each failover preset x durability, the postgresql resource of a rendered spec (examples/trio.yaml by
default) gets the preset's spec.patroni values, and chartgen.lab runs the experiments on a 3-member etcd +
Patroni + PostgreSQL cluster on loopback whose members bootstrap Supabase's SQL (--payload, the
/docker-entrypoint-initdb.d layout image/fetch-supabase-sql.sh writes) and check Supabase's invariants after
every run. Prints one table row per preset x durability x experiment and writes the raw runs as JSON under
bench/results/.

  .venv/bin/python bench/ha.py --payload DIR                      # everything, 5 runs each (slow: hours)
  .venv/bin/python bench/ha.py --payload DIR --presets fast,balanced --durability async,sync --runs 5
  .venv/bin/python bench/ha.py --payload DIR --presets fast --durability strict -e sync_replica_loss --runs 3
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chartgen.lab import LabError, run_from_manifests  # noqa: E402
from chartgen.lab.experiments import EXPERIMENTS  # noqa: E402

PRESETS = ROOT / "chartgen" / "presets"
DEFAULT_SPEC = ROOT / "examples" / "trio.yaml"
RESULTS = ROOT / "bench" / "results"


def load_presets(name: str) -> dict:
    return yaml.safe_load((PRESETS / f"{name}.yaml").read_text())


def base_manifests(spec: str) -> list[dict]:
    from chartgen.render import render_manifests

    return render_manifests(spec)


def with_presets(manifests: list[dict], failover: dict, durability: dict, members: int,
                 overrides: dict) -> list[dict]:
    out = copy.deepcopy(manifests)
    for m in out:
        if m.get("kind") == "postgresql":
            patroni = m["spec"].setdefault("patroni", {})
            for key in ("synchronous_mode", "synchronous_mode_strict", "synchronous_node_count"):
                patroni.pop(key, None)
            patroni.update(failover)
            patroni.update(durability)
            patroni.update(overrides)
            m["spec"]["numberOfInstances"] = members
    return out


def describe_payload(payload: str | None) -> dict | None:
    """What was bootstrapped, without this machine's path: file count and one sha256 over names and bytes."""
    if not payload:
        return None
    import hashlib

    root = Path(payload)
    files = sorted(p for p in root.rglob("*.sql") if p.is_file())
    h = hashlib.sha256()
    for f in files:
        h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes())
    return {"sql_files": len(files), "sha256": h.hexdigest()}


def describe_spec(spec: str) -> str:
    path = Path(spec).resolve()
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name


def fmt(x: object) -> str:
    if x is None:
        return "-"
    return f"{x:.2f}" if isinstance(x, float) else str(x)


def print_table(results: list[dict]) -> None:
    header = ["members", "preset", "durability", "ready s", "experiment", "runs", "outage p50 s", "p95 s", "max s",
              "lost acks", "acks", "unknown", "split-brain writes", "split-brain window s", "blocked until repair",
              "redundancy p50 s", "failed runs", "invariant failures"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in results:
        for exp, s in r["summary"].items():
            preset = r["preset"] + "".join(f" {k}={v}" for k, v in (r.get("overrides") or {}).items())
            row = [r["cluster"]["members"], preset, r["durability"], r.get("ready_s"), exp, s["runs"],
                   s["outage_p50_s"], s["outage_p95_s"], s["outage_max_s"], s["lost_acks"], s["acks"], s["unknown"],
                   s["split_brain_writes"], s.get("split_brain_window_max_s"), s.get("blocked_until_repair"),
                   s["redundancy_p50_s"], s["failed_runs"], s.get("invariant_failures")]
            print("| " + " | ".join(fmt(x) for x in row) + " |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--presets", default="fast,balanced,safe")
    ap.add_argument("--durability", default="async,sync,strict")
    ap.add_argument("--experiments", "-e", default=",".join(EXPERIMENTS))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--members", type=int, default=3, help="2 shows strict blocking writes on replica loss")
    ap.add_argument("--spec", default=str(DEFAULT_SPEC), help="the deployment spec to render (default: %(default)s)")
    ap.add_argument("--payload", default=os.environ.get("CHARTGEN_LAB_PAYLOAD"),
                    help="Supabase's SQL in the initdb.d layout (image/fetch-supabase-sql.sh LOCK DIR); without "
                         "it the members bootstrap without Supabase's SQL and no invariant is checked")
    ap.add_argument("--patroni", action="append", default=[], metavar="KEY=VALUE",
                    help="override a spec.patroni value (YAML), e.g. failsafe_mode=false, to compare")
    ap.add_argument("--out", help="JSON file (default bench/results/ha-<time>.json)")
    ap.add_argument("--table", nargs="+", metavar="JSON", help="print the table of earlier results and exit")
    args = ap.parse_args()
    if args.table:
        print_table([r for f in args.table for r in json.loads(Path(f).read_text())["results"]])
        return 0

    failovers, durabilities = load_presets("failover"), load_presets("durability")
    presets = [p for p in args.presets.split(",") if p]
    durs = [d for d in args.durability.split(",") if d]
    for p in presets:
        if p not in failovers:
            ap.error(f"unknown preset {p} (have {', '.join(failovers)})")
    for d in durs:
        if d not in durabilities:
            ap.error(f"unknown durability {d} (have {', '.join(durabilities)})")
    out = Path(args.out) if args.out else RESULTS / f"ha-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    base = base_manifests(args.spec)
    overrides = {}
    for item in args.patroni:
        key, sep, value = item.partition("=")
        if not sep:
            ap.error(f"--patroni {item}: expected KEY=VALUE")
        overrides[key] = yaml.safe_load(value)
    report: dict = {"machine_note": f"{args.members} members on loopback, 2 cores shared with other work",
                    "spec": describe_spec(args.spec), "payload": describe_payload(args.payload), "results": []}
    if not args.payload:
        print("note: no --payload: Supabase's SQL is not applied and the invariants are not checked", flush=True)
    started = time.monotonic()

    def log(msg: str) -> None:
        print(f"[{time.monotonic() - started:7.1f}s] {msg}", flush=True)

    try:
        for preset in presets:
            for dur in durs:
                log(f"== {preset} x {dur}")
                res = run_from_manifests(with_presets(base, failovers[preset], durabilities[dur], args.members, overrides),
                                         experiments=args.experiments.split(","), runs=args.runs, log=log,
                                         artifacts=out.with_suffix(".logs"), payload=args.payload)
                report["results"].append({"preset": preset, "durability": dur, "overrides": overrides, **res})
                out.write_text(json.dumps(report, indent=2) + "\n")   # keep what is done if a later one fails
    except LabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; partial results in", out, file=sys.stderr)
        return 130

    print_table(report["results"])
    print(f"\nJSON: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
