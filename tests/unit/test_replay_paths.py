"""`acktrack replay` keys: the path below the last outbound/ or inbound/ folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from acktrack.local.replay import ReplayError, check_paths, object_key


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
