"""bpfscope's headless half: the profile model, file formats and live collectors.

Nothing under this package imports Textual or `tui` (a test and an import-linter contract
enforce it), so `convert`, `top` and `record` run on servers without a screen.
"""

from __future__ import annotations

__version__ = "0.1.0"
