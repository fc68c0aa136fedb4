"""`licledger db …`: the database schema's revision, and upgrading it after a software update."""

from __future__ import annotations

import typer
from sqlalchemy import Engine, create_engine

from licence_service.cli.common import DataDir, JsonOut, app, handled, out, print_json
from licence_service.domain.errors import ServiceError
from licence_service.region.settings import load_settings

db_app = typer.Typer(help="The database schema: status and upgrade.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _engine(data_dir: DataDir) -> Engine:
    settings = load_settings(data_dir)
    if settings.database_url.startswith("sqlite") and not settings.home.is_dir():
        raise ServiceError(
            f"no data directory at {settings.home}: give --data-dir, or run `licledger init`",
            field="data_dir",
        )
    return create_engine(settings.database_url)


@db_app.command("status")
@handled
def status_cmd(data_dir: DataDir = None, as_json: JsonOut = False) -> None:
    """The schema revision of the database and the one this version runs on."""
    from licence_service.store.schema import head, state

    engine = _engine(data_dir)
    found = state(engine)
    info = {
        "database": engine.url.render_as_string(hide_password=True),
        "revision": found.revision,
        "empty": found.empty,
        "current": head(),
        "up_to_date": found.revision == head(),
    }
    if as_json:
        print_json(info)
        return
    for key, value in info.items():
        out.print(f"{key:>10}: {value}", markup=False, highlight=False)


@db_app.command("upgrade")
@handled
def upgrade_cmd(data_dir: DataDir = None, as_json: JsonOut = False) -> None:
    """Upgrade the schema to this version's revision (stop the region's services first)."""
    from licence_service.store.schema import upgrade

    before, after = upgrade(_engine(data_dir))
    if as_json:
        print_json({"from": before, "to": after})
        return
    out.print(f"schema {before or '(none)'} → {after}", markup=False, highlight=False)
