"""Print what the reliability suite tried (the figures in docs/RELIABILITY.md) at the end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.reliability.support import FIGURES

OUTPUT = Path(__file__).resolve().parents[2] / ".acktrack" / "reliability.json"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    terminalreporter.write_sep("-", "reliability figures")
    for name, value in sorted(FIGURES.items()):
        terminalreporter.write_line(f"{name}: {value:,}")
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_text(json.dumps(dict(sorted(FIGURES.items())), indent=1) + "\n")
