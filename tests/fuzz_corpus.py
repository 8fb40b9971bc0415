"""Hostile input for the readers: mutated real captures, hand-made monsters, and the checks
every input must pass.

The property (`check_input`): `parse_profile` either returns a group whose profiles all have
finite, non-negative weights and stack and frame ids that point somewhere, or raises
`ProfileError`; it never raises anything else and never takes longer than `CASE_SECONDS`.
Whatever a successful read gives is then written as speedscope JSON (validated against
speedscope's schema), folded stacks and pprof, and each is read back to the same totals.

Inputs are reproducible: a mutation is named by its fixture, kind and seed (`Case.label`).
"""

from __future__ import annotations

import gzip
import io
import json
import math
import os
import random
import re
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import FrameType
from typing import Any

from collectors.formats import folded, pprof, speedscope
from collectors.formats.detect import parse_profile
from collectors.formats.errors import ProfileError
from collectors.profile import ProfileGroup
from tests.speedscope_expected import FIXTURES

FIXTURES_ROOT = FIXTURES  # under $BPFSCOPE_SHARED, as every other test reads them
PROFILES = FIXTURES_ROOT / "profiles"
SCHEMA = FIXTURES_ROOT / "file-format-schema.json"

CASE_SECONDS = float(os.environ.get("BPFSCOPE_FUZZ_CASE_SECONDS", "120"))
"""A generous deadline per input (reading and writing back): it catches a hang, not a slow reader
on a busy machine. The time per input is a figure `make fuzz` prints, not an assertion."""

MEGABYTE = 1 << 20


class CaseTimeout(Exception):
    """Raised by the alarm when one input runs past its time budget (a hang)."""


@dataclass(frozen=True)
class Case:
    label: str
    data: bytes


@dataclass
class Outcome:
    """What one input did: read (with how many samples), refused (with the message), and how long it took."""

    label: str
    seconds: float
    samples: int = 0
    error: str | None = None


# --- the corpus -----------------------------------------------------------------------


@cache
def fixture_paths() -> tuple[Path, ...]:
    """Every real capture in the speedscope fixtures (supported format or not)."""
    return tuple(sorted(p for p in PROFILES.rglob("*") if p.is_file()))


@cache
def fixture_bytes(path: Path) -> bytes:
    return path.read_bytes()


def fixture_label(path: Path) -> str:
    return str(path.relative_to(PROFILES))


_NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_HOSTILE_NUMBERS = (
    b"-1", b"-0", b"0", b"1e400", b"-1e400", b"1e308", b"NaN", b"Infinity", b"-Infinity", b"1e-400",
    b"9" * 25, b"9" * 5000, b"4611686018427387904", b"18446744073709551616", b"0.5", b"1.5e300",
    b"\xc2\xb2", b"\xd9\xa3",  # superscript two and an Arabic-Indic digit: str.isdigit() says yes
)


def _bit_flips(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 16)):
        i = rng.randrange(len(out))
        out[i] ^= 1 << rng.randrange(8)
    return bytes(out)


def _truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data))]


def _splice(data: bytes, rng: random.Random) -> bytes:
    other = fixture_bytes(rng.choice(fixture_paths())) or b"x"
    return data[: rng.randrange(len(data) + 1)] + other[rng.randrange(len(other)) :]


def _nuls(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        out.insert(rng.randrange(len(out) + 1), 0)
    return bytes(out)


def _long_line(data: bytes, rng: random.Random) -> bytes:
    i = rng.randrange(len(data) + 1)
    filler = rng.choice((b"a", b"(", b" 1", b";f", b"\\u0000", b"[", b"{"))
    return data[:i] + filler * (MEGABYTE // len(filler)) + data[i:]


def _junk(data: bytes, rng: random.Random) -> bytes:
    i = rng.randrange(len(data) + 1)
    return data[:i] + rng.randbytes(rng.randint(1, 64)) + data[i + rng.randint(0, 64) :]


def _repeat(data: bytes, rng: random.Random) -> bytes:
    i = rng.randrange(len(data))
    j = min(len(data), i + rng.randint(1, 200))
    return data[:i] + data[i:j] * rng.randint(2, 2000) + data[j:]


def _hostile_number(data: bytes, rng: random.Random) -> bytes:
    matches = list(_NUMBER.finditer(data[: 4 * MEGABYTE]))
    if not matches:
        return _junk(data, rng)
    out = data
    for m in sorted(rng.sample(matches, min(len(matches), rng.randint(1, 3))), key=lambda m: -m.start()):
        out = out[: m.start()] + rng.choice(_HOSTILE_NUMBERS) + out[m.end() :]
    return out


def _gzip(data: bytes, rng: random.Random) -> bytes:
    packed = gzip.compress(data, mtime=0)
    return packed if rng.random() < 0.5 else packed[: rng.randrange(len(packed))]


def _utf16(data: bytes, rng: random.Random) -> bytes:
    encoded = data.decode("utf-8", errors="replace").encode(rng.choice(("utf-16", "utf-16-le", "utf-16-be")))
    return encoded[:-1] if rng.random() < 0.5 else encoded


MUTATIONS: dict[str, Callable[[bytes, random.Random], bytes]] = {
    "bitflip": _bit_flips,
    "truncate": _truncate,
    "splice": _splice,
    "nul": _nuls,
    "longline": _long_line,
    "junk": _junk,
    "repeat": _repeat,
    "number": _hostile_number,
    "gzip": _gzip,
    "utf16": _utf16,
}


def mutate(data: bytes, kind: str, seed: int) -> bytes:
    """`data` changed by the mutation `kind`, reproducibly for `seed`."""
    rng = random.Random(f"{kind}:{seed}")
    return MUTATIONS[kind](data or b"\n", rng)


def mutated_cases(seeds: range, paths: tuple[Path, ...] | None = None) -> Iterator[Case]:
    """Every fixture under every mutation, once per seed."""
    for path in paths or fixture_paths():
        data = fixture_bytes(path)
        for kind in MUTATIONS:
            for seed in seeds:
                yield Case(f"{fixture_label(path)} {kind} #{seed}", mutate(data, kind, seed))


# --- hand-made monsters ------------------------------------------------------------------


DEEP = 20_000
"""Frames in the deep-stack inputs."""


def _speedscope_doc(frames: list[dict[str, Any]], profiles: list[dict[str, Any]]) -> bytes:
    return json.dumps({"$schema": speedscope.SCHEMA_URL, "shared": {"frames": frames},
                       "profiles": profiles}).encode()


def _sampled(samples: list[Any], weights: list[Any], unit: str = "none") -> dict[str, Any]:
    return {"type": "sampled", "name": "p", "unit": unit, "startValue": 0, "endValue": 1,
            "samples": samples, "weights": weights}


def _pprof(samples: list[tuple[list[int], list[int]]], n_locations: int = 1) -> bytes:
    m: Any = pprof.ProfileMessage()
    m.string_table.extend(["", "cpu", "nanoseconds", "f"])
    m.sample_type.add(type=1, unit=2)
    m.function.add(id=1, name=3)
    for i in range(1, n_locations + 1):
        loc = m.location.add(id=i)
        loc.line.add(function_id=1, line=i)
    for locations, values in samples:
        m.sample.add(location_id=locations, value=values)
    return bytes(m.SerializeToString())


@cache
def monsters() -> tuple[Case, ...]:
    """Inputs no mutation is likely to find: deep stacks, huge lines and numbers, deep JSON,
    bad gzip, odd UTF-16."""
    return tuple(_monsters())


def _monsters() -> Iterator[Case]:
    deep_names = [f"f{i}" for i in range(DEEP)]
    yield Case("folded: 20,000-frame stack", (";".join(deep_names) + " 3\n").encode())
    yield Case("folded: 1 MB frame name", b"a;" + b"x" * MEGABYTE + b" 1\n")
    yield Case("folded: 1 MB line of separators", b";" * MEGABYTE + b" 1\n")
    for count in (b"1e300", b"9" * 40, b"9" * 5000, b"1e400", b"nan", b"-1", b"\xc2\xb2", b"\xd9\xa3\xd9\xa3",
                  b"0x10", b"1_000"):
        yield Case(f"folded: count {count[:12]!r}", b"a;b 1\na;c " + count + b"\n")
    header = "prog 1/1 [000] 1.000000: 1 cpu-clock:\n"
    perf_deep = header + "".join(f"\t{i:x} f{i} (/bin/x)\n" for i in range(DEEP)) + "\n"
    yield Case("perf script: 20,000-frame stack", (perf_deep * 2).encode())
    yield Case("perf script: 1 MB symbol", (header + "\t1 " + "s" * MEGABYTE + " (/bin/x)\n\n" + header
                                           + "\t1 f (/bin/x)\n\n").encode())
    yield Case("perf script: 1 MB of parentheses", (header + "\t1 f " + "(" * MEGABYTE + "x" + ")" * MEGABYTE
                                                    + "\n\n" + header + "\t1 f (/bin/x)\n\n").encode())
    for period in ("9" * 5000, "9" * 400, "\u00b2"):
        for where in ("period", "pid", "tid"):
            fields = {"period": "1", "pid": "1", "tid": "1", where: period}
            line = f"prog {fields['pid']}/{fields['tid']} [000] 1.000000: {fields['period']} cpu-clock:\n\t1 f (/x)\n\n"
            yield Case(f"perf script: {where} {period[:6]}", (line * 2).encode())
    yield Case("perf script: time 1e400", b"p 1/1 [0] 1e400: cpu-clock:\n\t1 f (/x)\n\np 1/1 [0] 1.0: cpu-clock:\n"
               b"\t1 f (/x)\n\n")
    frames = [{"name": n} for n in deep_names]
    yield Case("speedscope: 20,000-frame sample", _speedscope_doc(frames, [_sampled([list(range(DEEP))] * 2, [1, 2])]))
    events = [{"type": "O", "frame": i, "at": 0} for i in range(DEEP)]
    events += [{"type": "C", "frame": i, "at": 1} for i in reversed(range(DEEP))]
    yield Case("speedscope: 20,000 nested events", _speedscope_doc(frames, [
        {"type": "evented", "name": "e", "unit": "milliseconds", "startValue": 0, "endValue": 1, "events": events}]))
    yield Case("speedscope: 1 MB frame name", _speedscope_doc([{"name": "x" * MEGABYTE}], [_sampled([[0]], [1])]))
    for w in ("1e308", "1.7e308", "1e400", "-1e400", "NaN", "-1", "9" * 5000, "1e300"):
        text = _speedscope_doc([{"name": "a"}], [_sampled([[0], [0], [0]], [1, 2, 3], "seconds")]).decode()
        yield Case(f"speedscope: weight {w[:8]}", text.replace("[1,2,3]", f"[1,{w},{w}]").replace(
            "[1, 2, 3]", f"[1, {w}, {w}]").encode())
    huge_index = _speedscope_doc([{"name": "a"}], [_sampled([[0, 10**30]], [1])])
    yield Case("speedscope: frame index 1e30", huge_index)
    yield Case("speedscope: start 1e308 end -1e308",
               _speedscope_doc([{"name": "a"}], [{**_sampled([[0]], [1]), "startValue": 1e308, "endValue": -1e308}]))
    chain = [{"id": i + 1, "callFrame": {"functionName": f"f{i}", "url": "u.js", "lineNumber": i}, "parent": i}
             for i in range(DEEP)]
    chain[0].pop("parent")
    yield Case("cpuprofile: 20,000-node chain", json.dumps(
        {"nodes": chain, "samples": [DEEP, 1, DEEP], "timeDeltas": [1, 1, 1], "startTime": 0, "endTime": 9}).encode())
    toggling = [*chain, {"id": DEEP + 1, "callFrame": {"functionName": "(program)"}, "parent": 1}]
    alternating = [DEEP, DEEP + 1] * 50_000
    yield Case("cpuprofile: 20,000 deep, (program) every other sample (the work budget)", json.dumps(
        {"nodes": toggling, "samples": alternating, "timeDeltas": [1] * len(alternating), "startTime": 0}).encode())
    for delta in ("1e308", "-1e308", "1e400", "9" * 5000):
        yield Case(f"cpuprofile: delta {delta[:8]}", (
            '{"nodes":[{"id":1,"callFrame":{"functionName":"a"}}],"samples":[1,1,1],"startTime":0,'
            f'"timeDeltas":[{delta},{delta},{delta}]}}').encode())
    nested = [{"ph": "B", "name": f"f{i}", "ts": i, "pid": 1, "tid": 1} for i in range(DEEP)]
    nested += [{"ph": "E", "name": f"f{i}", "ts": 2 * DEEP - i, "pid": 1, "tid": 1} for i in reversed(range(DEEP))]
    yield Case("trace events: 20,000 nested B/E, each at its own time (the stack budget)", json.dumps(nested).encode())
    at_once = [{**ev, "ts": 0 if ev["ph"] == "B" else 1} for ev in nested]
    yield Case("trace events: 20,000 nested B/E at two instants", json.dumps(at_once).encode())
    for ts, dur in (("1e308", "1e308"), ("-1e308", "1e308"), ("0", "1e400"), ("1", "9" * 400)):
        yield Case(f"trace events: X ts {ts[:6]} dur {dur[:6]}", (
            f'[{{"ph":"X","name":"a","ts":{ts},"dur":{dur},"pid":1,"tid":1}},'
            f'{{"ph":"X","name":"b","ts":{ts},"dur":1,"pid":1,"tid":1}}]').encode())
    yield Case("trace events: samples with ts 1e308", json.dumps({
        "traceEvents": [], "stackFrames": {"1": {"name": "a"}},
        "samples": [{"ts": -1.7e308, "sf": 1}, {"ts": 1.7e308, "sf": 1}, {"ts": 1.7e308, "sf": 1}]}).encode())
    yield Case("pprof: 20,000-location stack", gzip.compress(_pprof([(list(range(1, DEEP + 1)), [5])], DEEP)))
    yield Case("pprof: value 2^62", _pprof([([1], [1 << 62]), ([1], [1 << 62])]))
    yield Case("pprof: value 2^63-1", _pprof([([1], [(1 << 63) - 1])] * 4))
    yield Case("pprof: location 2^64-1", _pprof([([(1 << 64) - 1], [1])]))
    yield Case("pprof: packed field claiming 2^40 bytes",
               _pprof([([1], [1])]) + b"\x12\x80\x80\x80\x80\x80\x20" + b"\x0a\x00")
    for depth in (1000, 100_000):
        yield Case(f"JSON: [[[...]]] {depth} deep", b"[" * depth + b"]" * depth)
        yield Case(f"JSON: [[[... {depth} deep, unclosed", b"[" * depth)
        yield Case(f"JSON: {{...}} {depth} deep", b'{"a":' * depth + b"1" + b"}" * depth)
    yield Case("JSON: 1 MB number", b"[" + b"1" * MEGABYTE + b"]")
    yield Case("JSON: number 1e400", b'{"nodes":[],"samples":[1],"timeDeltas":[1e400],"startTime":1e400}')
    rng = random.Random(7)
    yield Case("gzip: magic then junk", b"\x1f\x8b" + rng.randbytes(4096))
    yield Case("gzip: of junk", gzip.compress(rng.randbytes(4096)))
    yield Case("gzip: of gzip of folded", gzip.compress(gzip.compress(b"a;b 1\n")))
    yield Case("gzip: of nothing", gzip.compress(b""))
    yield Case("gzip: zeros, 64 MB unpacked", gzip.compress(bytes(64 * MEGABYTE), compresslevel=9))
    yield Case("UTF-16 LE: odd byte count", b"\xff\xfe" + "a;b 1\n".encode("utf-16-le") + b"\x00")
    yield Case("UTF-16 BE: odd byte count", b"\xfe\xff" + "a;b 1\n".encode("utf-16-be")[:-1])
    yield Case("UTF-16: lone surrogate", b"\xff\xfe" + b"\x00\xd8" + "a 1\n".encode("utf-16-le"))
    yield Case("UTF-8 BOM only", b"\xef\xbb\xbf")
    yield Case("only NULs", bytes(1000))


# --- the checks ----------------------------------------------------------------------


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise CaseTimeout(f"an input ran past its {CASE_SECONDS} s budget")


def run_with_budget(fn: Callable[[], Any], seconds: float = CASE_SECONDS) -> tuple[Any, float]:
    """`fn()` and the time it took; CaseTimeout if it runs past `seconds` (checked again after
    it returns, for time spent where no signal can interrupt it)."""
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    start = time.perf_counter()
    try:
        result = fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    elapsed = time.perf_counter() - start
    if elapsed > seconds:
        raise CaseTimeout(f"an input took {elapsed:.1f} s (budget {CASE_SECONDS} s)")
    return result, elapsed


def check_group(group: ProfileGroup) -> None:
    """The model's promises: finite weights >= 0, and every stack and frame id points somewhere."""
    assert group.profiles, "a group with no profiles"
    nframes = len(group.frames)
    for p in group.profiles:
        assert p.frames is group.frames
        n = len(p.sample_stacks)
        assert len(p.weights) == n
        if p.weights:
            assert min(p.weights) >= 0.0 and max(p.weights) < math.inf, "weights must be finite and >= 0"
            assert math.isfinite(math.fsum(p.weights)), "the weights' total must be finite"
        if p.times is not None:
            assert len(p.times) == n and all(map(math.isfinite, p.times))
        if n:
            assert min(p.sample_stacks) >= 0 and max(p.sample_stacks) < len(p.stacks)
        for stack in p.stacks.stacks:
            if stack:
                assert min(stack) >= 0 and max(stack) < nframes
        for value in (p.start_value, p.end_value, p.sample_period):
            assert value is None or math.isfinite(value)


def _total(group: ProfileGroup, nonempty_only: bool = False) -> float:
    total = 0.0
    for p in group.profiles:
        if nonempty_only:
            stacks = p.stacks.stacks
            total += math.fsum(w for sid, w in zip(p.sample_stacks, p.weights, strict=True) if stacks[sid])
        else:
            total += p.total_weight()
    return total


@cache
def _validator() -> Any:
    import jsonschema  # type: ignore[import-untyped]

    schema = json.loads(SCHEMA.read_text())
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


_SCHEMA_ITEMS = 200


def _schema_view(doc: dict[str, Any]) -> dict[str, Any]:
    """`doc` with its long arrays cut to their first entries for jsonschema (which takes
    seconds per million), after checking the cut entries' types here."""
    for p in doc["profiles"]:
        samples, weights = p["samples"], p["weights"]
        assert all(type(s) is list for s in samples) and all(set(map(type, s)) <= {int} for s in samples)
        assert set(map(type, weights)) <= {int, float}
        p["samples"], p["weights"] = samples[:_SCHEMA_ITEMS], weights[:_SCHEMA_ITEMS]
        p["samples"] = [s[:_SCHEMA_ITEMS] for s in p["samples"]]
        extra = p.get(speedscope.EXTRA)
        if extra and "times" in extra:
            assert set(map(type, extra["times"])) <= {int, float}
            extra["times"] = extra["times"][:_SCHEMA_ITEMS]
    frames = doc["shared"]["frames"]
    assert all(type(f) is dict and type(f["name"]) is str for f in frames)
    doc["shared"]["frames"] = frames[:_SCHEMA_ITEMS]
    kinds = doc.get(speedscope.EXTRA, {}).get("frameKinds")
    if kinds:
        doc[speedscope.EXTRA]["frameKinds"] = kinds[:_SCHEMA_ITEMS]
    return doc


def _close(a: float, b: float, slack: float = 0.0) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9 + slack)


def check_written(group: ProfileGroup) -> None:
    """speedscope, folded and pprof output of `group` are valid and read back to its totals.
    A writer may refuse (ProfileError) what its format cannot hold."""
    # speedscope: schema-valid, same total per profile.
    text = speedscope.dumps(group, "fuzz")
    _validator().validate(_schema_view(json.loads(text)))
    again = parse_profile(text.encode())
    check_group(again)
    for before, after in zip(group.profiles, again.profiles, strict=True):
        assert _close(before.total_weight(), after.total_weight()), "speedscope round trip changed a total"

    # folded: every non-idle sample's weight; a weight folded's reader finds implausible may be refused.
    lines = "".join(line for p in group.profiles for line in folded.write(p))
    expected = _total(group, nonempty_only=True)
    if lines:
        try:
            again = parse_profile(lines.encode("utf-8", errors="surrogateescape"))
        except ProfileError:
            assert max(max(p.weights, default=0.0) for p in group.profiles) > folded.MAX_COUNT / 2 or \
                expected > folded.MAX_COUNT, "folded output that folded's reader refuses"
        else:
            check_group(again)
            assert _close(_total(again), expected), "folded round trip changed the total"

    # pprof: values are whole numbers (nanoseconds for time units).
    try:
        packed = pprof.write(group)
    except ProfileError:
        return
    again = parse_profile(packed)
    check_group(again)
    units = {p.unit for p in group.profiles}
    per = units.pop().seconds_per_unit if len(units) == 1 else None
    scale = 1.0 if per is None else per * 1e9
    samples = sum(p.sample_count for p in group.profiles)
    assert _close(_total(again), _total(group) * scale, slack=samples * 0.5 + _total(group) * scale * 1e-12), \
        "pprof round trip changed the total"


def check_input(data: bytes, label: str = "input", write_back: bool = True) -> Outcome:
    """Read `data` under the time budget and check the result (see the module docstring)."""
    start = time.perf_counter()
    try:
        group, seconds = run_with_budget(lambda: parse_profile(data, "fuzz"))
    except ProfileError as e:
        message = str(e)
        assert message and "\n" not in message, f"{label}: a ProfileError must be one line: {message!r}"
        return Outcome(label, time.perf_counter() - start, error=message)
    check_group(group)
    if write_back:
        _, write_seconds = run_with_budget(lambda: check_written(group))
        seconds += write_seconds
    return Outcome(label, seconds, samples=sum(p.sample_count for p in group.profiles))


Fingerprint = list[tuple[str, str, list[tuple[tuple[tuple[str, str | None, int | None], ...], float, float | None]]]]


def fingerprint(group: ProfileGroup) -> Fingerprint:
    """Everything a reader made of an input, by value: each profile's name and unit, and its samples
    in order as (frames by name/file/line, weight, time)."""
    out: Fingerprint = []
    for p in group.profiles:
        stacks = p.stacks.stacks
        frames = [(f.name, f.file, f.line) for f in (group.frames[i] for i in range(len(group.frames)))]
        times = list(p.times) if p.times is not None else [None] * len(p.sample_stacks)
        samples = [(tuple(frames[fid] for fid in stacks[sid]), float(w), None if t is None else float(t))
                   for sid, w, t in zip(p.sample_stacks, p.weights, times, strict=True)]
        out.append((p.name, p.unit.value, samples))
    return out


def same_input_other_encodings(data: bytes) -> dict[str, bytes]:
    """`data` re-gzipped (or gzipped) and, for text, with CRLF line ends and as UTF-16 with a BOM:
    encodings of the same profile, which every reader must read to the very same profiles."""
    plain = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    out = {"re-gzip": gzip.compress(plain, compresslevel=1, mtime=0)}
    try:
        text = plain.decode("utf-8")
    except UnicodeDecodeError:
        return out  # binary (pprof): only the gzip layer can change
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" not in text:
        out["CRLF"] = text.replace("\n", "\r\n").encode("utf-8")
    out["UTF-16"] = text.encode("utf-16")
    return out


def describe(outcomes: list[Outcome]) -> str:
    """The time-per-case distribution, for the long run's report."""
    if not outcomes:
        return "no inputs"
    times = sorted(o.seconds for o in outcomes)

    def q(f: float) -> float:
        return times[min(len(times) - 1, int(f * len(times)))]

    read = sum(1 for o in outcomes if o.error is None)
    slowest = max(outcomes, key=lambda o: o.seconds)
    out = io.StringIO()
    out.write(f"{len(outcomes)} inputs, {read} read, {len(outcomes) - read} refused; seconds per input: "
              f"median {q(0.5):.4f}, p90 {q(0.9):.4f}, p99 {q(0.99):.4f}, max {times[-1]:.3f} ({slowest.label})")
    return out.getvalue()
