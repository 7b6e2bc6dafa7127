"""A cluster bootstrapped with Supabase 15.8.1.004, then given 15.8.1.085 the way the deployed image gets it
(post_init.sh with Spilo's on_role_change arguments), compared with a fresh 15.8.1.085 cluster."""

from __future__ import annotations

import hashlib

import pytest

from tests.image import catalog, pg
from tests.support import supabase_image as img
from tests.support.upstream import NEW, OLD

pytestmark = pytest.mark.integration

EDITED_IN_PLACE = {"init-scripts/00000000000000-initial-schema.sql",
                   "migrations/20221207154255_create_pgsodium_and_vault.sql",
                   "migrations/20230529180330_alter_api_roles_for_inherit.sql",
                   "migrations/20231020085357_revoke_writes_on_cron_job_from_postgres.sql"}

# The image's repairs (image/bootstrap/repairs/) for what the edited files added: they run once on the upgrade.
REPAIRS = ["repairs/20221207154255-vault-grants.sql", "repairs/20231020085357-cron-access-owner.sql"]

# 004's 20221207154255 created pgsodium (and granted its roles to postgres and service_role); 085's edited
# version creates supabase_vault alone, so a fresh 085 cluster has no pgsodium. The upgraded cluster keeps the
# extension: its schemas, roles, memberships, functions, event trigger and default ACLs, and nothing else.
PGSODIUM_PARTS = {"roles", "memberships", "schemas", "relations", "functions", "extensions", "event_triggers",
                  "default_acls"}

# What Supabase's services rely on must be identical (pgsodium's rows aside).
MUST_MATCH = ("roles", "memberships", "databases", "db_settings", "event_triggers", "publications", "extensions",
              "default_acls")


def _is_pgsodium(row: tuple) -> bool:
    return any("pgsodium" in col for col in row)


@pytest.fixture(scope="module")
def clusters(pg_base, supabase_payload):
    base = pg_base / "upgrade"
    secrets = img.write_secrets(base / "secrets")
    runner = img.install_runner(base / "supabase", secrets)
    started = []

    def start(name):
        data = base / name / "data"
        pg.initdb(data)
        pg.configure(data, img.server_settings(runner))
        started.append(pg.start(data, env={"PATH": "/usr/bin:/bin"}))
        return started[-1]

    upgraded, fresh = start("upgraded"), start("fresh")
    old = img.run_bootstrap(runner, upgraded.conninfo(), env={"SUPABASE_MIGRATIONS_DIR": str(supabase_payload(OLD))})
    assert old.code == 0, old.stdout[-2000:] + old.stderr
    new = img.run_bootstrap(runner, fresh.conninfo(), env={"SUPABASE_MIGRATIONS_DIR": str(supabase_payload(NEW))})
    assert new.code == 0, new.stdout[-2000:] + new.stderr
    yield runner, upgraded, fresh, supabase_payload
    for c in started:
        c.stop()


@pytest.fixture(scope="module")
def upgrade_run(clusters):
    """The 085 image's post_init.sh as Spilo's on_role_change.sh calls it after a promotion:
    `/scripts/post_init.sh HUMAN_ROLE postgres` (a bare database name, local socket)."""
    runner, upgraded, _, payload = clusters
    scripts = img.install_scripts(runner.parent / "scripts", runner)
    env = {"SUPABASE_MIGRATIONS_DIR": str(payload(NEW)), "PGHOST": str(upgraded.sockets), "PGPORT": str(upgraded.port)}
    return img.run_bootstrap(scripts, "postgres", env=env, script="post_init.sh")


def test_upgrade_applies_each_new_migration_once_and_reports_the_edited_files(clusters, upgrade_run):
    runner, upgraded, _, payload = clusters
    assert upgrade_run.code == 0, upgrade_run.stdout[-3000:] + upgrade_run.stderr
    old_files = {p.relative_to(payload(OLD)).as_posix() for p in payload(OLD).glob("*/*.sql")}
    new_files = {p.relative_to(payload(NEW)).as_posix() for p in payload(NEW).glob("*/*.sql")}
    assert len(new_files - old_files) == 10
    assert [e["file"] for e in upgrade_run.event("applied")] == sorted(
        new_files - old_files, key=lambda n: (n.split("/")[0] != "init-scripts", n.encode())) + REPAIRS
    edited = upgrade_run.event("edited-after-apply")
    assert {e["file"] for e in edited} == EDITED_IN_PLACE
    for e in edited:
        assert e["current_sha256"] == hashlib.sha256((payload(NEW) / e["file"]).read_bytes()).hexdigest()
        assert e["applied_sha256"] == hashlib.sha256((payload(OLD) / e["file"]).read_bytes()).hexdigest()
    assert set(upgraded.value("select string_agg(name, ',') from supabase_bootstrap.edited_files").split(",")) \
        == EDITED_IN_PLACE
    # applied_files keeps what actually ran: the 004 bytes of the edited files, each file once, the repairs.
    assert upgraded.value("select count(*) from supabase_bootstrap.applied_files") == str(len(new_files) + len(REPAIRS))

    # What the vault repair is for: service_role stores and reads secrets on the upgraded cluster too.
    out = upgraded.psql("set role service_role; select vault.create_secret('kept', 'upgrade_probe') is not null;"
                        "select decrypted_secret from vault.decrypted_secrets where name = 'upgrade_probe';").stdout
    assert out.split() == ["SET", "t", "kept"]

    again = img.run_bootstrap(runner, upgraded.conninfo(), env={"SUPABASE_MIGRATIONS_DIR": str(payload(NEW))})
    assert again.code == 0 and again.event("applied") == []
    assert again.event("up-to-date")[0]["edited"] == 4
    assert len(again.event("edited-after-apply")) == 4, "reported on every run"
    assert upgraded.value("select count(*) from supabase_bootstrap.edited_files") == "4", "recorded once"


@pytest.mark.parametrize("dbname", ["postgres", "_supabase"])
def test_the_upgraded_catalog_matches_a_fresh_one_except_the_named_differences(clusters, upgrade_run, dbname):
    _, upgraded, fresh, _ = clusters
    assert upgrade_run.code == 0
    diff = catalog.differences(catalog.snapshot(upgraded, dbname), catalog.snapshot(fresh, dbname))
    # pgsodium exists only on the upgraded side, complete (extension, roles, schema, functions ...).
    sodium = {part: [r for r in sides["only_first"] if _is_pgsodium(r)] for part, sides in diff.items()}
    assert not any(_is_pgsodium(r) for sides in diff.values() for r in sides["only_second"])
    assert {part for part, rows in sodium.items() if rows} <= PGSODIUM_PARTS
    if dbname == "postgres":
        assert [r[0] for r in sodium["extensions"]] == ["pgsodium"]
    else:  # roles and memberships are cluster-wide; the extension lives in database postgres
        assert {part for part, rows in sodium.items() if rows} == {"roles", "memberships"}
    rest = {}
    for part, sides in diff.items():
        first = [r for r in sides["only_first"] if not _is_pgsodium(r)]
        if first or sides["only_second"]:
            rest[part] = {"only_first": first, "only_second": sides["only_second"]}
    for part in MUST_MATCH:
        assert part not in rest, (part, rest.get(part))
    # With the repairs applied, nothing but pgsodium's objects differs.
    assert rest == {}
