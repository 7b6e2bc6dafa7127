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
    if problem:
        return None, [problem]
    doc, problem = yamlio.parse(file, text)
    if problem:
        return None, [problem]
    return check_document(doc, text)


def check_document(doc: yamlio.Document, text: str = "") -> tuple[Spec | None, list[Problem]]:
    problems: list[Problem] = []

    def add(path: tuple, message: str, severity: str = "error", at_key: bool = False) -> None:
        line, col = doc.key_position(path[:-1], path[-1]) if at_key and path else doc.position(path)
        problems.append(Problem(doc.file, line, col, schema.dotted(path), message, severity))

    for path, message, at_key in schema.errors(doc.data):
        hint = checks.credential_hint(path) if at_key else None
        add(path, hint or message, at_key=at_key)
    data = schema.apply_defaults(doc.data)
    for path, message, severity in checks.check(data):
        add(path, message, severity)
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
