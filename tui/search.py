"""Search, as a feature object: the frames matching the prompt's pattern, and the order `n`
and `N` step through functions in.

Textual-free (`tui.search_control` draws it): the profile screen owns one `Search`, sets its
pattern against the shown view and hands `matches` down to the panes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tui.session import Session, matching_frames, name_matcher


class Search:
    """The prompt's pattern applied to the shown view: the matching frames, or why there are none."""

    def __init__(self) -> None:
        self.matches: frozenset[int] | None = None
        """Frame ids whose name matches; None when there is no pattern (or it is a bad regex)."""
        self.error: str | None = None
        """Why the pattern matches nothing: a bad regex, said as the prompt shows it."""

    @property
    def count(self) -> int | None:
        """How many frames match (None: no search)."""
        return None if self.matches is None else len(self.matches)

    def apply(self, session: Session, pattern: str, regex: bool) -> frozenset[int] | None:
        """Match `pattern` (a regex when `regex`; case-insensitive) against the frames of
        `session`'s shown view (every frame of the group until its totals are computed)."""
        self.error = None
        try:
            test = name_matcher(pattern, regex)
        except re.error as e:
            test = None
            self.error = f"bad regex: {e.msg}"
        if test is None:
            self.matches = None
        else:
            derived = session.current
            among = set(derived.totals.total) if derived.totals_ready else None
            self.matches = frozenset(matching_frames(session.group, among, test))
        return self.matches

    def next_function(self, order: Sequence[int], current: int | None, backwards: bool) -> int | None:
        """The matching function `n` (`N`: `backwards`) selects in a table listed in `order`,
        from `current`, wrapping around; None when no listed function matches."""
        matches = self.matches
        if not matches:
            return None
        rank = {fid: i for i, fid in enumerate(order)}
        listed = [fid for fid in order if fid in matches]
        if not listed:
            return None
        pos = rank.get(current, -1) if current is not None else -1
        if backwards:
            before = [fid for fid in listed if rank[fid] < pos]
            return before[-1] if before else listed[-1]
        after = [fid for fid in listed if rank[fid] > pos]
        return after[0] if after else listed[0]
