"""User-stack unwinders for the eBPF collector, side by side behind `Unwinder` (base.py)."""
