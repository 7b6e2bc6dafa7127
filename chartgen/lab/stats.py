"""Summaries of experiment runs: percentiles of the outage and sums of what went wrong."""

from __future__ import annotations

import math
from collections.abc import Iterable


def percentile(values: Iterable[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100); None for no values."""
    xs = sorted(values)
    if not xs:
        return None
    pos = (len(xs) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return round(xs[lo] + (xs[hi] - xs[lo]) * (pos - lo), 3)


def summarize(runs: list[dict]) -> dict[str, dict]:
    """Per experiment: runs, p50/p95/max outage, lost acks, failed runs, split-brain writes, invariant failures."""
    out: dict[str, dict] = {}
    for name in dict.fromkeys(r["experiment"] for r in runs):
        rs = [r for r in runs if r["experiment"] == name]
        outages = [r["outage_s"] for r in rs if r["outage_s"] is not None]
        redundancy = [r["redundancy_s"] for r in rs if r["redundancy_s"] is not None]
        split = [r["split_brain_writes"] for r in rs if r["split_brain_writes"] is not None]
        windows = [r["split_brain_window_s"] for r in rs if r.get("split_brain_window_s") is not None]
        resumed = [r["resumed_before_repair"] for r in rs if r["resumed_before_repair"] is not None]
        out[name] = {
            "runs": len(rs),
            "failed_runs": sum(1 for r in rs if not r["ok"]),
            "outage_p50_s": percentile(outages, 50),
            "outage_p95_s": percentile(outages, 95),
            "outage_max_s": max(outages) if outages else None,
            "redundancy_p50_s": percentile(redundancy, 50),
            "lost_acks": sum(r["lost_acks"] for r in rs),
            "acks": sum(r["acks"] for r in rs),
            "unknown": sum(r["unknown"] for r in rs),
            "split_brain_writes": sum(split) if split else None,
            "split_brain_window_max_s": max(windows) if windows else None,
            # Supabase's invariants (chartgen/lab/invariants.py) checked after the run; None: not checked
            "invariant_failures": sum(len(r.get("invariant_failures") or []) for r in rs)
            if any("invariants" in r for r in rs) else None,
            # sync_replica_loss: runs in which writes stayed blocked until the standby came back
            "blocked_until_repair": sum(1 for x in resumed if not x) if resumed else None,
        }
    return out
