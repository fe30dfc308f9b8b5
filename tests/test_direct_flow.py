"""The direct path under pipelining and a client that does not read (mockserver/http/direct.py),
and where the mock turns it on (`Mock.protocol`)."""

from __future__ import annotations

from direct_support import CLOCK, Connection, fresh, serve, show, status_of, until
from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from mockserver import Settings, create_app


def test_a_thousand_pipelined_requests_behind_one_the_asgi_cycle_answers_are_all_answered() -> None:
    # Each answer given at once starts the next pipelined request: a loop, not a recursion
    # (about 250 of them reached Python's recursion limit and the connection was reset).
    async def client(connection: Connection) -> tuple[list[int], int]:
        connection.writer.write(CLOCK + show() * 1000)  # the control API: the ASGI cycle
        answers = [await connection.answer() for _ in range(1001)]
        return [status_of(answer) for answer in answers], connection.app.calls

    statuses, calls = serve(fresh(), client)
    assert statuses == [200] * 1001
    assert calls == 1


def test_a_client_that_does_not_read_its_answers_holds_the_server_back() -> None:
    # As over the ASGI cycle: once the transport holds more than it should, the next answer
    # waits for it to drain and the server stops reading, instead of answering on into memory.
    sent = 40_000  # 30 MB of answers: more than the kernel's socket buffers take

    async def client(connection: Connection) -> tuple[int, list[int]]:
        connection.writer.write(show() * sent)  # and nothing read yet
        (protocol,) = connection.server.server_state.connections
        assert isinstance(protocol, HttpToolsProtocol)
        await until(lambda: protocol.flow.read_paused)
        held = protocol.transport.get_write_buffer_size()
        answers = [await connection.answer() for _ in range(sent)]
        return held, [status_of(answer) for answer in answers]

    held, statuses = serve(fresh(), client)
    assert held <= 4 * HIGH_WATER_LIMIT  # answered on, it grew past 3 MB
    assert statuses == [200] * sent


def test_the_mock_answers_at_once_except_where_uvicorn_logs_each_asgi_message() -> None:
    assert create_app(Settings()).protocol().answer_now is not None  # type: ignore[attr-defined]
    traced = create_app(Settings(log_level="trace")).protocol()
    assert traced.answer_now is None  # type: ignore[attr-defined]
