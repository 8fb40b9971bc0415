"""The filter chips: what `f`, `d`, `m` and the filter screen add to the view, each a
transform of `collectors.transforms` applied to the chosen profile, in order. No Textual here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from collectors.profile import Frame, Profile
from collectors.safe_text import printable
from collectors.transforms import REGEX_PREFIX, collapse, focus, frame_matcher, hide, keep_only

FILTER_KINDS = ("focus", "hide", "collapse", "mine")
FILTER_HELP = "focus, hide, collapse or mine, then a regular expression"


@dataclass(frozen=True)
class Chip:
    """One filter of the stack: a transform `kind`, its `collectors.transforms` pattern, and
    the text its chip shows."""

    kind: str
    pattern: str
    label: str

    @property
    def text(self) -> str:
        return f"{self.kind} {printable(self.label)}"


def parse_filter(text: str) -> Chip:
    """`focus REGEX`, `hide REGEX`, `collapse REGEX` or `mine REGEX` as a chip.

    Raises ValueError, or `TransformError` for a bad regex, with one sentence."""
    verb, _, rest = text.strip().partition(" ")
    verb, regex = verb.casefold(), rest.strip()
    if not verb:
        raise ValueError(f"type a filter: {FILTER_HELP}")
    if verb not in FILTER_KINDS:
        raise ValueError(f"unknown filter {printable(verb)!r}: use {FILTER_HELP}")
    if not regex:
        raise ValueError(f"{verb!r} needs a regular expression after it")
    pattern = REGEX_PREFIX + regex
    frame_matcher(pattern)  # a bad regex fails here, before anything is applied
    return Chip(verb, pattern, regex)


def function_chip(kind: str, frame: Frame) -> Chip:
    """A chip for exactly `frame`'s function name (`f` focus, `d` hide)."""
    return Chip(kind, f"{REGEX_PREFIX}^{re.escape(frame.name)}$", frame.name)


_MODULE_SEPARATORS = ("::", ".")


def module_chip(frame: Frame) -> Chip | None:
    """A collapse chip for `frame`'s file, else for the module its name starts with
    (`pkg.mod.func` → `pkg.mod`, `std::vec::push` → `std::vec`); None when neither is known."""
    if frame.file:
        return Chip("collapse", f"{REGEX_PREFIX}^{re.escape(frame.file)}$", frame.file)
    name = frame.name
    for sep in _MODULE_SEPARATORS:
        head, found, _ = name.rpartition(sep)
        if found and head and not any(c in head for c in " ([<"):
            return Chip("collapse", f"{REGEX_PREFIX}^{re.escape(head + sep)}", head)
    return None


def apply_chip(profile: Profile, chip: Chip) -> Profile:
    if chip.kind == "focus":
        return focus(profile, chip.pattern)
    if chip.kind == "hide":
        return hide(profile, chip.pattern)
    if chip.kind == "collapse":
        return collapse(profile, chip.pattern, chip.label)
    if chip.kind == "mine":
        return keep_only(profile, chip.pattern)
    raise ValueError(f"unknown filter {chip.kind!r}")


def apply_chips(profile: Profile, chips: Sequence[Chip]) -> Profile:
    for chip in chips:
        profile = apply_chip(profile, chip)
    return profile
