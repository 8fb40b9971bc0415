"""Every fixture we read survives speedscope export and re-import, and every export is schema-valid.

speedscope tests its importers the same way: import → export → re-import → equal.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import jsonschema
import pytest

from collectors.formats import folded, speedscope
from collectors.formats.detect import LoadError, load_profile
from collectors.formats.output import EXPORTER
from collectors.formats.text import decode_text
from collectors.profile import ProfileGroup
from tests.speedscope_expected import FIXTURES, PROFILES, summarize

SCHEMA = json.loads((FIXTURES / "file-format-schema.json").read_text())

READABLE = sorted(
    str(p.relative_to(PROFILES))
    for pattern in ("stackcollapse/*.txt", "linux-perf/*.txt", "speedscope/[0-9]*/*.json", "Chrome/*/*",
                    "node/*/*.cpuprofile", "trace-event/*.json", "pprof/*")
    for p in PROFILES.glob(pattern)
)


# Fixtures that hold no profile we can show: speedscope imports mismatched-name.json as an
# empty profile; we say "the profile has no samples" (exit 2) rather than open an empty view.
INVALID: set[str] = {"trace-event/mismatched-name.json"}


def totals(group: ProfileGroup) -> list[tuple[str, dict[str, tuple[float, float]], list[str]]]:
    out = []
    for p in group.profiles:
        s = summarize(p, weights=False)
        out.append((p.name, {k: (round(a, 6), round(b, 6)) for k, (a, b) in s.frames.items()}, s.stacks))
    return out


def test_fixture_list_is_not_empty() -> None:
    """The glob finds the fixtures (a wrong path would silently test nothing)."""
    assert len(READABLE) > 40


@pytest.mark.parametrize("rel", READABLE)
def test_speedscope_round_trip(rel: str, tmp_path: Path) -> None:
    """read → write speedscope → validate against the schema → read → same totals and stacks
    (or, for a fixture speedscope also rejects, a clean LoadError)."""
    if rel in INVALID:
        with pytest.raises(LoadError):
            load_profile(PROFILES / rel)
        return
    group = load_profile(PROFILES / rel)
    buf = io.StringIO()
    speedscope.write(group, buf, EXPORTER)
    doc = json.loads(buf.getvalue())
    jsonschema.validate(doc, SCHEMA)
    assert doc["exporter"] == EXPORTER
    frames = [(f["name"], f.get("file"), f.get("line"), f.get("col")) for f in doc["shared"]["frames"]]
    assert len(frames) == len(set(frames)), "exported frames must be de-duplicated"
    out = tmp_path / "x.speedscope.json"
    out.write_text(buf.getvalue())
    again = load_profile(out)
    assert totals(again) == totals(group)


@pytest.mark.parametrize("rel", ["stackcollapse/simple.txt", "stackcollapse/recursion.txt"])
def test_folded_round_trip(rel: str) -> None:
    """read → write folded → read gives the same per-function totals."""
    group = load_profile(PROFILES / rel)
    text = "".join(line for p in group.profiles for line in folded.write(p))
    again = folded.read(decode_text(text.encode()), rel)
    assert totals(again)[0][1] == totals(group)[0][1]
