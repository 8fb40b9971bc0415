"""Plain-text tables for the headless commands (`top`, `diff`): one line per function.

Like `perf report --stdio` and `py-spy top`, a row never wraps: the numbers keep their
width, the function name gets the room left after them (whole when it fits, else cut at
the end with an ellipsis), and the file is shortened from the left (`…/libc.so.6`), since
the end of a path is what tells files apart. `width=None` (`--wide`) cuts nothing.
Piped output is plain ASCII from our side (no box drawing, `...` for the ellipsis), so it
survives `grep`, `less` and e-mail. Textual is not imported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size

from collectors.safe_text import printable

GAP = "  "
"""Between the numbers and the name, and the name and the file; numbers are one space apart."""
FILE_MIN = 16
"""The room the file column asks for when names are long (`…/libc.so.6` fits), or a third
of the room after the numbers when that is more."""
FILE_LEAST = 8
"""Below this, the file column is left out (the name keeps the room)."""
NAME_FIRST = 24
"""The room a name gets before the file column gets any."""


@dataclass(frozen=True)
class TableRow:
    numbers: Sequence[str]
    name: str
    file: str


def shorten_end(text: str, width: int, ellipsis: str) -> str:
    """`text` in at most `width` cells, cut at the end (`msort_with_tmp…`)."""
    if cell_len(text) <= width:
        return text
    if width <= cell_len(ellipsis):
        return set_cell_size(text, width)
    return set_cell_size(text, width - cell_len(ellipsis)).rstrip() + ellipsis


def shorten_path(path: str, width: int, ellipsis: str) -> str:
    """`path` in at most `width` cells, cut from the left at a `/` when one is near
    (`…/libc.so.6`), else mid-component (`…bc.so.6`)."""
    if cell_len(path) <= width:
        return path
    room = width - cell_len(ellipsis)
    if room <= 0:
        return set_cell_size(path, width)
    tail = path
    while tail and cell_len(tail) > room:
        tail = tail[1:]
    slash = tail.find("/")
    if 0 < slash < len(tail) - 1:
        tail = tail[slash:]
    return ellipsis + tail


def render_table(title: str, headers: Sequence[str], rows: Sequence[TableRow], width: int | None,
                 ascii_only: bool, super_headers: Sequence[tuple[str, int]] = ()) -> str:
    """The table as text, every line at most `width` cells (None: no limit).

    `headers` name the number columns, then the function and the file; `super_headers`
    are (label, how many number columns it spans) for a first header line.
    """
    ellipsis = "..." if ascii_only else "…"
    n_numbers = len(headers) - 2
    num_w = [max([cell_len(headers[i])] + [cell_len(r.numbers[i]) for r in rows]) for i in range(n_numbers)]
    names = [printable(r.name) for r in rows]
    files = [printable(r.file) for r in rows]
    longest_name = max([cell_len(headers[-2])] + [cell_len(n) for n in names])
    has_files = any(files)
    longest_file = max([cell_len(headers[-1])] + [cell_len(f) for f in files]) if has_files else 0
    numbers_w = sum(num_w) + (n_numbers - 1) + len(GAP)
    if width is None:
        name_w, file_w = longest_name, longest_file
    else:
        avail = max(NAME_FIRST, width - numbers_w)
        name_w = min(longest_name, avail)
        file_w = 0
        if has_files:
            file_need = min(longest_file, max(FILE_MIN, avail // 3))
            name_w = min(longest_name, max(NAME_FIRST, avail - len(GAP) - file_need))
            file_w = min(longest_file, avail - name_w - len(GAP))
            if file_w < FILE_LEAST:  # too narrow to tell files apart: the name keeps the room
                name_w, file_w = min(longest_name, avail), 0

    def line(numbers: Sequence[str], name: str, file: str) -> str:
        cells = [" ".join(" " * (w - cell_len(n)) + n for n, w in zip(numbers, num_w, strict=True))]
        cells.append(set_cell_size(shorten_end(name, name_w, ellipsis), name_w) if file_w else
                     shorten_end(name, name_w, ellipsis))
        if file_w:
            cells.append(shorten_path(file, file_w, ellipsis))
        return GAP.join(cells).rstrip()

    out: list[str] = []
    if title:
        out.append(shorten_path(printable(title), width, ellipsis) if width is not None else printable(title))
    if super_headers:
        parts: list[str] = []
        i = 0
        for label, span in super_headers:
            w = sum(num_w[i:i + span]) + span - 1
            parts.append(label.center(w))
            i += span
        out.append(" ".join(parts).rstrip())
    out.append(line(headers[:n_numbers], headers[-2], headers[-1]))
    out.extend(line(r.numbers, name, file) for r, name, file in zip(rows, names, files, strict=True))
    return "\n".join(out) + "\n"
