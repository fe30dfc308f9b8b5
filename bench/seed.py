"""State documents for PUT /__mock/state: the fixture state plus one account of N backups.

The account's backups are COMPLETED, one a minute apart, spread over its ACTIVE instances, and
shaped as fixtures/state.json shapes them (which is what GET /__mock/state returns). With
`regions`, each of those regions holds the same account too (the same ids), so that a workload
sent through a region's prefix reads and writes as much as at /v1.0.

The scaling phase also grows an account as users do: `create_backups` makes its backups through
the API, and `listed_ids` reads their ids back through the list, in the list's order.
"""

from __future__ import annotations

import copy
import http.client
import json
import random
import threading
import time
import uuid
from typing import Any

from bench.tools import ROOT

ACCOUNT = "bench"
TOKEN = "bench"  # X-Auth-Token, as wrk.lua sends it
PAGE = 20  # backups in a page of the list (the API cuts any larger limit to 20)
INSTANCES = 100
EPOCH = 1_600_000_000  # 2020-09-13: every backup is older than the mock's clock
DATASTORE = {
    "type": "mysql",
    "version": "5.6",
    "version_id": "1379cc8b-4bc5-4c4a-9e9d-7a9ad27c0866",
}
LOCATION = (
    "https://snet-storage101.dfw1.clouddrive.com/v1/MossoCloudFS_bench"
    "/z_CLOUDDB_BACKUPS/{id}.xbstream.gz"
)


def state(
    backups: int, instances: int = INSTANCES, seed: int = 6, regions: tuple[str, ...] = ()
) -> dict[str, Any]:
    fixture: dict[str, Any] = json.loads((ROOT / "fixtures" / "state.json").read_text())
    document = copy.deepcopy(fixture)
    chance = random.Random(seed)  # the same ids on every run
    instance_ids = [_uuid(chance) for _ in range(instances)]
    account = {
        "instances": [_instance(i, instance_id) for i, instance_id in enumerate(instance_ids)],
        "ha_instances": [],
        "backups": [_backup(i, _uuid(chance), instance_ids[i % instances]) for i in range(backups)],
    }
    document["accounts"][ACCOUNT] = account
    if regions:
        document["regions"] = {
            code: {"accounts": {ACCOUNT: copy.deepcopy(account)}} for code in regions
        }
    return document


def backup_ids(document: dict[str, Any]) -> list[str]:
    """The bench account's backup ids, newest first (the order of a list)."""
    backups = document["accounts"][ACCOUNT]["backups"]
    return [b["id"] for b in sorted(backups, key=lambda b: (b["created"], b["id"]), reverse=True)]


def instance_ids(document: dict[str, Any]) -> list[str]:
    return [i["id"] for i in document["accounts"][ACCOUNT]["instances"]]


def put_state(url: str, body: bytes, timeout: float = 600.0) -> float:
    """PUT the document; the seconds it took (the answer, the whole new state, is read too)."""
    began = time.perf_counter()
    control_call(url, "PUT", "/__mock/state", body, timeout)
    return time.perf_counter() - began


def control_call(
    url: str, method: str, path: str, body: bytes | None = None, timeout: float = 30.0
) -> bytes:
    """One request to the control API of the mock at `url` (http://host:port); the answer's
    body. RuntimeError unless it is 200. http.client, not httpx: the bench times these calls
    and keeps its own imports to the standard library."""
    connection = connect(url, timeout)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read()
    finally:
        connection.close()
    if response.status != 200:
        raise RuntimeError(f"{method} {path}: {response.status} {answer[:500]!r}")
    return answer


def connect(url: str, timeout: float) -> http.client.HTTPConnection:
    """A connection (not yet opened) to the server at `url` (http://host:port)."""
    host, port = url.removeprefix("http://").split(":")
    return http.client.HTTPConnection(host, int(port), timeout=timeout)


def _uuid(chance: random.Random) -> str:
    return str(uuid.UUID(int=chance.getrandbits(128), version=4))


def _timestamp(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _instance(number: int, instance_id: str) -> dict[str, Any]:
    return {
        "id": instance_id,
        "name": f"bench-instance-{number}",
        "status": "ACTIVE",
        "datastore": dict(DATASTORE),
        "flavor": {"id": "2", "ram": 1024},
        "volume": {"size": 2},
    }


def _backup(number: int, backup_id: str, instance_id: str) -> dict[str, Any]:
    created = EPOCH + 60 * number
    return {
        "id": backup_id,
        "name": f"bench-backup-{number}",
        "description": None,
        "status": "COMPLETED",
        "created": _timestamp(created),
        "updated": _timestamp(created + 5),
        "instance_id": instance_id,
        "source": {"type": "instance", "id": instance_id},
        "parent_id": None,
        "locationRef": LOCATION.format(id=backup_id),
        "size": round(0.1 + number % 400 / 1000, 2),
        "type": "InnoBackupEx",
        "is_automated": 0,
        "flavor_ram": 1024,
        "volume_size": 2,
        "datastore": dict(DATASTORE),
    }


def create_backups(url: str, count: int, instances: list[str], connections: int = 4) -> float:
    """Make `count` backups through `POST /v1.0/{account}/backups`, as users make them, over
    `connections` kept-alive connections, rotating over `instances`; the seconds it took.
    The mock must run with lifecycles of 0 s (each instance is ACTIVE again by the next
    request) and a quota above `count`. RuntimeError on any answer but 202, or when a connection
    fails: a worker that died quietly would leave the account short of backups."""
    path = f"/v1.0/{ACCOUNT}/backups"
    headers = {"Content-Type": "application/json", "X-Auth-Token": TOKEN}
    failures: list[str] = []  # list.append is atomic: the workers share it without a lock

    def make(first: int) -> None:
        connection = connect(url, 60)
        try:
            for number in range(first, count, connections):
                if failures:  # another worker failed: the seeding is void, stop early
                    return
                instance = instances[number % len(instances)]
                body = json.dumps(
                    {"backup": {"name": f"bench-{number}", "instance": instance}}
                ).encode()
                connection.request("POST", path, body=body, headers=headers)
                response = connection.getresponse()
                answer = response.read()
                if response.status != 202:
                    failures.append(f"{response.status} {answer[:300]!r}")
                    return
        except (OSError, http.client.HTTPException) as error:
            failures.append(f"{type(error).__name__}: {error}")
        finally:
            connection.close()

    began = time.perf_counter()
    workers = [threading.Thread(target=make, args=(n,)) for n in range(connections)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if failures:
        raise RuntimeError(f"POST {path}: {failures[0]}")
    return time.perf_counter() - began


def listed_ids(url: str) -> list[str]:
    """The account's backup ids, newest first, as the list API gives them: pages of PAGE, each
    after the marker of the previous page's last id, on one kept-alive connection. The list's
    own order is the truth here: backups made through the API under a frozen clock all share one
    `created`. Cheaper for the process measured than GET /__mock/state, which builds the whole
    state document at once (100,000 backups: tens of MB held, which its RSS would then show)."""
    connection = connect(url, 60)
    base = f"/v1.0/{ACCOUNT}/backups"
    ids: list[str] = []
    try:
        while True:
            path = f"{base}?marker={ids[-1]}" if ids else base
            connection.request("GET", path, headers={"X-Auth-Token": TOKEN})
            response = connection.getresponse()
            answer = response.read()
            if response.status != 200:
                raise RuntimeError(f"GET {path}: {response.status} {answer[:300]!r}")
            found = [backup["id"] for backup in json.loads(answer)["backups"]]
            ids += found
            if len(found) < PAGE:
                return ids
    finally:
        connection.close()
