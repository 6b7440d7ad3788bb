"""`acktrack demo`: what `make demo` runs."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from acktrack.synthetic.enrollment import EnrollmentSpec, write_834
from acktrack.x12.describe import describe


def run_demo(args: argparse.Namespace) -> int:
    files = {
        "clean.834": EnrollmentSpec(seed=11, members=6),
        "bad_codes.834": EnrollmentSpec(seed=12, members=6, errors=["bad_ins03:3", "bad_hd03:5"]),
        "bad_counts.834": EnrollmentSpec(
            seed=13, members=4, groups=2, errors=["bad_se_count", "bad_iea_count"]
        ),
    }
    with tempfile.TemporaryDirectory(prefix="acktrack-demo-") as folder:
        for name, spec in files.items():
            path = Path(folder) / name
            with path.open("wb") as stream:
                write_834(spec, stream)
            print(f"== {name}")
            with path.open("rb") as stream:
                describe(stream, sys.stdout, name=name)
            print()
    return 0
