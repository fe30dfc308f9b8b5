"""Where the store's new ids come from.

One process draws them at random (uuid4). Processes that share one state (`mockserver/shared/`)
replay each other's requests, so the ids a request makes must come out the same in every
process: while a replayed request runs, `Ids` draws them from the seed logged with it. Ids made
while an account is brought up to the clock (a scheduled run, a scheduled copy) belong to no
request, and any process may be the first to make them: they are derived from what they stand
for (`derived`), the same wherever and whenever they are made.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar


class Ids:
    def __init__(self) -> None:
        # Per task: a request replayed with its seed does not lend it to one answered beside it.
        self._seeded: ContextVar[random.Random | None] = ContextVar("seeded_ids", default=None)

    def new(self) -> str:
        """A new random id, uuid4 in form; drawn from the seed while one is given."""
        drawn = self._seeded.get()
        if drawn is None:
            return str(uuid.uuid4())
        return str(uuid.UUID(int=drawn.getrandbits(128), version=4))

    @contextmanager
    def seeded(self, seed: int) -> Iterator[None]:
        """Within: the ids `new` makes follow from `seed` alone."""
        token = self._seeded.set(random.Random(seed))
        try:
            yield
        finally:
            self._seeded.reset(token)


def derived(*parts: str) -> str:
    """An id, uuid4 in form, that follows from `parts` alone (what it stands for)."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))
