"""Figures for issue 12 (safe as root): prints one JSON object (not a timed test; `bench/run.py` calls it).

- `perf_script_header`: seconds to sniff and parse a perf-script-looking text whose header
  line holds a run of N spaces (the old lazy expression was quadratic: 16 KB took 7.6 s in
  `top`); each figure best of 3.
- `gzip_bomb`: a ~1 MB gzip unpacking to 512 MiB, loaded in a fresh process: seconds until
  refused and its peak RSS (was 1.07 GB).
- `symbols`: our ELF resolver (which replaced bcc's symbol cache) on this machine's libc
  and libpython: seconds to load a file's function table, functions read, and microseconds
  per address looked up (bisect + demangle, uncached), against bcc's `bcc_symcache_resolve`
  for the same addresses where bcc imports (root).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import random
import subprocess
import sys
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from collectors.formats import perf_script  # noqa: E402
from collectors.formats.errors import ProfileError  # noqa: E402

GZIP = r"""
import json, resource, sys, time
from collectors.formats.detect import LoadError, load_profile
t = time.perf_counter()
try:
    load_profile(sys.argv[1])
    refused = False
except LoadError:
    refused = True
print(json.dumps({"seconds": time.perf_counter() - t, "refused": refused,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def header_figures() -> dict[str, float]:
    out = {}
    for n in (16_000, 65_536, 1_000_000):
        text = "prog" + " " * n + "x\n\t401000 main (/bin/x)\n\nprog 1 1.0: cpu-clock:\n\t401000 main (/bin/x)\n"
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            if perf_script.sniff(text):
                with contextlib.suppress(ProfileError):  # refused, promptly, is the good outcome too
                    perf_script.read(text, "x")
            best = min(best, time.perf_counter() - t)
        out[f"spaces_{n}_seconds"] = best
    return out


def gzip_figures(tmp: Path) -> dict[str, object]:
    piece = b"main;work;hot 1\n" * (1 << 20)
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    member = c.compress(piece) + c.flush()
    path = tmp / "bomb.folded.gz"
    with open(path, "wb") as f:
        for _ in range((512 << 20) // len(piece)):
            f.write(member)
    r = subprocess.run([sys.executable, "-c", GZIP, str(path)], capture_output=True, text=True, cwd=ROOT,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)
    result: dict[str, object] = json.loads(r.stdout)
    result["gzip_bytes"] = path.stat().st_size
    result["unpacked_bytes"] = 512 << 20
    return result


def _mapped(pid: int, name: str) -> tuple[int, int, int, str] | None:
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 6 and "x" in parts[1] and name in parts[5]:
                start, end = (int(x, 16) for x in parts[0].split("-"))
                return start, end, int(parts[2], 16), parts[5]
    return None


def symbol_figures() -> dict[str, object]:
    from collectors.live.elf_symbols import ElfCache
    from collectors.live.target_files import Credentials

    pid = os.getpid()
    creds = Credentials.of(pid)
    out: dict[str, object] = {}
    rng = random.Random(1)
    for name in ("libc.so", "libpython"):
        m = _mapped(pid, name)
        if m is None:
            continue
        start, end, offset, path = m
        cache = ElfCache()
        t = time.perf_counter()
        elf = cache.mapped(pid, start, end, path, creds)
        load = time.perf_counter() - t
        if elf is None:
            out[name] = {"error": "not read"}
            continue
        addrs = [rng.randrange(start, end) for _ in range(20_000)]
        t = time.perf_counter()
        named = sum(1 for a in addrs if (v := elf.vaddr(a, start, offset)) is not None and elf.lookup(v))
        per = (time.perf_counter() - t) / len(addrs) * 1e6
        entry: dict[str, object] = {"path": path, "load_seconds": load, "functions": len(elf),
                                    "lookup_us": per, "named_share": named / len(addrs)}
        bcc_us = _bcc_lookup_us(pid, addrs)
        if bcc_us is not None:
            entry["bcc_symcache_lookup_us"] = bcc_us
        out[name] = entry
    return out


def _bcc_lookup_us(pid: int, addrs: list[int]) -> float | None:
    try:
        import bcc
    except ImportError:
        return None
    lib = bcc.libbcc.lib
    opt = bcc.libbcc.bcc_symbol_option(use_debug_file=1, check_debug_file_crc=1, lazy_symbolize=0,
                                       use_symbol_type=(1 << 2) | (1 << 10))
    cache = lib.bcc_symcache_new(pid, ctypes.byref(opt))
    sym = bcc.libbcc.bcc_symbol()
    lib.bcc_symcache_resolve(cache, addrs[0], ctypes.byref(sym))  # load outside the timing
    t = time.perf_counter()
    for a in addrs:
        if lib.bcc_symcache_resolve(cache, a, ctypes.byref(sym)) == 0:
            lib.bcc_symbol_free_demangle_name(ctypes.byref(sym))
    per = (time.perf_counter() - t) / len(addrs) * 1e6
    lib.bcc_free_symcache(cache, pid)
    return per


def main() -> None:
    import tempfile

    results: dict[str, object] = {"perf_script_header": header_figures()}
    with tempfile.TemporaryDirectory() as tmp:
        results["gzip_bomb"] = gzip_figures(Path(tmp))
    results["symbols"] = symbol_figures()
    json.dump(results, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
