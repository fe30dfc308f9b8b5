"""The guard: what the suite may change on a target, checked before every request it sends.

The suite may create backups (unless read-only) and delete the backups it created itself.
Schemathesis generates requests the suite does not write by hand (examples, fuzzing, links,
undocumented methods, values seen in earlier responses), so a changing request that names a
resource the suite does not own is defused: its ids are replaced by fresh ones that name
nothing, and the target answers 404 without touching anything.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

from contract_tests.contract import SAFE_METHODS
from contract_tests.inventory import Inventory

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
CREATE = ("POST", "/v1.0/{accountId}/backups")
DELETE = ("DELETE", "/v1.0/{accountId}/backups/{backupId}")


class Refused(Exception):
    """The suite was about to send a request it must not send."""


class Guard:
    def __init__(self, inventory: Inventory, read_only: bool) -> None:
        self.inventory = inventory
        self.read_only = read_only

    def vet(self, method: str, template: str | None, parameters: Mapping[str, str]) -> None:
        """Refuse a hand-written request that could change what the suite does not own."""
        method = method.upper()
        if method in SAFE_METHODS:
            return
        if self.read_only:
            raise Refused(f"read-only run: {method} is not sent")
        if (method, template) == CREATE:
            return
        if (method, template) == DELETE and self.inventory.owns(parameters.get("backupId", "")):
            return
        foreign = self._foreign_ids(parameters)
        if foreign or template is None:
            raise Refused(
                f"{method} {template}: it could change {foreign or 'an unknown resource'}"
            )

    def defuse(
        self, method: str, template: str, parameters: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """The path parameters a generated request must use instead (None: send it as it is)."""
        method = method.upper()
        if method in SAFE_METHODS:
            return None
        if self.read_only:
            raise Refused(f"read-only run: {method} {template} is not sent")
        if (method, template) == CREATE:
            return None
        foreign = self._foreign_ids(parameters)
        if not foreign:
            return None
        return {
            name: str(uuid.uuid4()) if name in foreign else value
            for name, value in parameters.items()
        }

    def _foreign_ids(self, parameters: Mapping[str, Any]) -> list[str]:
        """Names of the parameters that hold an id (a UUID) the suite did not create."""
        return [
            name
            for name, value in parameters.items()
            if name != "accountId"
            and isinstance(value, str)
            and _UUID.match(value)
            and not self.inventory.owns(value)
        ]
