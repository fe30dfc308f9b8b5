"""Hostile input on every operation gets a 4xx with the documented fault body, and leaves the
mock serving with its state unchanged.

Most cases go through the ASGI app with hand-built scopes, so that nothing normalizes the path,
the query or the headers on the way; the cases the transport decides (uvicorn's limits, NUL
bytes in headers, a body declared too large) go to a real process.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import pytest
import yaml
from support import (
    FIXTURES,
    MockProcess,
    dormant_schedule,
    load_spec,
    operations,
    read_json,
    resolve,
)

from mockserver import Settings, create_app
from mockserver.app import Mock
from mockserver.http.validation import MAX_JSON_DEPTH, RequestInvalid, parse_body, too_deep
from mockserver.resources import CONTROL_SPEC_PATH

SPEC = load_spec()
CONTROL = yaml.safe_load(CONTROL_SPEC_PATH.read_text(encoding="utf-8"))
ACCOUNT = read_json(FIXTURES / "state.json")["accounts"]["1234"]
IDS = {
    "accountId": "1234",
    "backupId": ACCOUNT["backups"][0]["id"],
    "instanceId": ACCOUNT["instances"][0]["id"],
    "haId": ACCOUNT["ha_instances"][0]["id"],
    "scheduleId": "2e351a71-dd28-4bcb-a7d6-d36a5b487173",  # the shared mock's one schedule
    "flavorId": "1",
}
SCHEDULE = dormant_schedule(IDS["scheduleId"], ACCOUNT["instances"][0]["id"])
TOKEN = "hostile-input-token"  # holds account 1234 only
MOCK_TOKEN = "hostile-input-control-token"
CHUNK = 16 * 1024
TEN_MB = 10 * 1024 * 1024


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str  # with the ids of the fixture state
    template: str
    statuses: frozenset[int]
    takes_body: bool
    query: tuple[str, ...]
    prefix: str = ""  # a region's prefix, "/iad" (contract section 12); "" for the own region's

    def __str__(self) -> str:
        return f"{self.operation_id}@{self.prefix}" if self.prefix else self.operation_id

    def regional(self, code: str) -> Operation:
        """The operation through a region's prefix: `/iad/v1.0/...`."""
        prefix = f"/{code}"
        return replace(
            self, path=prefix + self.path, template=prefix + self.template, prefix=prefix
        )

    @property
    def control(self) -> bool:
        return self.path.startswith("/__mock")

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        """The headers that let a well-formed request through: the token it needs."""
        if self.control:
            return [(b"x-mock-token", MOCK_TOKEN.encode())]
        return [(b"x-auth-token", TOKEN.encode())]


def _operations() -> list[Operation]:
    found = []
    for prefix, document in (("", SPEC), ("/__mock", CONTROL)):
        for template, item in document["paths"].items():
            for method, raw in item.items():
                if method == "parameters":
                    continue
                parameters = [
                    resolve(document, p)
                    for p in item.get("parameters", []) + raw.get("parameters", [])
                ]
                found.append(
                    Operation(
                        raw["operationId"],
                        method.upper(),
                        prefix + template.format(**IDS),
                        prefix + template,
                        frozenset(int(status) for status in raw["responses"]),
                        "requestBody" in raw,
                        tuple(p["name"] for p in parameters if p["in"] == "query"),
                    )
                )
    return found


def _fault_names() -> dict[int, str]:
    names = {}
    for _, _, operation in operations(SPEC):
        for code, response in operation["responses"].items():
            content = resolve(SPEC, response).get("content", {}).get("application/json")
            if int(code) >= 400 and content is not None:
                names[int(code)] = resolve(SPEC, content["schema"])["required"][0]
    return names


OPERATIONS = _operations()
WITH_BODY = [op for op in OPERATIONS if op.takes_body]
WITH_QUERY = [op for op in OPERATIONS if op.query]
ID_PARAMETER = re.compile(r"\{(backupId|instanceId|haId|scheduleId|flavorId)\}")
WITH_ID = [op for op in OPERATIONS if ID_PARAMETER.search(op.template)]
NEEDS_TOKEN = [op for op in OPERATIONS if op.operation_id != "getVersions"]
API = [op for op in NEEDS_TOKEN if not op.control]
# The API through IAD's prefix (contract section 12): the shared mock's IAD holds a copy of
# account 1234, so that ids there name something too.
REGION = "iad"
REGIONAL = [op.regional(REGION) for op in API]
REGIONAL_WITH_BODY = [op for op in REGIONAL if op.takes_body]
REGIONAL_WITH_ID = [op for op in REGIONAL if ID_PARAMETER.search(op.template)]
FAULT_NAMES = _fault_names()
CREATE_INSTANCE = {"instance": {"name": "hostile", "flavorRef": 1, "volume": {"size": 1}}}
VALID_BODY = {
    "createBackup": {"backup": {"name": "hostile", "instance": IDS["instanceId"]}},
    "createInstance": CREATE_INSTANCE,
    "createAutoBackup": {
        "schedule": {
            "action": "backup",
            "day_of_week": 0,
            "hour": 1,
            "minute": 2,
            "instance_id": IDS["instanceId"],
        }
    },
    "updateAutomatedBackupById": {"schedule": {"hour": 3}},
    "putState": read_json(FIXTURES / "state.json"),
    "advanceClock": {"advance_seconds": 5},
    "addFault": {"method": "GET", "path": "/v1.0/1234/backups", "status": 503},
    "backupAction": {"copy-backup": {"target_backup_region": "ORD"}},
}


# -- an ASGI client that sends exactly what it is given --------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    mock: Mock,
    method: str,
    raw_path: str,
    *,
    query: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
    body: bytes = b"",
    chunks: Iterator[bytes] | None = None,
    chunk_count: int = 0,
) -> Answer:
    """Send one request; the path is percent-decoded as uvicorn does, and nothing else."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(raw_path),
        "raw_path": raw_path.encode("latin-1"),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8779"), *(headers or [])],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8779),
        "state": {},
    }
    if chunks is None:
        chunks, chunk_count = iter([body]), 1
    sent = 0
    answer = Answer(0, {}, b"")

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent >= chunk_count:
            return {"type": "http.disconnect"}
        sent += 1
        return {"type": "http.request", "body": next(chunks), "more_body": sent < chunk_count}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer.status = message["status"]
            answer.headers = {k.decode().lower(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            answer.body += message.get("body", b"")

    asyncio.run(mock(scope, receive, send))
    return answer


def refused(answer: Answer, operation: Operation | None, *statuses: int) -> dict[str, Any]:
    """Assert a 4xx (one of `statuses`, when given) that the operation documents, with the
    documented fault body; return the fault."""
    assert 400 <= answer.status < 500, (answer.status, answer.body[:300])
    if statuses:
        assert answer.status in statuses, (answer.status, answer.body[:300])
    if operation is not None:
        assert answer.status in operation.statuses, f"{answer.status} undocumented for {operation}"
    assert answer.headers["content-type"] == "application/json"
    document = answer.json()
    name = FAULT_NAMES[answer.status]
    assert list(document) == [name], document
    assert document[name]["code"] == answer.status
    assert isinstance(document[name]["message"], str) and document[name]["message"]
    fault: dict[str, Any] = document[name]
    return fault


# -- one mock for the module: no hostile request may change it ---------------------------------


def observable(mock: Mock) -> Any:
    """Everything a request could change: the state of every region, the fault rules, how
    backups end, the clock."""
    return (
        mock.regions.snapshot(),
        mock.injector.rules(),
        mock.store.backup_fate,
        mock.clock.offset,
    )


def in_iad(account: dict[str, Any]) -> dict[str, Any]:
    """The account with the same ids, its backups and instances named apart: an answer of IAD's
    is never one of DFW's."""
    copied = copy.deepcopy(account)
    for item in [*copied["backups"], *copied["instances"]]:
        item["name"] = f"IAD {item['name']}"
    return copied


@pytest.fixture(scope="module")
def shared() -> Iterator[tuple[Mock, Any]]:
    settings = Settings(
        frozen_clock=True,
        tokens={TOKEN: frozenset({"1234"}), "every-account": frozenset({"*"})},
        control_token=MOCK_TOKEN,
    )
    state = read_json(FIXTURES / "state.json")
    state["accounts"]["1234"]["schedules"] = [SCHEDULE]
    state["regions"] = {"IAD": {"accounts": {"1234": in_iad(state["accounts"]["1234"])}}}
    mock = create_app(settings, state=state)
    yield mock, observable(mock)


@pytest.fixture
def mock(shared: tuple[Mock, Any]) -> Iterator[Mock]:
    """The shared mock; after each test, its state is the one it started with, and it serves."""
    mock, before = shared
    yield mock
    after = observable(mock)
    if after[0] != before[0]:  # put it back, so that one failure does not fail every later test
        mock.regions.replace(copy.deepcopy(before[0]))
    assert after == before
    for root in ("", f"/{REGION}"):
        answer = call(
            mock, "GET", f"{root}/v1.0/1234/backups", headers=[(b"x-auth-token", TOKEN.encode())]
        )
        assert answer.status == 200
        assert len(answer.json()["backups"]) == len(ACCOUNT["backups"])


def json_headers(operation: Operation, content_type: bytes = b"application/json") -> list[Any]:
    return [*operation.headers, (b"content-type", content_type)]


# -- bodies ----------------------------------------------------------------------------------

MALFORMED = {
    "truncated": b'{"backup": {"name": "snap", "instance": "d4603f69',
    "unquoted names": b"{backup: {name: snap}}",
    "single quotes": b"{'backup': {'name': 'snap'}}",
    "trailing comma": b'{"backup": {"name": "snap",}}',
    "two documents": b'{"backup": {}} {"backup": {}}',
    "NaN": b'{"advance_seconds": NaN, "backup": {"name": NaN}}',
    "not JSON at all": b"<backup name='snap'/>",
    "invalid UTF-8": b'{"backup": {"name": "\xff\xfe snap"}, "path": "\xff"}',
    "overlong UTF-8": b'{"backup": {"name": "\xc0\xaf"}}',
    "UTF-8 surrogate": b'{"backup": {"name": "\xed\xa0\x80"}}',
    "raw NUL byte in a string": b'{"backup": {"name": "sn\x00ap"}, "path": "/\x00"}',
    "nested 101 deep": b'{"a": ' * 101 + b"1" + b"}" * 101,
    "nested 1,000 deep": b"[" * 1000 + b"]" * 1000,
    "nested 30,000 deep, under the size limit": b"[" * 30_000 + b"]" * 30_000,
    "number beyond a float": b'{"backup": {"name": "snap", "x": 1e400}, "advance_seconds": 1e400}',
    "negative number beyond a float": b'{"advance_seconds": -1e400, "backup": -1e400}',
    "integer of 5,000 digits": b'{"count": ' + b"9" * 5000 + b', "backup": {"name": "x"}}',
}


@pytest.mark.parametrize("operation", WITH_BODY + REGIONAL_WITH_BODY, ids=str)
@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_json_body_is_refused_with_400(
    mock: Mock, operation: Operation, body: bytes
) -> None:
    answer = call(
        mock, operation.method, operation.path, headers=json_headers(operation), body=body
    )
    refused(answer, operation, 400)


@pytest.mark.parametrize("operation", OPERATIONS + REGIONAL, ids=str)
def test_json_nested_100000_deep_is_refused_with_413_unparsed(
    mock: Mock, operation: Operation
) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    answer = call(
        mock, operation.method, operation.path, headers=json_headers(operation), body=body
    )
    refused(answer, operation, 413)


@pytest.mark.parametrize("operation", OPERATIONS + REGIONAL, ids=str)
def test_a_10_mb_body_is_refused_after_reading_no_more_than_the_limit(
    mock: Mock, operation: Operation
) -> None:
    consumed = 0
    count = TEN_MB // CHUNK
    settings = mock.settings
    limit = settings.control_max_body_bytes if operation.control else settings.max_body_bytes
    assert limit < TEN_MB

    def stream() -> Iterator[bytes]:
        nonlocal consumed
        for _ in range(count):
            consumed += CHUNK
            yield b" " * CHUNK

    answer = call(
        mock,
        operation.method,
        operation.path,
        headers=json_headers(operation),
        chunks=stream(),
        chunk_count=count,
    )
    refused(answer, operation, 413)
    assert consumed <= limit + CHUNK


@pytest.mark.parametrize("operation", OPERATIONS + REGIONAL, ids=str)
def test_a_body_declared_larger_than_the_limit_is_refused_before_any_of_it_is_read(
    mock: Mock, operation: Operation
) -> None:
    consumed = 0

    def stream() -> Iterator[bytes]:
        nonlocal consumed
        while True:
            consumed += CHUNK
            yield b" " * CHUNK

    headers = [*json_headers(operation), (b"content-length", str(TEN_MB).encode())]
    answer = call(
        mock, operation.method, operation.path, headers=headers, chunks=stream(), chunk_count=640
    )
    refused(answer, operation, 413)
    assert consumed == 0


NOT_JSON = [
    b"text/plain",
    b"application/x-www-form-urlencoded",
    b"multipart/form-data; boundary=hostile",
    b"application/xml",
    b"application/octet-stream",
    b"image/png",
]


@pytest.mark.parametrize("operation", WITH_BODY + REGIONAL_WITH_BODY, ids=str)
@pytest.mark.parametrize("content_type", NOT_JSON, ids=lambda t: t.decode().split(";")[0])
def test_a_valid_document_sent_as_another_media_type_is_refused_with_415(
    mock: Mock, operation: Operation, content_type: bytes
) -> None:
    body = json.dumps(VALID_BODY[operation.operation_id]).encode()
    headers = json_headers(operation, content_type)
    answer = call(mock, operation.method, operation.path, headers=headers, body=body)
    refused(answer, operation, 415)


@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
@pytest.mark.parametrize("length", [b"abc", b"-1", b"2, 2", b"1e3"])
def test_a_malformed_content_length_is_refused_with_400(
    mock: Mock, operation: Operation, length: bytes
) -> None:
    headers = [*json_headers(operation), (b"content-length", length)]
    answer = call(mock, operation.method, operation.path, headers=headers, body=b"{}")
    refused(answer, operation, 400)


def nested(depth: int, operation_id: str = "createBackup") -> bytes:
    """A valid create (or copy) whose ignored extra member nests `depth` arrays deep."""
    extra = "[" * depth + "]" * depth
    document = copy.deepcopy(VALID_BODY[operation_id])
    [member] = document.values()
    member["extra"] = "EXTRA"
    return json.dumps(document).replace('"EXTRA"', extra).encode()


CREATES = [
    op
    for op in OPERATIONS + REGIONAL
    if op.operation_id in ("createBackup", "createInstance", "backupAction")
]


@pytest.mark.parametrize("operation", CREATES, ids=str)
@pytest.mark.parametrize("depth", [150, 500, 900, 950, 990])
def test_a_valid_create_with_a_deeply_nested_member_is_refused_not_a_500(
    mock: Mock, operation: Operation, depth: int
) -> None:
    headers = json_headers(operation)
    body = nested(depth, operation.operation_id)
    answer = call(mock, "POST", operation.path, headers=headers, body=body)
    assert "nested" in refused(answer, operation, 400)["message"]


def instance_with(**members: Any) -> dict[str, Any]:
    """The valid create of an instance, with `members` in place of its own."""
    return {"instance": CREATE_INSTANCE["instance"] | members}


def restore(backup_ref: Any, **members: Any) -> dict[str, Any]:
    return instance_with(restorePoint={"backupRef": backup_ref}, **members)


BACKUP = IDS["backupId"]  # a COMPLETED percona backup
MANY_DIGITS = int("9" * 4300)  # the most digits Python converts (the parser takes it)
# A create of an instance that is JSON, with a hostile member -> the documented refusal: a
# reference that names nothing is 404, a member its schema refuses is 400.
HOSTILE_INSTANCES: dict[str, tuple[Any, int]] = {
    "flavorRef then LF": (instance_with(flavorRef="1\n"), 404),
    "flavorRef link then LF": (instance_with(flavorRef="https://x/v1.0/1234/flavors/1\n"), 404),
    "flavorRef then NUL": (instance_with(flavorRef="1\u0000"), 404),
    "flavorRef in fullwidth digits": (instance_with(flavorRef="\uff11"), 404),
    "flavorRef in Arabic-Indic digits": (instance_with(flavorRef="\u0663"), 404),
    "flavorRef in superscript": (instance_with(flavorRef="\u00b9"), 404),
    "flavorRef padded": (instance_with(flavorRef=" 1 "), 404),
    "flavorRef signed": (instance_with(flavorRef="+1"), 404),
    "flavorRef in hex": (instance_with(flavorRef="0x1"), 404),
    "flavorRef as an exponent": (instance_with(flavorRef="1e0"), 404),
    "flavorRef of 1,024 digits": (instance_with(flavorRef="9" * 1024), 404),
    "flavorRef of 1,025 characters": (instance_with(flavorRef="1" * 1025), 400),
    "flavorRef integer of 4,300 digits": (instance_with(flavorRef=MANY_DIGITS), 404),
    "flavorRef beyond 64 bits": (instance_with(flavorRef=2**64 + 1), 404),
    "flavorRef 0": (instance_with(flavorRef=0), 400),
    "flavorRef negative": (instance_with(flavorRef=-1), 400),
    "flavorRef fraction": (instance_with(flavorRef=1.5), 400),
    "flavorRef true": (instance_with(flavorRef=True), 400),
    "flavorRef null": (instance_with(flavorRef=None), 400),
    "flavorRef object": (instance_with(flavorRef={"id": 1}), 400),
    "volume 0": (instance_with(volume={"size": 0}), 400),
    "volume 151": (instance_with(volume={"size": 151}), 400),
    "volume beyond 64 bits": (instance_with(volume={"size": 2**64 + 1}), 400),
    "volume of 4,300 digits": (instance_with(volume={"size": MANY_DIGITS}), 400),
    "volume fraction": (instance_with(volume={"size": 1.5}), 400),
    "volume string": (instance_with(volume={"size": "1"}), 400),
    "volume true": (instance_with(volume={"size": True}), 400),
    "volume null": (instance_with(volume={"size": None}), 400),
    "volume a number": (instance_with(volume=1), 400),
    "name without letter or digit": (instance_with(name="---"), 400),
    "name NUL alone": (instance_with(name="\u0000"), 400),
    "name of 65 characters": (instance_with(name="n" * 65), 400),
    "name null": (instance_with(name=None), 400),
    "datastore then LF": (instance_with(datastore={"type": "mysql\n"}), 404),
    "datastore then NUL": (instance_with(datastore={"type": "mysql\u0000"}), 404),
    "datastore in fullwidth": (
        instance_with(datastore={"type": "\uff4d\uff59\uff53\uff51\uff4c"}),
        404,
    ),
    "datastore version then LF": (
        instance_with(datastore={"type": "mysql", "version": "5.6\n"}),
        404,
    ),
    "datastore version in fullwidth digits": (
        instance_with(datastore={"type": "mysql", "version": "\uff15.\uff16"}),
        404,
    ),
    "datastore of 256 characters": (instance_with(datastore={"type": "m" * 256}), 400),
    "datastore a number": (instance_with(datastore={"type": 5}), 400),
    "datastore null": (instance_with(datastore=None), 400),
    "backupRef then LF": (restore(BACKUP + "\n"), 404),
    "backupRef then NUL": (restore(BACKUP + "\u0000"), 404),
    "backupRef upper-case": (restore(BACKUP.upper()), 404),
    "backupRef as a link": (restore(f"https://x/v1.0/1234/backups/{BACKUP}"), 404),
    "backupRef an instance": (restore(IDS["instanceId"]), 404),
    "backupRef of 256 characters": (restore("b" * 256), 400),
    "backupRef a number": (restore(5), 400),
    "backupRef a list": (restore([BACKUP]), 400),
    "restorePoint without backupRef": (instance_with(restorePoint={"id": BACKUP}), 400),
    "restorePoint null": (instance_with(restorePoint=None), 400),
    "restore onto another datastore": (restore(BACKUP, datastore={"type": "mysql"}), 400),
    "restore onto another version": (
        restore(BACKUP, datastore={"type": "percona", "version": "5.7"}),
        404,
    ),
    "the instance in a list": ([CREATE_INSTANCE], 400),
    "the instance under another name": ({"instances": CREATE_INSTANCE["instance"]}, 400),
    "the instance null": ({"instance": None}, 400),
}


@pytest.mark.parametrize(
    ("document", "status"), HOSTILE_INSTANCES.values(), ids=HOSTILE_INSTANCES.keys()
)
def test_a_hostile_instance_create_is_refused_and_creates_nothing(
    mock: Mock, document: Any, status: int
) -> None:
    operation = next(op for op in OPERATIONS if op.operation_id == "createInstance")
    body = json.dumps(document).encode()
    answer = call(mock, "POST", operation.path, headers=json_headers(operation), body=body)
    refused(answer, operation, status)


def test_the_journal_serves_every_body_it_recorded_as_strict_json(mock: Mock) -> None:
    headers = [(b"x-auth-token", TOKEN.encode()), (b"content-type", b"application/json")]
    bodies = [nested(depth) for depth in (150, 500, 900)] + [MALFORMED["number beyond a float"]]
    for body in bodies:
        call(mock, "POST", "/v1.0/1234/backups", headers=headers, body=body)
    answer = call(mock, "GET", "/__mock/requests", headers=[(b"x-mock-token", MOCK_TOKEN.encode())])
    assert answer.status == 200

    def no_constants(name: str) -> None:
        raise AssertionError(f"{name} is not JSON")

    entries = json.loads(answer.body, parse_constant=no_constants)["requests"]
    assert len(entries) >= len(bodies)


def test_a_chunked_body_without_content_length_is_read_whole() -> None:
    # The gateway reads the body to enforce the size limit; what it passes on must still be whole.
    mock = create_app(Settings(frozen_clock=True))
    body = json.dumps({"backup": {"name": "chunked", "instance": IDS["instanceId"]}}).encode()
    pieces = [body[:7], body[7:20], body[20:]]
    headers = [(b"x-auth-token", b"t"), (b"content-type", b"application/json")]
    answer = call(
        mock, "POST", "/v1.0/1234/backups", headers=headers, chunks=iter(pieces), chunk_count=3
    )
    assert answer.status == 202, answer.body
    assert answer.json()["backup"]["name"] == "chunked"


def test_reads_and_refusals_on_an_account_never_seen_add_nothing_to_the_state() -> None:
    mock = create_app(Settings(frozen_clock=True))
    before = mock.store.snapshot()
    headers = [(b"x-auth-token", b"t"), (b"content-type", b"application/json")]
    unknown = "00000000-0000-4000-8000-000000000000"
    for path in ("/v1.0/5678/backups", f"/v1.0/5678/backups/{unknown}", "/v1.0/%00/instances"):
        assert call(mock, "GET", path, headers=headers).status in (200, 404)
    body = json.dumps({"backup": {"name": "x", "instance": unknown}}).encode()
    assert call(mock, "POST", "/v1.0/5678/backups", headers=headers, body=body).status == 404
    assert call(mock, "DELETE", f"/v1.0/5678/backups/{unknown}", headers=headers).status == 404
    # Instances and flavors: a restore of another account's backup, a flavor of none, a delete.
    for document in (restore(BACKUP), instance_with(flavorRef=9), restore(unknown)):
        body = json.dumps(document).encode()
        answer = call(mock, "POST", "/v1.0/5678/instances", headers=headers, body=body)
        assert answer.status == 404, answer.body
    assert call(mock, "DELETE", f"/v1.0/5678/instances/{unknown}", headers=headers).status == 404
    for path in ("/v1.0/5678/flavors", "/v1.0/5678/flavors/1", "/v1.0/5678/flavors/9"):
        assert call(mock, "GET", path, headers=headers).status in (200, 404)
    assert mock.store.snapshot() == before


def test_a_nul_escaped_in_a_name_is_data_kept_whole_not_a_string_end() -> None:
    mock = create_app(Settings(frozen_clock=True))
    headers = [(b"x-auth-token", b"t"), (b"content-type", b"application/json")]
    body = {"backup": {"name": "before\u0000after", "instance": IDS["instanceId"]}}
    created = call(
        mock, "POST", "/v1.0/1234/backups", headers=headers, body=json.dumps(body).encode()
    )
    assert created.status == 202
    shown = call(
        mock, "GET", f"/v1.0/1234/backups/{created.json()['backup']['id']}", headers=headers
    )
    assert shown.json()["backup"]["name"] == "before\u0000after"


# -- query strings ---------------------------------------------------------------------------


UNKNOWN_QUERIES = {  # query -> the name the Warning shows
    b"hostile=1": "hostile",
    b"hostile=": "hostile",
    b"%00=1": "%00",
    b"%ff%fe=1": "%EF%BF%BD%EF%BF%BD",  # not UTF-8: read as U+FFFD, as every query is
    b"a%22b%5C=1": "a%22b%5C",
    b"q=" + b"x" * 60_000: "q",
}
API_READS = [op for op in OPERATIONS if not op.control and op.method == "GET"]


@pytest.mark.parametrize("operation", API_READS, ids=str)
@pytest.mark.parametrize("query", UNKNOWN_QUERIES, ids=lambda q: q[:12].decode())
def test_an_unknown_query_parameter_is_ignored_and_named_in_a_warning(
    mock: Mock, operation: Operation, query: bytes
) -> None:
    plain = call(mock, operation.method, operation.path, headers=operation.headers)
    answer = call(mock, operation.method, operation.path, query=query, headers=operation.headers)
    assert (answer.status, answer.body) == (plain.status, plain.body)
    shown = UNKNOWN_QUERIES[query]
    assert answer.headers["warning"] == (
        f"299 - \"Query parameter '{shown}' is not defined for this operation and was ignored.\""
    )
    assert "warning" not in plain.headers


def test_a_next_link_does_not_carry_an_ignored_parameter_and_the_journal_keeps_it() -> None:
    fresh = create_app(Settings(frozen_clock=True))
    headers = [(b"x-auth-token", b"any")]
    query = b"instance_id=x&limit=1&%ff=2"
    answer = call(fresh, "GET", "/v1.0/1234/backups", query=query, headers=headers)
    [link] = answer.json()["links"]
    assert urlsplit(link["href"]).query == f"limit=1&marker={answer.json()['backups'][0]['id']}"
    [entry] = fresh.journal.entries("GET")
    assert entry["query"] == query.decode() and entry["ignored_query"] == ["instance_id", "\ufffd"]


def test_an_unknown_query_parameter_of_a_write_is_ignored_too() -> None:
    fresh = create_app(Settings(frozen_clock=True))
    backup = ACCOUNT["backups"][0]["id"]
    headers = [(b"x-auth-token", b"any")]
    path = f"/v1.0/1234/backups/{backup}"
    answer = call(fresh, "DELETE", path, query=b"force=1", headers=headers)
    assert answer.status == 202 and "force" in answer.headers["warning"]
    assert call(fresh, "GET", f"/v1.0/1234/backups/{backup}", headers=headers).status == 404
    [entry] = fresh.journal.entries("DELETE")
    assert entry["ignored_query"] == ["force"]


@pytest.fixture(scope="module")
def strict() -> Mock:
    settings = Settings(frozen_clock=True, tokens={TOKEN: frozenset({"1234"})}, strict_query=True)
    return create_app(settings)


@pytest.mark.parametrize("operation", [op for op in OPERATIONS if not op.control], ids=str)
@pytest.mark.parametrize("query", UNKNOWN_QUERIES, ids=lambda q: q[:12].decode())
def test_under_strict_query_an_unknown_query_parameter_is_refused_with_400(
    strict: Mock, operation: Operation, query: bytes
) -> None:
    before = strict.store.snapshot()
    answer = call(strict, operation.method, operation.path, query=query, headers=operation.headers)
    refused(answer, operation, 400)
    assert "warning" not in answer.headers
    assert strict.store.snapshot() == before


@pytest.mark.parametrize("operation", [op for op in OPERATIONS if op.control], ids=str)
@pytest.mark.parametrize("query", UNKNOWN_QUERIES, ids=lambda q: q[:12].decode())
def test_an_unknown_query_parameter_of_the_control_api_is_refused_with_400(
    mock: Mock, operation: Operation, query: bytes
) -> None:
    answer = call(mock, operation.method, operation.path, query=query, headers=operation.headers)
    refused(answer, operation, 400)


@pytest.mark.parametrize("operation", WITH_QUERY, ids=str)
def test_a_query_parameter_given_twice_is_refused_with_400(
    mock: Mock, operation: Operation
) -> None:
    for name in operation.query:
        query = f"{name}=1&{name}=2".encode()
        answer = call(
            mock, operation.method, operation.path, query=query, headers=operation.headers
        )
        assert "given 2 times" in refused(answer, operation, 400)["message"]


HOSTILE_LIMITS = [
    "9" * 60_000,  # beyond Python's integer conversion
    "1e400",
    "-" + "9" * 30,
    "\u0000",
    "0",
    "1.5",
    "0x10",
    "",
]
WITH_LIMIT = [op for op in WITH_QUERY if "limit" in op.query]


@pytest.mark.parametrize("operation", WITH_LIMIT, ids=str)
@pytest.mark.parametrize("value", HOSTILE_LIMITS, ids=lambda v: repr(v[:12]))
def test_a_hostile_limit_is_refused_with_400(mock: Mock, operation: Operation, value: str) -> None:
    query = f"limit={quote(value)}".encode()
    answer = call(mock, operation.method, operation.path, query=query, headers=operation.headers)
    refused(answer, operation, 400)


@pytest.mark.parametrize("operation", WITH_QUERY, ids=str)
def test_a_query_value_of_60000_characters_is_refused_with_400(
    mock: Mock, operation: Operation
) -> None:
    for name in operation.query:
        query = f"{name}={'x' * 60_000}".encode()
        answer = call(
            mock, operation.method, operation.path, query=query, headers=operation.headers
        )
        refused(answer, operation, 400)


# -- paths -----------------------------------------------------------------------------------

HOSTILE_IDS = {
    "NUL": "%00",
    "id then NUL": "{id}%00",
    "id, NUL, more": "{id}%00.json",
    "dot dot": "..",
    "encoded dot dot": "%2e%2e",
    "id with a trailing dot": "{id}.",
    "upper-case id": "{ID}",
    "unicode": "%C3%BC%E2%80%AE%F0%9F%92%A5",
    "fullwidth digits": quote("\uff10c1b5616-fdc5-45ae-b2dc-6f1440d55d0e"),
    "invalid UTF-8": "%ff%fe",
    "60,000 characters": "a" * 60_000,
    "id then LF": "{id}%0A",
    "id then CR LF": "{id}%0D%0A",
    "id in fullwidth digits": "{fullwidth}",
    "id in Arabic-Indic digits": "{arabic}",
}
# A flavor's id upper-cased is the id, and its decimal part is documented to be dropped ("1." is
# flavor 1): not hostile there.
NOT_HOSTILE = {"flavorId": {"upper-case id", "id with a trailing dot"}}


def digits(identifier: str, zero: int) -> str:
    """The id with its ASCII digits written in the digits of another script, percent-encoded."""
    return quote(identifier.translate({ord("0") + d: zero + d for d in range(10)}))


def _hostile_ids() -> list[Any]:
    cases = []
    for operation in WITH_ID + REGIONAL_WITH_ID:
        found = ID_PARAMETER.search(operation.template)
        assert found is not None
        for case, segment in HOSTILE_IDS.items():
            if case not in NOT_HOSTILE.get(found.group(1), ()):
                cases.append(pytest.param(operation, segment, id=f"{case}-{operation}"))
    return cases


@pytest.mark.parametrize(("operation", "segment"), _hostile_ids())
def test_a_hostile_id_segment_finds_nothing(mock: Mock, operation: Operation, segment: str) -> None:
    name = ID_PARAMETER.search(operation.template)
    assert name is not None
    real = IDS[name.group(1)]
    hostile = segment.format(
        id=real, ID=real.upper(), fullwidth=digits(real, 0xFF10), arabic=digits(real, 0x0660)
    )
    path = operation.template.replace(name.group(0), hostile).format(**IDS)
    if operation.takes_body:  # a valid body, so that only the id is wrong
        body = json.dumps(VALID_BODY[operation.operation_id]).encode()
        answer = call(mock, operation.method, path, headers=json_headers(operation), body=body)
    else:
        answer = call(mock, operation.method, path, headers=operation.headers)
    refused(answer, operation, 404)


HOSTILE_ACCOUNTS = {
    "NUL": "%00",
    "account then NUL": "1234%00",
    "dot dot": "..",
    "encoded dot dot": "%2e%2e",
    "encoded slash": "1234%2F..",
    "fullwidth digits": quote("\uff11\uff12\uff13\uff14"),
    "trailing space": "1234%20",
    "account then LF": "1234%0A",
    "65 characters": "1" * 65,
    "60,000 characters": "1" * 60_000,
}


@pytest.mark.parametrize("operation", API, ids=str)
@pytest.mark.parametrize("account", HOSTILE_ACCOUNTS.values(), ids=HOSTILE_ACCOUNTS.keys())
def test_a_hostile_account_segment_is_refused(
    mock: Mock, operation: Operation, account: str
) -> None:
    path = operation.template.replace("{accountId}", account).format(**IDS)
    answer = call(mock, operation.method, path, headers=operation.headers)
    refused(answer, operation if "%2F" not in account else None)


@pytest.mark.parametrize("root", ["", f"/{REGION}"], ids=["own region", REGION])
@pytest.mark.parametrize("account", HOSTILE_ACCOUNTS.values(), ids=HOSTILE_ACCOUNTS.keys())
def test_a_hostile_account_never_reaches_account_1234(mock: Mock, account: str, root: str) -> None:
    # A token that holds every account: whatever answers, it is not 1234's backups.
    headers = [(b"x-auth-token", b"every-account")]
    answer = call(mock, "GET", f"{root}/v1.0/{account}/backups", headers=headers)
    if answer.status == 200:
        assert answer.json()["backups"] == []
    else:
        refused(answer, None)


TRAVERSALS = [
    "/v1.0/1234/backups/../backups",
    "/v1.0/1234/backups/%2e%2e/backups",
    "/v1.0/1234/../1234/backups",
    "/v1.0/../__mock/state",
    "/v1.0/1234/..%2F..%2F__mock/reset",
    "/__mock/../v1.0/1234/backups",
    "/__mock/state/..",
    "/./v1.0/1234/backups",
    "//v1.0/1234/backups",
    "/v1.0%00/1234/backups",
    "/%76%31%2e%30/1234/backups/%2e",
    "/" + "a/" * 20_000,
]


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
@pytest.mark.parametrize("path", TRAVERSALS, ids=lambda p: p[:40])
def test_a_path_with_dot_segments_reaches_no_other_resource(
    mock: Mock, method: str, path: str
) -> None:
    headers = [
        (b"x-auth-token", TOKEN.encode()),
        (b"x-mock-token", MOCK_TOKEN.encode()),
        (b"content-type", b"application/json"),
    ]
    answer = call(mock, method, path, headers=headers, body=b"{}")
    refused(answer, None, 404, 405)


# -- regions: the copy action and the regional paths (contract section 12) --------------------

ACTION = next(op for op in OPERATIONS if op.operation_id == "backupAction")
ACTIONS = [ACTION, ACTION.regional(REGION)]


def action(**members: Any) -> dict[str, Any]:
    """A valid copy to ORD, with `members` in place of its own."""
    return {"copy-backup": {"target_backup_region": "ORD"} | members}


# A copy that is JSON, with a hostile member: each is 400 and copies nothing. "{own}" is the
# region the request is sent to (DFW at /v1.0, IAD at /iad/v1.0).
HOSTILE_ACTIONS: dict[str, Any] = {
    "region in lower case": action(target_backup_region="ord"),
    "region in mixed case": action(target_backup_region="Ord"),
    "region padded": action(target_backup_region=" ORD "),
    "region then LF": action(target_backup_region="ORD\n"),
    "region then NUL": action(target_backup_region="ORD\u0000"),
    "region in fullwidth letters": action(target_backup_region="\uff2f\uff32\uff24"),
    "region with a dotless i": action(target_backup_region="\u0131AD"),
    "region of 10,000 characters": action(target_backup_region="O" * 10_000),
    "region unknown": action(target_backup_region="XYZ"),
    "region empty": action(target_backup_region=""),
    "region a number": action(target_backup_region=5),
    "region true": action(target_backup_region=True),
    "region null": action(target_backup_region=None),
    "region a list": action(target_backup_region=["ORD"]),
    "region an object": action(target_backup_region={"code": "ORD"}),
    "region a prefix": action(target_backup_region="/ord"),
    "no region": {"copy-backup": {"name": "copy"}},
    "region under another name": {"copy-backup": {"region": "ORD"}},
    "the region the backup is in": action(target_backup_region="{own}"),
    "LON": action(target_backup_region="LON"),
    "copy-backup null": {"copy-backup": None},
    "copy-backup a string": {"copy-backup": "ORD"},
    "copy-backup a list": {"copy-backup": [{"target_backup_region": "ORD"}]},
    "copy-backup empty": {"copy-backup": {}},
    "the action in a list": [action()],
    "no action": {},
    "another action": {"restore": {"target_backup_region": "ORD"}},
    "two actions": action() | {"delete": {}},
    "the action in another case": {"Copy-Backup": action()["copy-backup"]},
    "the action with an underscore": {"copy_backup": action()["copy-backup"]},
    "name of 65 characters": action(name="n" * 65),
    "name without letter or digit": action(name="---"),
    "name empty": action(name=""),
    "name NUL alone": action(name="\u0000"),
    "name a number": action(name=5),
    "description of 256 characters": action(description="d" * 256),
    "description a list": action(description=["d"]),
}


@pytest.mark.parametrize("operation", ACTIONS, ids=str)
@pytest.mark.parametrize("document", HOSTILE_ACTIONS.values(), ids=HOSTILE_ACTIONS.keys())
def test_a_hostile_copy_is_refused_with_400_and_copies_nothing(
    mock: Mock, operation: Operation, document: Any
) -> None:
    own = (operation.prefix[1:] or mock.regions.own).upper()
    body = json.dumps(document).replace("{own}", own).encode()
    answer = call(mock, "POST", operation.path, headers=json_headers(operation), body=body)
    refused(answer, operation, 400)


@pytest.mark.parametrize("operation", ACTIONS, ids=str)
def test_a_region_given_twice_in_a_copy_is_read_once_and_refused(
    mock: Mock, operation: Operation
) -> None:
    # JSON names given twice: the last one counts (as json.loads and connexion read them).
    body = b'{"copy-backup": {"target_backup_region": "ORD", "target_backup_region": "XYZ"}}'
    answer = call(mock, "POST", operation.path, headers=json_headers(operation), body=body)
    assert "XYZ" in refused(answer, operation, 400)["message"]


# Paths around a region's prefix that name no resource: 404, whatever the method and tokens.
NOT_A_REGION = {
    "two slashes before the prefix": "//iad/v1.0/1234/backups",
    "the prefix twice": "/iad/iad/v1.0/1234/backups",
    "a prefix after the version": "/v1.0/iad/1234/backups",
    "a prefix after the account": "/v1.0/1234/iad/backups",
    "prefix in upper case": "/IAD/v1.0/1234/backups",
    "prefix in mixed case": "/Iad/v1.0/1234/backups",
    "prefix with a dotless i": "/%C4%B1ad/v1.0/1234/backups",
    "prefix with a dotted capital I": "/%C4%B0ad/v1.0/1234/backups",
    "prefix with a combining dot": "/i%CC%87ad/v1.0/1234/backups",
    "prefix with a long s": "/%C5%BFyd/v1.0/1234/backups",
    "prefix in fullwidth letters": "/%EF%BD%89%EF%BD%81%EF%BD%84/v1.0/1234/backups",
    "prefix with a diaeresis": "/%C3%AFad/v1.0/1234/backups",
    "prefix then NUL": "/iad%00/v1.0/1234/backups",
    "prefix then LF": "/iad%0A/v1.0/1234/backups",
    "prefix then space": "/iad%20/v1.0/1234/backups",
    "prefix then a dot": "/iad./v1.0/1234/backups",
    "prefix cut short": "/ia/v1.0/1234/backups",
    "prefix made longer": "/iadx/v1.0/1234/backups",
    "an unknown region": "/xyz/v1.0/1234/backups",
    "another version": "/iad/v2.0/1234/backups",
    "dot dot after the prefix": "/iad/../v1.0/1234/backups",
    "encoded dot dot after the prefix": "/iad/%2e%2e/v1.0/1234/backups",
    "dot after the prefix": "/iad/./v1.0/1234/backups",
    "the control API under the prefix": "/iad/__mock/state",
    "the control API's reset under the prefix": "/iad/__mock/reset",
    "the control API's clock under the prefix": "/iad/__mock/clock",
    "the control API's faults under the prefix": "/iad/__mock/faults",
    "the control API's root under the prefix": "/iad/__mock",
    "the control API under an encoded prefix": "/%69ad/__mock/reset",
    "the control API encoded under the prefix": "/iad/%5F%5Fmock/state",
    "the control API through dot dot": "/iad/v1.0/..%2F..%2F__mock/reset",
    "a prefix under the control API": "/__mock/iad/state",
    "a prefix then 20,000 segments": "/iad/" + "a/" * 20_000,
    "the prefix 20,000 times": "/iad" * 20_000 + "/v1.0/1234/backups",
}


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
@pytest.mark.parametrize("path", NOT_A_REGION.values(), ids=NOT_A_REGION.keys())
def test_a_path_around_a_region_prefix_finds_nothing_and_changes_nothing(
    mock: Mock, method: str, path: str
) -> None:
    headers = [
        (b"x-auth-token", TOKEN.encode()),
        (b"x-mock-token", MOCK_TOKEN.encode()),
        (b"content-type", b"application/json"),
    ]
    body = json.dumps(VALID_BODY["putState"] if "state" in path else {"advance_seconds": 60})
    answer = call(mock, method, path, headers=headers, body=body.encode())
    refused(answer, None, 404, 405)


# A prefix written another way that names the same region: the same answer as the plain one.
SAME_REGION = {
    "/%69ad/v1.0/1234/backups": "/iad/v1.0/1234/backups",
    "/%69%61%64/v1.0/1234/backups/{backupId}": "/iad/v1.0/1234/backups/{backupId}",
    "/%69ad/v1.0/1234/instances/{instanceId}": "/iad/v1.0/1234/instances/{instanceId}",
    "/dfw/v1.0/1234/backups": "/v1.0/1234/backups",
    "/dfw/v1.0/1234/backups/{backupId}": "/v1.0/1234/backups/{backupId}",
    "/iad": "/iad/",
}


@pytest.mark.parametrize(("path", "plain"), SAME_REGION.items(), ids=SAME_REGION.keys())
def test_a_region_prefix_written_another_way_reads_that_region(
    mock: Mock, path: str, plain: str
) -> None:
    headers = [(b"x-auth-token", TOKEN.encode())]
    answer = call(mock, "GET", path.format(**IDS), headers=headers)
    expected = call(mock, "GET", plain.format(**IDS), headers=headers)
    assert (answer.status, answer.body) == (expected.status, expected.body) == (200, answer.body)
    assert (b'"IAD ' in answer.body) == (plain.startswith("/iad/v1.0")), answer.body[:200]


def test_a_region_prefix_alone_answers_the_versions_of_that_region(mock: Mock) -> None:
    for path in ("/iad", "/iad/"):
        answer = call(mock, "GET", path)
        assert answer.status == 200, answer.body
        [version] = answer.json()["versions"]
        assert version["links"][0]["href"] == "http://127.0.0.1:8779/iad/v1.0/"


@pytest.mark.parametrize(
    "path", ["/iad%2Fv1.0/1234/backups", "/iad/v1.0%2F1234/backups", "/%69ad%2Fv1.0/1234/backups"]
)
def test_an_encoded_slash_after_a_prefix_never_reads_another_region(mock: Mock, path: str) -> None:
    # uvicorn decodes %2F in the path, as it does at /v1.0%2F1234: whatever answers, it is IAD's
    # (the shared mock's IAD backups are named apart from DFW's) or nothing.
    headers = [(b"x-auth-token", TOKEN.encode())]
    answer = call(mock, "GET", path, headers=headers)
    if answer.status == 200:
        iad = call(mock, "GET", "/iad/v1.0/1234/backups", headers=headers)
        assert answer.body == iad.body
    else:
        refused(answer, None, 404)


@pytest.mark.parametrize("rule", [{"path": "/iad/v1.0/*"}, {"path": "*", "region": "IAD"}])
@pytest.mark.parametrize("path", ["/iad/v1.0/1234/backups", "/%69ad/v1.0/1234/backups"])
def test_a_fault_rule_of_a_region_is_not_dodged_by_encoding_the_prefix(
    rule: dict[str, Any], path: str
) -> None:
    fresh = create_app(Settings(frozen_clock=True))
    fresh.injector.add("GET", status=503, count=None, **rule)
    headers = [(b"x-auth-token", b"t")]
    answer = call(fresh, "GET", path, headers=headers)
    assert answer.status == 503, answer.body
    assert answer.json()[FAULT_NAMES[503]]["code"] == 503
    [entry] = fresh.journal.entries("GET")
    assert (entry["path"], entry["region"]) == ("/iad/v1.0/1234/backups", "IAD")
    assert call(fresh, "GET", "/v1.0/1234/backups", headers=headers).status == 200


# -- headers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("operation", NEEDS_TOKEN + REGIONAL, ids=str)
@pytest.mark.parametrize(
    "token", [b"\x00", b"%s\x00", b"%s\x00suffix", b"\x00%s", b"%s\x00%s"], ids=repr
)
def test_a_token_with_a_nul_byte_is_not_the_token(
    mock: Mock, operation: Operation, token: bytes
) -> None:
    name, value = operation.headers[0]
    headers = [(name, token.replace(b"%s", value) if b"%s" in token else token)]
    answer = call(mock, operation.method, operation.path, headers=headers)
    refused(answer, operation, 401)


@pytest.mark.parametrize("operation", WITH_BODY, ids=str)
def test_a_content_type_with_a_nul_byte_is_refused(mock: Mock, operation: Operation) -> None:
    body = json.dumps(VALID_BODY[operation.operation_id]).encode()
    headers = json_headers(operation, b"text/plain\x00application/json")
    answer = call(mock, operation.method, operation.path, headers=headers, body=body)
    refused(answer, operation, 415)


# -- through a real process: what the transport decides ---------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockProcess]:
    tokens = tmp_path_factory.mktemp("hostile") / "tokens.json"
    tokens.write_text(json.dumps({TOKEN: ["1234"]}), encoding="utf-8")
    with MockProcess("--tokens", str(tokens), "--control-token", MOCK_TOKEN) as process:
        yield process
        assert process.stop() == 0


def exchange(url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes on a new connection; the status, headers and body of the answer."""
    found = re.match(r"http://([^:/]+):(\d+)", url)
    assert found is not None
    with socket.create_connection((found.group(1), int(found.group(2))), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


def raw_request(target: bytes, *headers: bytes, method: bytes = b"GET", body: bytes = b"") -> bytes:
    lines = [
        method + b" " + target + b" HTTP/1.1",
        b"Host: 127.0.0.1",
        b"X-Auth-Token: " + TOKEN.encode(),
        b"X-Mock-Token: " + MOCK_TOKEN.encode(),
        b"Connection: close",
        *headers,
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def transport_refused(answer: tuple[int, dict[str, str], bytes], status: int) -> None:
    code, headers, body = answer
    assert code == status, (code, body[:300])
    assert headers["content-type"] == "application/json"
    document = json.loads(body)
    assert document[FAULT_NAMES[status]]["code"] == status


TRANSPORT_CASES = {
    "NUL in a header value": raw_request(b"/v1.0/1234/backups", b"X-Trace: a\x00b"),
    "NUL in the token": raw_request(b"/v1.0/1234/backups", b"X-Auth-Token: " + b"t\x00"),
    "NUL in a header name": raw_request(b"/v1.0/1234/backups", b"X-Tr\x00ace: ab"),
    "NUL in the control token": raw_request(b"/__mock/state", b"X-Mock-Token: a\x00"),
    "control character in a header": raw_request(b"/v1.0/1234/backups", b"X-Trace: a\x01b"),
    "NUL in the path": raw_request(b"/v1.0/1234/backups/a\x00b"),
    "raw non-ASCII in the path": raw_request("/v1.0/1234/backups/ü".encode()),
    "raw non-ASCII in a region prefix": raw_request("/ïad/v1.0/1234/backups".encode()),
    "NUL in a region prefix": raw_request(b"/iad\x00/v1.0/1234/backups"),
    "a regional path of 70,000 characters": raw_request(b"/iad/v1.0/1234/backups/" + b"a" * 70_000),
    "a path of 70,000 characters": raw_request(b"/v1.0/1234/backups/" + b"a" * 70_000),
    "a query of 70,000 characters": raw_request(b"/v1.0/1234/backups?limit=" + b"9" * 70_000),
    "a bad Content-Length": raw_request(
        b"/v1.0/1234/backups", b"Content-Length: 12abc", method=b"POST", body=b"{}"
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("request_bytes", TRANSPORT_CASES.values(), ids=TRANSPORT_CASES.keys())
def test_a_request_the_transport_cannot_parse_gets_a_fault_body(
    server: MockProcess, request_bytes: bytes
) -> None:
    transport_refused(exchange(server.url, request_bytes), 400)


@pytest.mark.slow
def test_a_body_declared_too_large_is_refused_before_it_is_sent(server: MockProcess) -> None:
    # Only the head goes out: the answer comes without the server waiting for 10 MB.
    head = raw_request(
        b"/v1.0/1234/backups",
        b"Content-Type: application/json",
        b"Content-Length: " + str(TEN_MB).encode(),
        method=b"POST",
    )
    transport_refused(exchange(server.url, head), 413)


@pytest.mark.slow
def test_the_process_serves_its_state_unchanged_after_hostile_requests(
    server: MockProcess,
) -> None:
    before = exchange(server.url, raw_request(b"/__mock/state"))
    for request_bytes in TRANSPORT_CASES.values():
        exchange(server.url, request_bytes)
    after = exchange(server.url, raw_request(b"/__mock/state"))
    assert before[0] == after[0] == 200
    assert json.loads(after[2]) == json.loads(before[2])


def test_the_depth_limit_holds_at_its_boundary_however_few_the_brackets() -> None:
    # The depth walk is skipped for a text with too few brackets to be too deep (one opens each
    # level): the body with the fewest brackets over the limit is still refused, the deepest
    # one within it not, in text and in bytes (the proxy's answers).
    within = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    over = "[" + within + "]"
    assert too_deep(parse_body(within.encode(), "utf-8")) is False
    for text in (over, over.encode()):
        assert too_deep(json.loads(over), text=text) is True
        assert too_deep(json.loads(within), text=text[1:-1]) is False
    with pytest.raises(RequestInvalid, match="nested more than"):
        parse_body(over.encode(), "utf-8")
