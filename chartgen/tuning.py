"""PostgreSQL parameters derived from a pod's resources: one small function, formulas in its docstring."""

from __future__ import annotations

from .limits import RESERVED_CONNECTIONS
from .quantity import pg_memory, to_bytes, to_cores

MiB = 2**20
GiB = 2**30


def max_connections(preset: int, pooler_max: int) -> int:
    """The size preset's max_connections, raised until the pooler's connections fit beside the reserved ones."""
    return max(preset, pooler_max + RESERVED_CONNECTIONS)


def derive_parameters(memory: str, cpu_limit: str, max_connections: int, storage: str) -> dict[str, tuple[str, str]]:
    """Parameters for a pod with ``memory`` (the limit), ``cpu_limit`` cores and a volume of ``storage``.

    Returns ``{name: (value, formula)}``; the formula string is what ``chartgen explain`` prints.

    With M = memory, C = CPU limit in cores (at least 1), N = max_connections, S = volume size:

    - ``shared_buffers`` = M / 4 (PostgreSQL's own guidance; more rarely helps, the page cache does the rest)
    - ``effective_cache_size`` = M * 3 / 4 (a planner hint: shared_buffers + the OS cache we expect)
    - ``maintenance_work_mem`` = min(M / 16, 2 GiB), at least 64 MiB (VACUUM, CREATE INDEX; few run at once)
    - ``work_mem`` = max(4 MiB, (M - shared_buffers) / (3 * N)) (each query may use a few sort/hash nodes;
      sized so that every allowed connection can use it three times without exceeding memory)
    - ``max_connections`` = N (the size preset; the pooler keeps real connections far below it)
    - ``max_wal_size`` = clamp(S / 10, 1 GiB, 16 GiB); ``min_wal_size`` = max_wal_size / 4
      (fewer forced checkpoints on big volumes, never more than a tenth of the disk)
    - ``max_slot_wal_keep_size`` = S / 4: a replication slot nobody reads (a stopped Realtime, a gone
      subscriber) may hold at most a quarter of the volume in WAL; past that PostgreSQL invalidates the
      slot instead of filling the disk and stopping the primary (losing a slot loses a consumer's place,
      a full disk loses the database)
    - ``max_worker_processes`` = max(8, 2 * C); ``max_parallel_workers`` = max(2, C);
      ``max_parallel_workers_per_gather`` = max(1, C / 2); ``max_parallel_maintenance_workers`` = max(1, C / 2)
    - ``random_page_cost`` = 1.1, ``effective_io_concurrency`` = 200 (network SSD volumes, not spinning disks)
    """
    mem = to_bytes(memory)
    cores = max(1, int(to_cores(cpu_limit)))
    disk = to_bytes(storage)
    shared = mem // 4
    maint = max(64 * MiB, min(mem // 16, 2 * GiB))
    work = max(4 * MiB, (mem - shared) // (3 * max_connections))
    max_wal = min(16 * GiB, max(1 * GiB, disk // 10))
    return {
        "shared_buffers": (pg_memory(shared), "memory / 4"),
        "effective_cache_size": (pg_memory(mem * 3 // 4), "memory * 3 / 4"),
        "maintenance_work_mem": (pg_memory(maint), "min(memory / 16, 2 GiB), at least 64 MiB"),
        "work_mem": (pg_memory(work), "max(4 MiB, (memory - shared_buffers) / (3 * max_connections))"),
        "max_connections": (str(max_connections), "size preset"),
        "max_wal_size": (pg_memory(max_wal), "clamp(storage / 10, 1 GiB, 16 GiB)"),
        "min_wal_size": (pg_memory(max_wal // 4), "max_wal_size / 4"),
        "max_slot_wal_keep_size": (pg_memory(disk // 4), "storage / 4"),
        "max_worker_processes": (str(max(8, 2 * cores)), "max(8, 2 * cpu)"),
        "max_parallel_workers": (str(max(2, cores)), "max(2, cpu)"),
        "max_parallel_workers_per_gather": (str(max(1, cores // 2)), "max(1, cpu / 2)"),
        "max_parallel_maintenance_workers": (str(max(1, cores // 2)), "max(1, cpu / 2)"),
        "random_page_cost": ("1.1", "SSD-backed volumes"),
        "effective_io_concurrency": ("200", "SSD-backed volumes"),
    }
