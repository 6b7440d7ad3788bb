"""Control numbers as they are seen, per insurer, direction and level (``domain.sequences``):
one small item per number, kept first-seen (a redelivery changes nothing), read back newest
first for the report's gaps and an insurer's rhythm (one query each)."""

from __future__ import annotations

from collections.abc import Iterable

from pynamodb.exceptions import PutError

from acktrack.store import keys
from acktrack.store.base import TableStore
from acktrack.store.dynamo import conditional_failure
from acktrack.store.members import expiry
from acktrack.store.models import SequenceItem

READ_BACK = 1_000  # the newest numbers a report reads per insurer, direction and level


class SequenceStore(TableStore):
    def note_controls(
        self, our: str, partner: str, direction: str, level: str, controls: Iterable[str], at: str
    ) -> None:
        """Keep each numeric control number once, with when it was first seen."""
        pk = keys.sequence_pk(our, partner, direction, level)
        for control in sorted(set(controls)):
            if not (control.isascii() and control.isdigit()) or len(control) > 12:
                continue
            item = SequenceItem(pk, keys.sequence_sk(control), control=control, at=at,
                                expires=expiry(at, self.retention_days))  # fmt: skip
            try:
                item.save(condition=SequenceItem.pk.does_not_exist())
            except PutError as error:
                if not conditional_failure(error):
                    raise

    def control_numbers(
        self, our: str, partner: str, direction: str, level: str
    ) -> list[tuple[str, str]]:
        """The newest ``READ_BACK`` numbers seen, with when: (control, ISO time)."""
        found = SequenceItem.query(keys.sequence_pk(our, partner, direction, level),
                                   scan_index_forward=False, limit=READ_BACK)  # fmt: skip
        return [(item.control, item.at) for item in found]
