"""docs/spec-reference.md, generated from the spec's JSON Schema (never edited by hand).

Every field of the schema gets its dotted path, type, default, allowed values, description and an example;
``$ref``s are followed, so a shared definition (an S3 target) is documented under each path that uses it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from . import schema as schema_mod

OUTPUT = "docs/spec-reference.md"
SOURCE = "schemas/deployment.schema.json"


@dataclass(frozen=True)
class Field:
    path: str
    type: str
    default: str  # as YAML, "" when the field has none
    allowed: str  # "" when any value of the type is allowed
    description: str
    example: str  # a YAML line, "" when there is nothing useful to show
    required: bool
    depth: int


def _resolve(node: dict, defs: dict) -> dict:
    ref = node.get("$ref")
    if not ref:
        return node
    name = ref.rsplit("/", 1)[-1]
    if not ref.startswith("#/$defs/") or name not in defs:
        raise ValueError(f"unsupported $ref {ref!r}")
    # The referring node's own keys (its description) win over the definition's.
    return {**_resolve(defs[name], defs), **{k: v for k, v in node.items() if k != "$ref"}}


def _type(node: dict, defs: dict) -> str:
    if "const" in node:
        return "string" if isinstance(node["const"], str) else type(node["const"]).__name__
    kind = node.get("type")
    if kind is None and "enum" in node:
        kinds = sorted({"string" if isinstance(v, str) else "integer" if isinstance(v, int) else "value"
                        for v in node["enum"]})
        kind = kinds if len(kinds) > 1 else kinds[0]
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind == "array":
        items = _resolve(node.get("items", {}), defs)
        return f"list of {_type(items, defs)}" if items else "list"
    if kind == "object" and "properties" not in node and isinstance(node.get("additionalProperties"), dict):
        return f"map of {_type(_resolve(node['additionalProperties'], defs), defs)}"
    return kind or "any"


def _yaml_inline(value: Any) -> str:
    """One line of YAML for a value, quoted as YAML needs it (``'17'`` stays a string)."""
    text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=10_000).strip()
    return text.removesuffix("...").strip()


def _pattern(pattern: str) -> str:
    words = schema_mod._PATTERN_WORDS.get(pattern)
    return f"{words} (`{pattern}`)" if words else f"matches `{pattern}`"


def _allowed(node: dict, defs: dict) -> str:
    parts = []
    if "const" in node:
        parts.append(f"`{node['const']}` only")
    if "enum" in node:
        parts.append(", ".join(f"`{v}`" for v in node["enum"]))
    if "pattern" in node:
        parts.append(_pattern(node["pattern"]))
    if "minimum" in node and "maximum" in node:
        parts.append(f"{node['minimum']} to {node['maximum']}")
    elif "minimum" in node:
        parts.append(f"at least {node['minimum']}")
    elif "maximum" in node:
        parts.append(f"at most {node['maximum']}")
    if "maxLength" in node:
        parts.append(f"at most {node['maxLength']} characters")
    if node.get("uniqueItems"):
        parts.append("no duplicates")
    names = node.get("propertyNames", {}).get("pattern")
    if names:
        parts.append(f"keys: {_pattern(names)}")
    if node.get("type") == "array":
        item_rule = _allowed(_resolve(node.get("items", {}), defs), defs)
        if item_rule:
            parts.append(f"each item: {item_rule}")
    if node.get("type") == "object" and node.get("additionalProperties") is False and "properties" in node:
        parts.append("only the keys below")
    return "; ".join(parts)


_MISSING = object()
#: An object's example is composed from its fields' examples when it fits on one line.
_MAX_INLINE = 90


def _sample(samples: list[dict], path: str) -> Any:
    """The value at dotted ``path`` in the first example spec that sets it."""
    for doc in samples:
        node: Any = doc
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                node = _MISSING
                break
            node = node[part]
        if node is not _MISSING:
            return node
    return _MISSING


@dataclass
class _Node:
    path: str
    key: str
    schema: dict
    origin: tuple  # (definition, path inside it): paths sharing a $ref share examples
    required: bool
    depth: int
    children: list


def _tree(schema: dict) -> list[_Node]:
    defs = schema.get("$defs", {})

    def walk(node: dict, prefix: str, depth: int, origin: tuple) -> list[_Node]:
        out = []
        required = set(node.get("required", []))
        for key, raw in node.get("properties", {}).items():
            ref = raw.get("$ref", "")
            child = _resolve(raw, defs)
            path = f"{prefix}.{key}" if prefix else key
            # Inside a definition, paths stay relative to the outermost one (s3Target.credentials.secretName),
            # so only the same field of the same definition counts as a twin.
            here = (origin[0], origin[1] + (key,)) if origin[0] else (ref, ())
            out.append(_Node(path, key, child, here, key in required, depth, walk(child, path, depth + 1, here)))
        return out

    return walk(schema, "", 0, ("", ()))


def _flatten(nodes: list[_Node]) -> list[_Node]:
    return [n2 for n in nodes for n2 in [n, *_flatten(n.children)]]


def _example_value(node: _Node, samples: list[dict], twins: dict) -> Any:
    s = node.schema
    if s.get("examples"):
        return s["examples"][0]
    if not node.children:
        # A field of a shared object definition (an S3 target) may borrow the example of its twin under
        # another path; a bare shared type (k8sName) may not: its uses mean different things.
        shared = node.origin[0] and node.origin[1]
        for path in [node.path, *twins.get(node.origin, [])] if shared else [node.path]:
            found = _sample(samples, path)
            if found is not _MISSING:
                return found
    if "const" in s:
        return s["const"]
    if s.get("default") not in (None, {}, []):
        return s["default"]
    if s.get("enum"):
        return s["enum"][0]
    if node.children:
        # Required fields first: they make the smallest example that validates.
        parts = {c.key: v for c in sorted(node.children, key=lambda c: not c.required)
                 if (v := _example_value(c, samples, twins)) is not _MISSING}
        while parts and len(_yaml_inline(parts)) > _MAX_INLINE:
            parts.popitem()
        return parts or _MISSING
    return _MISSING


def fields(schema: dict, samples: list[dict] | None = None) -> list[Field]:
    """Every field of ``schema`` in document order, depth first. Leaves without an example in the schema
    take one from ``samples`` (the example specs, also under another path using the same definition),
    so the reference shows values people really use; objects compose theirs from their fields."""
    defs = schema.get("$defs", {})
    nodes = _flatten(_tree(schema))
    twins: dict = {}
    for n in nodes:
        if n.origin[0]:
            twins.setdefault(n.origin, []).append(n.path)
    out = []
    for n in nodes:
        default = n.schema.get("default")
        example = _example_value(n, samples or [], twins)
        out.append(Field(
            path=n.path,
            type=_type(n.schema, defs),
            default="" if default is None else _yaml_inline(default),
            allowed=_allowed(n.schema, defs),
            description=" ".join(str(n.schema.get("description", "")).split()),
            example="" if example is _MISSING else f"{n.key}: {_yaml_inline(example)}",
            required=n.required,
            depth=n.depth,
        ))
    return out


def _anchor(path: str) -> str:
    # GitHub's heading slugs: lowercase, punctuation other than "-" and "_" dropped.
    return re.sub(r"[^a-z0-9_ -]", "", path.lower()).replace(" ", "-")


def _cell(text: str) -> str:
    return text.replace("|", "\\|") if text else "—"


SIZES = "chartgen/presets/sizes.yaml"


def size_table(sizes: dict) -> list[str]:
    """``spec.postgres.size`` in numbers, from the presets themselves (chartgen/presets/sizes.yaml)."""
    from .tuning import derive_parameters

    lines = [
        "## Size presets",
        "",
        "`spec.postgres.size` picks one row of the values library (chartgen/presets/: the presets, as data,",
        "that chartgen turns a spec into chart values with). Per PostgreSQL pod; the memory request equals",
        "the limit. `spec.postgres.resources`, `spec.pooler.resources`, `spec.pooler.maxDBConnections` and",
        "`spec.postgres.parameters` override single numbers.",
        "",
        "| size | CPU request / limit | memory | shared_buffers | smallest volume | max_connections "
        "| pooler server connections | pooler CPU request / limit, memory |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, size in sizes.items():
        pooler = size["pooler"]
        shared = derive_parameters(size["memory"], size["cpu"]["limit"], size["maxConnections"],
                                   size["storageFloor"])["shared_buffers"][0]
        lines.append(f"| `{name}` | {size['cpu']['request']} / {size['cpu']['limit']} | {size['memory']} | {shared} "
                     f"| {size['storageFloor']} | {size['maxConnections']} | {pooler['maxDBConnections']} "
                     f"| {pooler['cpu']['request']} / {pooler['cpu']['limit']}, {pooler['memory']} |")
    return lines + [""]


def render(schema: dict, samples: list[dict] | None = None, sizes: dict | None = None) -> str:
    """The whole reference page as Markdown."""
    items = fields(schema, samples)
    lines = [
        "<!-- Generated by `chartgen docs` from schemas/deployment.schema.json, chartgen/presets/sizes.yaml and examples/*.yaml.",
        "     Do not edit by hand: change the schema, then run `chartgen docs`. -->",
        "",
        f"# {schema.get('title', 'Deployment spec reference')}",
        "",
        " ".join(str(schema.get("description", "")).split()),
        "",
        "A spec is one YAML file. `chartgen validate SPEC` checks it against this reference (unknown keys and",
        "values are errors, with a suggestion when a close match exists); `chartgen init` writes a commented",
        "starter; `chartgen schema` prints the JSON Schema for editors.",
        "",
        "## Fields at a glance",
        "",
        "| Field | Type | Default | Required |",
        "|---|---|---|---|",
    ]
    for f in items:
        lines.append(f"| [`{f.path}`](#{_anchor(f.path)}) | {_cell(f.type)} | "
                     f"{_cell(f'`{f.default}`' if f.default else '')} | {'yes' if f.required else ''} |")
    lines.append("")
    if sizes:
        lines += size_table(sizes)
    for f in items:
        lines += [f"{'#' * min(2 + f.depth, 6)} {f.path}", ""]
        if f.description:
            lines += [f.description, ""]
        lines.append(f"- **Type:** {f.type}" + (" (required)" if f.required else ""))
        if f.default:
            lines.append(f"- **Default:** `{f.default}`")
        if f.allowed:
            lines.append(f"- **Allowed:** {f.allowed}")
        if f.example:
            lines.append(f"- **Example:** `{f.example}`")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def render_repo(root: Path) -> str:
    """The reference for the repository at ``root`` (its schema and its example specs)."""
    with open(root / SOURCE, encoding="utf-8") as fh:
        schema = json.load(fh)
    samples = [yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted((root / "examples").glob("*.yaml"))]
    sizes_file = root / SIZES
    sizes = yaml.safe_load(sizes_file.read_text(encoding="utf-8")) if sizes_file.is_file() else None
    return render(schema, [s for s in samples if isinstance(s, dict)], sizes)
