"""`acktrack replay` keys: the path below the last outbound/ or inbound/ folder."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from acktrack.local.replay import (
    ReplayError,
    check_paths,
    delivery_waves,
    is_population,
    object_key,
)
from acktrack.synthetic.enrollment import EnrollmentSpec, write_834
from acktrack.synthetic.population import (
    PopulationSpec,
    held_members,
    write_audit_834,
    write_extract,
)
from tests.support import SAMPLES


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("day/inbound/HARBOR/x.999", "inbound/HARBOR/x.999"),
        ("day/outbound/a.834", "outbound/a.834"),
        ("inbound/outbound/x.834", "outbound/x.834"),  # the last such folder wins
        ("/tmp/runs/inbound/PINE/2024/01/x.999", "inbound/PINE/2024/01/x.999"),
        ("day/x.999", None),
        ("day/inbound", None),  # a file named like a folder is no folder
    ],
)
def test_object_key(path: str, key: str | None) -> None:
    assert object_key(Path(path)) == key


def test_a_file_outside_the_folders_is_refused_with_what_to_do(tmp_path: Path) -> None:
    stray = tmp_path / "x.999"
    stray.write_bytes(b"ISA")
    with pytest.raises(ReplayError, match="optionally in inbound/<insurer id>/"):
        check_paths([stray])


def test_a_population_waits_for_the_files_before_it_when_workers_run_at_once(
    tmp_path: Path,
) -> None:
    """A population is compared with what had arrived before it: with workers at once,
    replay runs it in a wave of its own (an audit 834 by BGN08, an extract by its header)."""
    sent = io.BytesIO()
    write_834(EnrollmentSpec(members=3, seed=5), sent)
    held = held_members([sent.getvalue()], PopulationSpec())
    audit = io.BytesIO()
    write_audit_834(held, audit, PopulationSpec(), insurer="HEALTHPLAN01", us="ACKTRACKEXCH")
    extract = io.StringIO()
    write_extract(held, extract, delimiter="|")
    files = {"a.834": sent.getvalue(), "b.999": (SAMPLES / "834_bad_ins03.pyx12.999").read_bytes(),
             "audit.834": audit.getvalue(), "c.834": sent.getvalue(),
             "extract.txt": extract.getvalue().encode(), "d.bin": b"\x00\x01" * 40}  # fmt: skip
    paths = []
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        paths.append(tmp_path / name)
    assert [is_population(path) for path in paths] == [False, False, True, False, True, False]
    assert delivery_waves(paths) == [[0, 1], [2], [3], [4], [5]]
