"""Formatting weights the way speedscope shows them (so our numbers read the same)."""

from __future__ import annotations

from collectors.profile import Unit


def format_value(value: float, unit: Unit) -> str:
    """speedscope's value formatters: `2`, `1.50ms`, `489.00µs`, `12.00 KB`, `1:05`."""
    if unit is Unit.BYTES:
        return _format_bytes(value)
    seconds_per = unit.seconds_per_unit
    if seconds_per is None:
        return _format_raw(value)
    sign = "-" if value < 0 else ""
    s = abs(value) * seconds_per
    if s / 60 >= 1:
        minutes = int(s // 60)
        return f"{sign}{minutes}:{int(s - minutes * 60):02d}"
    if s >= 1:
        return f"{sign}{s:.2f}s"
    if s / 1e-3 >= 1:
        return f"{sign}{s / 1e-3:.2f}ms"
    if s / 1e-6 >= 1:
        return f"{sign}{s / 1e-6:.2f}µs"
    return f"{sign}{s / 1e-9:.2f}ns"


def _format_raw(value: float) -> str:
    # JavaScript's toLocaleString() in en-US: thousands separators, at most 3 decimals.
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.3f}".rstrip("0").rstrip(".")


def _format_bytes(value: float) -> str:
    if value < 1024:
        return f"{value:.0f} B"
    value /= 1024
    if value < 1024:
        return f"{value:.2f} KB"
    value /= 1024
    if value < 1024:
        return f"{value:.2f} MB"
    value /= 1024
    return f"{value:.2f} GB"
