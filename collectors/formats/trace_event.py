"""Chrome's Trace Event Format: what chrome://tracing, Perfetto's JSON export, Hermes and many
tracers write. A list of events (or an object whose `traceEvents` is that list).

Three kinds of file arrive here:
- Chrome performance traces, which carry a sampled CPU profile in `Profile`/`ProfileChunk`
  events: those win over everything else and are read by `chrome.read_timeline`;
- traces with sampled stacks (`samples` pointing into `stackFrames`, as Hermes writes): one
  profile per process/thread, each sample weighted by the time to the next one;
- duration events: `B`/`E` pairs and `X` (complete) events, one profile per process/thread,
  where each stretch of time with the same open frames is one sample weighted by its length.

Duration events follow speedscope's importer exactly, because real traces are messy: events
are ordered by time (ties keep file order, and among ends at one instant the one closing the
frame on top goes first), an `X` that starts with another encloses it when it is longer,
an `E` whose name is not the top frame's is ignored (an `E` that only differs in `args` still
closes it), an `E` with nothing open is ignored, and frames still open at the end close at the
last event. A frame is named by its event's `name` plus its `args` as JSON, so calls with
different arguments stay apart (Hermes traces, which carry a source location in `args`, are
named by `name` alone). Everything else (instant, counter, async, flow events) is ignored.

Idle time (nothing open) is no sample; the samples' times (seconds, on the trace's clock)
show it. What is rejected: events that are not objects or have no `ph`, a `ts` that is not a
number (numeric strings are fine), a pid or tid that is neither number nor string, an `X`
whose duration is not a number or is negative, and sampled stacks that name a missing stack
frame or whose parents loop.
"""

from __future__ import annotations

import heapq
import json
import math
from operator import itemgetter
from typing import Any

from collectors.formats import chrome
from collectors.formats.errors import ProfileError
from collectors.formats.limits import MAX_TIME, StackBudget, WorkBudget, check_time
from collectors.formats.locations import location_from_args
from collectors.profile import Frame, FrameKind, FrameTable, Profile, ProfileGroup, Unit

NAME = "Chrome trace events"

_SNIFF_EVENTS = 64
_DURATION_PHASES = ("B", "E", "X")
_HERMES_ARGS = ("line", "column", "name", "category", "url", "params", "allocatedCategory",
                "allocatedName")

_to_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
"""`JSON.stringify` for args (one encoder for all events: `json.dumps` makes one per call)."""

Ident = int | float | str
"""A pid or tid: a number where the file gives one (or a numeric string), else the string."""


def sniff_json(obj: object) -> bool:
    """True for a non-empty list of event objects with `ph`, or an object with `traceEvents`."""
    events = _event_list(obj)
    if not events:
        return False
    return all(isinstance(ev, dict) and "ph" in ev for ev in events[:_SNIFF_EVENTS])


def read_json(obj: object, name: str = "profile") -> ProfileGroup:
    events = _event_list(obj)
    if events is None:
        raise ProfileError("not Chrome trace events (expected a list of events, or an object with "
                           "`traceEvents`)")
    for i, ev in enumerate(events):
        if not isinstance(ev, dict):
            raise ProfileError(f"trace event {i} is not an object")
        if "ph" not in ev:
            raise ProfileError(f"trace event {i} has no `ph` (event type)")
    if chrome.is_timeline(events):
        return chrome.read_timeline(events, name)
    if isinstance(obj, dict) and "samples" in obj and "stackFrames" in obj:
        return _read_samples(obj, events, name)
    hermes = isinstance(obj, list) and bool(events) and _is_hermes(events[0])
    return _read_durations(events, name, hermes)


def parse_partial(text: str) -> object | None:
    """The events of a JSON array that was never closed, or None if `text` is not one.

    Tracers that crash or stop early leave `[ {...}, {...},` with no `]` (the format allows
    it), often with a trailing comma or whitespace padding; a `,` right before the `]` is
    forgiven too. A complete, valid array is returned as it is.
    """
    body = text.strip()
    if not body.startswith("["):
        return None
    if body.endswith("]"):
        parsed = _loads(body)
        if isinstance(parsed, list):
            return parsed
        body = body[:-1].rstrip()
        if not body.endswith(","):
            return None
    if body.endswith(","):
        body = body[:-1]
    parsed = _loads(body + "]")
    return parsed if isinstance(parsed, list) else None


def _loads(text: str) -> object | None:
    try:
        result: object = json.loads(text)
    except (ValueError, RecursionError):  # JSONDecodeError, or an int too long to convert
        return None
    return result


def _event_list(obj: object) -> list[Any] | None:
    if isinstance(obj, list):
        return obj
    if isinstance(obj, dict):
        events = obj.get("traceEvents")
        return events if isinstance(events, list) else None
    return None


def _is_hermes(first: dict[str, Any]) -> bool:
    """Hermes writes a source location in every event's `args` (speedscope checks the first)."""
    args = first.get("args")
    return isinstance(args, dict) and all(key in args for key in _HERMES_ARGS)


# --- names -----------------------------------------------------------------------------


def _names(events: list[dict[str, Any]]) -> tuple[dict[Ident, str], dict[tuple[Ident, Ident], str]]:
    """Process names by pid and thread names by (pid, tid), from `M` (metadata) events."""
    processes: dict[Ident, str] = {}
    threads: dict[tuple[Ident, Ident], str] = {}
    for ev in events:
        if ev.get("ph") != "M" or ev.get("name") not in ("process_name", "thread_name"):
            continue
        args = ev.get("args")
        label = args.get("name") if isinstance(args, dict) else None
        pid, tid = _ident_or_none(ev.get("pid")), _ident_or_none(ev.get("tid"))
        if not _truthy(label) or pid is None or tid is None:
            continue
        text = label if isinstance(label, str) else _js_text(label)
        if ev["name"] == "process_name":
            processes[pid] = text
        else:
            threads[(pid, tid)] = text
    return processes, threads


def _profile_name(pid: Ident, tid: Ident, processes: dict[Ident, str],
                  threads: dict[tuple[Ident, Ident], str]) -> str:
    process, thread = processes.get(pid), threads.get((pid, tid))
    if process is not None and thread is not None:
        return f"{process} (pid {pid}), {thread} (tid {tid})"
    if process is not None:
        return f"{process} (pid {pid}, tid {tid})"
    if thread is not None:
        return f"{thread} (pid {pid}, tid {tid})"
    return f"pid {pid}, tid {tid}"


def _new_profile(group: ProfileGroup, key: tuple[Ident, Ident], processes: dict[Ident, str],
                 threads: dict[tuple[Ident, Ident], str]) -> Profile:
    pid, tid = key
    profile = group.new_profile(_profile_name(pid, tid, processes, threads), Unit.MICROSECONDS)
    profile.pid = pid if isinstance(pid, int) else None
    profile.tid = tid if isinstance(tid, int) else None
    return profile


def _thread_order(key: tuple[Ident, Ident]) -> tuple[tuple[int, Ident], tuple[int, Ident]]:
    # Numbers in numeric order (speedscope zero-pads them and sorts the text), names after.
    pid, tid = key
    return ((1, pid) if isinstance(pid, str) else (0, pid)), ((1, tid) if isinstance(tid, str) else (0, tid))


# --- duration events (B, E, X) -----------------------------------------------------------


def _read_durations(events: list[dict[str, Any]], name: str, hermes: bool) -> ProfileGroup:
    threads: dict[tuple[Ident, Ident], list[tuple[int, str, float, dict[str, Any]]]] = {}
    for i, ev in enumerate(events):
        ph = ev["ph"]
        if ph not in _DURATION_PHASES:
            continue
        # Fast paths for the usual integer pid, tid and ts; the helpers check the rest.
        pid, tid, ts = ev.get("pid"), ev.get("tid"), ev.get("ts")
        if type(pid) is not int:
            pid = _ident(pid, i, "pid")
        if type(tid) is not int:
            tid = _ident(tid, i, "tid")
        if type(ts) is not int:
            ts = _timestamp(ts, f"trace event {i} ({ph!r})")
        key = (pid, tid)
        rows = threads.get(key)
        if rows is None:
            rows = threads[key] = []
        rows.append((i, ph, ts, ev))
    if not threads:
        raise ProfileError("the trace has no duration events (`B`/`E` pairs or `X`), so nothing to show")
    processes, thread_names = _names(events)
    group = ProfileGroup(name=name)
    frames = _Frames(group.frames, hermes)
    budget = StackBudget()
    for key in sorted(threads, key=_thread_order):
        profile = budget.attach(_new_profile(group, key, processes, thread_names))
        _fill_durations(profile, threads[key], frames)
    return group


class _Frames:
    """Frame id per event key (name plus args), shared by the group's profiles."""

    def __init__(self, frames: FrameTable, hermes: bool) -> None:
        self._frames = frames
        self._hermes = hermes
        self.ids: dict[str, int] = {}

    def add(self, name: str, key: str, ev: dict[str, Any]) -> int:
        if self._hermes:
            args = ev.get("args")
            args = args if isinstance(args, dict) else {}
            url = args.get("url")
            frame = Frame(name, url if isinstance(url, str) and url else None,
                          _whole(args.get("line")), _whole(args.get("column")), FrameKind.USER)
        else:
            # py-spy's `--format chrometrace` puts the file and line in `args`: those are the
            # frame's location, not arguments that tell calls apart.
            where = location_from_args(name, ev.get("args"))
            frame = Frame(key, None, None, None, FrameKind.USER) if where is None else \
                Frame(where[0], where[1], where[2], None, FrameKind.USER)
        fid = self._frames.intern(frame)
        self.ids[key] = fid
        return fid


def _fill_durations(profile: Profile, items: list[tuple[int, str, float, dict[str, Any]]],
                    frames: _Frames) -> None:
    # Times are rebased on the thread's first event, as speedscope does, so that every
    # subtraction below is the same as its own; sample times go back to the trace clock.
    base = min(item[2] for item in items)
    begins: list[tuple[float, str, str, dict[str, Any]]] = []
    ends: list[tuple[float, str, str]] = []
    completes: list[tuple[float, float, str, str, dict[str, Any]]] = []
    for i, ph, ts, ev in items:
        t = ts - base
        ev_name = ev.get("name")
        if type(ev_name) is not str or not ev_name:
            ev_name = _event_name(ev)
        key = ev_name if ev.get("args") is None else _event_key(ev, ev_name)
        if ph == "B":
            begins.append((t, key, ev_name, ev))
        elif ph == "E":
            ends.append((t, key, ev_name))
        else:
            completes.append((t, _duration(ev, i), key, ev_name, ev))
    # Of two X events starting together, the longer one encloses the shorter.
    completes.sort(key=lambda x: (x[0], -x[1]))
    for t, dur, key, ev_name, ev in completes:
        begins.append((t, key, ev_name, ev))
        ends.append((t + dur, key, ev_name))
    begins.sort(key=itemgetter(0))  # stable: ties keep file order
    ends.sort(key=itemgetter(0))
    begin_ts = list(map(itemgetter(0), begins))
    begin_keys = list(map(itemgetter(1), begins))

    end_queue = _EndQueue(ends)
    end_ts, end_keys, end_names = end_queue.ts, end_queue.keys, end_queue.names
    open_keys: list[str] = []
    open_names: list[str] = []
    fids: list[int] = []
    frame_ids, new_frame = frames.ids, frames.add
    last = 0.0  # time of the last frame opened or closed
    intern = profile.stacks.intern
    add = profile.add_stack_sample
    work = WorkBudget()  # each stack below is a copy of the open frames
    spend = work.spend
    bi, ei, nb, ne = 0, 0, len(begins), len(ends)
    while bi < nb or ei < ne:
        if ei >= ne:
            take_begin = True
        elif bi >= nb:
            take_begin = False
        else:
            bt, et = begin_ts[bi], end_ts[ei]
            # At the same instant an end goes first, unless it ends this very event (zero length).
            take_begin = bt < et or (bt == et and begin_keys[bi] == end_keys[ei])
        if take_begin:
            t, key, ev_name, ev = begins[bi]
            bi += 1
            if t > last and fids:
                spend(len(fids))
                add(intern(tuple(fids)), t - last, (base + last) / 1e6)
            last = t
            open_keys.append(key)
            open_names.append(ev_name)
            fid = frame_ids.get(key)
            fids.append(new_frame(ev_name, key, ev) if fid is None else fid)
            continue
        if not fids:
            ei += 1  # nothing open: ignored
            continue
        if ei + 1 < ne and end_ts[ei + 1] == end_ts[ei]:
            end_queue.pos = ei
            k = end_queue.take(open_keys[-1], open_names[-1])
        else:
            k = ei  # the only end at its instant: nothing to choose
        ei += 1
        if end_names[k] != open_names[-1]:
            continue  # ends something else: ignored (speedscope warns and does nothing)
        t = end_ts[k]
        if t > last:
            spend(len(fids))
            add(intern(tuple(fids)), t - last, (base + last) / 1e6)
        last = t
        open_keys.pop()
        open_names.pop()
        fids.pop()
    # Frames still open end with the last event: nothing more to add.
    profile.start_value = float(base)
    profile.end_value = float(base + last)


class _EndQueue:
    """End events in time order, taken one at a time by speedscope's rule: among the ends at
    the front's instant, the first (after the front) that closes the top frame exactly (same
    key) goes first, else the first with the top frame's name; it swaps places with the front.

    speedscope scans the ends at that instant each time, which is quadratic when thousands of
    frames close together (deep recursion unwinding within one microsecond); here each key
    and name keeps a heap of its positions in the current instant, so a pick is a heap pop.
    """

    __slots__ = ("_by_key", "_by_name", "_group_end", "keys", "names", "pos", "ts")

    def __init__(self, ends: list[tuple[float, str, str]]) -> None:
        self.ts = [e[0] for e in ends]
        self.keys = [e[1] for e in ends]
        self.names = [e[2] for e in ends]
        self.pos = 0
        self._group_end = 0
        self._by_key: dict[str, list[int]] | None = None
        self._by_name: dict[str, list[int]] | None = None

    def take(self, top_key: str | None, top_name: str | None) -> int:
        """The index of the end event to handle next (moving it to the front first)."""
        i = self.pos
        self.pos = i + 1
        if top_key is None or top_name is None:
            return i
        if i >= self._group_end:
            ts, n = self.ts, len(self.ts)
            j = i + 1
            while j < n and ts[j] == ts[i]:
                j += 1
            self._group_end = j
            self._by_key = self._by_name = None
        if self._group_end - i <= 1:
            return i
        if self._by_key is None or self._by_name is None:
            self._by_key, self._by_name = {}, {}
            for p in range(i + 1, self._group_end):  # ascending, so each list is a heap
                self._by_key.setdefault(self.keys[p], []).append(p)
                self._by_name.setdefault(self.names[p], []).append(p)
        j = _first_after(self._by_key, top_key, i, self.keys)
        if j < 0:
            j = _first_after(self._by_name, top_name, i, self.names)
        if j >= 0:
            self.ts[i], self.ts[j] = self.ts[j], self.ts[i]
            self.keys[i], self.keys[j] = self.keys[j], self.keys[i]
            self.names[i], self.names[j] = self.names[j], self.names[i]
            heapq.heappush(self._by_key.setdefault(self.keys[j], []), j)
            heapq.heappush(self._by_name.setdefault(self.names[j], []), j)
        return i


def _first_after(heaps: dict[str, list[int]], value: str, front: int, column: list[str]) -> int:
    """The lowest position after `front` holding `value`, or -1 (stale entries dropped)."""
    heap = heaps.get(value)
    while heap:
        p = heap[0]
        if p > front and column[p] == value:
            return p
        heapq.heappop(heap)
    return -1


def _event_name(ev: dict[str, Any]) -> str:
    name = ev.get("name")
    if not _truthy(name):
        return "(unnamed)"
    return name if isinstance(name, str) else _js_text(name)


def _event_key(ev: dict[str, Any], name: str) -> str:
    args = ev.get("args")
    if not _truthy(args):
        return name
    return f"{name} {_to_json(args)}"


def _duration(ev: dict[str, Any], i: int) -> float:
    value = ev.get("dur")
    if value is None:
        value = ev.get("tdur")
    if value is None:
        return 0.0
    if type(value) not in (int, float):
        raise ProfileError(f"trace event {i} ('X') has a `dur` that is not a number: {_short(value)}")
    assert isinstance(value, int | float)
    if value < 0:
        raise ProfileError(f"trace event {i} ('X') has a negative duration ({_short(value)})")
    # A huge int would overflow float(); anything past MAX_TIME is refused before that.
    return check_time(value if value <= MAX_TIME else math.inf, f"trace event {i} ('X'): its `dur`")


# --- sampled stacks (samples + stackFrames) --------------------------------------------


def _read_samples(obj: dict[str, Any], events: list[dict[str, Any]], name: str) -> ProfileGroup:
    samples, stack_frames = obj["samples"], obj["stackFrames"]
    if not isinstance(samples, list):
        raise ProfileError("the trace's `samples` is not a list")
    if not isinstance(stack_frames, dict):
        raise ProfileError("the trace's `stackFrames` is not an object")
    threads: dict[tuple[Ident, Ident], list[tuple[float, int, object]]] = {}
    for i, sample in enumerate(samples):
        if not isinstance(sample, dict):
            raise ProfileError(f"sample {i} is not an object")
        key = (_ident(sample.get("pid"), i, "pid", "sample"), _ident(sample.get("tid"), i, "tid", "sample"))
        ts = _timestamp(sample.get("ts"), f"sample {i}")
        threads.setdefault(key, []).append((ts, i, sample.get("sf")))
    if not threads:
        raise ProfileError("the trace's `samples` list is empty")
    processes, thread_names = _names(events)
    group = ProfileGroup(name=name)
    stacks = _StackFrames(group.frames, stack_frames, StackBudget())
    for key in sorted(threads, key=_thread_order):
        profile = _new_profile(group, key, processes, thread_names)
        rows = threads[key]
        rows.sort(key=itemgetter(0))  # speedscope assumes file order is time order; we make sure
        intern = profile.stacks.intern
        for k, (ts, i, sf) in enumerate(rows):
            stack = stacks.stack(sf, i)
            # Each sample lasts until the next; the last one only marks the end.
            weight = rows[k + 1][0] - ts if k + 1 < len(rows) else 0.0
            if stack and weight > 0:
                profile.add_stack_sample(intern(stack), weight, ts / 1e6)
        profile.start_value = rows[0][0]
        profile.end_value = rows[-1][0]
    return group


class _StackFrames:
    """Stacks from `stackFrames` (id -> name, category, parent), root first, per sampled id."""

    def __init__(self, frames: FrameTable, stack_frames: dict[str, Any], budget: StackBudget) -> None:
        self._frames = frames
        self._budget = budget
        self._raw = stack_frames
        self._frame_ids: dict[str, int] = {}
        self._stacks: dict[str, tuple[int, ...]] = {}

    def stack(self, sf: object, sample: int) -> tuple[int, ...]:
        ref = _frame_ref(sf)
        if ref is None:
            return ()
        cached = self._stacks.get(ref)
        if cached is not None:
            return cached
        chain: list[int] = []
        node: str | None = ref
        while node is not None:
            raw = self._raw.get(node)
            if not isinstance(raw, dict):
                if node == ref:
                    raise ProfileError(f"sample {sample} refers to stack frame {node!r}, "
                                       "which is not in `stackFrames`")
                raise ProfileError(f"a stack frame's parent {node!r} is not in `stackFrames`")
            chain.append(self._frame_id(node, raw))
            node = _frame_ref(raw.get("parent"))
            if len(chain) > len(self._raw):
                raise ProfileError(f"the parents of stack frame {ref!r} form a loop")
        chain.reverse()
        stack = tuple(chain)
        self._budget.spend(len(stack))
        self._stacks[ref] = stack
        return stack

    def _frame_id(self, ref: str, raw: dict[str, Any]) -> int:
        fid = self._frame_ids.get(ref)
        if fid is None:
            label = raw.get("name")
            text = label if isinstance(label, str) else ("(unnamed)" if label is None else _js_text(label))
            fid = self._frames.intern(Frame(text, None, None, None, FrameKind.USER))
            self._frame_ids[ref] = fid
        return fid


def _frame_ref(value: object) -> str | None:
    """A `stackFrames` key from an `sf` or `parent` value; None (no frame) for 0 or nothing."""
    if not _truthy(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else _js_text(value)


# --- values ----------------------------------------------------------------------------


def _timestamp(value: object, what: str) -> float:
    """A finite number of microseconds; numeric strings are accepted (Hermes writes them)."""
    number: float | None = None
    if type(value) in (int, float):
        assert isinstance(value, int | float)
        if type(value) is int and not -MAX_TIME <= value <= MAX_TIME:  # float() would overflow
            check_time(math.copysign(math.inf, value), f"{what}: its `ts`")
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = None
    if number is None or not math.isfinite(number):
        raise ProfileError(f"{what} has a `ts` that is not a number: {_short(value)}")
    return check_time(number, f"{what}: its `ts`")


def _ident(value: object, i: int, field: str, what: str = "trace event") -> Ident:
    ident = _ident_or_none(value)
    if ident is None:
        raise ProfileError(f"{what} {i} has a `{field}` that is neither a number nor a string: "
                           f"{_short(value)}")
    return ident


def _ident_or_none(value: object) -> Ident | None:
    if value is None:
        return 0  # no pid/tid at all: everything is one thread, as with pid 0, tid 0
    if type(value) is int:
        return value
    if type(value) is float:
        return int(value) if value.is_integer() else value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return value
    return None


def _whole(value: object) -> int | None:
    return value if type(value) is int else None


def _truthy(value: object) -> bool:
    """JavaScript's truthiness, which speedscope's `x || default` relies on."""
    if value is None or value is False:
        return False
    if type(value) in (int, float):
        return value == value and value != 0  # NaN and 0 are falsy
    if isinstance(value, str):
        return value != ""
    return True


def _js_text(value: object) -> str:
    """How JavaScript writes a non-string value in a template string (near enough)."""
    if type(value) is float and value.is_integer():
        return str(int(value))
    if isinstance(value, dict):
        return "[object Object]"
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
