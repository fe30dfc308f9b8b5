"""Walking a list page by page, whatever the page size, returns every backup exactly once,
newest first (read-only: it works on any account)."""

from __future__ import annotations

import pytest

from contract_tests import pages
from contract_tests.api import Api

LISTS = ["account", "instance", "ha"]


@pytest.mark.parametrize("which", LISTS)
def test_walking_the_pages_returns_every_backup_once(api: Api, which: str) -> None:
    if which == "account":
        path = api.path("/backups")
    else:
        sources = [s for s in api.sources() if s.kind == which]
        if not sources:
            pytest.skip(f"no {which} given")
        path = sources[0].list_path(api)
    pages.pages_return_every_item_once(api, path)
