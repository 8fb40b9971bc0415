"""Frame colours: a function gets the same colour in every pane (a stable hash of its name);
kernel frames take cool hues and user frames warm ones, so the two read apart at a glance.

Colours are truecolor and Textual downgrades them at output to what the terminal has, so a
label's foreground is chosen for the colour the terminal will really show:

- `truecolor`: the hashed colour, black text (every hue is light enough for it).
- `256`: the hashed colour, which the 6x6x6 cube keeps close; text black or white by the
  luminance of the downgraded background.
- `standard` (16 colours): nearest-colour downgrading would turn many warm and cool hues
  into the same light grey, so the background is picked by hash from disjoint sets of ANSI
  colours (warm for user code, cool for the kernel), given as their exact palette values so
  the downgrade keeps them; text black or white by luminance.
- `mono` (`NO_COLOR`): Textual turns every colour to its grey; text black or white by that
  grey's luminance. The selection (reverse, bold), matches (bold, underline) and kernel
  frames (italic) are told apart by attributes, not colour.

Two more looks live here. Cells outside a selected time range (`outside_range_style`) keep
their colour as text on the plain background. A differential flame graph colours a frame by
the change of its share (`diff_style`, `diff_legend`): red-ish grew, blue-ish shrank, grey
about the same, stronger for larger changes; 16 colours use exact ANSI reds, blue/cyan and
grey; under `NO_COLOR` grew is a light fill with bold text, shrank a dark fill, same mid grey.
"""

from __future__ import annotations

import colorsys
import math
import zlib
from functools import lru_cache
from typing import Literal

from rich._palettes import STANDARD_PALETTE
from rich.color import Color, ColorSystem
from rich.color_triplet import ColorTriplet
from rich.style import Style
from rich.text import Text

from collectors.profile import Frame, FrameKind

ColorMode = Literal["truecolor", "256", "standard", "mono"]

_USER_HUES = (0.0, 0.04, 0.08, 0.11, 0.14)  # reds, oranges, yellows
_KERNEL_HUES = (0.50, 0.54, 0.58, 0.62)  # cyans and blues
_DIM_BG = Color.from_rgb(70, 70, 70)
_DIM_FG = Color.from_rgb(150, 150, 150)
_BLACK = Color.from_rgb(0, 0, 0)
_WHITE = Color.from_rgb(255, 255, 255)
_FG = _BLACK

# ANSI colour numbers for 16-colour terminals: reds, magentas and bright yellow for user code;
# blues and cyans for the kernel. Left out: green, the greys (they read as "dimmed"), and the
# colours whose best text colour differs between common terminal palettes (3, 12).
USER_ANSI = (1, 5, 9, 11, 13)
KERNEL_ANSI = (4, 6, 14)


def name_hash(name: str) -> int:
    """A hash that is the same in every run (Python's `hash` of a str is salted)."""
    return zlib.crc32(name.encode("utf-8", "surrogatepass"))


@lru_cache(maxsize=65536)
def frame_rgb(name: str, kernel: bool) -> tuple[int, int, int]:
    h = name_hash(name)
    hues = _KERNEL_HUES if kernel else _USER_HUES
    hue = hues[h % len(hues)] + ((h >> 8) % 16) / 16 * 0.035
    light = 0.55 + ((h >> 12) % 8) / 8 * 0.15
    sat = 0.55 + ((h >> 16) % 4) / 4 * 0.3
    r, g, b = colorsys.hls_to_rgb(hue % 1.0, light, sat)
    return round(r * 255), round(g * 255), round(b * 255)


def color_mode(color_system: str | None, no_color: bool) -> ColorMode:
    """The mode for a Rich console's `color_system` name and Textual's `no_color`."""
    if no_color or color_system is None:
        return "mono"
    if color_system == "truecolor":
        return "truecolor"
    if color_system == "256":
        return "256"
    return "standard"


def shown_rgb(color: Color, mode: ColorMode) -> ColorTriplet:
    """The colour a terminal in `mode` shows for `color` (standard colours as in Rich's palette)."""
    if mode == "standard":
        number = color.downgrade(ColorSystem.STANDARD).number
        return STANDARD_PALETTE[number if number is not None else 0]
    if mode == "256":
        return color.downgrade(ColorSystem.EIGHT_BIT).get_truecolor()
    r, g, b = color.get_truecolor()
    if mode == "mono":
        gray = round(r * 0.2126 + g * 0.7152 + b * 0.0722)  # as Textual's Monochrome filter
        return ColorTriplet(gray, gray, gray)
    return ColorTriplet(r, g, b)


def luminance(rgb: ColorTriplet) -> float:
    """WCAG relative luminance, 0 (black) to 1 (white)."""

    def channel(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = rgb
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: ColorTriplet, b: ColorTriplet) -> float:
    """WCAG contrast ratio, 1 (none) to 21 (black on white)."""
    la, lb = sorted((luminance(a), luminance(b)))
    return (lb + 0.05) / (la + 0.05)


def _text_on(bg: Color, mode: ColorMode) -> Color:
    """Black or white, whichever reads better on `bg` as shown in `mode`."""
    shown = shown_rgb(bg, mode)
    black, white = ColorTriplet(0, 0, 0), ColorTriplet(255, 255, 255)
    return _BLACK if contrast(shown, black) >= contrast(shown, white) else _WHITE


def _ansi_exact(number: int) -> Color:
    """ANSI colour `number` as the RGB value Rich maps back to exactly that number."""
    return Color.from_triplet(STANDARD_PALETTE[number])


@lru_cache(maxsize=65536)
def frame_colors(name: str, kernel: bool, mode: ColorMode) -> tuple[Color, Color]:
    """(foreground, background) of a frame's cells in `mode`."""
    if mode == "standard":
        choices = KERNEL_ANSI if kernel else USER_ANSI
        bg = _ansi_exact(choices[name_hash(name) % len(choices)])
    else:
        bg = Color.from_rgb(*frame_rgb(name, kernel))
    fg = _FG if mode == "truecolor" else _text_on(bg, mode)
    return fg, bg


def frame_style(frame: Frame, *, dimmed: bool = False, mode: ColorMode = "truecolor") -> Style:
    """The style of a frame's cells: its colour, italic when it is kernel code."""
    kernel = frame.kind is FrameKind.KERNEL
    if dimmed:
        return Style(color=_DIM_FG, bgcolor=_DIM_BG, italic=kernel)
    fg, bg = frame_colors(frame.name, kernel, mode)
    return Style(color=fg, bgcolor=bg, italic=kernel)


# --- outside a selected time range ------------------------------------------------------


@lru_cache(maxsize=4096)
def outside_range_style(style: Style, background: Color | None) -> Style:
    """How a cell outside the selected time range is drawn: its fill colour becomes the text
    colour on the pane's own background. The range reads apart from the rest in every mode
    (under `NO_COLOR`: filled grey cells inside, grey text on the plain background outside)
    and apart from search dimming, which keeps a grey fill. Attributes are kept."""
    fg = style.bgcolor if style.bgcolor is not None and style.bgcolor != background else style.color
    return style + Style(color=fg, bgcolor=background)


# --- differential flame graphs ------------------------------------------------------------

DIFF_SAME = 0.05
"""A change below this fraction of the scale is drawn as "same"."""
_DIFF_STEPS = 4
_DIFF_GREY = (150, 150, 150)
_DIFF_GREW = (215, 48, 39)  # red
_DIFF_SHRANK = (49, 104, 216)  # blue
# 16 colours: (weaker, stronger) change. Bright red / red; cyan / blue.
_DIFF_ANSI_GREW = (9, 1)
_DIFF_ANSI_SHRANK = (6, 4)
_DIFF_ANSI_SAME = 7
# NO_COLOR: three greys far apart (Textual shows every colour as its grey), grew also bold.
_DIFF_MONO = {1: (235, 235, 235), 0: (150, 150, 150), -1: (60, 60, 60)}


def _diff_level(delta: float, scale: float) -> tuple[int, int]:
    """(direction -1/0/1, strength 1.._DIFF_STEPS) of a change, quantised so styles cache."""
    if not (scale > 0 and math.isfinite(delta)):
        return 0, 0
    t = min(1.0, abs(delta) / scale)
    if t < DIFF_SAME:
        return 0, 0
    return (1 if delta > 0 else -1), max(1, math.ceil(t * _DIFF_STEPS))


def diff_style(delta: float, scale: float, mode: ColorMode) -> Style:
    """The style of a frame whose share changed by `delta` (new minus base, any unit) when
    a change of `scale` or more is the strongest colour: red-ish for grew, blue-ish for
    shrank, grey for about the same (below `DIFF_SAME` of the scale). Text is black or white
    by the contrast with the background the terminal will really show. Under `NO_COLOR`
    the fill is light grey and the text bold for grew, dark grey for shrank, mid grey for same."""
    direction, strength = _diff_level(delta, scale)
    return _diff_style(direction, strength, mode)


@lru_cache(maxsize=64)
def _diff_style(direction: int, strength: int, mode: ColorMode) -> Style:
    if mode == "mono":
        bg = Color.from_rgb(*_DIFF_MONO[direction])
    elif mode == "standard":
        if direction == 0:
            number = _DIFF_ANSI_SAME
        else:
            weak, strong = _DIFF_ANSI_GREW if direction > 0 else _DIFF_ANSI_SHRANK
            number = strong if strength > _DIFF_STEPS // 2 else weak
        bg = _ansi_exact(number)
    else:
        target = _DIFF_GREW if direction > 0 else _DIFF_SHRANK
        t = strength / _DIFF_STEPS
        bg = Color.from_rgb(*(g + (c - g) * t for g, c in zip(_DIFF_GREY, target, strict=True)))
    return Style(color=_text_on(bg, mode), bgcolor=bg, bold=mode == "mono" and direction > 0)


def diff_legend(mode: ColorMode) -> Text:
    """"shrank same grew", each word on the colour it names (the strongest change)."""
    return Text.assemble(
        (" shrank ", _diff_style(-1, _DIFF_STEPS, mode)),
        " ",
        (" same ", _diff_style(0, 0, mode)),
        " ",
        (" grew ", _diff_style(1, _DIFF_STEPS, mode)),
    )
