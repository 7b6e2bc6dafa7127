"""What makes a lab member a Supabase member: the image's scripts, the Secret mount, the payload.

A pod of this chart runs the image's ``/scripts/post_init.sh`` (Spilo's post_init, then
``supabase-bootstrap``) after initdb, points ``pgsodium.getkey_script`` / ``vault.getkey_script`` at the
image's ``supabase-root-key``, and mounts Supabase's secrets as files (the CR's ``supabase-secrets``
projected volume). The lab builds the same on disk, per cluster:

  <workdir>/scripts/post_init.sh               the image's wrapper, unchanged
  <workdir>/scripts/post_init.spilo.sh         stand-in for Spilo's own post_init (spilo_post_init.sh)
  <workdir>/scripts/on_role_change.sh          Spilo's promotion callback (spilo_on_role_change.sh): it
                                               re-runs post_init on every new primary
  <workdir>/scripts/supabase/*                 the image's bootstrap/ directory, unchanged except for
                                               defaults.env, whose two paths name the lab's directories
  <workdir>/secrets/                           the projected volume's files, mode 0440 like the CR's
  <payload>                                    the /docker-entrypoint-initdb.d layout (init-scripts/,
                                               migrations/), e.g. made by image/fetch-supabase-sql.sh
"""

from __future__ import annotations

import functools
import re
import secrets as random
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .. import resources
from .errors import LabError

SECRETS_VOLUME = "supabase-secrets"          # the CR's additionalVolumes entry (chart: postgresql.yaml)
IMAGE_SCRIPTS = "image/bootstrap"
WRAPPER = "post_init.sh"
KEY_SCRIPT = "supabase-root-key"
RUNNER = "supabase-bootstrap"
SPILO_STAND_IN = Path(__file__).with_name("spilo_post_init.sh")
SPILO_ON_ROLE_CHANGE = Path(__file__).with_name("spilo_on_role_change.sh")
# The operator's pam_role_name default, which it passes to Spilo as HUMAN_ROLE (pkg/util/config/config.go).
HUMAN_ROLE = "zalandos"
PAYLOAD_PHASES = ("init-scripts", "migrations")
# Schemas the leader must have before the lab calls the cluster Supabase-ready (image/README.md).
SUPABASE_SCHEMAS = ("auth", "storage", "realtime", "vault", "extensions", "graphql_public",
                    "supabase_functions", "pgbouncer")


def image_scripts() -> Path:
    try:
        return resources.path(IMAGE_SCRIPTS)
    except FileNotFoundError:
        raise LabError(f"the image's {IMAGE_SCRIPTS}/ is not part of this installation") from None


@dataclass(frozen=True)
class SecretsVolume:
    """The CR's projected ``supabase-secrets`` volume: where it is mounted and which files it holds."""

    mount_path: str
    mode: int
    secret_files: tuple[str, ...]                          # generated per cluster by the chart or the operator
    config_files: dict[str, str] = field(default_factory=dict)  # file -> value from the rendered ConfigMap


def secrets_volume(cr: dict, manifests: list[dict]) -> SecretsVolume | None:
    """Read the projected volume from the CR; ConfigMap items are resolved against the rendered ConfigMaps."""
    vols = [v for v in (cr.get("spec") or {}).get("additionalVolumes") or [] if v.get("name") == SECRETS_VOLUME]
    if not vols:
        return None
    vol = vols[0]
    projected = (vol.get("volumeSource") or {}).get("projected") or {}
    configmaps = {(m.get("metadata") or {}).get("name"): m.get("data") or {} for m in manifests
                  if isinstance(m, dict) and m.get("kind") == "ConfigMap"}
    secret_files: list[str] = []
    config_files: dict[str, str] = {}
    for source in projected.get("sources") or []:
        if "secret" in source:
            secret_files += [item["path"] for item in source["secret"].get("items") or []]
        elif "configMap" in source:
            name = source["configMap"].get("name")
            if name not in configmaps:
                raise LabError(f"volume {SECRETS_VOLUME}: ConfigMap {name} is not among the rendered manifests")
            for item in source["configMap"].get("items") or []:
                if item["key"] not in configmaps[name]:
                    raise LabError(f"volume {SECRETS_VOLUME}: ConfigMap {name} has no key {item['key']}")
                config_files[item["path"]] = str(configmaps[name][item["key"]])
    return SecretsVolume(mount_path=str(vol.get("mountPath")), mode=int(projected.get("defaultMode", 0o644)),
                         secret_files=tuple(secret_files), config_files=config_files)


def secret_value(name: str) -> str:
    """A fresh value for a generated secret file: the root key is 64 hex digits like the chart's."""
    if name == "root-key":
        return random.token_hex(32)
    return random.token_hex(20)


def check_payload(payload: Path) -> list[str]:
    """The payload's SQL files (relative names), or LabError if it is not the initdb.d layout."""
    if not payload.is_dir():
        raise LabError(f"payload {payload} is not a directory (make one with image/fetch-supabase-sql.sh LOCK DIR)")
    files = []
    for phase in PAYLOAD_PHASES:
        d = payload / phase
        if not d.is_dir():
            raise LabError(f"payload {payload} has no {phase}/ (expected the /docker-entrypoint-initdb.d layout "
                           "that image/fetch-supabase-sql.sh writes)")
        files += [f"{phase}/{p.name}" for p in sorted(d.iterdir()) if p.is_file() and p.name.endswith(".sql")]
    if not files:
        raise LabError(f"payload {payload} holds no .sql files")
    return files


@functools.cache
def available_extensions(bindir: Path) -> frozenset[str]:
    """Extensions this PostgreSQL can CREATE (a .control file in its share directory)."""
    try:
        share = subprocess.run([str(bindir / "pg_config"), "--sharedir"], capture_output=True, text=True,
                               check=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        raise LabError(f"pg_config --sharedir failed in {bindir}: {exc}") from None
    return frozenset(p.name.removesuffix(".control") for p in (Path(share) / "extension").glob("*.control"))


def filter_extension_list(text: str, available: frozenset[str]) -> tuple[str, list[str]]:
    """A create-extensions.txt without the extensions this machine lacks (and their names)."""
    kept, dropped = [], []
    for line in text.splitlines():
        name = line.split("#", 1)[0].strip().split(" ", 1)[0]
        if name and name not in available:
            dropped.append(name)
            continue
        kept.append(line)
    return "\n".join(kept) + "\n", dropped


@dataclass
class SupabaseSetup:
    """The per-cluster files; ``parameters`` are the lab's values for the key-script parameters."""

    scripts: Path
    secrets: Path
    payload: Path | None                 # None: no Supabase SQL; the key script and preloads still run
    files: list[str]
    values: dict[str, str]

    @property
    def post_init(self) -> str | None:
        return f'{self.scripts / WRAPPER} "{HUMAN_ROLE}"' if self.payload is not None else None

    @property
    def on_role_change(self) -> str | None:
        """Spilo's callback, as configure_spilo.py sets it (HUMAN_ROLE, then the callback script `true`)."""
        return f'{self.scripts / "on_role_change.sh"} {HUMAN_ROLE} true' if self.payload is not None else None

    @property
    def key_script(self) -> Path:
        return self.scripts / "supabase" / KEY_SCRIPT

    @property
    def postgres_password(self) -> str:
        return self.values["POSTGRES_PASSWORD"]


def prepare(workdir: Path, payload: Path | None, volume: SecretsVolume | None, bindir: Path,
            log: Callable[[str], None], root_key: str | None = None) -> SupabaseSetup:
    """Lay out scripts/ and secrets/ under ``workdir`` (the caller hands them to the postgres user)."""
    payload = payload.resolve() if payload is not None else None
    files = check_payload(payload) if payload is not None else []
    if volume is None:
        raise LabError(f"the postgresql resource has no {SECRETS_VOLUME} volume: the lab lays out Supabase's "
                       "secrets from it")
    src = image_scripts()
    scripts = workdir / "scripts"
    (scripts / "supabase").mkdir(parents=True)
    for f in src.iterdir():
        if f.is_file():
            shutil.copy2(f, scripts / "supabase" / f.name)
    # Spilo's image has the wrapper at /scripts/post_init.sh and Spilo's own script renamed beside it.
    shutil.copy2(src / WRAPPER, scripts / WRAPPER)
    shutil.copy2(SPILO_STAND_IN, scripts / "post_init.spilo.sh")
    shutil.copy2(SPILO_ON_ROLE_CHANGE, scripts / "on_role_change.sh")
    for f in (scripts / WRAPPER, scripts / "post_init.spilo.sh", scripts / "on_role_change.sh",
              scripts / "supabase" / RUNNER,
              scripts / "supabase" / KEY_SCRIPT):
        f.chmod(0o755)

    secrets_dir = workdir / "secrets"
    secrets_dir.mkdir()
    values: dict[str, str] = {}
    for name in volume.secret_files:
        values[name] = root_key if (name == "root-key" and root_key is not None) else secret_value(name)
    values.update(volume.config_files)
    image_list = (src / "create-extensions.txt").read_text()
    list_text, origin = volume.config_files.get("create-extensions.txt", image_list), "the image's"
    if "create-extensions.txt" in volume.config_files:
        origin = "the ConfigMap's"
    filtered, dropped = filter_extension_list(list_text, available_extensions(bindir))
    if dropped:
        # The runner prefers a list in the secrets directory (image/bootstrap/supabase-bootstrap).
        log(f"create-extensions.txt: dropped {', '.join(dropped)} from {origin} list "
            f"(not installed in {bindir.parent}); the bootstrap creates the rest")
        values["create-extensions.txt"] = filtered
    for name, value in values.items():
        (secrets_dir / name).write_text(value if name.endswith(".txt") else value + "\n")
        (secrets_dir / name).chmod(volume.mode)

    defaults = scripts / "supabase" / "defaults.env"
    text = defaults.read_text()
    paths = {"SUPABASE_SECRETS_DIR": secrets_dir}
    if payload is not None:
        paths["SUPABASE_MIGRATIONS_DIR"] = payload
    for key, value in paths.items():
        text, n = re.subn(rf"^{key}=.*$", f"{key}={value}", text, flags=re.M)
        if n != 1:
            raise LabError(f"{src / 'defaults.env'} does not set {key} exactly once; the lab cannot point it "
                           "at its own directory")
    defaults.write_text(text)
    if payload is None:
        log(f"Supabase: no payload given: members preload Supabase's libraries and read the root key from "
            f"{secrets_dir}, but bootstrap without Supabase's SQL (no post_init); invariants are not checked")
    else:
        log(f"Supabase: payload {payload} ({len(files)} SQL files), secrets {secrets_dir} (the pod's "
            f"{volume.mount_path}), post_init {scripts / WRAPPER} -> {RUNNER}")
    return SupabaseSetup(scripts=scripts, secrets=secrets_dir, payload=payload, files=files, values=values)


def key_script_parameters(params: dict[str, str], setup: SupabaseSetup, log: Callable[[str], None],
                          where: str) -> dict[str, str]:
    """``*.getkey_script`` parameters naming the image's key script point at the lab's copy of it."""
    out = dict(params)
    for key, value in params.items():
        if key.endswith(".getkey_script") and Path(value).name == KEY_SCRIPT:
            out[key] = str(setup.key_script)
            log(f"{where}: {key} {value} -> {setup.key_script} (the image's script, reading {setup.secrets})")
    return out
