"""`acktrack parse` and `parse --json` hold a bounded amount whatever a file holds: findings,
acknowledgments and interchanges wait in temporary files, the two-process path plans its
cut without holding a segment, and its output stays the one-process output."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from acktrack.synthetic.hostile import write_hostile
from acktrack.x12 import describe as describe_module
from acktrack.x12 import limits as x12_limits
from acktrack.x12.limits import Limits
from tests.support import generate

ISA = (
    b"ISA*00*          *00*          *ZZ*HEALTHPLAN01   *ZZ*ACKTRACKEXCH   "
    b"*240115*1200*^*00501*000000001*0*P*:~"
)
GS = b"GS*BE*HEALTHPLAN01*ACKTRACKEXCH*20240115*1200*1*X*005010X220A1~"
ROOT = Path(__file__).resolve().parents[3]


def _member_findings(count: int) -> bytes:
    """One set of ``count`` bare INS loops: several findings each (codes, REF*0F, NM1)."""
    body = b"ST*834*0001*005010X220A1~BGN*00*1*20240115*1200****2~" + b"INS*Q~" * count
    return ISA + GS + body + b"SE*%d*0001~GE*1*1~IEA*1*000000001~" % (count + 3)


def _sets(count: int) -> bytes:
    sets = b"".join(
        b"ST*834*%06d*005010X220A1~BGN*00*1*20240115*1200****2~N1*IN*PLAN*FI*2~SE*4*%06d~" % (n, n)
        for n in range(1, count + 1)
    )
    return ISA + GS + sets + b"GE*%d*1~IEA*1*000000001~" % count


@pytest.mark.parametrize(
    ("shape", "as_json"),
    [("member findings", False), ("member findings", True), ("sets", True)],
    ids=["findings-text", "findings-json", "sets-json"],
)
def test_parse_holds_neither_findings_nor_interchanges(
    shape: str, as_json: bool, tmp_path: Path
) -> None:
    """5,000 bare INS loops (30,000 findings), or 10,000 sets in `--json`: held in
    lists (and, for JSON, as dicts), they took 5 to 36 MB; spooled, the output is the same
    and memory is the reader's."""
    data = _member_findings(5_000) if shape == "member findings" else _sets(10_000)
    output = tmp_path / "out"
    tracemalloc.start()
    try:
        with output.open("w") as out:
            summary = describe_module.describe(io.BytesIO(data), out, name="f", as_json=as_json)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 << 20
    found = sum(summary.findings_by_severity.values())
    if as_json:
        document = json.loads(output.read_text())
        assert len(document["findings"]) == found
        transactions = document["interchanges"][0]["groups"][0]["transactions"]
        assert len(transactions) == summary.transactions
    else:
        assert f"findings ({found}):" in output.read_text()
    assert found > 10_000 if shape == "member findings" else summary.transactions == 10_000


def test_parse_json_on_a_file_without_terminators_stays_small(tmp_path: Path) -> None:
    """`parse --json` of 48 MB with no terminator (read on two processes): the planner in
    the worker held the file, about three times over (589 MB for 200 MB). Peak RSS of the
    process and its worker, as `make bench` counts it, in a fresh interpreter."""
    path = tmp_path / "no_terminator.x12"
    with path.open("wb") as out:
        write_hostile("no_terminator", out, 48 << 20)
    child = (  # own peak from VmHWM: ru_maxrss would keep this pytest process's, from before exec
        "import os, re, resource, sys\n"
        "from pathlib import Path\n"
        "from acktrack.x12.describe import describe\n"
        "path = Path(sys.argv[1])\n"
        "with path.open('rb') as stream, open(os.devnull, 'w') as out:\n"
        "    describe(stream, out, name=path.name, as_json=True, path=path)\n"
        "own = int(re.search(r'VmHWM:\\s+(\\d+)', Path('/proc/self/status').read_text())[1])\n"
        "workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print((own + workers) // 1024)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", child, str(path)],
        check=True,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT / "shared"), "PATH": "/usr/bin:/bin"},
    )
    assert int(result.stdout) < 100  # MB; it was over 180


def _parse_json(path: Path, monkeypatch: pytest.MonkeyPatch, threshold: int) -> str:
    monkeypatch.setattr(describe_module, "PARALLEL_BYTES", threshold)
    out = io.StringIO()
    with path.open("rb") as stream:
        describe_module.describe(stream, out, name=path.name, as_json=True, path=path)
    return out.getvalue()


def test_two_processes_that_together_hold_too_much_give_the_one_process_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """100 sets with two findings each (ST03, SE01) and 250 structures allowed: one reader
    stops at the 250th with a fatal finding; each of the two ranges holds fewer (about 200
    and 100), so neither stopped and together they read on. Their sum says so, and the file
    is read in one process."""
    monkeypatch.setattr(x12_limits, "LIMITS", Limits(structures=250))  # forked workers too
    data, _ = generate(members=1000, sets_per_group=100, seed=5, dependents=0.0)
    data = re.sub(rb"ST\*834\*(\d+)\*005010X220A1~", rb"ST*834*\1*X~", data)
    data = re.sub(rb"SE\*\d+\*", b"SE*1*", data)
    path = tmp_path / "many.834"
    path.write_bytes(data)
    one = _parse_json(path, monkeypatch, threshold=len(data) + 1)
    assert "too_many_structures" in one
    assert _parse_json(path, monkeypatch, threshold=0) == one
