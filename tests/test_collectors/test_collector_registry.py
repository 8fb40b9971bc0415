"""The collector registry (`collectors.live.choose.COLLECTORS`): what `--collector` offers, and
that choosing a collector imports none until one is made. Nothing here samples or needs root."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from collectors.live import choose
from collectors.live.base import Collector, CollectorError, CommandIO, Target
from tui import cli
from tui.cli import record

ROOT = Path(__file__).resolve().parents[2]


class FakeCollector(Collector):
    """A collector as a new module would provide it: it is built, never started here."""

    def start(self) -> None:
        raise AssertionError("not started in these tests")

    def stop(self) -> None:
        pass


def _fake(target: Target, frequency: int, io: CommandIO | None, off_cpu: bool) -> Collector:
    return FakeCollector(target, frequency, io)


def _collector_choices(parser: argparse.ArgumentParser) -> list[str]:
    (action,) = [a for a in parser._actions if "--collector" in a.option_strings]
    return list(action.choices or ())


def test_the_cli_offers_the_registered_collectors() -> None:
    """`bpfscope --collector` and `bpfscope record --collector` take exactly the registered names."""
    assert choose.collector_names() == ("bcc", "perf")
    assert _collector_choices(cli.parser()) == _collector_choices(record.parser()) == ["bcc", "perf"]


def test_a_registered_collector_is_offered_and_built(monkeypatch: pytest.MonkeyPatch) -> None:
    """One registry line: the CLI offers the new collector and make_collector builds it."""
    monkeypatch.setattr(choose, "COLLECTORS", (*choose.COLLECTORS, choose.CollectorEntry("fake", _fake, off_cpu=False)))
    assert _collector_choices(cli.parser()) == _collector_choices(record.parser()) == ["bcc", "perf", "fake"]
    assert "[--collector bcc|perf|fake]" in record.parser().format_usage()
    made = choose.make_collector("fake", Target.for_pid(os.getpid()), 99)
    assert isinstance(made, FakeCollector)
    assert made.frequency == 99


def test_an_unknown_collector_is_named_with_the_choices() -> None:
    with pytest.raises(CollectorError, match=r"^unknown collector 'nope' \(choose bcc or perf\)$"):
        choose.make_collector("nope", Target.for_pid(os.getpid()))


def test_off_cpu_is_refused_by_a_collector_without_it() -> None:
    with pytest.raises(CollectorError, match="drop --collector perf, or drop --off-cpu"):
        choose.make_collector("perf", Target.for_pid(os.getpid()), off_cpu=True)


def test_importing_choose_imports_no_collector() -> None:
    """The CLI imports choose for its choices: that must not load bcc, perf or their unwinders."""
    code = ("import sys\nimport collectors.live.choose, tui.cli\n"
            "print(sorted(m for m in sys.modules if m.startswith(('bcc', 'elftools', 'collectors.live.'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    loaded = set(eval(done.stdout))  # a printed list of names
    assert "collectors.live.choose" in loaded
    heavy = {m for m in loaded if m.split(".")[0] in ("bcc", "elftools")
             or m.startswith(("collectors.live.bcc_collector", "collectors.live.perf_collector",
                              "collectors.live.unwind", "collectors.live.symbols", "collectors.live.python"))}
    assert not heavy
