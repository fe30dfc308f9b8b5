"""The protocol's direct answers (mockserver/http/direct.py): a request the gateway answers at
once (`Mock.answer_now`) is answered from the parser's callback, without uvicorn's ASGI cycle,
with the same bytes the cycle would have sent; every other request goes through the cycle as
before, counted, journaled and rate-limited once.

Each test serves a fresh mock with real uvicorn in its own event loop, behind `Counting`, which
counts the requests that reach the ASGI app: 0 for a request answered directly."""

from __future__ import annotations

import asyncio
import itertools
import logging
import uuid
from functools import partial
from typing import Any

import pytest
from direct_support import (
    BASE,
    CLOCK,
    CREATE,
    FROZEN_AT,
    TIMEOUT,
    UNKNOWN,
    Connection,
    body_of,
    exchanged,
    fresh,
    headers_of,
    request,
    serve,
    show,
    status_of,
    until,
    without_date,
)
from fixture_ids import HA_BACKUP, MYSQL, PERCONA_BACKUP

import mockserver.app
from mockserver.state.clock import Clock


def head_and_body(sent: bytes) -> tuple[bytes, bytes]:
    head, body = sent.split(b"\r\n\r\n", 1)
    return head + b"\r\n\r\n", body


SAME_BYTES = [
    show(),
    request("POST", f"{BASE}/backups", CREATE),
    show(str(uuid.UUID(int=1, version=4))),  # the backup just created
    request("POST", f"{BASE}/backups", b'{"backup": {}}'),
    show(UNKNOWN),
    request("GET", f"{BASE}/backups/{PERCONA_BACKUP}", token=False),
    show(PERCONA_BACKUP, "Prefer: code=503"),
    request("GET", f"{BASE}/backups?limit=2"),
    show(HA_BACKUP, "Connection: close"),
]


def test_a_direct_answer_is_byte_for_byte_the_asgi_cycles(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mockserver.app, "Clock", partial(Clock, source=lambda: FROZEN_AT))
    answers: dict[bool, list[bytes]] = {}
    for direct in (True, False):
        mock = fresh()
        ids = (str(uuid.UUID(int=n, version=4)) for n in itertools.count(1))  # in both mocks
        monkeypatch.setattr(mock.regions.ids, "new", partial(next, ids))
        raw, calls = exchanged(mock, *SAME_BYTES, direct=direct)
        assert calls == (0 if direct else len(SAME_BYTES))
        answers[direct] = [without_date(answer) for answer in raw]
    assert [status_of(a) for a in answers[True]] == [200, 202, 200, 400, 404, 401, 503, 200, 200]
    assert headers_of(answers[True][-1])["connection"] == "close"
    assert answers[True] == answers[False]


def test_a_documented_request_is_answered_without_the_asgi_cycle() -> None:
    mock = fresh()
    calls = [
        exchanged(mock, sent)[1] for sent in (show(), request("POST", f"{BASE}/backups", CREATE))
    ]
    assert calls == [0, 0]
    assert exchanged(mock, CLOCK)[1] == 1  # the control API goes through the cycle


def test_each_request_is_journaled_once_whichever_path_answers_it() -> None:
    mock = fresh()
    null_create = request("POST", f"{BASE}/backups", b"null")  # left to connexion
    answers, calls = exchanged(mock, show(), null_create, CLOCK, show(UNKNOWN))
    assert [status_of(answer) for answer in answers] == [200, 400, 200, 404]
    assert calls == 2  # the null body and the control API
    journal = [
        (e["method"], e["path"], e["status"], e["operation"]) for e in mock.journal.entries()
    ]
    assert journal == [
        ("GET", f"{BASE}/backups/{PERCONA_BACKUP}", 200, "getBackupById"),
        ("POST", f"{BASE}/backups", 400, "createBackup"),
        ("GET", f"{BASE}/backups/{UNKNOWN}", 404, "getBackupById"),
    ]


@pytest.mark.parametrize(
    ("declined", "limit"),
    [
        # An undefined query parameter, ignored with a Warning: answer_now leaves it alone.
        (request("DELETE", f"{BASE}/backups/{UNKNOWN}?verbose=1"), 20),
        (request("POST", f"{BASE}/backups", b"null"), 100),  # a null body: connexion's
    ],
    ids=["ignored-query", "null-body"],
)
def test_a_request_the_direct_path_declines_counts_once_against_its_rate_limit(
    declined: bytes, limit: int
) -> None:
    answers, calls = exchanged(fresh(rate_limits=True), *[declined] * (limit + 1))
    assert calls == limit + 1  # each one went through the cycle
    statuses = [status_of(answer) for answer in answers]
    assert 413 not in statuses[:limit], statuses  # counted twice, the limit comes at limit/2
    assert statuses[limit] == 413
    assert "retry-after" in headers_of(answers[limit])


def test_pipelined_requests_are_answered_in_order_on_one_connection() -> None:
    async def client(connection: Connection) -> tuple[list[bytes], int]:
        connection.writer.write(show(PERCONA_BACKUP) + CLOCK + show(HA_BACKUP))  # one write
        return [await connection.answer() for _ in range(3)], connection.app.calls

    answers, calls = serve(fresh(), client)
    assert [status_of(answer) for answer in answers] == [200, 200, 200]
    assert body_of(answers[0])["backup"]["id"] == PERCONA_BACKUP
    assert body_of(answers[1])["frozen"] is True
    assert body_of(answers[2])["backup"]["id"] == HA_BACKUP
    assert calls == 1


@pytest.mark.parametrize(
    "sent",
    [
        show(PERCONA_BACKUP, "Connection: close"),
        request("GET", f"{BASE}/backups").replace(b"HTTP/1.1", b"HTTP/1.0", 1),
    ],
    ids=["connection-close", "http-1.0"],
)
def test_a_connection_not_kept_is_answered_then_closed(sent: bytes) -> None:
    async def client(connection: Connection) -> tuple[bytes, bytes, int]:
        (answer,) = await connection.exchange(sent)
        rest = await asyncio.wait_for(connection.reader.read(), TIMEOUT)  # to EOF: closed
        return answer, rest, connection.app.calls

    answer, rest, calls = serve(fresh(), client)
    assert status_of(answer) == 200
    assert headers_of(answer)["connection"] == "close"
    assert rest == b""
    assert calls == 0


def test_a_body_sent_after_its_head_is_answered_once_whole() -> None:
    head, body = head_and_body(request("POST", f"{BASE}/backups", CREATE))

    async def client(connection: Connection) -> tuple[bytes, int]:
        connection.writer.write(head)
        await connection.writer.drain()
        connections = connection.server.server_state.connections
        await until(lambda: any(getattr(c, "cycle", None) is not None for c in connections))
        (answer,) = await connection.exchange(body)  # the head is parsed: the body is awaited
        return answer, connection.app.calls

    answer, calls = serve(fresh(), client)
    assert status_of(answer) == 202, answer
    assert body_of(answer)["backup"]["instance_id"] == MYSQL
    assert calls == 0


def test_a_chunked_body_goes_through_the_asgi_cycle() -> None:
    headers = ("Content-Type: application/json", "Transfer-Encoding: chunked")
    head = request("POST", f"{BASE}/backups", None, *headers)
    parts = (CREATE[:9], CREATE[9:], b"")  # the last chunk is empty
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts)
    answers, calls = exchanged(fresh(), head + chunks)
    assert status_of(answers[0]) == 202, answers[0]
    assert calls == 1


def test_expect_100_continue_gets_its_interim_answer_before_the_final_one() -> None:
    sent = request("POST", f"{BASE}/backups", CREATE, "Expect: 100-continue")
    head, body = head_and_body(sent)

    async def client(connection: Connection) -> tuple[list[bytes], int]:
        # The body is sent only once the interim answer came.
        return await connection.exchange(head, body), connection.app.calls

    (interim, final), calls = serve(fresh(), client)
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert status_of(final) == 202
    assert calls == 1


def test_links_follow_x_forwarded_proto_from_a_trusted_proxy() -> None:
    instance = f"{BASE}/instances/{MYSQL}"
    forwarded = request("GET", instance, None, "X-Forwarded-Proto: https")
    answers, calls = exchanged(fresh(), forwarded, request("GET", instance))
    hrefs = [[link["href"] for link in body_of(a)["instance"]["links"]] for a in answers]
    assert hrefs[0] and all(href.startswith("https://mock.test:8779/") for href in hrefs[0])
    assert hrefs[1] and all(href.startswith("http://mock.test:8779/") for href in hrefs[1])
    assert calls == 1  # the forwarded one: uvicorn's middleware rewrites its scope


def test_an_armed_fault_rule_is_answered_with_the_direct_path_on() -> None:
    mock = fresh()
    mock.injector.add("GET", f"{BASE}/backups/{PERCONA_BACKUP}", status=503)  # once
    answers, calls = exchanged(mock, show(), show())
    assert [status_of(answer) for answer in answers] == [503, 200]
    assert "Injected fault" in body_of(answers[0])["serviceUnavailable"]["message"]
    assert calls == 1  # the rule's; the next one is direct again


def test_a_direct_answer_is_access_logged_as_uvicorn_logs_it(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another server may have run with access_log=False, which stops the logger's propagation.
    monkeypatch.setattr(logging.getLogger("uvicorn.access"), "propagate", True)
    caplog.set_level(logging.INFO, logger="uvicorn.error")  # both restored after the test
    caplog.set_level(logging.INFO, logger="uvicorn.access")
    path = f"{BASE}/backups?limit=2"
    logged: dict[bool, tuple[Any, ...]] = {}
    for direct in (True, False):
        caplog.clear()
        sent = request("GET", path)
        _, calls = exchanged(fresh(), sent, direct=direct, log_level="info", access_log=True)
        assert calls == (0 if direct else 1)
        records = [r for r in caplog.records if r.name == "uvicorn.access"]
        assert len(records) == 1
        assert isinstance(records[0].args, tuple)
        client_address, *rest = records[0].args
        assert str(client_address).startswith("127.0.0.1:")
        logged[direct] = (records[0].msg, *rest)
    assert logged[True] == ('%s - "%s %s HTTP/%s" %d', "GET", path, "1.1", 200)
    assert logged[True] == logged[False]
