"""Parsing the streamed `perf script` output of the perf collector (no root needed)."""

from __future__ import annotations

from collectors.live.batches import BatchAssembler, ProfileBuilder
from collectors.live.perf_collector import ScriptParser, frame_for, parse_frame
from collectors.profile import FrameKind

OUTPUT = b"""\
work 4242/4243 [001]   100.500000:
\t            1182 hot_b (/tmp/work)
\t           2724a __libc_start_call_main (/usr/lib/x86_64-linux-gnu/libc.so.6)

swapper     0/0     [000]   100.501000:
\tffffffff81a2b3c4 default_idle ([kernel.kallsyms])

Web Content 4242/4244 [000]   100.502000:
\tffffffff81000010 [unknown] ([kernel.kallsyms])
\t            5555 [unknown] (/tmp/work)
\t            6666 [unknown] ([unknown])
\t            7777 std::vector<int>::push_back(int const&) (/tmp/work)

"""


def _parse(text: bytes) -> ProfileBuilder:
    asm = BatchAssembler()
    parser = ScriptParser(asm, 100.0)
    for line in text.splitlines(keepends=True):
        parser.feed(line)
    parser.end_sample()
    batch = asm.take()
    builder = ProfileBuilder("perf", 99)
    if batch is not None:
        builder.apply(batch)
    return builder


def test_samples_threads_and_times() -> None:
    """Each header starts a sample of its thread (command names may have spaces); times are
    relative to the start; idle (thread 0) is left out."""
    group = _parse(OUTPUT).group
    assert [p.name for p in group.profiles] == ["work pid: 4242 tid: 4243", "Web Content pid: 4242 tid: 4244"]
    first = group.profiles[0]
    assert first.times is not None and list(first.times) == [0.5]
    names = [group.frames[f].name for f in first.stacks[first.sample_stacks[0]]]
    assert names == ["__libc_start_call_main", "hot_b"]


def test_unknown_frames_kept_and_named() -> None:
    """Unresolved frames are kept: `module+0xaddress` with a file, `[unknown]` without; kernel by address."""
    group = _parse(OUTPUT).group
    second = group.profiles[1]
    frames = [group.frames[f] for f in second.stacks[second.sample_stacks[0]]]
    assert [(f.name, f.kind) for f in frames] == [
        ("std::vector<int>::push_back(int const&)", FrameKind.USER),
        ("[unknown]", FrameKind.UNKNOWN),
        ("work+0x5555", FrameKind.USER),
        ("[unknown]", FrameKind.KERNEL),
    ]


def test_parse_frame_keeps_parentheses_in_symbols() -> None:
    """The dso is the last parenthesised group (` (deleted)` dropped); C++ signatures keep theirs."""
    assert parse_frame(b"\t  abc f(int) (/lib/x.so)") == (0xABC, "f(int)", "/lib/x.so")
    assert parse_frame(b"\t  abc f(int) (/lib/x.so (deleted))") == (0xABC, "f(int)", "/lib/x.so")
    assert parse_frame(b"\t  abc [unknown] ([unknown])") == (0xABC, "[unknown]", "[unknown]")
    assert parse_frame(b"not a frame") is None


def test_jit_frames_from_perf_maps() -> None:
    """Symbols from a `/tmp/perf-PID.map` are JIT frames."""
    frame, resolved = frame_for(0x7F00, "LazyCompile:foo", "/tmp/perf-99.map")
    assert resolved and frame.kind is FrameKind.JIT


def test_stats_from_perf_output() -> None:
    """Unknown frames and user stacks are counted as with bcc."""
    stats = _parse(OUTPUT).stats
    assert (stats.samples, stats.frames, stats.unknown_frames, stats.user_stacks) == (2, 6, 3, 2)
