"""`licledger exchange …`: the paged feed, the first sync and push subscriptions between regions.

With ``--region`` a command talks to that region's service (a signed request; its URL from
``--from`` or ``LICLEDGER_PEER_REGIONS``); ``subscriptions`` and ``unsubscribe`` without it
act on the subscriptions other regions hold *here*.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from licence_service.cli.common import DataDir, JsonOut, app, handled, out, print_json, runtime

exchange_app = typer.Typer(
    help="Exchange with other regions: paged feed, first sync, push subscriptions.",
    no_args_is_help=True,
)
app.add_typer(exchange_app, name="exchange")

Region = Annotated[int, typer.Option("--region", help="The other region's code (e.g. 330100).")]
OptRegion = Annotated[
    int | None, typer.Option("--region", help="The other region's code; none: this region.")
]
FromUrl = Annotated[
    str | None, typer.Option("--from", help="Its service URL (default: LICLEDGER_PEER_REGIONS).")
]
TypeCode = Annotated[str, typer.Option("--type", help="Licence type code, e.g. BL01.")]
Purpose = Annotated[
    str | None, typer.Option(help="Purpose: data of licences consented to for it, masked.")
]


def _line(sub: dict[str, Any]) -> str:
    purpose = f" for {sub['purpose']!r}" if sub["purpose"] else ""
    counts = "".join(f", {state} {n}" for state, n in sorted(sub.get("deliveries", {}).items()))
    return (
        f"#{sub['id']} region {sub['region']} {sub['type']}{purpose} -> {sub['url']} "
        f"(cursor {sub['cursor']}{counts})"
    )


@exchange_app.command("changes")
@handled
def changes_cmd(
    region: Region, licence_type: TypeCode, from_url: FromUrl = None,
    cursor: Annotated[str | None, typer.Option(help="Cursor of the previous answer.")] = None,
    limit: Annotated[int, typer.Option(help="Entries per page (1-1000).")] = 100,
    purpose: Purpose = None, data_dir: DataDir = None, as_json: JsonOut = False,
) -> None:  # fmt: skip
    """One page of another region's change feed; prints the cursor to continue from."""
    from licence_service.federation.sync import peer_url, pull_changes

    rt = runtime(data_dir)
    page = pull_changes(rt, peer_url(rt, region, from_url), region, licence_type, cursor,
                        limit, purpose)  # fmt: skip
    if as_json:
        print_json(page)
        return
    for e in page["items"]:
        out.print(f"{e['seq']} {e['kind']} {e['licence_id']} {e['status']}", markup=False)
    out.print(f"cursor {page['cursor']}" + (" (more)" if page["more"] else ""), markup=False)


@exchange_app.command("sync")
@handled
def sync_cmd(
    region: Region, licence_type: TypeCode, from_url: FromUrl = None, purpose: Purpose = None,
    data_dir: DataDir = None, as_json: JsonOut = False,
) -> None:  # fmt: skip
    """First sync: another region's snapshot, then its feed from the snapshot on."""
    from licence_service.federation.sync import first_sync, peer_url

    rt = runtime(data_dir)
    got = first_sync(rt, peer_url(rt, region, from_url), region, licence_type, purpose=purpose)
    if as_json:
        print_json(got)
        return
    out.print(
        f"{len(got['snapshot'])} licences in the snapshot, {len(got['changes'])} changes "
        f"after it; continue from cursor {got['cursor']}",
        markup=False,
    )


@exchange_app.command("subscribe")
@handled
def subscribe_cmd(
    region: Region,
    url: Annotated[str, typer.Option("--url", help="This region's webhook for the pushes.")],
    licence_type: TypeCode,
    from_url: FromUrl = None,
    purpose: Annotated[str, typer.Option(help="Purpose (consented data, masked).")] = "",
    cursor: Annotated[
        str | None, typer.Option(help="Start after this cursor (the sync's); default: now.")
    ] = None,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Subscribe this region's webhook to another region's changes (signed pushes)."""
    from licence_service.federation.sync import peer_url, remote_subscribe

    rt = runtime(data_dir)
    made = remote_subscribe(rt, peer_url(rt, region, from_url), region, url, licence_type,
                            purpose, cursor)  # fmt: skip
    print_json(made) if as_json else out.print(_line(made), markup=False)


@exchange_app.command("subscriptions")
@handled
def subscriptions_cmd(
    region: OptRegion = None, from_url: FromUrl = None, data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:  # fmt: skip
    """This region's subscriptions at another region (--region), or other regions' here."""
    from licence_service.federation.subscriptions import list_subscriptions
    from licence_service.federation.sync import peer_url, remote_subscriptions

    rt = runtime(data_dir)
    subs = (
        list_subscriptions(rt)
        if region is None
        else remote_subscriptions(rt, peer_url(rt, region, from_url), region)
    )
    if as_json:
        print_json(subs)
        return
    if not subs:
        out.print("no subscriptions")
    for sub in subs:
        out.print(_line(sub), markup=False)


@exchange_app.command("unsubscribe")
@handled
def unsubscribe_cmd(
    subscription: Annotated[int, typer.Argument(help="Subscription number.")],
    region: OptRegion = None, from_url: FromUrl = None, data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:  # fmt: skip
    """End a subscription: this region's at another (--region), or one held here."""
    from licence_service.federation.subscriptions import unsubscribe
    from licence_service.federation.sync import peer_url, remote_unsubscribe

    rt = runtime(data_dir)
    ended = (
        unsubscribe(rt, subscription)
        if region is None
        else remote_unsubscribe(rt, peer_url(rt, region, from_url), region, subscription)
    )
    print_json(ended) if as_json else out.print(f"ended {_line(ended)}", markup=False)
