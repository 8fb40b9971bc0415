"""Whole-file summaries for the headless commands (`top`)."""

from __future__ import annotations

from dataclasses import dataclass

from collectors.profile import ProfileGroup, Unit


def round_weight(value: float) -> float | int:
    """A weight for JSON: 12 significant digits, so float noise (`1.1150000000000002`) goes
    and whole counts stay integers."""
    rounded = float(f"{value:.12g}")
    return int(rounded) if rounded.is_integer() and abs(rounded) < 2**53 else rounded


@dataclass(frozen=True)
class FunctionRow:
    name: str
    file: str | None
    self: float
    total: float
    self_pct: float
    total_pct: float
    line: int | None = None
    """The line, when every sample of the function was at one line (else None)."""

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name, "file": self.file, "line": self.line,
            "self": round_weight(self.self), "total": round_weight(self.total),
            "self_pct": round(self.self_pct, 4), "total_pct": round(self.total_pct, 4),
        }

    def location(self) -> str:
        """`file:line`, the file alone, or empty."""
        if not self.file:
            return ""
        return self.file if self.line is None else f"{self.file}:{self.line}"


def top_functions(group: ProfileGroup, by: str = "self", limit: int | None = None) -> list[FunctionRow]:
    """The hottest functions across every profile of the group, heaviest first.

    Profiles share one frame table, so a function's weights add up over threads; the
    percentages are of the weight of all profiles together.

    A function is a (name, file): frames of one function at several lines (py-spy and
    austin name the line running in each frame) are one row, as `py-spy top` and `perf
    report` count them; a function inside itself (recursion, or two of its lines on one
    stack) counts once per sample in its total.
    """
    if by not in ("self", "total"):
        raise ValueError(f"sort by 'self' or 'total', not {by!r}")
    frames = group.frames
    key_ids: dict[tuple[str, str | None], int] = {}
    key_of = [key_ids.setdefault((fr.name, fr.file), len(key_ids)) for fr in frames]
    lines: dict[int, int | None] = {}
    for fid, kid in enumerate(key_of):
        line = frames[fid].line
        lines[kid] = line if kid not in lines or lines[kid] == line else None
    self_w: dict[int, float] = {}
    total: dict[int, float] = {}
    grand = 0.0
    for profile in group.profiles:
        stacks = profile.stacks.stacks
        for sid, w in profile.stack_weights().items():
            grand += w
            stack = stacks[sid]
            if not stack:
                continue
            leaf = key_of[stack[-1]]
            self_w[leaf] = self_w.get(leaf, 0.0) + w
            for k in {key_of[f] for f in stack}:
                total[k] = total.get(k, 0.0) + w
    names = list(key_ids)
    key = self_w if by == "self" else total
    other = total if by == "self" else self_w
    order = sorted(total, key=lambda k: (-key.get(k, 0.0), -other.get(k, 0.0), names[k][0], names[k][1] or ""))
    if limit is not None:
        order = order[: max(0, limit)]
    scale = 100.0 / grand if grand > 0 else 0.0
    rows = []
    for k in order:
        name, file = names[k]
        s = self_w.get(k, 0.0)
        rows.append(FunctionRow(name, file, s, total[k], s * scale, total[k] * scale, lines[k]))
    return rows


def group_unit(group: ProfileGroup) -> Unit:
    units = {p.unit for p in group.profiles}
    return units.pop() if len(units) == 1 else Unit.NONE
