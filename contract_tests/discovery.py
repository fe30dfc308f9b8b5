"""Discovery: what the run may back up, when it was not told.

A run backs up an ACTIVE single instance and an ACTIVE HA instance. Against a real service it
backs up only what `--instance-id` and `--ha-id` name, unless `--discover` lets it choose;
against a mock (a target with the control API) it chooses by itself. It chooses the first
ACTIVE one that `GET /instances` (a single instance: no `ha_id`) and `GET /ha` list, and says
which in the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from contract_tests.checks import CheckFailed
from contract_tests.pages import walk

if TYPE_CHECKING:
    from contract_tests.api import Api


@dataclass
class Sources:
    instance_id: str | None
    ha_id: str | None
    notes: list[str] = field(default_factory=list)  # how each was chosen, for the report


def discover(api: Api, instance_id: str | None, ha_id: str | None, allowed: bool) -> Sources:
    """The sources given, with those not given found on the target when `allowed`."""
    found = Sources(instance_id, ha_id)
    for kind, given, option in (
        ("instance", instance_id, "--instance-id"),
        ("ha", ha_id, "--ha-id"),
    ):
        label = "single instance" if kind == "instance" else "HA instance"
        if given:
            found.notes.append(f"{label} {given} (given by {option})")
            continue
        if not allowed:
            found.notes.append(f"{label}: none (give {option}, or --discover to choose one)")
            continue
        chosen, where = _first_active(api, kind)
        if chosen is None:
            found.notes.append(f"{label}: none (no ACTIVE one in {where})")
        else:
            found.notes.append(f"{label} {chosen} (discovered: the first ACTIVE one in {where})")
        if kind == "instance":
            found.instance_id = chosen
        else:
            found.ha_id = chosen
    return found


def _first_active(api: Api, kind: str) -> tuple[str | None, str]:
    if kind == "instance":
        path, member, state = api.path("/instances"), "instances", "status"
    else:
        path, member, state = api.path("/ha"), "ha_instances", "state"
    where = f"GET {path}"
    try:
        items, _ = walk(api, path, member=member)
    except CheckFailed as failure:  # the list checks report it; here it only finds nothing
        return None, f"{where}: {failure.reason}"
    for item in items:
        if (
            item.get(state) == "ACTIVE"
            and not item.get("ha_id")
            and isinstance(item.get("id"), str)
        ):
            return str(item["id"]), where
    return None, where
