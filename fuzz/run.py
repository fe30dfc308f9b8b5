"""`make fuzz`: a long schemathesis run of the mock, the API and the control API.

Five runs, each against a mock process of its own, started on a free port of 127.0.0.1 (the
control API's run replaces the state and moves the clock; a run must not see another's):

- api: every phase (examples, coverage, fuzzing, stateful) and every check, with a token table
  so that the auth checks have something to find;
- api-stateful: the stateful phase alone, repeated for STATEFUL_SECONDS, from a fresh mock
  (after a long fuzzing phase, schemathesis keeps its stateful phase short);
- api-iad: every phase and check again, through IAD's prefix (`<mock>/iad` as the base URL,
  contract section 12), with IAD_EXAMPLES examples an operation (the same API behind another
  prefix: fewer than `api`). The mock's own region stays DFW, and its IAD is given a copy of
  the fixture's account 1234, so that valid requests through the prefix find backups and
  instances there (an empty IAD would answer most of them 404);
- api-proxy: every phase and check through a validating proxy (`mockserver --upstream`) in
  front of the mock, with PROXY_EXAMPLES examples an operation. schemathesis must find nothing
  more than directly (the proxy passes everything on unchanged), and the proxy's verdicts must
  agree with the mock's: no violation in any of the mock's answers (the proxy judges with the
  mock's validators), and no request the proxy found breaking the contract answered with
  success.
- control: every phase and check on the control API, with a control token.

The run fails when schemathesis finds anything, when a mock does not survive it (stopped with
SIGTERM, each must still exit 0), and when a run of every phase (api, control) sent no test case
to a documented operation (unless the arguments select operations). Extra arguments go to every
schemathesis run:

    python fuzz/run.py --max-examples 50        a short run
"""

from __future__ import annotations

import copy
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURE_STATE = HERE.parent / "fixtures" / "state.json"
CONFIG = HERE / "schemathesis.toml"
REPORT = HERE / "report"
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CONTROL_TOKEN = "fuzz-control-token"
STATEFUL_SECONDS = 300
METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
# Arguments that select operations or phases: a run with them need not reach every documented
# operation (the stateful phase alone follows the links only).
SELECTING = ("--include", "--exclude", "--phases")
# Lifecycles of 0 s (backups, and the BUILD of a created instance) and a quota far away:
# creates succeed and what they create is ready at once, so stateful runs go deep (a created
# instance is deleted, backed up); the busy (422) and quota (413) answers are configured as
# expected all the same.
API_MOCK = ["--tokens", str(HERE / "tokens.json"), "--quota", "100000"]
API_MOCK += ["--new-seconds", "0", "--building-seconds", "0", "--build-seconds", "0"]
IAD_EXAMPLES = 200
PROXY_EXAMPLES = 200
RUNS = {
    "api": (API_MOCK, []),
    "api-stateful": (API_MOCK, ["--phases", "stateful", "--max-time", str(STATEFUL_SECONDS)]),
    "api-iad": (API_MOCK, ["--max-examples", str(IAD_EXAMPLES)]),
    "api-proxy": (API_MOCK, ["--max-examples", str(PROXY_EXAMPLES)]),
    "control": (["--control-token", CONTROL_TOKEN], []),
}
# The base path of each run under the mock's root (the default: the root itself).
PREFIXES = {"api-iad": "/iad"}
# Runs sent through a validating proxy in front of their mock (its journal holds every exchange).
PROXIED = {"api-proxy": ["--journal-size", "10000000"]}


def regional_state() -> bytes:
    """The fixture state, and in IAD a copy of its account 1234 (the same ids, so that the
    dictionaries of schemathesis.toml name IAD's resources too)."""
    state = json.loads(FIXTURE_STATE.read_text(encoding="utf-8"))
    state["regions"] = {"IAD": {"accounts": {"1234": copy.deepcopy(state["accounts"]["1234"])}}}
    return json.dumps(state).encode()


def seed_regions(url: str) -> None:
    request = urllib.request.Request(f"{url}/__mock/state", data=regional_state(), method="PUT")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10):  # any answer but 2xx raises
        pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start(name: str, options: list[str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    log = REPORT / f"mock-{name}.log"
    command = [sys.executable, "-m", "mockserver", "--port", str(port), "--log-level", "warning"]
    with log.open("wb") as output:
        process = subprocess.Popen([*command, *options], stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"fuzz: the {name} mock exited with {process.returncode}: see {log}")
        try:
            with urllib.request.urlopen(f"{url}/openapi.json", timeout=1):
                return process, url
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"fuzz: the {name} mock did not start: see {log}")


def stop(name: str, process: subprocess.Popen[bytes]) -> bool:
    if process.poll() is not None:
        print(f"fuzz: the {name} mock died during the run (exit {process.returncode})")
        return False
    process.send_signal(signal.SIGTERM)
    code = process.wait(30)
    if code != 0:
        print(f"fuzz: the {name} mock exited {code} on SIGTERM")
    return code == 0


def schema(name: str, url: str) -> tuple[Path, list[str]]:
    """The document under test, saved (the control API's needs the control token, so
    schemathesis reads it from the file), and how to point schemathesis at it."""
    path = REPORT / f"openapi-{name}.json"
    request = urllib.request.Request(f"{url}/openapi.json")
    base = url
    if name == "control":
        request = urllib.request.Request(f"{url}/__mock/openapi.json")
        request.add_header("X-Mock-Token", CONTROL_TOKEN)
        base = f"{url}/__mock"
    with urllib.request.urlopen(request, timeout=10) as response:
        path.write_bytes(response.read())
    return path, [str(path), "--url", base + PREFIXES.get(name, "")]


def summary(events: Path, document: Path) -> tuple[str, list[str]]:
    """Test cases per documented operation and per phase, and the checks that ran; and the
    documented operations no test case reached."""
    paths = json.loads(document.read_text(encoding="utf-8"))["paths"]
    documented = {
        f"{m.upper()} {path}" for path, item in paths.items() for m in item if m in METHODS
    }
    operations: Counter[str] = Counter()
    phases: Counter[str] = Counter()
    checks: set[str] = set()
    with events.open(encoding="utf-8") as stream:
        for line in stream:
            if not line.startswith('{"ScenarioFinished"'):
                continue
            recorder = json.loads(line)["ScenarioFinished"]["recorder"]
            for case in recorder.get("cases", {}).values():
                value = case["value"]
                operation = f"{value['method']} {value['path']}"
                operations[operation if operation in documented else "other methods"] += 1
                phases[((value.get("meta") or {}).get("phase") or {}).get("name", "?")] += 1
            for results in recorder.get("checks", {}).values():
                checks.update(result["name"] for result in results)
    lines = [f"  {count:6d}  {operation}" for operation, count in sorted(operations.items())]
    lines.append("  phases: " + ", ".join(f"{p} {n}" for p, n in sorted(phases.items())))
    lines.append("  checks: " + ", ".join(sorted(checks)))
    return "\n".join(lines), sorted(documented - set(operations))


def proxy_agrees(name: str, url: str) -> bool:
    """Whether the proxy's verdicts agree with the mock behind it (see api-proxy above)."""
    with urllib.request.urlopen(f"{url}/__mock/violations", timeout=30) as answer:
        summary = json.load(answer)
    with urllib.request.urlopen(f"{url}/__mock/requests", timeout=300) as answer:
        entries = json.load(answer)["requests"]
    rules = Counter({g["rule"]: 0 for g in summary["groups"]})
    for group in summary["groups"]:
        rules[group["rule"]] += group["count"]
    print(f"fuzz: {name}: the proxy checked {summary['exchanges']} exchanges: {dict(rules)}")
    wrong = [g for g in summary["groups"] if g["rule"].startswith("answer-")]
    for group in wrong:
        print(
            f"fuzz: {name}: the mock's answers broke {group['rule']} ({group['count']}x) in"
            f" {group['operation']}, e.g. {group['examples'][0]}"
        )
    accepted = [
        e
        for e in entries
        if e["status"] < 400
        and e["path"] != "/openapi.json"  # the mock's own spec, fetched by this script
        and any(v["rule"].startswith("request-") for v in e["violations"])
    ]
    for entry in accepted[:10]:
        print(
            f"fuzz: {name}: the mock accepted ({entry['status']}) what the proxy refused:"
            f" {entry['method']} {entry['path']}?{entry['query']} {entry['violations']}"
        )
    if len(entries) < summary["exchanges"]:
        print(f"fuzz: {name}: the journal holds {len(entries)} of {summary['exchanges']}")
        return False
    return not wrong and not accepted


def main(argv: list[str]) -> int:
    REPORT.mkdir(exist_ok=True)
    failed = False
    began = time.monotonic()
    for name, (options, arguments) in RUNS.items():
        process, url = start(name, options)
        if name in PREFIXES:
            seed_regions(url)
        proxy = None
        if name in PROXIED:
            proxy, url = start(f"{name}-proxy", ["--upstream", url, *PROXIED[name]])
        started = time.monotonic()
        events = REPORT / f"events-{name}.ndjson"
        document, location = schema(name, url)
        command = [str(SCHEMATHESIS), "--config-file", str(CONFIG), "run", *location]
        command += ["--report", "junit,ndjson", "--report-junit-path", f"report/junit-{name}.xml"]
        command += ["--report-ndjson-path", str(events.relative_to(HERE)), *arguments, *argv]
        print(f"fuzz: {name}: {' '.join(command)}", flush=True)
        agreed = True
        try:
            code = subprocess.run(command, cwd=HERE, check=False).returncode
            if proxy is not None:
                agreed = proxy_agrees(name, url)
        finally:
            survived = stop(name, process)
            if proxy is not None:
                survived = stop(f"{name}-proxy", proxy) and survived
        print(f"fuzz: {name}: schemathesis exit {code} in {time.monotonic() - started:.0f} s")
        every = not any(a.startswith(SELECTING) for a in [*arguments, *argv])
        missed: list[str] = []
        if events.exists():
            text, missed = summary(events, document)
            print(text, flush=True)
        if every and missed:
            print(f"fuzz: {name}: no test case reached {', '.join(missed)}")
        failed = failed or code != 0 or not survived or not agreed or (every and bool(missed))
    print(f"fuzz: {'FAILED' if failed else 'clean'} in {time.monotonic() - began:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
