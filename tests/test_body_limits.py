"""The control API has a body limit of its own: a large state can be PUT when it is raised
(`--control-max-body-bytes`), while the API keeps the documented 64 KiB."""

from __future__ import annotations

import copy
import json
from typing import Any

from starlette.testclient import TestClient
from support import FIXTURES, read_json

from mockserver import Settings, create_app

JSON = {"Content-Type": "application/json"}
STATE = read_json(FIXTURES / "state.json")


def large_state(backups: int) -> dict[str, Any]:
    """The fixture state with `backups` more completed backups of one instance."""
    document = copy.deepcopy(STATE)
    account = document["accounts"]["1234"]
    template = next(b for b in account["backups"] if b["instance_id"])
    for number in range(backups):
        backup = dict(template, id=f"{number:08x}-0000-4000-8000-000000000000")
        backup["name"] = f"backup {number}"
        backup["locationRef"] = template["locationRef"].replace(template["id"], backup["id"])
        account["backups"].append(backup)
    return document


def test_a_state_over_64_kib_is_refused_by_default() -> None:
    with TestClient(create_app(Settings(frozen_clock=True))) as client:
        body = json.dumps(large_state(200))
        assert len(body) > 64 * 1024
        assert client.put("/__mock/state", content=body, headers=JSON).status_code == 413


def test_a_raised_control_limit_takes_a_large_state_and_leaves_the_api_limit() -> None:
    settings = Settings(frozen_clock=True, control_max_body_bytes=1024 * 1024)
    with TestClient(create_app(settings)) as client:
        document = large_state(200)
        answer = client.put("/__mock/state", content=json.dumps(document), headers=JSON)
        assert answer.status_code == 200
        assert answer.json() == client.get("/__mock/state").json()
        backups = answer.json()["accounts"]["1234"]["backups"]
        assert len(backups) == len(document["accounts"]["1234"]["backups"])
        create = {"backup": {"name": "x", "instance": "d4603f69-ec7e-4e9b-803f-600b9205576f"}}
        create["backup"]["pad"] = "x" * 70_000
        headers = {**JSON, "X-Auth-Token": "t"}
        too_large = client.post("/v1.0/1234/backups", content=json.dumps(create), headers=headers)
        assert too_large.status_code == 413
