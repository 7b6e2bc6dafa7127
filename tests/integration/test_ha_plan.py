"""Reading a postgresql resource into a lab plan, and the patroni.yml the lab writes from it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from chartgen.lab import LabError, from_manifests, pgenv, spilo

FIXTURE = Path(__file__).resolve().parent / "data" / "ha_trio_sync.yaml"


@pytest.fixture()
def cr() -> dict:
    return yaml.safe_load(FIXTURE.read_text())


def test_plan_reads_patroni_parameters_and_pooler_like_the_operator(cr):
    p = from_manifests([{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}}, cr])
    assert (p.name, p.members, p.version, p.durability) == ("lab-db", 3, "17", "sync")
    assert (p.ttl, p.loop_wait, p.retry_timeout) == (20, 2, 7)
    assert p.dcs["failsafe_mode"] is True
    assert "supabase_realtime_replication_slot" in p.dcs["slots"]
    # The operator's split: these stay local, everything else goes to bootstrap.dcs.
    assert set(p.local_parameters) == {"shared_buffers", "shared_preload_libraries"}
    assert p.bootstrap_parameters["wal_level"] == "logical"
    # getConnectionPoolerEnvVars: 120 over 2 instances -> 60 per instance, pool 30, min and reserve 15.
    pool = p.pooler
    assert pool is not None
    assert (pool.max_db_conn, pool.default_pool_size, pool.min_pool_size, pool.reserve_pool_size) == (60, 30, 15, 15)
    assert pool.mode == "transaction"


def test_spilo_defaults_fill_what_the_cr_leaves_out(cr):
    del cr["spec"]["patroni"]
    p = from_manifests([cr])
    assert (p.ttl, p.loop_wait, p.retry_timeout, p.durability) == (30, 10, 10, "async")
    assert p.dcs["maximum_lag_on_failover"] == 33554432


def test_pooler_off_unless_enabled(cr):
    cr["spec"]["enableConnectionPooler"] = False
    assert from_manifests([cr]).pooler is None


@pytest.mark.parametrize("mutate, message", [
    (lambda m: m.clear(), "no acid.zalan.do/v1 postgresql resource"),
    (lambda m: m["spec"].update(numberOfInstances=0), "numberOfInstances must be at least 1"),
    (lambda m: m["spec"]["postgresql"].pop("version"), "version is missing"),
])
def test_bad_manifests_are_named(cr, mutate, message):
    mutate(cr)
    with pytest.raises(LabError, match=message):
        from_manifests([cr])


def test_timing_notes_say_what_patroni_will_change(cr):
    cr["spec"]["patroni"].update(ttl=10, loop_wait=10, retry_timeout=10)
    notes = " ".join(from_manifests([cr]).timing_notes())
    assert "below Patroni's minimum" in notes and "Patroni adjusts" in notes


@pytest.mark.integration
def test_member_config_drops_what_debian_postgresql_cannot_load(cr, tmp_path):
    bindir = pgenv.bin_dir()
    logged: list[str] = []
    shared = spilo.cluster_config(from_manifests([cr]), bindir, logged.append)
    preload = shared.local_parameters["shared_preload_libraries"].split(",")
    # What this machine has decides, library by library: kept when its .so exists here, else dropped by name.
    libdir = pgenv.pkglibdir(bindir)
    wanted = cr["spec"]["postgresql"]["parameters"]["shared_preload_libraries"].split(",")
    present = [lib for lib in wanted if (libdir / f"{lib}.so").is_file()]
    absent = [lib for lib in wanted if lib not in present]
    assert preload == present
    assert "pg_stat_statements" in preload and "auto_explain" in preload   # PostgreSQL's contrib, always here
    dropped = [line for line in logged if "shared_preload_libraries: dropped" in line]
    if absent:
        assert len(dropped) == 1 and all(lib in dropped[0] for lib in absent), (absent, dropped)
    else:
        assert dropped == []
    assert shared.local_parameters["shared_buffers"] == "128MB"
    assert any("shared_buffers=2GB capped" in line for line in logged)
    dcs = shared.bootstrap["dcs"]
    assert (dcs["ttl"], dcs["loop_wait"], dcs["retry_timeout"]) == (20, 2, 7)
    assert dcs["synchronous_mode"] is True and dcs["postgresql"]["use_pg_rewind"] is True
    member = spilo.Member("lab-db-0", 18001, 15431, tmp_path)
    cfg = spilo.member_config(from_manifests([cr]), shared, member, 12379, bindir, spilo.Credentials.generate())
    assert cfg["etcd3"] == {"hosts": ["127.0.0.1:12379"]}
    assert cfg["postgresql"]["listen"] == "127.0.0.1:15431"
    assert cfg["postgresql"]["parameters"]["unix_socket_directories"] == str(tmp_path / "run")


@pytest.mark.integration
def test_unknown_parameters_are_dropped_by_name(cr):
    cr["spec"]["postgresql"]["parameters"]["io_method"] = "worker"   # PostgreSQL 18 only
    logged: list[str] = []
    shared = spilo.cluster_config(from_manifests([cr]), pgenv.bin_dir(), logged.append)
    assert "io_method" not in shared.bootstrap["dcs"]["postgresql"]["parameters"]
    assert any("dropped io_method=worker" in line for line in logged)


def test_the_spilo_post_init_stand_in_is_shellcheck_clean():
    import subprocess
    import sys

    from chartgen.lab import supabase

    shellcheck = Path(sys.executable).parent / "shellcheck"
    proc = subprocess.run([str(shellcheck), "-f", "gcc", str(supabase.SPILO_STAND_IN)], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
