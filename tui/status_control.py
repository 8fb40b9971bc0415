"""The status lines: the header (title, breadcrumbs, chips), the diff legend and the details line.

A mixin of `BpfscopeApp` (see `tui.app_host`): `_refresh_status` redraws them from the
session and the pane keys act on, after any change the app routes; the details line
gives the selected frame's weights (and, comparing, its change). Kept apart from the
app, which only routes.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from rich.cells import cell_len, set_cell_size

from collectors.calltree import TimeOrderTree
from collectors.profile import Unit
from collectors.safe_text import printable
from tui.session import MERGED
from tui.views import FlameNode
from tui.widgets.flame_graph import FlameGraph
from tui.widgets.status import DetailsLine, FrameFacts, ProfileHeader

if TYPE_CHECKING:
    from tui.app_host import AppHost as _Host
else:
    _Host = object

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


class StatusMixin(_Host):
    """The header, legend and details lines, redrawn by `_refresh_status`."""

    def _title(self) -> str:
        s = self.session
        parts = [printable(s.group.name) or "profile"]
        if s.has_threads:
            n = s.profile_count
            where = "all" if s.index == MERGED else f"{s.index + 1}/{n}"
            parts.append(f"{s.profile_label()} [{where}]")
        total = s.format(s.current.total_weight)
        # A unit of "none" means counts: say "samples" rather than print the word "none".
        parts.append(f"total {total} samples" if s.unit is Unit.NONE else f"{s.unit.value} · total {total}")
        parts.append(PANE_TITLES[self.active_pane])
        kind = s.kind_label()
        if kind is not None:
            parts.append(kind)
        if s.bottom_up and self.active_pane == "left-heavy":
            parts.append("inverted (bottom-up)")
        if s.flattened:
            parts.append("recursion flattened")
        if s.pending:
            parts.append("applying filters…")
        if self.comparison.comparing:
            parts.append(self._comparison_label())
        width = self.query_one(ProfileHeader).size.width or 80
        return fit_title(parts, 1 if s.has_threads else None, width)

    def _refresh_status(self) -> None:
        graph = self.current_graph
        if self.active_pane == "sandwich" and graph is None:
            frame = self.sandwich.frame
            crumbs = [f"sandwich of {self.session.frame_name(frame)}"] if frame is not None else []
        else:
            crumbs = graph.breadcrumb() if graph is not None else []
        note = None
        if graph is not None and graph is self.time_order:
            crumbs, note = self._time_order_crumbs(graph, crumbs)
        s = self.session
        self.query_one(ProfileHeader).show(self._title(), crumbs, [c.text for c in s.view.chips], s.range_label(),
                                           note)
        self._show_legend()
        self._show_details(graph)

    def _time_order_crumbs(self, graph: FlameGraph, crumbs: list[str]) -> tuple[list[str], str | None]:
        """Time Order's breadcrumb ends with the span shown after `+`/`-`/`,`/`.` (a free
        view of the axis); without sample times, a note that x is the file's order."""
        tree = self.panes.shown_trees.get("time-order")
        timed = isinstance(tree, TimeOrderTree) and tree.timed
        view = graph.view
        if view is not None and view.node is None and len(graph.zoom_stack) > 1:
            if timed:
                digits = max(0, 2 - math.floor(math.log10(view.width))) if view.width > 0 else 2
                crumbs = [*crumbs, f"{view.start:.{digits}f} s – {view.end:.{digits}f} s"]
            elif self.session.unit is Unit.NONE:
                crumbs = [*crumbs, f"samples {view.start:.0f} – {view.end:.0f}"]
            else:
                crumbs = [*crumbs, f"{self.session.format(view.start)} – {self.session.format(view.end)}"]
        return crumbs, None if timed or tree is None else "x: file order (no sample times)"
        self._show_legend()
        self._show_details(graph)

    def _show_details(self, graph: FlameGraph | None) -> None:
        details = self.query_one(DetailsLine)
        node = graph.selected if graph is not None else None
        if graph is None or node is None or graph.model is None:
            if self.active_pane == "sandwich" and self.sandwich.frame is not None:
                facts = self._function_facts(self.sandwich.frame)
                details.show(facts, self.session.format)
                self._show_change(details, facts, self._function_change(self.sandwich.frame))
            else:
                details.show(None, self.session.format)
                self._show_base_only_details()  # a diff row for a function only in the base
            return
        zoom = graph.zoom_node
        view_total = zoom.total if zoom is not None else graph.model.total
        facts = self._facts(node, view_total)
        details.show(facts, self.session.format)
        shares = self.comparison.node_shares.get(graph.id or "")
        if shares is not None and self.comparison.comparing:
            self._show_change(details, facts, shares.change(node))

    def _facts(self, node: FlameNode, view_total: float) -> FrameFacts:
        s = self.session
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
        s = self.session
        frame = s.group.frames[fid]
        totals = s.current.totals
        t, w = totals.total.get(fid, 0.0), totals.self_weight.get(fid, 0.0)
        grand = self._grand_total()
        return FrameFacts(s.frame_name(fid), printable(frame.location()), t, w, grand, grand, t, w)

    def _grand_total(self) -> float:
        if self.active_pane == "time-order" and self.time_order.model is not None:
            return self.time_order.model.total  # the whole timeline, whatever the time range
        return (
            self.left_heavy.model.total
            if self.left_heavy.model is not None and "left-heavy" in self.panes.loaded
            else self.session.current.total_weight
        )
