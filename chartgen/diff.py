"""What an upgrade changes: the manifests a spec renders against an installed/published chart.

Secret data is generated at install time (and kept), so values are masked and only keys compared.
Dangerous changes are listed separately, because a diff line does not say "this loses data".
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import paramcheck
from .errors import ChartgenError, registry_hint
from .quantity import to_bytes

_MASK = "<masked>"


@dataclass
class Diff:
    text: str
    dangers: list[str] = field(default_factory=list)
    #: Changes that cannot work at all (an upgrade must not be attempted), apart from the risky ones.
    errors: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.text)


def _key(doc: dict) -> str:
    meta = doc.get("metadata") or {}
    return f"{doc.get('kind', '?')}/{meta.get('name', '?')}"


def _masked(doc: dict) -> dict:
    if doc.get("kind") != "Secret":
        return doc
    out = dict(doc)
    for field_name in ("data", "stringData"):
        if isinstance(doc.get(field_name), dict):
            out[field_name] = {k: _MASK for k in doc[field_name]}
    return out


def manifest_diff(old: list[dict], new: list[dict], old_label: str = "old", new_label: str = "spec") -> Diff:
    olds = {_key(d): _masked(d) for d in old}
    news = {_key(d): _masked(d) for d in new}
    chunks: list[str] = []
    for key in sorted(set(olds) | set(news)):
        a = yaml.safe_dump(olds[key], sort_keys=True).splitlines(keepends=True) if key in olds else []
        b = yaml.safe_dump(news[key], sort_keys=True).splitlines(keepends=True) if key in news else []
        if a != b:
            chunks.extend(difflib.unified_diff(a, b, fromfile=f"{old_label} {key}", tofile=f"{new_label} {key}"))
    return Diff("".join(chunks), dangers(olds, news), errors(olds, news))


def _pg(docs: dict) -> dict:
    return next((d for k, d in docs.items() if k.startswith("postgresql/")), {})


def _env(pg: dict) -> dict:
    return {e.get("name"): e.get("value", e.get("valueFrom")) for e in (pg.get("spec", {}).get("env") or [])}


_TARGET_VARS = ("WAL_S3_BUCKET", "WAL_GS_BUCKET", "WALG_AZ_PREFIX", "AWS_ENDPOINT", "WALG_S3_PREFIX",
                "WALG_GS_PREFIX")


def dangers(olds: dict, news: dict) -> list[str]:
    found = []
    old_pg, new_pg = _pg(olds).get("spec", {}), _pg(news).get("spec", {})
    if old_pg and new_pg:
        try:
            before, after = to_bytes(old_pg["volume"]["size"]), to_bytes(new_pg["volume"]["size"])
            if after < before:
                found.append(f"storage shrinks from {old_pg['volume']['size']} to {new_pg['volume']['size']}: "
                             "volumes cannot shrink; the operator will refuse or the change is ignored")
        except (KeyError, ValueError):
            pass
        ov, nv = old_pg.get("postgresql", {}).get("version"), new_pg.get("postgresql", {}).get("version")
        if ov and nv and ov != nv and not _downgrade(ov, nv):
            found.append(f"PostgreSQL major version changes from {ov} to {nv}: the operator runs an in-place major "
                         "upgrade; take a backup and test it on a restored copy first")
        # A major version change restarts everything anyway.
        restart = [] if ov != nv else paramcheck.restart_changes(
            old_pg.get("postgresql", {}).get("parameters") or {},
            new_pg.get("postgresql", {}).get("parameters") or {}, nv)
        if restart:
            found.append(paramcheck.restart_message(restart))
        oi, ni = old_pg.get("numberOfInstances"), new_pg.get("numberOfInstances")
        if isinstance(oi, int) and isinstance(ni, int) and ni < oi:
            found.append(f"topology shrinks from {oi} to {ni} instances: less redundancy, and members are removed")
        oe, ne = _env(_pg(olds)), _env(_pg(news))
        changed = [v for v in _TARGET_VARS if oe.get(v) != ne.get(v)]
        if changed:
            found.append(f"backup target changes ({', '.join(changed)}): new WAL and base backups go elsewhere; "
                         "point-in-time recovery across the switch needs both locations")
    old_secrets = {k for k in olds if k.startswith("Secret/")}
    new_secrets = {k for k in news if k.startswith("Secret/")}
    for gone in sorted(old_secrets - new_secrets):
        found.append(f"{gone} is no longer rendered: a generated secret that is switched to existingSecret (or "
                     "renamed) is replaced; a different JWT secret invalidates tokens, a different root key makes "
                     "every Vault secret unreadable")
    for added in sorted(new_secrets - old_secrets):
        if old_secrets:
            found.append(f"{added} is new: check that it does not replace a secret already in use")
    return found


def _major(version) -> int | None:
    try:
        return int(str(version))
    except ValueError:
        return None


def _downgrade(old, new) -> bool:
    o, n = _major(old), _major(new)
    return o is not None and n is not None and n < o


def errors(olds: dict, news: dict) -> list[str]:
    """Changes an upgrade cannot carry out: said as errors, so that nobody runs them."""
    found = []
    ov = _pg(olds).get("spec", {}).get("postgresql", {}).get("version")
    nv = _pg(news).get("spec", {}).get("postgresql", {}).get("version")
    if ov and nv and _downgrade(ov, nv):
        found.append(f"PostgreSQL major version goes down from {ov} to {nv}: a data directory cannot be downgraded "
                     f"(the operator only upgrades in place); to go back to {nv}, restore a backup taken before the "
                     "upgrade into a new cluster (chartgen restore-spec)")
    return found


def load_against(against: str, *, plain_http: bool = False, timeout: float | None = None):
    """The chart for ``--against``: a rendered chart dir, its parent, a .tgz path, or the archive bytes pulled
    from ``oci://`` (held in memory: nothing is left on disk)."""
    if against.startswith("oci://"):
        from . import oci

        base, _, last = against.rpartition("/")
        host, _ = oci.parse_remote(f"{base}/{re.split('[:@]', last, maxsplit=1)[0]}")
        with oci.Registry(host, plain_http=plain_http,
                          timeout=oci.DEFAULT_TIMEOUT if timeout is None else timeout) as reg:
            data = reg.fetch(against)
        return data
    path = Path(against)
    if path.is_file() and path.suffix == ".tgz":
        return path
    if (path / "Chart.yaml").is_file():
        return path
    raise ChartgenError(f"{against}: not a chart directory, a .tgz or an oci:// reference")
