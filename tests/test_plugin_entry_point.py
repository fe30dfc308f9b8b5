"""The plugin reaches a consumer through the `pytest11` entry point alone: a consumer's test file,
in a directory of its own with a strict pytest configuration, passes in a separate pytest
process, both with the mock the plugin starts and with a mock started elsewhere."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from support import ROOT, MockProcess

EXAMPLE = ROOT / "tests" / "consumer_example" / "test_consumer_example.py"
EXAMPLE_TESTS = sum(1 for line in EXAMPLE.read_text().splitlines() if line.startswith("def test_"))
# A consumer's own configuration: strict, and nothing of ours (no conftest, no pyproject).
CONSUMER_INI = "[pytest]\naddopts = --strict-markers -p no:cacheprovider\nfilterwarnings = error\n"

pytestmark = pytest.mark.slow


def run_consumer_tests(project: Path, **env: str) -> subprocess.CompletedProcess[str]:
    (project / "pytest.ini").write_text(CONSUMER_INI)
    shutil.copy(EXAMPLE, project / "test_backups.py")
    # Nothing of this session leaks in: no PYTEST_ADDOPTS, no plugin autoload switch, no path.
    skipped = ("BACKUPS_MOCK_", "PYTEST_", "PYTHONPATH")
    environment = {k: v for k, v in os.environ.items() if not k.startswith(skipped)}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q"],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_consumer_file_using_only_the_fixtures_passes_in_its_own_pytest(tmp_path: Path) -> None:
    result = run_consumer_tests(tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{EXAMPLE_TESTS} passed" in result.stdout


def test_the_fixture_drives_a_mock_started_elsewhere_given_its_url(tmp_path: Path) -> None:
    with MockProcess("--frozen-clock") as mock:
        result = run_consumer_tests(tmp_path, BACKUPS_MOCK_URL=mock.url)
        clock = httpx.get(f"{mock.url}/__mock/clock").json()
        mock.stop()

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{EXAMPLE_TESTS} passed" in result.stdout
    assert clock["offset_seconds"] >= 5  # the consumer's tests moved this mock's clock
