"""The image's Supabase pieces installed the way the image installs them, for tests on this machine.

`install_runner()` copies image/bootstrap/ (supabase-bootstrap, supabase-root-key, post_init.sh, defaults.env,
create-extensions.txt) into a directory, as the Dockerfile copies it to /scripts/supabase, with two changes:
defaults.env names the test's secrets directory (and payload) instead of /run/secrets/supabase, and
create-extensions.txt leaves out the extensions in UNAVAILABLE_HERE. Defaults.env is how the deployed scripts
find the secrets too (Spilo's runit/patroni/run strips the environment, so PostgreSQL's getkey call and
Patroni's post_init see only defaults.env). `run_bootstrap()` calls the runner as Patroni calls post_init.

`server_settings()` is the postgresql.conf that the chart gives a Supabase cluster (Spilo's and Supabase's
preload libraries from image/extensions.yaml, the key script, pg_cron's database), minus Spilo's own
libraries, which are not packaged for Debian: they are named in SPILO_LIBRARIES_NOT_HERE.
"""

from __future__ import annotations

import glob
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from chartgen import extensions
from tests.support.procs import as_postgres, give_to_postgres

REPO = Path(__file__).resolve().parents[2]
IMAGE = REPO / "image"
CATALOG = extensions.load_file(IMAGE / "extensions.yaml")

# Supabase extensions that Debian 12 cannot provide at all (no package, no buildable source here).
UNAVAILABLE_HERE = frozenset({"pg_graphql", "pg_jsonschema", "wrappers", "timescaledb"})
# Spilo's own preload libraries (zalando/spilo's configure_spilo.py); they are not Supabase's and are not
# packaged for Debian, so the clusters here run without them.
SPILO_LIBRARIES_NOT_HERE = frozenset({"bg_mon", "pgextwlist", "pg_auth_mon", "set_user", "pg_stat_kcache"})

SECRETS = {"POSTGRES_PASSWORD": "s3cret-Pa55 with 'quote'", "JWT_SECRET": "jwt-secret-at-least-32-characters-long",
           "JWT_EXP": "7200"}
HUMAN_ROLE = "zalandos"  # Spilo's default HUMAN_ROLE, which Patroni passes to post_init
ROOT_KEY = "4d1b1a8b0a7c8f5e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796"


def pg_lib_dir(major: str = "15") -> Path:
    return Path(f"/usr/lib/postgresql/{major}/lib")


def write_secrets(dest: Path, values: dict[str, str] | None = None, root_key: str | None = ROOT_KEY) -> Path:
    """The Supabase Secret as Kubernetes mounts it: one file per key, readable by postgres only."""
    dest.mkdir(parents=True, exist_ok=True)
    for name, value in (SECRETS if values is None else values).items():
        (dest / name).write_text(value + "\n")
    if root_key is not None:
        (dest / "root-key").write_text(root_key + "\n")
    give_to_postgres(dest)
    for f in dest.iterdir():
        f.chmod(0o400)
    return dest


def install_runner(dest: Path, secrets_dir: Path, migrations_dir: Path | None = None) -> Path:
    """image/bootstrap/ copied to ``dest`` (the image's /scripts/supabase), defaults.env pointing at the test's
    secrets (and payload, when given)."""
    shutil.copytree(IMAGE / "bootstrap", dest)
    lines = []
    for line in (dest / "defaults.env").read_text().splitlines():
        if line.startswith("SUPABASE_SECRETS_DIR="):
            line = f"SUPABASE_SECRETS_DIR={secrets_dir}"
        elif line.startswith("SUPABASE_MIGRATIONS_DIR=") and migrations_dir is not None:
            line = f"SUPABASE_MIGRATIONS_DIR={migrations_dir}"
        lines.append(line)
    (dest / "defaults.env").write_text("\n".join(lines) + "\n")
    create_list_here(dest / "create-extensions.txt")
    give_to_postgres(dest)
    return dest


def install_scripts(dest: Path, runner_dir: Path) -> Path:
    """The image's /scripts: post_init.sh (the wrapper), supabase/ (the runner), and post_init.spilo.sh, which
    stands in for Spilo's own post_init (it needs Spilo's files; it only has to succeed here)."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(IMAGE / "bootstrap" / "post_init.sh", dest / "post_init.sh")
    (dest / "post_init.spilo.sh").write_text("#!/bin/sh\nexit 0\n")
    (dest / "post_init.spilo.sh").chmod(0o755)
    if not (dest / "supabase").exists():
        (dest / "supabase").symlink_to(runner_dir)
    give_to_postgres(dest)
    return dest


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def events(self) -> list[dict]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.startswith("{")]

    def event(self, name: str) -> list[dict]:
        return [e for e in self.events if e["event"] == name]


def run_bootstrap(runner_dir: Path, conninfo: str, human_role: str = HUMAN_ROLE,
                  env: dict[str, str] | None = None, script: str = "supabase-bootstrap",
                  timeout: float = 600) -> Run:
    """The runner (or post_init.sh) as OS user postgres with Patroni's post_init environment: what Spilo's
    runit script keeps (PATH) plus Patroni's PGOPTIONS; everything else comes from defaults.env."""
    environment = {"PATH": "/usr/lib/postgresql/15/bin:/usr/bin:/bin",
                   "PGOPTIONS": "-c synchronous_commit=local -c statement_timeout=0"}
    environment.update(env or {})
    proc = subprocess.run(as_postgres([str(runner_dir / script), human_role, conninfo]), env=environment,
                          capture_output=True, text=True, timeout=timeout)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def shared_preload_libraries(timescaledb: bool = False) -> list[str]:
    libs = [lib for lib in CATALOG.shared_preload_libraries(timescaledb) if lib not in SPILO_LIBRARIES_NOT_HERE]
    missing = [lib for lib in libs if not (pg_lib_dir() / f"{lib}.so").exists() and lib != "plpgsql"]
    if missing:
        raise RuntimeError(f"preload libraries not installed: {', '.join(missing)} "
                           "(run ../shared/tools/build-supabase-extensions.sh as root; ./dev test does)")
    return libs


def server_settings(runner_dir: Path) -> dict[str, str]:
    key_script = str(runner_dir / "supabase-root-key")
    return {
        "shared_preload_libraries": ", ".join(shared_preload_libraries()),
        "session_preload_libraries": ", ".join(CATALOG.session_preload_libraries()),
        "cron.database_name": "postgres",
        "pgsodium.getkey_script": key_script,
        "vault.getkey_script": key_script,
    }


def sql_extensions() -> list[extensions.Extension]:
    """Every entry of image/extensions.yaml that has a CREATE EXTENSION."""
    return [e for e in CATALOG.extensions if e.sql]


def create_list_here(dest: Path, names: list[str] | None = None) -> Path:
    """The image's create-extensions list (or ``names`` with the runner's schemas), without what Debian 12
    cannot install; the unavailable ones are named by UNAVAILABLE_HERE, never silently dropped."""
    wanted = names if names is not None else CATALOG.bootstrap_extensions()
    by_name = {e.name: e for e in CATALOG.extensions}
    lines = [f"{n} {by_name[n].schema or '-'}" for n in wanted if n not in UNAVAILABLE_HERE]
    dest.write_text("\n".join(lines) + "\n")
    give_to_postgres(dest)
    return dest


def installed_extensions(major: str = "15") -> set[str]:
    return {Path(p).stem for p in glob.glob(f"/usr/share/postgresql/{major}/extension/*.control")}
