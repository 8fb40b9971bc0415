"""Comparing with a baseline: the state and colours of `bpfscope diff BASE NEW` and of live `b` / `B`.

A mixin of `BpfscopeApp` (see `tui.app_host`): it builds the comparison of the shown view
with the baseline once per view (the base file's threads merged, or in a live session the
samples before the mark), colours the flame panes and the legend by the change in each
call path's share, adds the change to the details line, and handles marking the live
baseline and turning comparing on and off. Kept apart from the app, which only routes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from collectors.calltree import flatten_recursion
from collectors.diff import FunctionShares, LiveBaseline, NodeShares, PathDiff, ShareChange, profiles_shares
from collectors.profile import Profile, merge_profiles
from collectors.safe_text import printable
from tui.palette import diff_legend, diff_style
from tui.session import Derived, Session, ViewState, apply_chips
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
    """The comparison with a baseline: built per view, drawn as colours, toggled by `b` / `B`."""

    def _baseline(self) -> Profile | None:
        """The profile compared with (before the view's filters): the base file's threads
        merged, or in a live session the samples before the mark."""
        if self.live is not None:
            return self.live_baseline.before if self.live_baseline is not None else None
        group = self.baseline_group
        if group is None or not group.profiles:
            return None
        if self._base_profile is None:
            self._base_profile = group.profiles[0] if len(group.profiles) == 1 else merge_profiles(group)
        return self._base_profile

    def _compare(self) -> tuple[Derived, PathDiff, Profile] | None:
        """The shown view against the baseline (recursion and filters applied to both), built
        once per view, with the base profile as compared; None when not comparing."""
        if not self.comparing:
            return None
        derived = self.session.current
        cached = self._comparison
        if cached is not None and cached[0] is derived:
            return cached
        base = self._baseline()
        if base is None:
            return None
        s = self.session
        base = apply_chips(flatten_recursion(base) if s.flattened else base, s.view.chips)
        self._comparison = (derived, PathDiff(base, derived.profile), base)
        return self._comparison

    def _compared_shares(self) -> FunctionShares | None:
        """The base's per-function shares for the Sandwich (only when it is shown)."""
        comparison = self._compare()
        if comparison is None:
            return None
        cached = self._base_shares
        if cached is None or cached[0] is not comparison[1]:
            base = comparison[2]
            cached = self._base_shares = (comparison[1], profiles_shares(base.frames, [base]))
        return cached[1]

    def _comparison_label(self) -> str:
        run, mark = self.live, self.live_baseline
        if run is not None and mark is not None:
            return f"difference since the baseline ({mark.mark} samples before, {mark.after.sample_count} since)"
        name = self.baseline_group.name if self.baseline_group is not None else ""
        return f"compared with {printable(name) or 'the baseline'}"

    def _color_graph(self, pane: str, graph: FlameGraph) -> None:
        """Colour a flame pane by how each call path's share changed (comparing), else by the palette."""
        comparison = self._compare()
        model = graph.model
        if comparison is None or model is None or (pane == "left-heavy" and self.session.inverted):
            self._node_shares.pop(pane, None)  # bottom-up paths have no counterpart: palette colours
            if graph.colorer is not None:
                graph.set_colorer(None)
            return
        shares = self._node_shares[pane] = NodeShares(comparison[1], model.parent)

        def colour(node: FlameNode) -> Style:
            return diff_style(shares.change(node).delta, DIFF_SCALE, graph.color_mode)

        graph.set_colorer(colour)

    def _show_legend(self) -> None:
        legend = self.query_one("#diff-legend", Static)
        shown = self.comparing and self._baseline() is not None
        legend.display = shown
        if not shown:
            return
        text = Text(no_wrap=True, overflow="ellipsis")
        # The legend first: at 80 columns the explanation after it may be cut.
        text.append_text(diff_legend(self.left_heavy.color_mode))
        text.append(f"  share of the total, {self._comparison_label()} (±{DIFF_SCALE:g} points: full colour)")
        legend.update(text)

    def _show_change(self, details: DetailsLine, facts: FrameFacts, change: ShareChange | None) -> None:
        """The details line with `base 12.3 % → new 18.0 % (+5.7)` in front of the weights."""
        if change is None:
            return
        first, second = details_lines(facts, self.session.format)
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(first, style="bold")
        text.append("\n")
        text.append(change.describe(), style="bold")
        text.append(f"  {second}")
        details.update(text, layout=False)

    def _function_change(self, fid: int) -> ShareChange | None:
        changes = self.sandwich.changes if self.comparing else None
        c = changes.get(fid) if changes is not None else None
        return ShareChange(c[2], c[3]) if c is not None else None

    def _comparison_changed(self) -> None:
        """Comparing turned on or off, or the baseline moved: every pane again."""
        self._comparison = None
        self._node_shares.clear()
        self._load_profile()
        for pane in ("left-heavy", "time-order"):
            # An unchanged tree is not set again when its pane is shown: colour it here.
            graph = self.left_heavy if pane == "left-heavy" else self.time_order
            if graph.model is not None:
                self._color_graph(pane, graph)
        self.refresh_bindings()

    def action_mark_baseline(self) -> None:
        run = self.live
        if run is None:
            return
        if run.pump():  # the mark is "now": what the collector has gathered counts as before
            self._view_stale = True
        self.live_baseline = LiveBaseline(run.merged)
        if self.comparing:
            self._show_since_baseline()
        else:
            self.refresh_bindings()
        self.notify(f"baseline marked at {self.live_baseline.mark} samples; B shows the difference since",
                    markup=False)

    def action_toggle_comparison(self) -> None:
        if self.live is None:
            if self.baseline_group is not None:
                self.comparing = not self.comparing
                self._comparison_changed()
            return
        if self.live_baseline is None:
            self.notify("mark a baseline first (b)", markup=False)
            return
        self.comparing = not self.comparing
        if self.comparing:
            self._show_since_baseline()
            return
        every = self._all_samples
        self._all_samples = None
        if every is not None:
            every.flattened, every.inverted = self.session.flattened, self.session.inverted
            every.invalidate()
            self.session = every
        self._comparison_changed()

    def _show_since_baseline(self) -> None:
        """Live: the panes show the samples since the mark, coloured against those before it."""
        run, mark = self.live, self.live_baseline
        if run is None or mark is None:
            return
        mark.sync()
        if self._all_samples is None:
            self._all_samples = self.session
        since = Session(run.group, merged=mark.after)
        # The filters and toggles carry over; a time range does not (the timeline starts at the mark).
        since.flattened, since.inverted = self.session.flattened, self.session.inverted
        since.view = ViewState(chips=self.session.view.chips)
        self.session = since
        self._comparison_changed()
