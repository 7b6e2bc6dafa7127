"""A local HA lab: the rendered chart's Patroni settings on a real etcd + Patroni + PostgreSQL cluster.

``run_from_manifests(manifests, experiments=..., runs=..., out=...)`` is the entry point; the modules are
plan (CR -> plan), spilo (patroni.yml per member), pgenv (what Debian's PostgreSQL can load), procs
(processes by pid), cluster (start/inspect/break/stop), pooler (pgbouncer.ini), writer (the client),
experiments and stats.
"""

from .errors import LabError
from .experiments import EXPERIMENTS
from .plan import LabPlan, from_manifests
from .runner import run_from_manifests, run_plan

__all__ = ["EXPERIMENTS", "LabError", "LabPlan", "from_manifests", "run_from_manifests", "run_plan"]
