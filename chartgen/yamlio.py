"""YAML reading that keeps source positions and reads like Kubernetes does.

ruamel.yaml's round-trip loader records the line and column of every key and value, which error
messages need. Timestamps stay strings and duplicate keys are errors, as in the Kubernetes API server.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from .errors import Problem

#: A spec is a short hand-written file; anything larger is a mistake (and slow to parse).
MAX_SPEC_BYTES = 1024 * 1024
ROOT = "(document)"


class _Constructor(RoundTripConstructor):
    pass


# Kubernetes (sigs.k8s.io/yaml) keeps timestamps as strings; so do we, so that the schema sees the text.
_Constructor.add_constructor("tag:yaml.org,2002:timestamp", RoundTripConstructor.construct_yaml_str)


def _yaml() -> YAML:
    y = YAML(typ="rt")
    y.Constructor = _Constructor
    y.allow_duplicate_keys = False
    return y


@dataclass
class Document:
    """A parsed YAML file: the plain data and the position-carrying tree."""

    file: str
    data: Any
    tree: Any

    def position(self, path: tuple) -> tuple[int, int]:
        """1-based (line, column) of the node at ``path``; the nearest existing ancestor when it is missing."""
        node = self.tree
        pos = (1, 1)
        for part in path:
            if isinstance(node, CommentedMap) and part in node:
                line, col = node.lc.value(part) if _is_scalar(node[part]) else _start(node[part], node.lc.value(part))
                pos = (line + 1, col + 1)
                node = node[part]
            elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
                line, col = node.lc.item(part)
                pos = (line + 1, col + 1)
                node = node[part]
            else:
                break
        return pos

    def key_position(self, path: tuple, key: Any) -> tuple[int, int]:
        """1-based position of ``key`` itself inside the mapping at ``path``."""
        node = self.tree
        for part in path:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return self.position(path)
        if isinstance(node, CommentedMap) and key in node:
            line, col = node.lc.key(key)
            return line + 1, col + 1
        return self.position(path)


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, (CommentedMap, CommentedSeq))


def _start(node: Any, fallback: tuple[int, int]) -> tuple[int, int]:
    # A block mapping's recorded value position is where its first key starts; flow nodes record their own.
    lc = getattr(node, "lc", None)
    if lc is not None and lc.line is not None:
        return lc.line, lc.col
    return fallback


def to_plain(node: Any) -> Any:
    """Strip ruamel types: dicts, lists, str, int, float, bool, None."""
    if isinstance(node, dict):
        return {str(k): to_plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [to_plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


def read_text(file: str) -> tuple[str | None, Problem | None]:
    """Read a spec file's text, or explain in one Problem why it cannot be read."""
    p = Path(file)
    try:
        if p.is_dir():
            return None, Problem(file, 1, 1, ROOT, "is a directory, not a spec file")
        size = p.stat().st_size
        if size > MAX_SPEC_BYTES:
            return None, Problem(
                file, 1, 1, ROOT, f"file is too large ({size / 1048576:.1f} MiB; a spec is at most 1 MiB)"
            )
        raw = p.read_bytes()
    except FileNotFoundError:
        return None, Problem(file, 1, 1, ROOT, "no such file")
    except OSError as exc:
        return None, Problem(file, 1, 1, ROOT, f"cannot read file: {exc.strerror or exc}")
    if b"\x00" in raw:
        return None, Problem(file, 1, 1, ROOT, "binary data, not a YAML text file")
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, Problem(file, line, col, ROOT, "not valid UTF-8 text")


def parse(file: str, text: str) -> tuple[Document | None, Problem | None]:
    """Parse one YAML document with positions, or return one Problem pointing at the syntax error."""
    y = _yaml()
    try:
        docs = list(y.load_all(io.StringIO(text)))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = exc.problem or "invalid YAML"
        if "found character '\\t'" in what or "\t" in what:
            what = "tab character: YAML indentation must use spaces"
        elif "duplicate key" in what:
            key = re.search(r'duplicate key "([^"]*)"', what)
            what = f'duplicate key "{key.group(1) if key else "?"}" (Kubernetes rejects duplicate keys too)'
        return None, Problem(file, line, col, ROOT, f"YAML syntax error: {what}")
    except YAMLError as exc:
        # Reader errors (control characters) carry no mark; report the position they give, if any.
        pos = getattr(exc, "position", None)
        line, col = (1, 1)
        if isinstance(pos, int):
            line = text.count("\n", 0, pos) + 1
            col = pos - (text.rfind("\n", 0, pos) + 1) + 1
        reason = getattr(exc, "reason", None) or str(exc).splitlines()[0]
        return None, Problem(file, line, col, ROOT, f"YAML error: {reason}")
    except RecursionError:
        return None, Problem(file, 1, 1, ROOT, "YAML nesting is too deep")
    docs = [d for d in docs if d is not None] if len(docs) > 1 else docs
    if not docs or docs == [None]:
        return None, Problem(file, 1, 1, ROOT, "file is empty: expected a SupabaseDatabase spec")
    if len(docs) > 1:
        return None, Problem(file, 1, 1, ROOT, f"expected one YAML document, found {len(docs)}")
    tree = docs[0]
    if not isinstance(tree, CommentedMap):
        kind = "a list" if isinstance(tree, list) else f"a {type(to_plain(tree)).__name__} scalar"
        return None, Problem(file, 1, 1, ROOT, f"expected a mapping (apiVersion, kind, metadata, spec), got {kind}")
    return Document(file, to_plain(tree), tree), None


def dump(data: Any) -> str:
    """Plain, deterministic YAML (block style, keys as given) for generated files."""
    out = io.StringIO()
    y = YAML(typ="safe", pure=True)
    y.default_flow_style = False
    y.width = 4096
    y.dump(data, out)
    return out.getvalue()
