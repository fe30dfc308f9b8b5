"""The indexes' keys (`models.index_key`): one string per backup or schedule that orders as its
(created, id) pair, the contract's order of every list, over every second the API can show."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mockserver.state.clock import LAST_SECOND, parse_timestamp
from mockserver.state.models import id_of, index_key

FIRST_SECOND = parse_timestamp("0001-01-01T00:00:00Z")
seconds = st.integers(FIRST_SECOND, LAST_SECOND)
ids = st.text(min_size=1)  # a state document's ids are any strings, of any length


@given(seconds, ids, seconds, ids)
def test_keys_order_as_their_created_then_id_pairs(
    created_a: int, id_a: str, created_b: int, id_b: str
) -> None:
    a, b = index_key(created_a, id_a), index_key(created_b, id_b)
    assert (a < b) == ((created_a, id_a) < (created_b, id_b))
    assert (a == b) == ((created_a, id_a) == (created_b, id_b))


@given(seconds, ids)
def test_a_key_gives_back_its_id(created: int, item_id: str) -> None:
    assert id_of(index_key(created, item_id)) == item_id


def test_the_first_and_last_seconds_keep_their_order() -> None:
    keys = [index_key(LAST_SECOND, "a"), index_key(0, "b"), index_key(FIRST_SECOND, "c")]
    assert [id_of(key) for key in sorted(keys)] == ["c", "b", "a"]
