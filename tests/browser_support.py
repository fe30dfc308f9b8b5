"""Headless Chromium for the tests (and `make screenshots`) that look at the mock's pages.

Chromium and chromedriver come from Debian's packages `chromium` and `chromium-driver`: built
from one source, the driver always matches the browser, so nothing has to find or download a
driver. Selenium is given both paths, which keeps Selenium Manager (its downloader) from running
at all. A machine without them (CI starts from a fresh one) gets them from apt-get the first
time a test asks; when they cannot be installed, the test fails with apt's output: a browser
test is never skipped for want of a browser.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import cast

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
PACKAGES = ("chromium", "chromium-driver")
WINDOW = (1400, 900)
APT_TIMEOUT = 900.0  # seconds for one apt-get step (an install takes about 20 s)

# Headless, and nothing reached over the network but the pages asked for: a closed network
# stalls a Chromium that looks for updates, components or sync on start.
FLAGS = (
    "--headless=new",
    "--no-sandbox",  # root, in a container
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",  # screenshots without a scroll bar
    "--force-device-scale-factor=1",  # one CSS pixel, one screenshot pixel
)


class ChromiumUnavailable(RuntimeError):
    """Chromium or chromedriver is missing and apt-get could not install them."""


_failure: list[str] = []  # why an earlier install failed: apt-get is run once a process


def missing() -> list[Path]:
    return [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]


def ensure_chromium() -> None:
    """Install Debian's chromium and chromium-driver when either is missing (`apt-get update`
    only when the install fails: a fresh machine's package lists may be stale or absent).
    Raises ChromiumUnavailable, with every apt-get step's output, when they are still missing."""
    if not missing():
        return
    if _failure:
        raise ChromiumUnavailable(_failure[0])
    log: list[str] = []
    if shutil.which("apt-get") is None:
        log.append("apt-get is not on PATH (this setup expects Debian)")
    else:
        install = ["apt-get", "-o", "DPkg::Lock::Timeout=300", "install", "-y", *PACKAGES]
        if not _apt(install, log):
            _apt(["apt-get", "-o", "DPkg::Lock::Timeout=300", "update"], log)
            _apt(install, log)
    if missing():
        message = (
            f"Headless Chromium is needed and {', '.join(map(str, missing()))} is missing; it"
            f" could not be installed with apt-get (as root: apt-get install -y"
            f" {' '.join(PACKAGES)}).\n" + "\n".join(log)
        )
        _failure.append(message)
        raise ChromiumUnavailable(message)


def require_chromium() -> None:
    """ensure_chromium() for a test: fails it (never skips it) when there is no Chromium."""
    try:
        ensure_chromium()
    except ChromiumUnavailable as error:
        pytest.fail(str(error), pytrace=False)


def _apt(command: list[str], log: list[str]) -> bool:
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        done = subprocess.run(
            command,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=APT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        log.append(f"$ {' '.join(command)}\n{error}")
        return False
    log.append(f"$ {' '.join(command)}  (exit {done.returncode})\n{done.stdout}")
    return done.returncode == 0


@contextmanager
def browser(width: int = WINDOW[0], height: int = WINDOW[1]) -> Iterator[WebDriver]:
    """A headless Chromium of that window size, with a profile of its own; quit on exit (and its
    chromedriver stopped) whatever happened."""
    ensure_chromium()
    with tempfile.TemporaryDirectory(prefix="chromium-", ignore_cleanup_errors=True) as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
            options.add_argument(flag)
        service = Service(executable_path=str(CHROMEDRIVER))
        driver = webdriver.Chrome(options=options, service=service)
        try:
            driver.set_page_load_timeout(30)
            yield driver
        finally:
            try:
                driver.quit()
            finally:
                service.stop()


def fit_window_to_page(driver: WebDriver, min_width: int = 900) -> tuple[int, int]:
    """Make the viewport as wide as the page's widest content that does not wrap (a table; at
    least `min_width`), with the page's left margin on its right too, and as tall as the page,
    so that one screenshot holds all of it and no empty band; the viewport's new size."""
    frame = cast(
        "list[int]",
        driver.execute_script(
            "return [outerWidth - innerWidth, outerHeight - innerHeight,"
            " parseFloat(getComputedStyle(document.body).marginLeft) || 0];"
        ),
    )
    frame_width, frame_height, margin = int(frame[0]), int(frame[1]), int(frame[2])
    # In a narrow window, what cannot wrap overflows: its right edge is the page's width.
    driver.set_window_size(min_width + frame_width, WINDOW[1] + frame_height)
    width = max(min_width, _page_size(driver)[0] + margin)
    driver.set_window_size(width + frame_width, WINDOW[1] + frame_height)
    height = _page_size(driver)[1]
    driver.set_window_size(width + frame_width, height + frame_height)
    return viewport(driver)


def _page_size(driver: WebDriver) -> tuple[int, int]:
    script = (
        "const e = document.documentElement, b = document.body;"
        " return [Math.max(e.scrollWidth, b.scrollWidth),"
        " Math.max(e.scrollHeight, b.scrollHeight)];"
    )
    size = cast("list[int]", driver.execute_script(script))
    return int(size[0]), int(size[1])


def viewport(driver: WebDriver) -> tuple[int, int]:
    """The viewport's size in CSS pixels (a screenshot's, at a device scale factor of 1)."""
    size = cast("list[int]", driver.execute_script("return [innerWidth, innerHeight];"))
    return size[0], size[1]


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's header; ValueError when the file is not a PNG."""
    head = path.read_bytes()[:24]
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise ValueError(f"{path} is not a PNG")
    width, height = struct.unpack(">II", head[16:24])
    return int(width), int(height)


def png_byte_values(path: Path) -> int:
    """How many distinct byte values a PNG's (filtered, uncompressed) pixel data holds: a blank
    image has a handful, a rendered page with text and colours hundreds."""
    data = path.read_bytes()
    position, pixels = 8, bytearray()
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        if kind == b"IDAT":
            pixels += data[position + 8 : position + 8 + length]
        position += 12 + length
    return len(set(zlib.decompress(bytes(pixels))))
