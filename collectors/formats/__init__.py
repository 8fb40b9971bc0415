"""Profile file formats: one module per format (a reader and/or writer), each registered once in
`registry`; `detect` picks the reader, `output` writes files atomically."""

from __future__ import annotations

from collectors import __version__

EXPORTER = f"bpfscope@{__version__}"
"""What written files name as the program that wrote them."""
