"""Regenerate `screenshots/`: SVG and PNG of each pane, the help screen and the export dialog,
from the bundled example profile (`tui/examples/webapp.folded`). Run by `make screenshots`.

    python scripts/screenshots.py [--out DIR] [--size 120x36]

Each shot is taken at `--size` (`NAME.svg`) and again at 80x24 (`NAME-80x24.svg`), the
size of a plain terminal over SSH.

The SVGs come from Textual (`App.save_screenshot` inside `App.run_test`); the PNGs from
Debian's `rsvg-convert` (package librsvg2-bin, installed with apt-get when missing and root).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textual.widgets import Input  # noqa: E402

from collectors.formats import folded  # noqa: E402
from collectors.formats.detect import load_profile  # noqa: E402
from collectors.profile import ProfileGroup  # noqa: E402
from tui.app import BpfscopeApp  # noqa: E402

EXAMPLE = ROOT / "tui" / "examples" / "webapp.folded"


@dataclass(frozen=True)
class Shot:
    name: str
    keys: tuple[str, ...]
    caption: str
    compared: bool = False
    """Open as `bpfscope diff BASE webapp.folded` would, BASE another run of the same service."""


def other_run() -> ProfileGroup:
    """The example service's profile over other requests (another seed): the diff's base."""
    sys.path.insert(0, str(EXAMPLE.parent))
    import make_example

    samples = make_example.generate(seed=make_example.SEED + 7)
    return folded.read(make_example.folded(samples), "webapp-before.folded")


SHOTS = (
    Shot("left-heavy", ("j", "j", "j", "j"), "Left Heavy, views.search selected on the hot path"),
    Shot("left-heavy-zoomed", ("j", "j", "j", "j", "j", "enter"), "Left Heavy zoomed into search.rank_results"),
    Shot("time-order", ("1", "j", "j"), "Time Order: requests one after another"),
    Shot("sandwich", ("j", "j", "j", "j", "j", "j", "j", "s"), "Sandwich of text.tokenize: callers and callees"),
    Shot("search", ("slash", "d", "b", "enter"), "Search 'db': matches highlighted, others dimmed"),
    Shot("help", ("question_mark",), "Help: every key"),
    Shot("export", ("e",), "Export dialog"),
    Shot("diff", ("j", "j", "j", "j"), "diff: Left Heavy coloured by the change since another run", compared=True),
    Shot("diff-sandwich", ("3", "o", "o"), "diff: Sandwich sorted by the change of total", compared=True),
    Shot("filters", ("j", "j", "j", "j", "f", "F"), "Focus on views.search, the filter screen open"),
)


NARROW = (80, 24)


async def take(shot: Shot, size: tuple[int, int], out: Path, suffix: str = "") -> Path:
    app = BpfscopeApp(load_profile(str(EXAMPLE)), baseline=other_run() if shot.compared else None)
    path = out / f"{shot.name}{suffix}.svg"
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await pilot.press(*shot.keys)
        await pilot.pause()
        for field in app.screen.query(Input):
            field.cursor_blink = False  # the same picture every run
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()
        app.save_screenshot(filename=path.name, path=str(out))
    return path


def rsvg_convert() -> str:
    found = shutil.which("rsvg-convert")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing librsvg2-bin for rsvg-convert", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "-q", "librsvg2-bin"], check=True,
                       stdout=subprocess.DEVNULL)
        found = shutil.which("rsvg-convert")
        if found:
            return found
    sys.exit("screenshots: rsvg-convert is missing; install librsvg2-bin (Debian/Ubuntu)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    parser.add_argument("--size", default="100x30", help="terminal size, COLSxROWS (default 100x30)")
    args = parser.parse_args(argv)
    cols, rows = (int(v) for v in args.size.lower().split("x"))
    os.environ.pop("NO_COLOR", None)
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    os.chdir("/")  # the export dialog names the current directory: the same one on every machine
    convert = rsvg_convert()
    sizes = [((cols, rows), "")]
    if (cols, rows) != NARROW:
        sizes.append((NARROW, "-80x24"))
    for shot in SHOTS:
        for size, suffix in sizes:
            svg = asyncio.run(take(shot, size, out, suffix))
            png = svg.with_suffix(".png")
            subprocess.run([convert, "--zoom", "1", "-o", str(png), str(svg)], check=True)
            print(f"{svg.relative_to(ROOT) if svg.is_relative_to(ROOT) else svg}  {shot.caption} ({size[0]}x{size[1]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
