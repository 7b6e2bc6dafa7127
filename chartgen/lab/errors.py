"""The lab's one error type: a user-facing problem (missing tool, bad manifest, a server that won't start)."""

from __future__ import annotations

from ..errors import ChartgenError


class LabError(ChartgenError):
    """The HA lab could not be set up or an experiment could not run."""
