"""`python -m tui.cli`: the same as the `bpfscope` command."""

from __future__ import annotations

import sys

from tui.cli import main

sys.exit(main())
