"""Live sampling: a `Collector` interface with a bcc (eBPF) and a `perf` implementation.

`start_collector` (in `choose`) picks one; `ProfileBuilder` turns its batches into a
`ProfileGroup`. Nothing here imports bcc until a bcc collector starts.
"""

from __future__ import annotations

from collectors.live.base import (
    DEFAULT_FREQUENCY,
    MAX_FREQUENCY,
    Collector,
    CollectorError,
    CollectorStats,
    CommandIO,
    SampleBatch,
    Target,
    TargetError,
    ThreadInfo,
)
from collectors.live.batches import BatchAssembler, ProfileBuilder

__all__ = [
    "DEFAULT_FREQUENCY",
    "MAX_FREQUENCY",
    "BatchAssembler",
    "Collector",
    "CollectorError",
    "CollectorStats",
    "CommandIO",
    "ProfileBuilder",
    "SampleBatch",
    "Target",
    "TargetError",
    "ThreadInfo",
]
