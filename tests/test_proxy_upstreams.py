"""The validating proxy (`mockserver --upstream`) in front of hostile upstreams: one that refuses
connections, hangs (before its answer, in its body, or trickles it), answers what is not JSON,
closes in the middle of its body, answers more than the proxy holds (and breaks off while it is
streamed), in a content coding, slowly, or over https with a private CA; and one that records
what it receives. What the client gets back (the upstream's answer unchanged, or the proxy's own
503 `serviceUnavailable` naming why), and what the journal says of it."""

from __future__ import annotations

import asyncio
import gzip
import random
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
import uvicorn
from proxy_support import serving_proxy

from mockserver import Settings, create_app
from mockserver.plugin.threaded import ThreadedServer

TOKEN = "a-real-token-1234"
BACKUPS = "/v1.0/1234/backups"
MiB = 1024 * 1024
HOLD = MiB  # what the proxy holds of a body before it streams it (forwarder.HOLD)
BOUND = 20.0  # seconds: a generous upper bound on an answer that must not wait for the upstream
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade"}


# --- the client and the journal -------------------------------------------------------------


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=60, trust_env=False) as client:
        yield client


def wait_until(condition: Callable[[], bool], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def journal(client: httpx.Client, proxy: str, count: int = 1) -> list[dict[str, Any]]:
    """The proxy's journal once it holds `count` entries (an exchange is recorded just after
    its answer is sent)."""
    entries: list[dict[str, Any]] = []

    def holds() -> bool:
        entries[:] = client.get(f"{proxy}/__mock/requests").json()["requests"]
        return len(entries) >= count

    wait_until(holds)
    return entries


def assert_own_fault(response: httpx.Response, upstream: str, kind: str) -> dict[str, Any]:
    """The proxy's own 503 fault naming the upstream and why it could not answer; its body."""
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-contract-violations"] == "0"
    body: dict[str, Any] = response.json()
    assert list(body) == ["serviceUnavailable"]
    fault = body["serviceUnavailable"]
    assert fault["code"] == 503
    assert upstream in fault["message"]
    assert f"({kind})" in fault["message"]
    return fault


def assert_journaled_fault(entry: dict[str, Any], kind: str) -> None:
    assert entry["answered_by"] == "proxy"
    assert entry["status"] == 503
    assert entry["upstream"]["status"] is None
    assert entry["upstream"]["error"].startswith(f"{kind}: ")


# --- hostile upstreams on raw sockets ---------------------------------------------------------


def read_head(conn: socket.socket) -> bytes:
    """A request's head (its body, if any, is left unread)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


class RawUpstream:
    """A TCP server in threads: each connection is given to `handle(conn, upstream)`, which
    must return once `upstream.stopping` is set; `dropped` counts the connections the proxy
    was seen to close."""

    def __init__(self, handle: Callable[[socket.socket, RawUpstream], None]) -> None:
        self._handle = handle
        self.stopping = threading.Event()
        self.accepted = 0
        self.dropped = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)  # how often the accepting thread looks at `stopping`
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            self.accepted += 1
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            try:
                self._handle(conn, self)
            except OSError:  # the proxy closed the connection while this one was sending
                self.dropped += 1

    def until_dropped(self, conn: socket.socket) -> None:
        """Wait, reading, until the proxy closes the connection (or this upstream stops)."""
        conn.settimeout(0.05)
        while not self.stopping.is_set():
            try:
                if not conn.recv(65536):
                    self.dropped += 1
                    return
            except TimeoutError:
                continue

    def close(self) -> None:
        self.stopping.set()
        self._acceptor.join(10)
        for thread in self._threads:
            thread.join(10)
        self._listener.close()

    def __enter__(self) -> RawUpstream:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


Handler = Callable[[socket.socket, RawUpstream], None]
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"


def hangs_before_answering(conn: socket.socket, upstream: RawUpstream) -> None:
    read_head(conn)
    upstream.until_dropped(conn)


def hangs_after_the_head(conn: socket.socket, upstream: RawUpstream) -> None:
    read_head(conn)
    conn.sendall(HEAD % 100 + b'{"backups": [')
    upstream.until_dropped(conn)


def trickles_its_body(conn: socket.socket, upstream: RawUpstream) -> None:
    """A byte every 0.1 s: never silent for as long as a read timeout, never done."""
    read_head(conn)
    conn.sendall(HEAD % 100000)
    while not upstream.stopping.wait(0.1):
        conn.sendall(b" ")  # raises once the proxy has closed the connection


def closes_mid_body(conn: socket.socket, upstream: RawUpstream) -> None:
    read_head(conn)
    conn.sendall(HEAD % 1000 + b'{"backups": [{"id": "d9f56b04')
    conn.shutdown(socket.SHUT_RDWR)


STREAMED = b" " * (HOLD + HOLD // 2)  # more than the proxy holds: its head is sent on
# The timeout must first let 1.5 MiB through: at 0.5 s a loaded machine timed out before the
# head was sent on (the proxy's own fault, not a stream broken off).
STREAM_TIMEOUT = 2.0


def closes_while_streamed(conn: socket.socket, upstream: RawUpstream) -> None:
    read_head(conn)
    conn.sendall(HEAD % (3 * HOLD) + STREAMED)
    conn.shutdown(socket.SHUT_RDWR)


def hangs_while_streamed(conn: socket.socket, upstream: RawUpstream) -> None:
    read_head(conn)
    conn.sendall(HEAD % (3 * HOLD) + STREAMED)
    upstream.until_dropped(conn)


def free_port_with_nothing_listening() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- a scripted upstream: an ASGI app that records what it receives and answers as told --------


@dataclass
class Received:
    method: str
    raw_path: bytes
    query: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes


class Scripted:
    """An upstream that records each request and answers `status`, `headers` and `chunks`
    (`content-length` added unless `headers` has it or `length` is False), after `delay` s;
    with `gate`, it waits for the gate (at most 10 s) before its last chunk."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.delay = 0.0
        self.gate: threading.Event | None = None
        self.gate_opened_in_time: bool | None = None
        self.answer(200, [(b"content-type", b"application/json")], b'{"backups": []}')

    def answer(
        self,
        status: int,
        headers: list[tuple[bytes, bytes]],
        *chunks: bytes,
        length: bool = True,
    ) -> list[tuple[bytes, bytes]]:
        """Set the answer; the head it is sent with."""
        head = list(headers)
        if length and b"content-length" not in {name.lower() for name, _ in head}:
            head.append((b"content-length", str(sum(map(len, chunks))).encode()))
        self.status, self.headers, self.chunks = status, head, list(chunks) or [b""]
        return head

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        self.received.append(
            Received(
                scope["method"],
                scope["raw_path"],
                scope["query_string"],
                list(scope["headers"]),
                body,
            )
        )
        if self.delay:
            await asyncio.sleep(self.delay)
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        for chunk in self.chunks[:-1]:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        if self.gate is not None:
            deadline = time.monotonic() + 10
            while not self.gate.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            self.gate_opened_in_time = self.gate.is_set()
        await send({"type": "http.response.body", "body": self.chunks[-1]})


class Current:
    """The ASGI app of the module's scripted server: each test's own Scripted."""

    def __init__(self) -> None:
        self.app = Scripted()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def scripted_server() -> Iterator[tuple[Current, str]]:
    """One server for the module's scripted upstreams, without uvicorn's Server and Date."""
    current = Current()
    with ThreadedServer(current, default_headers=False) as server:
        yield current, server.url


@pytest.fixture
def scripted(scripted_server: tuple[Current, str]) -> Iterator[tuple[Scripted, str]]:
    """A fresh scripted upstream and its URL."""
    current, url = scripted_server
    current.app = app = Scripted()
    yield app, url
    if app.gate is not None:  # a test that failed before opening it: let the answer end
        app.gate.set()


def raw_body(response: httpx.Response) -> bytes:
    """The body bytes as they came, in their content coding."""
    return b"".join(response.iter_raw())


# --- 1. refused connections -----------------------------------------------------------------


def test_an_upstream_refusing_connections_is_a_503_unreachable_and_the_proxy_keeps_serving(
    client: httpx.Client,
) -> None:
    upstream = f"http://127.0.0.1:{free_port_with_nothing_listening()}"
    with serving_proxy(upstream) as (_, proxy):
        for count in (1, 2):
            response = client.get(f"{proxy}{BACKUPS}", headers={"X-Auth-Token": TOKEN})
            fault = assert_own_fault(response, upstream, "unreachable")
            assert fault["details"].startswith(f"cannot connect to {upstream}")
            entries = journal(client, proxy, count)
            assert len(entries) == count
            assert_journaled_fault(entries[-1], "unreachable")
            assert entries[-1]["path"] == BACKUPS
            assert entries[-1]["violations"] == []


# --- 2. hangs, and the bounded timeout --------------------------------------------------------


@pytest.mark.parametrize(
    "handle",
    [hangs_before_answering, hangs_after_the_head, trickles_its_body],
    ids=["before-answering", "after-the-head", "trickling-its-body"],
)
def test_an_upstream_that_hangs_is_a_503_timeout_in_bounded_time(
    client: httpx.Client, handle: Handler
) -> None:
    with (
        RawUpstream(handle) as upstream,
        serving_proxy(upstream.url, upstream_timeout=0.5) as (_, proxy),
    ):
        started = time.monotonic()
        response = client.get(f"{proxy}{BACKUPS}", headers={"X-Auth-Token": TOKEN}, timeout=BOUND)
        elapsed = time.monotonic() - started
        fault = assert_own_fault(response, upstream.url, "timeout")
        assert "0.5 s" in fault["details"]
        assert elapsed < BOUND
        [entry] = journal(client, proxy)
        assert_journaled_fault(entry, "timeout")
        assert upstream.accepted == 1
        assert wait_until(lambda: upstream.dropped == 1)  # the proxy let go of the connection


# --- 3. answers that are not JSON -------------------------------------------------------------


def test_an_html_answer_comes_back_unchanged_with_an_answer_media_type_violation(
    client: httpx.Client, scripted: tuple[Scripted, str]
) -> None:
    app, upstream = scripted
    page = b"<html><body><h1>Down for maintenance</h1></body></html>"
    head = app.answer(
        200,
        [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"x-upstream-node", b"web-7"),
            (b"keep-alive", b"timeout=5"),  # hop-by-hop: for the proxy's connection only
        ],
        page,
    )
    with serving_proxy(upstream) as (_, proxy):
        response = client.get(f"{proxy}{BACKUPS}", headers={"X-Auth-Token": TOKEN})
        assert response.status_code == 200
        assert response.content == page
        expected = [line for line in head if line[0] != b"keep-alive"]
        assert response.headers.raw == [*expected, (b"x-contract-violations", b"1")]
        [entry] = journal(client, proxy)
    assert entry["answered_by"] == "upstream"
    assert entry["upstream"] == {"status": 200, "error": None}
    assert [v["rule"] for v in entry["violations"]] == ["answer-media-type"]
    assert "text/html" in entry["violations"][0]["message"]
    assert entry["unchecked"] == []


def test_a_json_answer_that_is_not_json_comes_back_unchanged_with_answer_not_json(
    client: httpx.Client, scripted: tuple[Scripted, str]
) -> None:
    app, upstream = scripted
    head = app.answer(200, [(b"content-type", b"application/json")], b"Internal Error")
    with serving_proxy(upstream) as (_, proxy):
        response = client.get(f"{proxy}{BACKUPS}", headers={"X-Auth-Token": TOKEN})
        assert response.status_code == 200
        assert response.content == b"Internal Error"
        assert response.headers.raw == [*head, (b"x-contract-violations", b"1")]
        [entry] = journal(client, proxy)
    assert [v["rule"] for v in entry["violations"]] == ["answer-not-json"]


# --- 4. an upstream that closes in the middle of its body -------------------------------------


def test_an_upstream_closing_mid_body_is_a_503_broken(client: httpx.Client) -> None:
    with RawUpstream(closes_mid_body) as upstream, serving_proxy(upstream.url) as (_, proxy):
        response = client.get(f"{proxy}{BACKUPS}", headers={"X-Auth-Token": TOKEN})
        fault = assert_own_fault(response, upstream.url, "broken")
        assert fault["details"]
        [entry] = journal(client, proxy)
        assert_journaled_fault(entry, "broken")
        # and it keeps serving
        again = client.get(f"{proxy}{BACKUPS}", headers={"X-Auth-Token": TOKEN})
        assert_own_fault(again, upstream.url, "broken")


@pytest.mark.parametrize(
    "handle", [closes_while_streamed, hangs_while_streamed], ids=["closes", "hangs"]
)
def test_an_answer_breaking_off_while_streamed_leaves_the_client_a_short_body(
    client: httpx.Client, handle: Handler
) -> None:
    with (
        RawUpstream(handle) as upstream,
        serving_proxy(upstream.url, upstream_timeout=STREAM_TIMEOUT) as (_, proxy),
    ):
        received = b""
        with client.stream(
            "GET", f"{proxy}{BACKUPS}", headers={"X-Auth-Token": TOKEN}, timeout=BOUND
        ) as response:
            assert response.status_code == 200
            assert response.headers["content-length"] == str(3 * HOLD)  # the upstream's
            with pytest.raises(httpx.RemoteProtocolError):  # cut short, not left waiting
                for chunk in response.iter_raw():
                    received += chunk
        assert received == STREAMED
        if handle is hangs_while_streamed:
            assert wait_until(lambda: upstream.dropped == 1)  # the proxy let go of it
        # and it keeps serving
        again = client.get(f"{proxy}/__mock/requests")
        assert again.status_code == 200


@pytest.mark.parametrize(
    ("handle", "kind"),
    [
        pytest.param(closes_while_streamed, "broken", id="closes"),
        pytest.param(hangs_while_streamed, "timeout", id="hangs"),
    ],
)
def test_an_answer_breaking_off_while_streamed_is_journaled_and_counted(
    client: httpx.Client, handle: Handler, kind: str
) -> None:
    with (
        RawUpstream(handle) as upstream,
        serving_proxy(upstream.url, upstream_timeout=STREAM_TIMEOUT) as (_, proxy),
    ):
        with (
            client.stream(
                "GET", f"{proxy}{BACKUPS}", headers={"X-Auth-Token": TOKEN}, timeout=BOUND
            ) as response,
            pytest.raises(httpx.RemoteProtocolError),
        ):
            for _ in response.iter_raw():
                pass
        [entry] = journal(client, proxy)
        summary = client.get(f"{proxy}/__mock/violations").json()
    assert entry["status"] == 200
    assert entry["answered_by"] == "upstream"
    assert entry["unchecked"] == [f"answer body: over {HOLD} bytes, streamed unchecked"]
    assert entry["upstream"]["status"] == 200
    assert (entry["upstream"]["error"] or "").startswith(f"{kind}: ")
    assert summary["exchanges"] == 1


# --- 5. bodies over what the proxy holds are streamed -----------------------------------------


def test_an_answer_over_a_mebibyte_is_streamed_byte_for_byte_unchecked(
    client: httpx.Client, scripted: tuple[Scripted, str]
) -> None:
    app, upstream = scripted
    content = random.Random(7).randbytes(2 * MiB)
    chunks = [content[i : i + 64 * 1024] for i in range(0, len(content), 64 * 1024)]
    first, last = chunks[: 3 * len(chunks) // 4], chunks[3 * len(chunks) // 4 :]
    # The last quarter is sent only once the client has received more than the proxy holds:
    # an answer held whole would never reach the client in time.
    app.gate = threading.Event()
    head = app.answer(200, [(b"content-type", b"application/json")], *first, b"".join(last))
    with serving_proxy(upstream) as (_, proxy):
        received = b""
        with client.stream("GET", f"{proxy}{BACKUPS}", headers={"X-Auth-Token": TOKEN}) as r:
            assert r.status_code == 200
            assert r.headers.raw == [*head, (b"x-contract-violations", b"0")]
            for chunk in r.iter_raw():
                received += chunk
                if len(received) > HOLD:
                    app.gate.set()
        assert app.gate_opened_in_time is True
        assert received == content
        [entry] = journal(client, proxy)
    assert entry["answered_by"] == "upstream"
    assert entry["unchecked"] == [f"answer body: over {HOLD} bytes, streamed unchecked"]
    assert entry["violations"] == []


def test_a_request_body_over_a_mebibyte_is_forwarded_byte_for_byte_unchecked(
    client: httpx.Client, scripted: tuple[Scripted, str]
) -> None:
    app, upstream = scripted
    body = random.Random(11).randbytes(2 * MiB + 17)
    with serving_proxy(upstream) as (_, proxy):
        response = client.post(
            f"{proxy}{BACKUPS}",
            headers={"X-Auth-Token": TOKEN, "Content-Type": "application/json"},
            content=body,
        )
        assert response.content == b'{"backups": []}'  # the upstream's answer, whatever it is
        [entry] = journal(client, proxy)
    [request] = app.received
    assert request.method == "POST"
    assert request.raw_path == BACKUPS.encode()
    assert request.body == body
    received = dict(request.headers)
    assert received[b"content-length"] == str(len(body)).encode()  # as declared, not chunked
    assert b"transfer-encoding" not in received
    assert f"request body: over {HOLD} bytes, passed on unchecked" in entry["unchecked"]
    assert entry["answered_by"] == "upstream"


# --- 6. requests and answers passed on unchanged ----------------------------------------------


def test_the_request_reaches_the_upstream_as_sent(
    client: httpx.Client, scripted: tuple[Scripted, str]
) -> None:
    app, upstream = scripted
    path = f"{BACKUPS}/nightly%2Fdaily%20copy"
    query = "limit=1&limit=2&marker=&flag&name=a%20b"
    body = b'{"backup": {"name": "x", "instance": "y"}}'
    headers = [
        ("X-Auth-Token", TOKEN),
        ("X-Custom-Header", "Some Value; with=params"),
        ("X-Repeated", "first"),
        ("X-Repeated", "second"),
        ("Content-Type", "Application/JSON; charset=UTF-8"),  # the media type's case kept
        ("Accept", "application/json"),
    ]
    with serving_proxy(upstream) as (_, proxy):
        response = client.post(f"{proxy}{path}?{query}", headers=headers, content=body)
        assert response.status_code == 200
        assert response.request.url.raw_path == f"{path}?{query}".encode()  # sent so
    [request] = app.received
    assert request.method == "POST"
    assert request.raw_path == path.encode()
    assert request.query == query.encode()
    assert request.body == body
    sent = [
        (name.lower(), value)
        for name, value in response.request.headers.raw
        if name.lower().decode() not in {*HOP_BY_HOP, "host", "content-length"}
    ]
    got = [
        (name, value) for name, value in request.headers if name not in (b"host", b"content-length")
    ]
    assert got == sent
    assert dict(request.headers)[b"host"] == upstream.removeprefix("http://").encode()
    assert dict(request.headers)[b"content-length"] == str(len(body)).encode()
    assert (b"x-repeated", b"first") in got and (b"x-repeated", b"second") in got


@pytest.mark.parametrize("root", ["/prefix", "/prefix/", "/a%20b/prefix"])
def test_an_upstream_root_with_a_path_prefixes_every_path(
    client: httpx.Client, scripted: tuple[Scripted, str], root: str
) -> None:
    app, upstream = scripted
    with serving_proxy(upstream + root) as (_, proxy):
        client.get(f"{proxy}{BACKUPS}?limit=2", headers={"X-Auth-Token": TOKEN})
        client.get(f"{proxy}/v1.0/1234/flavors/2", headers={"X-Auth-Token": TOKEN})
    prefix = root.rstrip("/").encode()
    assert [(r.raw_path, r.query) for r in app.received] == [
        (prefix + BACKUPS.encode(), b"limit=2"),
        (prefix + b"/v1.0/1234/flavors/2", b""),
    ]


@pytest.mark.parametrize("path", ["/iad/v1.0/1234/backups", "/%69ad/v1.0/1234/backups"])
def test_a_regions_prefix_is_passed_on_as_sent(
    client: httpx.Client, scripted: tuple[Scripted, str], path: str
) -> None:
    app, upstream = scripted
    with serving_proxy(upstream + "/prefix") as (_, proxy):
        client.get(f"{proxy}{path}", headers={"X-Auth-Token": TOKEN})
    [request] = app.received
    assert request.raw_path == b"/prefix" + path.encode()


def test_the_answers_headers_come_back_each_line_as_sent(
    client: httpx.Client, scripted: tuple[Scripted, str]
) -> None:
    app, upstream = scripted
    head = app.answer(
        200,
        [
            (b"content-type", b"application/json"),
            (b"x-custom-answer", b"Kept As Is"),
            (b"set-cookie", b"a=1; Path=/"),
            (b"set-cookie", b"b=2; Path=/; HttpOnly"),
        ],
        b'{"backups": []}',
    )
    with serving_proxy(upstream) as (_, proxy):
        response = client.get(f"{proxy}{BACKUPS}", headers={"X-Auth-Token": TOKEN})
    assert response.headers.raw == [*head, (b"x-contract-violations", b"0")]
    assert response.headers.get_list("set-cookie") == ["a=1; Path=/", "b=2; Path=/; HttpOnly"]


@pytest.mark.parametrize("status", [204, 304])
def test_an_answer_without_content_comes_back_without_a_length_added(
    client: httpx.Client, scripted: tuple[Scripted, str], status: int
) -> None:
    app, upstream = scripted
    head = app.answer(status, [(b"x-upstream-node", b"web-7")], length=False)
    with serving_proxy(upstream) as (_, proxy):
        response = client.get(f"{proxy}{BACKUPS}", headers={"X-Auth-Token": TOKEN})
    assert response.status_code == status
    assert response.content == b""
    count = response.headers["x-contract-violations"]  # the status is not documented
    assert response.headers.raw == [*head, (b"x-contract-violations", count.encode())]


# --- 7. content codings -----------------------------------------------------------------------


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize(
    ("coding", "encode"),
    [("gzip", gzip.compress), ("deflate", zlib.compress), ("deflate", raw_deflate)],
    ids=["gzip", "deflate", "raw-deflate"],
)
def test_an_encoded_answer_comes_back_encoded_and_is_checked_decoded(
    client: httpx.Client,
    scripted: tuple[Scripted, str],
    coding: str,
    encode: Callable[[bytes], bytes],
) -> None:
    app, upstream = scripted
    encoded = encode(b'{"backups": "x"}')
    headers = [(b"content-type", b"application/json"), (b"content-encoding", coding.encode())]
    head = app.answer(200, headers, encoded)
    with serving_proxy(upstream) as (_, proxy):
        headers_sent = {"X-Auth-Token": TOKEN, "Accept-Encoding": coding}
        with client.stream("GET", f"{proxy}{BACKUPS}", headers=headers_sent) as response:
            assert raw_body(response) == encoded
        [entry] = journal(client, proxy)
    count = len(entry["violations"])
    assert count >= 1
    assert response.headers.raw == [*head, (b"x-contract-violations", str(count).encode())]
    assert {v["rule"] for v in entry["violations"]} == {"answer-schema"}
    assert entry["unchecked"] == []


@pytest.mark.parametrize(
    ("coding", "why"),
    [
        ("br", "content coding br is not one the proxy decodes"),
        ("gzip", "not valid gzip: "),
    ],
)
def test_an_answer_in_a_coding_the_proxy_cannot_decode_comes_back_unchecked(
    client: httpx.Client, scripted: tuple[Scripted, str], coding: str, why: str
) -> None:
    app, upstream = scripted
    junk = b"\x1f\x8b\x08junk\xff\x00 not what it says"
    headers = [(b"content-type", b"application/json"), (b"content-encoding", coding.encode())]
    head = app.answer(200, headers, junk)
    with serving_proxy(upstream) as (_, proxy):
        with client.stream("GET", f"{proxy}{BACKUPS}", headers={"X-Auth-Token": TOKEN}) as response:
            assert response.status_code == 200
            assert raw_body(response) == junk
        [entry] = journal(client, proxy)
    assert response.headers.raw == [*head, (b"x-contract-violations", b"0")]
    [note] = entry["unchecked"]
    assert note.startswith(f"answer body: {why}")
    assert entry["violations"] == []
    assert entry["answered_by"] == "upstream"


# --- 8. https with a private CA ---------------------------------------------------------------


class TlsServer:
    """ThreadedServer's approach, over TLS: uvicorn in a daemon thread, on a free port."""

    def __init__(self, app: Any, certfile: Path, keyfile: Path) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.url = f"https://127.0.0.1:{self._socket.getsockname()[1]}"
        config = uvicorn.Config(
            app,
            log_config=None,
            log_level="critical",  # the refused handshakes of the test without the CA
            lifespan="off",
            ws="none",
            timeout_graceful_shutdown=2,
            ssl_certfile=str(certfile),
            ssl_keyfile=str(keyfile),
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the TLS server on {self.url} did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._socket.close()


@pytest.fixture(scope="module")
def tls_upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A real mock over https, its certificate from a private CA; its URL and the CA's PEM."""
    folder = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    certificate = ca.issue_cert("127.0.0.1", "localhost")
    ca_pem, cert_pem, key_pem = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    certificate.private_key_pem.write_to_path(str(key_pem))
    for i, blob in enumerate(certificate.cert_chain_pems):
        blob.write_to_path(str(cert_pem), append=i > 0)
    server = TlsServer(create_app(Settings(frozen_clock=True)), cert_pem, key_pem)
    try:
        yield server.url, ca_pem
    finally:
        server.stop()


def test_an_https_upstream_with_a_private_ca_is_reached_when_the_ca_is_given(
    client: httpx.Client, tls_upstream: tuple[str, Path]
) -> None:
    upstream, ca = tls_upstream
    with serving_proxy(upstream, upstream_ca=ca) as (_, proxy):
        response = client.get(f"{proxy}{BACKUPS}", headers={"X-Auth-Token": TOKEN})
        assert response.status_code == 200
        assert response.headers["x-contract-violations"] == "0"
        assert response.json()["backups"]
        [entry] = journal(client, proxy)
    assert entry["answered_by"] == "upstream"
    assert entry["upstream"] == {"status": 200, "error": None}
    assert entry["violations"] == []


def test_an_https_upstream_with_an_untrusted_certificate_is_a_503_unreachable(
    client: httpx.Client, tls_upstream: tuple[str, Path]
) -> None:
    upstream, _ = tls_upstream
    with serving_proxy(upstream) as (_, proxy):
        response = client.get(f"{proxy}{BACKUPS}", headers={"X-Auth-Token": TOKEN})
        fault = assert_own_fault(response, upstream, "unreachable")
        assert "certificate" in fault["details"].lower()
        [entry] = journal(client, proxy)
    assert_journaled_fault(entry, "unreachable")
    assert "certificate" in entry["upstream"]["error"].lower()


# --- 9. a slow upstream within the timeout ----------------------------------------------------


def test_an_upstream_slower_than_usual_but_within_the_timeout_is_answered_normally(
    client: httpx.Client, scripted: tuple[Scripted, str]
) -> None:
    app, upstream = scripted
    app.delay = 0.2
    with serving_proxy(upstream, upstream_timeout=10) as (_, proxy):
        response = client.get(f"{proxy}{BACKUPS}", headers={"X-Auth-Token": TOKEN})
        assert response.status_code == 200
        assert response.content == b'{"backups": []}'
        [entry] = journal(client, proxy)
    assert entry["answered_by"] == "upstream"
    assert entry["upstream"] == {"status": 200, "error": None}
    assert response.headers["x-contract-violations"] == str(len(entry["violations"]))
