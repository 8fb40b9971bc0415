"""Kernel frames name their module (`[nf_tables]`), found from /proc/kallsyms text."""

from __future__ import annotations

import pytest

from collectors.live.symbols import KERNEL_FILE, KernelModules

# x86-64 layout: the kernel's own text low, modules (and BPF programs) above it.
KALLSYMS = b"""\
ffffffff81000000 T _stext
ffffffff81000100 T do_one_initcall
ffffffff81200000 T vfs_read
ffffffff82000000 T _etext
ffffffff82400000 D some_kernel_data
ffffffffc0001000 t nft_do_chain\t[nf_tables]
ffffffffc0001400 T nft_register_chain\t[nf_tables]
ffffffffc0003000 d nft_chain_data\t[nf_tables]
ffffffffc0005000 t ext4_readdir\t[ext4]
ffffffffc0004000 t ext4_file_read_iter\t[ext4]
ffffffffc0009000 t bpf_prog_6deef7357e7b4530_bpfscope_sample\t[bpf]
"""


def test_an_address_in_a_module_function_names_the_module() -> None:
    """An address inside a module's function (past its symbol) gets `[module]` as its file."""
    modules = KernelModules(KALLSYMS)
    assert modules.file(0xFFFFFFFFC0001010) == "[nf_tables]"
    assert modules.file(0xFFFFFFFFC0004020) == "[ext4]"  # module lines need not be in address order
    assert modules.file(0xFFFFFFFFC0005008) == "[ext4]"


def test_an_address_in_the_kernel_itself_is_kernel_kallsyms() -> None:
    """Addresses in the kernel's own text keep perf's `[kernel.kallsyms]`."""
    modules = KernelModules(KALLSYMS)
    assert modules.file(0xFFFFFFFF81200040) == KERNEL_FILE
    assert modules.module(0xFFFFFFFF81000000) is None


def test_module_data_symbols_do_not_end_its_text() -> None:
    """Only text symbols place an address: a module's data symbol between two functions
    does not hide which module the code around it belongs to."""
    modules = KernelModules(KALLSYMS)
    assert modules.module(0xFFFFFFFFC0003010) == "nf_tables"


def test_bpf_programs_are_their_own_module() -> None:
    """JIT-compiled BPF programs, listed as `[bpf]`, are marked so."""
    assert KernelModules(KALLSYMS).file(0xFFFFFFFFC0009040) == "[bpf]"


def test_kernel_text_wins_over_a_module_placed_below_it() -> None:
    """Where modules sit below the kernel image (arm64), the kernel's own text is still kernel."""
    arm64 = b"""\
ffff800000001000 t some_driver_fn\t[some_driver]
ffff800008000000 T _stext
ffff800008010000 T vfs_read
ffff800009000000 T _etext
"""
    modules = KernelModules(arm64)
    assert modules.file(0xFFFF800008010010) == KERNEL_FILE
    assert modules.file(0xFFFF800000001010) == "[some_driver]"


def test_without_module_lines_everything_is_kernel() -> None:
    """A kernel without modules (or unreadable kallsyms) names every frame `[kernel.kallsyms]`."""
    core_only = b"ffffffff81000000 T _stext\nffffffff81200000 T vfs_read\nffffffff82000000 T _etext\n"
    assert KernelModules(core_only).file(0xFFFFFFFFC0001010) == KERNEL_FILE
    assert KernelModules(b"").file(0xFFFFFFFF81200010) == KERNEL_FILE


@pytest.mark.live
def test_real_module_symbols_resolve_to_their_module() -> None:
    """On the running kernel, the first module function of /proc/kallsyms (a driver, the
    ftrace trampoline or a BPF program) gets a kernel frame with the module as its file."""
    from tests.test_collectors.live.conftest import require_bcc

    require_bcc()
    import bcc

    from collectors.live.batches import BatchAssembler
    from collectors.live.symbols import Symbolizer

    # A module function of our own (a loaded BPF program is listed as `[bpf]`), so that the check
    # never depends on what else is loaded; and bcc reads kallsyms once per process: its table is
    # dropped so that it reads the same list as we do below.
    own = bcc.BPF(text="int bpfscope_kallsyms_probe(void *ctx) { return 0; }")
    own.load_func("bpfscope_kallsyms_probe", bcc.BPF.SOCKET_FILTER)
    bcc.BPF._sym_caches.pop(-1, None)
    with open("/proc/kallsyms", "rb") as f:
        lines = [line.split() for line in f if line.rstrip().endswith(b"]")]
    text = [(int(a, 16), name.decode(), mod.decode()[1:-1]) for a, kind, name, mod in lines if kind in b"tT"]
    # BPF programs last: they come and go (other tests' collectors), and bcc reads kallsyms once.
    text.sort(key=lambda t: t[2] == "bpf")
    if not text:
        pytest.fail("no module function in /proc/kallsyms: cannot check module names on this kernel")
    addr, name, module = text[0]
    asm = BatchAssembler()
    symbols = Symbolizer(bcc, asm)
    try:
        fid = symbols._kernel_frame(addr + 1)
    finally:
        symbols.close()
        own.cleanup()
    batch = asm.take(force=True)
    assert batch is not None
    frame = batch.new_frames[fid - batch.first_frame]
    assert (frame.name, frame.file) == (name, f"[{module}]")
