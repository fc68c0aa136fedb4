"""The anchoring worker: pending leaves in, confirmed batches out, exactly once, crash-safe."""

from licence_service.anchoring.members import member_of
from licence_service.anchoring.worker import (
    AnchorWorker,
    FlushResult,
    wait_anchored,
)

__all__ = [
    "AnchorWorker",
    "FlushResult",
    "member_of",
    "wait_anchored",
]
