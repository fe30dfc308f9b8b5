"""The fast path (mockserver/http/fastpath.py) answers every request as connexion's pipeline does.

Two mocks, one with the fast path and one without (`--no-fast-path`), get the same sequences of
requests, valid and invalid, to every operation of openapi.yaml; every answer (status, headers but
Content-Length, body bytes) and the state and journal after each sequence must be the same. The
hand-written cases below make sure the fast path really answers plainly valid requests (else the
comparison would hold trivially) and leaves what it cannot judge to connexion.

Requests go through the ASGI app with hand-built scopes, as in test_hostile_input.py, so that
nothing normalizes the query, the headers or the body on the way.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import quote, unquote

import pytest
from hypothesis import currently_in_test_context, event, given, settings
from hypothesis import strategies as st
from support import FIXTURES, read_json

import mockserver.app
import mockserver.state.copies
import mockserver.state.core
import mockserver.state.instances
import mockserver.state.schedules
from mockserver import Settings, create_app
from mockserver.app import Mock
from mockserver.cli import settings_from
from mockserver.state.clock import Clock
from mockserver.state.ids import Ids

Message = MutableMapping[str, Any]

STATE = read_json(FIXTURES / "state.json")
ACCOUNT = STATE["accounts"]["1234"]
BACKUPS = [backup["id"] for backup in ACCOUNT["backups"]]
INSTANCES = [instance["id"] for instance in ACCOUNT["instances"]]
ACTIVE = [i["id"] for i in ACCOUNT["instances"] if i["status"] == "ACTIVE" and not i.get("ha_id")]
NOT_ACTIVE = [i["id"] for i in ACCOUNT["instances"] if i["status"] != "ACTIVE"]
HA = [ha["id"] for ha in ACCOUNT["ha_instances"]]
HA_MEMBERS = [i["id"] for i in ACCOUNT["instances"] if i.get("ha_id")]
UNKNOWN = "00000000-0000-4000-8000-000000000000"
TOKEN = "fast-path-token"
FROZEN_AT = 1_700_000_000.5  # both mocks' frozen clocks start here, so their timestamps agree
MAX_STEPS = 8  # requests per sequence


def created(step: int) -> str:
    """The id of the backup, schedule or instance that request `step` of a sequence creates:
    each request is sent to both mocks with its ids seeded by its step (`Ids.seeded`), so both
    give a created backup, schedule or instance (and so its hostname) the same id."""
    ids = Ids()
    with ids.seeded(step):
        return ids.new()


CREATED = [created(step) for step in range(MAX_STEPS)]
assert len(set(CREATED) | set(BACKUPS)) == MAX_STEPS + len(BACKUPS)


# -- an ASGI client that sends exactly what it is given --------------------------------------


@dataclass(frozen=True)
class Request:
    label: str  # the operationId it aims at, or "other"
    method: str
    path: str  # percent-encoded, as on the wire
    query: bytes = b""
    headers: tuple[tuple[bytes, bytes], ...] = ()
    body: bytes = b""


@dataclass
class Answer:
    status: int = 0
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def comparable(self) -> tuple[int, list[tuple[str, str]], bytes]:
        headers = sorted(
            (name.lower(), value)
            for name, value in self.headers
            if name.lower() != "content-length"
        )
        return self.status, headers, self.body


async def send(app: Mock, request: Request) -> Answer:
    """Send one request; the path is percent-decoded as uvicorn does, and nothing else."""
    scope: Message = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": "http",
        "path": unquote(request.path),
        "raw_path": request.path.encode("latin-1"),
        "query_string": request.query,
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8779"), *request.headers],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8779),
        "state": {},
    }
    answer = Answer()
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": request.body, "more_body": False}

    async def respond(message: Message) -> None:
        if message["type"] == "http.response.start":
            answer.status = message["status"]
            answer.headers = [
                (k.decode("latin-1"), v.decode("latin-1")) for k, v in message["headers"]
            ]
        elif message["type"] == "http.response.body":
            answer.body += message.get("body", b"")

    await app(scope, receive, respond)
    return answer


def call(app: Mock, request: Request) -> Answer:
    return asyncio.run(send(app, request))


def api(
    method: str,
    path: str,
    query: bytes = b"",
    body: Any = None,
    content_type: bytes | None = b"application/json",
    token: bool = True,
) -> Request:
    """A request with the token, and a JSON body when `body` is given (bytes: sent as they are)."""
    headers: list[tuple[bytes, bytes]] = [(b"x-auth-token", TOKEN.encode())] if token else []
    raw = b""
    if body is not None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        if content_type is not None:
            headers.append((b"content-type", content_type))
        headers.append((b"content-length", str(len(raw)).encode()))
    return Request("", method, path, query, tuple(headers), raw)


class ConnexionSpy:
    """Stands in for the gateway's connexion app: counts the requests that reach it."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.calls = 0

    async def __call__(self, scope: Message, receive: Any, send: Any) -> None:
        self.calls += 1
        await self.app(scope, receive, send)


# -- requests to every operation, valid and invalid -------------------------------------------

LIMITS = [
    *["1", "2", "3", "20", "21", "1000"],
    *["0", "-1", "abc", "", "5_0", " 5", "1e3", "2.0", "+2", "\u0663", "0x10"],
    "9" * 30,
]
VALID_LIMITS = ["1", "2", "3", "20", "21", "1000", "9" * 30]
ANY_ID = [*BACKUPS, *INSTANCES, *HA, *CREATED[:4], UNKNOWN]
FLAVORS = [str(flavor["id"]) for flavor in STATE["flavors"]]
# Flavor ids: a decimal part is dropped ("1.5" is flavor 1), an id of no flavor is 404.
VALID_FLAVOR_IDS = [*FLAVORS, "1.5", "2.", "0", "9", "999999999"]
FLAVOR_EXTRAS = ["01", "-1", "+1", "1e0", "1.5.5", "0x1", "1%20", "%EF%BC%91", "9" * 12]
MARKERS = [*ANY_ID, "", "not-an-id", UNKNOWN.upper()]
VALID_DATASTORES = ["mysql", "percona", "mariadb", "MySQL"]
DATASTORES = [*VALID_DATASTORES, "", "x" * 256]
RAW_QUERIES = [
    b"limit",
    b"&&limit=2&",
    b"limit=%ff",
    b"marker=%00",
    b"limit=2&limit=3",
    b"limit=+5",
    b"Limit=2",
    b"=x",
    b"limit[]=2",
    b"marker=" + BACKUPS[0].encode() + b"&marker=" + BACKUPS[1].encode(),
]
SEGMENT_EXTRAS = ["not-an-id", UNKNOWN.upper(), "%20", quote("\u00fc"), "a%2Fb", "%00"]
PAGED = ("limit", "marker")


def ids(plain: bool, *pools: list[str]) -> st.SearchStrategy[str]:
    known = st.sampled_from([i for pool in pools for i in pool])
    if plain:
        return st.one_of(known, st.just(UNKNOWN))
    return st.one_of(known, st.sampled_from([*ANY_ID, *SEGMENT_EXTRAS]))


def query(plain: bool, declared: tuple[str, ...]) -> st.SearchStrategy[bytes]:
    """Plain: declared parameters once each, with values of their schemas. Else mostly the
    declared parameters, valid or not; sometimes unknown, repeated or raw ones."""
    pools = {"limit": LIMITS, "marker": MARKERS, "datastore": DATASTORES}
    if plain:
        pools = {"limit": VALID_LIMITS, "marker": ANY_ID, "datastore": VALID_DATASTORES}
        names = st.lists(st.sampled_from(declared), unique=True) if declared else st.just([])
    else:
        unknown = st.sampled_from(["foo", "LIMIT", "page"])
        names = st.lists(st.one_of(st.sampled_from(declared), unknown) if declared else unknown)

    @st.composite
    def encoded(draw: st.DrawFn) -> bytes:
        pairs = []
        for name in draw(names):
            value = draw(st.sampled_from(pools.get(name, ["1", ""])))
            pairs.append(f"{quote(name, safe='')}={quote(value, safe='')}")
        return "&".join(pairs).encode()

    if plain:
        return encoded()
    return st.one_of(st.just(b""), encoded(), st.sampled_from(RAW_QUERIES))


VALID_NAMES = ["snap", "Nightly backup 1", "\u00fcber-2", "x" * 64, " a "]
NAMES: list[Any] = [*VALID_NAMES, "", "---", "x" * 65, 5, None, ["snap"]]
DESCRIPTIONS: list[Any] = ["My Backup", None, "", "d" * 255, "d" * 256, 3]
INSTANCE_VALUES: list[Any] = [
    *ACTIVE,
    *NOT_ACTIVE,
    *HA_MEMBERS,
    *HA,
    UNKNOWN,
    "",
    None,
    "not-a-uuid",
    7,
    ACTIVE[0].upper(),
]
SOURCES: list[Any] = [
    {"type": "ha", "id": HA[0]},
    {"type": "instance", "id": ACTIVE[0]},
    {"type": "instance", "id": ACTIVE[1]},
    {"type": "ha", "id": UNKNOWN},
    {"type": "vm", "id": HA[0]},
    {"type": "ha"},
    {"type": "ha", "id": "nope"},
    "ha",
    None,
]
PARENTS: list[Any] = [*BACKUPS, *CREATED[:4], UNKNOWN, None, "nope", 12]
INCREMENTALS: list[Any] = [1, 0, True, False, 2, "1", None]


def valid_member() -> st.SearchStrategy[dict[str, Any]]:
    """The `backup` member of a create the schema accepts (the store may still refuse it)."""
    # Of an instance of the state, or of one a request of the sequence creates.
    instance = st.fixed_dictionaries({"instance": st.sampled_from([*ACTIVE, *CREATED[:4]])})
    ha = st.fixed_dictionaries(
        {"source": st.just({"type": "ha", "id": HA[0]})},
        optional={"instance": st.sampled_from([None, ""])},
    )
    common = st.fixed_dictionaries(
        {"name": st.sampled_from(VALID_NAMES)},
        optional={
            "description": st.sampled_from(["My Backup", None, ""]),
            "parent_id": st.sampled_from([*BACKUPS, *CREATED[:4]]),
            "incremental": st.sampled_from([0, 1, True, False]),
            "is_automated": st.sampled_from([True, 0]),
            "copy_to": st.just(["IAD", "ORD"]),
        },
    )
    return st.tuples(common, st.one_of(instance, ha)).map(lambda parts: {**parts[0], **parts[1]})


def any_member() -> st.SearchStrategy[dict[str, Any]]:
    """A `backup` member with any of the members, each valid or not."""
    return st.fixed_dictionaries(
        {},
        optional={
            "name": st.sampled_from(NAMES),
            "description": st.sampled_from(DESCRIPTIONS),
            "instance": st.sampled_from(INSTANCE_VALUES),
            "source": st.sampled_from(SOURCES),
            "parent_id": st.sampled_from(PARENTS),
            "incremental": st.sampled_from(INCREMENTALS),
            "extra": st.sampled_from([1, {"a": [1]}, None]),
        },
    )


SCHEDULE_TARGETS: list[dict[str, Any]] = [
    *({"instance_id": i} for i in ACTIVE),
    *({"instance_id": i} for i in CREATED[:2]),
    *({"instance_id": i} for i in NOT_ACTIVE),
    {"source_id": HA[0], "source_type": "ha"},
    {"source_id": ACTIVE[0]},
    {"instance_id": UNKNOWN},
]
COPY_TO: list[Any] = [[], ["IAD"], ["IAD", "ORD"], ["LON"], ["DFW"], ["SYD", "HKG"]]


def valid_schedule() -> st.SearchStrategy[dict[str, Any]]:
    """A create of a schedule the schema accepts (the store may still refuse it)."""
    times = st.fixed_dictionaries(
        {
            "action": st.just("backup"),
            "day_of_week": st.integers(0, 7),
            "hour": st.integers(0, 23),
            "minute": st.sampled_from([0, 30, 59]),
        },
        optional={
            "full_backup_retention": st.integers(1, 3),
            "copy_to": st.sampled_from(COPY_TO),
            "extra": st.just(1),
        },
    )
    target = st.sampled_from(SCHEDULE_TARGETS)
    return st.tuples(times, target).map(lambda parts: {"schedule": parts[0] | parts[1]})


def valid_change() -> st.SearchStrategy[dict[str, Any]]:
    """An update of a schedule the schema accepts: at least one member."""
    member = st.fixed_dictionaries(
        {},
        optional={
            "day_of_week": st.integers(0, 7),
            "hour": st.integers(0, 23),
            "minute": st.integers(0, 59),
            "full_backup_retention": st.integers(1, 3),
            "copy_to": st.sampled_from(COPY_TO),
            "run_now": st.sampled_from([True, False, 1, 0, "true", "false"]),
        },
    ).filter(bool)
    return member.map(lambda change: {"schedule": change})


SCHEDULE_BODIES: list[Any] = [
    {"schedule": {}},
    {"schedule": {"hour": 24}},
    {"schedule": {"minute": -1, "day_of_week": 8}},
    {"schedule": {"run_now": "yes"}},
    {"schedule": {"action": "restore", "day_of_week": 0, "hour": 1, "minute": 1}},
    {"schedule": {"day_of_week": 0, "hour": 1.5, "minute": 1, "instance_id": "x"}},
    {"schedule": {"copy_to": ["IAD", "IAD"], "full_backup_retention": 0}},
    {"schedules": {"hour": 1}},
]


def nested(depth: int) -> bytes:
    extra = b"[" * depth + b"]" * depth
    return b'{"backup": {"name": "deep", "instance": "%s", "extra": %s}}' % (
        ACTIVE[0].encode(),
        extra,
    )


RAW_BODIES = [
    b"",
    b"null",
    b"[]",
    b"{}",
    b'"backup"',
    b"{",
    b"not json",
    b" ",
    b'{"backup": {"name": "\xff\xfe snap", "instance": "%s"}}' % ACTIVE[0].encode(),
    b'{"backup": {"name": NaN, "instance": "%s"}}' % ACTIVE[0].encode(),
    b'{"backup": {"name": "snap", "instance": "%s", "x": 1e400}}' % ACTIVE[0].encode(),
    b'{"backup": {"name": "snap", "instance": "%s", "x": Infinity}}' % ACTIVE[0].encode(),
    b"\xef\xbb\xbf" + b'{"backup": {"name": "snap", "instance": "%s"}}' % ACTIVE[0].encode(),
    b'{"backup": {"name": "a"}} {"backup": {}}',
    nested(100),
    nested(150),
    b"[" * 1000 + b"]" * 1000,
]
RAW_INSTANCES = [
    b'{"instance": {"name": "n", "flavorRef": 1, "volume": {"size": 1e400}}}',
    b'{"instance": {"name": "n", "flavorRef": NaN, "volume": {"size": 1}}}',
    b'{"instance": {"name": "n", "flavorRef": 1, "volume": {"size": 1}, "x": '
    + b"[" * 150
    + b"]" * 150
    + b"}}",
    b'{"instance": {"name": "n", "flavorRef": ' + b"9" * 4300 + b', "volume": {"size": 1}}}',
    b'{"instance": {"name": "n", "flavorRef": ' + b"9" * 4301 + b', "volume": {"size": 1}}}',
    b'{"instance": {"name": "n", "flavorRef": 1, "volume": {"size": 1.0}}}',
    b'{"instance": {"name": "n", "flavorRef": 1.0, "volume": {"size": 1}}}',
    b'{"instance": {"name": "n", "flavorRef": 1, "volume": {"size": 1}, "name": "m"}}',
]


def create_body() -> st.SearchStrategy[bytes]:
    member = st.one_of(valid_member(), valid_member(), any_member())
    document = st.one_of(
        st.builds(lambda m: {"backup": m}, member),
        st.builds(lambda m: {"backup": m}, member),
        st.builds(lambda m: {"backup": m, "extra": True}, member),
        st.builds(lambda m: [{"backup": m}], member),
        st.builds(lambda m: {"backups": m}, member),
        st.sampled_from([{"backup": None}, {"backup": []}, {"backup": "snap"}]),
    )
    encoded = st.builds(
        lambda d, ascii_only: json.dumps(d, ensure_ascii=ascii_only).encode(),
        document,
        st.booleans(),
    )
    return st.one_of(encoded, encoded, encoded, st.sampled_from(RAW_BODIES))


# Instances (contract section 11): a create, a restore of a backup of the state or of one the
# sequence makes, with the datastore named or not.
FLAVOR_REFS: list[Any] = [1, 2, 8, "1", "1.5", "https://x/v1.0/1234/flavors/3", "/flavors/2/"]
BAD_FLAVOR_REFS: list[Any] = [9, "9", "0", "flavors/1", "1\n", "\uff11", 0, -1, 1.5, True, None]
BAD_FLAVOR_REFS += ["", "x" * 1025, [1], {"id": 1}]
VOLUMES: list[Any] = [{"size": 1}, {"size": 2}, {"size": 150}, {"size": 1, "type": "ssd"}]
BAD_VOLUMES: list[Any] = [{"size": 0}, {"size": 151}, {"size": 1.5}, {"size": "1"}, {}, 5, None]
BAD_VOLUMES += [{"size": True}, {"size": 2**64}]
DATASTORE_MEMBERS: list[Any] = [
    {},
    {"type": "mysql"},
    {"type": "MySQL", "version": "5.1"},
    {"type": "mysql", "version": "1379cc8b-4bc5-4c4a-9e9d-7a9ad27c0866"},
    {"type": "percona", "version": "5.6"},
    {"type": "mariadb"},
    {"version": "5.6"},
    {"version": "10.1"},
    {"type": "nosql"},
    {"type": "mysql", "version": "9.9"},
]
BAD_DATASTORES: list[Any] = [None, "mysql", {"type": ""}, {"type": 5}, {"version": "v" * 256}]
BACKUP_REFS = [*BACKUPS, *CREATED[:4], UNKNOWN]
BAD_RESTORE_POINTS: list[Any] = [{}, None, "x", {"backupRef": ""}, {"backupRef": 5}]
BAD_RESTORE_POINTS += [{"backupRef": BACKUPS[0].upper()}, {"id": BACKUPS[0]}]


def valid_instance() -> st.SearchStrategy[dict[str, Any]]:
    """A create of an instance the schema accepts (the store may still refuse it)."""
    member = st.fixed_dictionaries(
        {
            "name": st.sampled_from(VALID_NAMES),
            "flavorRef": st.sampled_from([*FLAVOR_REFS, *FLAVOR_REFS, 9, "9"]),
            "volume": st.sampled_from(VOLUMES),
        },
        optional={
            "datastore": st.sampled_from(DATASTORE_MEMBERS),
            "restorePoint": st.sampled_from(BACKUP_REFS).map(lambda b: {"backupRef": b}),
            "databases": st.just([{"name": "db"}]),
            "users": st.just([{"name": "u", "password": "p"}]),
            "configuration": st.just("c"),
            "extra": st.sampled_from([1, None]),
        },
    )
    return member.map(lambda instance: {"instance": instance})


def any_instance() -> st.SearchStrategy[dict[str, Any]]:
    """An `instance` member with any of the members, each valid or not."""
    restore_points = st.one_of(
        st.sampled_from(BACKUP_REFS).map(lambda b: {"backupRef": b}),
        st.sampled_from(BAD_RESTORE_POINTS),
    )
    return st.fixed_dictionaries(
        {},
        optional={
            "name": st.sampled_from(NAMES),
            "flavorRef": st.sampled_from([*FLAVOR_REFS, *BAD_FLAVOR_REFS]),
            "volume": st.sampled_from([*VOLUMES, *BAD_VOLUMES]),
            "datastore": st.sampled_from([*DATASTORE_MEMBERS, *BAD_DATASTORES]),
            "restorePoint": restore_points,
        },
    )


def instance_body() -> st.SearchStrategy[bytes]:
    member = st.one_of(valid_instance().map(lambda d: d["instance"]), any_instance())
    document = st.one_of(
        st.builds(lambda m: {"instance": m}, member),
        st.builds(lambda m: {"instance": m}, member),
        st.builds(lambda m: {"instance": m, "extra": True}, member),
        st.builds(lambda m: [{"instance": m}], member),
        st.builds(lambda m: {"instances": m}, member),
        st.sampled_from([{"instance": None}, {"instance": []}, {"instance": "n"}]),
    )
    encoded = st.builds(
        lambda d, ascii_only: json.dumps(d, ensure_ascii=ascii_only).encode(),
        document,
        st.booleans(),
    )
    return st.one_of(encoded, encoded, encoded, st.sampled_from([*RAW_BODIES, *RAW_INSTANCES]))


def schedule_body() -> st.SearchStrategy[bytes]:
    document = st.one_of(valid_schedule(), valid_change(), st.sampled_from(SCHEDULE_BODIES))
    return st.one_of(document.map(lambda d: json.dumps(d).encode()), st.sampled_from(RAW_BODIES))


# Copies (contract section 12): to each region, the one a request is sent to and LON among them.
REGIONS = ["DFW", "IAD", "ORD", "LON", "HKG", "SYD"]
TARGET_REGIONS: list[Any] = [*REGIONS, "iad", "XYZ", "", "IAD\n", None, 5, ["IAD"]]
ACTION_BODIES: list[Any] = [
    {"copy-backup": None},
    {"copy-backup": "IAD"},
    {"copy-backup": {}},
    {"copy-backup": {"target_backup_region": "IAD"}, "restore": {}},
    {"restore": {"target_backup_region": "IAD"}},
    {},
    [{"copy-backup": {"target_backup_region": "IAD"}}],
]


def valid_action() -> st.SearchStrategy[dict[str, Any]]:
    """A copy the schema accepts (the store may still refuse it)."""
    member = st.fixed_dictionaries(
        {"target_backup_region": st.sampled_from(REGIONS)},
        optional={
            "name": st.sampled_from([*VALID_NAMES, None]),
            "description": st.sampled_from(["My Backup", None, ""]),
            "extra": st.just(1),
        },
    )
    return member.map(lambda copy: {"copy-backup": copy})


def action_body() -> st.SearchStrategy[bytes]:
    member = st.fixed_dictionaries(
        {},
        optional={
            "target_backup_region": st.sampled_from(TARGET_REGIONS),
            "name": st.sampled_from(NAMES),
            "description": st.sampled_from(DESCRIPTIONS),
        },
    )
    document = st.one_of(
        valid_action(),
        member.map(lambda copy: {"copy-backup": copy}),
        st.sampled_from(ACTION_BODIES),
    )
    encoded = document.map(lambda d: json.dumps(d).encode())
    return st.one_of(encoded, encoded, st.sampled_from(RAW_BODIES))


# What a plainly valid request of each operation with a body sends.
VALID_BODIES = {
    "createBackup": valid_member().map(lambda member: {"backup": member}),
    "createAutoBackup": valid_schedule(),
    "updateAutomatedBackupById": valid_change(),
    "createInstance": valid_instance(),
    "backupAction": valid_action(),
}
BODIES = {
    "createBackup": create_body,
    "createInstance": instance_body,
    "backupAction": action_body,
}
# Where requests go: the own region (DFW) at /v1.0 and at /dfw/v1.0, and other regions at their
# prefixes (IAD holds a copy of account 1234: see `pair`); hostile requests also try prefixes
# that name no region.
PREFIXES = ["", "", "", "/dfw", "/iad", "/iad", "/ord", "/lon"]
ODD_PREFIXES = ["/IAD", "//iad", "/%69ad", "/iad/iad", "/xyz", "/iad%2F", "/%C4%B1ad"]


CONTENT_TYPES: list[bytes | None] = [
    *[b"application/json"] * 6,
    b"application/json; charset=utf-8",
    b"application/json;charset=UTF-8",
    b"APPLICATION/JSON",
    b"Application/Json",
    b"application/problem+json",
    b"application/json; charset=latin-1",
    b"text/plain",
    b"application/x-www-form-urlencoded",
    None,
]
TOKENS: list[bytes | None] = [*[TOKEN.encode()] * 8, None, b"", b" "]
ACCEPTS = [b"application/json", b"text/html", b"*/*", b"application/xml"]


@st.composite
def requests(draw: st.DrawFn) -> Request:
    """Half plainly valid requests (which the fast path answers, with success or a fault of the
    handlers), half anything: hostile accounts, ids, queries, bodies and headers."""
    plain = draw(st.booleans())
    account = "1234" if plain else draw(st.sampled_from(["1234", "1234", "5678", "%20", "a" * 65]))
    prefixes = st.sampled_from(PREFIXES)
    if not plain:
        prefixes = st.one_of(prefixes, prefixes, st.sampled_from(ODD_PREFIXES))
    prefix = draw(prefixes)
    root = f"{prefix}/v1.0/{account}"
    backup = ids(plain, BACKUPS, CREATED[:4])
    instance = ids(plain, INSTANCES, CREATED[:4])
    ha = ids(plain, HA)
    schedule = ids(plain, CREATED[:4])
    flavor = st.sampled_from(VALID_FLAVOR_IDS)
    if not plain:
        flavor = st.one_of(flavor, st.sampled_from([*FLAVOR_EXTRAS, *SEGMENT_EXTRAS]))
    label, method, path, declared = draw(
        st.one_of(
            st.just(("getVersions", "GET", f"{prefix}/", ())),
            st.just(("createBackup", "POST", f"{root}/backups", ())),
            st.just(("createBackup", "POST", f"{root}/backups", ())),
            st.just(("getBackups", "GET", f"{root}/backups", (*PAGED, "datastore"))),
            backup.map(lambda b: ("getBackupById", "GET", f"{root}/backups/{b}", ())),
            backup.map(lambda b: ("deleteBackup", "DELETE", f"{root}/backups/{b}", ())),
            backup.map(lambda b: ("backupAction", "POST", f"{root}/backups/{b}/action", ())),
            st.just(("getInstance", "GET", f"{root}/instances", PAGED)),
            st.just(("createInstance", "POST", f"{root}/instances", ())),
            st.just(("createInstance", "POST", f"{root}/instances", ())),
            instance.map(lambda i: ("getInstanceById", "GET", f"{root}/instances/{i}", ())),
            instance.map(lambda i: ("deleteInstance", "DELETE", f"{root}/instances/{i}", ())),
            st.just(("getFlavors", "GET", f"{root}/flavors", ())),
            flavor.map(lambda f: ("getFlavorById", "GET", f"{root}/flavors/{f}", ())),
            instance.map(
                lambda i: ("getBackupsByInstance", "GET", f"{root}/instances/{i}/backups", PAGED)
            ),
            st.just(("getHa", "GET", f"{root}/ha", ())),
            ha.map(lambda h: ("getInstanceByHaId", "GET", f"{root}/ha/{h}", ())),
            ha.map(lambda h: ("getBackupsForHaInstance", "GET", f"{root}/ha/{h}/backups", PAGED)),
            st.just(("createAutoBackup", "POST", f"{root}/schedules", ())),
            st.just(("getAutomatedBackups", "GET", f"{root}/schedules", PAGED)),
            schedule.map(lambda s: ("getAutomatedBackupById", "GET", f"{root}/schedules/{s}", ())),
            schedule.map(
                lambda s: ("updateAutomatedBackupById", "PUT", f"{root}/schedules/{s}", ())
            ),
            schedule.map(
                lambda s: ("deleteAutomatedBackupById", "DELETE", f"{root}/schedules/{s}", ())
            ),
            st.sampled_from(
                [
                    ("other", "PUT", f"{root}/backups", ()),
                    ("other", "PATCH", f"{root}/backups/{BACKUPS[0]}", ()),
                    ("other", "PUT", f"{root}/instances", ()),
                    ("other", "POST", f"{root}/flavors", ()),
                    ("other", "DELETE", f"{root}/flavors/1", ()),
                    ("other", "GET", f"{root}/nothing", ()),
                    ("other", "HEAD", f"{root}/backups", ()),
                    ("other", "GET", f"{root}/backups/", ()),
                    ("other", "GET", f"{root}/backups/{BACKUPS[0]}/action", ()),
                    ("other", "POST", f"{root}/backups/action", ()),
                ]
            ),
        )
    )
    headers: list[tuple[bytes, bytes]] = []
    token = TOKEN.encode() if plain else draw(st.sampled_from(TOKENS))
    if token is not None:
        headers.append((b"x-auth-token", token))
    body = b""
    if plain and label in VALID_BODIES:
        document = draw(VALID_BODIES[label])
        body = json.dumps(document, ensure_ascii=draw(st.booleans())).encode()
        headers.append((b"content-type", b"application/json"))
        headers.append((b"content-length", str(len(body)).encode()))
    # Else a request that takes a body mostly has one, and any other request seldom does.
    elif not plain and draw(st.integers(0, 9)) < (9 if label in VALID_BODIES else 1):
        body = draw(BODIES.get(label, schedule_body)())
        content_type = draw(st.sampled_from(CONTENT_TYPES))
        if content_type is not None:
            headers.append((b"content-type", content_type))
        if draw(st.integers(0, 4)):  # else sent without Content-Length, as a chunked body
            headers.append((b"content-length", str(len(body)).encode()))
    if not plain and draw(st.integers(0, 4)) == 0:
        headers.append((b"accept", draw(st.sampled_from(ACCEPTS))))
    if not plain and draw(st.integers(0, 9)) == 0:
        headers.append((b"x-auth-token", b"second-token"))
    order = draw(st.permutations(headers))
    return Request(label, method, path, draw(query(plain, declared)), tuple(order), body)


# Moves the (frozen) clocks of both mocks, so that created backups go on to BUILDING and COMPLETED,
# and schedules run.
ADVANCE = st.sampled_from([1, 5, 86_400, 3 * 86_400]).map(
    lambda seconds: Request(
        "advanceClock",
        "POST",
        "/__mock/clock",
        headers=((b"content-type", b"application/json"),),
        body=json.dumps({"advance_seconds": seconds}).encode(),
    )
)
SEQUENCES = st.lists(
    st.one_of(requests(), requests(), requests(), ADVANCE), min_size=1, max_size=MAX_STEPS
)


# -- the two pipelines answer alike -----------------------------------------------------------


@dataclass
class Pair:
    fast: Mock
    slow: Mock
    spy: ConnexionSpy  # the fast mock's connexion app


def with_iad(state: dict[str, Any]) -> dict[str, Any]:
    """The state, and in IAD a copy of its account 1234 under the same ids, named apart (an
    answer read from the wrong region's store differs)."""
    document = copy.deepcopy(state)
    account = copy.deepcopy(state["accounts"]["1234"])
    for item in [*account["backups"], *account["instances"], *account["ha_instances"]]:
        item["name"] = f"IAD {item['name']}"
    document["regions"] = {"IAD": {"accounts": {"1234": account}}}
    return document


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    """Two mocks, with and without the fast path, on clocks frozen at the same instant. Both
    reset to the fixture state with a copy of account 1234 in IAD, so that regional reads and
    writes find something."""
    reset_to = tmp_path_factory.mktemp("fastpath") / "state.json"
    reset_to.write_text(json.dumps(with_iad(STATE)), encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mockserver.app, "Clock", partial(Clock, source=lambda: FROZEN_AT))
        fast = create_app(Settings(frozen_clock=True, fast_path=True, default_state_path=reset_to))
        slow = create_app(Settings(frozen_clock=True, fast_path=False, default_state_path=reset_to))
    assert fast.gateway.fast_path is not None and slow.gateway.fast_path is None
    spy = ConnexionSpy(fast.gateway.app)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fast.gateway, "app", spy)
        yield Pair(fast, slow, spy)


def control(method: str, path: str) -> Request:
    return Request("control", method, path)


RESET = control("POST", "/__mock/reset")
CLEAR_JOURNAL = control("DELETE", "/__mock/requests")
STATE_REQUEST = control("GET", "/__mock/state")
JOURNAL = control("GET", "/__mock/requests")


def describe(sent: list[Request], fast: Answer, slow: Answer) -> str:
    """The requests sent (the last one answered differently), and both answers."""
    lines = "".join(f"\n  {request}" for request in sent)
    return (
        f"\nrequests sent:{lines}\n"
        f"fast path: {fast.status} {sorted(fast.headers)} {fast.body[:600]!r}\n"
        f"connexion: {slow.status} {sorted(slow.headers)} {slow.body[:600]!r}"
    )


def compare(pair: Pair, sequence: list[Request]) -> list[Answer]:
    """Send `sequence` to both mocks, reset, and assert the same answers, then the same state
    and journal; the fast mock's answers."""

    async def run() -> list[Answer]:
        answers = []
        for mock in (pair.fast, pair.slow):
            for request in (RESET, CLEAR_JOURNAL):
                assert (await send(mock, request)).status in (200, 204)
        for step, request in enumerate(sequence):
            before = pair.spy.calls
            with pair.fast.regions.ids.seeded(step):
                fast = await send(pair.fast, request)
            pipeline = "connexion" if pair.spy.calls > before else "gateway or fast path"
            with pair.slow.regions.ids.seeded(step):
                slow = await send(pair.slow, request)
            if currently_in_test_context():
                event(f"{request.label} {fast.status}: {pipeline}")
            message = describe(sequence[: step + 1], fast, slow)
            assert fast.comparable() == slow.comparable(), message
            answers.append(fast)
        for request in (STATE_REQUEST, JOURNAL):
            # Reading the state makes the scheduled runs that fell due: their backups' ids
            # follow from the runs (`ids.derived`), the same in both.
            fast = await send(pair.fast, request)
            slow = await send(pair.slow, request)
            assert fast.status == slow.status == 200, describe([*sequence, request], fast, slow)
            assert fast.body == slow.body, describe([*sequence, request], fast, slow)
        return answers

    return asyncio.run(run())


@settings(max_examples=1000, deadline=None)
@given(sequence=SEQUENCES)
def test_every_request_gets_the_same_answer_and_change_from_both_pipelines(
    pair: Pair, sequence: list[Request]
) -> None:
    compare(pair, sequence)


# -- instances and flavors, step by step (contract section 11) ---------------------------------


def advance(seconds: int) -> Request:
    body = json.dumps({"advance_seconds": seconds}).encode()
    headers = ((b"content-type", b"application/json"),)
    return Request("advanceClock", "POST", "/__mock/clock", headers=headers, body=body)


def make(**members: Any) -> dict[str, Any]:
    """A create of an instance: flavor 2, 2 GB, with `members`."""
    return {"instance": {"name": "made", "flavorRef": 2, "volume": {"size": 2}} | members}


def restore_of(backup: str, **members: Any) -> dict[str, Any]:
    return make(restorePoint={"backupRef": backup}, **members)


ROOT = "/v1.0/1234"
MADE = created(0)  # the instance step 0 of each sequence below creates
# (request, the status it gets) in order; ids of what step N creates are created(N).
INSTANCE_SEQUENCES: dict[str, list[tuple[Request, int]]] = {
    "create, back up, restore, delete": [
        (api("POST", f"{ROOT}/instances", body=make()), 200),
        (api("GET", f"{ROOT}/instances/{MADE}"), 200),
        (api("DELETE", f"{ROOT}/instances/{MADE}"), 422),  # BUILD
        (api("POST", f"{ROOT}/backups", body={"backup": {"name": "b", "instance": MADE}}), 422),
        (advance(5), 200),
        (api("GET", f"{ROOT}/instances/{MADE}"), 200),
        (api("POST", f"{ROOT}/backups", body={"backup": {"name": "b", "instance": MADE}}), 202),
        (api("DELETE", f"{ROOT}/instances/{MADE}"), 422),  # BACKUP
        (api("POST", f"{ROOT}/instances", body=restore_of(created(6))), 422),  # NEW
        (advance(86_400), 200),
        (api("POST", f"{ROOT}/instances", body=restore_of(created(6), datastore={})), 200),
        (api("DELETE", f"{ROOT}/instances/{MADE}"), 202),
        (api("GET", f"{ROOT}/instances/{MADE}"), 404),
        (api("GET", f"{ROOT}/instances/{MADE}/backups"), 404),
        (api("DELETE", f"{ROOT}/instances/{MADE}"), 404),
        (api("GET", f"{ROOT}/backups/{created(6)}"), 200),  # a deleted instance's backup stays
        (api("POST", f"{ROOT}/instances", body=restore_of(created(6))), 200),
        (api("GET", f"{ROOT}/instances", b"limit=20"), 200),
        (api("GET", f"{ROOT}/backups", b"datastore=mysql"), 200),
        (advance(5), 200),
        (api("DELETE", f"{ROOT}/instances/{created(10)}"), 202),
    ],
    "a created instance's schedule goes with it": [
        (api("POST", f"{ROOT}/instances", body=make(datastore={"type": "percona"})), 200),
        (advance(5), 200),
        (
            api(
                "POST",
                f"{ROOT}/schedules",
                body={
                    "schedule": {"action": "backup", "day_of_week": 0, "hour": 1, "minute": 2}
                    | {"instance_id": MADE}
                },
            ),
            202,
        ),
        (api("GET", f"{ROOT}/schedules"), 200),
        (api("DELETE", f"{ROOT}/instances/{MADE}"), 202),
        (api("GET", f"{ROOT}/schedules/{created(2)}"), 404),
        (advance(8 * 86_400), 200),
        (api("GET", f"{ROOT}/backups"), 200),
    ],
    "restores and deletes refused": [
        (api("POST", f"{ROOT}/instances", body=restore_of(BACKUPS[0], volume={"size": 1})), 200),
        (
            api(
                "POST",
                f"{ROOT}/instances",
                body=restore_of(BACKUPS[0], datastore={"type": "mysql"}),
            ),
            400,
        ),
        (api("POST", f"{ROOT}/instances", body=restore_of(UNKNOWN)), 404),
        (api("POST", f"{ROOT}/instances", body=restore_of(HA[0])), 404),
        (api("POST", f"{ROOT}/instances", body=make(flavorRef=9)), 404),
        (api("POST", f"{ROOT}/instances", body=make(datastore={"type": "nosql"})), 404),
        (api("POST", f"{ROOT}/instances", body=make(datastore={"version": "10.1"})), 404),
        (api("POST", f"{ROOT}/instances", body={"instance": {}}), 400),
        (api("DELETE", f"{ROOT}/instances/{HA_MEMBERS[0]}"), 422),
        (api("DELETE", f"{ROOT}/instances/{HA[0]}"), 404),
        (api("DELETE", f"/v1.0/5678/instances/{ACTIVE[0]}"), 404),
        (api("POST", "/v1.0/5678/instances", body=restore_of(BACKUPS[0])), 404),
        (api("GET", f"{ROOT}/flavors/9"), 404),
        (api("GET", f"{ROOT}/flavors/1.5"), 200),
        (api("GET", "/v1.0/5678/flavors"), 200),
    ],
}


@pytest.mark.parametrize("steps", INSTANCE_SEQUENCES.values(), ids=INSTANCE_SEQUENCES.keys())
def test_instances_made_and_deleted_are_the_same_in_both_pipelines(
    pair: Pair, steps: list[tuple[Request, int]]
) -> None:
    answers = compare(pair, [request for request, _ in steps])
    statuses = [answer.status for answer in answers]
    assert statuses == [status for _, status in steps]
    made = json.loads(answers[0].body)["instance"]
    assert made["id"] == MADE and made["hostname"].startswith(MADE.replace("-", ""))


def copy_to(region: str, **members: Any) -> dict[str, Any]:
    return {"copy-backup": {"target_backup_region": region} | members}


def schedule_of(instance: str, *regions: str) -> dict[str, Any]:
    times = {"action": "backup", "day_of_week": 0, "hour": 1, "minute": 2}
    return {"schedule": times | {"instance_id": instance, "copy_to": list(regions)}}


DFW_BACKUP = f"{ROOT}/backups/{BACKUPS[0]}"
CREATED_ANY = [created(step) for step in range(20)]
# (request, the status it gets) in order, through the regions' prefixes (contract section 12);
# the pair's IAD holds a copy of account 1234, under the same ids.
REGION_SEQUENCES: dict[str, list[tuple[Request, int]]] = {
    "copy, read the copy in its region, copy it on, delete either": [
        (api("POST", f"{DFW_BACKUP}/action", body=copy_to("ORD", name="copied")), 202),
        (api("GET", f"/ord{ROOT}/backups/{created(0)}"), 200),
        (api("POST", f"/ord{ROOT}/backups/{created(0)}/action", body=copy_to("HKG")), 422),
        (advance(5), 200),
        (api("POST", f"/ord{ROOT}/backups/{created(0)}/action", body=copy_to("HKG")), 202),
        (api("DELETE", DFW_BACKUP), 202),
        (api("GET", f"/ord{ROOT}/backups/{created(0)}"), 200),
        (api("GET", f"/hkg{ROOT}/backups"), 200),
        (api("DELETE", f"/ord{ROOT}/backups/{created(0)}"), 202),
        (api("GET", f"/hkg{ROOT}/backups/{created(4)}"), 200),
        (api("GET", f"{ROOT}/backups/{created(0)}"), 404),
        (api("POST", f"/lon{ROOT}/backups/{BACKUPS[1]}/action", body=copy_to("ORD")), 404),
        (api("POST", f"{ROOT}/backups/{BACKUPS[1]}/action", body=copy_to("LON")), 400),
        (api("POST", f"/iad{ROOT}/backups/{BACKUPS[1]}/action", body=copy_to("DFW")), 202),
        (api("GET", f"{ROOT}/backups/{created(13)}"), 200),
    ],
    "an incremental backup is copied after its parent": [
        (
            api(
                "POST",
                f"{ROOT}/backups",
                body={"backup": {"name": "inc", "instance": ACTIVE[1], "incremental": 1}},
            ),
            202,
        ),
        (advance(5), 200),
        (api("POST", f"{ROOT}/backups/{created(0)}/action", body=copy_to("SYD")), 400),
        (api("POST", f"{DFW_BACKUP}/action", body=copy_to("SYD")), 202),
        (api("POST", f"{ROOT}/backups/{created(0)}/action", body=copy_to("SYD")), 202),
        (api("GET", f"/syd{ROOT}/backups/{created(4)}"), 200),
        (advance(5), 200),
        (api("DELETE", f"/syd{ROOT}/backups/{created(3)}"), 202),
        (api("GET", f"/syd{ROOT}/backups/{created(4)}"), 404),
        (api("GET", f"{ROOT}/backups/{created(0)}"), 200),
    ],
    "each region's writes stay in it": [
        (
            api(
                "POST", f"/iad{ROOT}/backups", body={"backup": {"name": "b", "instance": ACTIVE[0]}}
            ),
            202,
        ),
        (api("GET", f"/iad{ROOT}/instances/{ACTIVE[0]}"), 200),
        (
            api(
                "POST", f"/iad{ROOT}/backups", body={"backup": {"name": "b", "instance": ACTIVE[0]}}
            ),
            422,
        ),
        (
            api("POST", f"{ROOT}/backups", body={"backup": {"name": "b", "instance": ACTIVE[0]}}),
            202,
        ),
        (api("GET", f"{ROOT}/backups/{created(0)}"), 404),
        (api("DELETE", f"/iad{ROOT}/backups/{created(0)}"), 422),
        (advance(5), 200),
        (api("DELETE", f"/iad{ROOT}/backups/{created(0)}"), 202),
        (api("GET", f"/iad{ROOT}/backups/{created(3)}"), 404),
        (api("POST", f"/iad{ROOT}/schedules", body=schedule_of(ACTIVE[1], "DFW")), 202),
        (api("POST", f"/iad{ROOT}/schedules", body=schedule_of(ACTIVE[2], "IAD")), 400),
        (api("GET", f"{ROOT}/schedules/{created(9)}"), 404),
        (advance(8 * 86_400), 200),
        (api("GET", f"{ROOT}/backups"), 200),
        (api("GET", f"/iad{ROOT}/schedules", b"limit=1"), 200),
        (api("DELETE", f"/iad{ROOT}/instances/{ACTIVE[3]}"), 202),
        (api("GET", f"{ROOT}/instances/{ACTIVE[3]}"), 200),
    ],
}


@pytest.mark.parametrize("steps", REGION_SEQUENCES.values(), ids=REGION_SEQUENCES.keys())
def test_copies_and_regional_requests_are_the_same_in_both_pipelines(
    pair: Pair, steps: list[tuple[Request, int]]
) -> None:
    answers = compare(pair, [request for request, _ in steps])
    statuses = [answer.status for answer in answers]
    assert statuses == [status for _, status in steps]
    # What a region's prefix reads is that region's: IAD's copy of account 1234 is named apart.
    # (A copy carries its original's name: reads of what the sequence made are left out.)
    for (request, _), answer in zip(steps, answers, strict=True):
        named = "/backups" in request.path or "/instances" in request.path
        fixture = named and not any(made in request.path for made in CREATED_ANY)
        if request.method == "GET" and answer.status == 200 and fixture:
            assert (b'"IAD ' in answer.body) == request.path.startswith("/iad/"), answer.body


# Requests at the edges of the routes: each must get the same answer, and make the same change,
# through both pipelines.
EDGES = {
    "flavor id then LF": api("GET", f"{ROOT}/flavors/1%0A"),
    "flavors then LF": api("GET", f"{ROOT}/flavors%0A"),
    "a create at instances then LF": api("POST", f"{ROOT}/instances%0A", body=make()),
    "a delete of an instance id then LF": api("DELETE", f"{ROOT}/instances/{NOT_ACTIVE[0]}%0A"),
    "flavor id then CR": api("GET", f"{ROOT}/flavors/1%0D"),
    "flavor id in fullwidth digits": api("GET", f"{ROOT}/flavors/%EF%BC%91"),
    "flavor id with a trailing dot": api("GET", f"{ROOT}/flavors/1."),
    "flavor id of 4,301 digits": api("GET", f"{ROOT}/flavors/{'9' * 4301}"),
}


@pytest.mark.parametrize("request_", EDGES.values(), ids=EDGES.keys())
def test_a_request_at_the_edge_of_a_route_gets_the_same_answer_from_both_pipelines(
    pair: Pair, request_: Request
) -> None:
    compare(pair, [request_])


# -- the fast path answers plainly valid requests itself --------------------------------------

B = f"/v1.0/1234/backups/{BACKUPS[1]}"
VALID_CREATE = {"backup": {"name": "snap", "instance": ACTIVE[0]}}
COPY = {"copy-backup": {"target_backup_region": "IAD"}}
VALID_INSTANCE = {"instance": {"name": "made", "flavorRef": 1, "volume": {"size": 1}}}
ANSWERED = {
    "getVersions": (api("GET", "/"), 200),
    "createBackup": (api("POST", "/v1.0/1234/backups", body=VALID_CREATE), 202),
    "createBackup sent as APPLICATION/JSON": (
        api("POST", "/v1.0/1234/backups", body=VALID_CREATE, content_type=b"APPLICATION/JSON"),
        202,
    ),
    "createBackup HA": (
        api(
            "POST",
            "/v1.0/1234/backups",
            body={
                "backup": {"name": "ha", "instance": None, "source": {"type": "ha", "id": HA[0]}}
            },
        ),
        202,
    ),
    "createBackup incremental": (
        api(
            "POST",
            "/v1.0/1234/backups",
            body={"backup": {"name": "inc", "instance": ACTIVE[0], "incremental": 1}},
        ),
        202,
    ),
    "getBackups": (api("GET", "/v1.0/1234/backups", b"limit=2&marker=" + BACKUPS[0].encode()), 200),
    "getBackups datastore": (api("GET", "/v1.0/1234/backups", b"datastore=mysql"), 200),
    "getBackupById": (api("GET", B), 200),
    "deleteBackup": (api("DELETE", B), 202),
    "getInstance": (api("GET", "/v1.0/1234/instances", b"limit=3"), 200),
    "getInstanceById": (api("GET", f"/v1.0/1234/instances/{ACTIVE[0]}"), 200),
    "getBackupsByInstance": (api("GET", f"/v1.0/1234/instances/{ACTIVE[1]}/backups"), 200),
    "getHa": (api("GET", "/v1.0/1234/ha"), 200),
    "createInstance": (api("POST", "/v1.0/1234/instances", body=VALID_INSTANCE), 200),
    "createInstance restore": (
        api("POST", "/v1.0/1234/instances", body=restore_of(BACKUPS[0])),
        200,
    ),
    "createInstance flavor link, datastore and ignored members": (
        api(
            "POST",
            "/v1.0/1234/instances",
            body=make(
                flavorRef="https://x/v1.0/1234/flavors/3",
                datastore={"type": "mysql", "version": "5.1"},
                databases=[{"name": "db"}],
                users=[{"name": "u", "password": "p"}],
            ),
        ),
        200,
    ),
    "deleteInstance": (api("DELETE", f"/v1.0/1234/instances/{NOT_ACTIVE[0]}"), 202),
    "getFlavors": (api("GET", "/v1.0/1234/flavors"), 200),
    "getFlavorById": (api("GET", "/v1.0/1234/flavors/8"), 200),
    "getFlavorById with a decimal part": (api("GET", "/v1.0/1234/flavors/1.5"), 200),
    "getInstanceByHaId": (api("GET", f"/v1.0/1234/ha/{HA[0]}"), 200),
    "getBackupsForHaInstance": (api("GET", f"/v1.0/1234/ha/{HA[0]}/backups", b"limit=1"), 200),
    # A query parameter the operation does not define is ignored (contract section 9).
    "unknown query parameter": (api("GET", "/v1.0/1234/backups", b"foo=1"), 200),
    "unknown query parameter on an operation without any": (api("GET", "/", b"limit=1"), 200),
    # Faults of the handlers, and bodies it can judge whole.
    "unknown backup": (api("GET", f"/v1.0/1234/backups/{UNKNOWN}"), 404),
    "unknown marker": (api("GET", "/v1.0/1234/backups", b"marker=" + UNKNOWN.encode()), 400),
    "unknown datastore": (api("GET", "/v1.0/1234/backups", b"datastore=nosuch"), 404),
    "unknown flavor": (api("GET", "/v1.0/1234/flavors/9"), 404),
    "createInstance of an unknown flavor": (
        api("POST", "/v1.0/1234/instances", body=make(flavorRef=9)),
        404,
    ),
    "restore of an unknown backup": (
        api("POST", "/v1.0/1234/instances", body=restore_of(UNKNOWN)),
        404,
    ),
    "restore onto another datastore": (
        api(
            "POST", "/v1.0/1234/instances", body=restore_of(BACKUPS[0], datastore={"type": "mysql"})
        ),
        400,
    ),
    "deleteInstance of an HA member": (
        api("DELETE", f"/v1.0/1234/instances/{HA_MEMBERS[0]}"),
        422,
    ),
    "createInstance breaking the schema": (
        api("POST", "/v1.0/1234/instances", body=make(volume={"size": 0}, flavorRef=0)),
        400,
    ),
    "instance not ACTIVE": (
        api(
            "POST", "/v1.0/1234/backups", body={"backup": {"name": "x", "instance": NOT_ACTIVE[0]}}
        ),
        422,
    ),
    "body breaking the schema": (api("POST", "/v1.0/1234/backups", body={"backup": {}}), 400),
    "malformed JSON": (api("POST", "/v1.0/1234/backups", body=b'{"backup": '), 400),
    "invalid UTF-8": (api("POST", "/v1.0/1234/backups", body=b'{"backup": {"name": "\xff"}}'), 400),
    "nested too deep": (api("POST", "/v1.0/1234/backups", body=nested(150)), 400),
    # Copies (contract section 12), and every operation through a region's prefix.
    "backupAction": (api("POST", f"{B}/action", body=COPY), 202),
    "backupAction with a name and a description": (
        api(
            "POST",
            f"{B}/action",
            body={"copy-backup": {"target_backup_region": "SYD", "name": "c", "description": None}},
        ),
        202,
    ),
    "backupAction of an unknown backup": (
        api("POST", f"/v1.0/1234/backups/{UNKNOWN}/action", body=COPY),
        404,
    ),
    "backupAction to the backup's own region": (
        api("POST", f"{B}/action", body={"copy-backup": {"target_backup_region": "DFW"}}),
        400,
    ),
    "backupAction to LON": (
        api("POST", f"{B}/action", body={"copy-backup": {"target_backup_region": "LON"}}),
        400,
    ),
    "backupAction breaking the schema": (
        api("POST", f"{B}/action", body={"copy-backup": {"target_backup_region": "iad"}}),
        400,
    ),
    "backupAction at IAD of a backup of DFW": (api("POST", f"/iad{B}/action", body=COPY), 404),
    "getVersions at /iad/": (api("GET", "/iad/"), 200),
    "getBackups at /iad": (api("GET", "/iad/v1.0/1234/backups", b"limit=2"), 200),
    "getBackups at /dfw": (api("GET", "/dfw/v1.0/1234/backups", b"limit=2"), 200),
    "getBackupById at /dfw": (api("GET", f"/dfw{B}"), 200),
    "getBackupById at /iad": (api("GET", f"/iad{B}"), 404),
    "createBackup at /dfw": (api("POST", "/dfw/v1.0/1234/backups", body=VALID_CREATE), 202),
    "createBackup at /iad, of an instance IAD does not have": (
        api("POST", "/iad/v1.0/1234/backups", body=VALID_CREATE),
        404,
    ),
    "deleteBackup at /dfw": (api("DELETE", f"/dfw{B}"), 202),
    "getFlavors at /syd": (api("GET", "/syd/v1.0/1234/flavors"), 200),
    "getInstance at /lon": (api("GET", "/lon/v1.0/1234/instances"), 200),
    "createAutoBackup at /iad, of an instance IAD does not have": (
        api(
            "POST",
            "/iad/v1.0/1234/schedules",
            body={
                "schedule": {"action": "backup", "day_of_week": 0, "hour": 1, "minute": 2}
                | {"instance_id": ACTIVE[0], "copy_to": ["DFW"]}
            },
        ),
        404,
    ),
}


@pytest.fixture(scope="module")
def fast_mock() -> Mock:
    return create_app(Settings(frozen_clock=True))


@pytest.fixture
def mock(fast_mock: Mock) -> Mock:
    """In place of conftest's: one mock (fast path on) for the module, reset to the fixture
    state before each test (a new mock for each case was most of their time)."""
    assert call(fast_mock, RESET).status == 200
    return fast_mock


@pytest.fixture
def spied(mock: Mock, monkeypatch: pytest.MonkeyPatch) -> ConnexionSpy:
    """The mock (fast path on), its connexion app replaced by a spy."""
    assert mock.gateway.fast_path is not None
    assert mock.gateway.app is mock.connexion_app
    spy = ConnexionSpy(mock.connexion_app)
    monkeypatch.setattr(mock.gateway, "app", spy)
    return spy


def test_the_fast_path_has_a_plan_for_every_operation(mock: Mock) -> None:
    assert mock.gateway.fast_path is not None
    assert mock.gateway.fast_path.operations == set(mock.spec.operations)
    assert len(mock.spec.operations) == 21


@pytest.mark.parametrize(("request_", "status"), ANSWERED.values(), ids=ANSWERED.keys())
def test_the_fast_path_answers_a_plainly_valid_request_without_connexion(
    mock: Mock, spied: ConnexionSpy, request_: Request, status: int
) -> None:
    answer = call(mock, request_)
    assert answer.status == status, answer.body
    assert spied.calls == 0
    if answer.body:
        assert dict(answer.headers)["content-type"] == "application/json"


# -- and leaves what it cannot judge whole to connexion ---------------------------------------

CREATE_BODY = json.dumps(VALID_CREATE).encode()
LEFT = {
    "repeated query parameter": (api("GET", "/v1.0/1234/instances", b"limit=1&limit=2"), 400),
    "limit=abc": (api("GET", "/v1.0/1234/backups", b"limit=abc"), 400),
    "limit=0": (api("GET", "/v1.0/1234/backups", b"limit=0"), 400),
    "limit=": (api("GET", "/v1.0/1234/backups", b"limit="), 400),
    "limit=1e3": (api("GET", "/v1.0/1234/backups", b"limit=1e3"), 400),
    "empty marker": (api("GET", "/v1.0/1234/backups", b"marker="), 400),
    "charset parameter": (
        api(
            "POST",
            "/v1.0/1234/backups",
            body=CREATE_BODY,
            content_type=b"application/json; charset=utf-8",
        ),
        202,
    ),
    "text/plain": (
        api("POST", "/v1.0/1234/backups", body=CREATE_BODY, content_type=b"text/plain"),
        415,
    ),
    "no content type": (
        api("POST", "/v1.0/1234/backups", body=CREATE_BODY, content_type=None),
        415,
    ),
    "empty body": (api("POST", "/v1.0/1234/backups", body=b""), 400),
    "JSON null": (api("POST", "/v1.0/1234/backups", body=b"null"), 400),
    "no body at all": (api("POST", "/v1.0/1234/backups"), 415),  # 415 comes first
    "createInstance with a charset parameter": (
        api(
            "POST",
            "/v1.0/1234/instances",
            body=VALID_INSTANCE,
            content_type=b"application/json; charset=utf-8",
        ),
        200,
    ),
    "createInstance as text/plain": (
        api("POST", "/v1.0/1234/instances", body=VALID_INSTANCE, content_type=b"text/plain"),
        415,
    ),
    "createInstance with an empty body": (api("POST", "/v1.0/1234/instances", body=b""), 400),
    "backupAction as text/plain": (
        api("POST", f"{B}/action", body=COPY, content_type=b"text/plain"),
        415,
    ),
    "backupAction with an empty body": (api("POST", f"{B}/action", body=b""), 400),
    "backupAction with a charset parameter at /iad": (
        api(
            "POST",
            f"/iad{B}/action",
            body=COPY,
            content_type=b"application/json; charset=utf-8",
        ),
        404,
    ),
    "limit=abc at /iad": (api("GET", "/iad/v1.0/1234/backups", b"limit=abc"), 400),
}


@pytest.mark.parametrize(("request_", "status"), LEFT.values(), ids=LEFT.keys())
def test_the_fast_path_leaves_a_request_it_cannot_judge_whole_to_connexion(
    mock: Mock, spied: ConnexionSpy, request_: Request, status: int | None
) -> None:
    answer = call(mock, request_)
    assert status is None or answer.status == status, answer.body
    assert spied.calls == 1


# Both once answered 500 (connexion validated the body, then handed the handler bytes).
@pytest.mark.parametrize(
    ("content_type", "status"),
    [(b"APPLICATION/JSON", 202), (b"Application/Json; charset=utf-8", 202), (None, 415)],
    ids=["upper", "mixed with charset", "none"],
)
@pytest.mark.parametrize("fast_path", [True, False], ids=["fast path", "no fast path"])
def test_media_types_are_case_insensitive_and_a_create_without_one_is_415(
    content_type: bytes | None, status: int, fast_path: bool
) -> None:
    mock = create_app(Settings(frozen_clock=True, fast_path=fast_path))
    request = api("POST", "/v1.0/1234/backups", body=CREATE_BODY, content_type=content_type)
    assert call(mock, request).status == status


def test_without_the_fast_path_connexion_answers_every_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mock = create_app(Settings(frozen_clock=True, fast_path=False))
    assert mock.gateway.fast_path is None
    spy = ConnexionSpy(mock.connexion_app)
    monkeypatch.setattr(mock.gateway, "app", spy)
    sent = [request for request, _ in ANSWERED.values()]
    for request in sent:
        call(mock, request)
    assert spy.calls == len(sent)


# -- the option --------------------------------------------------------------------------------


def test_the_fast_path_is_on_by_default_and_no_fast_path_turns_it_off() -> None:
    assert Settings().fast_path
    assert settings_from([], {}).fast_path
    assert not settings_from(["--no-fast-path"], {}).fast_path


@pytest.mark.parametrize(("value", "on"), [("1", False), ("true", False), ("0", True), ("", True)])
def test_the_fast_path_can_be_turned_off_from_the_environment(value: str, on: bool) -> None:
    assert settings_from([], {"MOCKSERVER_NO_FAST_PATH": value}).fast_path is on


def test_under_strict_query_an_unknown_query_parameter_is_left_to_connexion(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    strict = create_app(Settings(frozen_clock=True, strict_query=True))
    spy = ConnexionSpy(strict.connexion_app)
    monkeypatch.setattr(strict.gateway, "app", spy)
    answer = call(strict, api("GET", "/v1.0/1234/backups", b"foo=1"))
    assert answer.status == 400 and b"query/foo: unknown parameter" in answer.body
    assert spy.calls == 1
