"""The format registry: every reader detects and loads its format, every writer's output is read
back by its own format's reader, and the CLI and the export dialog offer exactly what is registered."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from collectors.formats import detect, registry
from collectors.formats.detect import LoadError, load_profile, parse_profile
from collectors.formats.output import format_for_path, render
from collectors.formats.text import decode_text, gunzip_if_needed
from collectors.profile import ProfileGroup
from tests.speedscope_expected import PROFILES
from tui import cli
from tui.cli import convert, record

SAMPLES = {
    "speedscope JSON": "speedscope/0.6.0/two-sampled.speedscope.json",
    "Chrome/Node .cpuprofile": "node/10.11.0/example.cpuprofile",
    "Chrome trace events": "trace-event/simple.json",
    "folded stacks": "stackcollapse/simple.txt",
    "perf script": "linux-perf/simple.linux-perf.txt",
    "pprof": "pprof/simple.prof",
}
"""One fixture per reader, from the ones its own test file uses."""

# What users saw before the registry, for a format bpfscope does not know.
UNKNOWN_TEXT = "not a profile in any format bpfscope reads (tried {})"
UNKNOWN_JSON = "JSON that is not a profile bpfscope reads (tried {})"
UNKNOWN_BINARY = "binary data that is not a profile (tried {})"
UNKNOWN_SUFFIX = "cannot tell the output format from {!r}: name it {}, or pass --to"
UNKNOWN_TO = "{!r} is neither an output format ({}) nor a number of seconds"


def _input_for(reader: registry.Reader, data: bytes) -> Any:
    """What detection hands a reader of this kind."""
    data = gunzip_if_needed(data)
    if isinstance(reader, registry.BinaryReader):
        return data
    if isinstance(reader, registry.JsonReader):
        return json.loads(decode_text(data))
    return decode_text(data)


@contextlib.contextmanager
def _recorded_loads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The names of the readers detection loads with, in order."""
    used: list[str] = []
    for cls in (registry.BinaryReader, registry.JsonReader, registry.TextReader):
        original: Callable[..., ProfileGroup] = cls.load

        def load(self: registry.Reader, *args: Any, _original: Callable[..., ProfileGroup] = original) -> ProfileGroup:
            used.append(self.name)
            return _original(self, *args)

        monkeypatch.setattr(cls, "load", load)
    yield used


def _weights_by_stack(group: ProfileGroup) -> Counter[tuple[str, ...]]:
    """Every profile's weight per stack of frame names, all profiles together."""
    out: Counter[tuple[str, ...]] = Counter()
    for p in group.profiles:
        names = [f.name for f in p.frames]
        for stack, weight in p.iter_samples():
            out[tuple(names[i] for i in stack)] += weight
    return out


def _without(names: tuple[str, ...], name: str) -> str:
    return ", ".join(n for n in names if n != name)


def test_every_reader_has_a_sample() -> None:
    """The samples below cover the registry exactly (a new reader needs one here)."""
    assert set(SAMPLES) == set(registry.reader_names())


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_reader_sniffs_and_detection_picks_it(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader sniffs its sample, and load_profile loads the sample with that reader (and no other)."""
    (reader,) = [r for r in registry.READERS if r.name == name]
    path = PROFILES / SAMPLES[name]
    assert reader.sniff(_input_for(reader, path.read_bytes()))
    with _recorded_loads(monkeypatch) as used:
        group = load_profile(path)
    assert used == [name]
    assert any(p.sample_count for p in group.profiles)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_reader_loads_what_detection_loads(name: str) -> None:
    """The reader called directly gives the profiles detection gives."""
    (reader,) = [r for r in registry.READERS if r.name == name]
    path = PROFILES / SAMPLES[name]
    data = _input_for(reader, path.read_bytes())
    direct = reader.load(data, path.name) if not isinstance(reader, registry.TextReader) else \
        reader.load(data, path.name, None)
    detected = load_profile(path)
    assert [p.name for p in direct.profiles if p.sample_count] == [p.name for p in detected.profiles]
    assert _weights_by_stack(direct) == _weights_by_stack(detected)


def test_text_readers_are_tried_lenient_last_but_named_in_registry_order() -> None:
    """perf script is tried before folded stacks (whose sniff takes any `x 3` line), while error
    messages keep naming formats in the registry's order."""
    assert [r.name for r in registry.text_readers()] == ["perf script", "folded stacks"]
    assert registry.reader_names() == ("speedscope JSON", "Chrome/Node .cpuprofile", "Chrome trace events",
                                       "folded stacks", "perf script", "pprof")


def _writer_sample() -> ProfileGroup:
    return load_profile(PROFILES / "stackcollapse/simple.txt")


@pytest.mark.parametrize("name", registry.writer_names())
def test_writer_output_is_read_back_by_its_own_reader(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a writer writes is detected as its own format and gives back the same weighted stacks."""
    writer = registry.find_writer(name)
    assert isinstance(writer, registry.ModuleWriter)
    (own_reader,) = [r for r in registry.READERS if r.module == writer.module]
    group = _writer_sample()
    buf = io.BytesIO()
    writer.write(group, buf)
    with _recorded_loads(monkeypatch) as used:
        again = parse_profile(buf.getvalue(), f"again{writer.suffixes[0]}")
    assert used == [own_reader.name]
    assert _weights_by_stack(again) == _weights_by_stack(group)


@pytest.mark.parametrize("name", registry.writer_names())
def test_every_suffix_of_a_writer_chooses_it(name: str) -> None:
    """Each registered suffix picks its writer, in any case, and `--to` takes the name."""
    writer = registry.find_writer(name)
    assert writer is not None
    for suffix in writer.suffixes:
        assert format_for_path(f"out{suffix}") == name
        assert format_for_path(f"OUT{suffix.upper()}") == name
    assert format_for_path("out.anything", name) == name


def test_stdout_gets_the_first_writer() -> None:
    assert format_for_path("-") == registry.WRITERS[0].name == "speedscope"


def test_no_known_suffix_ends_another() -> None:
    """The export dialog strips known suffixes in any order; that is only safe if none ends another."""
    known = registry.known_suffixes()
    assert not [(a, b) for a in known for b in known if a != b and a.endswith(b)]
    assert {".gz", ".json", ".speedscope", ".folded", ".txt", ".collapsed", ".perf", ".cpuprofile", ".pb", ".pprof",
            ".trace"} <= known


def test_importing_detection_and_output_loads_no_format_module() -> None:
    """Format modules (pprof brings protobuf) are imported only when they sniff, read or write."""
    code = ("import sys\nimport collectors.formats.detect, collectors.formats.output, tui.cli\n"
            "print(sorted(m for m in sys.modules if m.startswith(('collectors.formats.', 'google'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parents[3])
    loaded = set(eval(done.stdout))  # a printed list of names
    assert loaded == {"collectors.formats.detect", "collectors.formats.errors", "collectors.formats.output",
                      "collectors.formats.registry", "collectors.formats.text"}


# --- what the CLI and the export dialog offer ----------------------------------------------------


@dataclass(frozen=True)
class FakeWriter:
    """A writer as a new format module would register it."""

    name: str = "fake"
    label: str = "fake lines"
    suffixes: tuple[str, ...] = (".fake", ".fk")
    in_export_dialog: bool = True

    def write(self, group: ProfileGroup, out: BinaryIO) -> None:
        out.write(f"{group.name}: {sum(p.sample_count for p in group.profiles)} samples\n".encode())


@pytest.fixture
def fake_writer(monkeypatch: pytest.MonkeyPatch) -> FakeWriter:
    fake = FakeWriter()
    monkeypatch.setattr(registry, "WRITERS", (*registry.WRITERS, fake))
    return fake


def _to_help() -> str:
    (to,) = [a for a in convert.parser()._actions if "--to" in a.option_strings]
    return to.help or ""


def test_cli_to_takes_the_registered_writers() -> None:
    """convert's `--to` takes every writer's name and nothing else that is not a number."""
    for name in registry.writer_names():
        assert convert.format_or_seconds(name) == name
    with pytest.raises(argparse.ArgumentTypeError, match="nope"):
        convert.format_or_seconds("nope")
    assert f"({registry.one_of(registry.writer_names())})" in _to_help()


def test_a_registered_writer_shows_up_in_the_cli(fake_writer: FakeWriter, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """One registry line: `--to fake` and `.fake` work, and the help names it."""
    assert convert.format_or_seconds("fake") == "fake"
    assert "speedscope, folded, pprof or fake" in _to_help()
    assert "[--to speedscope|folded|pprof|fake]" in cli.parser().epilog  # type: ignore[operator]
    src = str(PROFILES / "stackcollapse/simple.txt")
    assert cli.main(["convert", src, "-o", str(tmp_path / "a.fake")]) == 0
    assert cli.main(["convert", src, "-o", str(tmp_path / "b.out"), "--to", "fake"]) == 0
    samples = sum(p.sample_count for p in load_profile(src).profiles)
    assert (tmp_path / "a.fake").read_text() == (tmp_path / "b.out").read_text() == f"simple.txt: {samples} samples\n"


def _record_description() -> str:
    return " ".join((record.parser().description or "").split())


def test_record_help_names_every_registered_writer(fake_writer: FakeWriter) -> None:
    """`record --help` says which formats OUTPUT's suffix picks from the registry: pprof too, and a
    new writer without another edit."""
    assert "one profile per thread (speedscope, folded, pprof or fake, by OUTPUT's suffix)." in _record_description()


def test_record_help_names_the_writers_it_has(monkeypatch: pytest.MonkeyPatch) -> None:
    """The full registry: speedscope, folded or pprof; without pprof, only the two left."""
    assert "one profile per thread (speedscope, folded or pprof, by OUTPUT's suffix)." in _record_description()
    monkeypatch.setattr(registry, "WRITERS", tuple(w for w in registry.WRITERS if w.name != "pprof"))
    assert "one profile per thread (speedscope or folded, by OUTPUT's suffix)." in _record_description()


def test_a_writer_left_out_of_the_registry_is_unknown(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Without pprof, `.pb.gz` and `--to pprof` fail with the messages any unknown format gets."""
    monkeypatch.setattr(registry, "WRITERS", tuple(w for w in registry.WRITERS if w.name != "pprof"))
    out = str(tmp_path / "x.pb.gz")
    src = str(PROFILES / "stackcollapse/simple.txt")
    assert cli.main(["convert", src, "-o", out]) == 2
    assert capsys.readouterr().err == "bpfscope: " + UNKNOWN_SUFFIX.format(out, ".speedscope.json or .folded") + "\n"
    with pytest.raises(SystemExit):
        cli.main(["convert", src, "-o", out, "--to", "pprof"])
    assert capsys.readouterr().err.endswith(UNKNOWN_TO.format("pprof", "speedscope, folded") + "\n")
    with pytest.raises(Exception, match="unknown output format 'pprof'"):
        render(_writer_sample(), "pprof", io.BytesIO())


def test_the_unknown_suffix_message_is_unchanged() -> None:
    """The full registry names the suffixes the message always named."""
    with pytest.raises(Exception) as e:
        format_for_path("x.unknown")
    assert str(e.value) == UNKNOWN_SUFFIX.format("x.unknown", ".speedscope.json, .folded or .pb.gz")


@pytest.mark.parametrize(("name", "template"), [("folded stacks", UNKNOWN_TEXT), ("speedscope JSON", UNKNOWN_JSON),
                                                ("pprof", UNKNOWN_BINARY)])
def test_a_reader_left_out_of_the_registry_makes_its_format_unknown(name: str, template: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Its files then get the message any unknown file of that kind gets, naming the formats left."""
    all_names = registry.reader_names()
    json_names = tuple(r.name for r in registry.json_readers())
    monkeypatch.setattr(registry, "READERS", tuple(r for r in registry.READERS if r.name != name))
    path = PROFILES / SAMPLES[name]
    tried = _without(json_names if template is UNKNOWN_JSON else all_names, name)
    with pytest.raises(LoadError) as e:
        load_profile(path)
    assert str(e.value) == f"{path}: {template.format(tried)}"


def test_unknown_files_still_name_every_format(tmp_path: Path) -> None:
    """With the full registry, the messages list all six formats, in the order they always had."""
    text = tmp_path / "t.txt"
    text.write_text("hello there\nnot a profile\n")
    with pytest.raises(LoadError, match=r"\(tried speedscope JSON, Chrome/Node \.cpuprofile, Chrome trace events, "
                                        r"folded stacks, perf script, pprof\)$"):
        detect.load_profile(text)


def test_export_dialog_offers_the_registry_writers() -> None:
    """The dialog's choices are the writers registered for it, first one selected."""
    from tui.screens.export import ExportDialog

    dialog = ExportDialog("p.folded", lambda path, fmt: None)
    assert [w.name for w in dialog.writers] == [w.name for w in registry.WRITERS if w.in_export_dialog]
    assert [w.name for w in dialog.writers] == ["speedscope", "folded", "pprof"]
    assert dialog.fmt == "speedscope"


def test_a_registered_writer_shows_up_in_the_export_dialog(fake_writer: FakeWriter) -> None:
    """One registry line: the dialog shows a radio button for it and names the file with its suffix
    (under asyncio.run: the Pilot plugin hook lives in tests/test_tui)."""
    from textual.app import App
    from textual.widgets import Input, RadioButton

    from tui.screens.export import ExportDialog

    class Host(App[None]):
        def on_mount(self) -> None:
            self.push_screen(ExportDialog("capture.folded", lambda path, fmt: None))

    async def run() -> None:
        async with Host().run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            dialog = pilot.app.screen
            assert isinstance(dialog, ExportDialog)
            assert [str(b.id) for b in dialog.query(RadioButton)] == ["format-speedscope", "format-folded",
                                                                     "format-pprof", "format-fake"]
            assert dialog.query_one("#export-path", Input).value == "capture.speedscope.json"
            dialog.query_one("#format-fake", RadioButton).value = True
            await pilot.pause()
            assert dialog.fmt == "fake"
            assert dialog.query_one("#export-path", Input).value == "capture.fake"

    asyncio.run(run())
