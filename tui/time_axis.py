"""Pure functions of the Time Order axis, computed without a terminal: the range selection
(`range_columns`, `range_with_start` / `range_with_end` for `[` / `]`, `nudged_range` for
`{` / `}`), the time ruler under the density strip, and the strip's binning (`DensityIndex`,
`density_bins`, `sparkline`).
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
import operator
from array import array
from collections.abc import Sequence

from collectors.profile import Profile
from tui.views import Viewport, column

# --- time ranges (Time Order) ---------------------------------------------------------

TimeRange = tuple[float, float]
"""A selected `[start, end)` on a time-order model's x axis (its units: seconds from the
first sample when timed, cumulative weight otherwise)."""


def column_x(view: Viewport, width: int, col: float) -> float:
    """The x at the left edge of cell `col` of a `width`-cell pane showing `view`."""
    return view.start + col * view.width / width if width > 0 else view.start


def range_columns(view: Viewport, width: int, rng: TimeRange) -> tuple[int, int]:
    """The cells `[c0, c1)` that `rng` covers in `view` at `width` cells, clipped to the pane.

    A range narrower than a cell that still lies in the view gets one cell, so it never
    vanishes; a range outside the view gives an empty span at the nearer edge.
    """
    if width <= 0 or view.width <= 0:
        return 0, 0
    scale = width / view.width
    c0 = min(width, max(0, column(rng[0], view.start, scale)))
    c1 = min(width, max(0, column(rng[1], view.start, scale)))
    if c1 <= c0 and rng[1] > view.start and rng[0] < view.end:
        c0 = min(c0, width - 1)
        c1 = c0 + 1
    return c0, c1


def clamp_range(rng: TimeRange | None, lo: float, hi: float) -> TimeRange | None:
    """`rng` ordered and clipped to `[lo, hi]`; None when nothing of it is left."""
    if rng is None:
        return None
    a, b = sorted(rng)
    a, b = max(a, lo), min(b, hi)
    if not (math.isfinite(a) and math.isfinite(b)) or b <= a:
        return None
    return a, b


def range_with_start(rng: TimeRange | None, start: float, end: float) -> TimeRange:
    """`[`: the range now starts at `start` (a frame's start). With no range, or when it
    would end before it starts, the range becomes the frame `[start, end)`."""
    if rng is None or start >= rng[1]:
        return start, end
    return start, rng[1]


def range_with_end(rng: TimeRange | None, start: float, end: float) -> TimeRange:
    """`]`: the range now ends at `end` (a frame's end). With no range, or when it would end
    before it starts, the range becomes the frame `[start, end)`."""
    if rng is None or end <= rng[0]:
        return start, end
    return rng[0], end


def nudged_range(rng: TimeRange, edge: str, delta: float, lo: float, hi: float,
                 min_width: float) -> TimeRange:
    """`rng` with its `edge` ("start" or "end") moved by `delta`, kept inside `[lo, hi]` and
    at least `min_width` wide (an edge stops at the other one, it never crosses it)."""
    a, b = rng
    if edge == "start":
        a = max(lo, min(a + delta, b - min_width))
        return (a, b) if a < b else rng
    b = min(hi, max(b + delta, a + min_width))
    return (a, b) if a < b else rng


# --- the time ruler (under the density strip) ------------------------------------------

RULER_STEPS = (1.0, 2.0, 5.0)
RULER_GAP = 12
"""At least this many cells between two ticks, so their labels never touch."""


def ruler_step(span: float, cells: int) -> float:
    """The tick spacing in seconds: 1, 2 or 5 times a power of ten, the smallest that puts
    ticks at least RULER_GAP cells apart."""
    if span <= 0 or cells <= 0:
        return 1.0
    least = span * RULER_GAP / cells
    power = 10.0 ** math.floor(math.log10(least))
    for mult in (*RULER_STEPS, 10.0):
        if mult * power >= least:
            return mult * power
    return 10.0 * power  # pragma: no cover - the loop ends at 10 × power


def format_seconds(t: float, step: float) -> str:
    """`t` with as many decimals as `step` needs: `0s`, `1.5s`, `0.25s`, `90s`."""
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step < 1 else 0
    return f"{t:.{decimals}f}s"


def time_ruler(start: float, end: float, cells: int) -> str:
    """A `cells`-wide row marking seconds over `[start, end)`: `|` at each tick, its time
    after it (`|0.5s`), ticks 1, 2 or 5 × 10^k s apart; labels that would run past the
    row's end are left out."""
    out = [" "] * max(0, cells)
    if cells <= 0 or not end > start:
        return "".join(out)
    step = ruler_step(end - start, cells)
    scale = cells / (end - start)
    tick = math.ceil(start / step - 1e-9) * step
    while tick < end:
        col = math.floor((tick - start) * scale + 0.5)
        label = "|" + format_seconds(tick, step)
        if col >= 0 and col + len(label) <= cells:
            out[col:col + len(label)] = label
        tick += step
    return "".join(out)


# --- sample density (the strip over Time Order) ---------------------------------------

SPARK_BARS = "▁▂▃▄▅▆▇█"


class DensityIndex:
    """Samples at positions `xs` with `weights`, prepared to be binned again and again.

    Sorting (only when `xs` is not already ascending) and the running sum of the weights
    are done once, in C-level builtins; `bins` then costs a bisection per bin edge, so
    panning and zooming over 100k samples stay cheap.
    """

    def __init__(self, xs: Sequence[float], weights: Sequence[float]) -> None:
        if len(xs) != len(weights):
            raise ValueError("density: as many positions as weights are needed")
        if not all(map(operator.le, xs, itertools.islice(xs, 1, None))):
            order = sorted(range(len(xs)), key=xs.__getitem__)
            xs = list(map(xs.__getitem__, order))
            weights = list(map(weights.__getitem__, order))
        self.xs = xs
        # An array: 8 bytes a sample rather than a float object's 32 (live, one per thread per update).
        self.cumulative = array("d", itertools.accumulate(weights, initial=0.0))

    def __len__(self) -> int:
        return len(self.xs)

    @property
    def total(self) -> float:
        return self.cumulative[-1]

    def bins(self, lo: float, hi: float, bins: int) -> list[float]:
        """The weight in each of `bins` equal bins of `[lo, hi)`: bin i holds the samples with
        `lo + (hi-lo)*i/bins <= x < lo + (hi-lo)*(i+1)/bins`; samples outside are left out."""
        if bins <= 0:
            return []
        if not hi > lo:
            return [0.0] * bins
        span = hi - lo
        edges = [lo + span * i / bins for i in range(bins)]
        edges.append(hi)
        at = list(map(functools.partial(bisect.bisect_left, self.xs), edges))
        cum = self.cumulative
        return [max(0.0, cum[b] - cum[a]) for a, b in itertools.pairwise(at)]


def profile_density(profile: Profile) -> DensityIndex:
    """A profile's samples at their Time Order x (before the origin shift)."""
    weights = profile.weights
    if profile.times is not None:
        return DensityIndex(profile.times, weights)
    starts = list(itertools.accumulate(weights, initial=0.0))
    starts.pop()
    return DensityIndex(starts, weights)


def density_bins(times: Sequence[float], weights: Sequence[float], lo: float, hi: float,
                 bins: int) -> list[float]:
    """The summed weight of the samples at `times` in each of `bins` equal bins of `[lo, hi)`
    (see `DensityIndex.bins`; build a `DensityIndex` to bin the same samples repeatedly)."""
    return DensityIndex(times, weights).bins(lo, hi, bins)


def sparkline(values: Sequence[float], peak: float | None = None) -> str:
    """One character per value: blank for 0 (or less), else one of ▁▂▃▄▅▆▇█ by `value / peak`
    in eighths rounded up, so any non-zero value shows at least ▁ and `peak` is █.
    `peak` defaults to the largest value."""
    top = max(values, default=0.0) if peak is None else peak
    if not top > 0:
        return " " * len(values)
    scale = len(SPARK_BARS) / top
    last = len(SPARK_BARS) - 1
    return "".join(
        SPARK_BARS[min(last, max(0, math.ceil(v * scale) - 1))] if v > 0 else " " for v in values
    )
