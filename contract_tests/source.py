"""What a backup is taken of: a `Source`, a single instance or an HA instance the run may back
up, and its requests through the `Api` (`api.py`): its list of backups, a backup of it, its state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from contract_tests.exchange import Exchange

if TYPE_CHECKING:
    from contract_tests.api import Api  # which needs a Source to make its sources


@dataclass(frozen=True)
class Source:
    """What a backup is taken of: a single instance or an HA instance."""

    kind: Literal["instance", "ha"]
    id: str

    def __str__(self) -> str:
        return f"{self.kind_name} {self.id}"

    @property
    def kind_name(self) -> str:
        return "instance" if self.kind == "instance" else "HA instance"

    def list_path(self, api: Api) -> str:
        collection = "instances" if self.kind == "instance" else "ha"
        return api.path(f"/{collection}/{self.id}/backups")

    def create(self, api: Api, parent_id: str | None = None, **members: Any) -> Exchange:
        if self.kind == "instance":
            return api.create(instance=self.id, parent_id=parent_id, **members)
        return api.create(ha=self.id, parent_id=parent_id, **members)

    def state(self, api: Api) -> tuple[str, Exchange]:
        """The instance's `status` or the HA instance's `state`, and the exchange that read it."""
        if self.kind == "instance":
            seen = api.call("GET", api.path(f"/instances/{self.id}"))
            return str(seen.document("instance").get("status")), seen
        seen = api.call("GET", api.path(f"/ha/{self.id}"))
        return str(seen.document("ha_instance").get("state")), seen

    def others(self, api: Api) -> list[Source]:
        """The target's other configured source, whose list must not show this one's backups."""
        return [source for source in api.sources() if source != self]
