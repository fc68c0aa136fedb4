"""Shared pieces of the `licledger` commands: the app, output, error handling, options."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import click
import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.exc import SQLAlchemyError

from ledger_client.errors import LedgerError
from licence_service.domain.errors import ServiceError
from licence_service.region.runtime import Runtime
from licence_service.region.settings import ConfigError, load_settings
from licence_service.store.schema import SchemaError
from signing.errors import SigningError
from verifier.errors import VerificationError

app = typer.Typer(
    name="licledger",
    help="Licence Ledger: signed licence PDFs anchored on a permissioned chain.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
chain_app = typer.Typer(help="Run the embedded chain node.", no_args_is_help=True)
app.add_typer(chain_app, name="chain")
region_app = typer.Typer(
    help="The consortium of regions (on-chain directory).", no_args_is_help=True
)
app.add_typer(region_app, name="region")

out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar="LICLEDGER_HOME",
        help="Folder holding everything the region keeps (default ./.licledger).",
        show_default=False,
    ),
]
JsonOut = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
CaKey = Annotated[
    Path | None,
    typer.Option(
        "--ca-key",
        help="The region CA's key file (region-ca.key.pem) when it is kept offline, outside "
        "the data directory; needed to issue an agency certificate.",
        show_default=False,
    ),
]

F = TypeVar("F", bound=Callable[..., Any])


class ExitWith(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


def handled(fn: F) -> F:
    """Turn every expected error into a readable message and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ExitWith as exc:
            raise typer.Exit(exc.code) from None
        except (typer.Exit, typer.Abort, click.exceptions.ClickException):
            raise  # already reported (e.g. by a command this one called): exit as it says
        except ServiceError as exc:
            where = f" [{exc.field}]" if exc.field else ""
            fail(f"{exc}{where}")
        except (LedgerError, SigningError, VerificationError, ConfigError, OSError) as exc:
            fail(str(exc) or type(exc).__name__)
        except KeyboardInterrupt:
            fail("interrupted")
        except SchemaError as exc:
            fail(str(exc))
        except SQLAlchemyError as exc:
            fail(f"database error: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
        except Exception as exc:  # the last line of defence: no tracebacks on the CLI
            if os.environ.get("LICLEDGER_DEBUG"):
                raise
            fail(
                f"unexpected {type(exc).__name__}: {exc} "
                "(set LICLEDGER_DEBUG=1 to see the traceback and report it)"
            )
        return None

    return wrapper  # type: ignore[return-value]


def fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(2)


def runtime(data_dir: Path | None) -> Runtime:
    return Runtime(load_settings(data_dir))


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2, default=str) + "\n")


def show(info: dict[str, Any], as_json: bool) -> None:
    """One result: JSON, or aligned key: value lines."""
    if as_json:
        print_json(info)
        return
    width = max(len(k) for k in info) if info else 0
    for k, v in info.items():
        out.print(f"{k:>{width}}: {v}", highlight=False, markup=False)


def parse_fields(pairs: list[str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ServiceError(f"--field {pair!r} is not KEY=VALUE", field="field")
        fields[key.strip()] = value
    return fields


def parse_date(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ServiceError(f"{name} {value!r} is not a date like 2026-03-01", field=name) from None


def required_date(value: str, name: str) -> date:
    """A date option the command cannot do without."""
    parsed = parse_date(value, name)
    assert parsed is not None  # parse_date returns None only for None
    return parsed


def required_at(value: str) -> datetime:
    """A time option the command cannot do without."""
    parsed = parse_at(value)
    assert parsed is not None  # parse_at returns None only for None
    return parsed


def read_input(path: Path, field: str) -> bytes:
    """The bytes of a file named on the command line, or a one-line error naming it."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ServiceError(f"cannot read {path}: {exc.strerror}", field=field) from None


def parse_at(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ServiceError(f"--at {value!r} is not a time like 2026-03-01T00:00:00Z") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
