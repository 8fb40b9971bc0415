"""`diff` across tools and builds: functions whose files differ are matched by name (when the
name is unique on both sides), and the user is told how many matched."""

from __future__ import annotations

import json
from pathlib import Path

from collectors.diff import PathDiff, match_functions
from collectors.formats import folded
from collectors.profile import Frame, ProfileGroup
from tests.test_cli import run


def perf_script(path: Path, binary: str, stacks: list[tuple[list[str], int]]) -> Path:
    """A `perf script` file: each stack (root first) `n` times, every frame in `binary`."""
    out, t = [], 1.0
    for stack, n in stacks:
        for _ in range(n):
            out.append(f"burn 7 {t:.6f}: 1000000 cpu-clock:\n")
            out.extend(f"\t{0x400 + i:x} {fn}+0x4 ({binary})\n" for i, fn in enumerate(reversed(stack)))
            out.append("\n")
            t += 0.01
    path.write_text("".join(out))
    return path


def test_bcc_folded_against_perf_script_of_the_same_program(tmp_path: Path) -> None:
    """bcc's folded stacks (no files) and perf script (the binary as file) name the same
    functions: they are matched by name, the shares compared, and stderr says how many."""
    base = tmp_path / "bcc.folded"
    base.write_text("main;inner 3\nmain;other 1\n")
    new = perf_script(tmp_path / "burn.perf", "/opt/x/burn", [(["main", "inner"], 1), (["main", "other"], 3)])
    r = run("diff", base, new, "--json")
    assert r.returncode == 0, r.stderr
    rows = {x["name"]: x for x in json.loads(r.stdout)}
    assert set(rows) == {"main", "inner", "other"}
    assert (rows["inner"]["total_pct_base"], rows["inner"]["total_pct_new"]) == (75.0, 25.0)
    assert rows["inner"]["file"] == "/opt/x/burn"
    assert rows["main"]["total_pct_delta"] == 0.0
    assert r.stderr.splitlines() == [
        f"bpfscope: 3 functions matched (3 by name alone: their files differ); 0 only in {base}, 0 only in {new}"]


def test_two_builds_differ_by_binary_path(tmp_path: Path) -> None:
    """`/opt/x/burn` and `burn_nofp`: the same functions in two binaries are one function each."""
    base = perf_script(tmp_path / "a.perf", "/opt/x/burn", [(["main", "inner"], 2), (["main", "other"], 2)])
    new = perf_script(tmp_path / "b.perf", "/home/u/burn_nofp", [(["main", "inner"], 3), (["main", "other"], 1)])
    rows = json.loads(run("diff", base, new, "--json").stdout)
    assert [(x["name"], x["total_pct_base"], x["total_pct_new"]) for x in rows] == [
        ("inner", 50.0, 75.0), ("other", 50.0, 25.0), ("main", 100.0, 100.0)]


def test_few_matches_warn(tmp_path: Path) -> None:
    """Two unrelated profiles: a warning says few functions match."""
    base = tmp_path / "a.folded"
    base.write_text("a;b;c;d 1\n")
    new = tmp_path / "b.folded"
    new.write_text("w;x;y;a 1\n")
    r = run("diff", base, new, "--table")
    assert r.returncode == 0
    assert r.stderr.splitlines()[1] == ("bpfscope: warning: only 1 of 4 functions match: "
                                        "are these profiles of the same program?")


def test_names_not_unique_are_not_guessed() -> None:
    """`<module>` of two files on one side is not matched with a third file's `<module>`; a name
    unique on both sides is, and exact (name, file) matches come first."""
    m = match_functions([("<module>", "a.py"), ("<module>", "b.py"), ("f", "a.py"), ("g", "x.py")],
                        [("<module>", "c.py"), ("f", "c.py"), ("g", "x.py"), ("schedule_[k]", None)])
    assert m.alias == {("f", "a.py"): ("f", "c.py")}
    assert m.exact == 1 and m.matched == 2
    assert match_functions([("schedule", "[kernel.kallsyms]")], [("schedule_[k]", None)]).matched == 1


def test_path_diff_matches_call_paths_across_binaries() -> None:
    """The TUI's colouring: a call path of NEW finds its BASE share through functions whose file
    differs (not `base 0.0 % → new 100 %` for every frame)."""
    base, new = ProfileGroup("base"), ProfileGroup("new")
    b = base.new_profile("b")
    bm, bi = (base.frames.intern(Frame(n, "/opt/x/burn")) for n in ("main", "inner"))
    b.add_sample([bm, bi], 1)
    b.add_sample([bm], 3)
    n = new.new_profile("n")
    nm, ni = (new.frames.intern(Frame(x, "burn_nofp")) for x in ("main", "inner"))
    n.add_sample([nm, ni], 2)
    n.add_sample([nm], 2)
    change = PathDiff(b, n).path_change([nm, ni])
    assert (change.base_pct, change.new_pct) == (25.0, 50.0)


def test_folded_kernel_annotation_matches_perf_kernel_frames() -> None:
    """bcc's `schedule_[k]` is perf's `schedule` in [kernel.kallsyms]."""
    group = folded.read("main;schedule_[k] 1\n")
    keys = [(f.name, f.file) for f in group.frames]
    assert match_functions(keys, [("main", "/bin/x"), ("schedule", "[kernel.kallsyms]")]).matched == 2
