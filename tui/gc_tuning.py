"""The cyclic garbage collector tuned for a TUI over a large profile.

What is loaded lives as long as the app, and Python's default thresholds make full
collections walk it often enough to stall keys; `run_app` and `run_live` call these before
the app starts (the benchmark too, to measure what users get).
"""

from __future__ import annotations

import gc

GC_THRESHOLDS = (10_000, 50, 100)
"""The cyclic GC's thresholds while the TUI runs. With Python's (700, 10, 10), a full
collection walks every object the views built (trees, layouts, totals) every few hundred
thousand allocations, and one landing on a key took 30-80 ms (measured: Escape's p95 went
from 44 to 12 ms of CPU on the 100k-stack profile with these). Cycles still get collected,
only less often."""


def settle_gc() -> None:
    """What is loaded lives as long as the app: keep the cyclic GC from walking it (freeze), and
    from stalling keys with frequent full collections (thresholds)."""
    gc.collect()
    gc.freeze()
    tune_gc()


def tune_gc() -> None:
    """Full collections rarer (see `GC_THRESHOLDS`): for live sampling, where what is loaded
    keeps growing and there is nothing to freeze yet."""
    gc.set_threshold(*GC_THRESHOLDS)
