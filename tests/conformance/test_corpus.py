"""Real public X12 files, read as an independent reader and as pyx12 read them.

``manifest.json`` names each file's origin (repository, path, commit, licence) and the
counts an independent reader gives (``count_independent.py``, no acktrack code). No
file holds a real person's data: each entry says why it is judged synthetic.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from acktrack.cli import main
from tests.conformance.counting import acktrack_counts, pyx12_counts

HERE = Path(__file__).parent
MANIFEST: list[dict[str, Any]] = json.loads((HERE / "manifest.json").read_text())
X12 = [entry for entry in MANIFEST if entry["kind"] != "not-x12"]
VALID = [entry for entry in X12 if entry["valid"]]
NOT_X12 = [entry for entry in MANIFEST if entry["kind"] == "not-x12"]


def ids(entries: list[dict[str, Any]]) -> list[str]:
    return [entry["file"].removeprefix("corpus/") for entry in entries]


def data(entry: dict[str, Any]) -> bytes:
    return (HERE / entry["file"]).read_bytes()


def test_the_corpus_is_what_the_manifest_says() -> None:
    listed = {entry["file"] for entry in MANIFEST}
    stored = {
        str(path.relative_to(HERE)) for path in (HERE / "corpus").rglob("*") if path.is_file()
    }
    assert listed == stored
    assert len(VALID) >= 60
    for entry in MANIFEST:
        assert entry["repository"].count("/") == 1 and entry["path"] and entry["licence"]
        assert entry["synthetic"], entry["file"]
    kinds = {entry["kind"] for entry in VALID}
    assert {"834", "999", "997", "TA1"} <= kinds
    versions = {data(entry)[84:89] for entry in VALID if entry["kind"] == "834"}
    assert {b"00401", b"00501"} <= versions  # 834s in 4010 and in 5010


@pytest.mark.parametrize("entry", VALID, ids=ids(VALID))
def test_valid_files_read_with_the_independent_counts(entry: dict[str, Any]) -> None:
    assert acktrack_counts(data(entry)).as_expected() == entry["expect"]


@pytest.mark.parametrize("entry", X12, ids=ids(X12))
def test_every_file_pyx12_reads_reads_the_same(entry: dict[str, Any]) -> None:
    peer = pyx12_counts(data(entry))
    if peer is None:
        pytest.skip("pyx12 cannot read this file")
    assert acktrack_counts(data(entry)) == peer


@pytest.mark.parametrize("entry", X12, ids=ids(X12))
def test_parse_reads_every_x12_file_without_a_traceback(
    entry: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["parse", "--json", str(HERE / entry["file"])])
    out, err = capsys.readouterr()
    if entry["valid"]:
        assert status == 0 and err == ""
        assert json.loads(out)["summary"]["interchanges"] == entry["expect"]["interchanges"]
    else:
        assert status in (0, 2) and "Traceback" not in err
        assert status == 0 or err.count("\n") == 1


@pytest.mark.parametrize("entry", NOT_X12, ids=ids(NOT_X12))
def test_files_that_are_not_x12_get_one_line(
    entry: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    path = HERE / entry["file"]
    status = main(["parse", str(path)])
    out, err = capsys.readouterr()
    assert status == 2 and out == ""
    assert err.startswith(f"acktrack: {path}: not readable as X12: ") and err.count("\n") == 1
