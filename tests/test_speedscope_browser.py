"""The real speedscope app (npm speedscope@1.25.0 in headless Chromium) loads what we export.

Needs `make setup` (Chromium from Debian, speedscope from npm); without them these tests fail,
not skip, because CI runs the set-up first.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.speedscope_expected import PROFILES as FIXTURES

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent


def _load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("speedscope_load", REPO / "scripts" / "speedscope_load.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


tool = _load_tool()


def load(path: Path) -> Any:
    """Load `path` in speedscope, failing (not skipping) when the tools are not installed."""
    try:
        return tool.load_in_speedscope(path)
    except tool.SpeedscopeUnavailable as exc:
        pytest.fail(f"{exc} (the browser test needs Chromium and the speedscope npm package)")


def test_speedscope_loads_its_own_sample_file() -> None:
    """speedscope's own 0.6.0 sample file loads, and the title shows its profile group name."""
    result = load(FIXTURES / "speedscope" / "0.6.0" / "two-sampled.speedscope.json")
    assert result == tool.SpeedscopeResult(title="Two Samples - speedscope", error=None)


def test_speedscope_reports_a_file_it_cannot_read(tmp_path: Path) -> None:
    """A JSON file in no known format is reported as an error, and no profile is shown."""
    bad = tmp_path / "bad.json"
    bad.write_text('{"foo": 1}')
    result = load(bad)
    assert result.title == "speedscope"
    assert result.error is not None and "Unrecognized format" in result.error


def test_speedscope_reports_an_importer_crash(tmp_path: Path) -> None:
    """A speedscope file whose sample points at a missing frame makes speedscope's importer fail."""
    bad = tmp_path / "bad.speedscope.json"
    bad.write_text(
        '{"$schema": "https://www.speedscope.app/file-format-schema.json", "shared": {"frames": []},'
        ' "profiles": [{"type": "sampled", "name": "x", "unit": "none", "startValue": 0,'
        ' "endValue": 1, "samples": [[5]], "weights": [1]}]}'
    )
    result = load(bad)
    assert result.title == "speedscope"
    assert result.error is not None and result.error.startswith("Something went wrong")


def test_speedscope_loads_our_export(tmp_path: Path) -> None:
    """A folded-stacks file read by us and written with our speedscope writer loads in speedscope."""
    from collectors.formats import folded, speedscope, text

    source = FIXTURES / "stackcollapse" / "simple.txt"
    group = folded.read(text.decode_text(source.read_bytes()), "simple.txt")
    out = tmp_path / "simple.speedscope.json"
    out.write_text(speedscope.dumps(group, "bpfscope-test"), encoding="utf-8")
    result = load(out)
    assert result == tool.SpeedscopeResult(title="simple.txt - speedscope", error=None)


_SCALE = {"s": 1.0, "ms": 1e-3, "µs": 1e-6, "ns": 1e-9}


def shown_value(text: str, seconds_per_unit: float | None) -> tuple[float, float]:
    """A value as speedscope's table shows it (`1,234`, `12.50ms`, `1.20s`, `1:05`), with half of its last
    digit: (value in the profile's unit, how far off the display may be)."""
    import re

    number = text.split(" (")[0]
    if seconds_per_unit is None:
        return float(number.replace(",", "")), 0.0005
    if ":" in number:
        minutes, seconds = number.split(":")
        return (int(minutes) * 60 + int(seconds)) / seconds_per_unit, 1 / seconds_per_unit
    m = re.fullmatch(r"(-?[0-9.]+)(s|ms|µs|ns)", number)
    assert m is not None, text
    scale = _SCALE[m.group(2)] / seconds_per_unit
    return float(m.group(1)) * scale, 0.005 * scale


def assert_sandwich_matches_ours(group: Any, tmp_path: Path) -> int:
    """Each profile of `group` exported and opened in speedscope's Sandwich view (made the active one in
    turn): every function's total and self there are ours. Returns the number of rows compared."""
    import json

    from collectors.calltree import profile_function_totals
    from collectors.formats import speedscope

    doc = json.loads(speedscope.dumps(group, "bpfscope-test"))
    compared = 0
    for index, profile in enumerate(group.profiles):
        doc["activeProfileIndex"] = index
        out = tmp_path / f"export-{index}.speedscope.json"
        out.write_text(json.dumps(doc), encoding="utf-8")
        rows = tool.sandwich_rows(out)
        totals = profile_function_totals(profile)
        ours = {group.frames[f].name: (totals.total[f], totals.self_weight[f]) for f in totals.total}
        assert sorted(r.name for r in rows) == sorted(ours), (index, rows)
        per = profile.unit.seconds_per_unit
        for row in rows:
            total, total_slack = shown_value(row.total, per)
            self_, self_slack = shown_value(row.self, per)
            assert total == pytest.approx(ours[row.name][0], abs=total_slack), (index, row)
            assert self_ == pytest.approx(ours[row.name][1], abs=self_slack), (index, row)
            compared += 1
    return compared


def test_speedscope_shows_our_totals_for_a_timed_multi_thread_export(tmp_path: Path) -> None:
    """Two threads in seconds, with sample times and recursion: speedscope's Sandwich table shows, for
    each thread, the per-function totals and self times we compute."""
    from tests.test_collectors.formats.test_pprof_go import timed_threads

    assert assert_sandwich_matches_ours(timed_threads(), tmp_path) == 8


def test_speedscope_shows_our_totals_for_an_off_cpu_export(tmp_path: Path) -> None:
    """An off-CPU capture (on- and off-CPU profiles of two threads, in seconds): speedscope's Sandwich
    table shows our totals for every profile."""
    from tests.test_collectors.formats.test_pprof_go import off_cpu_threads

    assert assert_sandwich_matches_ours(off_cpu_threads(), tmp_path) == 10
