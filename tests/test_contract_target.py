"""A base URL names the service root, the version and the account; `--allow-copy` names a
region and the root URL of its endpoint; another region's URL is the target's with the region
swapped (a mock at its root has the others below it); a mock's control API is found from any of
its regions' endpoints."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from contract_tests.regions import Region, named_by, parse_allow_copy, reach, root_of
from contract_tests.target import Target
from contract_tests.timeline import Control
from mockserver import Settings, create_app
from mockserver.plugin.threaded import ThreadedServer


def test_a_base_url_splits_into_the_root_and_the_account() -> None:
    target = Target("https://db.example.com/trove/v1.0/5919009/", "t", None, None)
    assert target.root == "https://db.example.com/trove"
    assert target.account == "5919009"
    assert target.url(target.api_path("/backups")) == (
        "https://db.example.com/trove/v1.0/5919009/backups"
    )


@pytest.mark.parametrize(
    "base_url",
    ["http://host:8779/v2.0/1234", "http://host:8779/1234", "ftp://host/v1.0/1234", "v1.0/1234"],
)
def test_a_base_url_the_contract_does_not_describe_is_refused(base_url: str) -> None:
    with pytest.raises(ValueError, match="base URL"):
        Target(base_url, "t", None, None)


def test_an_empty_token_is_refused() -> None:
    with pytest.raises(ValueError, match="token"):
        Target("http://host:8779/v1.0/1234", "", None, None)


# -- regions (contract section 12) -------------------------------------------------------------

CODES = ("DFW", "IAD", "ORD", "LON", "HKG", "SYD")


@pytest.mark.parametrize(
    ("given", "code", "root"),
    [
        (
            "IAD=https://iad.databases.api.rackspacecloud.com/",
            "IAD",
            "https://iad.databases.api.rackspacecloud.com",
        ),
        (  # REGION= left out: the URL names it
            "https://iad.databases.api.rackspacecloud.com",
            "IAD",
            "https://iad.databases.api.rackspacecloud.com",
        ),
        ("http://127.0.0.1:8779/ord", "ORD", "http://127.0.0.1:8779/ord"),
        ("syd=http://proxy.example/anything", "SYD", "http://proxy.example/anything"),
    ],
)
def test_allow_copy_names_a_region_and_its_root_url(given: str, code: str, root: str) -> None:
    assert parse_allow_copy(given, CODES) == Region(code, root)


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("http://127.0.0.1:8779/v1.0/1234", "without /v1.0"),
        ("https://db.example.com", "names no region"),
        ("XYZ=https://db.example.com", "not a region"),
        ("LON=https://lon.databases.api.rackspacecloud.com", "not copied to LON"),
        ("IAD=iad.databases.api.rackspacecloud.com", "expected"),
        ("http://127.0.0.1:8779/iad?x=1", "expected"),  # a query: no endpoint's root
    ],
)
def test_an_allow_copy_that_names_no_region_to_copy_to_is_refused(given: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_allow_copy(given, CODES)


def test_another_regions_url_is_the_targets_with_the_region_swapped() -> None:
    rackspace = "https://dfw.databases.api.rackspacecloud.com"
    assert named_by(rackspace, CODES) == "DFW"
    assert root_of(rackspace, "DFW", "LON", on_a_mock=False) == (
        "https://lon.databases.api.rackspacecloud.com"
    )
    assert root_of("http://127.0.0.1:8779/iad", "IAD", "ORD", on_a_mock=True) == (
        "http://127.0.0.1:8779/ord"
    )
    # A mock at its root serves its own region there, the others below it.
    assert root_of("http://127.0.0.1:8779", "DFW", "IAD", on_a_mock=True) == (
        "http://127.0.0.1:8779/iad"
    )
    assert root_of("http://127.0.0.1:8779", "DFW", "DFW", on_a_mock=True) == "http://127.0.0.1:8779"
    # A real service whose URL names no region: no other region can be told.
    assert root_of("https://db.example.com", None, "LON", on_a_mock=False) is None


def test_a_mock_copies_to_another_of_its_regions_a_real_service_only_where_allowed() -> None:
    copy_to, elsewhere = reach("http://127.0.0.1:8779", "DFW", CODES, None, on_a_mock=True)
    assert copy_to == Region("IAD", "http://127.0.0.1:8779/iad")
    assert [r.code for r in elsewhere] == ["HKG", "IAD", "LON", "ORD", "SYD"]
    copy_to, _ = reach("http://127.0.0.1:8779/iad", "IAD", CODES, None, on_a_mock=True)
    assert copy_to == Region("ORD", "http://127.0.0.1:8779/ord")
    real = "https://dfw.databases.api.rackspacecloud.com"
    assert reach(real, "DFW", CODES, None, on_a_mock=False) == (None, ())
    given = Region("IAD", "https://iad.example.com")
    copy_to, elsewhere = reach(real, "DFW", CODES, given, on_a_mock=False)
    assert copy_to == given  # the URL given wins over any the run would tell
    assert elsewhere == (given, Region("LON", "https://lon.databases.api.rackspacecloud.com"))
    assert reach(real.replace("dfw", "lon"), "LON", CODES, given, on_a_mock=False)[0] is None


def test_a_target_in_another_region_is_the_same_account_with_nothing_to_back_up() -> None:
    iad = Region("IAD", "http://127.0.0.1:8779/iad")
    base_url = "http://127.0.0.1:8779/v1.0/1234"
    target = Target(base_url, "t", "i", "h", region="DFW", copy_to=iad, elsewhere=(iad,))
    there = target.in_region(iad)
    assert there.url(there.api_path("/backups")) == "http://127.0.0.1:8779/iad/v1.0/1234/backups"
    assert (there.token, there.instance_id, there.ha_id, there.region) == ("t", None, None, "IAD")
    assert there.copy_regions() == frozenset() and target.copy_regions() == {"DFW", "IAD"}
    assert replace(target, read_only=True).copy_regions() == frozenset()


def test_the_control_api_of_a_mock_is_found_from_a_regions_endpoint() -> None:
    with ThreadedServer(create_app(Settings(frozen_clock=True))) as server, httpx.Client() as http:
        found = Control.detect(http, f"{server.url}/iad", CODES)
        assert found is not None and found.root == server.url and found.region() == "DFW"
        assert Control.detect(http, f"{server.url}/nowhere", CODES) is None
