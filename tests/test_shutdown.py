"""Graceful shutdown: a request in flight when the mock is told to stop still gets its whole
answer (and, with --state-file, what it changed is saved), and the process exits 0."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from support import MockProcess

TOKEN = {"X-Auth-Token": "shutdown"}
DELAY_MS = 1500
INSTANCE = "d4603f69-ec7e-4e9b-803f-600b9205576f"


def in_flight(
    url: str, method: str, path: str, body: Any = None
) -> tuple[threading.Thread, dict[str, Any]]:
    """Start `method path` in a thread, delayed by an injected latency; return once it is in the
    mock (the one-shot fault rule is used up) and about to wait."""
    outcome: dict[str, Any] = {}
    rule = {"method": method, "path": path, "latency_ms": DELAY_MS, "count": 1}
    assert httpx.post(f"{url}/__mock/faults", json=rule).status_code == 201

    def send() -> None:
        began = time.monotonic()
        try:
            outcome["response"] = httpx.request(
                method, url + path, json=body, headers=TOKEN, timeout=30
            )
        except httpx.HTTPError as error:
            outcome["error"] = error
        outcome["seconds"] = time.monotonic() - began

    thread = threading.Thread(target=send)
    thread.start()
    deadline = time.monotonic() + 10
    while httpx.get(f"{url}/__mock/faults").json()["rules"]:
        assert time.monotonic() < deadline, "the delayed request never reached the mock"
        time.sleep(0.02)
    return thread, outcome


@pytest.mark.slow
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_request_in_flight_at_a_stop_completes_and_the_process_exits_0(
    stop_signal: signal.Signals,
) -> None:
    with MockProcess() as server:
        thread, outcome = in_flight(server.url, "GET", "/v1.0/1234/backups")
        server.process.send_signal(stop_signal)
        thread.join(30)
        assert server.process.wait(15) == 0
        assert server.stop() == 0  # collects the process stopped by stop_signal
    assert "error" not in outcome, outcome
    response = outcome["response"]
    assert response.status_code == 200
    assert len(response.json()["backups"]) == 4  # the fixture state's
    assert outcome["seconds"] >= DELAY_MS / 1000  # it really was in flight through the stop


@pytest.mark.slow
def test_a_create_in_flight_at_sigterm_is_answered_and_saved(tmp_path: Path) -> None:
    options = ("--state-file", str(tmp_path / "mock.json"), "--save-interval", "0")
    with MockProcess(*options) as server:
        body = {"backup": {"name": "last one in", "instance": INSTANCE}}
        thread, outcome = in_flight(server.url, "POST", "/v1.0/1234/backups", body)
        assert server.stop() == 0
        thread.join(30)
    response = outcome["response"]
    assert response.status_code == 202
    backup_id = response.json()["backup"]["id"]
    with MockProcess(*options) as server:
        shown = httpx.get(f"{server.url}/v1.0/1234/backups/{backup_id}", headers=TOKEN)
        assert shown.status_code == 200
        assert shown.json()["backup"]["name"] == "last one in"
        assert server.stop() == 0
