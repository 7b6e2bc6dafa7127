"""Stamp the base chart for one spec: Chart.yaml identity, a commented values.yaml. Pure and deterministic.

The result is a ``{relative path: bytes}`` map; writing it to disk is chartgen.output's job.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from . import __version__, chartdocs, resources

# libyaml when PyYAML has it: the base chart's values.yaml is parsed for every spec.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """Multi-line strings (Artifact Hub's embedded YAML) as literal blocks, as people write them."""


def _str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _str)


def _load(data: bytes | str) -> Any:
    return yaml.load(data, Loader=_Loader)


load_yaml = _load
from .errors import RenderError
from .dicts import deep_merge
from .values import Values, join, split

ANNOTATION_PREFIX = "chartgen.io"


def base_chart_dir() -> Path:
    return resources.path(resources.CHART_DIR_NAME)


@lru_cache(maxsize=1)
def _base_files() -> tuple[tuple[str, bytes], ...]:
    root = base_chart_dir()
    return tuple(
        (path.relative_to(root).as_posix(), path.read_bytes())
        for path in sorted(root.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    )


def base_files() -> dict[str, bytes]:
    """The base chart's files (symlinks followed, so the stamped chart is self-contained)."""
    return dict(_base_files())


@lru_cache(maxsize=1)
def _base_values() -> dict:
    return _load(dict(_base_files()).get("values.yaml", b"{}")) or {}


def base_values() -> dict:
    return copy.deepcopy(_base_values())


def merged_values(values: Values) -> dict:
    """The chart's defaults with the spec's values over them, as the stamped values.yaml holds them."""
    merged = deep_merge(_base_values(), values.data)  # deep_merge copies; the cached defaults stay intact
    for path in values.replace:
        parts = split(path)
        node, src = merged, values.data
        for part in parts[:-1]:
            node, src = node[part], src[part]
        node[parts[-1]] = copy.deepcopy(src[parts[-1]])
    return merged


def canonical_spec(spec_data: dict) -> str:
    """What a spec means, as one string: the parsed spec with its defaults, keys sorted, compact JSON.

    Comments, key order, quoting style, flow vs block style and spelling out a default do not change it;
    every change of a value does ("17" and 17 stay apart: they are different values).
    """
    return json.dumps(spec_data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def spec_digest(spec_data: dict) -> str:
    return hashlib.sha256(canonical_spec(spec_data).encode("utf-8")).hexdigest()


def chart_name(spec_data: dict) -> str:
    return (spec_data.get("chart") or {}).get("name") or spec_data["metadata"]["name"]


def chart_version(spec_data: dict, override: str | None) -> str:
    version = override or (spec_data.get("chart") or {}).get("version")
    if not version:
        raise RenderError("chart.version is not set: add chart.version (SemVer) to the spec or pass --version")
    from .package import is_semver

    if not is_semver(version):
        raise RenderError(f"--version {json.dumps(version)} is not a SemVer 2 version (e.g. 1.2.3)")
    return version


def _images_annotation(text: str, image: dict) -> str:
    """Artifact Hub's image list with the spec's image in place of the base chart's placeholder."""
    ref = f"{image['repository']}:{image['tag']}" + (f"@{image['digest']}" if image.get("digest") else "")
    images = [dict(entry) for entry in (_load(text) or [])]
    for entry in images:
        if entry.get("name") == "spilo-supabase":
            entry["image"] = ref
    return yaml.dump(images, Dumper=_Dumper, sort_keys=False, width=4096)


def stamp_chart_yaml(base: bytes, *, name: str, version: str, app_version: str, digest: str,
                     image: dict | None = None) -> bytes:
    meta = _load(base)
    base_version = meta.get("version", "")
    meta["name"] = name
    meta["version"] = version
    meta["appVersion"] = app_version
    annotations = dict(meta.get("annotations") or {})
    if image and "artifacthub.io/images" in annotations:
        annotations["artifacthub.io/images"] = _images_annotation(annotations["artifacthub.io/images"], image)
    annotations[f"{ANNOTATION_PREFIX}/version"] = __version__
    annotations[f"{ANNOTATION_PREFIX}/spec-sha256"] = digest
    annotations[f"{ANNOTATION_PREFIX}/base-chart"] = f"spilo-supabase-{base_version}"
    meta["annotations"] = dict(sorted(annotations.items()))
    return yaml.dump(meta, Dumper=_Dumper, sort_keys=False, width=4096, allow_unicode=True).encode("utf-8")


def stamp(spec_data: dict, values: Values, version: str | None = None) -> tuple[str, str, dict[str, bytes]]:
    """``(name, version, files)`` of the chart for one spec."""
    files = base_files()
    if "Chart.yaml" not in files:
        raise RenderError(f"the base chart at {base_chart_dir()} has no Chart.yaml")
    name = chart_name(spec_data)
    ver = chart_version(spec_data, version)
    files["Chart.yaml"] = stamp_chart_yaml(
        files["Chart.yaml"], name=name, version=ver, app_version=values.data["image"]["tag"],
        digest=spec_digest(spec_data), image=values.data["image"],
    )
    merged = merged_values(values)
    header = (
        f"# Generated by chartgen {__version__} from a SupabaseDatabase spec (sha256 {spec_digest(spec_data)[:16]}).\n"
        "# Do not edit: change the spec and run `chartgen render` again. Each key says where its value came from;\n"
        "# `chartgen explain SPEC --path KEY` says more.\n"
    )
    files["values.yaml"] = (header + commented_yaml(merged, values.sources)).encode("utf-8")
    if "values.schema.json" in files:
        files["README.md"] = chartdocs.generated_readme(files["Chart.yaml"], files["values.schema.json"], merged,
                                                        spec_data["metadata"]["namespace"]).encode("utf-8")
    return name, ver, files


def _key(key: str) -> str:
    from .yamlio import helm_key

    return helm_key(key)


def _scalar(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def commented_yaml(data: dict, sources: dict[str, str], prefix: str = "", indent: int = 0) -> str:
    """YAML with a comment above every leaf naming its source ("chart default" when chartgen did not set it)."""
    pad = "  " * indent
    out = []
    for key, value in data.items():
        path = join(prefix, key)
        if isinstance(value, dict) and value:
            out.append(f"{pad}{_key(key)}:\n")
            out.append(commented_yaml(value, sources, path, indent + 1))
            continue
        out.append(f"{pad}# {sources.get(path, 'chart default')}\n")
        out.append(f"{pad}{_key(key)}: {_scalar(value)}\n")
    return "".join(out)
