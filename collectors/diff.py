"""Comparing two profile files function by function, in percent of each file's total.

Two captures rarely have the same length or sample rate, so a function's weight is only
comparable as a share: self and total in percent of all the weight of its own file (every
profile, i.e. thread, together). Functions are matched across files by (name, file): frame
ids and line numbers mean nothing from one file to the other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from collectors.profile import ProfileGroup

FunctionKey = tuple[str, str | None]


@dataclass(frozen=True)
class FunctionShares:
    """Self and total percent per (name, file) of one group (recursion counted once per sample)."""

    self_pct: dict[FunctionKey, float]
    total_pct: dict[FunctionKey, float]


def function_shares(group: ProfileGroup) -> FunctionShares:
    frames = group.frames
    key_of = [(fr.name, fr.file) for fr in frames]
    self_w: dict[FunctionKey, float] = {}
    total_w: dict[FunctionKey, float] = {}
    weights: list[float] = []
    for profile in group.profiles:
        weights.extend(profile.weights)
        stacks = profile.stacks.stacks
        for sid, w in profile.stack_weights().items():
            stack = stacks[sid]
            if not stack:
                continue
            leaf = key_of[stack[-1]]
            self_w[leaf] = self_w.get(leaf, 0.0) + w
            for key in set(map(key_of.__getitem__, stack)):
                total_w[key] = total_w.get(key, 0.0) + w
    grand = math.fsum(weights)
    scale = 100.0 / grand if grand > 0 else 0.0
    return FunctionShares({k: self_w.get(k, 0.0) * scale for k in total_w},
                          {k: v * scale for k, v in total_w.items()})


@dataclass(frozen=True)
class DiffRow:
    name: str
    file: str | None
    self_pct_base: float
    self_pct_new: float
    total_pct_base: float
    total_pct_new: float

    @property
    def self_pct_delta(self) -> float:
        return self.self_pct_new - self.self_pct_base

    @property
    def total_pct_delta(self) -> float:
        return self.total_pct_new - self.total_pct_base

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name, "file": self.file,
            "self_pct_base": round(self.self_pct_base, 4), "self_pct_new": round(self.self_pct_new, 4),
            "self_pct_delta": round(self.self_pct_delta, 4),
            "total_pct_base": round(self.total_pct_base, 4), "total_pct_new": round(self.total_pct_new, 4),
            "total_pct_delta": round(self.total_pct_delta, 4),
        }


def diff_functions(base: ProfileGroup, new: ProfileGroup, limit: int | None = None) -> list[DiffRow]:
    """Every function of either file, by the absolute change of its total share, largest first
    (ties: the absolute change of self, then name and file)."""
    b, n = function_shares(base), function_shares(new)
    keys = list(b.total_pct)
    keys.extend(k for k in n.total_pct if k not in b.total_pct)
    rows = [DiffRow(name, file, b.self_pct.get((name, file), 0.0), n.self_pct.get((name, file), 0.0),
                    b.total_pct.get((name, file), 0.0), n.total_pct.get((name, file), 0.0))
            for name, file in keys]
    rows.sort(key=lambda r: (-abs(r.total_pct_delta), -abs(r.self_pct_delta), r.name, r.file or ""))
    return rows if limit is None else rows[: max(0, limit)]
