"""`Prefer: code=<status>` (contract section 6): a documented status forced, with a conforming
body, and no change of state."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from mockserver.http.answer import Answer
from mockserver.spec import Operation

_PREFER_CODE = re.compile(r"(?:^|[,;\s])code\s*=\s*\"?(\d{3})\"?", re.IGNORECASE)
Fault = Callable[[int, str], Answer]


def preferred(operation: Operation, prefer: str | None, fault: Fault) -> Answer | None:
    """The answer `Prefer` forces, a 400 for a status the operation does not document, or None
    when the header asks for no status."""
    found = _PREFER_CODE.search(prefer) if prefer else None
    if found is None:
        return None
    status = int(found.group(1))
    if status not in operation.statuses:
        documented = ", ".join(str(s) for s in sorted(operation.statuses))
        return fault(
            400,
            f"Prefer: code={status} is not a documented status of {operation.operation_id}"
            f" (documented: {documented}).",
        )
    if status >= 400:
        return fault(status, f"Forced by Prefer: code={status}.")
    example = operation.success_examples.get(status)
    if example is None:
        return Answer(status)
    return Answer(status, json.dumps(example).encode(), {"content-type": "application/json"})
