"""Frame colours: a function gets the same colour in every pane (a stable hash of its name);
kernel frames take cool hues and user frames warm ones, so the two read apart at a glance.

Colours are truecolor; Textual downsamples to 256 or 16 colours, and with NO_COLOR the
widgets rely on reverse video, bold and italics instead.
"""

from __future__ import annotations

import colorsys
import zlib
from functools import lru_cache

from rich.color import Color
from rich.style import Style

from collectors.profile import Frame, FrameKind

_USER_HUES = (0.0, 0.04, 0.08, 0.11, 0.14)  # reds, oranges, yellows
_KERNEL_HUES = (0.50, 0.54, 0.58, 0.62)  # cyans and blues
_DIM_BG = Color.from_rgb(70, 70, 70)
_DIM_FG = Color.from_rgb(150, 150, 150)
_FG = Color.from_rgb(0, 0, 0)


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


def frame_style(frame: Frame, *, dimmed: bool = False) -> Style:
    """The style of a frame's cells: its colour, italic when it is kernel code."""
    kernel = frame.kind is FrameKind.KERNEL
    if dimmed:
        return Style(color=_DIM_FG, bgcolor=_DIM_BG, italic=kernel)
    r, g, b = frame_rgb(frame.name, kernel)
    return Style(color=_FG, bgcolor=Color.from_rgb(r, g, b), italic=kernel)
