#!/usr/bin/env python3
"""Bootstrap benchmark on Supabase's real 15.8.1.085 payload, on a real PostgreSQL 15 with Supabase's
preload libraries (the image's key script reading a key file):

  fresh     supabase-bootstrap on a new cluster (53 files + the CREATE EXTENSION list)
  migrate   Supabase's own migrate.sh on the same files, on a cluster initialised as Supabase's image does
            (bootstrap superuser supabase_admin); it runs the same files with one psql per file
  rerun     supabase-bootstrap again on a bootstrapped cluster (nothing to apply)
  upgrade   a 15.8.1.004 cluster given the 15.8.1.085 payload (10 new files, 4 edited in place)

Targets: fresh <= 1.2 x migrate; rerun <= 0.5 s. Each number is the median of --runs runs, each on its own
cluster. The payloads are built by image/fetch-supabase-sql.sh from the shared release archives.
Usage (as root; the servers run as the postgres user): .venv/bin/python bench/bootstrap.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.image import pg  # noqa: E402
from tests.support import supabase_image as img  # noqa: E402
from tests.support.procs import as_postgres, give_to_postgres, stop_all  # noqa: E402
from tests.support.upstream import NEW, OLD, PayloadCache  # noqa: E402


# migrate.sh pastes the password into SQL unquoted, so the bench uses one without quotes (for both runners).
SECRETS = {**img.SECRETS, "POSTGRES_PASSWORD": "bench-password-without-quotes"}


def _cluster(base: Path, name: str, runner: Path, superuser: str = "postgres") -> pg.Cluster:
    data = base / name / "data"
    data.parent.mkdir(parents=True)
    give_to_postgres(data.parent)
    subprocess.run(as_postgres([str(pg.pg_bin() / "initdb"), "-D", str(data), "-U", superuser, "-E", "UTF8",
                                "--locale=C", "-N", "-A", "trust"]), check=True, capture_output=True)
    (data / "pg_hba.conf").write_text(pg.HBA)
    give_to_postgres(data)
    pg.configure(data, img.server_settings(runner))
    return pg.start(data, env={"PATH": "/usr/bin:/bin"})


def _timed_runner(runner: Path, cluster: pg.Cluster, payload: Path) -> tuple[float, img.Run]:
    t0 = time.monotonic()
    run = img.run_bootstrap(runner, cluster.conninfo(), env={"SUPABASE_MIGRATIONS_DIR": str(payload)})
    elapsed = time.monotonic() - t0
    if run.code != 0:
        raise SystemExit(f"supabase-bootstrap failed: {run.stderr.strip()[-500:]}")
    return elapsed, run


def _timed_migrate_sh(cluster: pg.Cluster, payload: Path) -> float:
    env = {"PATH": f"{pg.pg_bin()}:/usr/bin:/bin", "POSTGRES_HOST": str(cluster.sockets),
           "POSTGRES_PORT": str(cluster.port), "POSTGRES_DB": "postgres", "POSTGRES_USER": "supabase_admin",
           **SECRETS}
    t0 = time.monotonic()
    proc = subprocess.run(as_postgres(["sh", str(payload / "migrate.sh")]), env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - t0
    if proc.returncode != 0:
        raise SystemExit(f"migrate.sh failed: {proc.stderr.strip()[-500:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="bench-bootstrap-"))
    base.chmod(0o755)
    cache = PayloadCache()
    results: dict[str, list[float]] = {"fresh": [], "migrate": [], "rerun": [], "upgrade": []}
    files = {}
    try:
        payload_new, payload_old = cache(NEW), cache(OLD)
        secrets = img.write_secrets(base / "secrets", SECRETS)
        runner = img.install_runner(base / "supabase", secrets)
        for i in range(args.runs):
            c = _cluster(base, f"fresh{i}", runner)
            elapsed, run = _timed_runner(runner, c, payload_new)
            results["fresh"].append(elapsed)
            files["fresh"] = len(run.event("applied"))
            results["rerun"].append(_timed_runner(runner, c, payload_new)[0])
            c.stop()

            m = _cluster(base, f"migrate{i}", runner, superuser="supabase_admin")
            results["migrate"].append(_timed_migrate_sh(m, payload_new))
            m.stop()

            u = _cluster(base, f"upgrade{i}", runner)
            _timed_runner(runner, u, payload_old)
            elapsed, run = _timed_runner(runner, u, payload_new)
            results["upgrade"].append(elapsed)
            files["upgrade"] = len(run.event("applied"))
            files["edited"] = len(run.event("edited-after-apply"))
            u.stop()
    finally:
        stop_all()
        cache.cleanup()
        shutil.rmtree(base, ignore_errors=True)

    med = {k: statistics.median(v) for k, v in results.items()}
    for name, values in results.items():
        print(json.dumps({"case": name, "median_s": round(med[name], 3), "runs_s": [round(v, 3) for v in values]}))
    ratio = med["fresh"] / med["migrate"]
    print(json.dumps({"release": NEW, "files_applied_fresh": files["fresh"], "upgrade_from": OLD,
                      "files_applied_upgrade": files["upgrade"], "edited_in_place": files["edited"],
                      "fresh_vs_migrate_sh": round(ratio, 2), "target_ratio": 1.2, "ratio_ok": ratio <= 1.2,
                      "rerun_s": round(med["rerun"], 3), "rerun_ok": med["rerun"] <= 0.5,
                      "upgrade_s": round(med["upgrade"], 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
