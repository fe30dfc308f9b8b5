"""How a check is written, and the checks every answer the suite gets must pass: its status
is documented, a fault has the documented body, a token is required.

A check is a small function named as the assertion it makes. It raises `CheckFailed` with a
title, one reason and the exchanges that show it; the curl lines of those exchanges reproduce
the failure. `@check` counts each pass in the ledger (failures are counted where they end a
test, once, however often Hypothesis replays them).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec
from urllib.parse import urlsplit

from contract_tests.contract import Contract
from contract_tests.exchange import TOKEN_HEADER, Exchange
from mockserver.spec import Operation

if TYPE_CHECKING:
    from contract_tests.api import Api

P = ParamSpec("P")
# The checks that need a target which refuses tokens it does not know (or accounts they do not
# hold).
TOKEN_CHECKS = ("ignored_auth", "unknown_token_is_unauthorized", "foreign_account_is_forbidden")
# An account id no token holds: the spec's accountId is at most 64 characters.
TOO_LONG_ACCOUNT = "contract-tests-" + "x" * 50


class CheckFailed(AssertionError):
    def __init__(self, title: str, reason: str, exchanges: Sequence[Exchange] = ()) -> None:
        super().__init__(title)
        self.check = ""  # set by @check
        self.title = title
        self.reason = reason
        self.exchanges = tuple(exchanges)

    def curls(self) -> tuple[str, ...]:
        return tuple(exchange.curl() for exchange in self.exchanges)

    def __str__(self) -> str:
        lines = [f"[{self.check}] {self.title}", self.reason]
        if self.exchanges:
            lines.append("Reproduce with:")
            lines += [f"    {curl}" for curl in self.curls()]
        return "\n".join(lines)


def check(func: Callable[Concatenate[Api, P], None]) -> Callable[Concatenate[Api, P], None]:
    name = func.__name__

    @functools.wraps(func)
    def run(api: Api, /, *args: P.args, **kwargs: P.kwargs) -> None:
        try:
            func(api, *args, **kwargs)
        except CheckFailed as failure:
            failure.check = failure.check or name
            raise
        api.ledger.checked(name, passed=True)

    run.is_check = True  # type: ignore[attr-defined]  # omissions.py lists every check
    return run


def deleted_and_gone(
    api: Api,
    noun: str,
    item_path: str,
    listed: Callable[[], tuple[list[dict[str, Any]], list[Exchange]]],
) -> Exchange:
    """The first half of a delete's check (of a schedule, of an instance): DELETE `item_path`
    answers 202, then its GET is 404 and `listed` (the walk of its list) leaves it out. The
    DELETE's exchange, for the checks that go on."""
    item_id = item_path.rsplit("/", 1)[-1]
    answer = api.call("DELETE", item_path)
    shown = api.call("GET", item_path)
    if answer.status != 202 or shown.status != 404:
        raise CheckFailed(
            f"A deleted {noun} is still there",
            f"DELETE {item_id} answered {answer.status}; then GET answered {shown.status}, not 404",
            [answer, shown],
        )
    items, exchanges = listed()
    if item_id in [item.get("id") for item in items]:
        raise CheckFailed(
            f"A deleted {noun} is still listed",
            f"{item_id} is in the {noun} list",
            [answer, *exchanges],
        )
    return answer


def checks_in(*modules: ModuleType) -> list[str]:
    """The names of the checks (`@check` functions) the modules define."""
    return [
        name
        for module in modules
        for name, value in vars(module).items()
        if getattr(value, "is_check", False) and getattr(value, "__module__", "") == module.__name__
    ]


def fault_problems(contract: Contract, status: int, media_type: str, body: Any) -> list[str]:
    """What is wrong with a fault answer: `{"<faultName>": {"code", "message", "details"?}}`."""
    problems = []
    if media_type != "application/json":
        problems.append(f"Content-Type is {media_type or 'missing'}, not application/json")
    name = contract.fault_name(status)
    if name is None:
        return [*problems, f"{status} is not a status the spec gives a fault body"]
    if not isinstance(body, dict) or list(body) != [name]:
        shown = sorted(body) if isinstance(body, dict) else type(body).__name__
        return [*problems, f"the body must hold exactly one member, {name!r}; it holds {shown}"]
    fault = body[name]
    if not isinstance(fault, dict):
        return [*problems, f"{name} must be an object"]
    if fault.get("code") != status or isinstance(fault.get("code"), bool):
        problems.append(f"{name}.code is {fault.get('code')!r}, not {status}")
    if not isinstance(fault.get("message"), str):
        problems.append(f"{name}.message must be a string")
    if "details" in fault and not isinstance(fault["details"], str):
        problems.append(f"{name}.details must be a string")
    return problems


@check
def status_is_documented(api: Api, exchange: Exchange, operation: Operation | None) -> None:
    """An answer of a documented operation has one of the statuses the operation documents."""
    if operation is not None and exchange.status not in operation.statuses:
        raise CheckFailed(
            "Undocumented status",
            f"{operation.operation_id} answered {exchange.status}; it documents"
            f" {sorted(operation.statuses)}",
            [exchange],
        )


@check
def fault_body_is_documented(api: Api, exchange: Exchange) -> None:
    problems = fault_problems(api.contract, exchange.status, exchange.media_type, exchange.json())
    if problems:
        raise CheckFailed("Fault body is not the documented shape", "; ".join(problems), [exchange])


@check
def request_without_token_is_unauthorized(
    api: Api, method: str, path: str, body: Any = None
) -> None:
    for headers in ({}, {TOKEN_HEADER: ""}):
        answer = api.call(method, path, body=body, headers=headers, token=False)
        if answer.status != 401:
            what = "an empty" if headers else "no"
            raise CheckFailed(
                "A request without a token is not refused",
                f"{method} {path} with {what} {TOKEN_HEADER} answered {answer.status}, not 401"
                " unauthorized",
                [answer],
            )


@check
def unknown_token_is_unauthorized(api: Api, path: str) -> None:
    headers = {TOKEN_HEADER: "contract-tests-unknown-token"}
    answer = api.call("GET", path, headers=headers, token=False)
    if answer.status != 401:
        raise CheckFailed(
            "A token the target does not know is not refused",
            f"GET {path} answered {answer.status}, not 401",
            [answer],
        )


@check
def foreign_account_is_forbidden(
    api: Api, method: str, path: str, account: str, body: Any = None
) -> None:
    """The run's token on an account it does not hold is 403 `forbidden` (contract section 6),
    whatever the request."""
    answer = api.call(method, path, body=body)
    if answer.status != 403:
        raise CheckFailed(
            "An account the token does not hold is not refused",
            f"{method} {path} with the run's token, which does not hold account {account},"
            f" answered {answer.status}, not 403 forbidden",
            [answer],
        )


@check
def malformed_account_is_refused(api: Api, method: str, path: str, body: Any = None) -> None:
    """An account id over 64 characters is 400 `badRequest`, or 403 where the target judges the
    token (which cannot hold it) first."""
    answer = api.call(method, path, body=body)
    if answer.status not in (400, 403):
        raise CheckFailed(
            "An account id over 64 characters is not refused",
            f"{method} {path} answered {answer.status}, not 400 (or 403: no token holds it)",
            [answer],
        )


@check
def versions_need_no_token(api: Api) -> None:
    answer = api.call("GET", "/", token=False)
    if answer.status != 200:
        raise CheckFailed(
            "GET / needs a token", f"without {TOKEN_HEADER} it answered {answer.status}", [answer]
        )


@check
def mistake_gets_its_documented_fault(api: Api, answer: Exchange, status: int) -> None:
    """A request the contract says is wrong gets the status it documents (the fault body's
    shape is checked on every answer the suite gets)."""
    if answer.status != status:
        raise CheckFailed(
            "A mistake does not get its documented status",
            f"{answer.method} {answer.url} answered {answer.status}, not {status}",
            [answer],
        )
    if status == 405:
        found = api.contract.spec.match(urlsplit(answer.url).path.removeprefix(_root_path(api)))
        documented = set(found[0].operations) if found else set()
        allowed = {
            m.strip().upper() for m in (answer.header("allow") or "").split(",") if m.strip()
        }
        if allowed != documented:
            raise CheckFailed(
                "405 does not list the documented methods",
                f"Allow is {answer.header('allow')!r}; the spec documents {sorted(documented)}",
                [answer],
            )


def _root_path(api: Api) -> str:
    return urlsplit(api.target.root).path
