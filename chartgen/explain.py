"""``chartgen explain``: where a value of a spec's chart comes from.

A values key is answered from the values chartgen computed (each carries its source) merged over the
chart's defaults. A few settings are not values at all but written by the chart's templates into the
``postgresql`` resource (archive_timeout from backup.maxDataLossSeconds, the preload libraries from the
image's extension list, ...): those are answered from the rendered resource. A spec path gets a hint
naming the values keys it feeds.
"""

from __future__ import annotations

import json

from dataclasses import dataclass
from typing import Any

from . import chart, checks, paramcheck, render, schema
from . import values as values_mod
from .errors import ChartgenError

CHART_DEFAULT = "chart default (charts/spilo-supabase/values.yaml)"


@dataclass
class Explained:
    path: str
    value: Any
    source: str
    #: For a PostgreSQL parameter: what the server's catalog says about it (paramcheck.describe).
    parameter: str | None = None

    def as_dict(self) -> dict:
        out = {"path": self.path, "value": self.value, "source": self.source}
        return out if self.parameter is None else {**out, "parameter": self.parameter}


def _walk(node: Any, parts: list[str]) -> tuple[bool, Any, str, list[str]]:
    """(found, value, the missing part, its siblings)."""
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return False, None, part, list(node) if isinstance(node, dict) else []
        node = node[part]
    return True, node, "", []


def _spec_path_hint(path: str, vals: values_mod.Values) -> str | None:
    if not path.startswith(("spec.", "metadata.", "chart.")):
        return None
    feeds = sorted(k for k, src in vals.sources.items()
                   if src == f"spec: {path}" or src.startswith(f"spec: {path}.") or f"({path})" in src)
    if feeds:
        return (f"{path} is a spec path; explain takes a chart values key: {path} sets "
                + ", ".join(feeds[:6]) + (" ..." if len(feeds) > 6 else ""))
    return f"{path} is a spec path; explain takes a chart values key (list them with `chartgen values SPEC`)"


def explain(spec_file: str, path: str) -> Explained:
    """The value of ``path`` in ``spec_file``'s chart and where it comes from; ChartgenError when unknown."""
    if not values_mod.is_path(path):
        raise ChartgenError(f"--path {json.dumps(path)} is not a values key: write keys separated by \".\", e.g. "
                            'postgresql.parameters.shared_buffers (a key holding a dot as ["cron.max_running_jobs"])')
    result = render.build(spec_file)
    vals = result.values
    merged = chart.merged_values(vals)
    parts = values_mod.split(path)
    found, value, missing, siblings = _walk(merged, parts)
    about = None
    if len(parts) == 3 and parts[:2] == ["postgresql", "parameters"]:
        about = paramcheck.describe(parts[2], result.spec.get("spec.postgres.version"))
    if found:
        return Explained(path, value, vals.source(path) or CHART_DEFAULT, about)
    hint = _spec_path_hint(path, vals)
    if hint:
        raise ChartgenError(hint)
    cr = next((d for d in result.manifests if d.get("kind") == "postgresql"), None)
    in_cr, cr_value, _, _ = _walk((cr or {}).get("spec"), parts)
    if in_cr:
        why = checks.OWNED_PARAMETERS.get(parts[-1]) if parts[:2] == ["postgresql", "parameters"] else None
        return Explained(path, cr_value, "the chart's templates, into the postgresql resource (spec."
                         f"{values_mod.canonical(path)}); not a values key" + (f": {why}" if why else ""), about)
    raise ChartgenError(f"{path}: no such values key{schema.suggest(missing, siblings)}")
