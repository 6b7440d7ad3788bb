"""A set's tally in the report (``report.backlog.SetTally``): the chunks of one large set,
counted in different batches of the report's map and sent between them as JSON, sum to
the tally of the whole; a field it does not know (a newer version's) is ignored."""

from __future__ import annotations

import json

from acktrack.report.backlog import SetTally


def _chunk(closed: int, awaiting: int, overdue: bool) -> SetTally:
    tally = SetTally("set-1", "PLAN01", "rejected", 6, "2-3 d", closed=closed,
                     not_named=closed, awaiting=awaiting, awaiting_overdue=overdue)  # fmt: skip
    return SetTally.from_dict(json.loads(json.dumps(tally.to_dict())))


def test_chunks_of_one_set_sum_to_the_whole() -> None:
    whole = _chunk(2, 3, True)
    split = _chunk(1, 1, False).plus(_chunk(1, 2, True))
    assert (split.closed, split.not_named, split.awaiting, split.awaiting_overdue) == (
        whole.closed, whole.not_named, whole.awaiting, whole.awaiting_overdue)  # fmt: skip
    assert split.open  # a member the rows name is still open


def test_a_field_a_newer_version_adds_is_ignored() -> None:
    data = {**_chunk(0, 0, False).to_dict(), "something_new": 1}
    assert SetTally.from_dict(data).members == 6
