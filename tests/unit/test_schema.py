"""Pure functions of chartgen.schema: defaults, dotted paths, suggestions and the wording of schema errors."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from chartgen import schema

ROOT = Path(__file__).resolve().parent.parent.parent

MINIMAL = {
    "apiVersion": "chartgen/v1",
    "kind": "SupabaseDatabase",
    "metadata": {"name": "acme-db", "namespace": "supabase"},
    "spec": {"image": {"repository": "ghcr.io/acme/spilo-supabase", "tag": "17-4.0-p3-supabase-15.8.1.085"}},
}


def spec_with(**spec) -> dict:
    data = copy.deepcopy(MINIMAL)
    data["spec"].update(spec)
    return data


def errors(data) -> list[tuple[str, str, bool]]:
    return [(schema.dotted(path), message, at_key) for path, message, at_key in schema.errors(data)]


# ---- apply_defaults ----------------------------------------------------------------------------------


def test_defaults_fill_what_is_missing():
    out = schema.apply_defaults(MINIMAL)
    spec = out["spec"]
    assert (spec["topology"], spec["durability"], spec["failover"]) == ("trio", "async", "balanced")
    assert spec["postgres"]["version"] == "17" and spec["postgres"]["size"] == "small"
    assert spec["pooler"] == {"enabled": True, "instances": 2, "mode": "transaction", "replica": False}
    assert spec["backup"]["enabled"] is False and spec["backup"]["retention"] == 7
    assert spec["networkPolicy"] == {
        "enabled": True, "allowedNamespaces": [], "metricsNamespaces": [],
        "operator": {"namespace": "postgres-operator", "podLabels": {"app.kubernetes.io/name": "postgres-operator"}}}
    assert out["metadata"]["labels"] == {} and out["chart"] == {}


def test_defaults_keep_what_the_user_wrote():
    data = spec_with(topology="single", pooler={"instances": 5, "enabled": False})
    out = schema.apply_defaults(data)
    assert out["spec"]["topology"] == "single"
    assert out["spec"]["pooler"]["instances"] == 5 and out["spec"]["pooler"]["enabled"] is False
    assert out["spec"]["pooler"]["mode"] == "transaction"


def test_defaults_do_not_touch_the_input():
    data = spec_with(backup={"enabled": True, "s3": {"bucket": "b-1"}})
    before = copy.deepcopy(data)
    schema.apply_defaults(data)
    assert data == before


def test_defaults_go_through_refs():
    # backup.s3 is a $ref to s3Target: the credentials' key names have defaults; the region has none
    # (on AWS Spilo takes the pod's own region).
    out = schema.apply_defaults(spec_with(backup={"s3": {"bucket": "b-1", "credentials": {"secretName": "s"}}}))
    s3 = out["spec"]["backup"]["s3"]
    assert "region" not in s3
    assert s3["credentials"] == {"secretName": "s", "accessKeyIdKey": "AWS_ACCESS_KEY_ID",
                                 "secretAccessKeyKey": "AWS_SECRET_ACCESS_KEY"}


def test_defaults_are_copies_not_shared():
    a = schema.apply_defaults(MINIMAL)
    b = schema.apply_defaults(MINIMAL)
    a["spec"]["networkPolicy"]["allowedNamespaces"].append("x")
    a["metadata"]["labels"]["k"] = "v"
    assert b["spec"]["networkPolicy"]["allowedNamespaces"] == []
    assert b["metadata"]["labels"] == {}
    assert schema.apply_defaults(MINIMAL)["metadata"]["labels"] == {}


@pytest.mark.parametrize("value", [None, [], "text", 3])
def test_defaults_leave_wrong_types_alone(value):
    out = schema.apply_defaults(spec_with(pooler=value))
    assert out["spec"]["pooler"] == value


def test_defaulted_minimal_spec_is_valid():
    assert errors(schema.apply_defaults(MINIMAL)) == []


def _defaults(node, path=(), required=False):
    if isinstance(node, dict):
        # A required field's default is never applied, so it need not be valid on its own.
        if "default" in node and not required:
            yield path, node
        for key in ("properties", "$defs"):
            for name, sub in node.get(key, {}).items():
                yield from _defaults(sub, path + (name,), key == "properties" and name in node.get("required", ()))
        if isinstance(node.get("items"), dict):
            yield from _defaults(node["items"], path + ("[]",))


def test_every_default_is_valid_for_its_own_field():
    from jsonschema import Draft202012Validator

    whole = schema.schema()
    found = list(_defaults(whole))
    assert len(found) > 20
    for path, node in found:
        resolved = {**schema._resolve(node), "$defs": whole["$defs"]}
        bad = list(Draft202012Validator(resolved).iter_errors(node["default"]))
        assert not bad, f"default of {'.'.join(path)} fails its own schema: {bad[0].message}"


# ---- dotted --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "text"), [
    ((), "(document)"),
    (("spec",), "spec"),
    (("spec", "pooler", "mode"), "spec.pooler.mode"),
    (("spec", "supabase", "extensions", 2), "spec.supabase.extensions[2]"),
    ((0,), "[0]"),
    (("spec", "postgres", "parameters", "cron.database_name"), 'spec.postgres.parameters["cron.database_name"]'),
    (("metadata", "labels", "app.kubernetes.io/name"), 'metadata.labels["app.kubernetes.io/name"]'),
    (("spec", "my key"), 'spec["my key"]'),
    (("spec", ""), 'spec[""]'),
    (("spec", "Work-Mem"), "spec.Work-Mem"),
])
def test_dotted(path, text):
    assert schema.dotted(path) == text


# ---- suggest / describe -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("word", "choices", "expected"), [
    ("tri", ["single", "duo", "trio"], 'did you mean "trio"?'),
    ("Trio", ["single", "duo", "trio"], 'did you mean "trio"?'),
    ("topolgy", ["teamId", "topology", "durability"], 'did you mean "topology"?'),
    ("sesion", ["transaction", "session"], 'did you mean "session"?'),
])
def test_suggest_finds_the_typo(word, choices, expected):
    assert expected in schema.suggest(word, choices)


@pytest.mark.parametrize("word", ["zzz", "", 3, None, ["trio"], {"trio": 1}])
def test_suggest_stays_quiet(word):
    assert schema.suggest(word, ["single", "duo", "trio"]) == ""


@pytest.mark.parametrize(("value", "text"), [
    (True, "boolean true"), (None, "null (an empty value)"), (17, "number 17"), (2.5, "number 2.5"),
    (float("inf"), "number .inf"), (float("nan"), "number .nan"), ([1], "a list"), ({}, "a mapping"),
    ("x", 'string "x"'),
])
def test_describe(value, text):
    assert schema.describe(value) == text


def test_describe_shortens_long_strings():
    text = schema.describe("x" * 10_000)
    assert len(text) < 80 and text.endswith('..."')


# ---- errors ------------------------------------------------------------------------------------------------


def test_valid_spec_has_no_errors():
    assert errors(MINIMAL) == []


def test_required_field_path_and_wording():
    data = copy.deepcopy(MINIMAL)
    del data["spec"]["image"]["tag"]
    del data["kind"]
    assert errors(data) == [("kind", "missing required field 'kind'", False),
                            ("spec.image.tag", "missing required field 'tag' in spec.image", False)]


def test_unknown_field_is_reported_at_the_key_with_a_suggestion():
    [(path, message, at_key)] = errors(spec_with(topolgy="trio"))
    assert path == "spec.topolgy" and at_key
    assert message.startswith('unknown field; did you mean "topology"? (allowed: teamId, topology,')


def test_enum_typo():
    [(path, message, _)] = errors(spec_with(topology="tri"))
    assert (path, message) == ("spec.topology", 'string "tri" is not allowed; did you mean "trio"? '
                                                '(allowed: "single", "duo", "trio")')


def test_enum_with_a_list_does_not_suggest():
    [(_, message, _)] = errors(spec_with(topology=["trio"]))
    assert message == 'expected one of "single", "duo", "trio", got a list'


def test_wrong_type_hides_the_enum_error_of_the_same_value():
    assert errors(spec_with(postgres={"version": 17})) == [
        ("spec.postgres.version", 'expected a string, got number 17 (quote it: "17")', False)]


@pytest.mark.parametrize("value", [2.0, 1.5, True])
def test_integers_are_integers(value):
    [(path, message, _)] = errors(spec_with(pooler={"instances": value}))
    assert path == "spec.pooler.instances" and message.startswith("expected an integer, got ")


def test_float_that_is_whole_gets_a_hint():
    [(_, message, _)] = errors(spec_with(pooler={"instances": 2.0}))
    assert message == "expected an integer, got number 2.0 (write 2)"


def test_yes_for_a_boolean_gets_a_hint():
    [(_, message, _)] = errors(spec_with(pooler={"enabled": "yes"}))
    assert "where yes is text: write true or false" in message


def test_parameter_names_are_checked_at_the_key():
    found = errors(spec_with(postgres={"parameters": {"Work-Mem": "64MB", "work_mem": "64MB"}}))
    assert found == [("spec.postgres.parameters.Work-Mem",
                      'invalid name "Work-Mem" (a PostgreSQL parameter name: lowercase letters, digits and "_", '
                      'optionally prefixed "ext.")', True)]


def test_parameter_values_are_strings_numbers_or_booleans():
    found = errors(spec_with(postgres={"parameters": {"work_mem": ["64MB"], "fsync": True, "x": None}}))
    assert [p for p, _, _ in found] == ["spec.postgres.parameters.work_mem", "spec.postgres.parameters.x"]
    assert all(m.startswith("expected a string or a number or true or false") for _, m, _ in found), found


def test_name_too_long_says_why():
    [(_, message, _)] = errors({**MINIMAL, "metadata": {"name": "a" * 52, "namespace": "x"}})
    assert "is 52 characters long (at most 51: the operator appends \"-pooler-repl\"" in message


def test_duplicate_list_entries_are_named():
    [(path, message, _)] = errors(spec_with(supabase={"extensions": ["vector", "http", "vector"]}))
    assert (path, message) == ("spec.supabase.extensions",
                               'list has duplicate entries ("vector"; each entry at most once)')


def test_every_schema_pattern_has_words():
    # Messages show a rule in words, never a bare regex; a new pattern in the schema needs its wording.
    patterns = set(re.findall(r'"pattern": ("(?:[^"\\]|\\.)*")', (ROOT / "schemas" / "deployment.schema.json")
                              .read_text(encoding="utf-8")))
    missing = {json.loads(p) for p in patterns} - set(schema._PATTERN_WORDS)
    assert not missing, f"add these to chartgen.schema._PATTERN_WORDS: {missing}"


def test_pattern_errors_use_words_and_examples():
    [(_, message, _)] = errors(spec_with(postgres={"storage": {"size": "50G"}}))
    assert message == 'string "50G" is not valid (a quantity in Mi, Gi or Ti, e.g. "50Gi")'


def test_messages_are_single_lines_even_for_odd_values():
    found = errors(spec_with(teamId="a\nb" * 200, topology="x\ny"))
    assert found and all("\n" not in m and len(m) < 400 for _, m, _ in found)


def test_validator_is_built_once():
    assert schema.validator() is schema.validator()
    assert schema.schema() is schema.schema()
