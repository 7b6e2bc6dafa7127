"""The values library: presets stored as YAML data under chartgen/presets/."""

from __future__ import annotations

from functools import lru_cache

import yaml

from . import resources

KINDS = ("topologies", "sizes", "failover", "durability")


@lru_cache(maxsize=None)
def load(kind: str) -> dict:
    """All presets of one kind, e.g. ``load("sizes")["medium"]``."""
    if kind not in KINDS:
        raise KeyError(f"unknown preset kind {kind!r} (known: {', '.join(KINDS)})")
    with open(resources.package_data(f"presets/{kind}.yaml"), encoding="utf-8") as fh:
        return yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def get(kind: str, name: str) -> dict:
    return load(kind)[name]
