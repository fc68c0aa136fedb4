"""Other regions' services this region's window asks (``LICLEDGER_PEER_REGIONS``).

The directory on chain names member regions and their accounts, not where their services
listen; an operator lists them: ``440300=https://sz.example,110100=https://bj.example``.
"""

from __future__ import annotations

from licence_service.region.settings import ConfigError, Settings

__all__ = ["peer_regions"]


def peer_regions(settings: Settings) -> dict[int, str]:
    """Region code -> base URL; ``ConfigError`` naming the variable for a malformed entry."""
    out: dict[int, str] = {}
    for entry in filter(None, (e.strip() for e in settings.peer_regions.split(","))):
        code, _, url = entry.partition("=")
        if not (code.strip().isdigit() and len(code.strip()) == 6) or not url.strip().startswith(
            ("http://", "https://")
        ):
            raise ConfigError(
                f"LICLEDGER_PEER_REGIONS: {entry!r} is not REGION=URL (e.g. "
                "440300=https://sz.example)"
            )
        out[int(code)] = url.strip().rstrip("/")
    return out
