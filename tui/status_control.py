"""The status lines: the header (title, breadcrumbs, chips), the diff legend and the details line.

`StatusControl.refresh` redraws them from the view state and the pane keys act on, after
any change; the details line gives the selected frame's weights and, comparing, the change
in its share (`base 12.3 % → new 18.0 % (+5.7)`). It reads the state and draws; it
changes nothing else.
"""

from __future__ import annotations

import math

from rich.cells import cell_len, set_cell_size
from rich.text import Text

from collectors.calltree import TimeOrderTree
from collectors.diff import ShareChange
from collectors.profile import Unit
from collectors.safe_text import printable
from tui.palette import diff_legend
from tui.pane_set import PaneSet
from tui.session import MERGED
from tui.view_state import ViewState
from tui.views import FlameNode
from tui.widgets.flame_graph import FlameGraph
from tui.widgets.status import DetailsLine, FrameFacts, details_lines

DIFF_SCALE = 10.0
"""Comparing: a call path whose share of the total changed by this many points or more gets the
strongest colour (below 5 % of it, 0.5 points, it reads as "same")."""

PANE_TITLES = {"time-order": "Time Order", "left-heavy": "Left Heavy", "sandwich": "Sandwich"}


TITLE_SEP = " · "


def _cut(text: str, cells: int) -> str:
    return text if cell_len(text) <= cells else set_cell_size(text, max(1, cells - 1)) + "…"


def fit_title(parts: list[str], thread: int | None, width: int) -> str:
    """The header's title, `parts[0]` being the profile's name and `parts[thread]` the thread's
    label: they give way first (the name, then the thread, then the name again), then the
    total, so the pane's name and the kind of time stay in view at 80 columns."""
    parts = list(parts)

    def over() -> int:
        return cell_len(TITLE_SEP.join(parts)) - width

    for index, least in ((0, 12), (thread, 12), (0, 6), (thread, 6)):
        if index is None or over() <= 0:
            continue
        parts[index] = _cut(parts[index], max(least, cell_len(parts[index]) - over()))
    total = next((i for i, p in enumerate(parts) if i and "total " in p), None)
    if over() > 0 and total is not None:
        del parts[total]
    return TITLE_SEP.join(parts)


class StatusControl:
    """The header, legend and details lines, redrawn by `refresh`."""

    def __init__(self, ui: PaneSet, state: ViewState) -> None:
        self.ui = ui
        self.state = state

    def _title(self) -> str:
        s = self.state.session
        parts = [printable(s.group.name) or "profile"]
        if s.has_threads:
            n = s.profile_count
            where = "all" if s.index == MERGED else f"{s.index + 1}/{n}"
            parts.append(f"{s.profile_label()} [{where}]")
        total = s.format(s.current.total_weight)
        # A unit of "none" means counts: say "samples" rather than print the word "none".
        parts.append(f"total {total} samples" if s.unit is Unit.NONE else f"{s.unit.value} · total {total}")
        parts.append(PANE_TITLES[self.ui.active_pane])
        kind = s.kind_label()
        if kind is not None:
            parts.append(kind)
        if s.bottom_up and self.ui.active_pane == "left-heavy":
            parts.append("inverted (bottom-up)")
        if s.flattened:
            parts.append("recursion flattened")
        if s.pending:
            parts.append("applying filters…")
        if self.state.comparison.comparing:
            parts.append(self.comparison_label())
        width = self.ui.header.size.width or 80
        return fit_title(parts, 1 if s.has_threads else None, width)

    def refresh(self) -> None:
        graph = self.ui.current_graph
        if self.ui.active_pane == "sandwich" and graph is None:
            frame = self.ui.sandwich.frame
            crumbs = [f"sandwich of {self.state.session.frame_name(frame)}"] if frame is not None else []
        else:
            crumbs = graph.breadcrumb() if graph is not None else []
        note = None
        if graph is not None and graph is self.ui.time_order:
            crumbs, note = self._time_order_crumbs(graph, crumbs)
        s = self.state.session
        self.ui.header.show(self._title(), crumbs, [c.text for c in s.view.chips], s.range_label(),
                                           note)
        self.show_legend()
        self.show_details(graph)

    def _time_order_crumbs(self, graph: FlameGraph, crumbs: list[str]) -> tuple[list[str], str | None]:
        """Time Order's breadcrumb ends with the span shown after `+`/`-`/`,`/`.` (a free
        view of the axis); without sample times, a note that x is the file's order."""
        tree = self.state.panes.shown_trees.get("time-order")
        timed = isinstance(tree, TimeOrderTree) and tree.timed
        view = graph.view
        if view is not None and view.node is None and len(graph.zoom_stack) > 1:
            if timed:
                digits = max(0, 2 - math.floor(math.log10(view.width))) if view.width > 0 else 2
                crumbs = [*crumbs, f"{view.start:.{digits}f} s – {view.end:.{digits}f} s"]
            elif self.state.session.unit is Unit.NONE:
                crumbs = [*crumbs, f"samples {view.start:.0f} – {view.end:.0f}"]
            else:
                crumbs = [*crumbs, f"{self.state.session.format(view.start)} – {self.state.session.format(view.end)}"]
        return crumbs, None if timed or tree is None else "x: file order (no sample times)"

    def show_details(self, graph: FlameGraph | None) -> None:
        details = self.ui.details
        node = graph.selected if graph is not None else None
        if graph is None or node is None or graph.model is None:
            if self.ui.active_pane == "sandwich" and self.ui.sandwich.frame is not None:
                facts = self._function_facts(self.ui.sandwich.frame)
                details.show(facts, self.state.session.format)
                self._show_change(details, facts, self._function_change(self.ui.sandwich.frame))
            else:
                details.show(None, self.state.session.format)
                self._show_base_only_details()  # a diff row for a function only in the base
            return
        zoom = graph.zoom_node
        view_total = zoom.total if zoom is not None else graph.model.total
        facts = self._facts(node, view_total)
        details.show(facts, self.state.session.format)
        shares = self.state.comparison.node_shares.get(graph.id or "")
        if shares is not None and self.state.comparison.comparing:
            self._show_change(details, facts, shares.change(node))

    def _facts(self, node: FlameNode, view_total: float) -> FrameFacts:
        s = self.state.session
        frame = s.group.frames[node.frame]
        derived = s.current
        fn_total = fn_self = None
        if derived.totals_ready:
            fn_total = derived.totals.total.get(node.frame)
            fn_self = derived.totals.self_weight.get(node.frame)
        return FrameFacts(
            s.frame_name(node.frame),
            printable(frame.location()),
            node.total,
            node.self_weight,
            self._grand_total(),
            view_total,
            fn_total,
            fn_self,
        )

    def _function_facts(self, fid: int) -> FrameFacts:
        s = self.state.session
        frame = s.group.frames[fid]
        totals = s.current.totals
        t, w = totals.total.get(fid, 0.0), totals.self_weight.get(fid, 0.0)
        grand = self._grand_total()
        return FrameFacts(s.frame_name(fid), printable(frame.location()), t, w, grand, grand, t, w)

    def _grand_total(self) -> float:
        if self.ui.active_pane == "time-order" and self.ui.time_order.model is not None:
            return self.ui.time_order.model.total  # the whole timeline, whatever the time range
        return (
            self.ui.left_heavy.model.total
            if self.ui.left_heavy.model is not None and "left-heavy" in self.state.panes.loaded
            else self.state.session.current.total_weight
        )

    # --- comparing: the legend and the change in the details line -----------------------

    def comparison_label(self) -> str:
        return self.state.comparison.label(self.state.live is not None)

    def show_legend(self) -> None:
        legend = self.ui.legend
        c = self.state.comparison
        shown = c.comparing and c.baseline(self.state.live is not None) is not None
        legend.display = shown
        if not shown:
            return
        text = Text(no_wrap=True, overflow="ellipsis")
        # The legend first: at 80 columns the explanation after it may be cut.
        text.append_text(diff_legend(self.ui.left_heavy.color_mode))
        if c.job is not None:
            text.append("  comparing…")
        text.append(f"  share of the total, {self.comparison_label()} (±{DIFF_SCALE:g} points: full colour)")
        legend.update(text)

    def _show_change(self, details: DetailsLine, facts: FrameFacts, change: ShareChange | None) -> None:
        """The details line with `base 12.3 % → new 18.0 % (+5.7)` in front of the weights."""
        if change is None:
            return
        described = change.describe()
        room = max(20, (details.size.width or 80) - 1 - cell_len(described) - 2)
        first, second = details_lines(facts, self.state.session.format, room)
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(first, style="bold")
        text.append("\n")
        text.append(described, style="bold")
        text.append(f"  {second}")
        details.update(text, layout=False)

    def _show_base_only_details(self) -> None:
        """A function only in the base: its name and `base 4.2 % → new 0.0 % (-4.2)`."""
        row = self.ui.sandwich.base_only_row
        graph = self.ui.current_graph
        if row is None or self.ui.active_pane != "sandwich" or (graph is not None and graph.selected is not None):
            return
        self_base, _, total_base, _ = row.change
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(printable(row.name), style="bold")
        if row.file:
            text.append(f"  {printable(row.file)}")
        text.append("  only in the base (no frame here)\n")
        text.append(ShareChange(total_base, 0.0).describe(), style="bold")
        text.append(f"  self: base {self_base:.1f} % → new 0.0 %")
        self.ui.details.update(text, layout=False)

    def _function_change(self, fid: int) -> ShareChange | None:
        changes = self.ui.sandwich.changes if self.state.comparison.comparing else None
        c = changes.get(fid) if changes is not None else None
        return ShareChange(c[2], c[3]) if c is not None else None
