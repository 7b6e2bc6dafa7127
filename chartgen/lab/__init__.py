"""A local lab: the rendered chart's cluster on real etcd + Patroni + PostgreSQL + PgBouncer, on loopback.

Library use (a cluster to test against, e.g. Supabase's services):

    from chartgen.lab import from_manifests, start_cluster
    plan = from_manifests(render_manifests("spec.yaml"))       # the render's postgresql resource + ConfigMap
    with start_cluster(plan, payload="initdb.d/") as cluster:  # Supabase-ready when it returns
        info = cluster.connection_info()                       # primary / leader / replicas / pooler endpoints
        info.pooler.dsn(user="authenticator", password=info.supabase_password)
    # leaving the block stops every process by pid

``run_from_manifests(manifests, experiments=..., runs=..., payload=...)`` runs the HA experiments and
checks Supabase's invariants after each. Modules: plan (CR -> plan), spilo (patroni.yml per member),
supabase (the image's scripts, the Secret mount, the payload), pgenv (what Debian's PostgreSQL can load),
procs (processes by pid), cluster (start/inspect/break/stop), failures (why a member did not start),
pooler (pgbouncer.ini), writer (the client), experiments, invariants and stats.
"""

from .cluster import Cluster, ConnectionInfo, Endpoint
from .errors import LabError
from .experiments import EXPERIMENTS
from .invariants import Invariants
from .plan import LabPlan, from_manifests
from .runner import run_from_manifests, run_plan, start_cluster

__all__ = ["EXPERIMENTS", "Cluster", "ConnectionInfo", "Endpoint", "Invariants", "LabError", "LabPlan",
           "from_manifests", "run_from_manifests", "run_plan", "start_cluster"]
