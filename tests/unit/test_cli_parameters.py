"""`--parameter NAME=VALUE` on replay, demo and local: refused before anything starts when
the template does not declare the name or does not allow the value, as CloudFormation
would refuse it."""

from __future__ import annotations

from pathlib import Path

import pytest

from acktrack.cli import main
from acktrack.local.template import TemplateError, check_parameters, load_yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


@pytest.fixture
def day(tmp_path: Path) -> Path:
    path = tmp_path / "outbound" / "a.834"
    path.parent.mkdir()
    path.write_bytes(b"ISA")
    return path


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("acktrack: ") and err.count("\n") == 1, err
    return err


@pytest.mark.parametrize("command", ["replay", "demo", "local"])
def test_each_command_refuses_an_unknown_parameter_listing_the_known_ones(
    command: str, day: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)  # demo finds template.yaml here
    argv = [command, "--parameter", "AckSlaHour=12"] + ([str(day)] if command == "replay" else [])
    err = _refused(argv, capsys)
    assert "unknown template parameter AckSlaHour (did you mean AckSlaHours?)" in err
    assert "the template's parameters are: AckSlaHours, AlarmEmail," in err


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("AckSlaHours=0", "parameter AckSlaHours='0' refused: below its MinValue 1"),
        ("AckSlaHours=soon", "parameter AckSlaHours='soon' refused: not a number"),
        ("RejectionRateAlarmPercent=101", "above its MaxValue 100"),
        ("LogRetentionDays=10", "not one of its AllowedValues: 1, 3, 5, 7, 14, 30,"),
        ("RequireInsurerFolders=yes", "not one of its AllowedValues: true, false"),
        (
            "ReportRecipients=a@example.com, b@example.com",
            r"does not match its AllowedPattern ^[^\s;]*$: addresses separated by commas only",
        ),
    ],
)
@pytest.mark.parametrize("command", ["replay", "demo", "local"])
def test_each_command_refuses_a_value_the_template_does_not_allow_saying_why(
    command: str,
    value: str,
    reason: str,
    day: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ROOT)
    argv = [command, "--parameter", value] + ([str(day)] if command == "replay" else [])
    assert reason in _refused(argv, capsys)


def test_local_refuses_before_it_claims_the_users_stack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACKTRACK_STATE_DIR", str(tmp_path / "state"))
    _refused(["local", "--template", str(TEMPLATE), "--parameter", "PartBytes=-1"], capsys)
    assert not (tmp_path / "state").exists()


def test_a_specific_flag_and_the_same_parameter_are_not_both_taken(
    day: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["replay", "--template", str(TEMPLATE), "--sla-hours", "12",
            "--parameter", "AckSlaHours=24", str(day)]  # fmt: skip
    assert "--sla-hours sets AckSlaHours: give it once" in _refused(argv, capsys)
    argv = ["replay", "--template", str(TEMPLATE), "--part-members", "3",
            "--parameter", "PartMembers=4", str(day)]  # fmt: skip
    assert "--part-members sets PartMembers: give it once" in _refused(argv, capsys)
    # The flags keep their own checks: the template's MinValue applies to them too.
    argv = ["replay", "--template", str(TEMPLATE), "--sla-hours", "0.5", str(day)]
    assert "AckSlaHours='0.5' refused: below its MinValue 1" in _refused(argv, capsys)


def test_a_parameter_without_a_value_is_a_usage_error(
    day: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["replay", "--parameter", "AckSlaHours", str(day)])
    assert exit_.value.code == 2
    assert "write NAME=VALUE, e.g. AckSlaHours=24" in capsys.readouterr().err


def test_check_parameters_takes_what_cloudformation_takes() -> None:
    template = load_yaml(TEMPLATE)
    check_parameters(template, {
        "AckSlaHours": 24.0, "PartBytes": 0, "LogRetentionDays": "731", "LogLevel": "DEBUG",
        "ReportRecipients": "a@example.com,b@example.com", "ReportSchedule": "cron(0 6 * * ? *)",
    })  # fmt: skip
    with pytest.raises(TemplateError, match="LogLevel='TRACE' refused: not one of"):
        check_parameters(template, {"LogLevel": "TRACE"})
    declared = {"Parameters": {"Code": {"Type": "String", "MinLength": 2, "MaxLength": 3}}}
    with pytest.raises(TemplateError, match="shorter than its MinLength 2"):
        check_parameters(declared, {"Code": "A"})
    with pytest.raises(TemplateError, match="longer than its MaxLength 3"):
        check_parameters(declared, {"Code": "ABCD"})
