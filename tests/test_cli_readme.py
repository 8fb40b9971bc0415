"""What README.md promises about the command line, each held to a test run as users run it (a subprocess):
pprof by suffix and `--to pprof` (read back by Go's pprof), `--collapse` and repeated `--hide`, `-n 0`, an
unreadable input file, and folded input as `profile-bpfcc -f` and py-spy `--format raw` write it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.speedscope_expected import PROFILES
from tests.test_cli import ROOT, assert_one_line_error, ok
from tests.test_collectors.formats.test_pprof_go import go_top

SIMPLE = PROFILES / "stackcollapse" / "simple.txt"
PERF = PROFILES / "linux-perf" / "simple-with-header.linux-perf.txt"


def folded(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def folded_counts(path: Path) -> list[tuple[list[str], int]]:
    """A folded file read by hand (the independent oracle): each line's frames and count."""
    out = []
    for line in path.read_text().splitlines():
        if line.strip():
            stack, _, count = line.rpartition(" ")
            out.append((stack.split(";"), int(count)))
    return out


@pytest.mark.parametrize("how", [["-o", "out.pb.gz"], ["-o", "out.pprof"], ["-o", "out.bin", "--to", "pprof"]])
def test_convert_writes_pprof_by_suffix_or_to(how: list[str], tmp_path: Path) -> None:
    """`.pb.gz`, `.pprof` or `--to pprof` write pprof: Go's pprof reads it with `top`'s self and total."""
    args = [str(tmp_path / a) if a.startswith("out.") else a for a in how]
    ok("convert", PERF, *args)
    theirs = go_top(Path(args[1]), tmp_path)
    ours = json.loads(ok("top", PERF, "--json", "-n", "0"))
    assert len(ours) == 7
    assert theirs == {r["name"].strip(): (r["self"], r["total"]) for r in ours}


def test_collapse_and_repeated_hide_on_the_command_line(tmp_path: Path) -> None:
    """`--collapse PAT` merges each run of matching frames into one frame named PAT; `--hide` can be given
    twice, each hidden frame's time going to its caller."""
    path = folded(tmp_path, "p.folded",
                  "main;libz_inflate;libz_window;work 4\nmain;libz_inflate 2\nmain;log;fmt 3\nmain;parse 1\n")
    collapsed = {x["name"]: (x["self"], x["total"])
                 for x in json.loads(ok("top", path, "--json", "-n", "0", "--collapse", "libz_"))}
    assert collapsed == {"main": (0, 10), "libz_": (2, 6), "work": (4, 4), "log": (0, 3), "fmt": (3, 3),
                         "parse": (1, 1)}
    hidden = {x["name"]: (x["self"], x["total"])
              for x in json.loads(ok("top", path, "--json", "-n", "0", "--hide", "fmt", "--hide", "parse"))}
    assert hidden == {"main": (1, 10), "libz_inflate": (2, 6), "libz_window": (0, 4), "work": (4, 4),
                      "log": (3, 3)}


def test_n_0_lists_every_function(tmp_path: Path) -> None:
    """`top` lists 20 functions by default and every one with `-n 0`."""
    path = folded(tmp_path, "many.folded", "".join(f"main;f{i:02d} {i + 1}\n" for i in range(30)))
    assert len(json.loads(ok("top", path, "--json"))) == 20
    every = json.loads(ok("top", path, "--json", "-n", "0"))
    assert [x["name"] for x in every] == [f"f{i:02d}" for i in range(29, -1, -1)] + ["main"]


@pytest.mark.live  # root: it drops to an unprivileged user with setpriv
def test_an_unreadable_input_file_is_one_line_naming_it(tmp_path: Path) -> None:
    """A file the user may not read (mode 000, run as an unprivileged user): exit 2, one line naming it."""
    directory = Path(tempfile_dir())
    try:
        secret = directory / "secret.folded"
        secret.write_text("a;b 1\n")
        secret.chmod(0)
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            sys.executable, "-m", "tui.cli", "top", str(secret)],
                           capture_output=True, text=True, timeout=120, cwd=directory,
                           env={"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), "HOME": str(directory)})
        assert_one_line_error(r, str(secret), "ermission")
    finally:
        shutil.rmtree(directory)


def tempfile_dir() -> str:
    """A directory an unprivileged user can enter (pytest's tmp_path is root's, mode 0700)."""
    import tempfile

    path = tempfile.mkdtemp(prefix="bpfscope-unreadable-")
    os.chmod(path, 0o755)
    return path


BUSY_C = r"""
#include <time.h>
static volatile unsigned long sink;
__attribute__((noinline)) void readme_hot_function(void) {
    for (unsigned long i = 0; i < 100000; i++) sink += i;
}
int main(void) {
    time_t end = time(0) + 60;
    while (time(0) < end) readme_hot_function();
    return 0;
}
"""


@pytest.mark.live
def test_folded_from_profile_bpfcc_reads_to_its_own_counts(tmp_path: Path) -> None:
    """`profile-bpfcc -f` (bcc's profiler, Debian's bpfcc-tools) writes folded stacks: ours reads every
    line, to the same total and the same count for its hot function as the file says."""
    from tests.test_collectors.live.workloads import build

    tool = shutil.which("profile-bpfcc")
    assert tool is not None, "profile-bpfcc is missing: install bpfcc-tools (scripts/setup-system.sh does)"
    exe = build(tmp_path, "readme_busy", BUSY_C)
    busy = subprocess.Popen([str(exe)])
    out = tmp_path / "profile.folded"
    try:
        with out.open("w") as f:
            # -p: a system-wide run symbolizes every process on the machine, which can take minutes.
            subprocess.run([tool, "-f", "-F", "49", "-p", str(busy.pid), "2"], stdout=f, stderr=subprocess.DEVNULL,
                           check=True, timeout=300)
    finally:
        busy.kill()
        busy.wait()
    lines = folded_counts(out)
    hot = sum(n for frames, n in lines if frames[-1] == "readme_hot_function")
    assert hot > 0, "profile-bpfcc saw no sample of the busy program"
    rows = json.loads(ok("top", out, "--json", "-n", "0"))
    assert max(r["total"] for r in rows) <= sum(n for _, n in lines)
    assert sum(r["self"] for r in rows) == sum(n for _, n in lines)
    (row,) = [r for r in rows if r["name"] == "readme_hot_function"]
    assert row["self"] == hot


@pytest.mark.live
def test_folded_from_py_spy_raw_reads_to_its_own_counts(tmp_path: Path) -> None:
    """py-spy `record --format raw` writes folded stacks with `name (file:line)` frames: ours reads every
    sample, and the hot function's count is the file's."""
    spy = Path(sys.executable).parent / "py-spy"
    script = tmp_path / "spin.py"
    script.write_text("def readme_hot():\n    s = 0\n    for i in range(10**9):\n        s += i\n\n\nreadme_hot()\n")
    out = tmp_path / "spy.txt"
    subprocess.run([str(spy), "record", "--format", "raw", "-r", "97", "-d", "2", "-o", str(out), "--",
                    sys.executable, str(script)], capture_output=True, check=True, timeout=120)
    lines = folded_counts(out)
    hot = sum(n for frames, n in lines if frames[-1].startswith("readme_hot ("))
    assert hot > 0
    rows = json.loads(ok("top", out, "--json", "-n", "0"))
    assert sum(r["self"] for r in rows) == sum(n for _, n in lines)
    assert sum(r["self"] for r in rows if r["name"].startswith("readme_hot")) == hot


@pytest.mark.live
def test_record_writes_pprof_by_suffix(tmp_path: Path) -> None:
    """`record -o NAME.pb.gz` writes pprof: Go's pprof reads the capture, with the busy program's hot
    function and the same per-function totals `top` gives for the file."""
    from tests.test_collectors.live.workloads import build

    exe = build(tmp_path, "readme_busy", BUSY_C)
    out = tmp_path / "capture.pb.gz"
    r = run_record(out, exe)
    assert r.returncode == 0, r.stderr
    theirs = go_top(out, tmp_path)
    assert theirs["readme_hot_function"][0] > 0
    ours = json.loads(ok("top", out, "--json", "-n", "0"))
    assert theirs == {r["name"].strip(): (r["self"], r["total"]) for r in ours}  # counts of samples


def run_record(out: Path, exe: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui.cli", "record", "-F", "199", "-d", "2", "-o", str(out), "--",
                           str(exe)], capture_output=True, text=True, timeout=180, cwd=out.parent,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
