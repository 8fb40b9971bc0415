"""Comparing with a baseline: the state and colours of `bpfscope diff BASE NEW` and of live `b` / `B`.

A mixin of `BpfscopeApp` (see `tui.app_host`): it builds the comparison of the shown view
with the baseline once per view (the base file's threads merged, or in a live session the
samples before the mark), colours the flame panes and the legend by the change in each
call path's share, adds the change to the details line, and handles marking the live
baseline and turning comparing on and off. Kept apart from the app, which only routes.

A big pair (more than `SYNC_COMPARE_STACKS` unique stacks together) is compared on a worker:
with 100k stacks each, matching the call paths and grouping those the first screen colours
took about 0.45 s of the UI thread, and the base's function shares 0.23 s more at the
Sandwich (measured). Until it is ready the panes are uncoloured and the legend says
"comparing…"; a result for a view, baseline or comparing state that has changed since is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import work
from textual.widgets import Static

from collectors.calltree import flatten_recursion
from collectors.diff import FunctionShares, NodeShares, PathDiff, ShareChange, profiles_shares
from collectors.profile import Profile, merge_profiles
from collectors.safe_text import printable
from tui.chips import Chip, apply_chips
from tui.derived import Derived
from tui.palette import diff_legend, diff_style
from tui.session import Session, ViewState
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
SYNC_COMPARE_STACKS = 20_000
"""Up to this many unique stacks in the base and the shown profile together, the comparison
is built at once; above, on a worker."""
EXPAND_PCT = 0.5
"""The worker also groups every call path of at least this share (a cell at 200 columns), so
colouring the first screen of a flame graph groups nothing on the UI thread."""


class ComparisonMixin(_Host):
    """The comparison with a baseline: built per view, drawn as colours, toggled by `b` / `B`."""

    sync_compare_stacks: int = SYNC_COMPARE_STACKS
    _comparing_for: tuple[Derived, Profile] | None = None
    """The view and base a worker is comparing (its result is dropped if either changed)."""

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
        if self.live_on_worker:
            return None  # built with each live update (`tui.live_aggregate`): uncoloured until one lands
        if self.live is None and len(base.stacks) + len(derived.profile.stacks) > self.sync_compare_stacks:
            job = self._comparing_for
            if job is None or job[0] is not derived or job[1] is not base:
                self._comparing_for = (derived, base)
                self._build_comparison(derived, base, s.flattened, s.view.chips)
            return None  # uncoloured until `_comparison_ready`
        base = apply_chips(flatten_recursion(base) if s.flattened else base, s.view.chips)
        self._comparison = (derived, PathDiff(base, derived.profile), base)
        return self._comparison

    @work(thread=True, exclusive=True, group="comparison")
    def _build_comparison(self, derived: Derived, base: Profile, flattened: bool, chips: Sequence[Chip]) -> None:
        compared = apply_chips(flatten_recursion(base) if flattened else base, chips)
        diff = PathDiff(compared, derived.profile)
        diff.expand(EXPAND_PCT)
        shares = diff.rekey_shares(profiles_shares(compared.frames, [compared]))
        self._from_thread(self._comparison_ready, derived, base, diff, compared, shares)

    def _comparison_ready(self, derived: Derived, base: Profile, diff: PathDiff, compared: Profile,
                          shares: FunctionShares) -> None:
        job = self._comparing_for
        if job is None or job[0] is not derived or job[1] is not base:
            return  # the view, the baseline or comparing changed since: a newer job (or none) counts
        self._comparing_for = None
        if not self.comparing or derived is not self.session.current:
            return
        self._comparison = (derived, diff, compared)
        self._base_shares = (diff, shares)
        for pane in ("left-heavy", "time-order"):
            graph = self.left_heavy if pane == "left-heavy" else self.time_order
            if pane in self._loaded and graph.model is not None:
                self._color_graph(pane, graph)
        if "sandwich" in self._loaded:
            self._loaded.discard("sandwich")  # its columns change: filled again (now if shown)
            if self.active_pane == "sandwich":
                self._ensure_loaded("sandwich")
        self._refresh_status()

    def _compared_shares(self) -> FunctionShares | None:
        """The base's per-function shares for the Sandwich (only when it is shown)."""
        comparison = self._compare()
        if comparison is None:
            return None
        cached = self._base_shares
        if cached is None or cached[0] is not comparison[1]:
            base = comparison[2]
            shares = comparison[1].rekey_shares(profiles_shares(base.frames, [base]))
            cached = self._base_shares = (comparison[1], shares)
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
        if comparison is None or model is None or (pane == "left-heavy" and self.session.bottom_up):
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
        if self._comparing_for is not None:
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
        changes = self.sandwich.changes if self.comparing else None
        c = changes.get(fid) if changes is not None else None
        return ShareChange(c[2], c[3]) if c is not None else None

    def _comparison_changed(self) -> None:
        """Comparing turned on or off, or the baseline moved: every pane again."""
        self._comparison = self._comparing_for = None
        self._node_shares.clear()
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
        self._mark_wanted = True
        self.refresh_live_view(force=True)

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
        else:
            every = self._all_samples
            self._all_samples = None
            if every is not None:
                every.flattened, every.bottom_up = self.session.flattened, self.session.bottom_up
                self.session = every
        self._comparison_changed()

    def _show_since_baseline(self) -> None:
        """Live: the panes show the samples since the mark, coloured against those before it
        (over the last update's copies until the next one lands)."""
        mark = self.live_baseline
        if self.live is None or mark is None:
            return
        shown = self.session
        if self._all_samples is None:
            self._all_samples = shown
        since = Session(shown.group, merged=mark.after)
        # The filters and toggles carry over; a time range does not (the timeline starts at the mark).
        since.flattened, since.bottom_up = shown.flattened, shown.bottom_up
        since.view = ViewState(chips=shown.view.chips)
        since.show_meanwhile(shown.current)
        self.session = since
