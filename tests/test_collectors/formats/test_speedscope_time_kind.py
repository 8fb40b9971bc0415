"""speedscope JSON keeps what kind of time a profile measures (on-CPU, off-CPU) in our
`bpfscope` extra key: written, read back, validated, and absent for plain profiles."""

from __future__ import annotations

import json
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

from collectors.formats import speedscope
from collectors.formats.errors import ProfileError
from collectors.profile import OFF_CPU, ON_CPU, ProfileGroup, Unit
from tests.speedscope_expected import FIXTURES

EXPORTER = "bpfscope@0.1.0"


def on_off_group() -> ProfileGroup:
    """A thread's on-CPU and off-CPU profiles, in seconds, plus a plain one."""
    group = ProfileGroup(name="on and off")
    main = group.frames.intern_name("main")
    spin = group.frames.intern_name("spin")
    nap = group.frames.intern_name("nap")
    on = group.new_profile("app pid: 1 tid: 1 on-CPU", Unit.SECONDS)
    on.time_kind = ON_CPU
    on.add_sample((main, spin), 0.01, 0.0)
    on.add_sample((main, spin), 0.01, 0.01)
    off = group.new_profile("app pid: 1 tid: 1 off-CPU", Unit.SECONDS)
    off.time_kind = OFF_CPU
    off.add_sample((main, nap), 0.25, 0.02)
    plain = group.new_profile("plain", Unit.NONE)
    plain.add_sample((main,), 1.0)
    return group


def dumped() -> dict[str, Any]:
    return json.loads(speedscope.dumps(on_off_group(), EXPORTER))  # type: ignore[no-any-return]


def test_time_kinds_round_trip() -> None:
    """On-CPU, off-CPU and plain profiles read back with the same time kind (None for plain)."""
    again = speedscope.read_json(dumped(), "again")
    assert [p.time_kind for p in again.profiles] == [ON_CPU, OFF_CPU, None]
    assert [p.unit for p in again.profiles] == [Unit.SECONDS, Unit.SECONDS, Unit.NONE]
    assert list(again.profiles[1].weights) == [0.25]


def test_time_kind_is_written_only_where_known() -> None:
    """The kind goes in `bpfscope.timeKind`; a plain profile gets no such key."""
    profiles = dumped()["profiles"]
    assert [p.get("bpfscope", {}).get("timeKind") for p in profiles] == ["on-cpu", "off-cpu", None]


def test_export_with_time_kinds_is_valid_against_the_schema() -> None:
    """speedscope's schema accepts the extra key (speedscope itself ignores it)."""
    schema = json.loads((FIXTURES / "file-format-schema.json").read_text())
    jsonschema.validate(dumped(), schema)


@pytest.mark.parametrize("bad", ["wall", 1, ["on-cpu"]])
def test_unknown_time_kind_is_rejected(bad: object) -> None:
    """A `timeKind` other than "on-cpu" or "off-cpu" is bad input, said in one sentence."""
    doc = dumped()
    doc["profiles"][0]["bpfscope"]["timeKind"] = bad
    with pytest.raises(ProfileError, match=r"`bpfscope\.timeKind` must be \"on-cpu\" or \"off-cpu\""):
        speedscope.read_json(doc)
