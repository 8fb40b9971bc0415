"""`FlameCanvas`: what a flame graph draws, with the Line API (`FlameGraph` adds the keys,
the mouse and the time range).

The canvas shows a `FlameModel` at the top of a zoom stack of viewports. Rows come from
`tui.views.layout_rows` (cached per model, viewport and width) and are styled by
`tui.flame_rows`; each row's `Strip` is cached under everything that changes its pixels
(layout, row, the selection if it is in that row, the search and colour generations, the
shown time range's cells), and a selection change repaints only the two rows involved.
"""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from textual import events
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.reactive import var
from textual.scroll_view import ScrollView
from textual.strip import Strip

from collectors.profile import FrameTable
from collectors.safe_text import printable
from tui.flame_rows import Colorer, FlameInput, Paint, outside_range, row_segments
from tui.palette import ColorMode, color_mode
from tui.time_axis import TimeRange, range_columns
from tui.views import FlameModel, FlameNode, Span, Viewport, layout_rows, zoom_view


class FlameCanvas(ScrollView):
    """A `FlameModel` drawn at a viewport, root at the top (or bottom when `root_at_bottom`), with
    a selected frame and a zoom stack; the base of `FlameGraph`, which styles it."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"flame-graph--cursor", "flame-graph--match"}

    root_at_bottom: var[bool] = var(False)
    """Root at the bottom (icicle turned over), as speedscope's callers view and `i` do."""

    selected: var[FlameNode | None] = var(None, init=False)
    """The selected frame. Watchers run synchronously, so a status line watching it is
    painted in the same frame as the graph (a bubbled message lands a frame later)."""

    zoom_generation: var[int] = var(0, init=False)
    """Bumped whenever the zoom stack changes (watch it to follow zooming)."""

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.input = FlameInput()
        """What is drawn (see `FlameInput`): handed down whole, never changed in place."""
        self.zoom_stack: list[Viewport] = []
        self._match_generation = 0
        self._color_generation = 0
        self._rows_cache: LRUCache[tuple[object, ...], list[list[Span]]] = LRUCache(64)
        self._strip_cache: LRUCache[tuple[object, ...], Strip] = LRUCache(1024)
        self._pass_width: int | None = None
        """The content width during one `render_lines` pass (each lookup walks the DOM)."""
        self._paint: Paint | None = None
        """The widget's styles until the next style update."""

    # --- what is shown -----------------------------------------------------------------

    @property
    def model(self) -> FlameModel | None:
        return self.input.model

    @property
    def frames(self) -> FrameTable | None:
        return self.input.frames

    @property
    def matches(self) -> frozenset[int] | None:
        return self.input.matches

    @property
    def colorer(self) -> Colorer | None:
        return self.input.colorer

    def _same_model(self, given: FlameInput) -> bool:
        return given.model is self.input.model and given.frames is self.input.frames

    def _show(self, given: FlameInput, stack: list[Viewport], selected: FlameNode | None) -> None:
        """Draw `given` through `stack` with `selected` (the caller then lays it out)."""
        self.input = given
        self._rows_cache.clear()
        self._strip_cache.clear()
        self.zoom_stack = stack
        self.set_reactive(FlameCanvas.selected, selected)

    def _repaint(self, given: FlameInput) -> None:
        """The same model with other matches or colours: only the strips are drawn again."""
        old, self.input = self.input, given
        changed = False
        if given.matches != old.matches:
            self._match_generation += 1
            changed = True
        if given.colorer is not old.colorer:
            self._color_generation += 1
            changed = True
        if changed:
            self.refresh()

    @property
    def shown_range(self) -> TimeRange | None:
        """The time range drawn (cells outside it are marked); none here, `FlameGraph`'s."""
        return None

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

    def preset_rows(self, rows: list[list[Span]], width: int) -> None:
        """The layout of the current view at `width` cells, computed elsewhere (live: on the
        worker that built the model), so drawing it at that width does not lay it out again."""
        view, model = self.view, self.model
        if view is not None and model is not None:
            self._rows_cache.set((id(model), view.start, view.end, width), rows)

    # --- layout and scrolling ----------------------------------------------------------

    def _total_rows(self) -> int:
        n = len(self.rows)
        return max(n, self.scrollable_content_region.height) if self.root_at_bottom else n

    def _depth_to_line(self, depth: int) -> int:
        return self._total_rows() - 1 - depth if self.root_at_bottom else depth

    def _line_to_depth(self, line: int) -> int:
        return self._total_rows() - 1 - line if self.root_at_bottom else line

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

    def watch_root_at_bottom(self) -> None:
        self._strip_cache.clear()
        if self.model is not None:
            self._layout_changed()

    def on_resize(self, event: events.Resize) -> None:
        self._layout_changed()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strip_cache.clear()
        self._paint = None

    def _paint_styles(self) -> Paint:
        """The widget's styles: computed once per style update, not once per row (a zoom
        repaints every row, and each lookup walks the DOM)."""
        paint = self._paint
        if paint is None:
            base = self.rich_style
            paint = self._paint = Paint(base, Style(bgcolor=base.bgcolor),
                                        self.get_component_rich_style("flame-graph--cursor", partial=True),
                                        self.get_component_rich_style("flame-graph--match", partial=True))
        return paint

    # --- selection and zoom steps ------------------------------------------------------

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

    # --- drawing -----------------------------------------------------------------------

    def label(self, node: FlameNode) -> str:
        assert self.frames is not None
        return printable(self.frames[node.frame].name)

    def breadcrumb(self) -> list[str]:
        """Names from the top frame down to the innermost zoomed frame."""
        node, model = self.zoom_node, self.model
        if node is None or model is None:
            return []
        return [self.label(n) for n in model.path(node)]

    @property
    def color_mode(self) -> ColorMode:
        """The colours the terminal shows (Textual downgrades at output; labels follow)."""
        return color_mode(self.app.console.color_system, self.app.no_color)

    def render_line(self, y: int) -> Strip:
        width = self.layout_width
        line = y + round(self.scroll_offset.y)
        rows = self.rows
        depth = self._line_to_depth(line)
        paint = self._paint_styles()
        if not 0 <= depth < len(rows):
            return Strip.blank(width, paint.base)
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
            assert self.frames is not None
            segments = row_segments(rows[depth], width, self.frames, paint, mode=self.color_mode,
                                    matches=self.matches, selected=sel, colorer=self.colorer)
            if cols is not None:
                segments = outside_range(segments, cols, width, paint.base.bgcolor)
            strip = Strip(segments, width)
            self._strip_cache.set(key, strip)
        return strip
