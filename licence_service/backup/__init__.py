"""Backup and restore of one region: database, keys, PDFs, deployment record, settings."""

from licence_service.backup.archive import DamagedArchiveError
from licence_service.backup.service import (
    BackupResult,
    RestoreResult,
    backup_region,
    restore_region,
)

__all__ = [
    "BackupResult",
    "DamagedArchiveError",
    "RestoreResult",
    "backup_region",
    "restore_region",
]
