"""The store's new ids: uuid4 in form, written without the UUID object (state/ids.py)."""

from __future__ import annotations

import random
import uuid

from hypothesis import given
from hypothesis import strategies as st

from mockserver.state.ids import Ids, _uuid4_text


@given(st.integers(min_value=0, max_value=2**128 - 1))
def test_an_id_is_the_text_of_the_uuid4_of_its_bits(bits: int) -> None:
    assert _uuid4_text(bits) == str(uuid.UUID(int=bits, version=4))


def test_new_ids_are_uuid4_and_differ() -> None:
    ids = Ids()
    made = {ids.new() for _ in range(1000)}
    assert len(made) == 1000
    assert all(uuid.UUID(made_id).version == 4 for made_id in made)


def test_new_ids_do_not_follow_the_random_module_s_seed() -> None:
    # hypothesis seeds `random` for each example: a mock in a test's process made ids again.
    ids = Ids()
    random.seed(0)
    first = ids.new()
    random.seed(0)
    assert ids.new() != first


def test_ids_drawn_from_a_seed_repeat_in_another_process_s_store() -> None:
    # What a shared state's replay relies on: the same seed, the same ids, in any Ids.
    first, second = Ids(), Ids()
    with first.seeded(42):
        drawn = [first.new() for _ in range(3)]
    with second.seeded(42):
        assert [second.new() for _ in range(3)] == drawn
