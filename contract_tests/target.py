"""The target: where the service under test lives, and what the suite may use there."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

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

    def _match(self) -> re.Match[str]:
        found = _TAIL.match(urlsplit(self.base_url).path)
        assert found is not None  # checked in __post_init__
        return found
