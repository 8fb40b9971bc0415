"""Load a profile file in the real speedscope app (headless Chromium) and report what it showed.

Usage: ``python scripts/speedscope_load.py PROFILE``. Prints the page title and any error;
exits 0 when speedscope imported the profile, 1 when it refused it, 2 when the tools are missing.

How it works: speedscope's ``index.html#localProfilePath=FILE`` defines
``window.speedscope.loadFileFromBase64(name, base64)`` and then loads FILE as a ``<script>``;
speedscope's own command-line tool writes FILE as a one-line call of that function, and so do
we. Our wrapper also turns speedscope's ``alert()`` (used for "Unrecognized format!" and
"empty profile") and its "Failed to load format" console message into attributes on ``<html>``,
because an alert would block headless Chromium and neither shows in the page. Chromium runs
with ``--dump-dom`` under a virtual-time budget, so it prints the DOM once the import has
settled; the title is ``<profile group name> - speedscope`` on success, and the body says
"Something went wrong" when an importer threw.

Standard library only: the tests import this file by path.
"""

from __future__ import annotations

import base64
import contextlib
import html.parser
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SPEEDSCOPE_HTML = REPO / "build" / "node" / "node_modules" / "speedscope" / "dist" / "release" / "index.html"
CHROMIUM_NAMES = ("chromium-headless-shell", "chromium", "chromium-browser")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--allow-file-access-from-files",
    "--virtual-time-budget=10000",
    "--dump-dom",
)
ERROR_ATTR = "data-speedscope-load-error"
CRASH_TEXT = "Something went wrong"

# Runs inside the page before speedscope sees the file. %s are the JSON-quoted name and data.
WRAPPER_JS = """(function () {
  var root = document.documentElement;
  var CRASH = "%(crash)s";
  function note(text) {
    if (!root.hasAttribute("%(attr)s")) root.setAttribute("%(attr)s", String(text));
  }
  window.alert = function (message) { note(message); };
  var log = console.log;
  console.log = function (first, detail) {
    if (first === "Failed to load format") note(CRASH + ": " + String(detail));
    return log.apply(console, arguments);
  };
  speedscope.loadFileFromBase64(%(name)s, %(data)s);
})();
"""


class SpeedscopeUnavailable(RuntimeError):
    """Chromium or the speedscope npm package is not installed."""


@dataclass(frozen=True)
class SpeedscopeResult:
    """What speedscope showed: the page title, and why the import failed (None if it didn't)."""

    title: str
    error: str | None


def find_chromium() -> str:
    """The path of a headless-capable Chromium, or raise SpeedscopeUnavailable."""
    override = os.environ.get("BPFSCOPE_CHROMIUM")
    if override:
        return override
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise SpeedscopeUnavailable(
        "no Chromium found (looked for " + ", ".join(CHROMIUM_NAMES) + "): run `make setup`"
    )


def speedscope_html() -> Path:
    """speedscope's index.html from the npm package, or raise SpeedscopeUnavailable."""
    if not SPEEDSCOPE_HTML.is_file():
        raise SpeedscopeUnavailable(f"speedscope is not installed at {SPEEDSCOPE_HTML}: run `make setup`")
    return SPEEDSCOPE_HTML


def wrapper_js(name: str, data: bytes) -> str:
    """The script speedscope loads for ``localProfilePath``: a call handing it the file's bytes."""
    return WRAPPER_JS % {
        "attr": ERROR_ATTR,
        "crash": CRASH_TEXT,
        "name": json.dumps(name),
        "data": json.dumps(base64.b64encode(data).decode("ascii")),
    }


class _DomReader(html.parser.HTMLParser):
    """Collects the title, the error attribute on <html>, and the body's text from a DOM dump."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.note: str | None = None
        self.body_text: list[str] = []
        self._in_title = False
        self._in_body = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "html":
            for key, value in attrs:
                if key == ERROR_ATTR:
                    self.note = value or ""
        elif tag == "title":
            self._in_title = True
        elif tag == "body":
            self._in_body = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif self._in_body:
            self.body_text.append(data)


def read_dom(dom: str) -> SpeedscopeResult:
    """Turn Chromium's DOM dump of speedscope into a result."""
    reader = _DomReader()
    reader.feed(dom)
    reader.close()
    title = reader.title.strip()
    body = " ".join(reader.body_text)
    if reader.note is not None:
        return SpeedscopeResult(title, reader.note)
    if CRASH_TEXT in body:
        return SpeedscopeResult(title, CRASH_TEXT)
    if not title.endswith(" - speedscope"):
        return SpeedscopeResult(title, "speedscope showed no profile (the page title did not change)")
    return SpeedscopeResult(title, None)


def load_in_speedscope(path: Path, timeout: float = 60) -> SpeedscopeResult:
    """Open the profile at ``path`` in speedscope (headless Chromium) and report the outcome.

    Raises SpeedscopeUnavailable when Chromium or speedscope is missing, and RuntimeError when
    Chromium fails or takes longer than ``timeout`` seconds.
    """
    chromium = find_chromium()
    page = speedscope_html()
    data = Path(path).read_bytes()
    with tempfile.TemporaryDirectory(prefix="speedscope-load-") as tmp:
        script = Path(tmp) / "profile.js"
        script.write_text(wrapper_js(Path(path).name, data), encoding="utf-8")
        profile_dir = Path(tmp) / "chromium-profile"
        url = page.as_uri() + "#localProfilePath=" + urllib.parse.quote(str(script), safe="/")
        command = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile_dir}", url]
        dom = _run(command, timeout)
    return read_dom(dom)


def _run(command: list[str], timeout: float) -> str:
    """Run Chromium in its own process group, return its stdout, kill the whole group on timeout."""
    with subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    ) as process:
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise RuntimeError(f"Chromium did not finish within {timeout:g} s") from None
        finally:
            # Chromium's helper processes share its group; none should outlive it.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
    if process.returncode != 0:
        tail = err.decode("utf-8", "replace").strip().splitlines()[-5:]
        raise RuntimeError(f"Chromium exited with code {process.returncode}: " + " | ".join(tail))
    return out.decode("utf-8", "replace")


@dataclass(frozen=True)
class SandwichRow:
    """One row of speedscope's Sandwich table, as shown: total and self (``"5 (36%)"``), and the name."""

    total: str
    self: str
    name: str


class _TableReader(html.parser.HTMLParser):
    """Collects the text of each body row (``<tr>`` of ``<td>``) of the tables in a DOM dump."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None
        self._depth = 0  # <div>s inside the cell: the bar graphics, not text

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag == "td":
            self._cell = []
        elif tag == "div" and self._cell is not None:
            self._depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None
            self._depth = 0
        elif tag == "div" and self._cell is not None:
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._cell is not None and self._depth == 0:
            self._cell.append(data)


def sandwich_rows(path: Path, timeout: float = 60, attempts: int = 3) -> list[SandwichRow]:
    """Open ``path`` in speedscope's Sandwich view (its active profile) and return the table's rows.

    On a busy machine Chromium sometimes dumps the page before the table has drawn its first rows
    (it sizes itself from the layout, outside the virtual-time budget): an empty table is loaded
    again, up to ``attempts`` times, and then returned empty for the caller's assertion to fail.
    """
    rows: list[SandwichRow] = []
    for _ in range(attempts):
        rows = _sandwich_rows_once(path, timeout)
        if rows:
            break
    return rows


def _sandwich_rows_once(path: Path, timeout: float) -> list[SandwichRow]:
    """One load of ``path`` in the Sandwich view.

    The table draws only the rows in view: the window is tall enough for about a hundred rows (taller ones
    make headless Chromium draw nothing).
    """
    chromium = find_chromium()
    page = speedscope_html()
    data = Path(path).read_bytes()
    with tempfile.TemporaryDirectory(prefix="speedscope-load-") as tmp:
        script = Path(tmp) / "profile.js"
        script.write_text(wrapper_js(Path(path).name, data), encoding="utf-8")
        url = (page.as_uri() + "#localProfilePath=" + urllib.parse.quote(str(script), safe="/")
               + "&view=sandwich")
        command = [chromium, *CHROMIUM_FLAGS, "--window-size=1600,3000",
                   f"--user-data-dir={Path(tmp) / 'chromium-profile'}", url]
        dom = _run(command, timeout)
    result = read_dom(dom)
    if result.error is not None:
        raise RuntimeError(f"speedscope did not load {path}: {result.error}")
    reader = _TableReader()
    reader.feed(dom)
    reader.close()
    # The Sandwich rows read "value (share%)" in both number columns; a multi-profile file's
    # profile switcher (number, name, weight) is left out.
    return [SandwichRow(*cells) for cells in reader.rows
            if len(cells) == 3 and cells[0].endswith("%)") and cells[1].endswith("%)")]


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: speedscope_load.py PROFILE", file=sys.stderr)
        return 2
    try:
        result = load_in_speedscope(Path(argv[0]))
    except SpeedscopeUnavailable as exc:
        print(f"speedscope_load: {exc}", file=sys.stderr)
        return 2
    print(f"title: {result.title}")
    print(f"error: {result.error}")
    return 0 if result.error is None else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
