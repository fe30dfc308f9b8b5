"""The documents of instances, HA instances and flavors as the API shows them, with their links
(`root` is the region's root as the client named it: see `Handlers._root`)."""

from __future__ import annotations

from typing import Any

from mockserver.state.clock import timestamp
from mockserver.state.models import Flavor, HaInstance, Instance

Json = dict[str, Any]


def links(root: str, account_id: str, kind: str, item_id: str) -> list[Json]:
    return [
        {"href": f"{root}/v1.0/{account_id}/{kind}/{item_id}", "rel": "self"},
        {"href": f"{root}/{kind}/{item_id}", "rel": "bookmark"},
    ]


def datastore(item: Instance | HaInstance) -> Json:
    return {"type": item.datastore["type"], "version": item.datastore.get("version", "")}


def flavor(root: str, account_id: str, item: Instance | HaInstance) -> Json:
    flavor_id = item.flavor["id"]
    return {"id": flavor_id, "links": links(root, account_id, "flavors", str(flavor_id))}


def instance_view(root: str, account_id: str, instance: Instance) -> Json:
    document: Json = {
        "id": instance.id,
        "name": instance.name,
        "status": instance.status,
        "datastore": datastore(instance),
        "flavor": flavor(root, account_id, instance),
        "volume": {"size": instance.volume_size},
        "links": links(root, account_id, "instances", instance.id),
    }
    if instance.hostname:
        document["hostname"] = instance.hostname
    if instance.created is not None:
        document["created"] = timestamp(instance.created)
    if instance.updated is not None:
        document["updated"] = timestamp(instance.updated)
    if instance.ha_id is not None:
        document["ha_id"] = instance.ha_id
    return document


def flavor_detail(root: str, account_id: str, flavor: Flavor) -> Json:
    return {
        "id": flavor.id,
        "links": links(root, account_id, "flavors", str(flavor.id)),
        "name": flavor.name,
        "ram": flavor.ram,
    }


def ha_instance_view(root: str, account_id: str, ha: HaInstance, members: list[Instance]) -> Json:
    def member(instance: Instance) -> Json:
        return instance_view(root, account_id, instance)

    def reference(instance: Instance) -> Json:
        return {
            "id": instance.id,
            "name": instance.name,
            "links": links(root, account_id, "instances", instance.id),
        }

    sources = [m for m in members if m.id == ha.source_id]
    replicas = [m for m in members if m.id != ha.source_id]
    source_documents = [member(s) | {"replicas": [reference(r) for r in replicas]} for s in sources]
    replica_documents = [
        member(r) | {"replica_of": {k: v for k, v in reference(s).items() if k != "name"}}
        for r in replicas
        for s in sources
    ]
    return {
        "id": ha.id,
        "name": ha.name,
        "tenant_id": account_id,
        "state": ha.state,
        "datastore": datastore(ha),
        "volume": {"size": ha.volume_size},
        "flavor": flavor(root, account_id, ha),
        "replica_source": source_documents,
        "replicas": replica_documents,
        "acls": [],
        "configuration": None,
        "networks": ha.networks,
    }
