"""`--parameter` sets a template parameter on the embedded stack that `acktrack replay` and
`acktrack demo` run (`acktrack local`'s is tests/e2e/test_local_paths.py's)."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from acktrack.cli import main
from acktrack.synthetic.acknowledgments import respond
from acktrack.synthetic.enrollment import EnrollmentSpec, write_834

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
SENT = datetime(2024, 1, 15, 12)


def test_replay_sets_template_parameters_on_its_stack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sent = io.BytesIO()
    write_834(EnrollmentSpec(members=4, seed=71, sent_at=SENT), sent)
    (tmp_path / "outbound").mkdir()
    (tmp_path / "inbound").mkdir()
    (tmp_path / "outbound" / "a.834").write_bytes(sent.getvalue())
    (tmp_path / "inbound" / "a.999").write_bytes(
        respond(sent.getvalue(), insurer_control=5001, sent_at=SENT + timedelta(hours=2))
    )
    argv = ["replay", "--json", "--template", str(ROOT / "template.yaml"),
            "--as-of", "2024-01-20T07:00", str(tmp_path / "outbound" / "a.834"),
            str(tmp_path / "inbound" / "a.999")]  # fmt: skip
    assert main(argv) == 0
    plain = json.loads(capsys.readouterr().out)
    assert (plain["window_days"], plain["summary"]["confirmed"], plain["quarantined"]) == (7, 4, [])
    assert main([*argv, "--parameter", "RequireInsurerFolders=true",
                 "--parameter", "ParameterKey=ReportWindowDays,ParameterValue=30"]) == 0  # fmt: skip
    document = json.loads(capsys.readouterr().out)
    assert document["window_days"] == 30
    # The 999 is not under inbound/<insurer id>/: the stack now refuses it.
    assert [item["key"] for item in document["quarantined"]] == ["inbound/a.999"]
    assert document["summary"]["confirmed"] == 0


def test_demo_sets_template_parameters_on_its_stack(capsys: pytest.CaptureFixture[str]) -> None:
    """The demo's Summit file of three days ago is never answered: overdue past 48 hours,
    still within an AckSlaHours of 100."""
    assert main(["demo", "--json", "--parameter", "AckSlaHours=100"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["sla_hours"] == 100
    summary = document["summary"]
    assert summary["pending_overdue"] == 0  # 44 with the template's 48 (tests/e2e/test_replay.py)
    assert summary["confirmed"] + summary["rejected"] + summary["pending_within_sla"] == 517
