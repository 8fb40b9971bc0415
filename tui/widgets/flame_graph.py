"""`FlameGraph`: a flame graph or flame chart the user moves through, zooms and selects a time range in.

What is drawn and how (the Line API, the caches, the zoom stack, the selection) is
`tui.widgets.flame_canvas.FlameCanvas`; this widget adds the keys, the mouse and the time range.

In Time Order (`time_axis=True`) a time range `[start, end)` can be selected, in the model's
x units; it survives zooming, panning and `show_kept`. Cells outside it are drawn as
coloured text on the plain background (`tui.palette.outside_range_style`). Setting or
changing it posts `RangeSelected`, clearing it `RangeCleared` (not within `unreported()`,
where the app shows a range it owns); `Esc` clears it before it zooms out.

What it draws comes down as one frozen `tui.flame_rows.FlameInput` (model, frames, search
matches, colours: `show`, `show_kept`, `show_carried`); what the user does goes up as
messages and the `selected` / `zoom_generation` / `time_range` reactives.

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

from contextlib import AbstractContextManager
from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import var

from tui.flame_rows import FlameInput
from tui.time_axis import (
    TimeRange,
    clamp_range,
    column_x,
    nudged_range,
    range_with_end,
    range_with_start,
)
from tui.views import (
    FlameNode,
    PaneState,
    PathMap,
    Span,
    Viewport,
    ZoomStep,
    carried_view,
    find_span,
    panned_view,
    scaled_view,
    span_at,
)
from tui.views import (
    node_path as _node_path,
)
from tui.widgets.flame_canvas import FlameCanvas

TIME_ACTIONS = frozenset({
    "time_zoom_in", "time_zoom_out", "pan_left", "pan_right",
    "range_start", "range_end", "nudge_left", "nudge_right",
})

NUDGE_FRACTION = 1 / 20
"""`{` / `}` move a range edge by this fraction of the visible width."""




class GraphMessage(Message):
    """A message about one flame graph (its `control`, for `@on(..., "#id")` selectors)."""

    def __init__(self, graph: FlameGraph) -> None:
        super().__init__()
        self.graph = graph

    @property
    def control(self) -> FlameGraph:
        return self.graph


class FlameGraph(FlameCanvas, can_focus=True):
    """A flame graph over a `FlameModel`, root at the top (or bottom when `root_at_bottom`)."""

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
        self._range_edge = "end"
        """The edge `{` / `}` move: the one `[` or `]` set last."""
        self._press: tuple[int, Viewport] | None = None
        """Where a button-1 press began (column, view) while it may become a drag."""
        self._drag: TimeRange | None = None
        """The range being dragged, drawn in place of `time_range` until release."""
        self._drag_ended = False

    # --- state -------------------------------------------------------------------------

    def show(self, given: FlameInput, *, keep_range: bool = False) -> None:
        """Draw `given`. A new model (or frame table) is shown from its whole extent, its first
        top frame selected, the time range cleared or, with `keep_range` (the same timeline,
        e.g. recursion flattened), clipped to it; the same model with other matches or colours
        keeps the zoom and selection and is only repainted."""
        if self._same_model(given):
            self._repaint(given)
            return
        model = given.model
        first = None
        if model is not None:
            kids = model.children(model.root)
            first = kids[0] if kids else None
        self._show(given, [Viewport(model.start, model.end)] if model is not None else [], first)
        self._end_drag()
        self.time_range = self.time_range if keep_range else None
        self._layout_changed()
        self.zoom_generation += 1

    def show_kept(self, given: FlameInput, path_map: PathMap | None = None) -> None:
        """Draw `given`, a rebuilt model of the same (grown) profile, keeping the selection and
        the zoom steps by frame path; a zoomed frame that is gone ends the zoom stack there.
        `path_map` turns an old path into the new model's (recursion flattened: repeats dropped)."""
        model = given.model
        if self.model is None or model is None:
            self.show(given)
            return
        stack, selected = carried_view(model, self.pane_state(path_map))
        self.show_carried(given, stack, selected)

    def pane_state(self, path_map: PathMap | None = None) -> PaneState:
        """The zoom steps, selection and width as plain values (see `tui.views.PaneState`),
        each path through `path_map` when given."""
        model = self.model

        def path_of(node: FlameNode) -> tuple[tuple[int, float], ...]:
            assert model is not None
            path = _node_path(model, node)
            return tuple(path_map(path) if path_map is not None else path)

        zoom = tuple(ZoomStep(None if v.node is None else path_of(v.node), v.start, v.width)
                     for v in self.zoom_stack[1:])
        selected = path_of(self.selected) if self.selected is not None and model is not None else None
        return PaneState(zoom, selected, self.layout_width)

    def show_carried(self, given: FlameInput, stack: list[Viewport], selected: FlameNode | None,
                     rows: tuple[list[list[Span]], int] | None = None) -> None:
        """Draw `given` through `stack` with `selected`, as `carried_view` found them (live, on
        a worker: with `rows`, the layout of the last view and the width it was made for). The
        time range is kept, clipped to the new extent."""
        zoom_changed = len(stack) != len(self.zoom_stack)
        self._show(given, stack, selected)
        if rows is not None:
            self.preset_rows(*rows)
        self.time_range = self.time_range  # the same timeline: kept, clipped to the new extent
        self._layout_changed()
        if zoom_changed:
            self.zoom_generation += 1

    @property
    def allow_select(self) -> bool:
        # In Time Order a drag selects a time range, not text.
        return not self.time_axis and super().allow_select

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

    def unreported(self) -> AbstractContextManager[None]:
        """Within it, the time range set (or clipped by a new model) is not reported: what the
        app shows is its own (attributes down); `RangeSelected` / `RangeCleared` say only what
        the user did (messages up)."""
        return self.prevent(self.RangeSelected, self.RangeCleared)

    def clear_range(self) -> None:
        """Clear the time range (posts `RangeCleared` if there was one)."""
        self.time_range = None

    @property
    def shown_range(self) -> TimeRange | None:
        """The range drawn: the one being dragged, else `time_range`."""
        return self._drag if self._drag is not None else self.time_range

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
        if self.root_at_bottom:
            self._to_child()
        else:
            self._to_parent()

    def action_cursor_down(self) -> None:
        if self.root_at_bottom:
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

