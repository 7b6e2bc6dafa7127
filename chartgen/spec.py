"""Load and validate a deployment spec: YAML -> schema -> semantic checks -> spec with defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import checks, schema, yamlio
from .errors import Problem, SpecError


@dataclass
class Spec:
    """A valid spec: ``data`` has the documented defaults applied, ``raw`` is what the user wrote."""

    file: str
    raw: dict
    data: dict
    text: str
    warnings: list[Problem] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.data["metadata"]["name"]

    def get(self, dotted: str, default: Any = None) -> Any:
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node


def check_file(file: str) -> tuple[Spec | None, list[Problem]]:
    """Every problem of one file (errors and warnings), and the Spec when there is no error."""
    text, problem = yamlio.read_text(file)
    if problem or text is None:
        return None, [problem] if problem else []
    data = yamlio.fast_load(text)
    if data is not None:
        # Most specs are valid: check the plain data first and parse for positions only when there is
        # something to point at.
        full, found = _findings(data)
        if not found:
            return Spec(file, data, full, text, []), []
    doc, problem = yamlio.parse(file, text)
    if problem or doc is None:
        return None, [problem] if problem else []
    return check_document(doc, text)


def _findings(data: dict) -> tuple[dict, list[tuple[tuple, str, str, bool]]]:
    """Defaults-applied data and every ``(path, message, severity, at_key)`` about ``data``."""
    found: list[tuple[tuple, str, str, bool]] = []
    meta = data.get("metadata")
    cluster = meta.get("name") if isinstance(meta, dict) else None
    for path, message, at_key in schema.errors(data):
        hint = checks.credential_hint(path, cluster) if at_key else None
        found.append((path, hint or message, "error", at_key))
    full = schema.apply_defaults(data)
    for check in checks.CHECKS:
        try:
            for path, message, severity in check(full):
                found.append((path, message, severity, False))
        except Exception as exc:  # noqa: BLE001 - a check bug must not hide the other problems or crash validate
            found.append(((), f"internal error in check {check.__name__.strip('_')}: {type(exc).__name__}: "
                              f"{' '.join(str(exc).split())[:200]} (please report this)", "error", False))
    return full, found


def check_document(doc: yamlio.Document, text: str = "") -> tuple[Spec | None, list[Problem]]:
    problems: list[Problem] = []
    data, found = _findings(doc.data)
    for path, message, severity, at_key in found:
        line, col = doc.key_position(path[:-1], path[-1]) if at_key and path else doc.position(path)
        problems.append(Problem(doc.file, line, col, schema.dotted(path), message, severity))
    problems.sort(key=lambda p: (p.line, p.column, p.severity))
    if any(p.severity == "error" for p in problems):
        return None, problems
    return Spec(doc.file, doc.data, data, text, [p for p in problems if p.severity == "warning"]), problems


def load(file: str) -> Spec:
    """The valid Spec of ``file``, or SpecError with all of its problems."""
    spec, problems = check_file(file)
    if spec is None:
        raise SpecError(problems)
    return spec
