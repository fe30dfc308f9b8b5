"""Every backup-related method of the Rackspace WADL has its operation in openapi.yaml.

The WADL is read as published (its fault responses come from the entities of `common.ent`);
the statuses each WADL method documents must all be documented by the spec's operation of the
same method and path, except the deliberate deviations in DEVIATIONS.
"""

from __future__ import annotations

import filecmp
from pathlib import Path

import pytest
from lxml import etree
from support import ROOT, SHARED_REFERENCE, load_spec, operations

WADL = ROOT / "reference" / "rackspace-cdb" / "dbaas.wadl"
NS = {"w": "http://wadl.dev.java.net/2009/02"}
VERSION = "v1.0"  # the only version the contract serves: `{version}` is always v1.0

REQUIRED = {
    "createBackup",
    "createBackupForHaInstance",
    "getBackups",
    "getBackupById",
    "deleteBackup",
    "getBackupsByInstance",
    "getBackupsForHaInstance",
    # The WADL's `schedules` resource (contract section 10).
    "createAutoBackup",
    "getAutomatedBackups",
    "getAutomatedBackupById",
    "updateAutomatedBackupById",
    "deleteAutomatedBackupById",
    # Instances and flavors (contract section 11).
    "createInstance",
    "deleteInstance",
    "getFlavors",
    "getFlavorById",
}
# Also derived from the WADL, so checked the same way: the read-only operations real clients use.
ALSO_CHECKED = {"getVersions", "getInstance", "getInstanceById", "getHa", "getInstanceByHaId"}

# (WADL method id, WADL status) -> (status the spec documents instead, reason)
DEVIATIONS: dict[tuple[str, int], tuple[int, str]] = {
    ("createBackup", 200): (
        202,
        "the WADL and the method page say 200, but every documented example answers"
        " 202 Accepted and the create is asynchronous; the contract makes 202 the success status",
    ),
    ("createBackupForHaInstance", 200): (
        202,
        "as for createBackup: the seed document's examples answer 202 Accepted",
    ),
}


def wadl_methods(path: Path = WADL) -> dict[str, tuple[str, str, set[int]]]:
    """WADL method id -> (HTTP method, full path, documented statuses), entities expanded."""
    # The fault entities of common.ent use the `wadl:` prefix, which libxml2 cannot see inside an
    # expanded entity; `recover` keeps their <response> elements (checked by the test below).
    parser = etree.XMLParser(load_dtd=True, resolve_entities=True, no_network=True, recover=True)
    root = etree.parse(str(path), parser).getroot()
    paths: dict[str, str] = {}

    def walk(resource: etree._Element, prefix: str) -> None:
        here = "/".join(part for part in (prefix, resource.get("path", "")) if part)
        for method in resource.findall("w:method", NS):
            paths[method.get("href").lstrip("#")] = "/" + here
        for child in resource.findall("w:resource", NS):
            walk(child, here)

    for top in root.find("w:resources", NS).findall("w:resource", NS):
        walk(top, "")
    found = {}
    for method in root.findall("w:method", NS):
        method_id = method.get("id")
        statuses = {int(r.get("status")) for r in method.iter(f"{{{NS['w']}}}response")}
        found[method_id] = (method.get("name"), paths[method_id], statuses)
    return found


def spec_operations() -> dict[tuple[str, str], tuple[set[str], set[int]]]:
    """(METHOD, path) -> (the WADL ids it claims, documented statuses)."""
    found = {}
    for method, path, operation in operations(load_spec()):
        ids = set(operation.get("x-wadl-ids", [operation["operationId"]]))
        found[(method.upper(), path)] = (ids, {int(status) for status in operation["responses"]})
    return found


def as_spec_path(wadl_path: str) -> str:
    return wadl_path.replace("{version}", VERSION)


def check_parity(
    wadl: dict[str, tuple[str, str, set[int]]],
    spec: dict[tuple[str, str], tuple[set[str], set[int]]],
) -> list[str]:
    """Every way the spec falls short of the WADL, as sentences; empty when in parity."""
    problems = []
    for method_id in sorted(REQUIRED | ALSO_CHECKED):
        method, path, statuses = wadl[method_id]
        key = (method, as_spec_path(path))
        if key not in spec:
            problems.append(f"{method_id}: no operation {method} {key[1]} in openapi.yaml")
            continue
        ids, documented = spec[key]
        if method_id not in ids:
            problems.append(f"{method_id}: {method} {key[1]} does not claim it ({sorted(ids)})")
        for status in sorted(statuses):
            expected = DEVIATIONS.get((method_id, status), (status, ""))[0]
            if expected not in documented:
                problems.append(f"{method_id}: status {expected} is not documented")
    return problems


def test_the_wadl_has_every_backup_method_of_the_contract() -> None:
    assert set(wadl_methods()) >= REQUIRED | ALSO_CHECKED


def test_every_method_of_the_wadl_schedules_resource_is_required() -> None:
    schedules = {
        method_id
        for method_id, (_, path, _) in wadl_methods().items()
        if path.startswith("/{version}/{accountId}/schedules")
    }
    assert schedules == {
        "createAutoBackup",
        "getAutomatedBackups",
        "getAutomatedBackupById",
        "updateAutomatedBackupById",
        "deleteAutomatedBackupById",
    }
    assert schedules <= REQUIRED


def test_the_wadl_fault_entities_are_expanded() -> None:
    common = {400, 401, 403, 405, 413, 422, 500, 501, 503}
    for method_id in REQUIRED:
        assert common | {404} <= wadl_methods()[method_id][2], method_id


def test_every_wadl_backup_method_has_its_operation_and_statuses_in_the_spec() -> None:
    assert check_parity(wadl_methods(), spec_operations()) == []


@pytest.mark.parametrize(("method_id", "status"), sorted(DEVIATIONS))
def test_each_deviation_is_real_and_documented(method_id: str, status: int) -> None:
    method, path, statuses = wadl_methods()[method_id]
    replacement, reason = DEVIATIONS[(method_id, status)]
    assert status in statuses, "the WADL no longer documents it: drop the deviation"
    documented = spec_operations()[(method, as_spec_path(path))][1]
    assert status not in documented and replacement in documented
    assert reason


def test_removing_an_operation_breaks_parity() -> None:
    spec = spec_operations()
    del spec[("DELETE", "/v1.0/{accountId}/backups/{backupId}")]
    assert check_parity(wadl_methods(), spec) == [
        "deleteBackup: no operation DELETE /v1.0/{accountId}/backups/{backupId} in openapi.yaml"
    ]


def test_removing_a_documented_status_breaks_parity() -> None:
    spec = spec_operations()
    spec[("GET", "/v1.0/{accountId}/ha/{haId}/backups")][1].discard(503)
    assert check_parity(wadl_methods(), spec) == [
        "getBackupsForHaInstance: status 503 is not documented"
    ]


@pytest.mark.skipif(not SHARED_REFERENCE.exists(), reason="../shared is not beside this checkout")
@pytest.mark.parametrize("name", ["dbaas.wadl", "common.ent", "dbaas.xsd"])
def test_the_copied_reference_matches_the_shared_one(name: str) -> None:
    assert filecmp.cmp(WADL.parent / name, SHARED_REFERENCE / name, shallow=False)
