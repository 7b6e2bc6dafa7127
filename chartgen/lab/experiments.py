"""The HA experiments: break the cluster the way Kubernetes nodes and pods break, measure what clients see.

Each run: a writer commits through a multi-host ``target_session_attrs=read-write`` connection; at t0 the
disruption starts; the member is repaired the way Kubernetes would (the pod comes back); the run ends when
the cluster is fully redundant again. Measures:
  outage      client-observed write outage: the longest time without an acknowledged commit, from the
              last one before t0 to the end of the run (a switchover's pause starts after t0, not at it)
  lost        acknowledged ids missing on the leader once the cluster is whole again
  unknown     commits that raised (they may or may not have committed; never counted as lost)
  redundancy  t0 -> every member streaming again (and a sync standby, under synchronous_mode)
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .cluster import Cluster
from .errors import LabError
from .writer import WriteLog, Writer

EXPERIMENTS = ("hard_kill", "graceful_stop", "switchover", "freeze", "sync_replica_loss", "dcs_stall")
ID_SPAN = 10_000_000         # ids per run; the split-brain probe uses the upper half
WARMUP_S = 1.5               # acknowledged writes before the disruption
SETTLE_S = 1.0               # writes after full redundancy, so late acks are in the log


@dataclass
class RunResult:
    experiment: str
    run: int
    durability: str
    old_leader: str
    new_leader: str | None = None
    outage_s: float | None = None
    failover_s: float | None = None          # t0 -> a (new) leader reported by Patroni
    redundancy_s: float | None = None
    acks: int = 0
    lost_acks: int = 0
    unknown: int = 0
    unknown_committed: int = 0               # "unknown" commits that turned out to be there
    split_brain_writes: int | None = None    # freeze: writes the old leader acknowledged after resume
    split_brain_window_s: float | None = None  # freeze: resume -> the old leader's last acknowledged write
    resumed_before_repair: bool | None = None  # sync_replica_loss: writes resumed with the replica still down
    ok: bool = True
    note: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Context:
    cluster: Cluster
    workdir: Path
    log: Callable[[str], None]
    commit_timeout: float = 3.0
    counter: list[int] = field(default_factory=lambda: [0])

    def next_start_id(self) -> int:
        self.counter[0] += 1
        return self.counter[0] * ID_SPAN


def ensure_table(ctx: Context) -> None:
    leader = ctx.cluster.leader()
    if leader is None:
        raise LabError("no leader to create the lab table on")
    ctx.cluster.psql(leader, "create table if not exists lab_writes (id bigint primary key, "
                             "at timestamptz not null default clock_timestamp())")


def _timeouts(ctx: Context) -> tuple[float, float]:
    """(time to wait for a failover, time to wait for full redundancy): generous functional bounds."""
    ttl = ctx.cluster.plan.ttl
    return 3 * ttl + 30, 6 * ttl + 120


def _start_writer(ctx: Context, start_id: int, name: str) -> Writer:
    out = ctx.workdir / f"{name}.writes"
    dsn = ctx.cluster.dsn(target_session_attrs="read-write", connect_timeout="2")
    w = Writer(ctx.cluster.venv, dsn, out, start_id, timeout=ctx.commit_timeout)
    w.wait_acks(0.0, 30, "writer warm-up")
    time.sleep(WARMUP_S)
    return w


def _finish(ctx: Context, r: RunResult, w: Writer, t0: float, start_id: int) -> RunResult:
    time.sleep(SETTLE_S)
    wl = w.stop()
    gap = wl.longest_gap_from(t0)
    if gap is not None and wl.first_ack_after(t0) is not None:
        r.outage_s = round(gap, 3)
    else:
        r.ok = False
        r.note = (r.note + "; " if r.note else "") + "no acknowledged write before and after the disruption"
    _count_losses(ctx, r, wl, start_id)
    return r


def _count_losses(ctx: Context, r: RunResult, wl: WriteLog, start_id: int) -> None:
    leader = ctx.cluster.leader()
    if leader is None:
        raise LabError("no leader to check acknowledged commits on")
    rows = ctx.cluster.psql(leader, f"select id from lab_writes where id >= {start_id} "
                                    f"and id < {start_id + ID_SPAN}")
    present = {int(x) for x in rows.split()}
    acked = {a[0] for a in wl.acks}
    r.acks = len(acked)
    r.lost_acks = len(acked - present)
    r.unknown = len(wl.unknown)
    r.unknown_committed = len({u[0] for u in wl.unknown} & present)
    if r.lost_acks:
        missing = sorted(acked - present)
        r.note = (r.note + "; " if r.note else "") + f"lost ids {missing[:5]}{'...' if len(missing) > 5 else ''}"


def _repair(ctx: Context, r: RunResult, name: str, t0: float, redundancy_timeout: float) -> None:
    ctx.cluster.start_member(name)
    r.redundancy_s = round(ctx.cluster.wait_healthy(redundancy_timeout, f"restarting {name}") - t0, 3)


def hard_kill(ctx: Context, run: int) -> RunResult:
    c = ctx.cluster
    old = _leader(c)
    r = RunResult("hard_kill", run, c.plan.durability, old)
    failover_timeout, redundancy_timeout = _timeouts(ctx)
    start_id = ctx.next_start_id()
    w = _start_writer(ctx, start_id, f"hard_kill-{run}")
    t0 = time.monotonic()
    c.kill_member(old)
    r.new_leader, at = c.wait_leader(failover_timeout, other_than=old)
    r.failover_s = round(at - t0, 3)
    w.wait_acks(t0, failover_timeout, "writes after the hard kill")
    # The node comes back once the cluster has moved on (a crashed pod is restarted by Kubernetes).
    _repair(ctx, r, old, t0, redundancy_timeout)
    return _finish(ctx, r, w, t0, start_id)


def graceful_stop(ctx: Context, run: int) -> RunResult:
    c = ctx.cluster
    old = _leader(c)
    r = RunResult("graceful_stop", run, c.plan.durability, old)
    failover_timeout, redundancy_timeout = _timeouts(ctx)
    start_id = ctx.next_start_id()
    w = _start_writer(ctx, start_id, f"graceful_stop-{run}")
    t0 = time.monotonic()
    c.stop_member_graceful(old, timeout=failover_timeout)
    r.new_leader, at = c.wait_leader(failover_timeout, other_than=old)
    r.failover_s = round(at - t0, 3)
    w.wait_acks(t0, failover_timeout, "writes after the graceful stop")
    _repair(ctx, r, old, t0, redundancy_timeout)
    return _finish(ctx, r, w, t0, start_id)


def switchover(ctx: Context, run: int) -> RunResult:
    c = ctx.cluster
    old = _leader(c)
    r = RunResult("switchover", run, c.plan.durability, old)
    failover_timeout, redundancy_timeout = _timeouts(ctx)
    status = c.members_status()
    # Under synchronous_mode Patroni only accepts the sync standby as candidate (and says so with a 412).
    candidates = c.sync_standbys(status) if c.plan.synchronous else \
        [s["name"] for s in status if s["name"] != old and s.get("state") == "streaming"]
    if not candidates:
        raise LabError(f"no switchover candidate in {status}")
    start_id = ctx.next_start_id()
    w = _start_writer(ctx, start_id, f"switchover-{run}")
    t0 = time.monotonic()
    done, output = c.switchover(old, candidates[0])
    if not done and c.plan.synchronous and c.leader() == old:
        # The sync standby can change between reading it and asking (Patroni answers 412 and patronictl
        # still exits 0); an operator asks again with the current one, and so does the lab, saying so.
        retry = [n for n in c.sync_standbys() if n != candidates[0]]
        if retry:
            r.note = f"{candidates[0]} was no longer the sync standby; asked again with {retry[0]}"
            done, output = c.switchover(old, retry[0])
    if not done:
        r.ok = False
        r.note = (r.note + "; " if r.note else "") + f"switchover refused or not done: {output[-300:]}"
    r.new_leader = c.leader()
    r.failover_s = round(time.monotonic() - t0, 3)
    w.wait_acks(t0, failover_timeout, "writes after the switchover")
    r.redundancy_s = round(c.wait_healthy(redundancy_timeout, "switchover") - t0, 3)
    return _finish(ctx, r, w, t0, start_id)


def freeze(ctx: Context, run: int) -> RunResult:
    """SIGSTOP the leader's Patroni and PostgreSQL past ttl, resume, and count writes it still accepts."""
    c = ctx.cluster
    old = _leader(c)
    r = RunResult("freeze", run, c.plan.durability, old)
    failover_timeout, redundancy_timeout = _timeouts(ctx)
    start_id = ctx.next_start_id()
    w = _start_writer(ctx, start_id, f"freeze-{run}")
    # The probe writes straight to the old leader only; it is started now and released at resume, so the
    # first attempt is not delayed by an interpreter start-up.
    probe_out = ctx.workdir / f"freeze-{run}.probe"
    probe = Writer(c.venv, c.dsn([old], connect_timeout="1"), probe_out, start_id + ID_SPAN // 2,
                   interval=0.01, timeout=1.0, wait_go=True, duration=max(10.0, 2.0 * c.plan.loop_wait + 5))
    t0 = time.monotonic()
    pids = c.freeze_member(old)
    try:
        r.new_leader, at = c.wait_leader(failover_timeout, other_than=old)
        r.failover_s = round(at - t0, 3)
        w.wait_acks(at, failover_timeout, "writes on the new leader while the old one is frozen")
        # Past ttl for certain, and a loop of the new leader's Patroni on top.
        remaining = t0 + c.plan.ttl + c.plan.loop_wait + 1 - time.monotonic()
        if remaining > 0:
            time.sleep(remaining)
    finally:
        c.thaw_member(pids)
    t_resume = time.monotonic()
    probe.go()
    old_port = c.member(old).pg_port
    r.redundancy_s = round(c.wait_healthy(redundancy_timeout, "resume of the frozen leader") - t0, 3)
    probe.proc.wait(60)
    probe_log = probe.stop()
    result = _finish(ctx, r, w, t0, start_id)
    wl = WriteLog.read(ctx.workdir / f"freeze-{run}.writes")
    writer_on_old = [a for a in wl.acks if a[1] > t_resume and a[2] == old_port]
    result.split_brain_writes = len(probe_log.acks) + len(writer_on_old)
    late = [a[1] for a in probe_log.acks] + [a[1] for a in writer_on_old]
    result.split_brain_window_s = round(max(late) - t_resume, 3) if late else 0.0
    if result.split_brain_writes:
        result.note = (result.note + "; " if result.note else "") + \
            f"old leader acknowledged {len(probe_log.acks)} probe and {len(writer_on_old)} writer commits after resume"
    return result


def sync_replica_loss(ctx: Context, run: int) -> RunResult:
    """Kill the sync standby: under strict, commits wait until a sync standby is back."""
    c = ctx.cluster
    if not c.plan.synchronous or c.plan.members < 2:
        raise LabError("sync_replica_loss needs synchronous_mode and at least two members")
    old = _leader(c)
    r = RunResult("sync_replica_loss", run, c.plan.durability, old)
    failover_timeout, redundancy_timeout = _timeouts(ctx)
    syncs = c.sync_standbys()
    if not syncs:
        raise LabError("no sync standby to lose")
    victim = syncs[0]
    start_id = ctx.next_start_id()
    w = _start_writer(ctx, start_id, f"sync_replica_loss-{run}")
    t0 = time.monotonic()
    c.kill_member(victim)
    # Long enough for the dead member's key to expire and for Patroni to pick another sync standby if it
    # has one (trio); with none left, strict mode keeps commits waiting for the whole hold.
    hold = c.plan.ttl + 2 * c.plan.loop_wait + 5
    time.sleep(hold)
    wl = w.log()
    r.resumed_before_repair = any(t0 + hold / 2 < a[1] <= t0 + hold for a in wl.acks)
    r.note = f"lost sync standby {victim}"
    r.new_leader = c.leader()
    c.start_member(victim)
    w.wait_acks(t0 + hold, failover_timeout, "writes after the sync standby returned")
    r.redundancy_s = round(c.wait_healthy(redundancy_timeout, f"restarting {victim}") - t0, 3)
    return _finish(ctx, r, w, t0, start_id)


def dcs_stall(ctx: Context, run: int) -> RunResult:
    """The DCS stops answering past ttl (on Kubernetes: the API server), while every member is healthy.

    With failsafe_mode the primary keeps its role (all members still answer it over the REST API); without
    it, the primary demotes itself after retry_timeout although nothing is wrong with the database.
    """
    c = ctx.cluster
    if c.etcd is None:
        raise LabError("no etcd to stall")
    old = _leader(c)
    r = RunResult("dcs_stall", run, c.plan.durability, old)
    failover_timeout, redundancy_timeout = _timeouts(ctx)
    start_id = ctx.next_start_id()
    w = _start_writer(ctx, start_id, f"dcs_stall-{run}")
    t0 = time.monotonic()
    hold = c.plan.ttl + 5
    c.etcd.signal(signal.SIGSTOP)
    try:
        time.sleep(hold)
    finally:
        c.etcd.signal(signal.SIGCONT)
    r.note = f"etcd stopped for {hold} s (failsafe_mode {c.plan.dcs.get('failsafe_mode')})"
    w.wait_acks(t0 + hold, failover_timeout, "writes after the DCS came back")
    r.redundancy_s = round(c.wait_healthy(redundancy_timeout, "the DCS stall") - t0, 3)
    # Right after the stall the leader key may still be missing from the DCS; ask the members.
    r.new_leader = c.primary()
    return _finish(ctx, r, w, t0, start_id)


def _leader(c: Cluster) -> str:
    name = c.leader()
    if name is None:
        raise LabError("no leader before the experiment")
    return name


RUNNERS: dict[str, Callable[[Context, int], RunResult]] = {
    "hard_kill": hard_kill,
    "graceful_stop": graceful_stop,
    "switchover": switchover,
    "freeze": freeze,
    "sync_replica_loss": sync_replica_loss,
    "dcs_stall": dcs_stall,
}
