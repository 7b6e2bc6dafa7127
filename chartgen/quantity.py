"""Kubernetes resource quantities <-> numbers, for the few units a database spec uses."""

from __future__ import annotations

import re

_BIN = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
_DEC = {"k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
_Q = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(m|Ki|Mi|Gi|Ti|k|M|G|T)?$")


def to_bytes(quantity: str | int | float) -> int:
    """``"2Gi"`` -> 2147483648."""
    m = _Q.match(str(quantity))
    if not m:
        raise ValueError(f"not a quantity: {quantity!r}")
    number, unit = float(m.group(1)), m.group(2) or ""
    return int(number * _BIN.get(unit, _DEC.get(unit, 1)))


def to_cores(quantity: str | int | float) -> float:
    """``"500m"`` -> 0.5, ``"2"`` -> 2.0."""
    text = str(quantity)
    return float(text[:-1]) / 1000 if text.endswith("m") else float(text)


def pg_memory(num_bytes: int) -> str:
    """A postgresql.conf memory value in whole MB (PostgreSQL's MB is MiB)."""
    return f"{max(1, num_bytes // 2**20)}MB"
