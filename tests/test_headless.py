"""The headless core never imports the UI, so `convert`/`top`/`record` run without Textual."""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import collectors
from tests.speedscope_expected import PROFILES

ROOT = Path(__file__).resolve().parents[1]


def test_collectors_import_no_textual() -> None:
    """Importing every module under collectors/ pulls in neither textual nor tui."""
    modules = [m.name for m in pkgutil.walk_packages(collectors.__path__, "collectors.")]
    assert "collectors.formats.detect" in modules
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n"
        "    try: importlib.import_module(m)\n"
        "    except ImportError as e:\n"
        "        if 'bcc' not in str(e): raise\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'tui'))\n"
        "print(','.join(bad))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ""


def test_headless_commands_do_not_load_textual(tmp_path: Path) -> None:
    """`bpfscope top` and `convert` run to the end without importing Textual (they may run where no UI can)."""
    simple = PROFILES / "stackcollapse" / "simple.txt"
    out = tmp_path / "out.folded"
    code = (
        "import sys, json, tui.cli\n"
        f"assert tui.cli.main(['top', {str(simple)!r}, '--json']) == 0\n"
        f"assert tui.cli.main(['convert', {str(simple)!r}, '-o', {str(out)!r}]) == 0\n"
        "print('textual' in sys.modules, file=sys.stderr)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip() == "False", r.stderr
    assert [row["name"] for row in json.loads(r.stdout)] == ["b", "c", "d", "a"]
    assert out.read_text().splitlines()[0] == "a;b;c 2"
