"""A base URL names the service root, the version and the account."""

from __future__ import annotations

import pytest

from contract_tests.target import Target


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
