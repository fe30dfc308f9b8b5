"""Regions (contract section 12): which region a URL names, the root URL of another region, and
the `--allow-copy` option.

A client points at a region by the root URL of its endpoint: `https://iad.databases.api.
rackspacecloud.com`, or a mock's `http://127.0.0.1:8779/iad` (a mock also serves its own region
at its root). The URL of another region is the same URL with the region swapped: the first label
of its host, or the last segment of its path; a mock served at its root has the others below it.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

NO_COPIES = "LON"  # backups are not copied from or to LON (post-action-backup-copy.rst)
_VERSION_SEGMENT = re.compile(r"(^|/)v\d+(\.\d+)?(/|$)")


@dataclass(frozen=True)
class Region:
    code: str  # upper case, as `target_backup_region` names it: IAD
    root: str  # the root URL of its endpoint, no final slash


def named_by(url: str, codes: Collection[str]) -> str | None:
    """The region a root URL names: the last segment of its path (`.../iad`) or the first label
    of its host (`iad.databases...`); None when it names none."""
    parts = urlsplit(url)
    segments = [segment for segment in parts.path.split("/") if segment]
    words = [segments[-1] if segments else "", (parts.hostname or "").split(".")[0]]
    return next((w.upper() for w in words if w.upper() in codes), None)


def swapped(root: str, own: str, code: str) -> str | None:
    """The root URL of region `code`, from `root`, the root of region `own`, when it names it (in
    the last segment of its path, or the first label of its host); None when it does not."""
    parts = urlsplit(root)
    path = parts.path.rstrip("/")
    head, _, last = path.rpartition("/")
    if last.upper() == own:
        return urlunsplit((parts.scheme, parts.netloc, f"{head}/{code.lower()}", "", ""))
    userinfo, at, hostport = parts.netloc.rpartition("@")
    label, dot, rest = hostport.partition(".")
    if label.upper() == own and dot:
        netloc = f"{userinfo}{at}{code.lower()}.{rest}"
        return urlunsplit((parts.scheme, netloc, path, "", ""))
    return None


def root_of(root: str, own: str | None, code: str, on_a_mock: bool) -> str | None:
    """The root URL of region `code` seen from `root`, the root of the target's region `own`:
    the URL swapped; or, on a mock served at its root (which names no region), the region's
    prefix below it. None when it cannot be told."""
    if code == own:
        return root
    found = swapped(root, own, code) if own is not None else None
    if found is None and on_a_mock and named_by(root, (own,) if own else ()) is None:
        return f"{root.rstrip('/')}/{code.lower()}"
    return found


def parse_allow_copy(text: str, codes: Collection[str]) -> Region:
    """`--allow-copy [REGION=]URL`: the region copies go to and the root URL of its endpoint
    (`IAD=https://iad.databases.api.rackspacecloud.com`, `http://127.0.0.1:8779/iad`). REGION
    may be left out when the URL names it. ValueError says what is wrong."""
    code, equals, url = text.partition("=")
    if not equals or "/" in code:  # the URL alone (whose query may hold an "=")
        code, url = "", text
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"{url!r}: expected [REGION=]http(s)://<host>[/<prefix>]")
    if _VERSION_SEGMENT.search(parts.path):
        raise ValueError(
            f"{url!r}: give the root URL of the region's endpoint, without /v1.0/<account>"
        )
    code = code.strip().upper() or named_by(url, codes) or ""
    if not code:
        raise ValueError(f"{url!r} names no region: give it as REGION=URL (IAD={url}, say)")
    if code not in codes:
        raise ValueError(f"{code} is not a region: one of {', '.join(codes)}")
    if code == NO_COPIES:
        raise ValueError("backups are not copied to LON (contract section 12)")
    return Region(code, url)


def default_copy_region(own: str | None, codes: Collection[str]) -> str:
    """Where a run copies on a mock when not told: IAD, or ORD when the mock is IAD."""
    return next(code for code in ("IAD", "ORD", *codes) if code not in (own, NO_COPIES))


def reach(
    root: str,
    own: str | None,
    codes: Collection[str],
    allowed: Region | None,
    on_a_mock: bool,
) -> tuple[Region | None, tuple[Region, ...]]:
    """Where a run whose target is `root` (of region `own`) copies backups (None: nowhere), and
    the other regions it reaches: on a mock every one (copies to the region `allowed` names, or
    to `default_copy_region`); on a real service only the one `allowed` names (--allow-copy),
    and LON when its URL can be told (a copy there is refused, but one wrongly made is found)."""
    if own == NO_COPIES:
        allowed = None  # nothing is copied from LON
    elif allowed is None and on_a_mock:
        code = default_copy_region(own, codes)
        found = root_of(root, own, code, on_a_mock)
        allowed = Region(code, found) if found is not None else None
    if on_a_mock:
        others = [code for code in codes if code != own]
    else:
        others = [NO_COPIES] if allowed is not None else []
    elsewhere = {allowed.code: allowed} if allowed is not None else {}
    for code in others:
        found = root_of(root, own, code, on_a_mock)
        if found is not None:
            elsewhere.setdefault(code, Region(code, found))
    return allowed, tuple(sorted(elsewhere.values(), key=lambda region: region.code))
