"""``chartgen init``: answers -> a commented starter spec that validates.

Pure: the questions, their defaults, checking one answer and writing the spec text. The CLI decides
whether to ask (a terminal, no ``--yes``) and where the file goes. Allowed values come from the spec
schema, so the questions never drift from what ``chartgen validate`` accepts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

import yaml

from . import schema, spec as spec_mod, yamlio
from .errors import Problem

BACKUP_TARGETS = ("s3", "gcs", "azure", "none")
DEFAULT_IMAGE = "ghcr.io/spilo-supabase/spilo-supabase"  # the base chart's default image
#: The image tag pairs the PostgreSQL major with the Spilo and Supabase releases the image was built from.
DEFAULT_IMAGE_TAG = "{pg}-4.0-p3-supabase-15.8.1.085"


def _enum(*path: str) -> list[str]:
    return [str(v) for v in (schema.subschema(path) or {}).get("enum", [])]


def _durability_for(topology: str) -> str:
    # trio can afford synchronous replication without writes stalling when one replica is down;
    # duo with sync blocks writes while its only replica is away, and single has no replica at all.
    return "sync" if topology == "trio" else "async"


@dataclass(frozen=True)
class Question:
    key: str  # the answer's name, also the CLI flag (--pg-version for pg_version)
    text: str
    path: tuple  # where the answer lands in the spec (checked against the schema there)
    default: Callable[[dict], str]
    choices: Callable[[], list[str]] | None = None
    optional: bool = False  # an empty answer leaves the field out
    applies: Callable[[dict], bool] = lambda a: True
    ask: bool = True  # False: a flag only, never prompted (the default is good for almost everyone)


def _target(*names: str) -> Callable[[dict], bool]:
    return lambda a: a.get("backup") in names


def _schema_default(*path: str) -> str:
    # One source of truth: the starter spec writes the schema's own default.
    return str((schema.subschema(path) or {}).get("default", ""))


QUESTIONS: tuple[Question, ...] = (
    Question("name", "Cluster name (the postgresql resource and its services)", ("metadata", "name"),
             lambda a: "supabase-db"),
    Question("namespace", "Namespace", ("metadata", "namespace"), lambda a: "supabase"),
    Question("topology", "Topology: 1, 2 or 3 instances", ("spec", "topology"),
             lambda a: "trio", lambda: _enum("spec", "topology")),
    Question("durability", "Durability: sync and strict lose no acknowledged commit", ("spec", "durability"),
             lambda a: _durability_for(a.get("topology", "trio")), lambda: _enum("spec", "durability")),
    Question("pg_version", "PostgreSQL major version", ("spec", "postgres", "version"),
             lambda a: "17", lambda: _enum("spec", "postgres", "version")),
    Question("size", "Size preset (cpu, memory, tuned parameters)", ("spec", "postgres", "size"),
             lambda a: "small", lambda: _enum("spec", "postgres", "size")),
    Question("storage", "Volume size per instance", ("spec", "postgres", "storage", "size"), lambda a: "50Gi"),
    Question("storage_class", "StorageClass (empty: the cluster's default)",
             ("spec", "postgres", "storage", "storageClass"), lambda a: "", optional=True),
    Question("image", "Image repository (built from image/)", ("spec", "image", "repository"),
             lambda a: DEFAULT_IMAGE),
    Question("image_tag", "Image tag", ("spec", "image", "tag"),
             lambda a: DEFAULT_IMAGE_TAG.format(pg=a.get("pg_version", "17"))),
    Question("backup", "Backup target (WAL archive and base backups)", ("spec", "backup"),
             lambda a: "none", lambda: list(BACKUP_TARGETS)),
    Question("bucket", "Bucket", ("spec", "backup", "s3", "bucket"),
             lambda a: f"{a.get('name', 'supabase-db')}-backups", applies=_target("s3", "gcs")),
    Question("endpoint", "S3-compatible endpoint URL (empty: AWS S3)", ("spec", "backup", "s3", "endpoint"),
             lambda a: "", optional=True, applies=_target("s3")),
    Question("region", "Bucket region", ("spec", "backup", "s3", "region"),
             lambda a: "us-east-1", applies=_target("s3")),
    Question("storage_account", "Azure storage account", ("spec", "backup", "azure", "storageAccount"),
             lambda a: "supabasebackups", applies=_target("azure")),
    Question("container", "Azure blob container", ("spec", "backup", "azure", "container"),
             lambda a: f"{a.get('name', 'supabase-db')}-backups", applies=_target("azure")),
    Question("ca_bundle", "Secret holding the endpoint's CA certificate, key ca.crt (empty: a public CA)",
             ("spec", "backup", "s3", "caBundle", "secretName"), lambda a: "", optional=True,
             applies=lambda a: a.get("backup") == "s3" and bool(a.get("endpoint"))),
    Question("credentials_secret", "Secret holding the backup credentials (you create it)",
             ("spec", "backup", "s3", "credentials", "secretName"),
             lambda a: f"{a.get('name', 'supabase-db')}-backup-creds", applies=_target("s3", "gcs", "azure")),
    Question("schedule", "Base backup schedule (cron, UTC)", ("spec", "backup", "schedule"),
             lambda a: _schema_default("spec", "backup", "schedule"), applies=_target("s3", "gcs", "azure"),
             ask=False),
    Question("pooler", "PgBouncer pooler", ("spec", "pooler", "enabled"), lambda a: "on",
             lambda: ["on", "off"], ask=False),
    Question("pooler_instances", "Pooler pods", ("spec", "pooler", "instances"),
             lambda a: _schema_default("spec", "pooler", "instances"), applies=lambda a: a.get("pooler") != "off",
             ask=False),
    Question("chart_version", "Chart version (SemVer)", ("chart", "version"), lambda a: "0.1.0"),
)

BY_KEY = {q.key: q for q in QUESTIONS}


def pending(answers: dict) -> list[Question]:
    """The questions still to answer, given the answers so far (the backup target decides its follow-ups)."""
    return [q for q in QUESTIONS if q.key not in answers and q.ask and q.applies(answers)]


def defaults(answers: dict) -> dict:
    """``answers`` completed with the default of every question that applies, in question order."""
    out = dict(answers)
    for q in QUESTIONS:
        if q.key not in out and q.applies(out):
            out[q.key] = q.default(out)
    return out


def _path(q: Question, answers: dict) -> tuple:
    # The bucket and credentials questions are shared by the targets; their schema path follows the answer.
    target = answers.get("backup")
    if q.key in ("bucket", "credentials_secret") and target in ("gcs", "azure"):
        return ("spec", "backup", target) + q.path[3:]
    return q.path


def check_answer(key: str, value: str, answers: dict) -> str | None:
    """Why ``value`` is not a valid answer to question ``key`` (one line), or None when it is fine."""
    q = BY_KEY[key]
    if q.optional and value == "":
        return None
    if q.choices is not None:
        choices = q.choices()
        if value not in choices:
            return f"{value!r} is not one of {', '.join(choices)}{schema.suggest(value, choices)}"
        return None
    path = _path(q, answers)
    node = schema.subschema(path) or {}
    if node.get("type") == "integer":
        if not value.strip().lstrip("-").isdigit():
            return f"{value!r} is not a whole number"
        value = int(value)  # type: ignore[assignment]
    probe = {**node, "$defs": schema.schema()["$defs"]}
    errors = list(schema._Validator(probe).iter_errors(value))
    if not errors:
        return None
    # The spec's own wording ("a SemVer 2 version ...") reads better than the bare regex.
    kinds = {e.validator for e in errors}
    if "maxLength" in kinds:
        return f"{value!r} is longer than {node['maxLength']} characters"
    if "pattern" in kinds:
        words = schema._PATTERN_WORDS.get(node.get("pattern", ""))
        return f"{value!r} is not {words}" if words else f"{value!r} does not match {node['pattern']}"
    return f"{value!r}: {errors[0].message}"


def problems(answers: dict) -> list[str]:
    """Every invalid answer, as ``--flag: why`` lines."""
    out = []
    full = defaults(answers)
    for key, value in full.items():
        if key in BY_KEY and BY_KEY[key].applies(full):
            why = check_answer(key, value, full)
            if why:
                out.append(f"--{key.replace('_', '-')}: {why}")
    return out


def _scalar(value: Any) -> str:
    """A YAML scalar, quoted only when plain style would change its meaning (versions like "17")."""
    if isinstance(value, str):
        plain = value and yaml.safe_load(value) == value and "#" not in value and ": " not in value
        return value if plain else json.dumps(value)
    return json.dumps(value)


_COMMENT_COLUMN = 30


def _align(line: str) -> str:
    """Move a trailing ``  # comment`` to a fixed column (lines without one are left alone)."""
    code, sep, comment = line.partition("  # ")
    if not sep or not code.strip():
        return line
    return f"{code.rstrip():<{_COMMENT_COLUMN - 1}} # {comment.strip()}"


def render(answers: dict) -> str:
    """The commented spec text for ``answers`` (missing answers take their defaults)."""
    a = defaults(answers)
    q = _scalar
    lines = [
        f"# {a['name']}: a Supabase database on the Zalando Postgres Operator, written by `chartgen init`.",
        "# Every field is described in docs/spec-reference.md (or: chartgen schema).",
        "# Next:  chartgen validate THIS_FILE  &&  chartgen render THIS_FILE --output-dir dist/",
        "apiVersion: chartgen/v1",
        "kind: SupabaseDatabase",
        "metadata:",
        f"  name: {q(a['name'])}          # services: {a['name']}, {a['name']}-repl, {a['name']}-pooler",
        f"  namespace: {q(a['namespace'])}",
        "spec:",
        f"  topology: {q(a['topology'])}          # single | duo | trio: 1 / 2 / 3 instances",
        f"  durability: {q(a['durability'])}        # async | sync | strict: how many copies a commit waits for",
        "  failover: balanced       # fast | balanced | safe: how quickly a dead primary is replaced",
        "  postgres:",
        f"    version: {q(a['pg_version'])}",
        f"    size: {q(a['size'])}            # xsmall .. xlarge: cpu, memory and tuned parameters",
        "    storage:",
        f"      size: {q(a['storage'])}",
    ]
    if a.get("storage_class"):
        lines.append(f"      storageClass: {q(a['storage_class'])}")
    lines += [
        "    parameters: {}         # postgresql.conf overrides; they win over the size preset",
        "  image:                   # built from image/: Spilo plus the Supabase extensions",
        f"    repository: {q(a['image'])}",
        f"    tag: {q(a['image_tag'])}",
    ]
    if a["pooler"] == "off":
        lines += ["  pooler:                  # PgBouncer off: Supabase services connect to <name> directly",
                  "    enabled: false"]
    else:
        lines += ["  pooler:                  # PgBouncer: point Supabase services at <name>-pooler",
                  "    enabled: true",
                  f"    instances: {a['pooler_instances']}",
                  "    mode: transaction"]
    lines += _backup_lines(a)
    lines += [
        "  supabase:",
        "    jwt:",
        "      expiry: 3600         # the JWT secret is generated at first install and kept on upgrades",
        "  monitoring:",
        "    exporter: false",
        "  networkPolicy:",
        "    enabled: true",
        "chart:",
        f"  version: {q(a['chart_version'])}           # bump it for every change you publish: versions are immutable",
    ]
    return "\n".join(_align(line) for line in lines) + "\n"


def _backup_lines(a: dict) -> list[str]:
    q = _scalar
    target = a["backup"]
    if target == "none":
        return [
            "  backup:",
            "    enabled: false         # no WAL archive: no point-in-time recovery. To enable, e.g.:",
            "    # s3: {bucket: my-backups, region: us-east-1, credentials: {secretName: my-backup-creds}}",
        ]
    out = ["  backup:", "    enabled: true"]
    secret = f"credentials: {{secretName: {q(a['credentials_secret'])}}}"
    if target == "s3":
        out += ["    s3:", f"      bucket: {q(a['bucket'])}", f"      region: {q(a['region'])}"]
        if a.get("endpoint"):
            # S3-compatible stores (MinIO, Ceph) address buckets by path and rarely offer SSE.
            out += [f"      endpoint: {q(a['endpoint'])}", "      forcePathStyle: true", "      disableSSE: true"]
            if a.get("ca_bundle"):
                out += [f"      caBundle: {{secretName: {q(a['ca_bundle'])}}}   # key ca.crt: the endpoint's CA"]
        out += [f"      {secret}   # keys AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY"]
    elif target == "gcs":
        out += ["    gcs:", f"      bucket: {q(a['bucket'])}", f"      {secret}   # key key.json: a service-account key"]
    else:
        out += ["    azure:", f"      storageAccount: {q(a['storage_account'])}", f"      container: {q(a['container'])}",
                f"      {secret}   # key AZURE_STORAGE_ACCESS_KEY"]
    out += [
        f"    schedule: {json.dumps(a['schedule'])}   # base backups (UTC); WAL is archived continuously in between",
        "    retention: 7           # keep the newest 7 base backups, and none younger than 7 days is deleted",
    ]
    return out


def check_text(text: str, file: str = "<init>") -> tuple[spec_mod.Spec | None, list[Problem]]:
    """Validate generated text exactly as ``chartgen validate`` would."""
    doc, problem = yamlio.parse(file, text)
    if problem:
        return None, [problem]
    return spec_mod.check_document(doc, text)
