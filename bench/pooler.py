#!/usr/bin/env python3
"""pgbench through PgBouncer vs direct to the leader, with the rendered pooler settings.

Starts the lab cluster from a rendered spec (examples/trio.yaml by default), puts one PgBouncer
in front of the leader with the pool sizes the operator gives each pooler pod (maxDBConnections /
numberOfInstances, pool size half of that), and runs TPC-B-like pgbench at 50/200/1000 clients both ways.
Prints TPS, failed transactions, connection errors and p95 latency; writes JSON under bench/results/.

  .venv/bin/python bench/pooler.py                    # 50,200,1000 clients, 20 s each
  .venv/bin/python bench/pooler.py --clients 50 --seconds 5 --members 1 --payload DIR
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chartgen.lab import LabError, from_manifests  # noqa: E402
from chartgen.lab.cluster import Cluster  # noqa: E402
from chartgen.lab.pgenv import bin_dir  # noqa: E402
from chartgen.lab.plan import LabPlan  # noqa: E402
from chartgen.lab.pooler import raise_fd_limit  # noqa: E402
from chartgen.lab.spilo import SUPERUSER  # noqa: E402
from chartgen.lab.stats import percentile  # noqa: E402

DEFAULT_SPEC = ROOT / "examples" / "trio.yaml"
RESULTS = ROOT / "bench" / "results"


def pgbench(bindir: Path, port: int, password: str, clients: int, seconds: int, protocol: str = "simple") -> dict:
    with tempfile.TemporaryDirectory(prefix="pgbench-") as tmp:
        env = {**os.environ, "PGPASSWORD": password, "PGCONNECT_TIMEOUT": "10"}
        cmd = [str(bindir / "pgbench"), "-h", "127.0.0.1", "-p", str(port), "-U", SUPERUSER, "-c", str(clients),
               "-j", "2", "-T", str(seconds), "-M", protocol, "-l", "--failures-detailed", "-n", "postgres"]
        started = time.monotonic()
        res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp, timeout=seconds + 300)
        latencies = []
        for log in Path(tmp).glob("pgbench_log.*"):
            for line in log.read_text().splitlines():
                parts = line.split()
                # client_id transaction_no time(us) script_no time_epoch time_us: failed ones say "failed"
                if len(parts) >= 3 and parts[2].isdigit():
                    latencies.append(int(parts[2]) / 1000)
    out, err = res.stdout, res.stderr
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
    done = re.search(r"number of transactions actually processed: (\d+)", out)
    failed = re.search(r"number of failed transactions: (\d+)", out)
    # pgbench reports each client it could not connect; it then aborts the whole run (exit 1).
    conn_errors = len(re.findall(r"could not create connection for client", err))
    too_many = "too many clients" in err
    return {
        "clients": clients, "protocol": protocol, "exit": res.returncode,
        "tps": float(tps.group(1)) if tps else 0.0,
        "transactions": int(done.group(1)) if done else 0,
        "failed_transactions": int(failed.group(1)) if failed else None,
        "connection_errors": conn_errors, "too_many_clients": too_many,
        "p95_ms": percentile(latencies, 95), "p50_ms": percentile(latencies, 50),
        "wall_s": round(time.monotonic() - started, 1),
        "stderr_tail": " | ".join(err.strip().splitlines()[-3:])[:400],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", default="50,200,1000")
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--scale", type=int, default=10)
    ap.add_argument("--members", type=int, help="override numberOfInstances (the pooler does not care)")
    ap.add_argument("--spec", default=str(DEFAULT_SPEC), help="the deployment spec to render (default: %(default)s)")
    ap.add_argument("--payload", default=os.environ.get("CHARTGEN_LAB_PAYLOAD"),
                    help="Supabase's SQL in the initdb.d layout (optional: the members then bootstrap it)")
    ap.add_argument("--out", help="JSON file (default bench/results/pooler-<time>.json)")
    args = ap.parse_args()
    from chartgen.render import render_manifests

    manifests = render_manifests(args.spec)
    for m in manifests:
        if m.get("kind") == "postgresql" and args.members:
            m["spec"]["numberOfInstances"] = args.members
    plan: LabPlan = from_manifests(manifests)
    if plan.pooler is None:
        print(f"error: postgresql/{plan.name} has no connection pooler enabled", file=sys.stderr)
        return 1
    fd_limit = raise_fd_limit()
    bindir = bin_dir()
    out = Path(args.out) if args.out else RESULTS / f"pooler-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    clients = [int(c) for c in args.clients.split(",") if c]
    rows: list[dict] = []
    try:
        with Cluster(plan, log=lambda m: print(m, flush=True), payload=args.payload, pooler=False) as cluster:
            cluster.start()
            leader, _ = cluster.wait_leader(30)
            max_conn = cluster.psql(leader, "show max_connections").strip()
            bouncer = cluster.start_pgbouncer(leader)
            env = {**os.environ, "PGPASSWORD": cluster.creds.superuser_password}
            subprocess.run([str(bindir / "pgbench"), "-i", "-q", "-s", str(args.scale), "-h", "127.0.0.1", "-p",
                            str(cluster.member(leader).pg_port), "-U", SUPERUSER, "postgres"],
                           check=True, capture_output=True, env=env, timeout=600)
            print(f"pooler: {plan.pooler}; server max_connections {max_conn}; open files limit {fd_limit}",
                  flush=True)
            for c in clients:
                for path, port in (("pgbouncer", bouncer), ("direct", cluster.member(leader).pg_port)):
                    r = {"path": path, **pgbench(bindir, port, cluster.creds.superuser_password, c, args.seconds)}
                    rows.append(r)
                    print(f"{path:9} {c:5} clients: {r['tps']:8.1f} TPS, failed {r['failed_transactions']}, "
                          f"connection errors {r['connection_errors']}, p95 {r['p95_ms']} ms, exit {r['exit']}",
                          flush=True)
            # What a client with named prepared statements gets from PgBouncer 1.18 in transaction mode.
            r = {"path": "pgbouncer", **pgbench(bindir, bouncer, cluster.creds.superuser_password, 10, 5, "prepared")}
            rows.append(r)
            print(f"pgbouncer -M prepared, 10 clients: exit {r['exit']}, {r['transactions']} transactions, "
                  f"{r['stderr_tail']}", flush=True)
    except LabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    pool = plan.pooler
    report = {"pooler": pool.__dict__, "server_max_connections": int(max_conn), "members": plan.members,
              "durability": plan.durability, "seconds": args.seconds, "scale": args.scale, "rows": rows}
    out.write_text(json.dumps(report, indent=2) + "\n")
    print("\n| path | clients | protocol | TPS | failed tx | connection errors | p95 latency ms | pgbench exit |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['path']} | {r['clients']} | {r['protocol']} | {r['tps']:.0f} | {r['failed_transactions']} | "
              f"{r['connection_errors']} | {r['p95_ms']} | {r['exit']} |")
    print(f"\nJSON: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
