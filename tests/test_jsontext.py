"""Reading JSON text with the arrays at a path converted element by element (jsontext.py): the
same document as json.loads, each element converted as it is read, malformed text refused."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import FIXTURES, read_json

from mockserver.state import jsontext

PATH = (("accounts", "*", "backups"),)
STATE = read_json(FIXTURES / "state.json")
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["accounts", "backups", "a", "é"]), inner, max_size=3)
    ),
    max_leaves=12,
)


def unchanged(element: Any) -> Any:
    return element


# No deadline (Hypothesis' default is 200 ms an example): a few ms here, but a loaded machine
# can stall one example past it, and the test would fail for the machine, not for jsontext.
@settings(deadline=None)
@given(document=JSON, indent=st.sampled_from([None, 0, 2, "\t"]))
def test_the_document_is_the_one_json_loads_reads(document: Any, indent: int | str | None) -> None:
    text = " \n" + json.dumps(document, indent=indent) + "\r\n"
    assert jsontext.loads(text, PATH, unchanged) == json.loads(text)


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


@pytest.mark.parametrize(
    "text",
    [
        "",
        '{"accounts": {"a": {"backups": [1,]}}}',
        '{"accounts": {"a": {"backups": [1 2]}}}',
        '{"accounts": {"a": {"backups": [',
        '{"accounts" {}}',
        '{"accounts": {}} extra',
        "{'accounts': {}}",
    ],
)
def test_malformed_text_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        jsontext.loads(text, PATH, unchanged)
