"""The deployment spec's JSON Schema: loading, validating with friendly messages, applying defaults."""

from __future__ import annotations

import copy
import difflib
import json
import math
import re
from functools import lru_cache
from typing import Any, Iterator

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError

from . import resources
from .sensitive import sensitive_path

ROOT = "(document)"
#: Longest quoted value in a message; a spec value can be up to 1 MiB and a message is one line.
_MAX_SHOWN = 60


@lru_cache(maxsize=1)
def schema() -> dict:
    with open(resources.path(resources.SPEC_SCHEMA), encoding="utf-8") as fh:
        return json.load(fh)


def _is_integer(checker: Any, instance: Any) -> bool:
    # jsonschema counts 2.0 as an integer; the operator's CRD fields are int32 and Go's JSON decoder
    # refuses 2.0 there, so a float never passes as an integer.
    return isinstance(instance, int) and not isinstance(instance, bool)


def ecma_pattern(pattern: str) -> str:
    """A JSON Schema (ECMA-262) pattern as a Python regex with the same anchors: ``$`` matches only at the very
    end. Python's ``$`` also matches before a final newline, so ``"acme-db\\n"`` would pass ``^[a-z-]+$``."""
    out, i, in_class = [], 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "$":
            c = r"\Z"
        out.append(c)
        i += 1
    return "".join(out)


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern:
    return re.compile(ecma_pattern(pattern))


def pattern_matches(pattern: str, text: str) -> bool:
    """``text`` matches the schema ``pattern`` as a JSON Schema validator reads it (ECMA-262 anchors)."""
    return _compiled(pattern).search(text) is not None


def _pattern(validator: Any, pattern: str, instance: Any, schema_node: dict) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _compiled(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def ecma_validator(base: Any) -> Any:
    """``base`` (a jsonschema validator class) with ECMA-262 ``pattern`` anchors (see ecma_pattern)."""
    return validators.extend(base, {"pattern": _pattern})


_Validator = validators.extend(
    Draft202012Validator,
    {"pattern": _pattern},
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)


@lru_cache(maxsize=1)
def validator() -> Any:
    return _Validator(schema())


def suggest(word: Any, choices: list) -> str:
    """A ``; did you mean "x"?`` suffix when a close match exists, else ''. Only strings get suggestions."""
    if not isinstance(word, str) or not word:
        return ""
    options = [str(c) for c in choices]
    lowered = {o.lower(): o for o in options}
    if word.lower() in lowered:
        return f'; did you mean "{lowered[word.lower()]}"?'
    match = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if not match:
        # "tri" -> "trio": short prefixes score below difflib's cutoff but are the likeliest typo.
        prefixed = [o for o in options if len(word) >= 2 and o.startswith(word)]
        match = prefixed[:1] if len(prefixed) == 1 else []
    return f'; did you mean "{match[0]}"?' if match else ""


_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def dotted(path: tuple | list) -> str:
    """``('spec', 'pooler', 'mode')`` -> ``spec.pooler.mode``; list indexes as ``[i]``; keys with dots or
    other odd characters quoted: ``spec.postgres.parameters["cron.database_name"]``."""
    out = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(str(part)):
            out += ("." if out else "") + str(part)
        else:
            out += f"[{json.dumps(str(part), ensure_ascii=False)}]"
    return out or ROOT


_TYPE_NAMES = {"string": "a string", "integer": "an integer", "number": "a number", "boolean": "true or false",
               "object": "a mapping", "array": "a list", "null": "null"}


def _shown(text: str) -> str:
    text = json.dumps(text, ensure_ascii=False)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 4] + '..."'


def describe(value: Any) -> str:
    """A value as a message shows it: ``string "tri"``, ``number 17``, ``a list``."""
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null (an empty value)"
    if isinstance(value, float) and not math.isfinite(value):
        return f"number {'.nan' if math.isnan(value) else ('-' if value < 0 else '') + '.inf'}"
    if isinstance(value, (int, float)):
        return f"number {value}"
    return f"string {_shown(str(value))}"


_describe = describe


def _hidden(value: Any) -> str:
    return "the value (not shown: it may be a secret)" if isinstance(value, str) else describe(value)


def _resolve(node: dict) -> dict:
    ref = node.get("$ref")
    if ref and ref.startswith("#/$defs/"):
        return {**schema()["$defs"][ref.split("/")[-1]], **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def subschema(path: tuple | list) -> dict | None:
    """The schema node that describes the value at ``path`` (None when the path leaves the schema)."""
    node: Any = schema()
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
        if not isinstance(node, dict):
            return None
    return _resolve(node)


#: Patterns of the schema in words; the regex alone is precise but not what a person wants to read.
_PATTERN_WORDS = {
    "^[a-z]([-a-z0-9]*[a-z0-9])?$":
        'lowercase letters, digits and "-", starting with a letter and ending with a letter or digit',
    "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$":
        'lowercase letters, digits and "-", starting and ending with a letter or digit',
    "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$":
        'lowercase letters, digits, "-" and ".", starting and ending with a letter or digit',
    "^[0-9]+(\\.[0-9]+)?(Mi|Gi|Ti)$": "a quantity in Mi, Gi or Ti",
    "^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti)$": "a quantity in Ki, Mi, Gi or Ti",
    "^[0-9]+(\\.[0-9]+)?m?$": 'a number of cores or millicores, e.g. "2" or "500m"',
    "^sha256:[a-f0-9]{64}$": 'an image digest: "sha256:" and 64 lowercase hex digits',
    "^[0-9a-fA-F:.]+/[0-9]{1,3}$": 'a network in CIDR notation, e.g. "10.244.0.0/16"',
    "^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)(-[0-9A-Za-z.-]+)?(\\+[0-9A-Za-z.-]+)?$":
        'a SemVer 2 version MAJOR.MINOR.PATCH without a "v", e.g. "1.0.0" or "1.2.0-rc.1"',
    "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$":
        'an image tag: letters, digits, "_", "." and "-", at most 128 characters, not starting with "." or "-"',
    "^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*$":
        "an image repository without tag or digest, lowercase, e.g. ghcr.io/acme/spilo-supabase",
    "^https?://[^\\s/]+(/.*)?$": "an http:// or https:// URL",
    "^(@(daily|hourly|weekly|monthly))$|^\\S+\\s+\\S+\\s+\\S+\\s+\\S+\\s+\\S+$":
        'a cron schedule with 5 fields, e.g. "0 2 * * *", or @daily/@hourly/@weekly/@monthly',
    "^[a-z_][a-z0-9_]*(\\.[a-z_][a-z0-9_]*)?$":
        'a PostgreSQL parameter name: lowercase letters, digits and "_", optionally prefixed "ext."',
    "^[a-z][a-z0-9_]*$": 'lowercase letters, digits and "_", starting with a letter',
    "^[a-z][a-z0-9_-]*$": 'lowercase letters, digits, "_" and "-", starting with a letter',
    "^[a-z0-9_]{1,63}$": 'lowercase letters, digits and "_", at most 63 characters',
    "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$": "a lowercase UUID",
    "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$": 'an S3 bucket name: 3-63 lowercase letters, digits, "." and "-"',
    "^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$": 'a path without leading or trailing "/"',
    "^[a-z0-9-]+$": 'lowercase letters, digits and "-"',
    "^[a-z0-9]{3,24}$": "3-24 lowercase letters and digits",
    "^[a-z0-9]([a-z0-9-]{1,61}[a-z0-9])$": 'an Azure container name: 3-63 lowercase letters, digits and "-"',
    "^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$": 'a GCS bucket name: lowercase letters, digits, ".", "_" and "-"',
    "^[0-9]+(\\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|M|G|T)?$": 'a Kubernetes quantity, e.g. "500m" or "2Gi"',
}

#: Why a limit exists, where the number alone would puzzle.
_LIMIT_WHY = {
    ("metadata", "name"): 'the operator appends "-pooler-repl" to it for a service name, which must fit in 63',
}


def errors(data: Any) -> Iterator[tuple[tuple, str, bool]]:
    """Yield ``(path, message, at_key)`` for every schema violation, worded for people.

    ``at_key`` says the position is the key itself (unknown fields, bad names), not its value.
    """
    errs = list(validator().iter_errors(data))
    if not errs:
        return
    # A value of the wrong type also fails its enum/pattern; the type message alone is the useful one.
    typed = {tuple(e.absolute_path) for e in errs if e.validator == "type"}
    seen: set[tuple[tuple, str]] = set()
    for err in sorted(errs, key=lambda e: (list(map(str, e.absolute_path)), str(e.validator))):
        if tuple(err.absolute_path) in typed and err.validator != "type" and not _is_name_error(err):
            continue
        for path, message, at_key in _explain(err):
            if (path, message) not in seen:
                seen.add((path, message))
                yield path, " ".join(message.split()), at_key


def _is_name_error(err: ValidationError) -> bool:
    return "propertyNames" in err.absolute_schema_path


def _explain(err: ValidationError) -> Iterator[tuple[tuple, str, bool]]:
    path = tuple(err.absolute_path)
    kind = err.validator
    value = err.instance
    # Fields that may hold a secret (by mistake) never have their value repeated in a message.
    describe = _hidden if sensitive_path(path) and not isinstance(value, (dict, list)) else _describe
    if _is_name_error(err):
        # propertyNames reports the key as the instance and the mapping as the path.
        rule = _PATTERN_WORDS.get(str(err.validator_value), f"pattern {err.validator_value}")
        yield path + (value,), f"invalid name {_shown(str(value))} ({rule})", True
        return
    if kind == "additionalProperties" and isinstance(value, dict):
        allowed = list(err.schema.get("properties", {}))
        for key in value:
            if key not in allowed:
                yield path + (key,), f"unknown field{suggest(key, allowed)} (allowed: {', '.join(allowed)})", True
        return
    if kind == "required" and isinstance(value, dict):
        for missing in err.validator_value:
            if missing not in value and err.message.startswith(repr(missing)):
                where = f" in {dotted(path)}" if path else ""
                yield path + (missing,), f"missing required field '{missing}'{where}", False
        return
    if kind == "enum":
        choices = err.validator_value
        allowed = ", ".join(json.dumps(c) for c in choices)
        if isinstance(value, (dict, list)) or value is None:
            yield path, f"expected one of {allowed}, got {describe(value)}", False
        else:
            yield path, f"{describe(value)} is not allowed{suggest(value, choices)} (allowed: {allowed})", False
        return
    if kind == "const":
        yield path, f"must be {json.dumps(err.validator_value)}, got {describe(value)}", False
        return
    if kind == "type":
        want = err.validator_value
        want = [want] if isinstance(want, str) else list(want)
        hint = ""
        if "string" in want and isinstance(value, (int, float)) and not isinstance(value, bool):
            hint = f' (quote it: "{value}")'
        elif "boolean" in want and isinstance(value, str) and value.lower() in ("yes", "no", "on", "off", "y", "n"):
            hint = f" (chartgen reads YAML 1.2, where {value} is text: write true or false)"
        elif "integer" in want and isinstance(value, float) and math.isfinite(value) and value.is_integer():
            hint = f" (write {int(value)})"
        expected = " or ".join(_TYPE_NAMES.get(w, w) for w in want)
        yield path, f"expected {expected}, got {describe(value)}{hint}", False
        return
    if kind == "pattern":
        rule = _PATTERN_WORDS.get(str(err.validator_value), f"pattern {err.validator_value}")
        example = (subschema(path) or {}).get("examples")
        ex = f", e.g. {json.dumps(example[0])}" if example and isinstance(example[0], str) and "e.g." not in rule else ""
        yield path, f"{describe(value)} is not valid ({rule}{ex})", False
        return
    if kind in ("maxLength", "minLength") and isinstance(value, str):
        why = _LIMIT_WHY.get(path)
        if kind == "maxLength":
            limit = f"at most {err.validator_value}" + (f": {why}" if why else "")
            yield path, f"{describe(value)} is {len(value)} characters long ({limit})", False
        else:
            yield path, f"{describe(value)} is too short (at least {err.validator_value} characters)", False
        return
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        word = {"minimum": "at least", "maximum": "at most",
                "exclusiveMinimum": "more than", "exclusiveMaximum": "less than"}[kind]
        yield path, f"{describe(value)} is out of range (must be {word} {err.validator_value})", False
        return
    if kind == "uniqueItems" and isinstance(value, list):
        dupes = sorted({json.dumps(v, sort_keys=True) for i, v in enumerate(value) if v in value[:i]})
        yield path, f"list has duplicate entries ({', '.join(dupes)}; each entry at most once)", False
        return
    if kind in ("minItems", "maxItems"):
        word = "at least" if kind == "minItems" else "at most"
        yield path, f"list has {len(value)} entries ({word} {err.validator_value})", False
        return
    # Anything else the schema may grow: jsonschema's message, without a possibly huge value repr.
    message = err.message if len(err.message) <= 200 and describe is _describe else f"fails the schema's {kind} rule"
    yield path, message, False


def apply_defaults(data: Any, node: dict | None = None) -> Any:
    """Fill in documented defaults (recursively into objects that are present or have an object default).

    The input is not modified; defaults are copied, so that two specs never share (and mutate) one default.
    """
    node = _resolve(node if node is not None else schema())
    if not isinstance(data, dict):
        return data
    out = dict(data)
    for key, prop in node.get("properties", {}).items():
        prop = _resolve(prop)
        if key not in out and "default" in prop:
            out[key] = copy.deepcopy(prop["default"])
        if key in out and isinstance(out[key], dict) and prop.get("properties"):
            out[key] = apply_defaults(out[key], prop)
    return out
