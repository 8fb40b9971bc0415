"""Comparing with a baseline, drawn: the colours of `bpfscope diff BASE NEW` and of live `b` / `B`.

A mixin of `BpfscopeApp` (see `tui.app_host`) over the `tui.comparison.Comparison` feature
object, which holds the baseline and builds the comparison of the shown view once per view:
this part colours the flame panes and the legend by the change in each call path's share,
adds the change to the details line, runs a big comparison on a worker and handles marking
the live baseline and turning comparing on and off.

A big pair (more than `SYNC_COMPARE_STACKS` unique stacks together) is compared on a worker:
with 100k stacks each, matching the call paths and grouping those the first screen colours
took about 0.45 s of the UI thread, and the base's function shares 0.23 s more at the
Sandwich (measured). Until it is ready the panes are uncoloured and the legend says
"comparing…"; a result for a view, baseline or comparing state that has changed since is dropped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import work
from textual.widgets import Static

from collectors.diff import FunctionShares, NodeShares, ShareChange
from collectors.safe_text import printable
from tui.comparison import Compared, CompareJob
from tui.palette import diff_legend, diff_style
from tui.views import FlameNode
from tui.widgets.flame_graph import FlameGraph
from tui.widgets.status import DetailsLine, FrameFacts, details_lines

if TYPE_CHECKING:
    from tui.app_host import AppHost as _Host
else:
    _Host = object

DIFF_SCALE = 10.0
"""Comparing: a call path whose share of the total changed by this many points or more gets the
strongest colour (below 5 % of it, 0.5 points, it reads as "same")."""


class ComparisonMixin(_Host):
    """The comparison with a baseline (`tui.comparison.Comparison`): drawn as colours and
    columns, built on a worker when big, toggled by `b` / `B`."""

    def _compare(self) -> Compared | None:
        """The shown view against the baseline, or None (not comparing, or not built yet: a
        big one is then started on a worker)."""
        got = self.comparison.compare(self.session, self.live is not None, self.live_on_worker)
        if isinstance(got, CompareJob):
            self._build_comparison(got)
            return None  # uncoloured until `_comparison_ready`
        return got

    @work(thread=True, exclusive=True, group="comparison")
    def _build_comparison(self, job: CompareJob) -> None:
        compared, shares = job.build()
        self._from_thread(self._comparison_ready, job, compared, shares)

    def _comparison_ready(self, job: CompareJob, compared: Compared, shares: FunctionShares) -> None:
        if not self.comparison.landed(job, compared, shares, self.session.current):
            return
        for pane in ("left-heavy", "time-order"):
            graph = self.left_heavy if pane == "left-heavy" else self.time_order
            if pane in self.panes.loaded and graph.model is not None:
                self._color_graph(pane, graph)
        if "sandwich" in self.panes.loaded:
            self.panes.loaded.discard("sandwich")  # its columns change: filled again (now if shown)
            if self.active_pane == "sandwich":
                self._ensure_loaded("sandwich")
        self._refresh_status()

    def _compared_shares(self) -> FunctionShares | None:
        """The base's per-function shares for the Sandwich (only when it is shown)."""
        compared = self._compare()
        return self.comparison.function_shares(compared) if compared is not None else None

    def _comparison_label(self) -> str:
        return self.comparison.label(self.live is not None)

    def _color_graph(self, pane: str, graph: FlameGraph) -> None:
        """Colour a flame pane by how each call path's share changed (comparing), else by the palette."""
        comparison = self._compare()
        model = graph.model
        if comparison is None or model is None or (pane == "left-heavy" and self.session.bottom_up):
            self.comparison.node_shares.pop(pane, None)  # bottom-up paths have no counterpart: palette colours
            if graph.colorer is not None:
                graph.set_colorer(None)
            return
        shares = self.comparison.node_shares[pane] = NodeShares(comparison.diff, model.parent)

        def colour(node: FlameNode) -> Style:
            return diff_style(shares.change(node).delta, DIFF_SCALE, graph.color_mode)

        graph.set_colorer(colour)

    def _show_legend(self) -> None:
        legend = self.query_one("#diff-legend", Static)
        shown = self.comparison.comparing and self.comparison.baseline(self.live is not None) is not None
        legend.display = shown
        if not shown:
            return
        text = Text(no_wrap=True, overflow="ellipsis")
        # The legend first: at 80 columns the explanation after it may be cut.
        text.append_text(diff_legend(self.left_heavy.color_mode))
        if self.comparison.job is not None:
            text.append("  comparing…")
        text.append(f"  share of the total, {self._comparison_label()} (±{DIFF_SCALE:g} points: full colour)")
        legend.update(text)

    def _show_change(self, details: DetailsLine, facts: FrameFacts, change: ShareChange | None) -> None:
        """The details line with `base 12.3 % → new 18.0 % (+5.7)` in front of the weights."""
        if change is None:
            return
        described = change.describe()
        room = max(20, (details.size.width or 80) - 1 - cell_len(described) - 2)
        first, second = details_lines(facts, self.session.format, room)
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(first, style="bold")
        text.append("\n")
        text.append(described, style="bold")
        text.append(f"  {second}")
        details.update(text, layout=False)

    def _show_base_only_details(self) -> None:
        """A function only in the base: its name and `base 4.2 % → new 0.0 % (-4.2)`."""
        row = self.sandwich.base_only_row
        graph = self.current_graph
        if row is None or self.active_pane != "sandwich" or (graph is not None and graph.selected is not None):
            return
        self_base, _, total_base, _ = row.change
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(printable(row.name), style="bold")
        if row.file:
            text.append(f"  {printable(row.file)}")
        text.append("  only in the base (no frame here)\n")
        text.append(ShareChange(total_base, 0.0).describe(), style="bold")
        text.append(f"  self: base {self_base:.1f} % → new 0.0 %")
        self.query_one(DetailsLine).update(text, layout=False)

    def _function_change(self, fid: int) -> ShareChange | None:
        changes = self.sandwich.changes if self.comparison.comparing else None
        c = changes.get(fid) if changes is not None else None
        return ShareChange(c[2], c[3]) if c is not None else None

    def _comparison_changed(self) -> None:
        """Comparing turned on or off, or the baseline moved: every pane again."""
        self.comparison.changed()
        if self.live is not None:
            self._live_view_changed()  # built with the comparison, as any live update
        else:
            self._load_profile()
        for pane in ("left-heavy", "time-order"):
            # An unchanged tree is not set again when its pane is shown: colour it here.
            graph = self.left_heavy if pane == "left-heavy" else self.time_order
            if graph.model is not None:
                self._color_graph(pane, graph)
        self.refresh_bindings()

    def action_mark_baseline(self) -> None:
        """Live: the samples so far (those the collector holds included) become the baseline;
        the mark is made by the next update (at once while the profile is small)."""
        if self.live is None:
            return
        self.live_driver.mark_wanted = True
        self.refresh_live_view(force=True)

    def action_toggle_comparison(self) -> None:
        c = self.comparison
        if self.live is None:
            if c.baseline_group is not None:
                c.comparing = not c.comparing
                self._comparison_changed()
            return
        if c.live_baseline is None:
            self.notify("mark a baseline first (b)", markup=False)
            return
        c.comparing = not c.comparing
        if c.comparing:
            self._show_since_baseline()
        else:
            every = c.every_sample(self.session)
            if every is not None:
                self.session = every
        self._comparison_changed()

    def _show_since_baseline(self) -> None:
        """Live: the panes show the samples since the mark, coloured against those before it
        (over the last update's copies until the next one lands)."""
        if self.live is not None and self.comparison.live_baseline is not None:
            self.session = self.comparison.since_mark(self.session)
