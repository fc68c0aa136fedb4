"""One region's running parts: settings, keys at rest, the runtime that assembles database,
chain and verifier, and the idempotent set-up (chain, region authority, agencies).
"""

from licence_service.region.bootstrap import chain_up, init_region
from licence_service.region.runtime import Runtime
from licence_service.region.settings import ConfigError, Settings, load_settings

__all__ = [
    "ConfigError",
    "Runtime",
    "Settings",
    "chain_up",
    "init_region",
    "load_settings",
]
