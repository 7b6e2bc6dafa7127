"""Helpers for plain nested data (specs, values, Patroni configs)."""

from __future__ import annotations

import copy
from typing import Any


def dig(data: Any, *path: str) -> Any:
    """``data[p0][p1]...``, or None as soon as a step is not a mapping (specs may be malformed)."""
    for part in path:
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def deep_merge(base: Any, override: Any) -> Any:
    """``override`` over ``base``: mappings merge key by key, anything else is replaced (Helm's and Spilo's
    rule). Returns new data; neither input is changed or shared."""
    if not (isinstance(base, dict) and isinstance(override, dict)):
        return copy.deepcopy(override)
    out = copy.deepcopy(base)
    for key, value in override.items():
        out[key] = deep_merge(out[key], value) if key in out else copy.deepcopy(value)
    return out
