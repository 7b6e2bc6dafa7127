"""YAML reading that keeps source positions and reads like Kubernetes does.

ruamel.yaml's round-trip loader records the line and column of every key and value, which error
messages need. Timestamps stay strings and duplicate keys are errors, as in the Kubernetes API server.

The round-trip loader is pure Python and costs ~10 ms for a typical spec, most of a render's budget, so
``fast_load`` first reads the text with libyaml (PyYAML's C loader) set up to resolve scalars exactly as
ruamel's YAML 1.2 round-trip loader does. A valid spec is never parsed twice; anything unusual (tags,
anchors, merge keys, directives, odd keys) and every spec with a problem goes through ruamel for positions.
"""

from __future__ import annotations

import io
import json
import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml as pyyaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from .errors import Problem

#: A spec is a short hand-written file; anything larger is a mistake (and slow to parse).
MAX_SPEC_BYTES = 1024 * 1024
#: Values after alias expansion: a spec has a few hundred; this stops "billion laughs" documents.
MAX_NODES = 50_000
#: Text after alias expansion, in bytes: a few aliases of one huge string are as bad as many small values.
MAX_EXPANDED_BYTES = 4 * 1024 * 1024
#: A spec nests about 6 levels deep.
MAX_DEPTH = 64
ROOT = "(document)"

_STR_TAGS = {"tag:yaml.org,2002:str", "tag:yaml.org,2002:value", "tag:yaml.org,2002:timestamp"}


class _Constructor(RoundTripConstructor):
    # ruamel's YAML 1.2 int/float patterns match text such as "-_", "0b_" or "._" that int()/float() then
    # refuse, and the exception escapes as a bare ValueError/IndexError. In YAML 1.2's core schema those are
    # plain strings, so read them as strings.
    def construct_yaml_int(self, node: Any) -> Any:
        try:
            return super().construct_yaml_int(node)
        except (ValueError, IndexError):
            return self.construct_scalar(node)

    def construct_yaml_float(self, node: Any) -> Any:
        try:
            return super().construct_yaml_float(node)
        except (ValueError, IndexError):
            return self.construct_scalar(node)


# Kubernetes (sigs.k8s.io/yaml) keeps timestamps as strings; so do we, so that the schema sees the text.
_Constructor.add_constructor("tag:yaml.org,2002:timestamp", RoundTripConstructor.construct_yaml_str)
# The table holds functions, not method names: register the overrides explicitly.
_Constructor.add_constructor("tag:yaml.org,2002:int", _Constructor.construct_yaml_int)
_Constructor.add_constructor("tag:yaml.org,2002:float", _Constructor.construct_yaml_float)


def _yaml() -> YAML:
    y = YAML(typ="rt")
    y.Constructor = _Constructor
    y.allow_duplicate_keys = False
    return y


class YAMLShapeError(Exception):
    """A value that parses as YAML but cannot be a spec value (tagged, binary, a list as a key ...)."""

    def __init__(self, path: tuple, message: str):
        super().__init__(message)
        self.path = path
        self.message = message


@dataclass
class Document:
    """A parsed YAML file: the plain data and the position-carrying tree (None after the fast path)."""

    file: str
    data: Any
    tree: Any

    def position(self, path: tuple) -> tuple[int, int]:
        """1-based (line, column) of the node at ``path``; of its nearest existing ancestor when it is missing.

        A scalar or a flow collection is located where its value starts; a block collection where its key
        is written (its recorded value position is its first child's, usually on the next line).
        """
        node = self.tree
        pos = _own_position(node)
        for part in path:
            if isinstance(node, CommentedMap):
                key = _tree_key(node, part)
                if key is _MISSING:
                    break
                child = node[key]
                pos = _child_position(_lc(node, "key", key), _lc(node, "value", key), child) or pos
                node = child
            elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
                item = _pair(_lc(node, "item", part))
                pos = (item[0] + 1, item[1] + 1) if item else pos
                node = node[part]
            else:
                break
        return pos

    def key_position(self, path: tuple, key: Any) -> tuple[int, int]:
        """1-based position of ``key`` itself inside the mapping at ``path`` (unknown fields point here)."""
        node = self.tree
        for part in path:
            if isinstance(node, CommentedMap):
                part = _tree_key(node, part)
                if part is _MISSING:
                    return self.position(path)
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return self.position(path)
        if isinstance(node, CommentedMap):
            tkey = _tree_key(node, key)
            at = _pair(_lc(node, "key", tkey)) if tkey is not _MISSING else None
            if at:
                return at[0] + 1, at[1] + 1
        return self.position(path)


_MISSING = object()


def _tree_key(node: CommentedMap, part: Any) -> Any:
    """The key of ``node`` that ``to_plain`` turned into ``part`` (1 -> "1", None -> "null" ...)."""
    if part in node:
        return part
    for key in node:
        if not isinstance(key, str) and _key_text(key) == part:
            return key
    return _MISSING


def _lc(node: Any, which: str, key: Any) -> Any:
    try:
        return getattr(node.lc, which)(key)
    except (KeyError, IndexError, TypeError, AttributeError):
        pass
    # Keys that came in through a merge (<<) are in the mapping but recorded in the merged mapping.
    try:
        sources = list(getattr(node, "merge", None) or ())
    except TypeError:
        return None
    for source in sources:
        if isinstance(source, CommentedMap) and key in source:
            return _lc(source, which, key)
    return None


def _pair(value: Any) -> tuple[int, int] | None:
    # Keys that came in through a merge (<<) have no recorded position.
    if isinstance(value, (tuple, list)) and len(value) >= 2 and value[0] is not None and value[1] is not None:
        return int(value[0]), int(value[1])
    return None


def _own_position(node: Any) -> tuple[int, int]:
    lc = getattr(node, "lc", None)
    if lc is not None and lc.line is not None:
        return lc.line + 1, lc.col + 1
    return 1, 1


def _child_position(key_at: Any, value_at: Any, child: Any) -> tuple[int, int] | None:
    key_pos, value_pos = _pair(key_at), _pair(value_at)
    if isinstance(child, (CommentedMap, CommentedSeq)) and not child.fa.flow_style():
        at = key_pos or value_pos
    else:
        at = value_pos or key_pos
    return (at[0] + 1, at[1] + 1) if at else None


def _key_text(key: Any) -> str:
    """A scalar key as Kubernetes (sigs.k8s.io/yaml) spells it in JSON: 1 -> "1", true -> "true", ~ -> "null"."""
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, TaggedScalar):
        return str(key.value)
    return str(key)


def to_plain(node: Any) -> Any:
    """Strip ruamel types: dicts, lists, str, int, float, bool, None.

    Raises YAMLShapeError for what JSON (and so a spec) cannot hold, and for alias bombs.
    """
    budget = [MAX_NODES]
    return _plain(node, (), budget)


def _plain(node: Any, path: tuple, budget: list[int]) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise YAMLShapeError((), f"more than {MAX_NODES} values (anchors and aliases expand too far)")
    if len(path) > MAX_DEPTH:
        raise YAMLShapeError(path[:MAX_DEPTH], f"YAML nesting is too deep (more than {MAX_DEPTH} levels)")
    tag = getattr(getattr(node, "tag", None), "value", None)
    if isinstance(node, dict):
        if tag and tag != "tag:yaml.org,2002:map":
            raise YAMLShapeError(path, f"YAML tag {tag} is not supported here (use a plain mapping)")
        out = {}
        for key, value in node.items():
            if isinstance(key, (tuple, list, dict, set, frozenset, bytes)):
                raise YAMLShapeError(path, "a mapping key must be a plain scalar, not a list or mapping")
            if key is None:
                # YAML reads ~, null or an empty key as null; Kubernetes would turn it into the text "null".
                raise YAMLShapeError(path, 'a mapping key is null (~, null or empty): quote it ("~") if you mean '
                                           "the text")
            name = _key_text(key)
            out[name] = _plain(value, path + (name,), budget)
        return out
    if isinstance(node, list):
        if tag and tag != "tag:yaml.org,2002:seq":
            raise YAMLShapeError(path, f"YAML tag {tag} is not supported here (use a plain list)")
        return [_plain(v, path + (i,), budget) for i, v in enumerate(node)]
    if isinstance(node, TaggedScalar):
        if tag in _STR_TAGS:
            return str(node.value)
        raise YAMLShapeError(path, f"YAML tag {tag} is not supported (write the value without a tag)")
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    if isinstance(node, (bytes, bytearray)):
        raise YAMLShapeError(path, "binary (!!binary) values are not supported")
    raise YAMLShapeError(path, f"a YAML {type(node).__name__.removeprefix('Commented').lower()} is not supported here")


def read_text(file: str) -> tuple[str | None, Problem | None]:
    """Read a spec file's text, or explain in one Problem why it cannot be read."""
    p = Path(file)
    try:
        if p.is_dir():
            return None, Problem(file, 1, 1, ROOT, "is a directory, not a spec file")
        # Read one byte past the cap instead of trusting stat(): pipes and /dev files report size 0.
        with p.open("rb") as fh:
            raw = fh.read(MAX_SPEC_BYTES + 1)
    except FileNotFoundError:
        return None, Problem(file, 1, 1, ROOT, "no such file")
    except OSError as exc:
        return None, Problem(file, 1, 1, ROOT, f"cannot read file: {exc.strerror or exc}")
    if len(raw) > MAX_SPEC_BYTES:
        size = _size(p)
        what = f"{size / 1048576:.1f} MiB" if size > MAX_SPEC_BYTES else "more than 1 MiB"
        return None, Problem(file, 1, 1, ROOT, f"file is too large ({what}; a spec is at most 1 MiB)")
    if b"\x00" in raw:
        return None, Problem(file, 1, 1, ROOT, "binary data, not a YAML text file")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, Problem(file, line, col, ROOT, f"not valid UTF-8 text (byte 0x{raw[exc.start]:02x}); "
                                                    "save the file as UTF-8")


def _size(p: Path) -> int:
    try:
        return p.stat().st_size
    except OSError:
        return 0


def _mark_pos(mark: Any) -> tuple[int, int]:
    if mark is None or getattr(mark, "line", None) is None:
        return 1, 1
    return mark.line + 1, mark.column + 1


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def parse(file: str, text: str) -> tuple[Document | None, Problem | None]:
    """Parse one YAML document with positions, or return one Problem pointing at the syntax error."""
    early = _precheck(text)
    if early:
        return None, Problem(file, early[0], early[1], ROOT, early[2])
    y = _yaml()
    try:
        # ruamel warns (on stderr, outside the one-line format) about reused anchors and YAML 1.1 floats;
        # both are legal YAML and the data is what matters.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            docs = list(y.load_all(io.StringIO(text)))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = _mark_pos(mark)
        what = _one_line(exc.problem or exc.context or "invalid YAML")
        if "'\\t'" in what or "\t" in (exc.problem or ""):
            what = "tab character: YAML indentation must use spaces"
        elif "duplicate key" in what:
            key = re.search(r'duplicate key "([^"]*)"', what)
            what = f'duplicate key "{key.group(1) if key else "?"}" (Kubernetes rejects duplicate keys too)'
        elif exc.context and exc.context_mark is not None and exc.problem_mark is not None \
                and exc.context_mark.line != exc.problem_mark.line:
            # "expected ',' or ']'" alone hides where the unclosed bracket is.
            start = _mark_pos(exc.context_mark)
            what += f" ({_one_line(exc.context)} at line {start[0]}, column {start[1]})"
        return None, Problem(file, line, col, ROOT, f"YAML syntax error: {what}")
    except YAMLError as exc:
        # Reader errors (control characters) carry no mark; report the position they give, if any.
        pos = getattr(exc, "position", None)
        line, col = (1, 1)
        if isinstance(pos, int):
            line = text.count("\n", 0, pos) + 1
            col = pos - (text.rfind("\n", 0, pos) + 1) + 1
        reason = getattr(exc, "reason", None) or (str(exc).splitlines() or ["invalid YAML"])[0]
        char = getattr(exc, "character", None)
        if isinstance(char, str) and len(char) == 1:
            char = ord(char)
        if isinstance(char, int) and reason == "special characters are not allowed":
            reason = f"control character U+{char:04X} is not allowed (remove it or write it escaped in double quotes)"
        return None, Problem(file, line, col, ROOT, f"YAML error: {_one_line(reason)}")
    except RecursionError:
        return None, Problem(file, 1, 1, ROOT, "YAML nesting is too deep")
    docs = [d for d in docs if d is not None] if len(docs) > 1 else docs
    if not docs or docs == [None]:
        return None, Problem(file, 1, 1, ROOT, "file is empty: expected a SupabaseDatabase spec")
    if len(docs) > 1:
        line, col = _second_document(text)
        return None, Problem(file, line, col, ROOT,
                             f"expected one YAML document, found {len(docs)} (one spec per file)")
    tree = docs[0]
    if not isinstance(tree, CommentedMap):
        kind = "a list" if isinstance(tree, list) else f"a {_scalar_kind(tree)}"
        line, col = _own_position(tree)
        return None, Problem(file, line, col, ROOT,
                             f"expected a mapping (apiVersion, kind, metadata, spec), got {kind}")
    doc = Document(file, None, tree)
    try:
        doc.data = to_plain(tree)
    except YAMLShapeError as exc:
        line, col = doc.position(exc.path)
        return None, Problem(file, line, col, _dotted(exc.path), exc.message)
    except RecursionError:
        return None, Problem(file, 1, 1, ROOT, "YAML nesting is too deep")
    return doc, None


def _precheck(text: str) -> tuple[int, int, str] | None:
    """Nesting too deep or aliases that expand too far, found with libyaml's event parser, else None.

    ruamel takes seconds on a few thousand nested brackets before it fails, and expands aliases while
    building (and formatting its own error messages about) the data; the events take milliseconds and
    expand nothing. Syntax errors are left to ruamel, which words them.
    """
    depth = 0
    sizes: dict[str, tuple[int, int]] = {}  # anchor -> (values, bytes) it expands to
    stack: list[list] = []  # [anchor, values inside, bytes inside]
    total = [0, 0]
    too_many = f"more than {MAX_NODES} values (anchors and aliases expand too far)"
    too_big = (f"more than {MAX_EXPANDED_BYTES // 1048576} MiB of text once anchors and aliases are expanded "
               "(a spec is at most 1 MiB)")
    try:
        for event in pyyaml.parse(text, Loader=_FastLoader):
            if isinstance(event, (pyyaml.MappingStartEvent, pyyaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    return (*_mark_pos(event.start_mark), f"YAML nesting is too deep (more than {MAX_DEPTH} levels)")
                stack.append([event.anchor, 1, 2])
                continue
            if isinstance(event, (pyyaml.MappingEndEvent, pyyaml.SequenceEndEvent)):
                depth -= 1
                anchor, nodes, size = stack.pop() if stack else (None, 1, 2)
                if anchor:
                    sizes[anchor] = (nodes, size)
            elif isinstance(event, pyyaml.ScalarEvent):
                nodes, size = 1, len(event.value.encode("utf-8", "surrogatepass")) + 1
                if event.anchor:
                    sizes[event.anchor] = (nodes, size)
            elif isinstance(event, pyyaml.AliasEvent):
                nodes, size = sizes.get(event.anchor, (1, 1))
            else:
                continue
            if stack:
                stack[-1][1] += nodes
                stack[-1][2] += size
            else:
                total[0] += nodes
                total[1] += size
            if nodes > MAX_NODES or total[0] > MAX_NODES or (stack and stack[-1][1] > MAX_NODES):
                return (*_mark_pos(event.start_mark), too_many)
            if size > MAX_EXPANDED_BYTES or total[1] > MAX_EXPANDED_BYTES or (stack and stack[-1][2] > MAX_EXPANDED_BYTES):
                return (*_mark_pos(event.start_mark), too_big)
    except pyyaml.YAMLError as exc:
        # libyaml stops at 1000 levels itself (it scans ahead, so before any event got that deep).
        if "nesting depth" in str(getattr(exc, "problem", "")):
            return (*_mark_pos(getattr(exc, "problem_mark", None)), f"YAML nesting is too deep (more than {MAX_DEPTH} levels)")
        return None
    except Exception:  # noqa: BLE001 - not ours to report; the round-trip parser words syntax errors
        return None
    return None


def _scalar_kind(value: Any) -> str:
    try:
        plain = to_plain(value)
    except YAMLShapeError:
        return "tagged value"
    return {str: "string", int: "number", float: "number", bool: "boolean"}.get(type(plain), "scalar") + " scalar"


def _second_document(text: str) -> tuple[int, int]:
    # Point at the separator that starts the second non-empty document (best effort).
    seen_content = False
    for i, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if line.startswith("---") and seen_content:
            return i, 1
        if stripped and not stripped.startswith("#") and not line.startswith(("---", "%")):
            seen_content = True
    return 1, 1


def _dotted(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out or ROOT


# ---- fast path -----------------------------------------------------------------------------------------


class _Bail(Exception):
    """The fast loader met something only the round-trip loader handles exactly; use that instead."""


_FastBase: Any = getattr(pyyaml, "CSafeLoader", None)


class _FastLoader(_FastBase or pyyaml.SafeLoader):  # type: ignore[misc]
    pass


# YAML 1.2 core schema, as ruamel resolves it (ruamel.yaml.resolver, version (1, 2)); merge keys, "=" and
# explicit tags never reach this loader (see _FAST_UNSAFE).
_FastLoader.yaml_implicit_resolvers = {}
_FastLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_FastLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                 |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                 |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
                 |[-+]?\.(?:inf|Inf|INF)
                 |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."))
_FastLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"""^(?:[-+]?0b[0-1_]+
                 |[-+]?0o?[0-7_]+
                 |[-+]?[0-9_]+
                 |[-+]?0x[0-9a-fA-F_]+)$""", re.X),
    list("-+0123456789"))
_FastLoader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])
_FastLoader.add_implicit_resolver(
    "tag:yaml.org,2002:timestamp",
    re.compile(r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
                 |[0-9][0-9][0-9][0-9] -[0-9][0-9]? -[0-9][0-9]?
                 (?:[Tt]|[ \t]+)[0-9][0-9]?
                 :[0-9][0-9] :[0-9][0-9] (?:\.[0-9]*)?
                 (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""", re.X),
    list("0123456789"))


def _fast_int(loader: Any, node: Any) -> Any:
    text = loader.construct_scalar(node)
    value = text.replace("_", "")
    sign = -1 if value[:1] == "-" else 1
    value = value[1:] if value[:1] in "+-" else value
    try:
        for prefix, base in (("0b", 2), ("0x", 16), ("0o", 8)):
            if value.startswith(prefix):
                return sign * int(value[2:], base)
        return sign * int(value)
    except (ValueError, IndexError):
        return text


def _fast_float(loader: Any, node: Any) -> Any:
    text = loader.construct_scalar(node)
    value = text.replace("_", "").lower()
    sign = -1 if value[:1] == "-" else 1
    value = value[1:] if value[:1] in "+-" else value
    if value == ".inf":
        return sign * math.inf
    if value == ".nan":
        return math.nan
    try:
        return sign * float(value)
    except ValueError:
        return text


def _fast_mapping(loader: Any, node: Any) -> dict:
    out: dict = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str) or key in out:
            raise _Bail
        out[key] = loader.construct_object(value_node, deep=True)
    return out


_FastLoader.add_constructor("tag:yaml.org,2002:int", _fast_int)
_FastLoader.add_constructor("tag:yaml.org,2002:float", _fast_float)
_FastLoader.add_constructor("tag:yaml.org,2002:bool", lambda loader, node: loader.construct_scalar(node) in
                            ("true", "True", "TRUE"))
_FastLoader.add_constructor("tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node))
_FastLoader.add_constructor("tag:yaml.org,2002:map", _fast_mapping)

#: Text the fast loader does not read like ruamel: tags, anchors (so aliases: without an anchor an alias is an
#: error in both), merge keys, directives, tabs (ruamel refuses some that libyaml allows) and the characters
#: YAML 1.1 and 1.2 disagree on as line breaks. A plain "=" is a string in both (ruamel tags it, to_plain
#: strips the tag).
_FAST_UNSAFE = re.compile("[!&\t\x85\u2028\u2029\ufeff]|<<|^%", re.M)


def fast_load(text: str) -> dict | None:
    """The spec's plain data when the text is one ordinary YAML mapping, else None (use ``parse``).

    Returns exactly what ``parse(...).data`` would; the round-trip parse stays the reference.
    """
    if _FastBase is None or _FAST_UNSAFE.search(text):
        return None
    try:
        docs = list(pyyaml.load_all(text, Loader=_FastLoader))
    except Exception:  # noqa: BLE001 - any doubt about the text is settled by the round-trip parser
        return None
    if len(docs) != 1 or not isinstance(docs[0], dict):
        return None
    return docs[0]


#: Plain scalars YAML 1.1 (Helm's values and manifest parser, go-yaml) reads as something other than the text:
#: booleans and null in any case. Keys outside _HELM_PLAIN (numbers, timestamps, odd characters) are quoted too.
_YAML11_SPECIAL = {"y", "yes", "n", "no", "true", "false", "on", "off", "null", "~", ""}
_HELM_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")


def helm_key(key: str) -> str:
    """``key`` as a mapping key in YAML that Helm reads: plain when YAML 1.1 reads it back as the same text,
    else double-quoted (``on`` -> ``"on"``, ``1.0`` -> ``"1.0"``)."""
    if _HELM_PLAIN.fullmatch(key) and key.lower() not in _YAML11_SPECIAL:
        return key
    return json.dumps(key, ensure_ascii=False)


def dump(data: Any) -> str:
    """Plain, deterministic YAML (block style, keys as given) for generated files."""
    out = io.StringIO()
    y = YAML(typ="safe", pure=True)
    y.default_flow_style = False
    y.width = 4096
    y.dump(data, out)
    return out.getvalue()
