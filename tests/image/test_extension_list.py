"""image/extensions.yaml is the one source: the Dockerfile's install lists and the runner's CREATE list
are generated from it and must match it; chartgen.extensions derives the chart's preload parameters."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from chartgen import extensions
from chartgen.errors import ChartgenError

REPO = Path(__file__).resolve().parents[2]
IMAGE = REPO / "image"
SPILO = ["bg_mon", "pg_stat_statements", "pgextwlist", "pg_auth_mon", "set_user", "pg_cron", "pg_stat_kcache"]
SUPABASE = ["pgaudit", "plpgsql", "plpgsql_check", "pg_net", "pgsodium", "auto_explain", "pg_tle", "plan_filter",
            "supabase_vault"]


def _dockerfile_package_files() -> dict[str, list[str]]:
    """The package lists the Dockerfile installs, per major, as the RUN step reads them."""
    text = (IMAGE / "Dockerfile").read_text()
    majors = re.search(r'^ARG PG_MAJORS="([^"]+)"', text, re.M).group(1).split()
    assert re.search(r'grep -v \'\^#\' "/tmp/image-build/packages-\$\{major\}\.txt"', text), \
        "the Dockerfile no longer installs from packages-<major>.txt"
    copied = re.search(r"^COPY (.+) /tmp/image-build/$", text, re.M).group(1).split()
    out = {}
    for major in majors:
        assert f"packages-{major}.txt" in copied, f"packages-{major}.txt is not copied into the build"
        lines = (IMAGE / f"packages-{major}.txt").read_text().splitlines()
        out[major] = [line for line in lines if line and not line.startswith("#")]
    return out


def test_dockerfile_installs_exactly_the_list_for_every_supported_major():
    installed = _dockerfile_package_files()
    assert sorted(installed) == sorted(extensions.SUPPORTED_MAJORS)
    for major, packages in installed.items():
        assert packages == extensions.packages(major), f"packages-{major}.txt differs from image/extensions.yaml"


def test_generated_files_are_up_to_date():
    proc = subprocess.run([sys.executable, str(IMAGE / "generate-lists.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_runner_create_list_matches_the_extension_list():
    lines = [line.split() for line in (IMAGE / "bootstrap" / "create-extensions.txt").read_text().splitlines()
             if line and not line.startswith("#")]
    assert [name for name, _ in lines] == extensions.bootstrap_extensions()
    dockerfile = (IMAGE / "Dockerfile").read_text()
    assert "bootstrap/create-extensions.txt" in dockerfile


def test_preload_parameters():
    shared = extensions.shared_preload_libraries()
    assert shared == SPILO + SUPABASE, "Spilo's libraries first, then Supabase's, in order"
    with_tsdb = extensions.shared_preload_libraries(timescaledb=True)
    assert with_tsdb[:len(SPILO)] == SPILO and "timescaledb" in with_tsdb and len(with_tsdb) == len(shared) + 1
    assert with_tsdb.index("timescaledb") > with_tsdb.index("pgsodium")
    assert len(set(with_tsdb)) == len(with_tsdb)
    assert extensions.session_preload_libraries() == ["supautils"]
    assert "safeupdate" not in extensions.session_preload_libraries() + shared


def test_every_extension_of_the_issue_is_listed_with_packages_for_15_and_17():
    wanted = {"vector", "pg_cron", "wal2json", "postgis", "pgaudit", "plpgsql_check", "pgtap", "http", "pg_net",
              "pgsodium", "supabase_vault", "pg_graphql", "supautils", "pg_tle", "pgjwt", "pg_jsonschema",
              "wrappers", "pgmq", "plan_filter", "safeupdate", "timescaledb"}
    assert wanted <= set(extensions.names())
    catalog = extensions.load()
    by_name = {e.name: e for e in catalog.extensions}
    for name in wanted:
        assert by_name[name].packages and set(by_name[name].packages) == {"15", "17"}, name
    # Spilo's own patched builds must not be replaced by the Dockerfile.
    for name in ("pgaudit", "plpgsql_check", "pg_cron", "vector", "postgis", "wal2json", "timescaledb"):
        assert by_name[name].source == "spilo"
        assert not set(by_name[name].packages.values()) & set(extensions.packages("17") + extensions.packages("15"))


def test_unsupported_major_is_a_clear_error():
    with pytest.raises(ChartgenError, match="PostgreSQL 16 is not supported"):
        extensions.packages("16")


def _broken(tmp_path: Path, mutate) -> Path:
    data = yaml.safe_load((IMAGE / "extensions.yaml").read_text())
    mutate(data)
    path = tmp_path / "extensions.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["extensions"][0].update(source="apt"), r"extensions\[0\] \(pgaudit\)\.source: 'apt' is not one of"),
    (lambda d: d["extensions"][0].update(preload="always"), r"\.preload: 'always' is not one of"),
    (lambda d: d["extensions"][3]["packages"].pop("17"), r"\(pg_net\)\.packages: expected exactly the majors 15, 17"),
    (lambda d: d["extensions"][3].update(packages=None), r"\(pg_net\)\.packages: source pigsty is installed"),
    (lambda d: d["extensions"][0].update(typo=1), r"extensions\[0\]: unknown field\(s\) typo"),
    (lambda d: d["extensions"].append(dict(d["extensions"][0])), r"duplicate extension 'pgaudit'"),
    (lambda d: d["extensions"][0].pop("create"), r"extensions\[0\]: missing field 'create'"),
    (lambda d: d["extensions"][0].update(create="yes"), r"\.create: expected true or false"),
    (lambda d: d.update(spiloPreload=[]), r"spiloPreload: expected a non-empty list"),
    (lambda d: d["extensions"][3]["packages"].update({"15": "postgresql-17-pg-net"}), r"does not name PostgreSQL 15"),
    (lambda d: d["extensions"][6].update(create=True), r"auto_explain\)\.create: a module without CREATE EXTENSION"),
])
def test_malformed_list_is_a_clear_error(tmp_path, mutate, message):
    with pytest.raises(ChartgenError, match=message):
        extensions.load_file(_broken(tmp_path, mutate))


def test_not_yaml_and_missing_file_are_clear_errors(tmp_path):
    bad = tmp_path / "extensions.yaml"
    bad.write_text("extensions: [\n")
    with pytest.raises(ChartgenError, match=r"extensions.yaml:\d+:\d+: not valid YAML"):
        extensions.load_file(bad)
    with pytest.raises(ChartgenError, match="cannot read the extension list"):
        extensions.load_file(tmp_path / "missing.yaml")
    bad.write_text("- just a list\n")
    with pytest.raises(ChartgenError, match=r"\(document\): expected a mapping"):
        extensions.load_file(bad)
