"""Stored acknowledgments (TA1s and 999 group responses), before and after they apply."""

from __future__ import annotations

import json
import zlib
from typing import Any

from pynamodb.exceptions import PutError
from pynamodb.expressions.update import Action

from acktrack.domain.status import AckState
from acktrack.store import keys
from acktrack.store.base import TableStore
from acktrack.store.dynamo import conditional_failure
from acktrack.store.members import expiry
from acktrack.store.models import (
    AckChunkItem,
    AckItem,
)


class AckStore(TableStore):
    """Acknowledgments as received: stored once, large 999s in chunk items beside them."""

    def put_ack(self, data: dict[str, Any]) -> AckItem:
        """Store an acknowledgment once (a redelivery finds the stored one and its state)."""
        if data["kind"] in ("999", "824"):  # an 824 is kept per group it speaks of
            pk = keys.group_ack_pk(data["our_id"], data["partner"], data["target_control"])
        else:
            pk = keys.interchange_ack_pk(data["our_id"], data["partner"], data["target_control"])
        fields = {name: value for name, value in data.items() if name != "ack_id"}
        detail = fields.get("detail") or {}
        if data["kind"] in ("999", "824") and len(json.dumps(detail)) > MAX_INLINE_DETAIL:
            # Set responses first, in chunks: a retry writes the same chunks again.
            chunks = _chunks(detail.get("sets", []))
            chunk_pk = keys.ack_chunk_pk(pk, data["ack_id"])
            for number, blob in enumerate(chunks):
                AckChunkItem(chunk_pk, f"C#{number:05d}", sets=blob).save()
            fields["detail"] = {**detail, "sets": [], "set_chunks": len(chunks)}
        item = AckItem(pk, data["ack_id"], state=AckState.PENDING, **fields)
        try:
            item.save(condition=AckItem.pk.does_not_exist())
            return item
        except PutError as error:
            if not conditional_failure(error):
                raise
        return AckItem.get(pk, data["ack_id"], consistent_read=True)

    def ack_detail(self, item: AckItem) -> dict[str, Any]:
        """A stored 999's whole detail, its set responses read back from their chunks."""
        detail: dict[str, Any] = item.detail or {}
        if not detail.get("set_chunks"):
            return detail
        sets: list[Any] = []
        pk = keys.ack_chunk_pk(item.pk, item.sk)
        for chunk in AckChunkItem.query(pk, consistent_read=True):
            sets += json.loads(zlib.decompress(chunk.sets))
        return {**detail, "sets": sets}

    def set_ack_state(self, item: AckItem, state: str, reason: str) -> str:
        """Its state; one that matches nothing is listed for the window it arrived in, and
        expires with its file (RawRetentionDays); one applied is kept, out of the list."""
        actions: list[Action] = [AckItem.state.set(state), AckItem.reason.set(reason)]
        if state in (AckState.UNMATCHED, AckState.AMBIGUOUS):
            actions += [
                AckItem.rk.set(keys.REPORT_UNMATCHED),
                AckItem.rs.set(f"{item.received_at}#{item.pk}#{item.sk}"),
            ]
            expires = expiry(item.received_at, self.raw_retention_days)
            if expires is not None:
                actions.append(AckItem.expires.set(expires))
        else:
            actions += [AckItem.rk.remove(), AckItem.rs.remove(), AckItem.expires.remove()]
        item.update(actions=actions)
        return state

    def acks_for_group(self, our: str, partner: str, group_control: str) -> list[AckItem]:
        return list(
            AckItem.query(keys.group_ack_pk(our, partner, group_control), consistent_read=True)
        )

    def acks_for_interchange(self, our: str, partner: str, control: str) -> list[AckItem]:
        return list(
            AckItem.query(keys.interchange_ack_pk(our, partner, control), consistent_read=True)
        )


MAX_INLINE_DETAIL = 300_000  # a 999's detail larger than this keeps its sets in chunks
_CHUNK_BYTES = 300_000  # compressed bytes per chunk item, well under DynamoDB's 400 KB


def _chunks(sets: list[Any]) -> list[bytes]:
    """Set responses as zlib-compressed JSON chunks, each under ``_CHUNK_BYTES``."""
    if not sets:
        return []
    blob = zlib.compress(json.dumps(sets, separators=(",", ":")).encode(), 6)
    if len(blob) <= _CHUNK_BYTES or len(sets) == 1:
        return [blob]
    half = len(sets) // 2
    return _chunks(sets[:half]) + _chunks(sets[half:])
