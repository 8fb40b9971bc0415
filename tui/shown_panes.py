"""What the panes show, as a feature object: which are loaded for the current view, the tree each
flame pane draws, and the places carried over to its next model.

Textual-free (`tui.panes_control` fills the panes from it): a pane is built when shown and
kept until the view changes; a flame pane whose tree did not change keeps its zoom.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tui.views import PathMap

FLAME_PANES = ("left-heavy", "time-order")


@dataclass
class ShownPanes:
    """Per pane: loaded for the current view or not, the tree shown, a selection and zoom to carry."""

    loaded: set[str] = field(default_factory=set)
    """Panes filled from the current view (the others are filled when shown)."""
    shown_trees: dict[str, object] = field(default_factory=dict)
    """The tree each flame pane shows: an unchanged tree keeps its pane's zoom."""
    carry_places: dict[str, PathMap] = field(default_factory=dict)
    """Panes whose next model keeps the selection and zoom, by path through this map (`r`)."""
    density_timed: bool = False
    """The density strip has rows: Time Order's samples have times."""

    def view_changed(self) -> None:
        """Every pane is filled again, each when shown."""
        self.loaded.clear()

    def show_tree(self, pane: str, tree: object) -> bool:
        """`pane` is to show `tree`; whether it differs from what it shows (else it keeps its zoom)."""
        if self.shown_trees.get(pane) is tree:
            return False
        self.shown_trees[pane] = tree
        return True

    def carry(self, mapping: PathMap) -> None:
        """The flame panes shown so far keep their selection and zoom in their next model, each
        node's path mapped by `mapping` (recursion flattened or shown again)."""
        self.carry_places = {pane: mapping for pane in FLAME_PANES if pane in self.shown_trees}

    def take_carried(self, pane: str) -> PathMap | None:
        return self.carry_places.pop(pane, None)
