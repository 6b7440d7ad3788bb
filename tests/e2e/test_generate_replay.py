"""A person tries the ledger with `acktrack generate` alone: an 834, the insurer's 999
rejecting one set with an IK3 on one member, a resend of that set and its accepting 999,
all through `acktrack replay` as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from acktrack.cli import main
from tests.support import members

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def _generate(capsys: pytest.CaptureFixture[str], *argv: str) -> Path:
    assert main(["generate", *argv]) == 0
    return Path(capsys.readouterr().out.strip())  # each kind prints the path it wrote


def _replay(capsys: pytest.CaptureFixture[str], *paths: Path) -> dict[str, Any]:
    argv = ["replay", "--json", "--template", str(ROOT / "template.yaml"),
            "--as-of", "2024-01-17T07:00", *map(str, paths)]  # fmt: skip
    assert main(argv) == 0
    document: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert document["failed_events"] == 0
    return document


def test_a_rejected_member_appears_then_a_generated_resend_closes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sent = tmp_path / "day" / "outbound" / "a.834"
    assert (
        main(["generate", "834", "--members", "12", "--sets", "2", "--seed", "9", str(sent)]) == 0
    )
    capsys.readouterr()
    rejecting = _generate(capsys, "999", str(sent), "--ik3", "0002:2")
    assert rejecting == tmp_path / "day" / "inbound" / "HEALTHPLAN01" / "a.999"
    in_0002 = [m for m in members(sent) if m.enrollment.header.control == "0002"]
    named = in_0002[1]  # member 2 of set 0002

    day1 = _replay(capsys, sent, rejecting)
    assert [f["outcome"] for f in day1["files"]] == ["tracked", "acknowledgments"]
    assert (day1["summary"]["confirmed"], day1["summary"]["rejected"]) == (6, len(in_0002))
    (rejection,) = day1["rejections"]
    assert rejection["transaction_control"] == "0002"
    ((error,),) = [verdict["errors"] for verdict in rejection["verdicts"]]
    assert (error["segment"], error["position"], error["member"]["ordinal"]) == (
        "INS", named.first_position, 2,
    )  # fmt: skip
    rows = {(row["subscriber_id"], row["member_id"]): row for row in day1["unconfirmed"]}
    assert len(rows) == len(in_0002) == day1["summary"]["people_unconfirmed"]
    row = rows[(named.subscriber_id, named.member_supplemental_id)]
    assert (
        row["status"] == "rejected" and "IK3 8" in row["reason"] and "INS segment" in row["reason"]
    )

    resend = _generate(capsys, "resend", str(sent), "--rejected-by", str(rejecting))
    assert resend == tmp_path / "day" / "outbound" / "a.resend-1002.834"
    accepting = _generate(capsys, "999", str(resend))
    ta1 = _generate(capsys, "ta1", str(resend))
    day2 = _replay(capsys, sent, rejecting, resend, ta1, accepting)
    summary = day2["summary"]
    assert summary["members_sent"] == 12 + len(in_0002)
    assert (summary["people_unconfirmed"], summary["resolved_by_resend"]) == (0, len(in_0002))
    assert day2["rejections"] == [] and day2["unconfirmed"] == []
