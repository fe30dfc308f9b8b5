"""Contract coverage in the mock: GET/DELETE /__mock/coverage, the page at coverage.html, and
the journal filters its cells link to. The page in a real browser is in
test_coverage_browser.py; the plugin's session table in test_plugin_coverage.py."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import httpx
from proxy_support import serving_proxy
from starlette.testclient import TestClient
from support import MockProcess

from mockserver import Settings, create_app
from mockserver.app import Mock

TOKEN = {"X-Auth-Token": "t"}
BACKUPS = "/v1.0/1234/backups"
MISSING = BACKUPS + "/00000000-0000-0000-0000-000000000000"


def coverage(client: TestClient | httpx.Client) -> dict[str, Any]:
    document: dict[str, Any] = client.get("/__mock/coverage").json()
    return document


def row(document: dict[str, Any], operation: str) -> dict[str, Any]:
    [found] = [r for r in document["operations"] if r["operation"] == operation]
    return found


def answered(document: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Operation -> the statuses it answered with their counts (zero counts left out)."""
    return {
        r["operation"]: {s: n for s, n in r["statuses"].items() if n}
        for r in document["operations"]
        if r["answers"]
    }


def test_the_matrix_is_every_operation_by_every_status_the_spec_documents(
    mock: Mock, client: TestClient
) -> None:
    mock_spec = mock.spec
    document = coverage(client)
    rows = {r["operation"]: r for r in document["operations"]}
    assert set(rows) == set(mock_spec.operations)
    for operation_id, operation in mock_spec.operations.items():
        assert set(rows[operation_id]["statuses"]) == {str(s) for s in operation.statuses}
    assert document["documented"] == sum(len(o.statuses) for o in mock_spec.operations.values())
    assert (document["covered"], document["percent"], document["undocumented"]) == (0, 0.0, 0)


def test_each_answer_counts_once_under_its_operation_and_status(client: TestClient) -> None:
    for _ in range(3):
        client.get(BACKUPS, headers=TOKEN)
    client.get(BACKUPS)  # no token: 401
    client.get(MISSING, headers=TOKEN)
    client.get("/v1.0/1234/flavors", headers=TOKEN)
    document = coverage(client)

    assert answered(document) == {
        "getBackups": {"200": 3, "401": 1},
        "getBackupById": {"404": 1},
        "getFlavors": {"200": 1},
    }
    backups = row(document, "getBackups")
    assert backups["covered"] == 2 and backups["answers"] == 4
    assert backups["percent"] == round(100 * 2 / backups["documented"], 1)
    assert 200 not in backups["never"] and 401 not in backups["never"]
    assert len(backups["never"]) == backups["documented"] - 2
    assert document["covered"] == 4
    assert document["percent"] == round(100 * 4 / document["documented"], 1)


def test_a_regional_request_counts_under_the_operation_it_names(client: TestClient) -> None:
    client.get("/iad" + BACKUPS, headers=TOKEN)
    assert answered(coverage(client)) == {"getBackups": {"200": 1}}


def test_requests_to_no_operation_are_counted_apart_with_the_last_examples(
    client: TestClient,
) -> None:
    client.get("/nowhere", headers=TOKEN)
    client.put(BACKUPS, headers=TOKEN, json={})  # a method the path does not have: 405
    document = coverage(client)

    assert answered(document) == {}
    assert document["unmatched"] == {
        "count": 2,
        "examples": [
            {"method": "GET", "path": "/nowhere", "status": "404"},
            {"method": "PUT", "path": BACKUPS, "status": "405"},
        ],
    }


def test_a_status_the_spec_does_not_document_is_counted_as_undocumented(
    client: TestClient,
) -> None:
    rule = {"method": "GET", "path": BACKUPS, "status": 418, "count": 1}
    assert client.post("/__mock/faults", json=rule).status_code == 201
    client.get(BACKUPS, headers=TOKEN)
    document = coverage(client)

    assert row(document, "getBackups")["undocumented"] == {"418": 1}
    assert document["undocumented"] == 1 and document["covered"] == 0


def test_the_counts_keep_every_answer_when_the_journal_keeps_the_last_few() -> None:
    with TestClient(create_app(Settings(journal_size=3))) as client:
        for _ in range(25):
            client.get(BACKUPS, headers=TOKEN)
        assert len(client.get("/__mock/requests").json()["requests"]) == 3
        assert answered(coverage(client)) == {"getBackups": {"200": 25}}


def test_reset_and_clear_count_from_zero_and_the_control_api_is_never_counted(
    client: TestClient,
) -> None:
    client.get(BACKUPS, headers=TOKEN)
    assert client.post("/__mock/reset").status_code == 200
    client.get("/__mock/state")
    assert answered(coverage(client)) == {}

    client.get(BACKUPS, headers=TOKEN)
    assert answered(coverage(client)) == {"getBackups": {"200": 1}}
    assert client.delete("/__mock/coverage").status_code == 204
    assert answered(coverage(client)) == {}


def test_journal_entries_carry_their_number_and_operation_and_filter_by_them(
    client: TestClient,
) -> None:
    client.get(BACKUPS, headers=TOKEN)
    client.get(MISSING, headers=TOKEN)
    client.get(BACKUPS)
    client.get("/nowhere")
    entries = client.get("/__mock/requests").json()["requests"]
    assert [(e["seq"], e["operation"], e["status"]) for e in entries] == [
        (0, "getBackups", 200),
        (1, "getBackupById", 404),
        (2, "getBackups", 401),
        (3, None, 404),
    ]

    def chosen(query: str) -> list[int]:
        return [e["seq"] for e in client.get(f"/__mock/requests?{query}").json()["requests"]]

    assert chosen("operation=getBackups") == [0, 2]
    assert chosen("operation=getBackups&status=401") == [2]
    assert chosen("status=404") == [1, 3]
    assert chosen("from_seq=2") == [2, 3]
    client.delete("/__mock/requests")
    client.get(BACKUPS, headers=TOKEN)
    assert chosen("from_seq=0") == [4]  # numbers go on across a clear


def test_the_page_shows_each_count_and_links_it_to_the_entries_since_the_last_reset(
    client: TestClient,
) -> None:
    client.get(BACKUPS, headers=TOKEN)  # before the reset: neither counted nor linked
    client.post("/__mock/reset")
    client.get(BACKUPS, headers=TOKEN)
    client.get(BACKUPS, headers=TOKEN)
    response = client.get("/__mock/coverage.html")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    document = coverage(client)
    assert f"<strong>{document['percent']:.1f}%</strong>" in page
    cell = re.search(
        r'data-operation="getBackups" data-status="200" data-count="2"><a href="([^"]+)">2</a>',
        page,
    )
    assert cell is not None
    linked = client.get("/__mock/" + unescape(cell.group(1))).json()["requests"]
    assert [(e["operation"], e["status"]) for e in linked] == [("getBackups", 200)] * 2
    assert 'data-status="401" data-count="0">0</td>' in page  # no link without entries
    assert "<script" not in page and "http://" not in page and "https://" not in page


def test_the_page_escapes_what_requests_put_in_it(client: TestClient) -> None:
    client.get("/<img src=x onerror=alert(1)>")
    page = client.get("/__mock/coverage.html").text
    assert "<img" not in page and "&lt;img" in page


def test_with_an_upstream_the_proxy_counts_the_answers_its_client_got() -> None:
    with (
        MockProcess("--frozen-clock") as upstream,
        serving_proxy(upstream.url) as (_, proxy),
        httpx.Client(base_url=proxy) as client,
    ):
        client.get(BACKUPS, headers=TOKEN)
        client.get(MISSING, headers=TOKEN)
        rule = {"path": BACKUPS, "status": 503, "count": 1}
        client.post("/__mock/faults", json=rule).raise_for_status()
        client.get(BACKUPS, headers=TOKEN)  # answered by the fault rule
        document = coverage(client)

    assert answered(document) == {
        "getBackups": {"200": 1, "503": 1},
        "getBackupById": {"404": 1},
    }
