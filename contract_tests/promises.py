"""The mock's own promises (contract section 6), checked where the target is a mock (it has the
control API): `Prefer: code=` forces a documented status and changes nothing, a 400 lists
every violation it found, and a body over the limit is 413 before anything else is judged.
A real service makes none of these promises, so they are not checked there.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from contract_tests.checks import CheckFailed, check
from contract_tests.pages import walk

if TYPE_CHECKING:
    from contract_tests.api import Api

BODY_LIMIT = 64 * 1024  # bytes: contract section 3
UNDOCUMENTED = 418  # a status no operation documents


@check
def prefer_forces_a_documented_status(api: Api, instance_id: str) -> None:
    """`Prefer: code=<status>` answers that status with its documented body and changes no
    state; a status the operation does not document is 400."""
    before, _ = walk(api, api.path("/backups"))
    forced = api.call(
        "POST",
        api.path("/backups"),
        body={"backup": {"name": api.new_name(), "instance": instance_id}},
        headers={"Prefer": "code=503"},
    )
    listed = api.call("GET", api.path("/backups"), headers={"Prefer": "code=503"})
    after, exchanges = walk(api, api.path("/backups"))
    for answer in (forced, listed):
        if answer.status != 503:
            raise CheckFailed(
                "Prefer: code= does not force the status",
                f"{answer.method} with Prefer: code=503 answered {answer.status}",
                [answer],
            )
    if [b.get("id") for b in after] != [b.get("id") for b in before]:
        raise CheckFailed(
            "A forced answer changed the state",
            "a create answered 503 through Prefer, yet the list of backups changed",
            [forced, *exchanges],
        )
    refused = api.call("GET", api.path("/backups"), headers={"Prefer": f"code={UNDOCUMENTED}"})
    if refused.status != 400:
        raise CheckFailed(
            "Prefer: code= of an undocumented status is not refused",
            f"Prefer: code={UNDOCUMENTED} answered {refused.status}, not 400",
            [refused],
        )


@check
def bad_request_lists_every_violation(api: Api) -> None:
    """A create with two violations is 400, and the message names both, not only the first."""
    answer = api.call(
        "POST",
        api.path("/backups"),
        body={"backup": {"name": "", "instance": str(uuid.uuid4()), "description": "d" * 300}},
    )
    fault = answer.document("badRequest")
    message = str(fault.get("message", ""))
    if answer.status != 400 or "name" not in message or "description" not in message:
        raise CheckFailed(
            "A 400 does not list every violation",
            f"a create with an empty name and a description of 300 characters answered"
            f" {answer.status} with {message!r}: it must name both",
            [answer],
        )


@check
def body_over_the_limit_is_too_large(api: Api, method: str, path: str, body: Any) -> None:
    """A body over 64 KiB is 413 `overLimit` on every operation, whatever it holds (it is not
    read further): the spec documents 413 on each, for a body too large among others."""
    # The probe's own body, valid but for its size (padded inside its member, which a target
    # that reads it ignores), or one of padding only.
    padding = "x" * (BODY_LIMIT + 1)
    padded: dict[str, Any] = {"pad": padding}
    if isinstance(body, dict) and len(body) == 1:
        ((member, content),) = body.items()
        padded = {member: {**content, "pad": padding}}
    answer = api.call(method, path, body=padded)
    if answer.status != 413:
        raise CheckFailed(
            "A body over the limit is not refused",
            f"{method} {path} with a body of {len(answer.sent_body)} bytes answered"
            f" {answer.status}, not 413",
            [answer],
        )
