"""What each workload sends, and which status is the right answer from each kind of server.

Prism is stateless: it answers every valid request with the operation's documented example, and
an invalid one with 422, the first of 422/400 the operation documents (so 422 is its right answer
to the invalid create, where the contract's, and ours, is 400).

Show, list and create are also driven through the validating proxy (`mockserver --upstream`) in
front of a mock, and at that mock directly (bench/proxy.py); both answer as ours does.

Show, list and create are driven a second time through a region's prefix (`/iad/v1.0/...`,
contract section 12), against ours only (Prism serves no region prefix), right after the same
workload at the default `/v1.0`: the report sets each beside its default as "regional / default".

The scaling phase drives two pages of the list against ours alone, as the account grows: the
first page, and deep pages (after markers all along the list).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bench.seed import ACCOUNT

Request = tuple[str, str, str]  # method, path (with query), JSON body or ""
REGION_PREFIX = "/iad"  # the seeded state holds the bench account in IAD too (seed.state)
REGIONAL = ("show", "list", "create")
# Through the proxy: the valid workloads only. The invalid create breaks the contract on purpose,
# so the proxy would count (and log) a violation per request, and its time would be the
# violation path's, not the one the requirement is about.
PROXIED = ("show", "list", "create")


@dataclass(frozen=True)
class Workload:
    name: str
    requests: list[Request]
    expected: Mapping[str, int]  # server kind -> the right status; a kind not here is not driven
    default: str | None = None  # a regional workload: the name of the same one at /v1.0

    def expected_for(self, kind: str) -> int:
        return self.expected[kind]

    def drives(self, kind: str) -> bool:
        return kind in self.expected


def throughput(newest_backup: str, instances: list[str]) -> list[Workload]:
    """The workloads at /v1.0, each of REGIONAL followed by the same at REGION_PREFIX."""
    loads: list[Workload] = []
    for workload in _defaults(newest_backup, instances):
        loads.append(workload)
        if workload.name in REGIONAL:
            loads.append(regional(workload))
    return loads


def proxied(newest_backup: str, instances: list[str]) -> list[Workload]:
    """The workloads at /v1.0 sent to the upstream mock directly and through the proxy."""
    return [w for w in _defaults(newest_backup, instances) if w.name in PROXIED]


def regional(workload: Workload, prefix: str = REGION_PREFIX) -> Workload:
    """The same requests through a region's prefix, for ours."""
    return Workload(
        f"{workload.name} at {prefix}",
        [(method, prefix + path, body) for method, path, body in workload.requests],
        {"ours": workload.expected_for("ours")},
        default=workload.name,
    )


def _defaults(newest_backup: str, instances: list[str]) -> list[Workload]:
    base = f"/v1.0/{ACCOUNT}/backups"
    return [
        Workload("show", [("GET", f"{base}/{newest_backup}", "")], {"ours": 200, "prism": 200}),
        Workload("list", [("GET", base, "")], {"ours": 200, "prism": 200}),
        # Creates rotate over the account's ACTIVE instances; the mock runs with lifecycles of
        # 0 s, so every backup completes at once and its instance is ACTIVE again (no 422).
        Workload(
            "create",
            [("POST", base, _create_body(instance)) for instance in instances],
            {"ours": 202, "prism": 202},
        ),
        Workload(
            "invalid create",
            [("POST", base, json.dumps({"backup": {"name": "", "instance": "not-a-uuid"}}))],
            {"ours": 400, "prism": 422},
        ),
    ]


def first_page() -> Workload:
    """The newest 20 backups: the list without a marker, what a console shows first."""
    return Workload("first page", [("GET", f"/v1.0/{ACCOUNT}/backups", "")], {"ours": 200})


def deep_pages(ids_newest_first: list[str], pages: int = 50) -> Workload:
    """Pages of 20 from all along the list past the first: after markers spread from the
    second-newest backup to the 21st from the end (whose next page is the last 20), so that a
    list that walks to its marker shows its cost as the account grows."""
    if len(ids_newest_first) < 2:
        raise ValueError("deep pages need at least 2 backups")
    base = f"/v1.0/{ACCOUNT}/backups"
    last_start = max(1, len(ids_newest_first) - 21)
    markers = sorted({max(1, last_start * i // (pages - 1)) for i in range(pages)})
    requests: list[Request] = [("GET", f"{base}?marker={ids_newest_first[m]}", "") for m in markers]
    return Workload("deep pages", requests, {"ours": 200})


def _create_body(instance: str) -> str:
    body: dict[str, Any] = {
        "backup": {"name": "bench", "instance": instance, "description": "made by make bench"}
    }
    return json.dumps(body)
