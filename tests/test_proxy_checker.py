"""The exchange checker (proxy/checker.py) alone: every documented example passes it, each rule
fires on the exchange that breaks it, and no input, however hostile, makes it raise."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import EXAMPLES, read_json

from mockserver.http.regional import RegionalPaths
from mockserver.proxy.checker import ExchangeChecker, Violation
from mockserver.resources import SPEC_PATH
from mockserver.spec import Spec

SPEC = Spec.load(SPEC_PATH)
CHECKER = ExchangeChecker(SPEC, RegionalPaths(SPEC.regions, "DFW"), strict_query=False)
TOKEN = {"x-auth-token": "t"}
JSON = {"content-type": "application/json"}
BACKUP_ID = "d9f56b04-e17d-41f0-ae92-30a3b47b8d29"
REQUESTS = sorted(EXAMPLES.glob("*/*.request.json"))
RESPONSES = sorted(EXAMPLES.glob("*/*.response.json"))


def example_id(file: Path) -> str:
    return f"{file.parent.name}/{file.name}"


def rules(violations: list[Violation]) -> list[str]:
    return [violation.rule for violation in violations]


def encode(body: Any) -> bytes:
    return json.dumps(body).encode()


@pytest.mark.parametrize("file", REQUESTS, ids=example_id)
def test_every_documented_example_request_passes(file: Path) -> None:
    example = read_json(file)
    path, _, query = example["path"].partition("?")
    body = encode(example["body"]) if "body" in example else b""
    headers = {**TOKEN, **(JSON if body else {})}

    operation, violations = CHECKER.request(example["method"], path, query.encode(), headers, body)

    assert operation is not None and operation.operation_id == file.parent.name
    assert violations == []


@pytest.mark.parametrize("file", RESPONSES, ids=example_id)
def test_every_documented_example_answer_passes(file: Path) -> None:
    example = read_json(file)
    operation = SPEC.operations[file.parent.name]
    headers = {name.lower(): value for name, value in example.get("headers", {}).items()}
    body = encode(example["body"]) if "body" in example else b""

    assert CHECKER.answer(operation, example["status"], headers, body) == []


def test_each_request_rule_fires_on_the_request_that_breaks_it() -> None:
    backups = "/v1.0/1234/backups"
    valid = encode({"backup": {"name": "n", "instance": BACKUP_ID}})

    def check(method: str, path: str, query: bytes, headers: dict[str, str], body: bytes) -> Any:
        return rules(CHECKER.request(method, path, query, headers, body)[1])

    assert check("GET", "/v1.0/1234/nothing", b"", TOKEN, b"") == ["request-unknown-path"]
    assert check("PATCH", backups, b"", TOKEN, b"") == ["request-undocumented-method"]
    assert check("GET", backups, b"", {}, b"") == ["request-token-missing"]
    assert check("GET", backups, b"", {"x-auth-token": "  "}, b"") == ["request-token-missing"]
    assert check("GET", backups, b"limit=0", TOKEN, b"") == ["request-parameter"]
    assert check("GET", backups, b"limit=x", TOKEN, b"") == ["request-parameter"]
    assert check("GET", backups, b"limit=1&limit=2", TOKEN, b"") == ["request-parameter"]
    assert check("GET", backups, b"instance_id=x", TOKEN, b"") == []  # ignored, as the service
    text = {"content-type": "text/plain", **TOKEN}
    assert check("POST", backups, b"", text, valid) == ["request-media-type"]
    assert check("POST", backups, b"", {**JSON, **TOKEN}, b"{") == ["request-body"]
    assert check("POST", backups, b"", {**JSON, **TOKEN}, b"") == ["request-body"]
    two = encode({"backup": {"name": 1, "instance": 2}})
    assert check("POST", backups, b"", {**JSON, **TOKEN}, two) == ["request-body"] * 2
    upper = {"content-type": "Application/JSON; charset=utf-8", **TOKEN}
    assert check("POST", backups, b"", upper, valid) == []  # media types are case-insensitive
    assert check("GET", f"/iad{backups}", b"", TOKEN, b"") == []  # a region's endpoint


def test_query_parameters_the_operation_does_not_define_are_violations_when_strict() -> None:
    strict = ExchangeChecker(SPEC, RegionalPaths(SPEC.regions, "DFW"), strict_query=True)

    _, violations = strict.request("GET", "/v1.0/1234/backups", b"instance_id=x", TOKEN, b"")

    assert violations == [Violation("request-parameter", "query/instance_id: unknown parameter")]


def test_each_answer_rule_fires_on_the_answer_that_breaks_it() -> None:
    show = SPEC.operations["getBackupById"]
    delete = SPEC.operations["deleteBackup"]
    backup = read_json(EXAMPLES / "getBackupById" / "showBackup.response.json")["body"]

    def check(operation: Any, status: int, headers: dict[str, str], body: bytes, **k: Any) -> Any:
        return rules(CHECKER.answer(operation, status, headers, body, **k))

    assert check(show, 200, JSON, encode(backup)) == []
    assert check(show, 418, JSON, encode({"teapot": {"code": 418, "message": "m"}})) == [
        "answer-undocumented-status"
    ]
    assert check(show, 418, JSON, b"{}") == ["answer-undocumented-status", "answer-schema"]
    assert check(show, 200, {"content-type": "text/html"}, b"<html>") == ["answer-media-type"]
    assert check(show, 200, JSON, b"<html>") == ["answer-not-json"]
    broken = {"backup": {**backup["backup"], "size": "big"}}
    assert set(check(show, 200, JSON, encode(broken))) == {"answer-schema"}
    wrong_fault = encode({"badRequest": {"code": 400, "message": "m"}})
    assert set(check(show, 404, JSON, wrong_fault)) == {"answer-schema"}
    assert check(delete, 202, {}, b'{"deleted": true}') == ["answer-unexpected-body"]
    assert check(delete, 202, JSON, b"") == []  # a JSON type on an empty answer, as Rackspace
    assert check(show, 200, JSON, encode(backup), token_sent=False) == [
        "answer-served-without-token"
    ]
    assert check(show, 401, JSON, encode({"unauthorized": {"code": 401, "message": "m"}})) == []
    fault = encode({"instanceFault": {"code": 500, "message": "m"}})
    assert check(show, 500, JSON, fault) == ["answer-server-error"]
    over = encode({"overLimit": {"code": 413, "message": "m"}})
    create = SPEC.operations["createBackup"]
    assert check(create, 413, {**JSON, "retry-after": "soon"}, over) == ["answer-header"]
    assert check(create, 413, {**JSON, "retry-after": "30"}, over) == []
    assert check(None, 404, JSON, encode({"itemNotFound": {"code": 404, "message": "m"}})) == []
    assert check(None, 404, {"content-type": "text/plain"}, b"Not Found") == ["answer-media-type"]


def test_the_body_of_a_held_answer_is_judged_but_an_unheld_ones_is_not() -> None:
    show = SPEC.operations["getBackupById"]

    assert CHECKER.answer(show, 200, JSON, None) == []
    assert rules(CHECKER.answer(show, 200, {"content-type": "text/html"}, None)) == [
        "answer-media-type"
    ]


HEADER_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=40)


@settings(max_examples=300, deadline=None)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "X"]),
    path=st.one_of(
        st.sampled_from([route.template for route in SPEC.routes]).map(
            lambda template: template.replace("{", "").replace("}", "")
        ),
        st.text(max_size=60).map(lambda text: "/" + text),
    ),
    query=st.binary(max_size=60),
    headers=st.dictionaries(
        st.sampled_from(["content-type", "x-auth-token", "retry-after", "content-encoding"]),
        HEADER_TEXT,
    ),
    body=st.one_of(
        st.binary(max_size=200),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
            lambda children: (
                st.lists(children, max_size=4)
                | st.dictionaries(st.text(max_size=8), children, max_size=4)
            ),
            max_leaves=20,
        ).map(lambda document: json.dumps(document).encode()),
    ),
    status=st.integers(100, 599),
)
def test_no_exchange_makes_the_checker_raise(
    method: str, path: str, query: bytes, headers: dict[str, str], body: bytes, status: int
) -> None:
    operation, violations = CHECKER.request(method, path, query, headers, body)
    answer = CHECKER.answer(operation, status, headers, body)

    assert all(isinstance(v, Violation) and v.message for v in [*violations, *answer])
