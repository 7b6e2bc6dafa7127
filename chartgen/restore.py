"""``chartgen restore-spec``: write a new cluster's spec that bootstraps from another spec's backups.

On the render side: it loads the source spec, edits it round trip (comments and order kept), validates and
renders the result before writing it. The storage translation it relies on is chartgen/backup.py's table.
"""

from __future__ import annotations

import copy
import io
import os
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from . import backup as backup_mod
from . import render
from . import spec as spec_mod
from .dicts import dig as _get
from .errors import ChartgenError

_DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def version_warning(source: str, version: Any) -> str:
    """Said by restore-spec: the spec cannot know the major version the source really runs."""
    return (f"{source}'s archive is read from its /wal/{version} path and replayed by PostgreSQL {version}: confirm "
            f"{source} runs major version {version} (kubectl get postgresql {source} -o "
            "jsonpath='{.spec.postgresql.version}'); after an in-place major upgrade its WAL is under the new version")


def restored_name(name: str) -> str:
    """``<name>-restored``, shortened to the operator's 51 characters."""
    suffix = "-restored"
    return name[:backup_mod.MAX_NAME - len(suffix)].rstrip("-") + suffix


def restore_spec(spec_path: str, at: str, out_path: str, name: str | None = None, *, force: bool = False,
                 now: datetime | None = None) -> dict:
    """Write a spec that bootstraps a new cluster from ``spec_path``'s backups at ``at`` ("latest" or a time).

    Returns what was done: ``{"path", "name", "source", "targetTime", "notes", "warnings"}``.
    Raises ChartgenError (SpecError for an invalid source spec).
    """
    source = spec_mod.load(spec_path)
    data = source.data
    src_name = data["metadata"]["name"]
    backup = data["spec"].get("backup") or {}
    kind = backup_mod.target_of(backup)
    if not (backup.get("enabled") and kind):
        raise ChartgenError(f"{spec_path}: spec.backup is not enabled with a target: there are no backups to "
                            "restore from")
    notes: list[str] = []
    stripped = at.strip()
    if stripped.lower() == "latest":
        when = None
        notes.append("latest: the newest base backup, then every archived WAL segment (up to "
                     f"backup.maxDataLossSeconds = {backup.get('maxDataLossSeconds')} s behind the source)")
    else:
        when = backup_mod.normalise_time(stripped)
        if when != stripped:
            notes.append(f'--at "{stripped}" is written as "{when}" (the CRD needs seconds and a "+HH:MM" offset)')
        if datetime.fromisoformat(when) > (now or datetime.now(timezone.utc)):
            raise ChartgenError(f"--at {when} is in the future: recovery would end before reaching it and "
                                'PostgreSQL refuses to start; use "latest" for the newest state')
    new_name = name or restored_name(src_name)
    if (source.raw.get("chart") or {}).get("version"):
        notes.append(f"chart.version {source.raw['chart']['version']} is kept: the restore is a new chart (named "
                     f"{new_name}), rendered from the same spec, so its version says which source spec it came from")
    if not name and new_name != f"{src_name}-restored":
        notes.append(f"name shortened to {new_name} ({backup_mod.MAX_NAME} characters at most); pass --name to choose one")
    if len(new_name) > backup_mod.MAX_NAME or not _DNS_1035.match(new_name):
        raise ChartgenError(f"--name {new_name!r}: a DNS-1035 label (lower case, digits, '-') of at most {backup_mod.MAX_NAME} "
                            "characters is needed")
    if new_name == src_name:
        raise ChartgenError(f"--name {new_name}: the restored cluster needs a new name, or it would archive into "
                            "the backups it restores from")
    out = Path(out_path)
    if out.resolve() == Path(spec_path).resolve():
        raise ChartgenError(f"-o {out_path} is the source spec: write the restore to a new file")
    if out.is_dir():
        raise ChartgenError(f"{out_path} is a directory: give the path of the new spec file, e.g. {out / 'restored.yaml'}")
    if out.exists() and not force:
        raise ChartgenError(f"{out_path} already exists: pass --force to overwrite it")

    # Round trip: the user's comments, key order and quoting ("17" stays a string) survive.
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    root = y.load(_without_our_comments(source.text))
    _edit(root, source.raw, kind, src_name, new_name, when)
    buf = io.StringIO()
    y.dump(root, buf)
    header = (f"# {new_name}: a new cluster restored from {src_name}'s backups\n"
              f"# {'at ' + when if when else 'to the latest archived state'}, written by `chartgen restore-spec`.\n"
              "# Render and install it beside the source; cut over (docs/backup-restore.md) once verified.\n")
    text = header + buf.getvalue()

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        spec, problems = spec_mod.check_file(str(tmp))
        errors = [p for p in problems if p.severity == "error"]
        if spec is None or errors:
            raise ChartgenError("the restore spec would be invalid: " +
                                "; ".join(f"{p.path}: {p.message}" for p in errors))
        render.build(str(tmp))
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return {"path": str(out), "name": new_name, "source": src_name, "targetTime": when or "latest",
            "notes": notes, "warnings": [version_warning(src_name, data["spec"]["postgres"]["version"])]
            + [p.message for p in spec.warnings]}


def _edit(root: Any, data: dict, kind: str, src_name: str, new_name: str, when: str | None) -> None:
    """Turn the source's round-trip tree into the restore's (comments and order kept)."""
    root["metadata"]["name"] = new_name
    spec = root["spec"]
    for gone in ("standby", "restore"):
        if gone in spec:
            del spec[gone]
    restore = CommentedMap()
    restore["cluster"] = src_name
    if when:
        restore["targetTime"] = DoubleQuotedScalarString(when)
    restore[kind] = _plain_map(data["spec"]["backup"][kind])
    keys = list(spec.keys())
    at = keys.index("backup") + 1 if "backup" in keys else len(keys)
    spec.insert(at, "restore", restore)
    spec.yaml_set_comment_before_after_key(
        "restore", indent=2, before=(
            f"Bootstrap from {src_name}'s archive ({'up to ' + when if when else 'latest state'}).\n"
            "The source storage is spelled out: changing backup above (e.g. to a fresh bucket) never changes\n"
            f"where the restore reads. {new_name} archives under its own name, never into {src_name}'s path.\n"
            "postgres.version must stay the source's major version."))
    supabase = spec.setdefault("supabase", CommentedMap())
    secrets = {"jwt": (_get(data, "spec", "supabase", "jwt", "existingSecret") or f"{src_name}-supabase-jwt"),
               "rootKey": (_get(data, "spec", "supabase", "rootKey", "existingSecret")
                           or f"{src_name}-supabase-root-key")}
    for key, secret in secrets.items():
        node = supabase.get(key)
        if not isinstance(node, dict):
            node = CommentedMap()
            supabase[key] = node
        node["existingSecret"] = secret
    supabase.yaml_set_comment_before_after_key(
        "jwt", indent=4, before=(
            f"{_SECRETS_LEAD} the restored\n"
            "data holds Vault secrets encrypted with that root key (another key makes them unreadable), and the\n"
            "API keys and issued tokens are signed with that JWT secret."))
    chart = root.get("chart")
    if isinstance(chart, dict) and "name" in chart:
        # The chart is named after the cluster unless chart.name says otherwise; two releases need two names.
        del chart["name"]


#: The Secrets are the ones the data was made with: the source's own, or (a restore of a restore) the ones
#: the source referenced in turn, so the comment names no cluster.
_SECRETS_LEAD = "The Secrets this data was encrypted and signed with, by reference (same namespace):"

#: The comment blocks restore-spec writes, found again in a spec it wrote (a restore of a restore): each is
#: replaced, never repeated. The old form of the Secrets comment named a cluster.
_OUR_COMMENTS = [re.compile(p, re.MULTILINE) for p in (
    r"^# .+: a new cluster restored from .+'s backups\n# .*written by `chartgen restore-spec`\.\n"
    r"# Render and install it beside the source; cut over \(docs/backup-restore\.md\) once verified\.\n",
    r"^ *# Bootstrap from .+'s archive \(.*\)\.\n(?: *#.*\n)*? *# postgres\.version must stay the source's "
    r"major version\.\n",
    r"^ *# (?:.+'s Secrets, by reference \(same namespace\):|" + re.escape(_SECRETS_LEAD) + r").*\n(?: *#.*\n)*? *"
    r"# .*tokens are signed with that JWT secret\.\n",
)]


def _without_our_comments(text: str) -> str:
    for pattern in _OUR_COMMENTS:
        text = pattern.sub("", text)
    return text


def _plain_map(value: Any) -> Any:
    if isinstance(value, dict):
        out = CommentedMap()
        for k, v in value.items():
            out[k] = _plain_map(v)
        return out
    return copy.deepcopy(value)
