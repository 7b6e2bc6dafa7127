"""shared/session_preload_libraries come from the one list, image/extensions.yaml (chartgen.extensions)."""

from __future__ import annotations

import pytest

from chartgen import extensions

from .conftest import cr


def test_chart_copy_of_the_extension_list_is_current(repo_root, chart_dir):
    # The chart must install on its own, so it carries a copy; regenerate with
    #   cp image/extensions.yaml charts/spilo-supabase/files/extensions.yaml
    assert (chart_dir / "files" / "extensions.yaml").read_bytes() == (repo_root / "image" / "extensions.yaml").read_bytes()


@pytest.mark.parametrize("timescaledb", [False, True])
def test_preload_libraries_match_chartgen_extensions(render, timescaledb):
    params = cr(render({"supabase": {"timescaledb": timescaledb}}))["spec"]["postgresql"]["parameters"]
    assert params["shared_preload_libraries"].split(",") == extensions.shared_preload_libraries(timescaledb=timescaledb)
    assert params["session_preload_libraries"].split(",") == extensions.session_preload_libraries()


def test_spilo_libraries_stay_first(render):
    shared = cr(render({}))["spec"]["postgresql"]["parameters"]["shared_preload_libraries"].split(",")
    spilo = ["bg_mon", "pg_stat_statements", "pgextwlist", "pg_auth_mon", "set_user", "pg_cron", "pg_stat_kcache"]
    assert shared[: len(spilo)] == spilo
    for lib in ("pgaudit", "plpgsql", "plpgsql_check", "pg_net", "pgsodium", "auto_explain", "pg_tle", "plan_filter",
                "supabase_vault"):
        assert lib in shared


def test_supabase_parameters(render):
    params = cr(render({"postgresql": {"parameters": {"work_mem": "16MB", "max_connections": 200}}}))["spec"][
        "postgresql"]["parameters"]
    assert params["wal_level"] == "logical"
    assert params["cron.database_name"] == "postgres"
    assert params["work_mem"] == "16MB"
    assert params["max_connections"] == "200"  # numbers become strings, as the CRD wants


def test_extensions_override_lists_what_the_bootstrap_creates(render):
    docs = render({"supabase": {"extensions": ["pg_graphql", "pgcrypto"]}})
    (cm,) = [d for d in docs if d["kind"] == "ConfigMap"]
    assert cm["data"]["create-extensions.txt"] == "pg_graphql -\npgcrypto extensions\n"


def test_an_extension_that_needs_preloading_is_refused_without_it(render):
    """CREATE EXTENSION timescaledb fails on a server that did not preload it: the chart refuses the values."""
    with pytest.raises(Exception) as err:
        render({"supabase": {"extensions": ["timescaledb"], "timescaledb": False}})
    assert 'supabase.extensions: "timescaledb" needs shared_preload_libraries' in str(err.value)
    params = cr(render({"supabase": {"extensions": ["timescaledb"], "timescaledb": True}}))["spec"]["postgresql"]["parameters"]
    assert "timescaledb" in params["shared_preload_libraries"].split(",")
