"""`make screenshots`: the README's pictures of the coverage page and the contract-tests report.

Starts a mock (`python -m mockserver` on a free port), sends it what a consumer's test suite of
a backup tool might: its happy paths, the faults it handles, an error test of every call
without a token and a few forced 5xx (`Prefer: code=...`), and one typo'd path: 65 of the
matrix's 236 cells, over a quarter. Then headless Chromium (tests/browser_support.py:
Debian's, installed when missing) takes docs/screenshots/coverage.png of
/__mock/coverage.html, the window as tall as the page. Last, `contract-tests --base-url <a
fresh mock> --html <file>` writes its report page and Chromium takes
docs/screenshots/contract-report.png of it. The coverage picture is made first, so it is there
even when the report cannot be made (the script then exits 1).

    python tools/screenshots.py [--out DIR] [--max-examples N]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # browser_support and support, shared with the tests

from browser_support import (  # noqa: E402
    ChromiumUnavailable,
    browser,
    ensure_chromium,
    fit_window_to_page,
)
from selenium.webdriver.chrome.webdriver import WebDriver  # noqa: E402
from support import MockProcess  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
TOKEN = {"X-Auth-Token": "screenshots"}
ACCOUNT = "/v1.0/1234"
# The fixture state's (README, "Every operation with curl").
INSTANCE = "d4603f69-ec7e-4e9b-803f-600b9205576f"
IDLE_INSTANCE = "44b277eb-39be-4921-be31-3d61b43651d7"
STOPPED_INSTANCE = "7545e164-c45d-4ca7-bb6c-e2c677d2c864"
HA = "130922a2-b9ab-4e95-86be-9c5d79171b5e"
BACKUP = "d9f56b04-e17d-41f0-ae92-30a3b47b8d29"
UNKNOWN = "00000000-0000-4000-8000-000000000000"
REPORT_HEIGHT = 1400  # pixels of the report shown: its verdict, its run and the matrix
SEED = 16  # contract-tests' seed: the same report each time


class Consumer:
    """An httpx client to the mock's account that checks each answer's status: the picture
    shows what the mix below says, or the script stops."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def call(
        self,
        status: int,
        method: str,
        path: str,
        body: object = None,
        *,
        token: bool = True,
        prefer: int | None = None,
        times: int = 1,
    ) -> httpx.Response:
        headers = dict(TOKEN) if token else {}
        if prefer is not None:
            headers["Prefer"] = f"code={prefer}"
        for _ in range(times):
            answer = self.http.request(method, path, json=body, headers=headers)
            if answer.status_code != status:
                raise SystemExit(
                    f"{method} {path}: expected {status}, the mock answered"
                    f" {answer.status_code}: {answer.text[:500]}"
                )
        return answer


def consumer_mix(http: httpx.Client) -> None:
    c = Consumer(http)
    a = ACCOUNT
    # The happy paths, the reads many times over (the colours' bands: 1, 2-9, 10 or more).
    c.call(200, "GET", "/", times=2)
    c.call(200, "GET", f"{a}/backups", times=14)
    c.call(200, "GET", f"{a}/backups?limit=2", times=3)
    c.call(200, "GET", f"{a}/backups/{BACKUP}", times=6)
    c.call(200, "GET", f"{a}/instances", times=4)
    c.call(200, "GET", f"{a}/instances/{INSTANCE}", times=3)
    c.call(200, "GET", f"{a}/instances/{INSTANCE}/backups", times=2)
    c.call(200, "GET", f"{a}/ha")
    c.call(200, "GET", f"{a}/ha/{HA}")
    c.call(200, "GET", f"{a}/ha/{HA}/backups")
    c.call(200, "GET", f"{a}/flavors")
    c.call(200, "GET", f"{a}/flavors/1")
    created = c.call(
        202, "POST", f"{a}/backups", {"backup": {"name": "nightly", "instance": INSTANCE}}
    ).json()["backup"]["id"]
    c.call(
        202, "POST", f"{a}/backups", {"backup": {"name": "ha", "source": {"type": "ha", "id": HA}}}
    )
    copy = {"copy-backup": {"target_backup_region": "IAD", "name": "dr"}}
    c.call(202, "POST", f"{a}/backups/{BACKUP}/action", copy)
    restore = {
        "instance": {
            "name": "restored",
            "flavorRef": 1,
            "volume": {"size": 2},
            "restorePoint": {"backupRef": BACKUP},
        }
    }
    restored = c.call(200, "POST", f"{a}/instances", restore).json()["instance"]["id"]
    c.call(422, "DELETE", f"{a}/instances/{restored}")  # still BUILD
    schedule = {
        "schedule": {
            "action": "backup",
            "day_of_week": 0,
            "hour": 14,
            "minute": 30,
            "instance_id": IDLE_INSTANCE,
        }
    }
    scheduled = c.call(202, "POST", f"{a}/schedules", schedule).json()["schedule"]["id"]
    c.call(422, "POST", f"{a}/schedules", schedule)  # a second one of the instance
    c.call(200, "GET", f"{a}/schedules", times=2)
    c.call(200, "GET", f"{a}/schedules/{scheduled}")
    c.call(200, "PUT", f"{a}/schedules/{scheduled}", {"schedule": {"hour": 6}})
    c.call(202, "DELETE", f"{a}/schedules/{scheduled}")
    # The faults the tool handles.
    c.call(404, "GET", f"{a}/backups/{UNKNOWN}", times=2)
    for path in ("instances", "flavors", "ha", "schedules"):
        c.call(404, "GET", f"{a}/{path}/{UNKNOWN}")
    c.call(404, "GET", f"{a}/instances/{UNKNOWN}/backups")
    c.call(404, "DELETE", f"{a}/backups/{UNKNOWN}")
    c.call(404, "POST", f"{a}/backups/{UNKNOWN}/action", copy)
    c.call(400, "GET", f"{a}/backups?limit=none")
    c.call(400, "POST", f"{a}/backups", {"backup": {"name": "", "instance": "not-a-uuid"}})
    c.call(400, "POST", f"{a}/schedules", {"schedule": {"action": "backup", "hour": 25}})
    c.call(400, "POST", f"{a}/instances", {"instance": {"name": "no flavor"}})
    stopped = {"backup": {"name": "stopped", "instance": STOPPED_INSTANCE}}
    c.call(422, "POST", f"{a}/backups", stopped)
    c.call(422, "DELETE", f"{a}/backups/{created}")  # still running
    # Its error handling: every call without a token (but getVersions, which needs none), and
    # the retries on 5xx and 413.
    for method, path in [
        ("GET", f"{a}/backups"),
        ("POST", f"{a}/backups"),
        ("GET", f"{a}/backups/{BACKUP}"),
        ("DELETE", f"{a}/backups/{BACKUP}"),
        ("POST", f"{a}/backups/{BACKUP}/action"),
        ("GET", f"{a}/flavors"),
        ("GET", f"{a}/flavors/1"),
        ("GET", f"{a}/ha"),
        ("GET", f"{a}/ha/{HA}"),
        ("GET", f"{a}/ha/{HA}/backups"),
        ("GET", f"{a}/instances"),
        ("POST", f"{a}/instances"),
        ("GET", f"{a}/instances/{INSTANCE}"),
        ("DELETE", f"{a}/instances/{INSTANCE}"),
        ("GET", f"{a}/instances/{INSTANCE}/backups"),
        ("GET", f"{a}/schedules"),
        ("POST", f"{a}/schedules"),
        ("GET", f"{a}/schedules/{UNKNOWN}"),
        ("PUT", f"{a}/schedules/{UNKNOWN}"),
        ("DELETE", f"{a}/schedules/{UNKNOWN}"),
    ]:
        c.call(401, method, path, {} if method in ("POST", "PUT") else None, token=False)
    for status in (500, 503, 413):
        c.call(status, "GET", f"{a}/backups", prefer=status)
        c.call(status, "POST", f"{a}/backups", stopped, prefer=status)
    c.call(503, "GET", f"{a}/backups/{BACKUP}", prefer=503)
    c.call(503, "DELETE", f"{a}/backups/{BACKUP}", prefer=503)
    # The clean-up at the end of its tests, once the restored instance is built.
    http.post("/__mock/clock", json={"advance_seconds": 60}).raise_for_status()
    c.call(202, "DELETE", f"{a}/instances/{restored}")
    c.call(202, "DELETE", f"{a}/backups/{created}")
    # A typo: no operation has this path.
    c.call(404, "GET", f"{a}/backup/{BACKUP}")


def shoot(driver: WebDriver, url: str, path: Path, most_height: int | None = None) -> None:
    """The whole page; or its top `most_height` pixels, for a page too long to read whole in
    the README (the report: the verdict and the matrix come first)."""
    driver.get(url)
    _, height = fit_window_to_page(driver)
    if most_height is not None and height > most_height:
        outer = driver.get_window_size()
        driver.set_window_size(outer["width"], outer["height"] - (height - most_height))
    path.parent.mkdir(parents=True, exist_ok=True)
    if not driver.save_screenshot(str(path)):
        raise SystemExit(f"no screenshot of {url}")
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def contract_report(base_url: str, page: Path, max_examples: int) -> bool:
    """Run contract-tests against the mock, writing its HTML report to `page`; False (said on
    stderr) when no report was written. A failed check still has a report: that is shown."""
    command = [
        sys.executable,
        "-m",
        "contract_tests",  # the `contract-tests` command
        "--base-url",
        base_url,
        "--token",
        TOKEN["X-Auth-Token"],
        "--seed",
        str(SEED),
        "--max-examples",
        str(max_examples),
        "--html",
        str(page),
    ]
    print("$ contract-tests " + " ".join(command[3:]))
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    print(f"contract-tests exited {done.returncode}")
    if not page.is_file():
        print(
            f"contract-report.png not made: contract-tests wrote no {page}\n"
            + done.stdout[-3000:]
            + done.stderr[-3000:],
            file=sys.stderr,
        )
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--out", type=Path, default=OUT, help="where the PNGs go")
    options.add_argument(
        "--max-examples", type=int, default=10, help="contract-tests' examples an operation"
    )
    args = options.parse_args(argv)
    out: Path = args.out.resolve()
    try:
        ensure_chromium()
    except ChromiumUnavailable as error:
        print(error, file=sys.stderr)
        return 1
    with MockProcess() as mock, browser() as driver:
        with httpx.Client(base_url=mock.url, timeout=30) as http:
            consumer_mix(http)
        shoot(driver, f"{mock.url}/__mock/coverage.html", out / "coverage.png")
        mock.stop()
        # The provider's side: a fresh mock, as `make serve` starts it, as contract-tests' target.
        with MockProcess() as target, tempfile.TemporaryDirectory(prefix="report-") as folder:
            page = Path(folder) / "report.html"
            if not contract_report(f"{target.url}{ACCOUNT}", page, args.max_examples):
                return 1
            shoot(driver, page.as_uri(), out / "contract-report.png", REPORT_HEIGHT)
            target.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
