"""No module over N lines (`make lint`): a long module is a house with one room."""

from __future__ import annotations

import sys
from pathlib import Path

ROOTS = ("shared", "functions", "benchmarks", "tools")


def main(limit: int) -> int:
    root = Path(__file__).resolve().parents[1]
    long = sorted(
        (len(path.read_text(encoding="utf-8").splitlines()), path.relative_to(root))
        for folder in ROOTS
        for path in (root / folder).rglob("*.py")
    )
    over = [(lines, path) for lines, path in long if lines > limit]
    for lines, path in over:
        print(f"{path}: {lines} lines, over {limit}: split it by what its parts are about")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 600))
