"""Small C programs with a known call tree, built with frame pointers for the live tests.

The hot functions keep a `volatile` local so that gcc gives them a frame even though they
are leaves (gcc 12 drops the frame pointer of frameless leaves despite
`-fno-omit-frame-pointer`, which would hide their caller).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

CFLAGS = ["-O1", "-g", "-fno-omit-frame-pointer", "-mno-omit-leaf-frame-pointer"]

_COMMON = r"""
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile unsigned long sink;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

__attribute__((noinline)) void spin(unsigned long n) {
    volatile unsigned long acc = 0;
    for (unsigned long i = 0; i < n; i++)
        acc += i;
    sink += acc;
}
"""

CALL_TREE = _COMMON + r"""
/* main -> hot_a (70% of the work) and main -> hot_b (30%), for argv[1] seconds. */
__attribute__((noinline)) void hot_a(unsigned long n) {
    volatile unsigned long acc = 0;
    for (unsigned long i = 0; i < n; i++)
        acc += i;
    sink += acc;
}

__attribute__((noinline)) void hot_b(unsigned long n) {
    volatile unsigned long acc = 0;
    for (unsigned long i = 0; i < n; i++)
        acc += i;
    sink += acc;
}

int main(int argc, char **argv) {
    double end = now() + (argc > 1 ? atof(argv[1]) : 5.0);
    puts("ready");
    fflush(stdout);
    while (now() < end) {
        hot_a(70000);
        hot_b(30000);
    }
    return 0;
}
"""

THREADS = _COMMON + r"""
/* argv[2] threads (default 4) spinning in worker -> spin for argv[1] seconds; main sleeps. */
#include <pthread.h>
#include <unistd.h>

static volatile int stop;

__attribute__((noinline)) void *worker(void *arg) {
    (void)arg;
    while (!stop)
        spin(100000);
    return NULL;
}

int main(int argc, char **argv) {
    double secs = argc > 1 ? atof(argv[1]) : 5.0;
    int n = argc > 2 ? atoi(argv[2]) : 4;
    pthread_t t[64];
    for (int i = 0; i < n && i < 64; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    puts("ready");
    fflush(stdout);
    usleep((useconds_t)(secs * 1e6));
    stop = 1;
    for (int i = 0; i < n && i < 64; i++)
        pthread_join(t[i], NULL);
    return 0;
}
"""


JIT = r"""
/* Copies an endless loop (`inc rax; jmp back`) into anonymous executable memory, sleeps
   argv[1] seconds, names the code `jitted_spin` in /tmp/perf-PID.map as a JIT would, then
   runs it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv) {
    static const unsigned char code[] = {0x48, 0xff, 0xc0, 0xeb, 0xfb};
    void *mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return 1;
    memcpy(mem, code, sizeof code);
    usleep((useconds_t)((argc > 1 ? atof(argv[1]) : 0) * 1e6));
    char path[64];
    snprintf(path, sizeof path, "/tmp/perf-%d.map", getpid());
    FILE *f = fopen(path, "w");
    if (!f)
        return 1;
    fprintf(f, "%lx %zx jitted_spin\n", (unsigned long)mem, sizeof code);
    fclose(f);
    puts("ready");
    fflush(stdout);
    ((void (*)(void))mem)();
    return 0;
}
"""


def build(directory: Path, name: str, source: str) -> Path:
    """Compile `source` to `directory/name` and return its path."""
    src = directory / f"{name}.c"
    src.write_text(source)
    out = directory / name
    subprocess.run(["gcc", *CFLAGS, "-pthread", "-o", str(out), str(src)], check=True, capture_output=True)
    return out


HOSTILE_JIT = r"""
/* A JIT that attacks its profiler through its perf map. Copies an endless loop into
   anonymous executable memory, prints `ADDRESS` and waits for a line on stdin (the test
   plants what it needs meanwhile), then makes /tmp/perf-PID.map, by argv[1]:
   `symlink TARGET` a symlink to TARGET; `fifo` a FIFO; `sparse` a 64 GiB sparse file whose
   first line names the code `jitted_spin`; `honest` a real map naming it `jitted_spin`.
   Then prints `ready` and runs the code. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
    static const unsigned char code[] = {0x48, 0xff, 0xc0, 0xeb, 0xfb};
    void *mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED || argc < 2)
        return 1;
    memcpy(mem, code, sizeof code);
    printf("%lx\n", (unsigned long)mem);
    fflush(stdout);
    char line[16];
    if (!fgets(line, sizeof line, stdin))
        return 1;
    char path[64];
    snprintf(path, sizeof path, "/tmp/perf-%d.map", getpid());
    char entry[64];
    int n = snprintf(entry, sizeof entry, "%lx %zx jitted_spin\n", (unsigned long)mem, sizeof code);
    if (!strcmp(argv[1], "symlink") && argc > 2) {
        if (symlink(argv[2], path))
            return 2;
    } else if (!strcmp(argv[1], "fifo")) {
        if (mkfifo(path, 0644))
            return 2;
    } else {
        int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
        if (fd < 0 || write(fd, entry, n) != n)
            return 2;
        if (!strcmp(argv[1], "sparse") && ftruncate(fd, 64LL << 30))
            return 2;
        close(fd);
    }
    puts("ready");
    fflush(stdout);
    ((void (*)(void))mem)();
    return 0;
}
"""
