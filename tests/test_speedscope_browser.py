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
