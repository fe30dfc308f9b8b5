"""The target: where the service under test lives, and what the suite may use there."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from contract_tests.regions import Region

VERSION = "v1.0"  # the only version openapi.yaml describes
_TAIL = re.compile(r"^(?P<prefix>.*)/(?P<version>[^/]+)/(?P<account>[^/]+)/?$")


@dataclass(frozen=True)
class Target:
    base_url: str  # <root>/v1.0/<account>, as a client is configured with it
    token: str
    instance_id: str | None  # an ACTIVE single instance of the account, to back up
    ha_id: str | None  # an ACTIVE HA instance of the account, to back up
    read_only: bool = False  # no create, no delete
    # It may create instances (restores), and delete those it created: a real instance each, on
    # a real service, so only when asked (--allow-restore) or on a mock.
    restores: bool = False
    region: str | None = None  # its region's code, when known (its URL names it, or a mock says)
    # Where the run may copy backups (None: nowhere): on a real service a real copy each, so only
    # when asked (--allow-copy), or on a mock (another region of it).
    copy_to: Region | None = None
    # The other regions whose backups the run can read, and delete its own copies in.
    elsewhere: tuple[Region, ...] = ()

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url)
        found = _TAIL.match(parts.path)
        if parts.scheme not in ("http", "https") or not parts.netloc or found is None:
            raise ValueError(
                f"base URL {self.base_url!r}: expected http(s)://<host>[/<prefix>]/{VERSION}/<account>"
            )
        if found["version"] != VERSION:
            raise ValueError(f"base URL {self.base_url!r}: the contract describes {VERSION} only")
        if not self.token:
            raise ValueError("the token must not be empty")

    @property
    def root(self) -> str:
        """The URL the spec's paths (`/v1.0/{accountId}/...`) are relative to."""
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}{self._match()['prefix']}"

    @property
    def account(self) -> str:
        return self._match()["account"]

    def url(self, path: str) -> str:
        """The URL of `path`, a path below the root (`/v1.0/1234/backups`, `/__mock/clock`)."""
        return self.root + path

    def api_path(self, path: str) -> str:
        """The path below the root of `path`, a path below the account (`/backups`)."""
        return f"/{VERSION}/{self.account}{path}"

    def reach(self, code: str) -> Region | None:
        """Another region the run can reach (None: it cannot)."""
        return next((region for region in self.elsewhere if region.code == code), None)

    def copy_regions(self) -> frozenset[str]:
        """The regions a copy may name: where the run can find (and delete) what it makes."""
        if self.copy_to is None or self.read_only:
            return frozenset()
        own = {self.region} if self.region is not None else set()
        return frozenset({region.code for region in self.elsewhere} | own)

    def in_region(self, region: Region) -> Target:
        """The same account and token in another region: nothing to back up there."""
        base_url = f"{region.root}/{VERSION}/{self.account}"
        return Target(base_url, self.token, None, None, self.read_only, region=region.code)

    def _match(self) -> re.Match[str]:
        found = _TAIL.match(urlsplit(self.base_url).path)
        assert found is not None  # checked in __post_init__
        return found
