"""Every file format bpfscope reads or writes, registered here and nowhere else.

A new format is one module (its reader and/or writer functions, in the shape the Protocols
below give), one line in `READERS` and/or `WRITERS`, and its tests. Detection (`detect.py`),
writing (`output.py`), the CLI's `--to` and the TUI's export dialog all read these tuples.

Entries name their module rather than import it: a format's module is imported the first time
it sniffs, reads or writes, so the CLI starts without protobuf and the other parsers.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Protocol, cast

from collectors.profile import ProfileGroup

TextProgress = Callable[[int], None]
"""progress(characters done) while a text reader reads."""


class BinaryFormat(Protocol):
    """A module reading a binary format from its (gunzipped) bytes."""

    def sniff(self, data: bytes, /) -> bool: ...
    def read_bytes(self, data: bytes, name: str, /) -> ProfileGroup: ...


class JsonFormat(Protocol):
    """A module reading a JSON format from the parsed document."""

    def sniff_json(self, obj: object, /) -> bool: ...
    def read_json(self, obj: object, name: str, /) -> ProfileGroup: ...


class TextFormat(Protocol):
    """A module reading a text format from the decoded text."""

    def sniff(self, text: str, /) -> bool: ...
    def read(self, text: str, name: str, progress: TextProgress | None, /) -> ProfileGroup: ...


class WritableFormat(Protocol):
    """A module writing a format: the whole file, to a binary stream."""

    def save(self, group: ProfileGroup, out: BinaryIO, /) -> None: ...


def _module(path: str) -> object:
    """The format module at `path`, imported now. Callers cast it to the Protocol it provides;
    the registry's tests check every entry by reading and writing through it."""
    return importlib.import_module(path)


@dataclass(frozen=True)
class BinaryReader:
    """A reader of bytes that are not text (sniffed only when the data looks binary, or starts with a newline)."""

    name: str
    """As error messages name it ("tried ..., pprof")."""
    module: str
    suffixes: tuple[str, ...] = ()
    """The names its files usually have: only a hint (detection reads the content)."""

    def sniff(self, data: bytes) -> bool:
        return cast(BinaryFormat, _module(self.module)).sniff(data)

    def load(self, data: bytes, name: str) -> ProfileGroup:
        return cast(BinaryFormat, _module(self.module)).read_bytes(data, name)


@dataclass(frozen=True)
class JsonReader:
    """A reader of a JSON document, sniffed on the parsed value in registry order."""

    name: str
    module: str
    suffixes: tuple[str, ...] = ()

    def sniff(self, obj: object) -> bool:
        return cast(JsonFormat, _module(self.module)).sniff_json(obj)

    def load(self, obj: object, name: str) -> ProfileGroup:
        return cast(JsonFormat, _module(self.module)).read_json(obj, name)


@dataclass(frozen=True)
class TextReader:
    """A reader of text; `lenient`: it sniffs loosely, so it is tried after the other text readers."""

    name: str
    module: str
    suffixes: tuple[str, ...] = ()
    lenient: bool = False

    def sniff(self, text: str) -> bool:
        return cast(TextFormat, _module(self.module)).sniff(text)

    def load(self, text: str, name: str, progress: TextProgress | None = None) -> ProfileGroup:
        return cast(TextFormat, _module(self.module)).read(text, name, progress)


Reader = BinaryReader | JsonReader | TextReader


class Writer(Protocol):
    """What the CLI and the export dialog need of a writer."""

    @property
    def name(self) -> str:
        """What `--to` takes."""
        ...

    @property
    def label(self) -> str:
        """What a person reads: "speedscope JSON"."""
        ...

    @property
    def suffixes(self) -> tuple[str, ...]:
        """File names ending in any of these get this format; the first is the one to suggest."""
        ...

    @property
    def in_export_dialog(self) -> bool: ...

    def write(self, group: ProfileGroup, out: BinaryIO) -> None: ...


@dataclass(frozen=True)
class ModuleWriter:
    name: str
    label: str
    suffixes: tuple[str, ...]
    module: str
    in_export_dialog: bool = True

    def write(self, group: ProfileGroup, out: BinaryIO) -> None:
        cast(WritableFormat, _module(self.module)).save(group, out)


# Readers in the order error messages name them: JSON, then text, then binary formats. Within
# a kind they are tried in this order, lenient text readers last.
READERS: tuple[Reader, ...] = (
    JsonReader("speedscope JSON", "collectors.formats.speedscope", (".speedscope.json", ".json")),
    JsonReader("Chrome/Node .cpuprofile", "collectors.formats.chrome", (".cpuprofile", ".json")),
    JsonReader("Chrome trace events", "collectors.formats.trace_event", (".trace", ".json")),
    TextReader("folded stacks", "collectors.formats.folded", (".folded", ".txt", ".collapsed"), lenient=True),
    TextReader("perf script", "collectors.formats.perf_script", (".perf", ".txt")),
    BinaryReader("pprof", "collectors.formats.pprof", (".pb.gz", ".pprof", ".pb")),
)

# The first writer is the default: for `-o -` and the export dialog's first choice.
WRITERS: tuple[Writer, ...] = (
    ModuleWriter("speedscope", "speedscope JSON", (".speedscope.json", ".json"), "collectors.formats.speedscope"),
    ModuleWriter("folded", "folded stacks", (".folded", ".txt", ".collapsed"), "collectors.formats.folded"),
    ModuleWriter("pprof", "pprof", (".pb.gz", ".pprof", ".pb"), "collectors.formats.pprof"),
)


def reader_names() -> tuple[str, ...]:
    return tuple(r.name for r in READERS)


def binary_readers() -> list[BinaryReader]:
    return [r for r in READERS if isinstance(r, BinaryReader)]


def json_readers() -> list[JsonReader]:
    return [r for r in READERS if isinstance(r, JsonReader)]


def text_readers() -> list[TextReader]:
    """In the order they are tried: the lenient ones last."""
    return sorted((r for r in READERS if isinstance(r, TextReader)), key=lambda r: r.lenient)


def writer_names() -> tuple[str, ...]:
    return tuple(w.name for w in WRITERS)


def find_writer(name: str) -> Writer | None:
    return next((w for w in WRITERS if w.name == name), None)


def writer_for_suffix(path: str) -> Writer | None:
    """The writer whose suffixes end `path` (case-insensitive), if any."""
    lower = path.lower()
    return next((w for w in WRITERS if lower.endswith(w.suffixes)), None)


def default_writer() -> Writer:
    return WRITERS[0]


def export_writers() -> list[Writer]:
    """The writers the TUI's export dialog offers, in registry order."""
    return [w for w in WRITERS if w.in_export_dialog]


def known_suffixes() -> set[str]:
    """Every dot-separated piece of every registered file suffix (`.pb.gz` gives `.pb` and `.gz`)."""
    suffixes = {s for entry in (*READERS, *WRITERS) for s in entry.suffixes}
    return {"." + piece for s in suffixes for piece in s.split(".") if piece}


def one_of(words: Sequence[str]) -> str:
    """`a, b or c`."""
    return words[0] if len(words) < 2 else f"{', '.join(words[:-1])} or {words[-1]}"
