"""`FlameGraph`: a flame graph or flame chart drawn with the Line API.

The widget shows a `FlameModel` through a zoom stack of viewports. Rows come from
`tui.views.layout_rows` (cached per model, viewport and width); each row is rendered to a
`Strip` cached under everything that changes its pixels (layout, row, the selection if it is
in that row, the search and colour generations, the selected time range's cells), and a
selection change repaints only the two rows involved.

In Time Order (`time_axis=True`) a time range `[start, end)` can be selected, in the model's
x units; it survives zooming, panning and `update_model`. Cells outside it are drawn as
coloured text on the plain background (`tui.palette.outside_range_style`). Setting or
changing it posts `RangeSelected`, clearing it `RangeCleared`; `Esc` clears it before it
zooms out. `set_colorer` replaces the palette colour of each frame (the differential view).

| Key                 | Action                                         |
|---------------------|------------------------------------------------|
| `←`/`h`, `→`/`l`    | previous / next frame at the same depth         |
| `↑`/`k`, `↓`/`j`    | parent / heaviest child                         |
| `Enter`             | zoom so the selected frame fills the width      |
| `Esc`/`Backspace`   | back one zoom step                              |
| `0`/`Home`          | whole profile                                   |
| `+`/`-`, `,`/`.`    | zoom in/out around the selection, pan (time)    |
| `[` / `]`           | time range starts at / ends at the selected frame (a new range: the frame) |
| `{` / `}`           | move the range edge set last left / right by 1/20 of the visible width |
| drag                | select a time range (Time Order; a plain click selects a frame) |
| `Esc`/`Backspace`   | with a time range: clear it (then zoom out as above) |
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import var
from textual.scroll_view import ScrollView
from textual.strip import Strip

from collectors.profile import Frame, FrameKind, FrameTable
from collectors.safe_text import printable
from tui.palette import ColorMode, color_mode, frame_style, outside_range_style
from tui.time_axis import (
    TimeRange,
    clamp_range,
    column_x,
    nudged_range,
    range_columns,
    range_with_end,
    range_with_start,
)
from tui.views import (
    FlameModel,
    FlameNode,
    PathMap,
    Span,
    Viewport,
    clamp_view,
    find_path,
    find_span,
    fit_label,
    layout_rows,
    panned_view,
    scaled_view,
    span_at,
    zoom_view,
)
from tui.views import (
    node_path as _node_path,
)


@lru_cache(maxsize=1 << 16)
def _frame_style(frame: Frame, dimmed: bool, mode: ColorMode) -> Style:
    """`frame_style`, remembered: a zoom repaints every row, and a Style costs microseconds."""
    return frame_style(frame, dimmed=dimmed, mode=mode)

TIME_ACTIONS = frozenset({
    "time_zoom_in", "time_zoom_out", "pan_left", "pan_right",
    "range_start", "range_end", "nudge_left", "nudge_right",
})

NUDGE_FRACTION = 1 / 20
"""`{` / `}` move a range edge by this fraction of the visible width."""

Colorer = Callable[[FlameNode], Style | None]
"""A frame's style in place of the palette's (None: the palette's)."""


class GraphMessage(Message):
    """A message about one flame graph (its `control`, for `@on(..., "#id")` selectors)."""

    def __init__(self, graph: FlameGraph) -> None:
        super().__init__()
        self.graph = graph

    @property
    def control(self) -> FlameGraph:
        return self.graph


class FlameGraph(ScrollView, can_focus=True):
    """A flame graph over a `FlameModel`, root at the top (or bottom when `inverted`)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left,h", "cursor_left", "Prev", tooltip="previous frame at the same depth", show=False),
        Binding("right,l", "cursor_right", "Next", tooltip="next frame at the same depth", show=False),
        Binding("up,k", "cursor_up", "Parent", tooltip="parent frame", show=False),
        Binding("down,j", "cursor_down", "Child", tooltip="heaviest child", show=False),
        Binding("enter", "zoom_in", "Zoom", tooltip="zoom: the selected frame fills the width"),
        Binding(
            "escape,backspace", "zoom_out", "Back", tooltip="back one zoom step (then: clear the search)", show=False
        ),
        Binding("0,home", "zoom_reset", "Whole", tooltip="the whole profile", show=False),
        Binding(
            "plus,equals_sign",
            "time_zoom_in",
            "Zoom in",
            tooltip="Time Order: zoom in around the selection",
            key_display="+",
            show=False,
        ),
        Binding("minus", "time_zoom_out", "Zoom out", tooltip="Time Order: zoom out", key_display="-", show=False),
        Binding("comma", "pan_left", "Pan left", tooltip="Time Order: pan left", show=False),
        Binding("full_stop", "pan_right", "Pan right", tooltip="Time Order: pan right", show=False),
        Binding(
            "left_square_bracket",
            "range_start",
            "Range start",
            tooltip="Time Order: the time range starts at the selected frame",
            key_display="[",
            show=False,
        ),
        Binding(
            "right_square_bracket",
            "range_end",
            "Range end",
            tooltip="Time Order: the time range ends at the selected frame",
            key_display="]",
            show=False,
        ),
        Binding(
            "left_curly_bracket",
            "nudge_left",
            "Edge left",
            tooltip="Time Order: move the range edge set last to the left",
            key_display="{",
            show=False,
        ),
        Binding(
            "right_curly_bracket",
            "nudge_right",
            "Edge right",
            tooltip="Time Order: move the range edge set last to the right",
            key_display="}",
            show=False,
        ),
    ]


    COMPONENT_CLASSES: ClassVar[set[str]] = {"flame-graph--cursor", "flame-graph--match"}

    DEFAULT_CSS = """
    FlameGraph {
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-gutter: stable;
        scrollbar-size-vertical: 1;
        height: 1fr;
        & > .flame-graph--cursor { text-style: reverse bold; }
        & > .flame-graph--match { text-style: bold underline; }
    }
    """

    inverted: var[bool] = var(False)
    """Root at the bottom (icicle turned over), as speedscope's callers view and `i` do."""

    selected: var[FlameNode | None] = var(None, init=False)
    """The selected frame. Watchers run synchronously, so a status line watching it is
    painted in the same frame as the graph (a bubbled message lands a frame later)."""

    zoom_generation: var[int] = var(0, init=False)
    """Bumped whenever the zoom stack changes (watch it to follow zooming)."""

    time_range: var[TimeRange | None] = var(None, init=False)
    """The selected `[start, end)` in the model's x units (Time Order), or None. Assigning it
    orders and clips it to the model and posts `RangeSelected` / `RangeCleared` on a change."""

    class BackAtTop(GraphMessage):
        """`Esc` was pressed with nothing left to zoom out of (the app clears the search)."""

    class RangeSelected(GraphMessage):
        """The time range was set or changed to `[start, end)` (model x units)."""

        def __init__(self, graph: FlameGraph, start: float, end: float) -> None:
            super().__init__(graph)
            self.start = start
            self.end = end

    class RangeCleared(GraphMessage):
        """The time range was cleared."""

    def __init__(
        self, *, time_axis: bool = False, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.time_axis = time_axis
        self.model: FlameModel | None = None
        self.frames: FrameTable | None = None
        self.zoom_stack: list[Viewport] = []
        self.matches: frozenset[int] | None = None
        self._match_generation = 0
        self.colorer: Colorer | None = None
        self._color_generation = 0
        self._range_edge = "end"
        """The edge `{` / `}` move: the one `[` or `]` set last."""
        self._press: tuple[int, Viewport] | None = None
        """Where a button-1 press began (column, view) while it may become a drag."""
        self._drag: TimeRange | None = None
        """The range being dragged, drawn in place of `time_range` until release."""
        self._drag_ended = False
        self._rows_cache: LRUCache[tuple[object, ...], list[list[Span]]] = LRUCache(64)
        self._strip_cache: LRUCache[tuple[object, ...], Strip] = LRUCache(1024)
        self._pass_width: int | None = None
        """The content width during one `render_lines` pass (each lookup walks the DOM)."""
        self._paint: tuple[Style, Style, Style, Style] | None = None
        """(base, gap, cursor, match) styles until the next style update."""

    # --- state -------------------------------------------------------------------------

    def set_model(self, model: FlameModel | None, frames: FrameTable | None, *, keep_range: bool = False) -> None:
        """Show `model` from its whole extent, selecting its first top frame. The time range is
        cleared, or with `keep_range` (the same timeline, e.g. recursion flattened) clipped
        to the new model."""
        self.model = model
        self.frames = frames
        self._rows_cache.clear()
        self._strip_cache.clear()
        self.zoom_stack = [Viewport(model.start, model.end)] if model is not None else []
        first = None
        if model is not None:
            kids = model.children(model.root)
            first = kids[0] if kids else None
        self.set_reactive(FlameGraph.selected, first)
        self._end_drag()
        self.time_range = self.time_range if keep_range else None
        self._layout_changed()
        self.zoom_generation += 1

    def update_model(self, model: FlameModel, frames: FrameTable, path_map: PathMap | None = None) -> None:
        """Show `model`, a rebuilt model of the same (grown) profile, keeping the selection and
        the zoom steps by frame path; a zoomed frame that is gone ends the zoom stack there.
        `path_map` turns an old path into the new model's (recursion flattened: repeats dropped)."""
        old = self.model

        def node_path(m: FlameModel, node: FlameNode) -> list[tuple[int, float]]:
            path = _node_path(m, node)
            return path_map(path) if path_map is not None else path

        if old is None:
            self.set_model(model, frames)
            return
        stack = [Viewport(model.start, model.end)]
        for view in self.zoom_stack[1:]:
            if view.node is None:
                stack.append(clamp_view(view.start, view.width, model.start, model.end))
                continue
            path = node_path(old, view.node)
            node = find_path(model, path)
            if node is None or len(model.path(node)) != len(path):
                break  # gone: the zoom ends here
            stack.append(zoom_view(node))
        selected = find_path(model, node_path(old, self.selected)) if self.selected is not None else None
        if selected is None:
            kids = model.children(model.root)
            selected = kids[0] if kids else None
        zoom_changed = len(stack) != len(self.zoom_stack)
        self.model = model
        self.frames = frames
        self._rows_cache.clear()
        self._strip_cache.clear()
        self.zoom_stack = stack
        self.set_reactive(FlameGraph.selected, selected)
        self.time_range = self.time_range  # the same timeline: kept, clipped to the new extent
        self._layout_changed()
        if zoom_changed:
            self.zoom_generation += 1

    def set_matches(self, matches: frozenset[int] | None) -> None:
        """Highlight these frame ids and dim the rest (None: no search)."""
        if matches == self.matches:
            return
        self.matches = matches
        self._match_generation += 1
        self.refresh()

    @property
    def allow_select(self) -> bool:
        # In Time Order a drag selects a time range, not text.
        return not self.time_axis and super().allow_select

    def set_colorer(self, colorer: Colorer | None) -> None:
        """Style each frame by `colorer(node)` instead of the palette (None from it, or no
        colorer: the palette's colour). Kernel frames stay italic; search dimming, matches and
        the cursor still apply on top. Call again when what the colorer returns changes."""
        self.colorer = colorer
        self._color_generation += 1
        self.refresh()

    def validate_time_range(self, value: TimeRange | None) -> TimeRange | None:
        model = self.model
        if value is None or model is None:
            return None
        return clamp_range(value, model.start, model.end)

    def watch_time_range(self, old: TimeRange | None, new: TimeRange | None) -> None:
        self.refresh()
        if new is None:
            self.post_message(self.RangeCleared(self))
        else:
            self.post_message(self.RangeSelected(self, new[0], new[1]))

    def clear_range(self) -> None:
        """Clear the time range (posts `RangeCleared` if there was one)."""
        self.time_range = None

    @property
    def shown_range(self) -> TimeRange | None:
        """The range drawn: the one being dragged, else `time_range`."""
        return self._drag if self._drag is not None else self.time_range

    @property
    def view(self) -> Viewport | None:
        return self.zoom_stack[-1] if self.zoom_stack else None

    @property
    def zoom_node(self) -> FlameNode | None:
        """The innermost frame zoomed into (None at the whole profile or a free range)."""
        for v in reversed(self.zoom_stack):
            if v.node is not None:
                return v.node
        return None

    @property
    def layout_width(self) -> int:
        if self._pass_width is not None:
            return self._pass_width
        return max(0, self.scrollable_content_region.width)

    @property
    def rows(self) -> list[list[Span]]:
        """The layout of the current view at the current width."""
        view, model = self.view, self.model
        width = self.layout_width
        if view is None or model is None or width <= 0:
            return []
        key = (id(model), view.start, view.end, width)
        rows = self._rows_cache.get(key)
        if rows is None:
            rows = layout_rows(model, view, width)
            self._rows_cache.set(key, rows)
        return rows

    def _total_rows(self) -> int:
        n = len(self.rows)
        return max(n, self.scrollable_content_region.height) if self.inverted else n

    def _depth_to_line(self, depth: int) -> int:
        return self._total_rows() - 1 - depth if self.inverted else depth

    def _line_to_depth(self, line: int) -> int:
        return self._total_rows() - 1 - line if self.inverted else line

    def _layout_changed(self) -> None:
        size = Size(self.layout_width, self._total_rows())
        if size != self.virtual_size:
            self._set_virtual_size(size)
        self.refresh()
        self._scroll_to_selected()
        # The scroll range follows the new virtual size only after the next layout.
        self.call_after_refresh(self._scroll_to_selected)

    def _set_virtual_size(self, size: Size) -> None:
        """A new scroll height without relaying out the screen: `virtual_size` is a layout
        reactive, and a zoom that changes the number of rows would otherwise arrange every
        widget again (tens of ms on a zoom key). The pane's own size is set by CSS, not by its
        rows; only a scrollbar appearing or going changes the content region, and then a
        layout is asked for."""
        bars = (self.show_horizontal_scrollbar, self.show_vertical_scrollbar)
        self.set_reactive(ScrollView.virtual_size, size)
        self._scroll_update(size)
        if (self.show_horizontal_scrollbar, self.show_vertical_scrollbar) != bars:
            self.refresh(layout=True)

    def watch_inverted(self) -> None:
        self._strip_cache.clear()
        if self.model is not None:
            self._layout_changed()

    def on_resize(self, event: events.Resize) -> None:
        self._layout_changed()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strip_cache.clear()
        self._paint = None

    def _paint_styles(self) -> tuple[Style, Style, Style, Style]:
        """(base, gap, cursor, match): computed once per style update, not once per row (a zoom
        repaints every row, and each lookup walks the DOM)."""
        paint = self._paint
        if paint is None:
            base = self.rich_style
            paint = self._paint = (base, Style(bgcolor=base.bgcolor),
                                   self.get_component_rich_style("flame-graph--cursor", partial=True),
                                   self.get_component_rich_style("flame-graph--match", partial=True))
        return paint

    def render_lines(self, crop: Region) -> list[Strip]:
        # One width for the whole pass: every row asks for it several times.
        self._pass_width = max(0, self.scrollable_content_region.width)
        try:
            return super().render_lines(crop)
        finally:
            self._pass_width = None

    def select(self, node: FlameNode | None) -> None:
        """Select `node`, repainting only the rows that change."""
        if node is not self.selected:
            self.selected = node

    def watch_selected(self, old: FlameNode | None, new: FlameNode | None) -> None:
        for n in (old, new):
            if n is not None:
                self._refresh_line(self._depth_to_line(n.depth))
        self._scroll_to_selected()

    def _refresh_line(self, line: int) -> None:
        self.refresh(Region(0, line - self.scroll_offset.y, self.size.width, 1))

    def _scroll_to_selected(self) -> None:
        if self.selected is None:
            return
        line = self._depth_to_line(self.selected.depth)
        top = round(self.scroll_offset.y)
        height = self.scrollable_content_region.height
        if height <= 0:
            return
        if line < top:
            self.scroll_to(y=line, animate=False, immediate=True)
        elif line >= top + height:
            self.scroll_to(y=line - height + 1, animate=False, immediate=True)

    def _push(self, view: Viewport) -> None:
        self.zoom_stack.append(view)
        self._zoom_changed()

    def _replace(self, view: Viewport) -> None:
        self.zoom_stack[-1] = view
        self._zoom_changed()

    def _zoom_changed(self) -> None:
        self._layout_changed()
        self.zoom_generation += 1

    def zoom_to(self, node: FlameNode) -> None:
        """Select `node` and zoom so it fills the width (a new zoom step)."""
        self.select(node)
        top = self.view
        if top is not None and top.node is node:
            return
        self._push(zoom_view(node))

    # --- actions -----------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.time_axis or action not in TIME_ACTIONS

    def _row_of_selected(self) -> tuple[list[Span], int | None]:
        sel = self.selected
        rows = self.rows
        if sel is None or sel.depth >= len(rows):
            return [], None
        row = rows[sel.depth]
        return row, find_span(row, sel)

    def _step(self, delta: int) -> None:
        sel = self.selected
        if sel is None:
            return
        row, index = self._row_of_selected()
        if not row:
            return
        if index is None:
            # Not drawn (narrower than a cell): move to the nearest drawn frame in that direction.
            x = sel.start
            candidates = [s for s in row if (s.node.start > x if delta > 0 else s.node.start < x)]
            if candidates:
                self.select(candidates[0].node if delta > 0 else candidates[-1].node)
            return
        target = index + delta
        if 0 <= target < len(row):
            self.select(row[target].node)

    def action_cursor_left(self) -> None:
        self._step(-1)

    def action_cursor_right(self) -> None:
        self._step(1)

    def action_cursor_up(self) -> None:
        if self.inverted:
            self._to_child()
        else:
            self._to_parent()

    def action_cursor_down(self) -> None:
        if self.inverted:
            self._to_parent()
        else:
            self._to_child()

    def _to_parent(self) -> None:
        if self.selected is None or self.model is None:
            return
        parent = self.model.parent(self.selected)
        if parent is not None and parent.depth >= 0:
            self.select(parent)

    def _to_child(self) -> None:
        if self.selected is None or self.model is None:
            return
        child = self.model.heaviest_child(self.selected)
        if child is not None:
            self.select(child)

    def action_zoom_in(self) -> None:
        if self.selected is not None:
            self.zoom_to(self.selected)

    def action_zoom_out(self) -> None:
        if self.time_range is not None or self._drag is not None:
            self._end_drag()
            self.clear_range()
            return
        if len(self.zoom_stack) > 1:
            self.zoom_stack.pop()
            self._zoom_changed()
        else:
            self.post_message(self.BackAtTop(self))

    def action_zoom_reset(self) -> None:
        if len(self.zoom_stack) > 1:
            del self.zoom_stack[1:]
            self._zoom_changed()

    def _centre(self, view: Viewport) -> float:
        sel = self.selected
        if sel is not None and sel.end > view.start and sel.start < view.end:
            return (max(sel.start, view.start) + min(sel.end, view.end)) / 2
        return (view.start + view.end) / 2

    def action_time_zoom_in(self) -> None:
        self._scale(0.5)

    def action_time_zoom_out(self) -> None:
        self._scale(2.0)

    def _scale(self, factor: float) -> None:
        view, model = self.view, self.model
        if view is None or model is None:
            return
        new = scaled_view(view, factor, self._centre(view), model.start, model.end)
        if (new.start, new.end) != (view.start, view.end):
            self._push(new)

    def action_pan_left(self) -> None:
        self._pan(-0.25)

    def action_pan_right(self) -> None:
        self._pan(0.25)

    def _pan(self, fraction: float) -> None:
        view, model = self.view, self.model
        if view is None or model is None:
            return
        new = panned_view(view, fraction, model.start, model.end)
        if (new.start, new.end) != (view.start, view.end):
            self._replace(new)

    def action_range_start(self) -> None:
        sel = self.selected
        if sel is not None:
            self._range_edge = "start"
            self.time_range = range_with_start(self.time_range, sel.start, sel.end)

    def action_range_end(self) -> None:
        sel = self.selected
        if sel is not None:
            self._range_edge = "end"
            self.time_range = range_with_end(self.time_range, sel.start, sel.end)

    def action_nudge_left(self) -> None:
        self._nudge(-NUDGE_FRACTION)

    def action_nudge_right(self) -> None:
        self._nudge(NUDGE_FRACTION)

    def _nudge(self, fraction: float) -> None:
        rng, view, model = self.time_range, self.view, self.model
        if rng is None or view is None or model is None:
            return
        cell = view.width / max(1, self.layout_width)
        self.time_range = nudged_range(rng, self._range_edge, fraction * view.width, model.start, model.end, cell)

    # --- mouse -------------------------------------------------------------------------

    def _column(self, event: events.MouseEvent) -> int:
        x = event.get_content_offset_capture(self).x
        return min(max(0, x), max(0, self.layout_width - 1))

    def _drag_range(self, col: int) -> TimeRange | None:
        if self._press is None:
            return None
        anchor, view = self._press
        width = self.layout_width
        lo, hi = min(anchor, col), max(anchor, col) + 1
        return column_x(view, width, lo), column_x(view, width, hi)

    def on_mouse_down(self, event: events.MouseDown) -> None:
        self._drag_ended = False
        view = self.view
        if not self.time_axis or event.button != 1 or view is None or event.get_content_offset(self) is None:
            return
        self._press = (self._column(event), view)
        self.capture_mouse()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self._press is None:
            return
        col = self._column(event)
        if self._drag is None and col == self._press[0]:
            return  # not a drag until the pointer leaves the pressed cell
        self._drag = self._drag_range(col)
        self.refresh()

    def on_mouse_up(self, event: events.MouseUp) -> None:
        if self._press is None:
            return
        dragged = self._drag is not None
        rng = self._drag_range(self._column(event)) if dragged else None
        self._end_drag()
        if rng is not None:
            self._range_edge = "end"
            self._drag_ended = True  # the click that follows the release is not a click
            self.time_range = rng
            self.refresh()  # the drawn range may round to the same value as before

    def _end_drag(self) -> None:
        if self._press is not None:
            self._press = None
            self.release_mouse()
        if self._drag is not None:
            self._drag = None
            self.refresh()

    def on_click(self, event: events.Click) -> None:
        if self._drag_ended:
            self._drag_ended = False
            return
        offset = event.get_content_offset(self)
        if offset is None:
            return
        depth = self._line_to_depth(offset.y + round(self.scroll_offset.y))
        rows = self.rows
        if not 0 <= depth < len(rows):
            return
        span = span_at(rows[depth], offset.x)
        if span is None:
            return
        self.select(span.node)
        if event.chain >= 2:
            self.zoom_to(span.node)

    # --- drawing -----------------------------------------------------------------------

    def label(self, node: FlameNode) -> str:
        assert self.frames is not None
        return printable(self.frames[node.frame].name)

    def render_line(self, y: int) -> Strip:
        width = self.layout_width
        line = y + round(self.scroll_offset.y)
        rows = self.rows
        depth = self._line_to_depth(line)
        if not 0 <= depth < len(rows):
            return Strip.blank(width, self._paint_styles()[0])
        sel = self.selected
        sel_key = id(sel) if sel is not None and sel.depth == depth else None
        view = self.view
        assert view is not None
        rng = self.shown_range
        cols = range_columns(view, width, rng) if rng is not None else None
        key = (
            id(self.model), view.start, view.end, width, depth, sel_key,
            self._match_generation, self._color_generation, cols,
        )
        strip = self._strip_cache.get(key)
        if strip is None:
            strip = self._render_row(rows[depth], width)
            if cols is not None:
                strip = self._mark_range(strip, cols, width)
            self._strip_cache.set(key, strip)
        return strip

    def _mark_range(self, strip: Strip, cols: tuple[int, int], width: int) -> Strip:
        """`strip` with the cells outside `[c0, c1)` in the outside-the-range style."""
        background = self._paint_styles()[0].bgcolor
        c0, c1 = cols
        parts = strip.divide([c0, c1, width])
        out: list[Strip] = []
        for i, part in enumerate(parts):
            if i == 1:
                out.append(part)
            else:
                out.append(Strip(
                    [Segment(text, outside_range_style(style, background) if style is not None else style, control)
                     for text, style, control in part],
                    part.cell_length,
                ))
        return Strip.join(out)

    @property
    def color_mode(self) -> ColorMode:
        """The colours the terminal shows (Textual downgrades at output; labels follow)."""
        return color_mode(self.app.console.color_system, self.app.no_color)

    def _render_row(self, row: list[Span], width: int) -> Strip:
        assert self.frames is not None
        frames = self.frames
        _, gap, cursor, match = self._paint_styles()
        matches = self.matches
        sel = self.selected
        mode = self.color_mode
        colorer = self.colorer
        segments: list[Segment] = []
        col = 0
        for c0, c1, node in row:
            if c0 > col:
                segments.append(Segment(" " * (c0 - col), gap))
            frame = frames[node.frame]
            hit = matches is not None and node.frame in matches
            dimmed = matches is not None and not hit
            custom = colorer(node) if colorer is not None and not dimmed else None
            if custom is not None:
                style = custom + Style(italic=True) if frame.kind is FrameKind.KERNEL else custom
            else:
                style = _frame_style(frame, dimmed, mode)
            if hit:
                style += match
            if node is sel:
                style += cursor
            segments.append(Segment(fit_label(printable(frame.name), c1 - c0), style))
            col = c1
        if col < width:
            segments.append(Segment(" " * (width - col), gap))
        return Strip(segments, width)

    def breadcrumb(self) -> list[str]:
        """Names from the top frame down to the innermost zoomed frame."""
        node, model = self.zoom_node, self.model
        if node is None or model is None:
            return []
        return [self.label(n) for n in model.path(node)]
