"""No shell ever sees a process name, command line or path: the source is scanned (ast) for
`shell=True`, `os.system`, `os.popen`, shell-running helpers, and subprocess calls given one
string instead of an argument list. The one `sh -c` (the launcher's trampoline) must be a
constant script that takes the command as separate arguments ("$@")."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("collectors", "tui", "bench", "scripts")

SHELL_CALLS = {"os.system", "os.popen", "subprocess.getoutput", "subprocess.getstatusoutput",
               "asyncio.create_subprocess_shell", "pty.spawn", "commands.getoutput"}
SUBPROCESS_CALLS = {"subprocess.run", "subprocess.Popen", "subprocess.call", "subprocess.check_call",
                    "subprocess.check_output", "os.execv", "os.execvp", "os.execve", "os.execvpe",
                    "os.posix_spawn", "os.posix_spawnp", "os.spawnv", "os.spawnvp",
                    "asyncio.create_subprocess_exec"}


def _sources() -> list[Path]:
    return sorted(p for pkg in PACKAGES if (ROOT / pkg).is_dir() for p in (ROOT / pkg).rglob("*.py"))


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _is_string(node: ast.expr) -> bool:
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str)) or (
        isinstance(node, ast.BinOp) and (_is_string(node.left) or _is_string(node.right)))


def _constants(tree: ast.Module) -> set[str]:
    """Module-level names bound once to a plain string constant."""
    out = set()
    for stmt in tree.body:
        if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
                and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)):
            out.add(stmt.targets[0].id)
    return out


SHELLS = ("sh", "bash", "dash", "zsh", "ksh")


def _runs_a_shell(items: list[ast.expr]) -> bool:
    """An argument list whose program is a shell (`sh`, `/bin/bash`, ...)."""
    first = items[0] if items else None
    return (isinstance(first, ast.Constant) and isinstance(first.value, str)
            and first.value.rpartition("/")[2] in SHELLS)


def _aliases(tree: ast.Module) -> dict[str, str]:
    """Local names bound by imports anywhere in the module, mapped to what they import:
    `import subprocess as sp` gives sp -> subprocess, `from os import system as s` gives s -> os.system."""
    out: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    out[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                out[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return out


def _canonical(name: str, aliases: dict[str, str]) -> str:
    head, dot, rest = name.partition(".")
    return aliases[head] + dot + rest if head in aliases else name


def problems_in(source: str, label: str) -> list[str]:
    tree = ast.parse(source)
    constants = _constants(tree)
    aliases = _aliases(tree)
    found = []
    for node in ast.walk(tree):
        where = f"{label}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Call):
            name = _canonical(_dotted(node.func), aliases)
            if name in SHELL_CALLS:
                found.append(f"{where}: {name}() runs a shell")
            for kw in node.keywords:
                if kw.arg == "shell" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False):
                    found.append(f"{where}: shell= is not False")
            if name in SUBPROCESS_CALLS and node.args and _is_string(node.args[0]) and name.startswith(
                    ("subprocess.", "asyncio.")):
                found.append(f"{where}: {name}() given one string: a command line, not an argument list")
        if isinstance(node, ast.List | ast.Tuple) and _runs_a_shell(node.elts):
            items = node.elts
            for i, item in enumerate(items[:-1]):
                if isinstance(item, ast.Constant) and item.value == "-c":
                    script = items[i + 1]
                    constant = isinstance(script, ast.Constant) or (
                        isinstance(script, ast.Name) and script.id in constants)
                    if not constant:
                        found.append(f"{where}: `-c` followed by a script built at run time")
    return found


def test_the_scanner_finds_each_kind_of_shell_use() -> None:
    """The scanner flags each forbidden form (so that the real scan below can fail)."""
    bad = (
        "import os, subprocess\n"
        "os.system('ls ' + path)\n"
        "os.popen(cmd)\n"
        "subprocess.run(cmd, shell=True)\n"
        "subprocess.run(f'ps -p {pid}')\n"
        "subprocess.Popen(['sh', '-c', f'kill {pid}'])\n"
    )
    assert len(problems_in(bad, "bad.py")) == 5, problems_in(bad, "bad.py")
    good = "import subprocess\nSCRIPT = 'exec \"$@\"'\nsubprocess.run(['sh', '-c', SCRIPT, 'sh', *argv])\n"
    good += "subprocess.run([sys.executable, '-c', code])\n"  # python -c is not a shell
    assert problems_in(good, "good.py") == []


def test_the_scanner_sees_through_import_aliases() -> None:
    """`import subprocess as sp`, `from subprocess import run` and `from os import system as s` are the
    same calls under other names: each forbidden use through an alias is flagged too."""
    aliased = (
        "import subprocess as sp\n"
        "import os as o\n"
        "from subprocess import run, Popen as P, getoutput\n"
        "from os import system as s\n"
        "sp.run(cmd, shell=True)\n"
        "sp.check_output(f'ps -p {pid}')\n"
        "run('kill ' + pid)\n"
        "P(f'ls {path}')\n"
        "getoutput(cmd)\n"
        "s(cmd)\n"
        "o.popen(cmd)\n"
    )
    found = problems_in(aliased, "aliased.py")
    assert [p.split(":")[1] for p in found] == ["5", "6", "7", "8", "9", "10", "11"], found
    assert problems_in("import subprocess as sp\nsp.run(['ls', path])\n", "ok.py") == []


def test_no_shell_in_the_source() -> None:
    """collectors/, tui/, bench/ and scripts/ never hand a string to a shell."""
    sources = _sources()
    assert len(sources) > 30, "the scan found too few files: wrong root?"
    found = [p for path in sources for p in problems_in(path.read_text(), str(path.relative_to(ROOT)))]
    assert found == []
