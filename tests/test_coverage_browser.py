"""The coverage page (GET /__mock/coverage.html) as a browser renders it: headless Chromium
loads it from a running mock after a known set of requests, and the tests read what is on the
screen (the DOM's rendered text and computed style), follow the cells' links and take a
screenshot. One mock and one browser serve the module."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple, cast

import httpx
import pytest
from browser_support import (
    WINDOW,
    browser,
    fit_window_to_page,
    png_byte_values,
    png_size,
    require_chromium,
    viewport,
)
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.color import Color

from mockserver import Settings, create_app
from mockserver.plugin.threaded import ThreadedServer

TOKEN = {"X-Auth-Token": "browser-test"}
BACKUPS = "/v1.0/1234/backups"
UNKNOWN = "/v1.0/1234/no-such-thing"
# What the requests below were answered, by operation and status; every other cell is 0.
EXPECTED = {("getBackups", 200): 3, ("getBackupById", 404): 1, ("getBackups", 401): 1}


def drive(http: httpx.Client) -> None:
    for _ in range(3):
        assert http.get(BACKUPS, headers=TOKEN).status_code == 200
    assert http.get(f"{BACKUPS}/no-such-backup", headers=TOKEN).status_code == 404
    assert http.get(BACKUPS).status_code == 401  # no token
    assert http.get(UNKNOWN, headers=TOKEN).status_code == 404  # matches no operation


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadedServer]:
    with ThreadedServer(create_app(Settings(frozen_clock=True))) as server:
        with httpx.Client(base_url=server.url) as http:
            drive(http)
        yield server


@pytest.fixture(scope="module")
def driver() -> Iterator[WebDriver]:
    require_chromium()
    with browser() as driver:
        yield driver


@pytest.fixture(scope="module")
def coverage(server: ThreadedServer) -> dict[str, Any]:
    document: dict[str, Any] = httpx.get(f"{server.url}/__mock/coverage").json()
    return document


@pytest.fixture
def page(driver: WebDriver, server: ThreadedServer) -> WebDriver:
    driver.get(f"{server.url}/__mock/coverage.html")
    assert driver.title == "Backups API mock: contract coverage"
    return driver


# Each documented cell as rendered: its text as shown (innerText), its computed background, its
# link resolved against the page's URL, and whether it is on screen. One round trip for all of
# them; the WebDriver calls that read one element (text, value_of_css_property) are used below
# where a test reads a few.
SNAPSHOT = """
return Array.from(document.querySelectorAll("table#matrix td.cell"), (cell) => {
  const link = cell.querySelector("a");
  return [cell.dataset.operation, Number(cell.dataset.status), cell.innerText.trim(),
          getComputedStyle(cell).backgroundColor, link ? link.href : null,
          cell.checkVisibility() && cell.offsetWidth > 0 && cell.offsetHeight > 0];
});
"""


class Cell(NamedTuple):
    text: str
    background: str
    href: str | None
    visible: bool


def cells(driver: WebDriver) -> dict[tuple[str, int], Cell]:
    rows = cast("list[list[Any]]", driver.execute_script(SNAPSHOT))
    return {
        (operation, status): Cell(text, Color.from_string(colour).rgba, href, visible)
        for operation, status, text, colour, href, visible in rows
    }


def cell(driver: WebDriver, operation: str, status: int) -> WebElement:
    selector = f'table#matrix td.cell[data-operation="{operation}"][data-status="{status}"]'
    return driver.find_element(By.CSS_SELECTOR, selector)


def background(element: WebElement) -> str:
    return Color.from_string(element.value_of_css_property("background-color")).rgba


def test_every_documented_cell_shows_the_count_of_its_answers(
    page: WebDriver, coverage: dict[str, Any]
) -> None:
    shown = cells(page)
    documented = {
        (row["operation"], int(status)): count
        for row in coverage["operations"]
        for status, count in row["statuses"].items()
    }
    assert len(shown) == coverage["documented"]
    assert {key: int(c.text.replace(",", "")) for key, c in shown.items()} == documented
    assert {key: count for key, count in documented.items() if count} == EXPECTED
    assert all(c.visible for c in shown.values())
    assert cell(page, "getBackups", 200).text == "3"  # what WebDriver reads as shown, too


def test_a_covered_cell_is_coloured_apart_from_one_never_answered(page: WebDriver) -> None:
    never = background(cell(page, "getBackups", 400))
    once = background(cell(page, "getBackups", 401))
    thrice = background(cell(page, "getBackups", 200))
    assert len({never, once, thrice}) == 3, (never, once, thrice)
    # Every cell has the colour of its count's band: the colours say what the numbers say.
    bands = {"0": never, "1": once, "3": thrice}
    shown = cells(page)
    assert {key: c.background for key, c in shown.items()} == {
        key: bands[c.text] for key, c in shown.items()
    }
    undocumented = page.find_element(By.CSS_SELECTOR, "table#matrix td.absent")
    assert background(undocumented) not in {never, once, thrice}


def test_the_percentages_shown_are_those_of_the_coverage_json(
    page: WebDriver, coverage: dict[str, Any]
) -> None:
    shown = {
        element.get_attribute("data-operation"): element.text.split()
        for element in page.find_elements(By.CSS_SELECTOR, "table#matrix td.percent")
    }
    expected = {
        row["operation"]: [
            f"{row['percent']:.1f}%",
            str(row["covered"]),
            "of",
            str(row["documented"]),
        ]
        for row in coverage["operations"]
    }
    assert shown == expected
    # and those are the requests': getBackups answered 2 of its statuses, getBackupById 1
    assert [shown["getBackups"][1], shown["getBackupById"][1]] == ["2", "1"]
    overall = page.find_element(By.ID, "overall").text
    assert f"Covered: {coverage['percent']:.1f}%" in overall
    assert f"({len(EXPECTED)} of {coverage['documented']} documented statuses" in overall
    assert coverage["covered"] == len(EXPECTED)


def test_the_request_that_matched_no_operation_is_named_on_the_page(page: WebDriver) -> None:
    notes = [note.text for note in page.find_elements(By.CSS_SELECTOR, "p.note")]
    assert any(
        "1 request(s) matched no operation" in note and f"GET {UNKNOWN} (404)" in note
        for note in notes
    ), notes


def test_each_covered_cell_links_to_exactly_the_journal_entries_behind_it(
    page: WebDriver, server: ThreadedServer
) -> None:
    page_url = page.current_url
    shown = cells(page)
    links = {key: c.href for key, c in shown.items() if c.href}
    assert set(links) == set(EXPECTED)  # a cell never answered links nowhere
    for (operation, status), count in EXPECTED.items():
        cell(page, operation, status).find_element(By.TAG_NAME, "a").click()
        assert page.current_url == links[operation, status]
        assert page.current_url.startswith(f"{server.url}/__mock/requests?")
        entries = shown_json(page)["requests"]
        assert len(entries) == count, entries
        assert {(entry["operation"], entry["status"]) for entry in entries} == {(operation, status)}
        page.get(page_url)


def shown_json(driver: WebDriver) -> dict[str, Any]:
    """The JSON document the browser shows (Chromium puts it in a <pre>)."""
    document: dict[str, Any] = json.loads(driver.find_element(By.TAG_NAME, "pre").text)
    return document


def test_after_a_clear_a_cells_link_lists_only_the_answers_counted_since(
    driver: WebDriver,
) -> None:
    with ThreadedServer(create_app(Settings(frozen_clock=True))) as server:
        with httpx.Client(base_url=server.url, headers=TOKEN) as http:
            for _ in range(2):
                http.get(BACKUPS).raise_for_status()
            assert http.delete("/__mock/coverage").status_code == 204
            http.get(BACKUPS).raise_for_status()
        driver.get(f"{server.url}/__mock/coverage.html")
        counted = cell(driver, "getBackups", 200)
        assert counted.text == "1"
        link = counted.find_element(By.TAG_NAME, "a")
        assert "from_seq=" in (link.get_attribute("href") or "")
        link.click()
        entries = shown_json(driver)["requests"]
        assert [(entry["operation"], entry["status"]) for entry in entries] == [("getBackups", 200)]


def test_a_screenshot_of_the_page_is_a_png_of_the_window_with_the_page_on_it(
    page: WebDriver, tmp_path: Path
) -> None:
    shot = tmp_path / "coverage.png"
    assert page.save_screenshot(str(shot))
    assert png_size(shot) == viewport(page)
    # A blank window compresses to a few kilobytes and a few byte values; the table does not.
    assert shot.stat().st_size > 30_000
    assert png_byte_values(shot) > 64


def test_a_window_fitted_to_the_page_shows_all_of_it_in_one_screenshot(
    page: WebDriver, tmp_path: Path
) -> None:
    """What `make screenshots` does: the README's picture holds the whole page."""
    try:
        width, height = fit_window_to_page(page)
        bottom, right = cast(
            "list[float]",
            page.execute_script(
                "const r = document.querySelector('table#matrix').getBoundingClientRect();"
                " return [document.documentElement.scrollHeight, r.right];"
            ),
        )
        assert bottom <= height and right <= width
        assert height > WINDOW[1]  # taller than the window: 21 rows do not fit in 900 pixels
        shot = tmp_path / "whole.png"
        assert page.save_screenshot(str(shot))
        assert png_size(shot) == (width, height)
    finally:
        page.set_window_size(*WINDOW)
