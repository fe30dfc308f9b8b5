"""Lists and their pages: walking a list follows its `rel: next` links, and whatever the page
size it returns every item exactly once, newest first."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from contract_tests.checks import CheckFailed, check
from contract_tests.exchange import Exchange

if TYPE_CHECKING:
    from contract_tests.api import Api

MAX_PAGES = 1000
SMALL_WALK = 25  # items compared by the walks with small pages, which cost a request each


def walk(
    api: Api,
    path: str,
    limit: int | None = None,
    most: int | None = None,
    member: str = "backups",
) -> tuple[list[dict[str, Any]], list[Exchange]]:
    """The items of a list (all, or the first `most`), following `rel: next` links, and the
    exchanges made; the items are the answer's `member` (`backups`, `instances`, ...)."""
    base, _, raw_query = path.partition("?")
    query: dict[str, str | int] = dict(parse_qsl(raw_query))
    if limit is not None:
        query["limit"] = limit
    items: list[dict[str, Any]] = []
    exchanges: list[Exchange] = []
    markers: set[str] = set()
    for _ in range(MAX_PAGES):
        page = api.call("GET", base, query=query)
        exchanges.append(page)
        body = page.json()
        if page.status != 200 or not isinstance(body, dict):
            raise CheckFailed("A list cannot be read", f"GET {path} answered {page}", exchanges)
        found = body.get(member, [])
        items += [item for item in found if isinstance(item, dict)]
        following = _next_query(body)
        if following is None or (most is not None and len(items) >= most):
            return items, exchanges
        marker = str(following.get("marker", ""))
        if not found or marker in markers:
            raise CheckFailed(
                "A next link leads nowhere new",
                f"page of {len(found)} items links to marker {marker!r} again",
                exchanges,
            )
        markers.add(marker)
        query = following
    raise CheckFailed("A list never ends", f"{path}: more than {MAX_PAGES} pages", exchanges)


def _next_query(body: dict[str, Any]) -> dict[str, str | int] | None:
    """The query of the `rel: next` link (the suite sends it to its own base URL, never to a
    host a link names, so a token cannot leak)."""
    for link in body.get("links") or []:
        if isinstance(link, dict) and link.get("rel") == "next":
            return dict(parse_qsl(urlsplit(str(link.get("href", ""))).query))
    return None


@check
def pages_return_every_item_once(
    api: Api, path: str, present: Iterable[str] = (), absent: Iterable[str] = ()
) -> None:
    """Walks with several page sizes see the same items, in the same order, each once, newest
    first; `present` ids are among them and `absent` ids are not."""
    whole, exchanges = walk(api, path)
    ids = [item.get("id") for item in whole]
    if len(set(ids)) != len(ids):
        twice = sorted({i for i in ids if ids.count(i) > 1}, key=str)
        raise CheckFailed("A list repeats items", f"{path}: {twice} appear twice", exchanges)
    keys = [(str(item.get("created")), str(item.get("id"))) for item in whole]
    if keys != sorted(keys, reverse=True):
        raise CheckFailed("A list is not newest first", f"{path}: order {ids}", exchanges)
    missing = [i for i in present if i not in ids]
    if missing:
        raise CheckFailed("A list misses backups", f"{path}: {missing} are not listed", exchanges)
    stale = [i for i in absent if i in ids]
    if stale:
        raise CheckFailed("A list shows deleted backups", f"{path}: {stale} are listed", exchanges)
    for limit in (1, 2, 3):
        paged, walked = walk(api, path, limit, most=SMALL_WALK)
        got = [item.get("id") for item in paged][:SMALL_WALK]
        if got != ids[:SMALL_WALK]:
            lost = [i for i in ids[: len(got) + 1] if i not in got]
            raise CheckFailed(
                "Walking the pages does not return every item exactly once",
                f"{path} with limit={limit} gives {got}, the whole list {ids[:SMALL_WALK]};"
                f" missing {lost}",
                walked,
            )
