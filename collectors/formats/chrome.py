"""Chrome and Node CPU profiles: `.cpuprofile` files and the profiles inside Chrome traces.

A `.cpuprofile` (Chrome DevTools, `node --cpu-prof`) is a tree of `nodes` (each a call frame
with `children` or a `parent`), the node hit by each of `samples`, and `timeDeltas` in
microseconds (the first relative to `startTime`). Node 8 wrote an older shape with a nested
`head` tree and absolute `timestamps`; it is converted to the same thing. Chrome performance
traces carry the same data in `Profile` and `ProfileChunk` (or, before Chrome 66, one
`CpuProfile`) trace events; `read_timeline` collects those, one profile per profile id.

Read as speedscope reads them, so the result is the same:
- consecutive samples of the same node are one run, weighted by the time to the next run
  (a negative time delta never moves time back); the last sample marks the end and weighs
  nothing; time before the first sample (from `startTime`) is a gap;
- `(root)`, `(idle)` and V8's `native dummy.js` frames are not shown, and a frame above one
  of them is cut there; time in `(idle)` is a gap, not a sample;
- `(program)` and `(garbage collector)` samples sit on top of the stack sampled before them
  (V8 does not record what they interrupted, and that is the best guess);
- lines and columns are made 1-based; an unnamed function is `(anonymous file.js:LINE)`.
Samples are timed in seconds on the trace clock, so the threads of one trace line up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from collectors.formats.errors import ProfileError
from collectors.formats.limits import MAX_TIME, StackBudget, WorkBudget
from collectors.profile import Frame, FrameKind, Profile, ProfileGroup, Unit

NAME = "Chrome/Node .cpuprofile"

PROFILE_EVENT_NAMES = frozenset({"CpuProfile", "Profile", "ProfileChunk"})
"""Trace events that carry a CPU profile (rather than a traced duration)."""

_HIDDEN = frozenset({"(root)", "(idle)"})
_ON_TOP = frozenset({"(garbage collector)", "(program)"})
_DUMMY_URL = "native dummy.js"
_MAIN_THREAD = "CrRendererMain"


def sniff_json(obj: object) -> bool:
    """True for a `.cpuprofile`: an object with `nodes` and `samples` (and `timeDeltas` or a
    `startTime`), or the old Node shape with `head`, `samples` and `timestamps`."""
    if not isinstance(obj, dict) or "samples" not in obj:
        return False
    if isinstance(obj.get("nodes"), list):
        return "timeDeltas" in obj or "startTime" in obj
    return isinstance(obj.get("head"), dict) and "timestamps" in obj


def read_json(obj: object, name: str = "profile") -> ProfileGroup:
    """Read a `.cpuprofile` (either shape), or a Chrome trace holding CPU profile events."""
    if sniff_json(obj):
        assert isinstance(obj, dict)
        raw = _from_old_shape(obj) if "nodes" not in obj else _from_cpuprofile(obj, "the profile")
        group = ProfileGroup(name=name)
        _build(group, raw, name, StackBudget())
        return group
    events = obj.get("traceEvents") if isinstance(obj, dict) else obj
    if isinstance(events, list) and is_timeline(events):
        return read_timeline(events, name)
    raise ProfileError("not a Chrome CPU profile (no `nodes`, `samples` and `timeDeltas`)")


def is_timeline(events: list[Any]) -> bool:
    """True when a list of trace events holds CPU profile events (`Profile`, `ProfileChunk`
    or `CpuProfile`), which take precedence over the trace's duration events."""
    for ev in events:
        if (isinstance(ev, dict) and ev.get("name") in PROFILE_EVENT_NAMES
                and ev.get("ph") not in ("B", "E", "X")):
            return True
    return False


# --- the raw profile -----------------------------------------------------------------


@dataclass(eq=False)
class _RawProfile:
    """A cpuprofile's fields, checked for type only; times in microseconds."""

    start: float = 0.0
    end: float = 0.0
    nodes: list[Any] = field(default_factory=list)
    samples: list[Any] = field(default_factory=list)
    deltas: list[Any] = field(default_factory=list)
    pid: int | None = None
    tid: int | None = None
    thread: str | None = None


def _from_cpuprofile(obj: dict[str, Any], where: str) -> _RawProfile:
    raw = _RawProfile()
    _merge(raw, obj, where)
    return raw


def _merge(raw: _RawProfile, data: dict[str, Any], where: str) -> None:
    """Add one cpuprofile's (or chunk's) fields to `raw`: lists append, times replace."""
    for key, target in (("nodes", raw.nodes), ("samples", raw.samples), ("timeDeltas", raw.deltas)):
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, list):
            raise ProfileError(f"{where} has a `{key}` that is not a list")
        target.extend(value)
    if data.get("startTime") is not None:
        raw.start = _number(data["startTime"], f"{where}: `startTime`")
    if data.get("endTime") is not None:
        raw.end = _number(data["endTime"], f"{where}: `endTime`")


def _from_old_shape(obj: dict[str, Any]) -> _RawProfile:
    """Node 8's shape: a nested `head` tree, times in seconds, absolute `timestamps` (µs)."""
    start = _number(obj.get("startTime", 0), "the profile's `startTime`") * 1e6
    end = _number(obj.get("endTime", 0), "the profile's `endTime`") * 1e6
    nodes: list[Any] = []
    todo: list[Any] = [obj["head"]]
    while todo:  # pre-order, iteratively: trees are as deep as the deepest stack
        node = todo.pop()
        if not isinstance(node, dict):
            raise ProfileError("a node of the profile's `head` tree is not an object")
        children = node.get("children") or []
        if not isinstance(children, list) or not all(isinstance(c, dict) for c in children):
            raise ProfileError(f"node {node.get('id')!r} has `children` that are not a list of nodes")
        nodes.append({
            "id": node.get("id"),
            "callFrame": {"functionName": node.get("functionName", ""), "url": node.get("url"),
                          "lineNumber": node.get("lineNumber"), "columnNumber": 0},
            "children": [c.get("id") for c in children],
        })
        todo.extend(reversed(children))
    stamps = obj["timestamps"]
    if not isinstance(stamps, list):
        raise ProfileError("the profile's `timestamps` is not a list")
    deltas: list[float] = []
    last = start
    for i, t in enumerate(stamps):
        value = _number(t, f"timestamp {i}")
        deltas.append(value - last)
        last = value
    samples = obj["samples"]
    if not isinstance(samples, list):
        raise ProfileError("the profile's `samples` is not a list")
    return _RawProfile(start=start, end=end, nodes=nodes, samples=samples, deltas=deltas)


# --- Chrome traces -------------------------------------------------------------------


def read_timeline(events: list[Any], name: str = "profile") -> ProfileGroup:
    """The CPU profiles in a Chrome trace's events, one profile per profile id.

    As speedscope does: events are taken in time order, a `ProfileChunk` adds to the
    `Profile` with its id (or, without an id, of its thread), a chunk without data or for an
    unknown profile is skipped, and profiles are named `file - thread` when there are several.
    """
    thread_names: dict[tuple[str, str], str] = {}
    carriers: list[tuple[float, int, dict[str, Any]]] = []
    for i, ev in enumerate(events):
        if not isinstance(ev, dict):
            raise ProfileError(f"trace event {i} is not an object")
        ev_name = ev.get("name")
        if ev_name == "thread_name":
            args = ev.get("args")
            if isinstance(args, dict) and isinstance(args.get("name"), str):
                thread_names[(repr(ev.get("pid")), repr(ev.get("tid")))] = args["name"]
        elif ev_name in PROFILE_EVENT_NAMES and ev.get("ph") not in ("B", "E", "X"):
            carriers.append((_number(ev.get("ts", 0), f"trace event {i} (`{ev_name}`): `ts`"), i, ev))
    carriers.sort(key=lambda c: c[0])  # stable: ties keep file order

    profiles: dict[tuple[str, object, object], _RawProfile] = {}
    for _, i, ev in carriers:
        key = _profile_key(ev)
        where = f"trace event {i} (`{ev['name']}`)"
        data = ev.get("args", {}).get("data") if isinstance(ev.get("args"), dict) else None
        if data is not None and not isinstance(data, dict):
            raise ProfileError(f"{where} has `args.data` that is not an object")
        if ev["name"] == "CpuProfile":
            cpu = (data or {}).get("cpuProfile")
            if not isinstance(cpu, dict):
                raise ProfileError(f"{where} has no `args.data.cpuProfile` object")
            raw = _from_cpuprofile(cpu, where)
        elif ev["name"] == "Profile":
            raw = _RawProfile()
            _merge(raw, data or {}, where)
        else:
            raw_or_none = profiles.get(key)
            if raw_or_none is None or data is None:
                continue  # a chunk of a profile we never saw begin, or an empty chunk
            cpu = data.get("cpuProfile")
            if cpu is not None:
                if not isinstance(cpu, dict):
                    raise ProfileError(f"{where} has `args.data.cpuProfile` that is not an object")
                _merge(raw_or_none, {"nodes": cpu.get("nodes"), "samples": cpu.get("samples")}, where)
            _merge(raw_or_none, {"timeDeltas": data.get("timeDeltas"), "startTime": data.get("startTime"),
                                 "endTime": data.get("endTime")}, where)
            continue
        raw.pid, raw.tid = _int_or_none(ev.get("pid")), _int_or_none(ev.get("tid"))
        raw.thread = thread_names.get((repr(ev.get("pid")), repr(ev.get("tid"))))
        profiles[key] = raw  # a repeated id replaces the profile but keeps its place

    if not profiles:
        raise ProfileError("the trace has no CPU profile (no `Profile` or `CpuProfile` event)")
    group = ProfileGroup(name=name)
    several = len(profiles) > 1
    budget = StackBudget()
    for raw in profiles.values():
        pname = f"{name} - {raw.thread}" if raw.thread and several else name
        _build(group, raw, pname, budget)
    group.active_index = _main_thread_index(group, list(profiles.values()))
    return group


def _profile_key(ev: dict[str, Any]) -> tuple[str, object, object]:
    pid, tid = ev.get("pid"), ev.get("tid")
    ident = ev.get("id")
    if ident:
        return ("id", str(ident), None)
    return ("thread", repr(pid), repr(tid))


def _main_thread_index(group: ProfileGroup, raws: list[_RawProfile]) -> int:
    # speedscope shows the last renderer main-thread profile; we prefer one that has samples,
    # since a trace can end with an empty profile for that thread (Chrome 141 writes one).
    best = 0
    best_has_samples = False
    for i, raw in enumerate(raws):
        if raw.thread == _MAIN_THREAD:
            has = group.profiles[i].sample_count > 0
            if has or not best_has_samples:
                best, best_has_samples = i, has
    return best


# --- building the profile --------------------------------------------------------------


@dataclass(eq=False)
class _Tree:
    """The node tree with what the stack walk needs per node."""

    parent: dict[int, int]
    call_frames: dict[int, dict[str, Any]]
    hidden: set[int]
    on_top: set[int]


def _tree(nodes: list[Any]) -> _Tree:
    call_frames: dict[int, dict[str, Any]] = {}
    for i, node in enumerate(nodes):
        if not isinstance(node, dict):
            raise ProfileError(f"node {i} is not an object")
        nid = node.get("id")
        if type(nid) is not int:
            raise ProfileError(f"node {i} has an `id` that is not a whole number: {_short(nid)}")
        cf = node.get("callFrame")
        if not isinstance(cf, dict):
            raise ProfileError(f"node {nid} has no `callFrame` object")
        fname = cf.get("functionName", "")
        if not isinstance(fname, str):
            raise ProfileError(f"node {nid} has a `functionName` that is not a string")
        url = cf.get("url")
        if url is not None and not isinstance(url, str):
            raise ProfileError(f"node {nid} has a `url` that is not a string")
        call_frames[nid] = cf
    parent: dict[int, int] = {}
    # A node's own `parent` is used unless some node lists it among its `children`.
    for node in nodes:
        p = node.get("parent")
        if type(p) is int and p in call_frames:
            parent[node["id"]] = p
    for node in nodes:
        children = node.get("children")
        if children is None:
            continue
        if not isinstance(children, list):
            raise ProfileError(f"node {node['id']} has `children` that is not a list")
        for child in children:
            if type(child) is int and child in call_frames:
                parent[child] = node["id"]
    hidden = {nid for nid, cf in call_frames.items()
              if cf.get("functionName") in _HIDDEN or cf.get("url") == _DUMMY_URL}
    on_top = {nid for nid, cf in call_frames.items() if cf.get("functionName") in _ON_TOP}
    return _Tree(parent, call_frames, hidden, on_top)


def _runs(raw: _RawProfile) -> tuple[list[int], list[float], float]:
    """Consecutive samples of one node merged: (node ids, start times in µs from `startTime`,
    end time). As in speedscope, a run never starts before the run before it (a negative
    time delta is absorbed), and the last sample only marks the end."""
    samples, deltas = raw.samples, raw.deltas
    n = len(samples)
    if len(deltas) < n:
        raise ProfileError(f"the profile has {n} samples but only {len(deltas)} time deltas")
    nodes: list[int] = []
    times: list[float] = []
    if not n:
        return nodes, times, 0.0
    elapsed = _number(deltas[0], "time delta 0")
    valid = elapsed  # the latest run start: only runs move it, not every sample
    last: int | None = None
    for i in range(n):
        nid = samples[i]
        if type(nid) is not int:
            raise ProfileError(f"sample {i} is not a node id: {_short(nid)}")
        if i:
            elapsed += _number(deltas[i], f"time delta {i}")
        if nid != last:
            valid = max(valid, elapsed)
            nodes.append(nid)
            times.append(valid)
            last = nid
    return nodes, times, max(valid, elapsed)


def _build(group: ProfileGroup, raw: _RawProfile, pname: str, budget: StackBudget) -> Profile:
    profile = budget.attach(group.new_profile(pname, Unit.MICROSECONDS))
    profile.pid, profile.tid = raw.pid, raw.tid
    tree = _tree(raw.nodes)
    run_nodes, run_times, end = _runs(raw)
    profile.start_value = raw.start
    profile.end_value = max(raw.end, raw.start + end)
    _fill(profile, tree, run_nodes, run_times, end, raw.start)
    return profile


def _fill(profile: Profile, tree: _Tree, run_nodes: list[int], run_times: list[float],
          end: float, start: float) -> None:
    """Add one sample per stretch of time with the same non-empty stack."""
    walker = _Walker(tree, _FrameCache(profile, tree.call_frames))
    known = tree.call_frames
    current: tuple[int, ...] = ()
    since = 0.0
    add = profile.add_stack_sample
    intern = profile.stacks.intern
    work = WorkBudget()
    for nid, t in zip(run_nodes, run_times, strict=True):
        if nid not in known:
            continue  # a sample of an unknown node changes nothing (speedscope skips it)
        stack = walker.step(nid)
        if stack is not current:
            work.spend(len(stack))  # comparing and interning deep stacks is what costs
        if stack != current:
            if current and t > since:
                add(intern(current), t - since, (start + since) / 1e6)
            current, since = stack, t
    if current and end > since:
        add(intern(current), end - since, (start + since) / 1e6)


class _Walker:
    """The stack speedscope shows for each sample, which can depend on the stack before it:
    `(program)` and `(garbage collector)` land on top of it, and a node under a hidden frame
    that is not at the root keeps whatever part of the previous stack it shares.

    speedscope walks from each sample's node to the lowest node it shares with the previous
    stack. Most samples do not need that: when the previous stack is its top node's plain
    ancestry ("clean") and so is the new node's, the result is the new node's ancestry,
    computed once per node. Only the other samples take the full walk (`_walk`).
    """

    def __init__(self, tree: _Tree, frame_of: _FrameCache) -> None:
        self.parent, self.hidden, self.on_top = tree.parent, tree.hidden, tree.on_top
        self.frame_of = frame_of
        self.limit = len(tree.call_frames) + 1  # more steps than nodes: the links loop
        self.current: tuple[int, ...] = ()
        # Clean state: the stack is base (the ancestry of base_node) plus on-top nodes.
        self.clean = True
        self.base_node: int | None = None
        self.base: tuple[int, ...] = ()
        self.suffix: list[int] = []
        self.suffix_fids: list[int] = []
        # Full state, used while not clean.
        self.open_nodes: list[int] = []
        self.where: dict[int, int] = {}  # node -> its index in open_nodes
        self.fids: list[int] = []
        self.clean_upto = 0  # open_nodes[:clean_upto] is some node's plain ancestry
        self._ancestry: dict[int, tuple[int, ...] | None] = {}
        self._hidden_to_top: dict[int, bool] = {}

    def step(self, nid: int) -> tuple[int, ...]:
        """The stack (frame ids, root first) after a sample of node `nid`."""
        if self.clean:
            if nid in self.on_top:
                if nid not in self.hidden:
                    self._on_top(nid)
                return self.current
            plain = self._plain_stack(nid)
            if plain is not None:
                self.base_node = nid if plain else None
                self.base = self.current = plain
                self.suffix.clear()
                self.suffix_fids.clear()
                return plain
            self._unfold()
        return self._walk(nid)

    def _on_top(self, nid: int) -> None:
        # The previous stack stays and this node goes on top; if it is already there (an
        # earlier on-top node), the stack is cut back to it.
        if nid in self.suffix:
            k = self.suffix.index(nid) + 1
            del self.suffix[k:]
            del self.suffix_fids[k:]
        else:
            self.suffix.append(nid)
            self.suffix_fids.append(self.frame_of(nid))
        self.current = self.base + tuple(self.suffix_fids)

    def _unfold(self) -> None:
        """Switch from the clean state to the full one."""
        nodes: list[int] = []
        node = self.base_node
        while node is not None and node not in self.hidden:
            nodes.append(node)
            node = self.parent.get(node)
        nodes.reverse()
        self.clean_upto = len(nodes)
        self.open_nodes = nodes + self.suffix
        self.where = {n: i for i, n in enumerate(self.open_nodes)}
        self.fids = list(self.current)
        self.clean = False

    def _walk(self, nid: int) -> tuple[int, ...]:
        """speedscope's walk: close down to the lowest node already open, open the rest."""
        parent, hidden, on_top = self.parent, self.hidden, self.on_top
        open_nodes, where, fids = self.open_nodes, self.where, self.fids
        common: int | None = nid
        steps = 0
        while common is not None and common not in where:
            common = (open_nodes[-1] if open_nodes else None) if common in on_top else parent.get(common)
            steps += 1
            if steps > self.limit:
                raise ProfileError(f"the parent links of node {nid} form a loop")
        keep = where[common] + 1 if common is not None else 0
        for gone in open_nodes[keep:]:
            del where[gone]
        del open_nodes[keep:]
        del fids[keep:]
        self.clean_upto = min(self.clean_upto, keep)
        opening: list[int] = []
        node: int | None = nid
        while node is not None and node != common and node not in hidden:
            opening.append(node)
            # (program) and (garbage collector) sit on whatever was on top before them.
            node = (open_nodes[-1] if open_nodes else None) if node in on_top else parent.get(node)
            if len(opening) > self.limit:
                raise ProfileError(f"the parent links of node {nid} form a loop")
        for node in reversed(opening):
            k = len(open_nodes)
            if self.clean_upto == k and node not in on_top and (
                    parent.get(node) == open_nodes[k - 1] if k else self._is_chain_root(node)):
                self.clean_upto = k + 1
            where[node] = k
            open_nodes.append(node)
            fids.append(self.frame_of(node))
        stack = tuple(fids)
        self.current = stack
        if self.clean_upto == len(open_nodes):  # back to a plain ancestry
            self.clean = True
            self.base_node = open_nodes[-1] if open_nodes else None
            self.base = stack
            self.suffix.clear()
            self.suffix_fids.clear()
        return stack

    def _plain_stack(self, nid: int) -> tuple[int, ...] | None:
        """The node's ancestry as frame ids when it does not depend on the previous stack
        (no on-top node in it, and any hidden frame only with hidden frames above it)."""
        memo = self._ancestry
        if nid in memo:
            return memo[nid]
        chain: list[int] = []
        node: int | None = nid
        base: tuple[int, ...] | None
        while True:
            if node is None:
                base = ()
                break
            if node in memo:
                base = memo[node]
                break
            if node in self.hidden:
                base = () if self._hidden_up(node) else None
                break
            if node in self.on_top:
                base = None
                break
            chain.append(node)
            node = self.parent.get(node)
            if len(chain) > self.limit:
                raise ProfileError(f"the parent links of node {nid} form a loop")
        if base is not None and chain:
            chain.reverse()  # frames are interned root first, in the order speedscope meets them
            base = base + tuple(map(self.frame_of, chain))
        memo[nid] = base
        return base

    def _is_chain_root(self, node: int) -> bool:
        above = self.parent.get(node)
        return above is None or self._hidden_up(above)

    def _hidden_up(self, node: int) -> bool:
        """True when the node and everything above it are hidden frames."""
        memo = self._hidden_to_top
        chain: list[int] = []
        result = True
        here: int | None = node
        while here is not None:
            known = memo.get(here)
            if known is not None:
                result = known
                break
            if here not in self.hidden:
                result = False
                break
            chain.append(here)
            here = self.parent.get(here)
            if len(chain) > self.limit:
                raise ProfileError(f"the parent links of node {node} form a loop")
        for n in chain:
            memo[n] = result
        return result


class _FrameCache:
    """Frame id per node, interned on first use."""

    def __init__(self, profile: Profile, call_frames: dict[int, dict[str, Any]]) -> None:
        self._frames = profile.frames
        self._call_frames = call_frames
        self._ids: dict[int, int] = {}

    def __call__(self, nid: int) -> int:
        fid = self._ids.get(nid)
        if fid is None:
            fid = self._frames.intern(frame_for(self._call_frames[nid]))
            self._ids[nid] = fid
        return fid


def frame_for(call_frame: dict[str, Any]) -> Frame:
    """A V8 call frame as speedscope names it: 1-based line and column, and unnamed
    functions as `(anonymous file.js:LINE)`; V8's own `(program)`-style entries are UNKNOWN."""
    fname = call_frame.get("functionName") or ""
    url = call_frame.get("url") or None
    line = _one_based(call_frame.get("lineNumber"))
    col = _one_based(call_frame.get("columnNumber"))
    if fname:
        name = fname
    elif url:
        base = url.rsplit("/", 1)[-1]
        name = f"(anonymous {base}:{line})" if line is not None else f"(anonymous {base})"
    else:
        name = "(anonymous)"
    kind = FrameKind.UNKNOWN if fname.startswith("(") and fname.endswith(")") else FrameKind.USER
    return Frame(name, url, line, col, kind)


def _one_based(value: object) -> int | None:
    # V8 writes -1 for "unknown"; speedscope's +1 would make that 0, which means nothing.
    if type(value) is int and value >= 0:
        return value + 1
    return None


# --- small helpers ---------------------------------------------------------------------


def _number(value: object, what: str) -> float:
    """A time or delta (µs): a finite number within `MAX_TIME` either way, so that sums of
    them stay finite."""
    if type(value) is int or type(value) is float:
        assert isinstance(value, int | float)
        if -MAX_TIME <= value <= MAX_TIME:
            return float(value)
        if value == value:  # not NaN
            raise ProfileError(f"{what} is {_short(value)}, beyond any real time (at most {MAX_TIME:g} µs either way)")
    raise ProfileError(f"{what} is not a number: {_short(value)}")


def _int_or_none(value: object) -> int | None:
    return value if type(value) is int else None


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
