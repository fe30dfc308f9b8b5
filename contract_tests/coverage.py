"""Contract coverage of the target: how often each operation answered each documented status.

Every answer the run gets, from schemathesis' phases (their checks' probes included) and from
the hand-written checks alike, is counted once, where it is received, by the ledger
(`Ledger.saw`: in `Api.call` for the hand-written checks, in `outcomes.py` for schemathesis'
recorder), under the operation's label `METHOD /template`. The template is the spec's, already
without a region's prefix (a path below the target's root), so a label names one operation, or
no operation: an undocumented method, an unknown path. This module reads those counts into the
mock's coverage document (`mockserver/control/coverage.py`, `GET /__mock/coverage`), so that the
report and the page show what the target answered exactly as the mock shows what it answered.

Of the documented statuses the target never returned, some no request can produce on it: the
spec lists every fault of the WADL's common list on every operation, whether or not anything can
cause it there. `UNREACHABLE` says which, each with its reason, derived from the spec (what an
operation takes, what its description says) and from what the run learnt of the target (whether
it knows which accounts a token holds). The rest are the run's gaps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from contract_tests.contract import Contract
from contract_tests.ledger import Ledger
from contract_tests.run import Run
from mockserver.control.coverage import EXAMPLES, matrix_document, percent
from mockserver.spec import Operation, Spec

ACCOUNT = "accountId"
_IN_NAME = " (no such path in the spec)"  # how `Contract.label` marks a path of no route


@dataclass(frozen=True)
class Facts:
    """What decides whether a request can produce a status on this target."""

    spec: Spec
    # Whether the target refuses what a token does not hold (None: the run did not learn it).
    checks_tokens: bool | None = None


@dataclass(frozen=True)
class Unreachable:
    status: int
    applies: Callable[[Operation, Facts], bool]
    reason: str


@dataclass(frozen=True)
class Never:
    """A documented status an operation never answered the run."""

    operation: str  # operationId
    status: int
    reason: str | None  # why no request can produce it here; None: the run did not get it


def document(contract: Contract, ledger: Ledger) -> dict[str, Any]:
    """The coverage document of what the target answered the run."""
    by_label = {f"{o.method} {o.path}": o.operation_id for o in contract.operations}
    answers: dict[tuple[str, int], int] = {}
    unmatched: dict[int, int] = {}  # answers to no operation, by status
    examples: list[dict[str, str]] = []
    for label, counts in sorted(ledger.statuses().items()):
        operation = by_label.get(label)
        for status, count in sorted(counts.items()):
            if operation is not None:
                answers[operation, status] = answers.get((operation, status), 0) + count
                continue
            unmatched[status] = unmatched.get(status, 0) + count
            method, _, path = label.partition(" ")
            example = {"method": method, "path": path.removesuffix(_IN_NAME)}
            examples.append({**example, "status": str(status)})
    # The mock keeps the last requests to no operation; the run keeps one of each kind.
    found = matrix_document(
        contract.operations, answers, sum(unmatched.values()), examples[-EXAMPLES:]
    )
    found["unmatched"]["statuses"] = {str(s): n for s, n in sorted(unmatched.items())}
    return found


def never_returned(coverage: Mapping[str, Any], facts: Facts) -> list[Never]:
    """Every documented status of `coverage` never answered, with why none can be, if so."""
    operations = facts.spec.operations
    found = []
    for row in coverage["operations"]:
        operation = operations[row["operation"]]
        for status in row["never"]:
            reason = next(
                (
                    u.reason
                    for u in UNREACHABLE
                    if u.status == status and u.applies(operation, facts)
                ),
                None,
            )
            found.append(Never(operation.operation_id, status, reason))
    return found


# -- what an operation takes, and what its description says, read from the spec --------------


def _raw(operation: Operation, facts: Facts) -> Mapping[str, Any]:
    item: Mapping[str, Any] = facts.spec.document["paths"][operation.path]
    return {**item[operation.method.lower()], "shared": item.get("parameters", [])}


def _path_parameters(operation: Operation, facts: Facts) -> dict[str, Mapping[str, Any]]:
    raw = _raw(operation, facts)
    parameters = [facts.spec.resolve(p) for p in [*raw["shared"], *raw.get("parameters", [])]]
    return {p["name"]: facts.spec.resolve(p["schema"]) for p in parameters if p["in"] == "path"}


def _says(status: int) -> Callable[[Operation, Facts], bool]:
    """Whether the operation's description says when it answers `status`."""

    def says(operation: Operation, facts: Facts) -> bool:
        return str(status) in str(_raw(operation, facts).get("description", ""))

    return says


def _takes_nothing(operation: Operation, facts: Facts) -> bool:
    """No parameter and no body: nothing in a request to it can be invalid."""
    has_body = "requestBody" in _raw(operation, facts)
    return not (operation.query_parameters or has_body or _path_parameters(operation, facts))


def _only_the_account_after_the_token(operation: Operation, facts: Facts) -> bool:
    """It takes no query parameter and no body and its ids take any string, so only its account
    can be invalid; and the target judges the token first, so it refuses that account 403."""
    if operation.query_parameters or "requestBody" in _raw(operation, facts):
        return False
    ids = {n: s for n, s in _path_parameters(operation, facts).items() if n != ACCOUNT}
    any_string = all(set(schema) <= {"type", "minLength"} for schema in ids.values())
    return (
        ACCOUNT in _path_parameters(operation, facts) and any_string and bool(facts.checks_tokens)
    )


def _names_nothing_missing(operation: Operation, facts: Facts) -> bool:
    """Its path names no resource but the account (accounts need no creation: contract
    section 1), and its description names nothing else that can be missing."""
    names = set(_path_parameters(operation, facts)) - {ACCOUNT}
    return not names and not _says(404)(operation, facts)


def _always(operation: Operation, facts: Facts) -> bool:
    return True


# The documented statuses no request can produce on the target, and why: every entry is read
# from the spec or from what the run learnt, never from a list of operations.
FORCED = "a mock answers it only when told to (Prefer: code=, or a fault rule)"
UNREACHABLE: tuple[Unreachable, ...] = (
    Unreachable(
        405,
        _always,
        "a 405 answers a method its path does not document, and an operation is a method its"
        " path documents: the run's requests with other methods count as requests to no"
        " operation",
    ),
    Unreachable(
        500,
        _always,
        "a server error: no request, valid or not, may cause one (not_a_server_error fails on"
        f" any); {FORCED}",
    ),
    Unreachable(
        501,
        _always,
        "notImplemented is for a function the service lacks, and every operation of the"
        f" contract is one it implements; {FORCED}",
    ),
    Unreachable(
        503,
        _always,
        f"serviceUnavailable is the service's state, not the request's; {FORCED}",
    ),
    Unreachable(
        401,
        lambda operation, facts: operation.auth_header is None,
        "it needs no token (security: []), so none can be missing or wrong",
    ),
    Unreachable(
        403,
        lambda operation, facts: ACCOUNT not in _path_parameters(operation, facts),
        "its path names no account, so no token can lack one",
    ),
    Unreachable(
        403,
        lambda operation, facts: facts.checks_tokens is False,
        "the target serves any account with any token (a mock started without --tokens)",
    ),
    Unreachable(
        400,
        _takes_nothing,
        "it takes no parameter and no body, so nothing in a request to it can be invalid (an"
        " undefined query parameter is ignored: contract section 9)",
    ),
    Unreachable(
        400,
        _only_the_account_after_the_token,
        "it takes no query parameter and no body, and its ids take any string (one the account"
        " lacks is 404): only an account id over 64 characters is invalid, and this target"
        " refuses that first as an account the token does not hold (403)",
    ),
    Unreachable(
        404,
        _names_nothing_missing,
        "its path names nothing but the account, which needs no creation (contract section 1),"
        " and its description names nothing else that can be missing",
    ),
    Unreachable(
        422,
        lambda operation, facts: not _says(422)(operation, facts),
        "its description names no state that refuses it (each operation's description says"
        " when it is 422): a read, or a delete of a schedule, which always succeeds",
    ),
)


def of_run(run: Run) -> tuple[dict[str, Any], list[Never]]:
    """The coverage document of what the target answered `run`, and what it never returned."""
    contract = Contract.load()
    found = document(contract, run.ledger)
    return found, never_returned(found, Facts(contract.spec, run.checks_tokens))


def of_the_reachable(coverage: Mapping[str, Any], never: list[Never]) -> str:
    """How many of the documented statuses a request can produce here the target returned:
    the figure a run can bring to 100%."""
    covered = int(coverage["covered"])
    reachable = covered + sum(1 for item in never if item.reason is None)
    return (
        f"{covered} of the {reachable} a request can produce on this target"
        f" ({percent(covered, reachable):.1f}%)"
    )


def unreachable(coverage: Mapping[str, Any], never: list[Never]) -> list[tuple[int, str, str]]:
    """The statuses no request can produce, one (status, operations, reason) for each status
    and reason; the operations named, or "every operation" when all that document it."""
    groups: dict[tuple[int, str], list[str]] = {}
    for item in sorted(never, key=lambda n: n.status):
        if item.reason is not None:
            groups.setdefault((item.status, item.reason), []).append(item.operation)
    rows = coverage["operations"]
    found = []
    for (status, reason), names in groups.items():
        documenting = sum(1 for row in rows if str(status) in row["statuses"])
        which = "every operation" if len(names) == documenting else ", ".join(names)
        found.append((status, which, reason))
    return found
