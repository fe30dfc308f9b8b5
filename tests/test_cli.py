"""The `mockserver` command: options and their environment variables, and a real process."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import trustme
from support import EXAMPLES, MockProcess, read_json

from mockserver.cli import UsageError, settings_from


def test_defaults_are_the_documented_ones() -> None:
    settings = settings_from([], {})
    assert (settings.host, settings.port, settings.quota) == ("127.0.0.1", 8779, 50)
    assert (settings.new_seconds, settings.building_seconds) == (1.0, 4.0)
    assert settings.build_seconds == 5.0
    assert not settings.frozen_clock and not settings.rate_limits and settings.control
    assert settings.tokens is None and settings.control_token is None
    assert settings.log_level == "info" and settings.validate_responses
    assert not settings.strict_query and settings.region == "DFW"


def test_every_option_can_come_from_the_environment(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps({"t1": ["1234"], "admin": ["*"]}))
    environ = {
        "MOCKSERVER_HOST": "0.0.0.0",
        "MOCKSERVER_PORT": "9000",
        "MOCKSERVER_STATE_FILE": str(tmp_path / "state.json"),
        "MOCKSERVER_QUOTA": "7",
        "MOCKSERVER_NEW_SECONDS": "0",
        "MOCKSERVER_BUILDING_SECONDS": "2.5",
        "MOCKSERVER_BUILD_SECONDS": "0",
        "MOCKSERVER_FROZEN_CLOCK": "1",
        "MOCKSERVER_RATE_LIMITS": "true",
        "MOCKSERVER_TOKENS": str(tokens),
        "MOCKSERVER_NO_CONTROL": "yes",
        "MOCKSERVER_CONTROL_TOKEN": "c",
        "MOCKSERVER_LOG_LEVEL": "warning",
        "MOCKSERVER_STRICT_QUERY": "1",
        "MOCKSERVER_REGION": "iad",
    }
    settings = settings_from([], environ)
    assert (settings.host, settings.port, settings.quota) == ("0.0.0.0", 9000, 7)
    assert settings.state_file == tmp_path / "state.json"
    assert (settings.new_seconds, settings.building_seconds) == (0.0, 2.5)
    assert settings.build_seconds == 0.0
    assert settings.frozen_clock and settings.rate_limits and not settings.control
    assert settings.tokens == {"t1": frozenset({"1234"}), "admin": frozenset({"*"})}
    assert settings.control_token == "c" and settings.log_level == "warning"
    assert settings.strict_query and settings.region == "IAD"


def test_strict_query_is_a_flag_of_the_command_line() -> None:
    assert settings_from(["--strict-query"], {}).strict_query


def test_command_line_wins_over_the_environment() -> None:
    assert settings_from(["--port", "1234"], {"MOCKSERVER_PORT": "9000"}).port == 1234


@pytest.mark.parametrize(
    ("argv", "environ"),
    [
        (["--quota", "0"], {}),
        (["--new-seconds", "-1"], {}),
        (["--build-seconds", "-0.5"], {}),
        ([], {"MOCKSERVER_FROZEN_CLOCK": "maybe"}),
        (["--port", "70000"], {}),
    ],
)
def test_bad_values_are_usage_errors(argv: list[str], environ: dict[str, str]) -> None:
    with pytest.raises(UsageError):
        settings_from(argv, environ)


def test_the_proxys_options_come_from_the_command_line_and_the_environment(
    tmp_path: Path,
) -> None:
    ca = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(ca))
    environ = {
        "MOCKSERVER_UPSTREAM": "https://staging.example:8443/cdb",
        "MOCKSERVER_UPSTREAM_CA": str(ca),
        "MOCKSERVER_UPSTREAM_TIMEOUT": "2.5",
        "MOCKSERVER_ON_VIOLATION": "fault",
        "MOCKSERVER_FALLBACK_TO_MOCK": "1",
        "MOCKSERVER_JUNIT": str(tmp_path / "junit.xml"),
    }
    settings = settings_from([], environ)
    assert settings.upstream == "https://staging.example:8443/cdb"
    assert (settings.upstream_ca, settings.upstream_timeout) == (ca, 2.5)
    assert (settings.on_violation, settings.fallback_to_mock) == ("fault", True)
    assert settings.junit_path == tmp_path / "junit.xml"
    assert settings_from([], {}).upstream is None  # the mock, unless asked


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--junit", "r.xml"], "--junit needs --upstream"),
        (["--upstream-ca", "ca.pem"], "--upstream-ca needs --upstream"),
        (["--fallback-to-mock"], "--fallback-to-mock and --on-violation need --upstream"),
        (["--on-violation", "fault"], "--fallback-to-mock and --on-violation need --upstream"),
        (["--upstream", "ftp://host"], "expected http(s)://host[:port][/path]"),
        (["--upstream", "http://"], "expected http(s)://host[:port][/path]"),
        (["--upstream", "http://h/?a=1"], "the root takes no query or fragment"),
        (["--upstream", "http://h", "--upstream-timeout", "0"], "--upstream-timeout must be"),
        (["--upstream", "http://h", "--upstream-ca", "/no/such/ca.pem"], "--upstream-ca"),
    ],
)
def test_proxy_options_that_cannot_work_are_refused_before_serving(
    argv: list[str], message: str
) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        settings_from(argv, {})


def test_a_region_the_spec_does_not_name_is_refused_with_a_clear_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mockserver", "--region", "MARS"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("mockserver: error: --region MARS: not a region of the spec")
    assert "DFW, IAD, ORD, LON, HKG, SYD" in result.stderr


def test_a_mock_in_sydney_has_no_scheduled_backups() -> None:
    body = {"schedule": {"action": "backup", "day_of_week": 0, "hour": 1, "minute": 0}}
    body["schedule"]["instance_id"] = "44b277eb-39be-4921-be31-3d61b43651d7"
    with MockProcess("--region", "syd") as mock:
        response = httpx.post(
            f"{mock.url}/v1.0/1234/schedules", json=body, headers={"X-Auth-Token": "t"}
        )
        assert mock.stop() == 0
    assert response.status_code == 422
    assert "not available in the SYD region" in response.json()["unprocessableEntity"]["message"]


@pytest.mark.parametrize("content", ["not json", '{"t": "1234"}', '["t"]', '{"": ["1"]}'])
def test_bad_token_table_is_refused_with_a_clear_error(tmp_path: Path, content: str) -> None:
    tokens = tmp_path / "tokens.json"
    tokens.write_text(content)
    result = subprocess.run(
        [sys.executable, "-m", "mockserver", "--tokens", str(tokens)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("mockserver: error: --tokens")


def test_started_process_answers_the_seed_request_and_stops_cleanly() -> None:
    example = read_json(EXAMPLES / "createBackup" / "createHaBackup.request.json")
    documented = read_json(EXAMPLES / "createBackup" / "createHaBackup.response.json")
    with MockProcess() as mock:
        response = httpx.post(
            mock.url + example["path"],
            content=json.dumps(example["body"]),
            headers=example["headers"],
        )
        assert response.status_code == 202
        assert set(response.json()["backup"]) == set(documented["body"]["backup"])
        assert httpx.get(mock.url + "/openapi.json").status_code == 200
        assert mock.stop() == 0
    log = "".join(mock.output)
    assert f"mockserver listening on {mock.url} " in log
    assert "/openapi.json" in log and "/openapi.yaml" in log and "/ui/" in log
    assert '"POST /v1.0/1234/backups HTTP/1.1" 202' in log  # one line per request


def test_each_request_has_its_access_line_at_the_info_level() -> None:
    # Above info the access log is off (cli.serve): its lines would be dropped anyway, and
    # uvicorn builds them first. At info, the default, they are printed.
    with MockProcess("--log-level=info") as mock:
        assert httpx.get(f"{mock.url}/", timeout=10).status_code == 200
        assert mock.stop() == 0
    assert any('"GET / HTTP/1.1" 200' in line for line in mock.output), "".join(mock.output)
