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
        # Not uuid4(): its os.urandom is a system call, which cost a tenth of a create served
        # under load here. A generator of its own, seeded from os.urandom, not the `random`
        # module's, which others in the process may seed (hypothesis does, for each example:
        # a mock served in a test's process made the same ids again).
        self._random = random.Random()

    def new(self) -> str:
        """A new random id, uuid4 in form; drawn from the seed while one is given."""
        drawn = self._seeded.get()
        return _uuid4_text((drawn or self._random).getrandbits(128))

    @contextmanager
    def seeded(self, seed: int) -> Iterator[None]:
        """Within: the ids `new` makes follow from `seed` alone."""
        token = self._seeded.set(random.Random(seed))
        try:
            yield
        finally:
            self._seeded.reset(token)


def _uuid4_text(bits: int) -> str:
    """str(uuid.UUID(int=bits, version=4)), without building the UUID object."""
    bits = (bits & ~(0xF000 << 64) | (0x4000 << 64)) & ~(0xC000 << 48) | (0x8000 << 48)
    text = f"{bits:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def derived(*parts: str) -> str:
    """An id, uuid4 in form, that follows from `parts` alone (what it stands for)."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))
