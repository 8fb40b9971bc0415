"""Comparing our readers with what speedscope's own importers produced.

`../shared/fixtures/speedscope/expected/<importer>.expected.json` holds, per case, the
profiles speedscope imported: every frame with its self and total weight, and the samples
in time order as `root;...;leaf <weight>` (weights formatted the way speedscope shows them).
`summarize` turns one of our profiles into the same shape, so a test can compare them.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from collectors.calltree import profile_function_totals, time_order_runs
from collectors.profile import Profile
from collectors.units import format_value

SHARED = Path(os.environ.get("BPFSCOPE_SHARED", Path(__file__).resolve().parents[2] / "shared"))
FIXTURES = SHARED / "fixtures" / "speedscope"
PROFILES = FIXTURES / "profiles"
EXPECTED = FIXTURES / "expected"


def expected_case(importer: str, case: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXPECTED / f"{importer}.expected.json").read_text())
    return data[case]  # type: ignore[no-any-return]


@dataclass
class Summary:
    name: str
    frames: dict[str, tuple[float, float]]
    """frame key (`name` or `name (file)`) -> (self, total)."""
    stacks: list[str]


def frame_key(name: str, file: str | None) -> str:
    return f"{name} ({file})" if file else name


def summarize(profile: Profile, *, weights: bool = True) -> Summary:
    """Our profile in the expected shape; `weights=False` leaves weights off the stacks."""
    totals = profile_function_totals(profile)
    frames: dict[str, tuple[float, float]] = {}
    for fid, total in totals.total.items():
        f = profile.frames[fid]
        frames[frame_key(f.name, f.file)] = (totals.self_weight[fid], total)
    stacks = []
    for stack, w in time_order_runs(profile):
        names = ";".join(profile.frames[f].name for f in stack)
        stacks.append(f"{names} {format_value(w, profile.unit)}" if weights else names)
    return Summary(profile.name, frames, stacks)


def expected_summary(raw: dict[str, Any], *, weights: bool = True) -> Summary:
    frames = {
        frame_key(f["name"], f.get("file")): (float(f["self"]), float(f["total"]))
        for f in raw["frames"]
        if f["total"] or f["self"]
    }
    stacks = list(raw["stacks"]) if weights else [_strip_weight(s) for s in raw["stacks"]]
    return Summary(raw["name"], frames, stacks)


def _strip_weight(s: str) -> str:
    # Weights look like `2`, `1.50ms` or `12.00 KB`: strip the last one or two tokens.
    head, _, tail = s.rpartition(" ")
    if tail in ("B", "KB", "MB", "GB"):
        head, _, _ = head.rpartition(" ")
    return head


def assert_frames_close(ours: dict[str, tuple[float, float]], theirs: dict[str, tuple[float, float]],
                        rel: float = 1e-6) -> None:
    assert set(ours) == set(theirs), (sorted(set(ours) ^ set(theirs)))
    for key, (s, t) in theirs.items():
        os_, ot = ours[key]
        assert math.isclose(os_, s, rel_tol=rel, abs_tol=1e-9), (key, "self", os_, s)
        assert math.isclose(ot, t, rel_tol=rel, abs_tol=1e-9), (key, "total", ot, t)
