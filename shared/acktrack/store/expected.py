"""Expected enrollment actions (``domain.expected``) in their families' partitions: each
created once (a replayed extract changes nothing), closed by the family's reconciliation
when a member transaction sends it, and read by the report while open past its due time
(the sparse index, EXPECT#<shard>, by due time: never a scan)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pynamodb.exceptions import PutError, UpdateError

from acktrack.domain.expected import ExpectedAction, sends
from acktrack.store import keys
from acktrack.store.base import TableStore
from acktrack.store.dynamo import conditional_failure
from acktrack.store.members import expiry
from acktrack.store.models import ExpectedItem, MemberItem


class ExpectedStore(TableStore):
    def put_expected(self, our: str, actions: Iterable[ExpectedAction]) -> int:
        """Create each action unless it exists (then it keeps its state, sent or not):
        one conditional write each. Returns how many were new."""
        created = 0
        for action in actions:
            rk, rs = keys.expected_index(action.action_id, action.expected_by)
            item = ExpectedItem(
                keys.family_pk(our, action.partner, action.subscriber_id),
                keys.expected_sk(action.action_id),
                our_id=our, partner=action.partner, subscriber_id=action.subscriber_id,
                member_id=action.member_id, maintenance_type=action.maintenance_type,
                effective_date=action.effective_date, action_id=action.action_id,
                created_at=action.created_at, expected_by=action.expected_by, rk=rk, rs=rs,
                expires=expiry(action.expected_by, self.retention_days),
            )  # fmt: skip
            try:
                item.save(condition=ExpectedItem.pk.does_not_exist())
                created += 1
            except PutError as error:
                if not conditional_failure(error):
                    raise
        return created

    def never_sent(self, due_by: str) -> Iterator[ExpectedItem]:
        """Actions due before ``due_by`` (ISO 8601, UTC) that nothing has sent, by due time
        within each shard."""
        for number in range(keys.EXPECT_SHARDS):
            yield from ExpectedItem.report.query(f"EXPECT#{number:02d}", ExpectedItem.rs < due_by)


def close_sent(expected: Iterable[ExpectedItem], members: Iterable[MemberItem]) -> int:
    """Close each open action of a family that one of its member transactions sends
    (the earliest); the count closed now."""
    sent = sorted(members, key=lambda m: m.sent_at)
    closed = 0
    for item in expected:
        if item.sent_at:
            continue
        match = next((m for m in sent if sends(
            item.member_id, item.maintenance_type, item.created_at, member_id=m.member_id,
            subscriber_indicator=m.subscriber_indicator, maintenance_type=m.maintenance_type,
            sent_at=m.sent_at)), None)  # fmt: skip
        if match is None:
            continue
        try:
            item.update(
                actions=[ExpectedItem.sent_at.set(match.sent_at),
                         ExpectedItem.sent_in.set(match.set_id),
                         ExpectedItem.rk.remove(), ExpectedItem.rs.remove()],
                condition=ExpectedItem.sent_at.does_not_exist(),
            )  # fmt: skip
            closed += 1
        except UpdateError as error:
            if not conditional_failure(error):
                raise
    return closed
