"""Two invocations on one family at once: a decision taken on a partial view never stays.

The insurer's effectuation 834 is ingested while our 834 for the same members is still
being ingested: the effectuation's reconciliation reads a family before our members are
written (a botocore hook runs the whole outbound ingest right after that read returns),
then writes what it concluded ("never sent"). The final state must be the state of the
two files ingested one after the other.
"""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest

from acktrack.handlers import wiring
from acktrack.ingest import families
from acktrack.synthetic.effectuation import EffectuationSpec, write_effectuation
from tests.reliability.support import SENT, File, _834, deliver, final_state, fresh_stack

pytestmark = pytest.mark.slow
OURS = File("outbound", "ours.834", _834(members=8, seed=91, subscriber_id_start=600000001))


def _insurers() -> File:
    buffer = io.BytesIO()
    write_effectuation(OURS.data, buffer, EffectuationSpec(insurer_control=6101,
                                                           sent_at=SENT + timedelta(days=2)))  # fmt: skip
    return File("inbound", "effectuation.834", buffer.getvalue())


INSURERS = _insurers()


def _one_after_the_other() -> dict[str, Any]:
    with fresh_stack() as stack:
        deliver(stack, OURS)
        deliver(stack, INSURERS)
        return final_state(stack)


class Interleave:
    """After the first family read of the insurer's file returns, ingest our 834 in full."""

    def __init__(self, stack: Any) -> None:
        self.stack, self.armed, self.fired = stack, False, False
        wiring.repository().client.meta.events.register("after-call.dynamodb.Query", self._after)
        wiring.repository().client.meta.events.register("before-call.dynamodb.Query", self._before)
        self._family_read = False

    def _before(self, params: dict[str, Any], **_: Any) -> None:
        self._family_read = '"FAM#' in str(params.get("body", ""))

    def _after(self, **_: Any) -> None:
        if self.armed and self._family_read and not self.fired:
            self.fired = True
            deliver(self.stack, OURS)  # our members land while the insurer's view is stale


def _raced() -> dict[str, Any]:
    with fresh_stack() as stack:
        race = Interleave(stack)
        race.armed = True
        deliver(stack, INSURERS)
        assert race.fired
        return final_state(stack)


def test_an_effectuation_read_before_our_members_landed_ends_as_if_in_sequence() -> None:
    """The product as it is, nothing switched: the race leaves the state of the sequence."""
    expected = _one_after_the_other()
    assert any(
        key.startswith("FAM#") and "|M#" in key and "effectuated_by" in item
        for key, item in expected["table"].items()
    )  # the insurer's records effectuate our members
    assert _raced() == expected


def test_with_one_round_the_race_leaves_a_wrong_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test above reaches the race: without the second read (one round) the effectuation's
    "never sent", concluded on a partial view, stays."""
    expected = _one_after_the_other()
    monkeypatch.setattr(families, "RECONCILE_ROUNDS", 1)
    raced = _raced()
    stale = set(raced["table"]) - set(expected["table"])
    assert any("never_sent" in key for key in stale)
