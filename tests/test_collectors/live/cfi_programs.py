"""Programs built without frame pointers (and one with, whose callback runs in glibc), for
the CFI unwinding tests. Each prints `ready` once running and works for argv[1] seconds.

Every program's call tree is known: `main -> work -> {fib (recursive), sorter -> qsort ->
cmp}` or its C++/Rust equivalent, in short rounds of pseudo-random length so that two
samplers running at once see the same shares.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

_C_COMMON = r"""
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

volatile long sink;

/* Rounds of pseudo-random length: a workload alternating phases at a fixed rhythm can
   lock onto a sampler's fixed period, and two samplers then disagree by points. */
static __thread unsigned rng = 12345;

static unsigned next_random(void) {
    rng = rng * 1103515245u + 12345u;
    return rng >> 8;
}

#ifndef FIB_BASE
#define FIB_BASE 19
#endif

__attribute__((noinline)) long fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

static int cmp(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Off the stack: `perf --call-graph dwarf,8192` copies 8 KB of it, and a large local
   array would end perf's stacks in sorter. */
static __thread int values[2000];

__attribute__((noinline)) void sorter(unsigned seed, int n) {
    for (int i = 0; i < n; i++)
        values[i] = (int)(seed = seed * 1103515245u + 12345u);
    qsort(values, n, sizeof values[0], cmp);
    sink += values[0];
}

__attribute__((noinline)) void work(void) {
    unsigned r = next_random();
    sink += fib(FIB_BASE + r % 4);
    sorter((unsigned)sink, 400 + (r >> 4) % 1600);
    sink++;  /* no tail call: work stays on the stack */
}
"""

NOFP_C = _C_COMMON + r"""
/* argv[1]: seconds of work; with argv[2] (`wait`), counted from a line read on stdin. */
int main(int argc, char **argv) {
    puts("ready");
    fflush(stdout);
    if (argc > 2)
        getchar();
    double end = now() + (argc > 1 ? atof(argv[1]) : 5.0);
    while (now() < end)
        work();
    return 0;
}
"""

THREADS_C = _C_COMMON + r"""
#include <pthread.h>

static double end;

__attribute__((noinline)) void *worker(void *arg) {
    while (now() < end)
        work();
    return arg;
}

int main(int argc, char **argv) {
    end = now() + (argc > 1 ? atof(argv[1]) : 5.0);
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    puts("ready");
    fflush(stdout);
    worker(NULL);
    pthread_join(t, NULL);
    return 0;
}
"""

DLOPEN_LIB_C = r"""
volatile long lib_sink;
__attribute__((noinline)) long lib_fib(int n) { return n < 2 ? n : lib_fib(n - 1) + lib_fib(n - 2); }
void lib_work(void) { lib_sink += lib_fib(18); lib_sink++; }
"""

DLOPEN_C = _C_COMMON + r"""
#include <dlfcn.h>
#include <pthread.h>

static volatile int go;

static void *wait_line(void *arg) {
    getchar();
    go = 1;
    return arg;
}

/* argv[1]: seconds in all; argv[2]: the library, loaded when a line comes on stdin. */
int main(int argc, char **argv) {
    double end = now() + atof(argv[1]);
    pthread_t t;
    pthread_create(&t, NULL, wait_line, NULL);
    puts("ready");
    fflush(stdout);
    while (!go && now() < end)
        work();
    void *lib = dlopen(argv[2], RTLD_NOW);
    if (!lib) {
        fprintf(stderr, "%s\n", dlerror());
        return 1;
    }
    puts("loaded");
    fflush(stdout);
    void (*lib_work)(void) = (void (*)(void))dlsym(lib, "lib_work");
    while (now() < end)
        lib_work();
    return 0;
}
"""

CXX = r"""
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

static double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

volatile long sink;

__attribute__((noinline)) long fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

static unsigned rng = 12345;

// Rounds of pseudo-random length (see the C programs).
static unsigned next_random() {
    rng = rng * 1103515245u + 12345u;
    return rng >> 8;
}

__attribute__((noinline)) void mapper(unsigned seed, int n) {
    std::map<std::string, int> m;
    for (int i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        m[std::to_string(seed)] = i;
    }
    sink += m.size();
}

__attribute__((noinline)) void work() {
    unsigned r = next_random();
    sink += fib(19 + r % 4);
    mapper(static_cast<unsigned>(sink), 60 + (r >> 4) % 480);
    sink = sink + 1;  // no tail call: work stays on the stack
}

int main(int argc, char **argv) {
    double end = now() + (argc > 1 ? std::atof(argv[1]) : 5.0);
    std::puts("ready");
    std::fflush(stdout);
    while (now() < end)
        work();
    return 0;
}
"""

RUST = r"""
use std::io::Write;
use std::time::{Duration, Instant};

static mut SINK: u64 = 0;
static DEPTH: u32 = 19;
static mut RNG: u32 = 12345;

#[inline(never)]
fn fib(n: u32) -> u64 { if n < 2 { n as u64 } else { fib(n - 1) + fib(n - 2) } }

#[inline(never)]
fn sorter(mut seed: u32, n: u32) -> u64 {
    let mut v: Vec<u32> = (0..n)
        .map(|_| { seed = seed.wrapping_mul(1103515245).wrapping_add(12345); seed })
        .collect();
    v.sort_unstable_by(|a, b| a.cmp(b));
    v[0] as u64
}

#[inline(never)]
fn work() {
    unsafe {
        // Rounds of pseudo-random length (see the C programs).
        RNG = RNG.wrapping_mul(1103515245).wrapping_add(12345);
        let r = RNG >> 8;
        // Volatile (rustc 1.63, Debian 12's, has no black_box): no constant folding, no tail call.
        SINK = SINK.wrapping_add(fib(std::ptr::read_volatile(&DEPTH) + r % 4));
        SINK = SINK.wrapping_add(sorter(SINK as u32, 400 + (r >> 4) % 1600));
        std::ptr::write_volatile(&mut SINK, std::ptr::read_volatile(&SINK).wrapping_add(1));
    }
}

fn main() {
    let secs: f64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(5.0);
    let end = Instant::now() + Duration::from_secs_f64(secs);
    println!("ready");
    std::io::stdout().flush().unwrap();
    while Instant::now() < end {
        work();
    }
}
"""

NO_FRAME_POINTERS = ["-O2", "-g", "-fomit-frame-pointer"]


def _cc(compiler: str, source: str, out: Path, flags: list[str], suffix: str = ".c") -> Path:
    src = out.with_suffix(suffix)
    src.write_text(source)
    subprocess.run([compiler, *flags, "-o", str(out), str(src)], check=True)
    return out


def build(directory: Path) -> dict[str, Path]:
    """Build every program into `directory` (C, C++ and Rust: a few seconds)."""
    d = directory
    out = {
        "nofp": _cc("gcc", NOFP_C, d / "nofp", NO_FRAME_POINTERS),
        "threads": _cc("gcc", THREADS_C, d / "threads", [*NO_FRAME_POINTERS, "-pthread"]),
        "dlopen": _cc("gcc", DLOPEN_C, d / "dlopen", [*NO_FRAME_POINTERS, "-pthread"]),
        "libhot": _cc("gcc", DLOPEN_LIB_C, d / "libhot.so", [*NO_FRAME_POINTERS, "-shared", "-fPIC"]),
        # Less time in fib than the others: perf 6.1's DWARF unwinding stops one frame above
        # a sample on fib's `ret` in this frame-pointer build (0.9 % of its stacks with
        # FIB_BASE 19, 1.5 % with 21), and its stacks must stay >= 99 % whole for the
        # comparison to mean something.
        "qsort_fp": _cc("gcc", NOFP_C, d / "qsort_fp",
                        ["-O2", "-g", "-fno-omit-frame-pointer", "-mno-omit-leaf-frame-pointer", "-DFIB_BASE=17"]),
        "cxx": _cc("g++", CXX, d / "cxx", ["-O2"], ".cc"),
    }
    rustc = shutil.which("rustc") or str(Path.home() / ".cargo/bin/rustc")
    src = d / "rustprog.rs"
    src.write_text(RUST)
    subprocess.run([rustc, "-O", "-C", "debuginfo=0", "-o", str(d / "rustprog"), str(src)], check=True)
    out["rust"] = d / "rustprog"
    return out
