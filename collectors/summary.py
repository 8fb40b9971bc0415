"""Whole-file summaries for the headless commands (`top`)."""

from __future__ import annotations

from dataclasses import dataclass

from collectors.calltree import profile_function_totals
from collectors.profile import ProfileGroup, Unit


@dataclass(frozen=True)
class FunctionRow:
    name: str
    file: str | None
    self: float
    total: float
    self_pct: float
    total_pct: float

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name, "file": self.file, "self": self.self, "total": self.total,
            "self_pct": round(self.self_pct, 4), "total_pct": round(self.total_pct, 4),
        }


def top_functions(group: ProfileGroup, by: str = "self", limit: int | None = None) -> list[FunctionRow]:
    """The hottest functions across every profile of the group, heaviest first.

    Profiles share one frame table, so a function's weights add up over threads; the
    percentages are of the weight of all profiles together.
    """
    if by not in ("self", "total"):
        raise ValueError(f"sort by 'self' or 'total', not {by!r}")
    self_w: dict[int, float] = {}
    total: dict[int, float] = {}
    grand = 0.0
    for profile in group.profiles:
        totals = profile_function_totals(profile)
        grand += totals.grand_total
        for f, t in totals.total.items():
            total[f] = total.get(f, 0.0) + t
            self_w[f] = self_w.get(f, 0.0) + totals.self_weight[f]
    key = self_w if by == "self" else total
    other = total if by == "self" else self_w
    order = sorted(total, key=lambda f: (-key[f], -other[f], group.frames[f].name))
    if limit is not None:
        order = order[: max(0, limit)]
    scale = 100.0 / grand if grand > 0 else 0.0
    rows = []
    for f in order:
        frame = group.frames[f]
        rows.append(FunctionRow(frame.name, frame.file, self_w[f], total[f], self_w[f] * scale, total[f] * scale))
    return rows


def group_unit(group: ProfileGroup) -> Unit:
    units = {p.unit for p in group.profiles}
    return units.pop() if len(units) == 1 else Unit.NONE
