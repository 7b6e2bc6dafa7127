"""How the lab turns a writer's record into outage and loss numbers (pure functions, no servers)."""

from __future__ import annotations

from chartgen.lab.stats import percentile, summarize
from chartgen.lab.writer import WriteLog


def test_write_log_reads_acks_unknowns_and_skips_a_cut_line(tmp_path):
    f = tmp_path / "w.writes"
    f.write_text("A 1 10.000 5432\nA 2 10.005 5432\nU 3 10.010 terminating connection\n"
                 "F 10.100 connection failed\nA 4 12.500 5433\nA 5 12.5")   # the last line is cut short
    log = WriteLog.read(f)
    assert [a[0] for a in log.acks] == [1, 2, 4]
    assert [u[0] for u in log.unknown] == [3]
    assert log.connect_failures == 1


def test_outage_is_the_longest_gap_from_the_last_ack_before_the_disruption(tmp_path):
    f = tmp_path / "w.writes"
    # A switchover starts at t0 = 10.0 but writes stop only at 11.0 and resume at 13.5.
    f.write_text("\n".join(f"A {i} {t:.3f} 1" for i, t in enumerate([9.9, 9.995, 10.5, 11.0, 13.5, 13.51], 1)))
    log = WriteLog.read(f)
    assert log.last_ack_before(10.0) == 9.995
    assert log.first_ack_after(10.0) == 10.5
    assert round(log.longest_gap_from(10.0), 3) == 2.5


def test_percentiles_and_summary():
    assert percentile([], 50) is None
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([1.0, 2.0], 95) == 1.95
    runs = [{"experiment": "hard_kill", "outage_s": o, "redundancy_s": 30.0, "lost_acks": lost, "acks": 100,
             "unknown": 1, "ok": True, "split_brain_writes": None, "resumed_before_repair": None}
            for o, lost in ((19.0, 0), (21.0, 1))]
    s = summarize(runs)["hard_kill"]
    assert (s["runs"], s["outage_p50_s"], s["outage_max_s"], s["lost_acks"], s["acks"]) == (2, 20.0, 21.0, 1, 200)
