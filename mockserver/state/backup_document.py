"""A backup's document: the Backup representation of the API, and a backup as the state
document holds it (with its lifecycle, schedule and origin), written and read one at a time.
`document.py` builds the whole state document on these.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from mockserver.state.clock import parse_timestamp, timestamp
from mockserver.state.errors import BadRequest
from mockserver.state.models import RUNNING, Backup, Lifecycle

T = TypeVar("T")


@contextmanager
def invalid_document() -> Iterator[None]:
    try:
        yield
    except BadRequest:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise BadRequest(f"Invalid state document: {type(error).__name__}: {error}") from error


def backup_document(backup: Backup) -> dict[str, Any]:
    """The Backup representation of the API (and of the state document, less `lifecycle`)."""
    document: dict[str, Any] = {
        "id": backup.id,
        "name": backup.name,
        "description": backup.description,
        "status": backup.status,
        "created": timestamp(backup.created),
        "updated": timestamp(backup.updated),
        "instance_id": backup.instance_id,
        "source": dict(backup.source),
        "parent_id": backup.parent_id,
        "locationRef": backup.location_ref,
        "size": backup.size,
        "type": backup.type,
        "is_automated": int(backup.is_automated),
        "flavor_ram": backup.flavor_ram,
        "volume_size": backup.volume_size,
        "datastore": dict(backup.datastore),
    }
    return document


def dump_backup(backup: Backup) -> dict[str, Any]:
    document = backup_document(backup)
    if backup.schedule_id is not None:
        document["schedule_id"] = backup.schedule_id
    life = backup.lifecycle
    if life is not None:
        document["lifecycle"] = {
            "building_at": life.building_at,
            "ends_at": life.ends_at,
            "ends": life.ends,
            "busy": list(life.busy),
        }
        if life.size is not None:
            document["lifecycle"]["size"] = life.size
    if backup.copy_of is not None:
        document["copy_of"] = {"region": backup.copy_of[0], "id": backup.copy_of[1]}
    return document


class Shared:
    """One object for each value that repeats across the backups of a state document.

    A document of 100,000 backups repeats the same status, type, instance id, source and
    datastore in every one; a separate copy of each held about half of the memory of a backup.
    The shared mappings are never changed in place (see `Backup`).
    """

    def __init__(self) -> None:
        self._found: dict[Any, Any] = {}

    def value(self, value: T) -> T:
        # Keyed by type too: 1, 1.0 and True are equal keys, and must stay what they are.
        found: T = self._found.setdefault((type(value), value), value)
        return found

    def mapping(self, raw: dict[str, Any]) -> dict[str, Any]:
        try:
            key = (dict, frozenset(raw.items()))
        except TypeError:  # a value that cannot be a key: keep a copy of its own
            return dict(raw)
        found: dict[str, Any] | None = self._found.get(key)
        if found is None:
            found = self._found[key] = dict(raw)
        return found


def backup_reader() -> Callable[[dict[str, Any]], Backup]:
    """Turns each backup of a state document into a Backup, as soon as it is read.

    For a reader of a document's text (`jsontext.loads`): a state of 100,000 backups parsed
    whole held about 200 MB of dicts at once, which the process kept after they were freed.
    `load_state` takes these Backups in place of their documents.
    """
    shared = Shared()

    def read(raw: dict[str, Any]) -> Backup:
        with invalid_document():
            return load_backup(raw, shared)

    return read


def load_backup(raw: dict[str, Any], shared: Shared) -> Backup:
    life = raw.get("lifecycle")
    lifecycle = None
    if life is not None:
        if raw["status"] not in RUNNING:
            raise BadRequest(
                f"Invalid state document: backup {raw['id']} has a lifecycle"
                f" but is {raw['status']}."
            )
        lifecycle = Lifecycle(
            building_at=float(life["building_at"]),
            ends_at=float(life["ends_at"]),
            ends=life["ends"],
            busy=tuple(life["busy"]),
            size=None if life.get("size") is None else float(life["size"]),
        )
    elif raw["status"] in RUNNING:
        raise BadRequest(
            f"Invalid state document: backup {raw['id']} is {raw['status']} without a lifecycle."
        )
    return Backup(
        id=raw["id"],
        name=raw["name"],
        description=shared.value(raw.get("description")),
        status=shared.value(raw["status"]),
        created=parse_timestamp(raw["created"]),
        updated=parse_timestamp(raw["updated"]),
        instance_id=shared.value(raw.get("instance_id")),
        source=shared.mapping(raw["source"]),
        parent_id=raw.get("parent_id"),
        location_ref=raw.get("locationRef"),
        size=shared.value(raw.get("size")),
        type=shared.value(raw["type"]),
        is_automated=bool(raw.get("is_automated", False)),
        flavor_ram=int(raw["flavor_ram"]),
        volume_size=int(raw["volume_size"]),
        datastore=shared.mapping(raw.get("datastore", {})),
        lifecycle=lifecycle,
        schedule_id=raw.get("schedule_id"),
        copy_of=_copy_of(raw.get("copy_of")),
    )


def _copy_of(raw: dict[str, Any] | None) -> tuple[str, str] | None:
    return None if raw is None else (str(raw["region"]), str(raw["id"]))
