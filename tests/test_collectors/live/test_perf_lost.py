"""Lost records in the perf collector's stream (`perf script --show-lost-events`, as perf 6.1 prints them)."""

from __future__ import annotations

from collectors.live.batches import BatchAssembler
from collectors.live.perf_collector import ScriptParser

# As perf 6.1 writes it: the LOST line comes straight before the next header, with no blank line.
OUTPUT = b"""\
work 4242/4243 [000]   100.500000:
\t            1182 hot_b (/tmp/work)

work 4242/4243 [000]   100.600000: PERF_RECORD_LOST lost 11942
work 4242/4243 [000]   100.600000:
\t            1182 hot_b (/tmp/work)

work 4242/4244 [001]   100.700000: PERF_RECORD_LOST lost 58
work 4242/4244 [001]   100.700000:
\t            1182 hot_b (/tmp/work)

"""


def _parse(text: bytes) -> tuple[ScriptParser, BatchAssembler]:
    asm = BatchAssembler()
    parser = ScriptParser(asm, 100.0)
    for line in text.splitlines(keepends=True):
        parser.feed(line)
    parser.end_sample()
    return parser, asm


def test_lost_lines_are_summed() -> None:
    """Every `PERF_RECORD_LOST lost N` line adds N to the parser's lost count."""
    parser, _ = _parse(OUTPUT)
    assert parser.lost == 11942 + 58


def test_lost_lines_are_not_samples() -> None:
    """A LOST line is not taken for a sample header: only the three real samples are kept, each with its stack."""
    _, asm = _parse(OUTPUT)
    batch = asm.take(lost=12000)
    assert batch is not None
    assert [round(t, 3) for t, _, _ in batch.samples] == [0.5, 0.6, 0.7]
    stacks = {sid - batch.first_stack: batch.new_stacks[sid - batch.first_stack] for _, _, sid in batch.samples}
    assert all(stacks.values()), "a sample with an empty stack was added"
    assert batch.stats.lost == 12000
