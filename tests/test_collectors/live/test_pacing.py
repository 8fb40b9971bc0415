"""How often the bcc collector wakes up: its fixed cost, which decides its CPU use at low rates.

A wake-up costs about a millisecond whatever it finds, so the worker drains the ring, checks
the target and looks for new modules in one timed wake-up, as rarely as the ring allows.
"""

from __future__ import annotations

import pytest

from collectors.live.base import MAX_DRAIN_INTERVAL, MIN_DRAIN_INTERVAL, drain_interval
from collectors.live.bcc_collector import ring_pages, ring_seconds
from collectors.live.records import FULL_RECORD


def test_drain_interval_is_a_quarter_of_the_fill_time_within_bounds() -> None:
    """A quarter of the worst-case fill time, never above half a second nor below the floor."""
    assert drain_interval(1.0) == pytest.approx(0.25)
    assert drain_interval(10.0) == MAX_DRAIN_INTERVAL == 0.5
    assert drain_interval(0.01) == MIN_DRAIN_INTERVAL


def test_99hz_on_two_cpus_wakes_twice_a_second() -> None:
    """At the default rate on a machine like CI's (1 or 2 CPUs) the worker drains every 0.5 s."""
    for cpus in (1, 2):
        assert drain_interval(ring_seconds(99, cpus)) == 0.5


def test_999hz_ring_outlasts_four_drains_of_full_size_samples() -> None:
    """At 999 Hz the ring holds four drain intervals of samples that all have two full stacks,
    so a late drain loses nothing; on 2 CPUs that is a drain every quarter second."""
    for cpus in (1, 2, 8, 32):
        interval = drain_interval(ring_seconds(999, cpus))
        holds = ring_pages(999, cpus) * 4096 / FULL_RECORD / (999 * cpus)  # seconds of samples
        assert holds >= 4 * interval * (1 - 1e-9), cpus
    assert drain_interval(ring_seconds(999, 2)) == pytest.approx(0.25, abs=0.01)


# How often the worker really wakes up, and its CPU cost, are figures: `make bench` measures them
# (bench/live_bench.py, `wakeups_per_second`), not `make test`.
