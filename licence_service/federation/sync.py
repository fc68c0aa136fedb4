"""The pulling side of the exchange: another region's paged feed, its snapshot and this
region's subscriptions there, each a signed request (``federation.client.call``).

``first_sync`` is what a region does once per peer and type: the whole snapshot, then the
feed from the snapshot's ``feed_cursor`` — every change exactly once — and it returns the
cursor to keep (for the next ``pull_changes`` or a push subscription's start).
"""

from __future__ import annotations

from typing import Any

from licence_service.domain.errors import InvalidInputError
from licence_service.federation.client import call
from licence_service.federation.peers import peer_regions
from licence_service.region.runtime import Runtime

MAX_PAGES = 10_000  # a bound on one sync's requests (a million entries at 100 a page)


def peer_url(rt: Runtime, region: int, url: str | None = None) -> str:
    """``url``, or the region's service from ``LICLEDGER_PEER_REGIONS``."""
    if url:
        return url.rstrip("/")
    found = peer_regions(rt.settings).get(region)
    if found is None:
        raise InvalidInputError(
            f"no service URL for region {region}: pass --from URL or list it in "
            "LICLEDGER_PEER_REGIONS (e.g. 330100=https://hz.example)",
            field="from",
        )
    return found


def _query(type_code: str, cursor: str | None, limit: int, purpose: str | None) -> dict[str, str]:
    query = {"type": type_code, "limit": str(limit)}
    if cursor:
        query["cursor"] = cursor
    if purpose:
        query["purpose"] = purpose
    return query


def pull_changes(
    rt: Runtime, url: str, region: int, type_code: str, cursor: str | None = None,
    limit: int = 100, purpose: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """One page of ``region``'s feed after ``cursor``: ``{"items", "cursor", "more"}``."""
    query = _query(type_code, cursor, limit, purpose)
    page: dict[str, Any] = call(rt, url, "GET", "/api/v1/federation/changes", params=query,
                                to_region=region)  # fmt: skip
    return page


def first_sync(
    rt: Runtime, url: str, region: int, type_code: str, limit: int = 100,
    purpose: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The snapshot and the feed after it: ``{"snapshot", "changes", "cursor"}``."""
    snapshot: list[dict[str, Any]] = []
    cursor: str | None = None
    feed_cursor = ""
    for _ in range(MAX_PAGES):
        page = call(rt, url, "GET", "/api/v1/federation/snapshot",
                    params=_query(type_code, cursor, limit, purpose), to_region=region)  # fmt: skip
        snapshot += page["items"]
        feed_cursor, cursor = page["feed_cursor"], page["cursor"]
        if not cursor:
            break
    changes: list[dict[str, Any]] = []
    for _ in range(MAX_PAGES):
        page = pull_changes(rt, url, region, type_code, feed_cursor, limit, purpose)
        changes += page["items"]
        feed_cursor = page["cursor"]
        if not page["more"]:
            break
    return {"snapshot": snapshot, "changes": changes, "cursor": feed_cursor}


def remote_subscribe(
    rt: Runtime, url: str, region: int, webhook: str, type_code: str, purpose: str = "",
    cursor: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Subscribe this region's ``webhook`` to ``region``'s changes of a type."""
    body = {"url": webhook, "type": type_code, "purpose": purpose, "cursor": cursor}
    made: dict[str, Any] = call(rt, url, "POST", "/api/v1/federation/subscriptions", body,
                                to_region=region)  # fmt: skip
    return made


def remote_subscriptions(rt: Runtime, url: str, region: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = call(rt, url, "GET", "/api/v1/federation/subscriptions",
                                       to_region=region)  # fmt: skip
    return found


def remote_unsubscribe(rt: Runtime, url: str, region: int, subscription: int) -> dict[str, Any]:
    ended: dict[str, Any] = call(rt, url, "DELETE",
                                 f"/api/v1/federation/subscriptions/{subscription}",
                                 to_region=region)  # fmt: skip
    return ended
