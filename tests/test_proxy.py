"""The validating proxy in front of a real mock process: what it passes on, what it finds, and
what it does with it (the journal, GET /__mock/violations, the log, --on-violation fault, fault
rules in front of the upstream, --fallback-to-mock). Hostile upstreams are in
test_proxy_upstreams.py, the broken variants as upstreams in test_proxy_variants.py."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from broken_mocks import build
from fixture_ids import MYSQL, PERCONA_BACKUP, SHUTDOWN
from keystoneauth1 import session as ks_session
from keystoneauth1 import token_endpoint
from proxy_support import serving_proxy
from support import MockProcess
from troveclient import exceptions
from troveclient.v1 import client as trove

from contract_tests.timeline import Control
from mockserver.plugin.threaded import ThreadedServer

TOKEN = {"X-Auth-Token": "a-real-token-1234"}
BACKUPS = "/v1.0/1234/backups"


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    """A real mock process: the upstream of every test here (reset before each)."""
    with MockProcess("--frozen-clock") as process:
        yield process.url


@pytest.fixture(autouse=True)
def fresh_upstream(upstream: str) -> None:
    httpx.post(f"{upstream}/__mock/reset").raise_for_status()
    httpx.delete(f"{upstream}/__mock/requests").raise_for_status()


def violations(proxy: str) -> dict[str, Any]:
    summary: dict[str, Any] = httpx.get(f"{proxy}/__mock/violations").json()
    return summary


def journal(url: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = httpx.get(f"{url}/__mock/requests").json()["requests"]
    return entries


def advance(upstream: str, seconds: float) -> None:
    httpx.post(f"{upstream}/__mock/clock", json={"advance_seconds": seconds}).raise_for_status()


def test_troveclients_scenario_through_the_proxy_gives_no_violation(upstream: str) -> None:
    with serving_proxy(upstream) as (_, proxy):
        session = ks_session.Session(auth=token_endpoint.Token(f"{proxy}/v1.0/1234", "t"))
        client = trove.Client(session=session)
        try:
            made = client.backups.create("nightly", MYSQL, description="before the upgrade")
            advance(upstream, 10)
            assert client.backups.get(made.id).status == "COMPLETED"
            assert made.id in [b.id for b in client.backups.list()]
            assert made.id in [b.id for b in client.instances.backups(MYSQL)]
            client.backups.list(instance_id=MYSQL)  # sends a parameter the API does not define
            page = client.backups.list(limit=1)
            client.backups.list(limit=1, marker=page.next)
            instances = client.instances.list()  # sends ?include_clustered=False
            client.instances.get(instances[0].id)
            client.flavors.list()
            client.flavors.get(2)
            restored = client.instances.create(
                "restored", "2", volume={"size": 2}, restorePoint={"backupRef": made.id}
            )
            advance(upstream, 10)
            assert client.instances.get(restored.id).status == "ACTIVE"
            client.instances.delete(restored.id)
            client.backups.delete(made.id)
            with pytest.raises(exceptions.NotFound):
                client.backups.get(made.id)
            with pytest.raises(exceptions.UnprocessableEntity):  # a documented refusal
                client.backups.create("not now", SHUTDOWN)
        finally:
            session.session.close()
        summary = violations(proxy)

    assert summary["exchanges"] >= 15  # every call above went through it
    assert (summary["violations"], summary["groups"]) == (0, [])


def test_an_answer_reaches_the_client_as_the_upstream_sent_it(upstream: str) -> None:
    path = f"{BACKUPS}/{PERCONA_BACKUP}"
    direct = httpx.get(upstream + path, headers=TOKEN)
    with serving_proxy(upstream) as (_, proxy):
        through = httpx.get(proxy + path, headers=TOKEN)

    assert through.status_code == direct.status_code == 200
    assert through.content == direct.content
    assert through.headers["x-contract-violations"] == "0"
    sent = {k: v for k, v in through.headers.items() if k not in ("date", "x-contract-violations")}
    assert sent == {k: v for k, v in direct.headers.items() if k != "date"}
    assert "server" in sent  # the upstream's own, and only one (uvicorn adds none of its own)
    assert len(through.headers.get_list("server")) == 1


def test_a_request_that_breaks_the_contract_is_passed_on_and_journalled_with_its_violations(
    upstream: str,
) -> None:
    with serving_proxy(upstream) as (_, proxy):
        answer = httpx.post(proxy + BACKUPS, headers=TOKEN, json={"backup": {"name": 7}})
        [entry] = journal(proxy)

    assert answer.status_code == 400  # the upstream's own answer
    assert "not of type 'string'" in answer.json()["badRequest"]["message"]
    assert answer.headers["x-contract-violations"] == "1"
    assert entry["answered_by"] == "upstream"
    assert entry["upstream"] == {"status": 400, "error": None}
    assert entry["violations"] == [
        {"rule": "request-body", "message": "body/backup/name: 7 is not of type 'string'"}
    ]
    assert entry["headers"]["x-auth-token"] == "***(17 characters)"  # never the token itself
    assert entry["body"] == {"backup": {"name": 7}}
    [upstream_entry] = journal(upstream)
    assert upstream_entry["headers"]["x-auth-token"] == TOKEN["X-Auth-Token"]  # passed on


def test_a_request_without_its_token_is_a_violation_even_when_the_upstream_refuses_it(
    upstream: str,
) -> None:
    with serving_proxy(upstream) as (_, proxy):
        answer = httpx.get(proxy + BACKUPS)
        [entry] = journal(proxy)

    assert answer.status_code == 401
    assert [v["rule"] for v in entry["violations"]] == ["request-token-missing"]


def test_query_parameters_real_clients_send_are_no_violation_unless_strict(upstream: str) -> None:
    query = {"include_clustered": "False"}
    with serving_proxy(upstream) as (_, proxy):
        lenient = httpx.get(f"{proxy}/v1.0/1234/instances", params=query, headers=TOKEN)
        lenient_summary = violations(proxy)
    with serving_proxy(upstream, strict_query=True) as (_, proxy):
        strict = httpx.get(f"{proxy}/v1.0/1234/instances", params=query, headers=TOKEN)
        [entry] = journal(proxy)

    assert lenient.status_code == strict.status_code == 200  # the upstream answered both
    assert lenient_summary["violations"] == 0
    assert entry["violations"] == [
        {"rule": "request-parameter", "message": "query/include_clustered: unknown parameter"}
    ]


def test_a_regional_path_is_passed_on_as_sent_and_checked_as_the_api_it_names(
    upstream: str,
) -> None:
    with serving_proxy(upstream) as (_, proxy):
        answer = httpx.get(f"{proxy}/iad/v1.0/1234/backups", headers=TOKEN)
        unknown = httpx.get(f"{proxy}/v1.0/1234/nothing-here", headers=TOKEN)
        entries = journal(proxy)

    assert answer.status_code == 200 and unknown.status_code == 404
    assert journal(upstream)[0]["path"] == "/iad/v1.0/1234/backups"
    assert entries[0]["violations"] == []
    assert [v["rule"] for v in entries[1]["violations"]] == ["request-unknown-path"]


def test_the_summary_counts_every_exchange_when_the_journal_holds_only_the_last(
    upstream: str,
) -> None:
    with serving_proxy(upstream, journal_size=5) as (_, proxy):
        for number in range(12):
            httpx.post(proxy + BACKUPS, headers=TOKEN, json={"backup": {"name": number}})
        summary = violations(proxy)
        entries = journal(proxy)
        httpx.delete(f"{proxy}/__mock/violations").raise_for_status()
        cleared = violations(proxy)

    assert len(entries) == 5
    assert (summary["exchanges"], summary["violating_exchanges"]) == (12, 12)
    [group] = summary["groups"]
    assert (group["operation"], group["rule"], group["count"]) == (
        "createBackup",
        "request-body",
        12,
    )
    assert [e["message"] for e in group["examples"]] == [
        f"body/backup/name: {n} is not of type 'string'" for n in range(5)
    ]
    assert (cleared["exchanges"], cleared["groups"]) == (0, [])


@pytest.fixture(scope="module")
def missing_field() -> Iterator[str]:
    """An upstream whose backups lack a required field (a broken variant, in this process)."""
    with ThreadedServer(build("missing-field")) as server:
        yield server.url


def variant_headers() -> dict[str, str]:
    from broken_wrapper import TOKEN as VARIANT_TOKEN

    return {"X-Auth-Token": VARIANT_TOKEN}


@pytest.mark.parametrize("mode", ["pass", "fault"])
def test_every_violation_is_logged_at_warning_in_every_mode(
    missing_field: str, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="mockserver.proxy"),
        serving_proxy(missing_field, on_violation=mode) as (_, proxy),
    ):
        answer = httpx.get(f"{proxy}{BACKUPS}/{PERCONA_BACKUP}", headers=variant_headers())
        [entry] = journal(proxy)

    lines = [r.getMessage() for r in caplog.records if r.name == "mockserver.proxy"]
    count = int(answer.headers["x-contract-violations"])
    assert count == len(entry["violations"]) == len(lines) >= 1
    assert all(line.startswith(f"contract violation: GET {BACKUPS}/") for line in lines)
    assert {v["rule"] for v in entry["violations"]} == {"answer-schema"}


def test_on_violation_pass_leaves_a_violating_answer_unchanged(missing_field: str) -> None:
    path = f"{BACKUPS}/{PERCONA_BACKUP}"
    direct = httpx.get(missing_field + path, headers=variant_headers())
    with serving_proxy(missing_field) as (_, proxy):
        through = httpx.get(proxy + path, headers=variant_headers())

    assert (through.status_code, through.content) == (direct.status_code, direct.content)
    assert int(through.headers["x-contract-violations"]) >= 1


def test_on_violation_fault_answers_a_violating_exchange_with_a_fault_naming_it(
    missing_field: str, upstream: str
) -> None:
    path = f"{BACKUPS}/{PERCONA_BACKUP}"
    with serving_proxy(missing_field, on_violation="fault") as (_, proxy):
        broken_answer = httpx.get(proxy + path, headers=variant_headers())
        [entry] = journal(proxy)
    with serving_proxy(upstream, on_violation="fault") as (_, proxy):
        bad_request = httpx.post(proxy + BACKUPS, headers=TOKEN, json={"backup": {}})
        clean = httpx.get(proxy + path, headers=TOKEN)

    fault = broken_answer.json()["instanceFault"]
    assert broken_answer.status_code == 500 and fault["code"] == 500
    assert "breaks the contract" in fault["message"] and "answered 200" in fault["message"]
    assert "answer-schema: body/backup" in fault["details"]
    assert (entry["answered_by"], entry["status"], entry["upstream"]["status"]) == (
        "proxy",
        500,
        200,
    )
    assert bad_request.status_code == 400  # the consumer broke it: a badRequest names it
    assert (
        "request-body: body/backup: 'name' is a required property"
        in (bad_request.json()["badRequest"]["details"])
    )
    assert clean.status_code == 200 and clean.headers["x-contract-violations"] == "0"


def test_fault_rules_answer_in_front_of_the_upstream(upstream: str) -> None:
    rule = {"method": "GET", "path": f"{BACKUPS}*", "status": 503, "count": 2}
    with serving_proxy(upstream) as (_, proxy):
        httpx.post(f"{proxy}/__mock/faults", json=rule).raise_for_status()
        statuses = [httpx.get(proxy + BACKUPS, headers=TOKEN).status_code for _ in range(3)]
        entries = journal(proxy)

    assert statuses == [503, 503, 200]
    assert [e["answered_by"] for e in entries] == ["fault", "fault", "upstream"]
    assert len(journal(upstream)) == 1  # the faulted requests never reached it


def test_a_latency_rule_delays_the_upstreams_answer(upstream: str) -> None:
    rule = {"method": "*", "path": "/v1.0/*", "latency_ms": 300, "count": 1}
    with serving_proxy(upstream) as (_, proxy):
        httpx.post(f"{proxy}/__mock/faults", json=rule).raise_for_status()
        started = time.monotonic()
        answer = httpx.get(proxy + BACKUPS, headers=TOKEN)
        elapsed = time.monotonic() - started
        [entry] = journal(proxy)

    assert answer.status_code == 200 and entry["answered_by"] == "upstream"
    assert elapsed >= 0.3  # a lower bound only: a loaded machine may take longer


def not_implemented_app() -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b'{"notImplemented": {"code": 501, "message": "Not here."}}'
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 501, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def test_fallback_to_mock_answers_what_the_upstream_answers_501_from_the_mocks_state() -> None:
    with ThreadedServer(not_implemented_app()) as upstream:
        with serving_proxy(upstream.url) as (_, proxy):
            passed = httpx.get(proxy + BACKUPS, headers=TOKEN)
        with serving_proxy(upstream.url, fallback_to_mock=True) as (_, proxy):
            answered = httpx.get(proxy + BACKUPS, headers=TOKEN)
            [entry] = journal(proxy)

    assert passed.status_code == 501  # off by default: the upstream's answer
    assert answered.status_code == 200
    assert PERCONA_BACKUP in [b["id"] for b in answered.json()["backups"]]  # the mock's state
    assert answered.headers["x-contract-violations"] == "0"
    assert (entry["answered_by"], entry["upstream"]) == ("mock", {"status": 501, "error": None})


def test_fallback_to_mock_answers_when_the_upstream_cannot_be_reached(
    unused_port_url: str,
) -> None:
    with serving_proxy(unused_port_url, fallback_to_mock=True) as (_, proxy):
        created = httpx.post(
            proxy + BACKUPS, headers=TOKEN, json={"backup": {"name": "n", "instance": MYSQL}}
        )
        [entry] = journal(proxy)
        state = httpx.get(f"{proxy}/__mock/state").json()

    assert created.status_code == 202
    kept = [b["id"] for b in state["accounts"]["1234"]["backups"]]
    assert created.json()["backup"]["id"] in kept  # in the proxy's own mock
    assert entry["answered_by"] == "mock"
    assert entry["upstream"]["error"].startswith("unreachable: cannot connect")


@pytest.fixture
def unused_port_url() -> str:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_without_an_upstream_the_summary_reports_none() -> None:
    from mockserver import Settings, create_app

    with ThreadedServer(create_app(Settings(frozen_clock=True))) as server:
        httpx.post(server.url + BACKUPS, headers=TOKEN, json={"backup": {}})
        summary = violations(server.url)
        [entry] = journal(server.url)

    assert summary == {
        "upstream": None,
        "exchanges": 0,
        "violating_exchanges": 0,
        "violations": 0,
        "groups": [],
    }
    assert (entry["answered_by"], entry["violations"], entry["upstream"]) == ("mock", [], None)


def test_contract_tests_run_a_target_behind_a_proxy_as_a_real_service(upstream: str) -> None:
    with serving_proxy(upstream) as (_, proxy), httpx.Client() as http:
        behind_proxy = Control.detect(http, proxy)
        direct = Control.detect(http, upstream)

    assert behind_proxy is None  # the proxy's clock is not the target's: nothing moves it
    assert direct is not None
