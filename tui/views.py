"""Pure layout for the flame panes: what to draw, computed without a terminal.

A flame pane shows a tree (left heavy, time order, or a sandwich half) through a viewport
`[start, end)` of its x axis, `width` cells wide. `layout_rows` turns that into one row per
depth, each a list of `Span(col_start, col_end, node)`: frames narrower than a cell are
dropped (their parent's cells show the remainder), and only nodes at least one cell wide
are ever expanded, so a 100k-stack profile touches a screenful of nodes.

The Time Order pane's own pure functions (range selection, the time ruler, the density
strip's binning) are in `tui.time_axis`.

Everything here is iterative: stacks 20,000 frames deep are real.
"""

from __future__ import annotations

import bisect
import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from rich.cells import cell_len, set_cell_size

from collectors.calltree import GroupedNode, GroupedTree, TimeNode, TimeOrderTree


class FlameNode(Protocol):
    """What a flame pane needs of a tree node (GroupedNode and TimeNode both fit)."""

    @property
    def frame(self) -> int: ...
    @property
    def depth(self) -> int: ...
    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float: ...
    @property
    def total(self) -> float: ...
    @property
    def self_weight(self) -> float: ...


class FlameModel:
    """A tree as a flame pane sees it: a root, lazily computed children, x from start to end."""

    def __init__(self, root: FlameNode, children: Callable[[FlameNode], Sequence[FlameNode]],
                 parent: Callable[[FlameNode], FlameNode | None], kind: str,
                 path: Callable[[FlameNode], list[FlameNode]] | None = None) -> None:
        self.root = root
        self.children = children
        self.parent = parent
        self._path = path
        """How `path` finds a node's ancestors when the tree knows faster than `parent` steps."""
        self.kind = kind
        """"left-heavy", "time-order", "callers" or "callees": part of every cache key."""

    @property
    def start(self) -> float:
        return self.root.start

    @property
    def end(self) -> float:
        return self.root.end

    @property
    def total(self) -> float:
        return self.root.total

    def path(self, node: FlameNode) -> list[FlameNode]:
        """The nodes from the top frame down to `node` (the pseudo-root excluded)."""
        if self._path is not None:
            return self._path(node)
        out: list[FlameNode] = []
        cur: FlameNode | None = node
        while cur is not None and cur.depth >= 0:
            out.append(cur)
            cur = self.parent(cur)
        out.reverse()
        return out

    def heaviest_child(self, node: FlameNode) -> FlameNode | None:
        kids = self.children(node)
        if not kids:
            return None
        best = kids[0]
        for k in kids:
            if k.total > best.total:
                best = k
        return best


def grouped_model(tree: GroupedTree, kind: str = "left-heavy") -> FlameModel:
    def children(node: FlameNode) -> Sequence[FlameNode]:
        assert isinstance(node, GroupedNode)
        return node.children

    def parent(node: FlameNode) -> FlameNode | None:
        assert isinstance(node, GroupedNode)
        return node.parent

    return FlameModel(tree.root, children, parent, kind)


def time_order_model(tree: TimeOrderTree) -> FlameModel:
    def children(node: FlameNode) -> Sequence[FlameNode]:
        assert isinstance(node, TimeNode)
        return tree.children(node)

    def parent(node: FlameNode) -> FlameNode | None:
        assert isinstance(node, TimeNode)
        return tree.parent(node)

    def path(node: FlameNode) -> list[FlameNode]:
        assert isinstance(node, TimeNode)
        return list(tree.path(node))

    return FlameModel(tree.root, children, parent, "time-order", path)


@dataclass(frozen=True)
class Viewport:
    """The part of the x axis shown, and the node zoomed into (None: a free range)."""

    start: float
    end: float
    node: FlameNode | None = None

    @property
    def width(self) -> float:
        return self.end - self.start


class Span(NamedTuple):
    col_start: int
    col_end: int
    node: FlameNode


def column(x: float, origin: float, scale: float) -> int:
    """The cell of x-coordinate `x` for a pane whose cell 0 starts at `origin`, `scale` cells per x unit."""
    # floor(v + 0.5), not round(): banker's rounding would make a one-cell frame vanish.
    return math.floor((x - origin) * scale + 0.5)


_BISECT_FROM = 8
_node_end = operator.attrgetter("end")


def layout_rows(model: FlameModel, view: Viewport, width: int) -> list[list[Span]]:
    """Rows by depth (row 0 is the top frames) of the frames visible in `view` at `width` cells.

    A node is kept when, clipped to the viewport, it is at least one cell wide; only kept
    nodes are expanded. Columns are clipped to [0, width).

    In Time Order, a cell that no kept node covers but that holds frames narrower than a
    cell (a thousand alternating one-sample stacks: an interpreter, the threads of "all
    threads"; a mostly idle server's short bursts) shows the one among them that covers most
    of it, one cell wide, expanded as a kept node is: the pane is never blank where samples
    are (the density strip above says how many), and cells without samples stay gaps.

    Siblings lie left to right without overlap (both trees place children so), so the ones
    wholly left of the view are skipped by bisection and the walk stops at the first one
    right of it: zoomed into a short stretch of Time Order, a node's 100,000 runs cost a
    few steps instead of a visit each.
    """
    rows: list[list[Span]] = []
    if width <= 0 or view.width <= 0:
        return rows
    scale = width / view.width
    origin = view.start
    v0, v1 = view.start, view.end
    children = model.children
    dense = model.kind == "time-order"
    frontier: list[FlameNode] = [model.root]
    while frontier:
        row: list[Span] = []
        crowd: dict[int, tuple[float, FlameNode]] = {}
        for parent in frontier:
            kids = children(parent)
            first = 0
            if len(kids) > _BISECT_FROM and kids[0].end <= v0:
                first = bisect.bisect_right(kids, v0, key=_node_end)
            if dense and len(kids) - first > _CROWDS_FROM:
                _lay_out_many(kids, first, v0, v1, origin, scale, width, row, crowd)
            else:
                _lay_out_each(kids, first, len(kids), v0, v1, origin, scale, width, dense, row, crowd)
        if crowd:
            row = _with_crowded_cells(row, crowd, width)
        if not row:
            break
        rows.append(row)
        frontier = [s.node for s in row]
    return rows


_CROWDS_FROM = 64


def _mid(node: FlameNode) -> float:
    return (node.start + node.end) / 2


def _width(node: FlameNode) -> float:
    return node.end - node.start


def _lay_out_each(kids: Sequence[FlameNode], begin: int, end: int, v0: float, v1: float, origin: float, scale: float,
                  width: int, dense: bool, row: list[Span], crowd: dict[int, tuple[float, FlameNode]]) -> bool:
    """`layout_rows`' walk over `kids[begin:end]`, one at a time: a span in `row` for each at
    least a cell wide in the view and, in Time Order, the widest narrower one of each cell in
    `crowd`. False when it met a sibling right of the view (the walk over them is done)."""
    for i in range(begin, end):  # (by index: islice would skip from the list's start at every call)
        node = kids[i]
        if node.start >= v1:
            return False  # this one and every later sibling start right of the view
        a, b = max(node.start, v0), min(node.end, v1)
        cells = (b - a) * scale
        if cells < 1.0:
            # Narrower than a cell (or outside the view): never expanded, unless it
            # stands for a crowded cell (Time Order).
            if dense and cells > 0:
                cell = math.floor(((a + b) / 2 - origin) * scale)
                best = crowd.get(cell)
                if best is None or cells > best[0]:
                    crowd[cell] = (cells, node)
            continue
        c0 = max(0, column(node.start, origin, scale))
        c1 = min(width, column(node.end, origin, scale))
        if c1 > c0:
            row.append(Span(c0, c1, node))
    return True


def _lay_out_many(kids: Sequence[FlameNode], first: int, v0: float, v1: float, origin: float, scale: float,
                  width: int, row: list[Span], crowd: dict[int, tuple[float, FlameNode]]) -> None:
    """`_lay_out_each` over a long list of Time Order runs (100,000 alternating runs of "all
    threads"), with the same spans and crowded cells, but the runs narrower than a cell taken
    a cell at a time (found by bisection on their midpoints, the widest by `max`) rather than
    one Python step each. Exactly what the step by step walk gives: the cell of a run is the
    same expression of its midpoint, cells follow the runs' order, and `max` keeps the first
    of equal widths, as the walk's strict `>` does."""
    n = len(kids)
    inside_from = first if first < n and kids[first].start >= v0 else first + 1
    inside_to = bisect.bisect_right(kids, v1, lo=first, key=_node_end)  # runs wholly in the view: [from, to)

    def cell_of(node: FlameNode) -> int:
        return math.floor(((node.start + node.end) / 2 - origin) * scale)

    j = first
    while j < n:
        node = kids[j]
        if j < inside_from or j >= inside_to or (node.end - node.start) * scale >= 1.0:
            if not _lay_out_each(kids, j, j + 1, v0, v1, origin, scale, width, True, row, crowd):
                return
            j += 1
            continue
        c = cell_of(node)
        k = bisect.bisect_left(kids, origin + (c + 1) / scale, lo=j + 1, hi=inside_to, key=_mid)
        while k > j + 1 and cell_of(kids[k - 1]) != c:  # the bisection's bound, made exact
            k -= 1
        while k < inside_to and cell_of(kids[k]) == c:
            k += 1
        widest = max(kids[j:k], key=_width)
        cells = (widest.end - widest.start) * scale
        if cells >= 1.0:  # a run a cell wide among them: each taken in turn
            _lay_out_each(kids, j, k, v0, v1, origin, scale, width, True, row, crowd)
        elif cells > 0:
            best = crowd.get(c)
            if best is None or cells > best[0]:
                crowd[c] = (cells, widest)
        j = k


def _with_crowded_cells(row: list[Span], crowd: dict[int, tuple[float, FlameNode]], width: int) -> list[Span]:
    """`row` plus a one-cell span for each free cell holding narrow frames (the widest of them)."""
    taken: set[int] = set()
    for span in row:
        taken.update(range(span.col_start, span.col_end))
    extra = [Span(cell, cell + 1, node) for cell, (_, node) in crowd.items()
             if 0 <= cell < width and cell not in taken]
    if not extra:
        return row
    return sorted(row + extra, key=lambda s: s.col_start)


def find_span(row: Sequence[Span], node: FlameNode) -> int | None:
    """The index of `node` in `row`, or None when it is not drawn there."""
    for i, span in enumerate(row):
        if span.node is node:
            return i
    return None


def span_at(row: Sequence[Span], col: int) -> Span | None:
    """The span covering cell `col`, if any."""
    for span in row:
        if span.col_start <= col < span.col_end:
            return span
    return None


def fit_label(name: str, cells: int) -> str:
    """`name` cut to fit `cells` cells exactly, by display width (wide characters count two).

    A frame of two or more cells keeps its last cell blank, so neighbours stay apart without
    colour; a cut name ends in an ellipsis when there is room for one.
    """
    if cells <= 0:
        return ""
    room = cells - 1 if cells >= 2 else 1
    if cell_len(name) <= room:
        return set_cell_size(name, cells)
    if room >= 3:
        return set_cell_size(set_cell_size(name, room - 1) + "…", cells)
    return set_cell_size(set_cell_size(name, room), cells)


def row_text(row: Sequence[Span], width: int, label: Callable[[FlameNode], str]) -> str:
    """One row as plain text: each span's label fitted into its cells, gaps as spaces."""
    parts: list[str] = []
    col = 0
    for span in row:
        if span.col_start > col:
            parts.append(" " * (span.col_start - col))
        parts.append(fit_label(label(span.node), span.col_end - span.col_start))
        col = span.col_end
    if col < width:
        parts.append(" " * (width - col))
    return "".join(parts)


def zoom_view(node: FlameNode) -> Viewport:
    return Viewport(node.start, node.end, node)


def scaled_view(view: Viewport, factor: float, centre: float, lo: float, hi: float) -> Viewport:
    """`view` zoomed by `factor` (<1 in, >1 out) around x=`centre`, kept inside [lo, hi]."""
    new_width = min(hi - lo, max(view.width * factor, (hi - lo) * 1e-9))
    frac = (centre - view.start) / view.width if view.width > 0 else 0.5
    start = centre - frac * new_width
    return clamp_view(start, new_width, lo, hi)


def panned_view(view: Viewport, fraction: float, lo: float, hi: float) -> Viewport:
    """`view` moved by `fraction` of its width (negative: left), kept inside [lo, hi]."""
    return clamp_view(view.start + fraction * view.width, view.width, lo, hi)


def clamp_view(start: float, width: float, lo: float, hi: float) -> Viewport:
    width = min(width, hi - lo)
    start = min(max(start, lo), hi - width)
    return Viewport(start, start + width)


def next_match(model: FlameModel, current: FlameNode | None, matches: Callable[[int], bool],
               backwards: bool = False) -> FlameNode | None:
    """The next (or previous) node in pre-order whose frame matches, wrapping around."""
    first: FlameNode | None = None
    last_before: FlameNode | None = None
    last: FlameNode | None = None
    seen_current = current is None
    todo: list[FlameNode] = list(reversed(model.children(model.root)))
    children = model.children
    while todo:
        node = todo.pop()
        if node is current:
            seen_current = True
            if backwards:
                last_before = last
        elif matches(node.frame):
            if first is None:
                first = node
            if seen_current and not backwards:
                return node
            last = node
        todo.extend(reversed(children(node)))
    if backwards:
        return last_before if last_before is not None else last
    return first


Path = list[tuple[int, float]]
PathMap = Callable[[Path], Path]
"""Turns a node's path in one model into the path of the same place in another."""


def without_repeats(path: Path) -> Path:
    """`path` with recursion flattened: each frame only at its first (outermost) call."""
    seen: set[int] = set()
    out: Path = []
    for frame, start in path:
        if frame not in seen:
            seen.add(frame)
            out.append((frame, start))
    return out


def count_matches(model: FlameModel, matches: Callable[[int], bool], limit: int = 50_000) -> int | None:
    """How many nodes `next_match` steps through (every node whose frame matches); None when
    the tree has more than `limit` nodes (counting would stall the prompt)."""
    count = seen = 0
    todo: list[FlameNode] = list(model.children(model.root))
    children = model.children
    while todo:
        node = todo.pop()
        seen += 1
        if seen > limit:
            return None
        if matches(node.frame):
            count += 1
        todo.extend(children(node))
    return count


def node_path(model: FlameModel, node: FlameNode) -> list[tuple[int, float]]:
    """`node`'s path as (frame, start) pairs from the top frame down: what `find_path`
    needs to find the same frame in a rebuilt model."""
    return [(n.frame, n.start) for n in model.path(node)]


def find_path(model: FlameModel, path: Sequence[tuple[int, float]]) -> FlameNode | None:
    """The node of `model` at `path` (from `node_path` on an older model of the same
    profile), or the deepest one found on the way; None when not even the top frame is there.

    At each depth the child with the same frame whose extent holds the old start wins (in
    Time Order a frame recurs along the axis), else the first child with that frame (in
    Left Heavy a frame appears once per parent, wherever the ordering moved it).
    """
    node: FlameNode | None = None
    parent = model.root
    for frame, start in path:
        same = [c for c in model.children(parent) if c.frame == frame]
        if not same:
            break
        parent = next((c for c in same if c.start <= start < c.end), same[0])
        node = parent
    return node


class ZoomStep(NamedTuple):
    """One zoom step of a flame pane, as a rebuilt model of the same profile can find it again:
    the path (`node_path`) of the frame zoomed into, or None for a free view of the axis
    from `start`, `width` wide."""

    path: tuple[tuple[int, float], ...] | None
    start: float
    width: float


class PaneState(NamedTuple):
    """A flame pane's zoom steps (the whole view left out), selection and width, as plain
    values: what a rebuilt model keeps, and what a worker needs to lay that model out."""

    zoom: tuple[ZoomStep, ...]
    selected: tuple[tuple[int, float], ...] | None
    width: int


def carried_view(model: FlameModel, state: PaneState) -> tuple[list[Viewport], FlameNode | None]:
    """The zoom stack and selection of `state` in `model`: a zoomed frame that is gone ends
    the zoom stack there, a free view is kept inside the new extent, a selection that is
    gone falls back to the deepest frame found on its path, or the first top frame."""
    stack = [Viewport(model.start, model.end)]
    for step in state.zoom:
        if step.path is None:
            stack.append(clamp_view(step.start, step.width, model.start, model.end))
            continue
        node = find_path(model, step.path)
        if node is None or len(model.path(node)) != len(step.path):
            break
        stack.append(zoom_view(node))
    selected = find_path(model, state.selected) if state.selected is not None else None
    if selected is None:
        kids = model.children(model.root)
        selected = kids[0] if kids else None
    return stack, selected

