"""perf script: speedscope's fixtures, sample-count weights, frame kinds, odd lines, sniffing."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from collectors.formats import perf_script
from collectors.formats.errors import ProfileError
from collectors.formats.text import decode_text
from collectors.profile import FrameKind, Profile, ProfileGroup
from tests.speedscope_expected import (
    PROFILES,
    expected_case,
    expected_summary,
    frame_key,
    summarize,
)

CASES = {
    "importFromLinuxPerf forks.linux-perf.txt": "forks.linux-perf.txt",
    "importFromLinuxPerf one-sample.linux-perf.txt": "one-sample.linux-perf.txt",
    "importFromLinuxPerf simple.linux-perf.txt": "simple.linux-perf.txt",
    "importFromLinuxPerf simple-with-header.linux-perf.txt": "simple-with-header.linux-perf.txt",
    "importFromLinuxPerf simple-with-pids.linux-perf.txt": "simple-with-pid.linux-perf.txt",
    "importFromLinuxPerf system-wide.linux-perf.txt": "system-wide.linux-perf.txt",
    "importFromLinuxPerf system-wide.linux-perf.txt chunked": "system-wide.linux-perf.txt",
}
FILES = sorted({*CASES.values(), "rust-mangled.linux-perf.txt"})


def fixture_text(name: str) -> str:
    return decode_text((PROFILES / "linux-perf" / name).read_bytes())


def read_fixture(name: str) -> ProfileGroup:
    return perf_script.read(fixture_text(name), name)


def speedscope_visible(profile: Profile) -> Profile:
    """The samples speedscope keeps: it weighs a sample by half the time between its
    neighbours and drops the ones that come out 0 (three CPUs' `swapper` at one instant)."""
    assert profile.times is not None
    t = profile.times
    n = len(t)
    out = profile.derive()
    out.stacks = profile.stacks
    for i, sid in enumerate(profile.sample_stacks):
        start = t[0] if i == 0 else (t[i - 1] + t[i]) / 2
        end = t[-1] if i == n - 1 else (t[i] + t[i + 1]) / 2
        if end > start or n == 1:
            out.add_stack_sample(sid, 1.0, t[i])
    return out


def count_frames(text: str) -> dict[str, Counter[str]]:
    """Per profile name, self and total sample counts per frame key, counted the way
    speedscope's own importer parses the file (its regular expressions), independently of
    our reader: keys `self:<frame>` and `total:<frame>`, plus `samples`."""
    out: dict[str, Counter[str]] = {}
    for block in re.split(r"\n\n+", text):
        lines = [line for line in block.split("\n") if line and not re.match(r"^\s*#", line)]
        if not lines:
            continue
        m = re.match(r"^(\S.+?)\s+(\d+)(?:/?(\d+))?\s+", lines[0])
        assert m is not None, lines[0]
        parts = [m[1]]
        pid, tid = (m[2], m[3]) if m[3] else (None, m[2])
        parts += [f"pid: {pid}"] * bool(pid and int(pid)) + [f"tid: {tid}"] * bool(int(tid))
        keys = []
        for line in lines[1:]:
            fm = re.match(r"^\s*(\w+)\s*(.+) \((\S*)\)", line)
            assert fm is not None, line
            sym = re.sub(r"\+0x[\da-f]+$", "", fm[2])
            keys.append(frame_key(f"??? ({fm[3]})" if sym == "[unknown]" else sym, fm[3]))
        counts = out.setdefault(" ".join(parts), Counter())
        counts["samples"] += 1
        counts[f"self:{keys[0]}"] += 1
        for key in set(keys):
            counts[f"total:{key}"] += 1
    return out


@pytest.mark.parametrize("case", sorted(CASES))
def test_profiles_and_stacks_match_speedscope(case: str) -> None:
    """Each fixture gives speedscope's profiles (names, order), frames and stacks in time
    order. Weights are left out: ours are sample counts, speedscope's are times between
    samples, so speedscope also drops samples whose time share is 0; the stacks are compared
    over the samples speedscope keeps."""
    group = read_fixture(CASES[case])
    raws = expected_case("linux-tools-perf", case)["profiles"]
    assert [p.name for p in group.profiles] == [r["name"] for r in raws]
    for profile, raw in zip(group.profiles, raws, strict=True):
        theirs = expected_summary(raw, weights=False)
        assert set(summarize(profile, weights=False).frames) == set(theirs.frames)
        assert summarize(speedscope_visible(profile), weights=False).stacks == theirs.stacks


@pytest.mark.parametrize("name", FILES)
def test_weights_are_sample_counts(name: str) -> None:
    """By design (not speedscope's time weights): every sample weighs 1, so each frame's self
    and total are the numbers of samples it is the leaf of / on the stack of."""
    group = read_fixture(name)
    expected = count_frames(fixture_text(name))
    assert [p.name for p in group.profiles] == list(expected)
    for profile in group.profiles:
        assert set(profile.weights) == {1.0}
        counts = expected[profile.name]
        assert profile.sample_count == counts["samples"]
        for key, (self_w, total) in summarize(profile).frames.items():
            assert (self_w, total) == (counts[f"self:{key}"], counts[f"total:{key}"]), key


def test_times_and_ids_are_kept() -> None:
    """Sample times are the header timestamps in seconds; pid and tid come from `pid/tid`."""
    (profile,) = read_fixture("simple-with-pid.linux-perf.txt").profiles
    assert profile.times is not None
    assert profile.times[0] == pytest.approx(198791.127353)
    assert list(profile.times) == sorted(profile.times)
    assert (profile.pid, profile.tid) == (9, 9)


def test_offsets_are_stripped() -> None:
    """`symbol+0x144` is the frame `symbol`: no frame name keeps a `+0x` offset."""
    group = read_fixture("rust-mangled.linux-perf.txt")
    names = {f.name for f in group.frames}
    assert "__libc_start_main" in names
    assert not [n for n in names if "+0x" in n]


SAMPLE = """\
app 10/11 [001] 5.000100: 250000 cycles:
\tffffffff8100a1b2 native_write_msr+0x12 ([kernel.kallsyms])
\tffffffffc0a01234 ext4_file_read_iter+0x40 ([ext4])
\t    7f0000001000 read+0x10 (/usr/lib/libc.so.6)
\t    7f0000002000 LazyCompile:*run+0x8 (/tmp/perf-10.map)
\t    7f0000003000 [unknown] ([unknown])

"""


def test_frame_kinds() -> None:
    """Kernel dsos and kernel addresses are KERNEL, perf-PID.map is JIT, `[unknown]` is
    UNKNOWN, a library is USER; the stack is root first."""
    group = perf_script.read(SAMPLE)
    (profile,) = group.profiles
    (stack,) = profile.stacks.stacks
    frames = [group.frames[f] for f in stack]
    assert [(f.name, f.file, f.kind) for f in frames] == [
        ("??? ([unknown])", "[unknown]", FrameKind.UNKNOWN),
        ("LazyCompile:*run", "/tmp/perf-10.map", FrameKind.JIT),
        ("read", "/usr/lib/libc.so.6", FrameKind.USER),
        ("ext4_file_read_iter", "[ext4]", FrameKind.KERNEL),
        ("native_write_msr", "[kernel.kallsyms]", FrameKind.KERNEL),
    ]


def test_unknown_frames_merge_per_dso() -> None:
    """Every `[unknown]` symbol in one dso is one frame `??? (dso)`, whatever its address
    (a kernel-looking one included), as in speedscope."""
    text = (
        "app 1 1.0: cycles:\n\tffffffff81000000 [unknown] ([unknown])\n\t7f0000003000 [unknown] ([unknown])\n"
        "\t401000 [unknown] (/bin/app)\n\t401234 [unknown] (/bin/app)\n"
    )
    group = perf_script.read(text)
    (stack,) = group.profiles[0].stacks.stacks
    assert [(group.frames[f].name, group.frames[f].kind) for f in stack] == [
        ("??? (/bin/app)", FrameKind.UNKNOWN), ("??? (/bin/app)", FrameKind.UNKNOWN),
        ("??? ([unknown])", FrameKind.UNKNOWN), ("??? ([unknown])", FrameKind.UNKNOWN),
    ]
    assert len(set(stack)) == 2


def test_symbols_with_spaces_and_parentheses() -> None:
    """C++ names keep their spaces and parentheses; the dso is the last balanced group, and
    ` (deleted)` is dropped from it."""
    text = (
        "app 7 1.0: 1 cycles:\n"
        "\t401000 std::function<void ()>::operator()() const+0x1f (/usr/bin/app)\n"
        "\t401100 (anonymous namespace)::worker(int)+0x4 (/usr/bin/app (deleted))\n"
        "\t401200 [unknown] (/memfd:doublemapper (deleted))\n"
    )
    group = perf_script.read(text)
    (stack,) = group.profiles[0].stacks.stacks
    assert [(group.frames[f].name, group.frames[f].file) for f in stack] == [
        ("??? (/memfd:doublemapper)", "/memfd:doublemapper"),
        ("(anonymous namespace)::worker(int)", "/usr/bin/app"),
        ("std::function<void ()>::operator()() const", "/usr/bin/app"),
    ]


def test_field_list_variant() -> None:
    """`perf script -F comm,pid,tid,time,event,ip,sym,dso` (no cpu, no period) reads the same,
    as does output without timestamps."""
    timed = perf_script.read("my app 5/6 2.5: cpu-clock:\n\t1000 main (/bin/app)\n")
    (profile,) = timed.profiles
    assert (profile.name, profile.pid, profile.tid) == ("my app pid: 5 tid: 6", 5, 6)
    assert profile.times is not None and list(profile.times) == [2.5]
    untimed = perf_script.read("app 6 cycles:\n\t1000 main (/bin/app)\n\n" * 2)
    assert untimed.profiles[0].times is None
    assert untimed.profiles[0].total_weight() == 2


def test_two_threads_of_one_process() -> None:
    """Each thread is its own profile, in order of first appearance, with pid and tid set."""
    text = (
        "app 10/11 1.000: 1 cycles:\n\t1 work (/bin/app)\n\t2 main (/bin/app)\n\n"
        "app 10/10 1.001: 1 cycles:\n\t3 idle (/bin/app)\n\t2 main (/bin/app)\n\n"
        "app 10/11 1.002: 1 cycles:\n\t1 work (/bin/app)\n\t2 main (/bin/app)\n"
    )
    group = perf_script.read(text)
    got = [(p.name, p.pid, p.tid, p.sample_count) for p in group.profiles]
    assert got == [("app pid: 10 tid: 11", 10, 11, 2), ("app pid: 10 tid: 10", 10, 10, 1)]
    frames = {"main (/bin/app)": (0.0, 2.0), "work (/bin/app)": (2.0, 2.0)}
    assert summarize(group.profiles[0]).frames == frames


def test_samples_are_sorted_by_time_within_a_thread() -> None:
    """perf interleaves CPUs, so a thread's samples can come out of order: they are sorted."""
    text = "app 1 [0] 2.0: cycles:\n\t1 late (/a)\n\napp 1 [1] 1.0: cycles:\n\t2 early (/a)\n"
    (profile,) = perf_script.read(text).profiles
    assert profile.times is not None and list(profile.times) == [1.0, 2.0]
    assert summarize(profile, weights=False).stacks == ["early", "late"]


def test_each_event_is_its_own_profile() -> None:
    """A file with two events gets a profile per thread and event (speedscope keeps only the
    first event's samples)."""
    text = "app 1 1.0: 5 cycles:\n\t1 f (/a)\n\napp 1 1.0: 9 instructions:\n\t1 f (/a)\n"
    names = [p.name for p in perf_script.read(text).profiles]
    assert names == ["app tid: 1 [cycles]", "app tid: 1 [instructions]"]


def test_samples_without_call_chains() -> None:
    """Without `-g`, perf prints the sampled ip on the header line: a one-frame stack."""
    text = (
        "            perf  42 [000] 1.0:  1 cycles:  ffffffff8100a1b2 native_write_msr+0x4"
        " ([kernel.kallsyms])\n"
        "            perf  42 [000] 1.1:  1 cycles:      7f0000001000 main+0x8 (/bin/perf)\n"
    )
    assert perf_script.sniff(text)
    (profile,) = perf_script.read(text).profiles
    assert summarize(profile, weights=False).stacks == ["native_write_msr", "main"]


def test_tracepoint_arguments_are_not_a_frame() -> None:
    """Text after the event that is not `address symbol (dso)` (a tracepoint's arguments)
    does not become a frame: such a sample has no stack."""
    text = "app 1 1.0: 1 sched:sched_switch: prev_comm=app (x) ==> next_comm=swapper/0 (y)\n"
    with pytest.raises(ProfileError, match="1 samples had no stack"):
        perf_script.read(text)


def test_srclines_are_skipped() -> None:
    """`-F +srcline` adds a `file:line` line after each frame: it is not a frame."""
    text = ("app 1 1.0: cycles:\n\t1000 f (/bin/app)\n  f.c:12 (discriminator 2)\n"
            "\t2000 main (/bin/app)\n  ??:0\n")
    (profile,) = perf_script.read(text).profiles
    assert summarize(profile, weights=False).stacks == ["main;f"]


def test_deep_stack() -> None:
    """A 20,000-frame sample loads, root first."""
    frames = "".join(f"\t{i:x} f{i} (/bin/app)\n" for i in range(20_000))
    group = perf_script.read(f"app 1 1.0: cycles:\n{frames}")
    (stack,) = group.profiles[0].stacks.stacks
    assert len(stack) == 20_000
    assert (group.frames[stack[0]].name, group.frames[stack[-1]].name) == ("f19999", "f0")


def test_frameless_samples_are_skipped() -> None:
    """A header with no stack is skipped; a file of only those has no samples, and says so."""
    text = "app 1 1.0: cycles:\n\napp 1 2.0: cycles:\n\t1 f (/a)\n"
    assert perf_script.read(text).profiles[0].sample_count == 1
    with pytest.raises(ProfileError, match=r"no samples found .*2 samples had no stack"):
        perf_script.read("app 1 1.0: cycles:\n\napp 1 2.0: cycles:\n")


def test_garbage_inside_a_sample_is_an_error() -> None:
    """A line inside a sample that is not a frame is reported with its line number."""
    text = "app 1 1.0: cycles:\n\t1 f (/a)\n\napp 1 2.0: cycles:\n\t1 f (/a)\n\tthis is not a frame\n"
    with pytest.raises(ProfileError, match=r"^line 6: cannot read 'this is not a frame' as a stack frame"):
        perf_script.read(text)


def test_bad_timestamp_is_an_error() -> None:
    """A timestamp that is not a number is an error, not a sample without a time."""
    with pytest.raises(ProfileError, match=r"^line 1: timestamp '1\.2\.3' is not a number"):
        perf_script.read("app 1 1.2.3: cycles:\n\t1 f (/a)\n")


def test_no_samples_is_an_error() -> None:
    """Text with no sample at all is not a profile."""
    with pytest.raises(ProfileError, match="no samples found"):
        perf_script.read("# only a comment\n\n")


def test_progress_is_reported() -> None:
    """progress gets characters done, rising, ending at the text's length."""
    text = "app 1 1.0: cycles:\n\t1 f (/a)\n\n" * 10_000
    seen: list[int] = []
    perf_script.read(text, progress=seen.append)
    assert len(seen) > 1 and seen == sorted(seen) and seen[-1] == len(text)


@pytest.mark.parametrize("name", FILES)
def test_sniff_accepts_fixtures(name: str) -> None:
    """Every speedscope perf fixture (with and without the `# ========` header) sniffs as perf script."""
    assert perf_script.sniff(fixture_text(name))


@pytest.mark.parametrize("text", [
    "a;b;c 3\na;b 2\n",
    "main;work 10\n\tindented 1\n",
    '{"shared": {"frames": []}}',
    "",
    "# just a comment\n",
    "hello world\nthis is prose, not a profile\n",
])
def test_sniff_rejects_other_text(text: str) -> None:
    """Folded stacks, JSON, prose and empty text are not perf script."""
    assert not perf_script.sniff(text)
