"""`licledger user …`: person accounts and their personal API tokens.

Whoever runs these commands holds the region's data directory (and so its keys): they are
the operator, logged as ``cli:<login>``. Secrets are printed once, by the command that makes
them, and stored only as hashes.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from licence_service.cli.common import (
    DataDir,
    JsonOut,
    app,
    handled,
    out,
    print_json,
    runtime,
    show,
)
from licence_service.people.identity import parse_roles
from licence_service.people.passwords import generate_password
from licence_service.people.service import (
    DEFAULT_TOKEN_DAYS,
    FirstAdmin,
    IssuedToken,
    add_person,
    disable_person,
    ensure_region_admin,
    issue_token,
    list_people,
    list_tokens,
    revoke_token,
)
from licence_service.people.signin import unlock_person
from licence_service.region.runtime import Runtime

user_app = typer.Typer(help="People: accounts, roles and personal tokens.", no_args_is_help=True)
token_app = typer.Typer(help="Personal API tokens (shown once, stored hashed).",
                        no_args_is_help=True)  # fmt: skip
app.add_typer(user_app, name="user")
user_app.add_typer(token_app, name="token")

DaysOpt = Annotated[int, typer.Option(help="Days until the token expires.")]


def _token_info(issued: IssuedToken) -> dict[str, Any]:
    return {
        "token": issued.token,
        "token_prefix": issued.prefix,
        "token_expires_at": issued.expires_at.isoformat(timespec="seconds"),
    }


def _rows(rows: list[dict[str, Any]], as_json: bool, columns: tuple[str, ...]) -> None:
    if as_json:
        print_json(rows)
        return
    for row in rows:
        out.print("  ".join(str(row[c]) for c in columns), highlight=False, markup=False)


@user_app.command("add")
@handled
def user_add(
    username: Annotated[str, typer.Argument(help="Login name (a-z 0-9 . _ -).")],
    unit: Annotated[str, typer.Option(help="'region', 'audit' or an agency code set up here.")],
    role: Annotated[
        list[str],
        typer.Option(help="window_staff, issuer, agency_admin, auditor or region_admin (repeat)."),
    ],
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    token: Annotated[bool, typer.Option("--token", help="Also issue a personal token.")] = False,
    days: DaysOpt = DEFAULT_TOKEN_DAYS,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Add a person; a generated password (and --token) are printed once."""
    rt = runtime(data_dir)
    password = sys.stdin.readline().rstrip("\n") if password_stdin else generate_password()
    person = add_person(rt, username, unit, parse_roles(role), name, password)
    info: dict[str, Any] = person.to_json()
    if not password_stdin:
        info["password"] = password
    if token:
        info.update(_token_info(issue_token(rt, username, days, "licledger user add")))
    show(info, as_json)


@user_app.command("list")
@handled
def user_list(
    agency: Annotated[str | None, typer.Option(help="Only this agency's people.")] = None,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Everyone with an account here (no secrets)."""
    rows = []
    for p in list_people(runtime(data_dir), agency):
        row = p.to_json()
        row["roles"] = ",".join(p.to_json()["roles"])  # type: ignore[arg-type]
        row["state"] = "disabled" if p.disabled else "active"
        rows.append(row)
    _rows(rows, as_json, ("username", "unit", "roles", "state", "display_name"))


@user_app.command("disable")
@handled
def user_disable(
    username: Annotated[str, typer.Argument(help="Login name.")],
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Disable a person: their password, every token and every page session stop at once."""
    show(disable_person(runtime(data_dir), username).to_json(), as_json)


@user_app.command("unlock")
@handled
def user_unlock(
    username: Annotated[str, typer.Argument(help="Login name.")],
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Clear a person's failed sign-ins, so they may sign in again at once."""
    cleared = unlock_person(runtime(data_dir), username)
    show({"username": username, "cleared_failures": cleared, "state": "unlocked"}, as_json)


@token_app.command("issue")
@handled
def token_issue(
    username: Annotated[str, typer.Argument(help="Whose token.")],
    days: DaysOpt = DEFAULT_TOKEN_DAYS,
    label: Annotated[str, typer.Option(help="What the token is for.")] = "",
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Issue a personal API token (printed once; only its hash is kept)."""
    show({"username": username, **_token_info(issue_token(runtime(data_dir), username, days,
                                                          label))}, as_json)  # fmt: skip


@token_app.command("list")
@handled
def token_list(
    username: Annotated[str | None, typer.Argument(help="Whose tokens (default all).")] = None,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Tokens by prefix, with owner, state and expiry (never the secret)."""
    rows = list_tokens(runtime(data_dir), username)
    _rows(rows, as_json, ("prefix", "username", "state", "expires_at", "label"))


@token_app.command("revoke")
@handled
def token_revoke(
    prefix: Annotated[str, typer.Argument(help="The token's prefix (see `token list`).")],
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Revoke a token; it stops working at once."""
    revoke_token(runtime(data_dir), prefix)
    show({"prefix": prefix, "state": "revoked"}, as_json)


def first_admin(rt: Runtime, username: str) -> dict[str, Any]:
    """For `licledger init`: create the first region administrator if there is none."""
    created: FirstAdmin | None = ensure_region_admin(rt, username)
    if created is None:
        return {}
    return {
        "admin": {
            **created.person.to_json(),
            "password": created.password,
            **_token_info(created.token),
        }
    }


def print_first_admin(info: dict[str, Any]) -> None:
    admin = info.get("admin")
    if not admin:
        return
    out.print(
        f"region administrator {admin['username']} created; one-time credentials "
        "(shown only now, stored only as hashes):",
        markup=False,
    )
    out.print(f"  password: {admin['password']}", markup=False, highlight=False)
    out.print(f"  token:    {admin['token']}", markup=False, highlight=False)
    out.print(f"  expires:  {admin['token_expires_at']}", markup=False, highlight=False)
