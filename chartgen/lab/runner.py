"""The lab's entry point: manifests in, measured runs out; every process is stopped on the way out."""

from __future__ import annotations

import json
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from . import experiments, stats
from . import invariants as inv_mod
from . import plan as plan_mod
from . import supabase
from .cluster import Cluster
from .errors import LabError

DEFAULT_EXPERIMENTS = experiments.EXPERIMENTS


def _select(names: Iterable[str], p: plan_mod.LabPlan, log: Callable[[str], None]) -> list[str]:
    chosen = []
    for name in names:
        if name not in experiments.RUNNERS:
            raise LabError(f"unknown experiment {name!r} (choose from {', '.join(experiments.RUNNERS)})")
        if name == "sync_replica_loss" and not p.synchronous:
            log(f"skipping sync_replica_loss: postgresql/{p.name} runs without synchronous_mode")
            continue
        if p.members < 2:
            log(f"skipping {name}: postgresql/{p.name} has one member, there is nothing to fail over to")
            continue
        chosen.append(name)
    return chosen


class _TermAsInterrupt:
    """SIGTERM unwinds like Ctrl-C, so the finally blocks stop every process by pid."""

    def __enter__(self) -> None:
        self.previous = None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGTERM, self._raise)

    @staticmethod
    def _raise(*_: object) -> None:
        raise KeyboardInterrupt

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)


def start_cluster(p: plan_mod.LabPlan, log: Callable[[str], None] = print, payload: Path | str | None = None,
                  artifacts: Path | str | None = None, keep: bool = False, pooler: bool = True,
                  root_key: str | None = None) -> Cluster:
    """A started, Supabase-ready cluster (the caller stops it: ``with start_cluster(...) as c``).

    On a start failure every member's logs and configs go to ``artifacts`` (if given) and LabError says
    which member failed, with PostgreSQL's own error line and the log's path.
    """
    if payload is not None:
        supabase.check_payload(Path(payload))     # before any server starts
    cluster = Cluster(p, log=log, keep=keep, payload=payload, pooler=pooler, root_key=root_key)
    try:
        cluster.start()
    except BaseException as exc:
        kept = ""
        if artifacts is not None:
            dest = cluster.keep_artifacts(Path(artifacts) / f"{p.name}-start")
            kept = f"\nkept every member's logs and configs in {dest}"
        cluster.stop()
        if isinstance(exc, LabError):
            raise LabError(f"{exc}{kept}") from None
        raise
    return cluster


def run_plan(p: plan_mod.LabPlan, experiments_: Iterable[str] = DEFAULT_EXPERIMENTS, runs: int = 1,
             log: Callable[[str], None] = print, keep: bool = False,
             on_cluster: Callable[[Cluster], None] | None = None, artifacts: Path | None = None,
             payload: Path | str | None = None, on_ready: Callable[[Cluster], None] | None = None) -> dict:
    chosen = _select(experiments_, p, log)
    if runs < 1:
        raise LabError("runs must be at least 1")
    started = time.time()
    results: list[dict] = []
    at_ready: dict[str, str] | None = None
    with _TermAsInterrupt():
        cluster = start_cluster(p, log=log, payload=payload, artifacts=artifacts, keep=keep)
        try:
            what = "Supabase-ready (the leader has the Supabase schemas and every replica streams)" \
                if cluster.supabase_ready_needed else "ready (every replica streams; no Supabase payload)"
            log(f"{what} {cluster.ready_s} s after start")
            for line in cluster.connection_info().lines():
                log(f"  {line}")
            inv = inv_mod.Invariants.start(cluster) if cluster.supabase_ready_needed else None
            if inv is not None:
                at_ready = inv.check()
                log(_describe_invariants(at_ready, "at ready"))
            if on_ready is not None:
                on_ready(cluster)
            ctx = experiments.Context(cluster=cluster, workdir=cluster.workdir, log=log)
            experiments.ensure_table(ctx)
            for run in range(1, runs + 1):
                for name in chosen:
                    cluster.wait_healthy(6 * p.ttl + 120, "the previous run")
                    if inv is not None:
                        inv.write_secret()
                    try:
                        r = experiments.RUNNERS[name](ctx, run).as_dict()
                    except LabError as exc:
                        # One broken run is a result too: record it, keep its logs, repair, go on.
                        r = experiments.RunResult(name, run, p.durability, "?", ok=False,
                                                  note=" ".join(str(exc).split())[:600]).as_dict()
                        if artifacts is not None:
                            log(f"kept the logs of this run in {_keep_logs(cluster, r, artifacts)}")
                        _recover(cluster, log)
                        _check_invariants(cluster, inv, r, log)
                        results.append(r)
                        log(_describe(r))
                        continue
                    _check_invariants(cluster, inv, r, log)
                    results.append(r)
                    log(_describe(r))
                    if artifacts is not None and _anomalous(r, p):
                        kept = _keep_logs(cluster, r, artifacts)
                        log(f"kept the logs of this run in {kept}")
            if on_cluster is not None:
                on_cluster(cluster)
        finally:
            cluster.stop()
        leftovers = cluster.leftovers()
    return {
        "cluster": {
            "name": p.name, "members": p.members, "version_requested": p.version,
            "durability": p.durability, "ttl": p.ttl, "loop_wait": p.loop_wait, "retry_timeout": p.retry_timeout,
            "maximum_lag_on_failover": p.dcs.get("maximum_lag_on_failover"),
            "failsafe_mode": p.dcs.get("failsafe_mode"),
            "payload_files": len(cluster.supabase.files) if cluster.supabase else 0,
        },
        "started": started,
        "ready_s": cluster.ready_s,
        "invariants_at_ready": at_ready,
        "duration_s": round(time.time() - started, 1),
        "runs": results,
        "summary": stats.summarize(results),
        "leftovers": leftovers,
    }


def _check_invariants(cluster: Cluster, inv: inv_mod.Invariants | None, r: dict,
                      log: Callable[[str], None]) -> None:
    """Supabase's invariants on the leader the experiment left."""
    if inv is None:
        return
    res = inv.check()
    r["invariants"] = res
    r["invariant_failures"] = inv_mod.failed(res)
    # Since ready, per member: supabase-bootstrap runs (Spilo's promotion callback) that applied nothing.
    r["bootstrap_reruns"] = dict(inv.reruns)


def _describe_invariants(res: dict[str, str], when: str) -> str:
    bad = inv_mod.failed(res)
    if not bad:
        return f"invariants {when}: all {len(res)} hold ({', '.join(res)})"
    return f"invariants {when}: {len(bad)} of {len(res)} FAILED: " + "; ".join(bad)


def _recover(cluster: Cluster, log: Callable[[str], None]) -> None:
    """After a failed run: continue what is frozen, start what is down, wait for a whole cluster."""
    cluster.thaw_member(sorted(cluster.frozen))
    for m in cluster.members:
        proc = cluster.patroni.get(m.name)
        if proc is None or not proc.alive():
            log(f"recovering: starting {m.name} again")
            cluster.start_member(m.name)
    cluster.wait_healthy(6 * cluster.plan.ttl + 120, "recovery from a failed run")


def _anomalous(r: dict, p: plan_mod.LabPlan) -> bool:
    """A run worth a post-mortem: something lost or split, or an outage far beyond what the timings allow."""
    slow = r["outage_s"] is not None and r["outage_s"] > 2 * p.ttl + 10
    return bool(not r["ok"] or r["lost_acks"] or (p.synchronous and r["split_brain_writes"]) or slow
                or r.get("invariant_failures"))


def _keep_logs(cluster: Cluster, r: dict, artifacts: Path) -> Path:
    dest = artifacts / f"{cluster.plan.name}-{cluster.plan.durability}-{r['experiment']}-{r['run']}"
    cluster.keep_artifacts(dest)
    for f in cluster.workdir.glob(f"{r['experiment']}-{r['run']}.*"):
        shutil.copy(f, dest / f.name)
    (dest / "run.json").write_text(json.dumps(r, indent=2) + "\n")
    return dest


def _describe(r: dict) -> str:
    parts = [f"{r['experiment']} #{r['run']}: {r['old_leader']} -> {r['new_leader']}",
             f"outage {r['outage_s']} s", f"lost {r['lost_acks']}/{r['acks']}", f"unknown {r['unknown']}",
             f"redundant after {r['redundancy_s']} s"]
    if r["split_brain_writes"] is not None:
        parts.append(f"split-brain writes {r['split_brain_writes']}")
    if r["resumed_before_repair"] is not None:
        parts.append(f"writes resumed with standby down: {r['resumed_before_repair']}")
    if r["note"]:
        parts.append(r["note"])
    if "invariants" in r:
        bad = r.get("invariant_failures") or []
        parts.append("invariants hold" if not bad else f"invariants FAILED: {'; '.join(bad)}")
    return ", ".join(parts)


def run_from_manifests(manifests: list[dict], experiments: Iterable[str] = DEFAULT_EXPERIMENTS, runs: int = 1,
                       out: str | Path | None = None, log: Callable[[str], None] = print,
                       keep: bool = False, artifacts: str | Path | None = None,
                       payload: str | Path | None = None,
                       on_ready: Callable[[Cluster], None] | None = None,
                       on_cluster: Callable[[Cluster], None] | None = None) -> dict:
    """Run the HA experiments against a local Patroni cluster built from a rendered chart.

    ``manifests`` is the rendered chart (one ``postgresql`` resource among them); ``out``, if given, is a
    JSON file to write the result to; ``artifacts``, if given, a directory that receives every member's
    logs and configs when the cluster does not start, and for any run that failed, lost or split writes,
    broke an invariant or took far longer than the timings allow; ``payload``, Supabase's SQL in the
    /docker-entrypoint-initdb.d layout (image/fetch-supabase-sql.sh), bootstraps the members like the image
    and turns on the invariant checks. Raises LabError (a ChartgenError) for anything a user can fix.
    """
    p = plan_mod.from_manifests(manifests)
    result = run_plan(p, experiments, runs, log=log, keep=keep,
                      artifacts=Path(artifacts) if artifacts is not None else None, payload=payload,
                      on_ready=on_ready, on_cluster=on_cluster)
    if out is not None:
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2) + "\n")
    return result
