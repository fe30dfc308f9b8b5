"""The mock's transport sends an answer's head and body in one write (mockserver/http/transport.py),
and holds nothing past the event loop's step: a head alone (HEAD, 100 Continue, a slow stream)
still goes out at once, and nothing is lost on close."""

from __future__ import annotations

import asyncio
from typing import Any

from mockserver.http.transport import CoalescingTransport


class Recording:
    """A transport that records what is written to it, and when it is closed."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed_after = -1
        self.aborted = False
        self.extra = "delegated"

    def write(self, data: bytes) -> None:
        assert self.closed_after < 0, "written after close"
        self.writes.append(data)

    def close(self) -> None:
        self.closed_after = len(self.writes)

    def abort(self) -> None:
        self.aborted = True

    def get_write_buffer_size(self) -> int:
        return 0


def run(steps: Any) -> Recording:
    async def main() -> Recording:
        recording = Recording()
        await steps(CoalescingTransport(recording), recording)
        return recording

    return asyncio.run(main())


def test_a_head_and_its_body_go_out_in_one_write() -> None:
    async def steps(transport: CoalescingTransport, recording: Recording) -> None:
        transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        assert recording.writes == []
        transport.write(b"{}")
        assert recording.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
        await asyncio.sleep(0)
        assert len(recording.writes) == 1

    run(steps)


def test_a_write_alone_goes_out_by_the_end_of_the_loop_step() -> None:
    async def steps(transport: CoalescingTransport, recording: Recording) -> None:
        transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        await asyncio.sleep(0)
        assert recording.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]
        transport.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        await asyncio.sleep(0)  # a stream's next chunk comes later: its head is not kept
        assert len(recording.writes) == 2
        transport.write(b"2\r\n{}\r\n")
        await asyncio.sleep(0)
        assert recording.writes[-1] == b"2\r\n{}\r\n"

    run(steps)


def test_close_sends_what_is_held_first() -> None:
    async def steps(transport: CoalescingTransport, recording: Recording) -> None:
        transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        transport.close()
        assert recording.writes == [
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        ]
        assert recording.closed_after == 1
        await asyncio.sleep(0)  # the step's flush finds nothing more to send
        assert len(recording.writes) == 1

    run(steps)


def test_abort_drops_what_is_held_and_the_rest_is_delegated() -> None:
    async def steps(transport: CoalescingTransport, recording: Recording) -> None:
        transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
        assert transport.get_write_buffer_size() == len(b"HTTP/1.1 200 OK\r\n\r\n")
        transport.abort()
        await asyncio.sleep(0)
        assert recording.writes == []
        assert recording.aborted
        assert transport.extra == "delegated"

    run(steps)
