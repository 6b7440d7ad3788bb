"""`acktrack parse` and `acktrack generate`: output, exit codes, PHI masking, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from acktrack.cli import main
from tests.support import SAMPLES, generate


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_text_summary_of_a_sample(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "parse", str(SAMPLES / "834_bad_ins03.834"))
    assert status == 0 and err == ""
    assert (
        "834_bad_ins03.834: 1 interchange(s), 1 group(s), 1 transaction set(s), 5 member(s), 0 TA1"
        in out
    )
    assert "IK4 7 (invalid code value): INS03 is not a maintenance type code" in out
    assert "INS@50" in out


def test_json_has_summary_findings_and_masked_members(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "parse", "--json", "--members", str(SAMPLES / "834_5members.834"))
    assert status == 0
    document = json.loads(out)
    assert document["summary"] == {
        "interchanges": 1,
        "groups": 1,
        "transactions": 1,
        "members": 5,
        "ta1": 0,
        "sets_by_type": {"834": 1},
    }
    assert document["findings"] == []
    assert len(document["members"]) == 5
    assert document["members"][0]["name"] == {"last": "***", "first": "***", "middle": None}
    assert "KESSHAM" not in out and "939913470" not in out and "19800813" not in out
    assert document["interchanges"][0]["groups"][0]["transactions"][0]["members"] == 5


def test_show_phi_reveals_names(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(
        capsys, "parse", "--json", "--members", "--show-phi", str(SAMPLES / "834_5members.834")
    )
    assert json.loads(out)["members"][0]["name"]["last"] == "KESSHAM"


def test_json_for_acknowledgments(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "parse", "--json", str(SAMPLES / "834_bad_iea_count.pyx12.999"))
    document = json.loads(out)
    assert document["summary"]["ta1"] == 1
    kinds = [(a["type"], a["status"]) for a in document["acknowledgments"]]
    assert kinds == [("999", "A"), ("TA1", "R")]
    assert "members" not in document
    # Every entry names the envelope it came in; a TA1 also names the interchange it answers.
    envelope = document["interchanges"][0]["interchange_control"]
    assert {a["interchange_control"] for a in document["acknowledgments"]} == {envelope}
    (ta1,) = [a for a in document["acknowledgments"] if a["type"] == "TA1"]
    assert ta1["acknowledged_interchange_control"] == "000001001" != envelope


def test_findings_are_in_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data, _ = generate(members=3, seed=1, errors=["bad_iea_count"])
    path = tmp_path / "bad.834"
    path.write_bytes(data)
    status, out, _ = run(capsys, "parse", "--json", str(path))
    assert status == 0
    (finding,) = json.loads(out)["findings"]
    assert (finding["scheme"], finding["code"], finding["meaning"]) == (
        "TA1", "021", "invalid number of included groups value",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "the file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "the file is binary, not X12 text"),
        (b"Name,SSN\nA,1\n", "the file does not start with an ISA segment"),
    ],
)
def test_unreadable_files_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "input.edi"
    path.write_bytes(content)
    status, out, err = run(capsys, "parse", str(path))
    assert status == 2 and out == ""
    assert err == f"acktrack: {path}: not readable as X12: {reason}\n"


def test_missing_file_and_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert run(capsys, "parse", str(tmp_path / "nope.834"))[2].endswith("no such file\n")
    status, _, err = run(capsys, "parse", str(tmp_path))
    assert status == 2 and "is a directory" in err


def test_generate_writes_a_readable_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "g.834"
    status, _, err = run(
        capsys, "generate", "--members", "30", "--sets", "2", "--error", "bad_ins03:4",
        "--delimiters", "|^>\\n", "--line-ending", "none", str(out),
    )  # fmt: skip
    assert status == 0 and "30 member(s)" in err
    status, text, _ = run(capsys, "parse", "--json", str(out))
    document = json.loads(text)
    assert document["summary"]["members"] == 30
    assert [(f["scheme"], f["code"], f["member_ordinal"]) for f in document["findings"]] == [
        ("IK4", "7", 4)
    ]
    assert document["interchanges"][0]["delimiters"]["element"] == "|"


def test_generate_rejects_unknown_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, _, err = run(capsys, "generate", "--error", "nonsense", str(tmp_path / "x.834"))
    assert status == 2 and "unknown deliberate error 'nonsense'" in err


def test_help_teaches_with_examples() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "acktrack.cli", "parse", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "examples:" in result.stdout and "exit status" in result.stdout


def test_no_traceback_reaches_the_user(tmp_path: Path) -> None:
    path = tmp_path / "x.834"
    path.write_bytes(b"ISA*garbage")
    result = subprocess.run(
        [sys.executable, "-m", "acktrack.cli", "parse", str(path)], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1


def test_output_to_a_closed_pipe_is_not_an_error(tmp_path: Path) -> None:
    data, _ = generate(members=3000, seed=1)
    path = tmp_path / "big.834"
    path.write_bytes(data)
    result = subprocess.run(
        f"{sys.executable} -m acktrack.cli parse --members {path} | head -n 2",
        shell=True, capture_output=True, text=True,
    )  # fmt: skip
    assert result.stdout.count("\n") == 2
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["stats"], "say where the state is: --local, --stack NAME or --table NAME"),
        (["member", "100000001"], "say where the state is"),
        (["stats", "--since", "yesterday", "--table", "t"], "--since"),
        (["replay", "--effectuation-days", "-1", "outbound/a.834"], "cannot be negative"),
        (["report", "--local", "--effectuation-days", "x"], "expected a whole number, got 'x'"),
        (["replay", "--part-bytes", "x", "outbound/a.834"], "expected a whole number, got 'x'"),
        (["replay", "--concurrency", "0", "outbound/a.834"], "give at least 1"),
    ],
)
def test_stats_member_and_replay_refuse_bad_arguments_in_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as raised:
        status = main(argv)
        raise SystemExit(status)
    err = capsys.readouterr().err
    assert raised.value.code == 2
    assert message in err and "Traceback" not in err


def test_stats_and_member_help_teach_by_example(capsys: pytest.CaptureFixture[str]) -> None:
    for command, example in (
        ("stats", "acktrack stats --local"),
        ("member", "acktrack member 300000017"),
    ):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert example in capsys.readouterr().out


def test_a_command_that_needs_the_local_extra_says_which_to_install(tmp_path: Path) -> None:
    day = tmp_path / "outbound"
    day.mkdir()
    (day / "a.834").write_bytes((SAMPLES / "834_5members.834").read_bytes())
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('moto', 'samtranslator'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from acktrack.cli import main\n"
        f"sys.exit(main(['replay', {str(day / 'a.834')!r}]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 2
    assert "pip install 'acktrack[local]'" in done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
