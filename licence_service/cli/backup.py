"""`licledger backup DEST` and `licledger restore SRC --home DIR`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from licence_service.cli.common import DataDir, JsonOut, app, handled, show
from licence_service.region.settings import load_settings


@app.command("backup")
@handled
def backup_cmd(
    dest: Annotated[Path, typer.Argument(help="The archive to write (a new file, .tar.gz).")],
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Back the region up into one archive: database, keys (still encrypted), PDFs,
    deployment record and settings, with a SHA-256 manifest; written atomically."""
    from licence_service.backup import backup_region

    res = backup_region(load_settings(data_dir), dest)
    show(
        {
            "archive": str(res.archive),
            "bytes": res.bytes,
            "files": res.files,
            "database": res.database,
            "seconds": round(res.seconds, 3),
        },
        as_json,
    )


@app.command("restore")
@handled
def restore_cmd(
    src: Annotated[Path, typer.Argument(help="A backup archive made by `licledger backup`.")],
    home: Annotated[
        Path,
        typer.Option(
            "--home", help="The data directory to restore into (new or empty).", show_default=False
        ),
    ],
    as_json: JsonOut = False,
) -> None:
    """Restore a backup into a new data directory (and the empty database that
    LICLEDGER_DATABASE_URL names, else the directory's SQLite file). A damaged archive or a
    non-empty target is refused and nothing is changed."""
    from licence_service.backup import restore_region

    res = restore_region(load_settings(home), src)
    show(
        {
            "home": str(res.home),
            "files": res.files,
            "database": res.database,
            "pdf_paths_moved": res.paths_moved,
            "backed_up_from": res.source_home,
            "backed_up_at": res.created,
            "settings_at_backup": res.settings,
            "seconds": round(res.seconds, 3),
        },
        as_json,
    )
