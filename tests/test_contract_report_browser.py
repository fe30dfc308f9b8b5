"""contract-tests' `--html` report as headless Chromium renders it: a failing run's page (a target
that answers 404 for 403, test_contract_coverage.py) opened from its file, offline. What is
read is what is rendered: the matrix's cells and their colours (a gap apart from what no
request can produce), the overall figure, each failure with its curl lines, a screenshot."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import browser, fit_window_to_page, png_byte_values, png_size, require_chromium
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.color import Color
from test_contract_coverage import Finished
from test_contract_coverage import forbidden_as_not_found as forbidden_as_not_found  # fixture


@pytest.fixture(scope="module")
def report(
    forbidden_as_not_found: Finished, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WebDriver]:
    require_chromium()
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(forbidden_as_not_found.page, encoding="utf-8")
    with browser() as driver:
        driver.get(path.as_uri())
        yield driver


def background(driver: WebDriver, selector: str) -> str:
    cell = driver.find_element(By.CSS_SELECTOR, selector)
    return str(Color.from_string(cell.value_of_css_property("background-color")).hex)


def test_the_report_renders_the_matrix_with_gaps_apart_from_what_cannot_be_produced(
    report: WebDriver,
) -> None:
    cells = report.find_elements(By.CSS_SELECTOR, "#matrix td.cell")
    assert len(cells) > 200 and all(cell.is_displayed() for cell in cells)
    gap = '#matrix td[data-operation="getBackups"][data-status="403"]'
    cannot = '#matrix td[data-operation="getBackups"][data-status="500"]'
    answered = '#matrix td[data-operation="getBackups"][data-status="200"]'
    assert report.find_element(By.CSS_SELECTOR, gap).text == "0"
    assert "unreachable" in str(report.find_element(By.CSS_SELECTOR, cannot).get_attribute("class"))
    assert int(report.find_element(By.CSS_SELECTOR, answered).text) > 0
    colours = {background(report, s) for s in (gap, answered)}
    assert len(colours) == 2
    # the stripes of "no request can produce it" are an image over grey, not the gap's red
    striped = report.find_element(By.CSS_SELECTOR, cannot).value_of_css_property("background-image")
    assert "gradient" in striped and background(report, cannot) != background(report, gap)
    overall = report.find_element(By.ID, "overall").text
    assert overall.startswith("Covered: ") and "%" in overall


def test_the_report_renders_the_verdict_and_each_failure_with_its_curl_lines(
    report: WebDriver,
) -> None:
    assert "The run failed" in report.find_element(By.ID, "verdict").text
    never = report.find_element(By.ID, "never-returned").text
    assert "getBackups" in never and "403" in never
    failures = report.find_elements(By.CSS_SELECTOR, "#failures li.failure")
    assert failures
    curl = failures[0].find_element(By.CSS_SELECTOR, "pre.curl")
    assert curl.is_displayed() and curl.text.startswith("curl -i -X ")


def test_the_report_screenshot_shows_a_whole_page(report: WebDriver, tmp_path: Path) -> None:
    size = fit_window_to_page(report)  # the viewport as large as the page
    shot = tmp_path / "report.png"
    assert report.save_screenshot(str(shot))
    assert png_size(shot) == size
    assert png_byte_values(shot) > 64  # not a blank page
