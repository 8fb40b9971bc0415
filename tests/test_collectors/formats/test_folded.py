"""Folded stacks: speedscope's fixtures, bad counts, kernel annotations, writing."""

from __future__ import annotations

import pytest

from collectors.formats import folded
from collectors.formats.errors import ProfileError
from collectors.formats.text import decode_text
from collectors.profile import FrameKind
from tests.speedscope_expected import (
    PROFILES,
    assert_frames_close,
    expected_case,
    expected_summary,
    summarize,
)

CASES = {
    "importFromBGFlameGraph": "simple.txt",
    "importFromBGFlameGraph with CRLF": "simple-crlf.txt",
    "importFromBGFlameGraph with UTF-16, Big Endian": "simple-utf16-be.txt",
    "importFromBGFlameGraph with UTF-16, Little Endian": "simple-utf16-le.txt",
    "importFromBGFlameGraph with invalid lines": "simple-with-invalids.txt",
}


def read_fixture(name: str) -> folded.ProfileGroup:
    return folded.read(decode_text((PROFILES / "stackcollapse" / name).read_bytes()), name)


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_speedscope(case: str) -> None:
    """Each folded fixture gives speedscope's frames, weights and stacks in file order."""
    group = read_fixture(CASES[case])
    (raw,) = expected_case("bg-flamegraph", case)["profiles"]
    ours, theirs = summarize(group.profiles[0]), expected_summary(raw)
    assert_frames_close(ours.frames, theirs.frames)
    assert ours.stacks == theirs.stacks


@pytest.mark.parametrize("line", ["a;b -3", "a;b nan", "a;b inf", "a;b 1e300"])
def test_damaged_counts_are_errors(line: str) -> None:
    """A negative, non-finite or absurd count is damage: an error naming the line, not a skipped line."""
    with pytest.raises(ProfileError, match="line 2"):
        folded.read(f"a;b 1\n{line}\n")


def test_no_samples_is_an_error() -> None:
    """A file with no `stack count` line is not a profile."""
    with pytest.raises(ProfileError, match="no `stack count`"):
        folded.read("# only a comment\nhello world\n")


def test_kernel_and_jit_annotations_set_frame_kind() -> None:
    """`_[k]` marks kernel frames and `_[j]` JIT frames; names are kept as written."""
    group = folded.read("java;Interp_[j];sys_read_[k] 4\n")
    kinds = {f.name: f.kind for f in group.frames}
    assert kinds == {"java": FrameKind.USER, "Interp_[j]": FrameKind.JIT, "sys_read_[k]": FrameKind.KERNEL}


def test_sniff() -> None:
    """Folded text is recognised; perf script and prose are not."""
    assert folded.sniff("a;b;c 3\na;b 1\n")
    assert not folded.sniff("perf 123 456.789: cpu-clock:\n\t  400 main (/bin/x)\n")
    assert not folded.sniff("just some words here\nand more words\n")


def test_write_round_trips() -> None:
    """Writing folded and reading it back gives the same stacks and weights."""
    group = read_fixture("perf-vertx-stacks-01-collapsed-all.txt")
    text = "".join(folded.write(group.profiles[0]))
    again = folded.read(text)
    assert summarize(again.profiles[0]).frames == summarize(group.profiles[0]).frames


def test_write_escapes_separators_in_names() -> None:
    """A `;` or newline inside a frame name cannot split the written stack."""
    group = folded.ProfileGroup("g")
    p = group.new_profile("p")
    p.add_sample([group.frames.intern(folded.Frame("a;b\nc"))], 2)
    assert "".join(folded.write(p)) == "a:b c 2\n"


def test_fractional_weights_survive_writing() -> None:
    """Fractional weights are written with their fraction."""
    group = folded.read("a;b 1.5\n")
    assert "".join(folded.write(group.profiles[0])) == "a;b 1.5\n"
