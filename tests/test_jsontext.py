"""Reading JSON text with the arrays at a path converted element by element (jsontext.py): the
same document as json.loads, each element converted as it is read, malformed text refused, by
ijson's C backend."""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from typing import Any

import ijson.backends
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import FIXTURES, read_json

from mockserver.control.handlers import STATE_BACKUPS
from mockserver.state import jsontext
from mockserver.state.backup_document import backup_reader
from mockserver.state.models import Backup

PATH = (("accounts", "*", "backups"),)
STATE = read_json(FIXTURES / "state.json")
LONG_LONG = 2**63 - 1  # yajl's integers: beyond it, JSONTextError (see jsontext's docstring)
KEYS = ["accounts", "backups", "a", "é", "x.y"]
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-LONG_LONG, LONG_LONG)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=3)
    ),
    max_leaves=12,
)
PATHS = st.lists(st.lists(st.sampled_from([*KEYS, "*"]), max_size=3).map(tuple), max_size=3)


def unchanged(element: Any) -> Any:
    return element


def converted_afterwards(document: Any, paths: list[tuple[str, ...]], seen: list[Any]) -> Any:
    """What `loads` should return, made from json.loads' document (the reference)."""
    if isinstance(document, list) and () in paths:
        seen.extend(document)
        return [("converted", element) for element in document]
    inner = [path for path in paths if path]
    if isinstance(document, dict) and inner:
        return {
            key: converted_afterwards(
                value, [path[1:] for path in inner if path[0] in ("*", key)], seen
            )
            for key, value in document.items()
        }
    return document


# No deadline (Hypothesis' default is 200 ms an example): a few ms here, but a loaded machine
# can stall one example past it, and the test would fail for the machine, not for jsontext.
@settings(deadline=None)
@given(document=JSON, indent=st.sampled_from([None, 0, 2, "\t"]), ascii=st.booleans())
def test_the_document_is_the_one_json_loads_reads(
    document: Any, indent: int | str | None, ascii: bool
) -> None:
    text = " \n" + json.dumps(document, indent=indent, ensure_ascii=ascii) + "\r\n"
    expected = json.loads(text)
    assert jsontext.loads(text, PATH, unchanged) == expected
    assert jsontext.loads(text.encode(), PATH, unchanged) == expected


@settings(deadline=None)
@given(document=JSON, paths=PATHS)
def test_the_arrays_at_the_paths_and_only_they_are_converted_in_order(
    document: Any, paths: list[tuple[str, ...]]
) -> None:
    seen: list[Any] = []
    expected = converted_afterwards(document, paths, [])

    def convert(element: Any) -> Any:
        seen.append(element)
        return ("converted", element)

    got = jsontext.loads(json.dumps(document), paths, convert)
    assert repr(got) == repr(expected)  # repr: 1 and 1.0, 0.0 and -0.0 told apart too
    reference: list[Any] = []
    converted_afterwards(document, paths, reference)
    assert seen == reference


def test_each_backup_of_each_account_is_converted_as_it_is_read() -> None:
    seen: list[str] = []

    def convert(backup: dict[str, Any]) -> str:
        seen.append(backup["id"])
        return f"converted {backup['id']}"

    document = jsontext.loads(json.dumps(STATE, indent=1), PATH, convert)
    expected = [b["id"] for a in STATE["accounts"].values() for b in a.get("backups", [])]
    assert seen == expected and expected
    for account in document["accounts"].values():
        assert all(b.startswith("converted ") for b in account.get("backups", []))
    assert document["datastores"] == STATE["datastores"]


def test_the_handlers_paths_reach_every_region_and_a_star_matches_any_key() -> None:
    text = json.dumps(
        {
            "accounts": {"1": {"backups": [1, 2], "instances": [3]}, "x.y": {"backups": [4]}},
            "regions": {
                "ORD": {"accounts": {"1": {"backups": [5]}, "2": {"backups": {"not": "a list"}}}},
                "IAD": {"accounts": {}, "backups": [6]},
            },
            "backups": [7],
        }
    )
    document = jsontext.loads(text, STATE_BACKUPS, lambda element: -element)
    assert document == {
        "accounts": {"1": {"backups": [-1, -2], "instances": [3]}, "x.y": {"backups": [-4]}},
        "regions": {
            "ORD": {"accounts": {"1": {"backups": [-5]}, "2": {"backups": {"not": "a list"}}}},
            "IAD": {"accounts": {}, "backups": [6]},
        },
        "backups": [7],
    }


def test_the_state_documents_backups_become_backups_with_float_sizes() -> None:
    state = copy.deepcopy(STATE)
    first = state["accounts"]["1234"]["backups"][0]
    first["size"] = 0.25
    state["regions"] = {"ORD": {"accounts": {"9": {"backups": [dict(first, size=1e-3)]}}}}
    for text in (json.dumps(state), json.dumps(state).encode()):
        document = jsontext.loads(text, STATE_BACKUPS, backup_reader())
        backups = [
            *[b for a in document["accounts"].values() for b in a.get("backups", [])],
            *document["regions"]["ORD"]["accounts"]["9"]["backups"],
        ]
        assert all(isinstance(backup, Backup) for backup in backups) and len(backups) > 2
        assert backups[0].size == 0.25 and type(backups[0].size) is float
        assert backups[-1].size == 1e-3 and type(backups[-1].size) is float


def test_numbers_are_ints_and_floats_as_json_loads_makes_them() -> None:
    text = '{"a": [1, -0, 0.1, -0.0, 1E2, 2.5e-3, 9223372036854775807, -9223372036854775807]}'
    document = jsontext.loads(text, (("a",),), unchanged)
    assert repr(document) == repr(json.loads(text))
    assert [type(n) for n in document["a"]] == [int, int, float, float, float, float, int, int]


def test_duplicate_keys_the_last_one_wins_at_the_place_of_the_first() -> None:
    text = '{"a": 1, "b": 2, "a": 3}'
    assert list(jsontext.loads(text, PATH, unchanged).items()) == [("a", 3), ("b", 2)]
    assert list(json.loads(text).items()) == [("a", 3), ("b", 2)]
    seen: list[int] = []
    text = '{"accounts": {"x": {"backups": [1]}, "y": {}, "x": {"backups": [2, 3]}}}'
    document = jsontext.loads(text, PATH, lambda n: seen.append(n) or n * 10)
    assert document == {"accounts": {"x": {"backups": [20, 30]}, "y": {}}}
    assert seen == [1, 2, 3]  # each as it is read, the first "x" too


def test_the_parser_is_ijsons_c_backend() -> None:
    assert jsontext._yajl2_c.backend_name == "yajl2_c"
    extension = sys.modules["ijson.backends._yajl2"].__file__
    assert extension is not None and extension.endswith((".so", ".pyd"))


def test_without_the_c_backend_the_module_does_not_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a silent fall back to ijson's pure-Python backend, ten times slower."""
    monkeypatch.setenv("IJSON_BACKEND", "python")
    monkeypatch.delattr(ijson.backends, "yajl2_c")
    monkeypatch.setitem(sys.modules, "ijson.backends.yajl2_c", None)
    spec = importlib.util.spec_from_file_location("jsontext_without_c", jsontext.__file__)
    assert spec is not None and spec.loader is not None
    with pytest.raises(ImportError, match=r"C backend \(ijson\.backends\.yajl2_c\)"):
        spec.loader.exec_module(importlib.util.module_from_spec(spec))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "premature EOF"),
        ("   ", "premature EOF"),
        ('{"accounts": {"a": {"backups": [1,]}}}', "unallowed token"),
        ('{"accounts": {"a": {"backups": [1 2]}}}', "expect ',' or ']'"),
        ('{"accounts": {"a": {"backups": [', "premature EOF"),
        ('{"accounts" {}}', "separated by a colon"),
        ('{"accounts": {}} extra', "trailing garbage"),
        ('{"accounts": {}} {}', "trailing garbage"),
        ("{'accounts': {}}", "invalid char"),
        ('{"a": 1,}', "invalid object key"),
        ('["\\x"]', "inside a string"),
        ('["a\tb"]', "invalid character inside string"),
        ("[01]", "expect ',' or ']'"),
        ("[.5]", "invalid char"),
        ("[tru]", "invalid string"),
        ("/* comment */ []", "comment"),
        ("\ufeff[]", "invalid char"),  # a byte order mark, as json.loads refuses one in a str
        ("[1]\x0c", "form feed"),  # whitespace to yajl, not to JSON
        ("\x0b[1]", "form feed"),
        ('{"accounts": {}} "no end', "a string with no end"),  # yajl misses this one
        ('{"accounts": {}} "no end\\"', "a string with no end"),
    ],
)
def test_malformed_text_is_refused_with_what_and_where(text: str, message: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    for given_text in (text, text.encode()):
        with pytest.raises(jsontext.JSONTextError, match=message) as refused:
            jsontext.loads(given_text, PATH, unchanged)
        assert isinstance(refused.value, ValueError)  # what the PUT /__mock/state handler catches
        assert "\n" not in str(refused.value)


def test_a_truncated_document_is_refused_wherever_it_stops() -> None:
    text = json.dumps(STATE, indent=1, ensure_ascii=False).replace(
        '"My', '"My \\"quoted\\" é\\u00e9'
    )
    assert json.loads(text)
    for end in range(0, len(text) - 1, 7):
        cut = text[:end].rstrip()
        for given_text in (cut, cut.encode()):
            with pytest.raises(jsontext.JSONTextError):
                jsontext.loads(given_text, PATH, unchanged)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[NaN]", "invalid char"),
        ("[Infinity]", "invalid char"),
        ("[-Infinity]", "a digit is required after the minus sign"),
        ("[1e400]", "floating point\\) overflow"),
        ("[-1e400]", "floating point\\) overflow"),
        ("[9223372036854775808]", "integer overflow"),
        ("[-9223372036854775808]", "integer overflow"),  # yajl's own bound is one short
        ('["\\ud800"]', "unpaired surrogate escape \\\\ud800"),
        ('["\\udc00"]', "unpaired surrogate escape \\\\udc00"),
        ('["\\ud800\\u0041"]', "unpaired surrogate escape \\\\ud800"),
        ('["\\\\\\ud800"]', "unpaired surrogate escape \\\\ud800"),
    ],
)
def test_what_json_loads_reads_but_loads_refuses(text: str, message: str) -> None:
    """The exceptions jsontext's docstring lists: not read otherwise, refused (a 400)."""
    json.loads(text)
    for given_text in (text, text.encode()):
        with pytest.raises(jsontext.JSONTextError, match=message):
            jsontext.loads(given_text, PATH, unchanged)


def test_an_integer_of_thousands_of_digits_is_refused_as_json_loads_refuses_it() -> None:
    """ijson's Decimal mode (use_float=False) raises SystemError here, or crashes in items()."""
    text = "[" + "1" * 5000 + "]"
    with pytest.raises(ValueError, match="4300 digits"):
        json.loads(text)
    for given_text in (text, text.encode()):
        with pytest.raises(jsontext.JSONTextError, match="integer overflow"):
            jsontext.loads(given_text, PATH, unchanged)


def test_surrogate_pairs_and_escaped_backslashes_are_read_as_json_loads_reads_them() -> None:
    text = '["\\ud83d\\ude00", "\\\\ud800", "\\u00e9\\"\\n", "é😀"]'
    expected = ["😀", "\\ud800", 'é"\n', "é😀"]
    assert json.loads(text) == expected
    assert jsontext.loads(text, PATH, unchanged) == expected
    assert jsontext.loads(text.encode(), PATH, unchanged) == expected


def test_text_that_is_not_utf_8_is_refused() -> None:
    for text in (b'["\xff"]', b'["\xed\xa0\x80"]', '["\udc80"]'):
        with pytest.raises(jsontext.JSONTextError, match=r"UTF-?8"):
            jsontext.loads(text, PATH, unchanged)


def test_deep_nesting_is_refused_not_a_recursion_error() -> None:
    with pytest.raises(jsontext.JSONTextError, match="nested too deeply"):
        jsontext.loads("[" * 100_000 + "]" * 100_000, PATH, unchanged)


def test_what_the_converter_raises_is_not_taken_for_malformed_json() -> None:
    def refuse(element: Any) -> Any:
        raise ValueError(f"no {element}")

    with pytest.raises(ValueError, match="no 1") as refused:
        jsontext.loads('{"accounts": {"a": {"backups": [1]}}}', PATH, refuse)
    assert not isinstance(refused.value, jsontext.JSONTextError)
