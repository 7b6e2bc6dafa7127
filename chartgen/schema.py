"""The deployment spec's JSON Schema: loading, validating with friendly messages, applying defaults."""

from __future__ import annotations

import difflib
import json
from functools import lru_cache
from typing import Any, Iterator

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from . import resources


@lru_cache(maxsize=1)
def schema() -> dict:
    with open(resources.path(resources.SPEC_SCHEMA), encoding="utf-8") as fh:
        return json.load(fh)


@lru_cache(maxsize=1)
def validator() -> Draft202012Validator:
    return Draft202012Validator(schema())


def suggest(word: str, choices: list[str]) -> str:
    """A ``did you mean "x"?`` suffix when a close match exists, else ''."""
    match = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f'; did you mean "{match[0]}"?' if match else ""


def dotted(path: tuple) -> str:
    """``('spec', 'pooler', 'mode')`` -> ``spec.pooler.mode``; list indexes as ``[i]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(document)"


_TYPE_NAMES = {"string": "a string", "integer": "an integer", "number": "a number", "boolean": "true or false",
               "object": "a mapping", "array": "a list", "null": "null"}


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null (an empty value)"
    if isinstance(value, (int, float)):
        return f"number {value}"
    return f"string {json.dumps(value)}"


def _resolve(node: dict) -> dict:
    ref = node.get("$ref")
    if ref and ref.startswith("#/$defs/"):
        return {**schema()["$defs"][ref.split("/")[-1]], **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def subschema(path: tuple) -> dict | None:
    """The schema node that describes the value at ``path`` (None when the path leaves the schema)."""
    node = schema()
    for part in path:
        node = _resolve(node)
        if isinstance(part, int):
            node = node.get("items")
        else:
            props = node.get("properties", {})
            if part in props:
                node = props[part]
            elif isinstance(node.get("additionalProperties"), dict):
                node = node["additionalProperties"]
            else:
                return None
        if node is None:
            return None
    return _resolve(node)


def errors(data: Any) -> Iterator[tuple[tuple, str, bool]]:
    """Yield ``(path, message, at_key)`` for every schema violation, worded for people.

    ``at_key`` says the position is the key itself (unknown fields), not its value.
    """
    errs = list(validator().iter_errors(data))
    # A value of the wrong type also fails its enum/pattern; the type message alone is the useful one.
    typed = {tuple(e.absolute_path) for e in errs if e.validator == "type"}
    for err in sorted(errs, key=lambda e: (list(map(str, e.absolute_path)), e.validator)):
        if tuple(err.absolute_path) in typed and err.validator != "type":
            continue
        yield from _explain(err)


def _explain(err: ValidationError) -> Iterator[tuple[tuple, str, bool]]:
    path = tuple(err.absolute_path)
    kind = err.validator
    value = err.instance
    if kind == "additionalProperties" and isinstance(value, dict):
        allowed = list(err.schema.get("properties", {}))
        for key in value:
            if key not in allowed:
                yield path + (key,), f"unknown field{suggest(key, allowed)} (allowed: {', '.join(allowed)})", True
        return
    if kind == "required":
        missing = err.message.split("'")[1] if "'" in err.message else err.message
        yield path + (missing,), f"missing required field '{missing}' in {dotted(path)}", False
        return
    if kind == "enum":
        choices = err.validator_value
        yield path, (f"{_describe(value)} is not allowed{suggest(value, choices)} "
                     f"(allowed: {', '.join(json.dumps(c) for c in choices)})"), False
        return
    if kind == "const":
        yield path, f"must be {json.dumps(err.validator_value)}, got {_describe(value)}", False
        return
    if kind == "type":
        want = err.validator_value
        want = [want] if isinstance(want, str) else want
        hint = ""
        if "string" in want and isinstance(value, (int, float)) and not isinstance(value, bool):
            hint = f' (quote it: "{value}")'
        yield path, f"expected {' or '.join(_TYPE_NAMES.get(w, w) for w in want)}, got {_describe(value)}{hint}", False
        return
    if kind == "pattern":
        example = (subschema(path) or {}).get("examples")
        ex = f", e.g. {json.dumps(example[0])}" if example else ""
        yield path, f"{_describe(value)} is not in the expected format (pattern {err.validator_value}{ex})", False
        return
    if kind == "propertyNames":
        yield path + (value,), f"invalid name {json.dumps(value)} ({err.message})", True
        return
    if kind in ("maxLength", "minLength"):
        yield path, f"{_describe(value)} is {len(value)} characters long (at most {err.validator_value})" \
            if kind == "maxLength" else f"{_describe(value)} is too short (at least {err.validator_value})", False
        return
    if kind in ("minimum", "maximum"):
        word = "at least" if kind == "minimum" else "at most"
        yield path, f"{_describe(value)} is out of range (must be {word} {err.validator_value})", False
        return
    if kind == "uniqueItems":
        yield path, "list has duplicate entries", False
        return
    yield path, err.message, False


def apply_defaults(data: Any, node: dict | None = None) -> Any:
    """Fill in documented defaults (recursively into objects that are present or have an object default)."""
    node = _resolve(node if node is not None else schema())
    if not isinstance(data, dict):
        return data
    out = dict(data)
    for key, prop in node.get("properties", {}).items():
        prop = _resolve(prop)
        if key not in out and "default" in prop:
            out[key] = json.loads(json.dumps(prop["default"]))
        if key in out and isinstance(out[key], dict) and prop.get("properties"):
            out[key] = apply_defaults(out[key], prop)
    return out
