"""The compiled schemas (http/compiled.py) never accept what the Python validators refuse,
and they cover every body and response of both APIs, so the fast path is the usual one. A list
answer's schema checked in parts (envelope and items, items remembered) judges as it does whole,
and a body worded where the compiled schemas find it failing (http/wording.py) is worded as
jsonschema words it whole."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from connexion.json_schema import Draft4ResponseValidator, resolve_refs
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft4Validator
from support import EXAMPLES, FIXTURES, load_spec, read_json

from mockserver.http.compiled import (
    BODY_NULLABLE_SKIPS,
    RESPONSE_NULLABLE_SKIPS,
    Compiled,
    CompiledList,
    compile_response,
)
from mockserver.http.validation import (
    FORMATS,
    BodySchemaValidator,
    _where,
    body_validator,
    body_violations,
)
from mockserver.http.wording import Wording
from mockserver.resources import CONTROL_SPEC_PATH
from mockserver.spec import read_yaml, with_components_of

API = resolve_refs(load_spec())
CONTROL = resolve_refs(with_components_of(read_yaml(CONTROL_SPEC_PATH), load_spec()))
Case = tuple[str, dict[str, Any], Any, Compiled | CompiledList, Callable[[Any], bool]]


def _cases() -> Iterator[Case]:
    """(name, schema, a valid document, its compiled schema, the Python validator's verdict)."""
    for directory in sorted(EXAMPLES.iterdir()):
        operation = _operation(API, directory.name)
        for request in sorted(directory.glob("*.request.json")):
            body = read_json(request).get("body")
            if body is not None:
                schema = operation["requestBody"]["content"]["application/json"]["schema"]
                yield _body_case(request.name, schema, body)
        for response in sorted(directory.glob("*.response.json")):
            answer = read_json(response)
            content = operation["responses"][str(answer["status"])].get("content")
            if content is not None and answer.get("body") is not None:
                yield _response_case(response.name, content["application/json"]["schema"], answer)
    state = read_json(FIXTURES / "state.json")
    put = CONTROL["paths"]["/state"]["put"]
    schema = put["requestBody"]["content"]["application/json"]["schema"]
    yield _body_case("PUT state", schema, state)
    schema = put["responses"]["200"]["content"]["application/json"]["schema"]
    yield _response_case("state", schema, {"body": state})


def _operation(document: dict[str, Any], operation_id: str) -> dict[str, Any]:
    for item in document["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                return operation
    raise LookupError(operation_id)


def _body_case(name: str, schema: dict[str, Any], body: Any) -> Case:
    python = BodySchemaValidator(schema, format_checker=FORMATS)
    return name, schema, body, Compiled(schema, BODY_NULLABLE_SKIPS), python.is_valid


def _response_case(name: str, schema: dict[str, Any], answer: dict[str, Any]) -> Case:
    python = Draft4ResponseValidator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)
    compiled = compile_response(schema, RESPONSE_NULLABLE_SKIPS)
    return name, schema, answer["body"], compiled, python.is_valid


CASES = list(_cases())
IDS = [case[0] for case in CASES]
TRICKY = st.sampled_from(
    [None, "", "x\n", "0c1b5616-fdc5-45ae-b2dc-6f1440d55d0e\n", "2015-08-31T22:16:25Z\n", 0, 1]
)
JSON = st.recursive(
    TRICKY | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=4,
)


@st.composite
def mutated(draw: st.DrawFn, document: Any) -> Any:
    """The document with a few of its members dropped, replaced or added, at any depth."""
    document = copy.deepcopy(document)
    for _ in range(draw(st.integers(1, 3))):
        node = document
        while isinstance(node, (dict, list)) and node and draw(st.booleans()):
            keys = sorted(node) if isinstance(node, dict) else list(range(len(node)))
            key = draw(st.sampled_from(keys))
            if not isinstance(node[key], (dict, list)) or draw(st.booleans()):
                action = draw(st.sampled_from(["drop", "replace", "add"]))
                if action == "drop":
                    del node[key]
                elif action == "replace":
                    node[key] = draw(JSON)
                elif isinstance(node, dict):
                    node[draw(st.text(max_size=6))] = draw(JSON)
                break
            node = node[key]
    return document


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_every_schema_is_compiled_and_accepts_its_documented_example(case: Case) -> None:
    _, _, document, compiled, python = case
    assert compiled.compiled
    assert python(document) and compiled.accepts(document)


@pytest.mark.parametrize("case", CASES, ids=IDS)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_a_document_the_compiled_schema_accepts_is_valid(case: Case, data: st.DataObject) -> None:
    _, _, document, compiled, python = case
    changed = data.draw(mutated(document))
    if compiled.accepts(changed):
        assert python(changed), changed


@pytest.mark.parametrize(
    "schema",
    [{"type": "string", "format": "uuid"}, {"$ref": "#/definitions/x"}, {"writeOnly": True}],
)
def test_a_schema_whose_meaning_may_differ_is_left_to_the_python_validator(
    schema: dict[str, Any],
) -> None:
    compiled = Compiled(schema, RESPONSE_NULLABLE_SKIPS)
    assert not compiled.compiled and not compiled.accepts("anything")


def test_nullable_accepts_null_only_where_connexion_does() -> None:
    schema = {"nullable": True, "anyOf": [{"type": "string"}]}
    assert Compiled(schema, BODY_NULLABLE_SKIPS).accepts(None)
    assert not Compiled(schema, RESPONSE_NULLABLE_SKIPS).accepts(None)
    assert Compiled({"type": "string", "nullable": True}, RESPONSE_NULLABLE_SKIPS).accepts(None)


LISTS = [case for case in CASES if isinstance(case[3], CompiledList)]


def test_every_list_answer_is_checked_in_parts() -> None:
    lists = {"listBackups", "listInstanceBackups", "listHaBackups", "listHaInstances", "versions"}
    assert {f"{name}.response.json" for name in lists} | {"state"} <= {case[0] for case in LISTS}


@pytest.mark.parametrize("case", LISTS, ids=[case[0] for case in LISTS])
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_a_list_answer_checked_in_parts_is_judged_as_when_checked_whole(
    case: Case, data: st.DataObject
) -> None:
    _, schema, document, in_parts, _ = case
    whole = Compiled(schema, RESPONSE_NULLABLE_SKIPS)
    changed = data.draw(mutated(document))
    verdict = whole.accepts(changed)
    assert in_parts.accepts(changed) is verdict, changed
    assert in_parts.accepts(changed) is verdict, changed  # again, from what it remembered


def test_an_item_once_valid_does_not_make_an_invalid_item_pass() -> None:
    schema = {
        "type": "object",
        "required": ["items"],
        "properties": {
            "items": {"type": "array", "maxItems": 2, "items": {"type": "integer", "minimum": 0}}
        },
    }
    in_parts = CompiledList(schema, RESPONSE_NULLABLE_SKIPS)
    assert in_parts.accepts({"items": [1, 2]})
    assert not in_parts.accepts({"items": [1, -2]})
    assert not in_parts.accepts({"items": [1, 2, 1]})  # the count is the envelope's
    assert not in_parts.accepts({"items": "1"}) and not in_parts.accepts({})
    assert not in_parts.accepts({"items": [1.5]})


ARRAY = {"type": "array", "items": {"type": "integer"}}  # alone, it would be checked in parts


def test_an_array_alone_is_checked_in_parts() -> None:
    assert CompiledList.split({"type": "object", "properties": {"a": ARRAY}})


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"a": {"type": "string"}}},  # no array
        {"type": "object", "allOf": [{}], "properties": {"a": ARRAY}},
        {"type": "object", "patternProperties": {"a": {}}, "properties": {"a": ARRAY}},
        {"type": "object", "properties": {"a": {**ARRAY, "uniqueItems": True}}},
        {"type": "object", "properties": {"a": {**ARRAY, "items": [{}]}}},
        {"type": "object", "nullable": True, "properties": {"a": ARRAY}},
        {"type": "object", "properties": {"a": {**ARRAY, "nullable": True}}},
    ],
)
def test_a_schema_another_keyword_could_reach_the_items_of_is_checked_whole(
    schema: dict[str, Any],
) -> None:
    assert not CompiledList.split(schema)
    assert isinstance(compile_response(schema, RESPONSE_NULLABLE_SKIPS), Compiled)


BODIES = [case for case in CASES if case[0].endswith(".request.json") or case[0] == "PUT state"]


@functools.cache
def _wording(name: str) -> Wording:
    """One per body schema, kept across examples as the fast path keeps it (with what it built)."""
    return body_validator(next(case[1] for case in BODIES if case[0] == name))


def _worded_whole(schema: dict[str, Any], body: Any) -> list[str]:
    """What body_violations answered before it worded in parts: jsonschema over the whole body."""
    validator = BodySchemaValidator(schema, format_checker=FORMATS)
    return sorted(f"{_where('body', e)}: {e.message}" for e in validator.iter_errors(body))


@pytest.mark.parametrize("case", BODIES, ids=[case[0] for case in BODIES])
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_a_body_worded_where_it_fails_says_what_worded_whole_said(
    case: Case, data: st.DataObject
) -> None:
    name, schema, document, compiled, _ = case
    changed = data.draw(mutated(document))
    assert isinstance(compiled, Compiled)
    found = body_violations(schema, compiled, changed, _wording(name))
    assert found == _worded_whole(schema, changed), changed


def test_a_create_body_is_worded_at_its_failing_members_only() -> None:
    name = "createBackup.request.json"
    wording = _wording(name)
    body = {"backup": {"name": "", "instance": "not-a-uuid", "description": "fine"}}
    assert wording.roots(body) == [("backup", "name"), ("backup", "instance")]
    assert wording.roots({"backup": {"instance": "not-a-uuid"}}) == [("backup",)]  # no name
    assert wording.roots({"backup": []}) == [("backup",)]
    assert wording.roots([]) == [()]


def test_a_member_named_by_the_empty_string_is_a_step_of_the_path_either_way() -> None:
    # Found by the test above: worded at "accounts", the error's own path was [""] alone.
    name = "PUT state"
    schema = next(case[1] for case in BODIES if case[0] == name)
    body = {"accounts": {"": []}}
    expected = ["body/accounts/: [] is not of type 'object'"]
    assert _worded_whole(schema, body) == expected
    found = body_violations(schema, Compiled(schema, BODY_NULLABLE_SKIPS), body, _wording(name))
    assert found == expected


def test_a_member_whose_schema_is_not_compiled_is_worded_whole_there() -> None:
    schema = {
        "type": "object",
        "required": ["b"],
        "properties": {"a": {"type": "string", "format": "uuid"}, "b": {"type": "integer"}},
    }
    body = {"a": "not-a-uuid", "b": "1"}
    wording = body_validator(schema)
    assert wording.roots(body) == [("a",), ("b",)]
    found = body_violations(schema, Compiled(schema, BODY_NULLABLE_SKIPS), body, wording)
    assert found == _worded_whole(schema, body) and len(found) == 2
