"""Events on the stack's EventBridge bus, end to end on the local stack: each change is
published once, with the same id in any arrival order and however often a file or the
report runs again; an event the bus did not take is published by the next run; the demo's
day gives every type, and no PHI."""

from __future__ import annotations

import itertools
import json
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from acktrack.domain.events import FIELDS, EventType
from acktrack.local import resources
from acktrack.local.demo import DEMO_PARAMETERS, build_day, operator_resolutions
from acktrack.local.replay import replay
from acktrack.local.stack import EmbeddedStack
from tests.e2e.test_advice import DAY
from tests.reliability.support import File, deliver, fresh_stack
from tests.support import members

pytestmark = pytest.mark.slow
AS_OF = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
INGEST_TYPES = {"EnrollmentRejected", "PersonConfirmed", "FileQuarantined"}
JUNK = File("inbound", "HEALTHPLAN01/junk.999", b"ISA*00*garbage")


def _demo(extra_report: bool = False, twice: bool = False) -> tuple[list[dict[str, Any]], Path]:
    folder = Path(tempfile.mkdtemp(prefix="acktrack-events-"))
    paths = build_day(folder, AS_OF)
    moments = [AS_OF, AS_OF] if extra_report else [AS_OF]  # the same report run again
    with mock_aws():
        result = replay(paths + (paths if twice else []), report_at=moments, server=False,
                        parameters=DEMO_PARAMETERS, capture_events=True,
                        before_report=operator_resolutions(AS_OF))  # fmt: skip
    return result.events, folder


@pytest.fixture(scope="module")
def demo() -> tuple[list[dict[str, Any]], Path]:
    return _demo()


def test_the_demo_day_publishes_every_type_of_event(
    demo: tuple[list[dict[str, Any]], Path],
) -> None:
    events, _ = demo
    assert {event["detail-type"] for event in events} == {kind.value for kind in EventType}
    assert all(event["source"] == "acktrack" for event in events)
    ids = [event["detail"]["event_id"] for event in events]
    assert len(ids) == len(set(ids))  # each change once
    for event in events:
        assert set(event["detail"]) <= FIELDS, event["detail-type"]
    rejected = [e["detail"] for e in events if e["detail-type"] == "EnrollmentRejected"]
    assert any(d["status"] == "rejected_after_accept" and "824:007" in d["codes"] for d in rejected)
    (gap,) = [e["detail"] for e in events if e["detail-type"] == "ControlGap"
              and e["detail"]["level"] == "interchange"]  # fmt: skip
    assert gap["insurer"] == "CEDARHEALTH1" and gap["missing"] == [5007]


def test_no_event_names_a_person(demo: tuple[list[dict[str, Any]], Path]) -> None:
    events, folder = demo
    text = json.dumps(events)
    canaries: set[str] = set()
    for path in folder.rglob("*"):
        if path.is_file() and path.suffix in (".edi", ".x12", ".834"):
            for member in members(path):
                canaries |= {value for value in (member.last_name, member.first_name, member.birth_date,
                                                 member.subscriber_id, member.member_supplemental_id,
                                                 member.member_identifier) if value and len(value) >= 5}  # fmt: skip
    assert len(canaries) > 100
    assert [value for value in canaries if value in text] == []
    assert "xlsx" not in text and "enrollments" not in text  # a file is named by a keyed hash


def test_a_day_delivered_twice_and_reported_again_publishes_nothing_more(
    demo: tuple[list[dict[str, Any]], Path],
) -> None:
    once, _ = demo
    again, _ = _demo(extra_report=True, twice=True)

    def published(events: list[dict[str, Any]]) -> Counter[str]:
        # A quarantined file is named by its S3 version, random in each run: counted.
        return Counter(e["detail"]["event_id"] if e["detail-type"] != "FileQuarantined"
                       else e["detail-type"] for e in events)  # fmt: skip

    assert published(again) == published(once)


def _ingest_events(files: list[File], deliveries: int = 1) -> list[dict[str, Any]]:
    with fresh_stack() as stack:
        bus = resources.capture_events(stack.client("events"), stack.client("sqs"), stack.event_bus)
        for file in files:
            deliver(stack, file, deliveries)
        assert stack.publish_events().ok
        return resources.failures(stack.client("sqs"), [bus])


def _ids(events: list[dict[str, Any]], kind: str) -> Counter[str]:
    return Counter(e["detail"]["event_id"] for e in events if e["detail-type"] == kind)


def _last_said(events: list[dict[str, Any]]) -> dict[str, str]:
    """Per set, what its latest event (by acknowledgment time) says."""
    latest: dict[str, tuple[str, str]] = {}
    for event in events:
        detail = event["detail"]
        if "transaction_control" in detail:  # (references are keyed by each stack's own key)
            set_id = "/".join(detail[name] for name in ("insurer", "interchange_control",
                                                        "group_control", "transaction_control"))  # fmt: skip
            latest[set_id] = max(latest.get(set_id, ("", "")), (detail["at"], event["detail-type"]))
    return {set_id: kind for set_id, (_, kind) in latest.items()}


def test_the_same_files_in_any_order_publish_the_same_rejections_and_end_the_same() -> None:
    """Rejections have the same ids in every order. Confirmations say what happened when: a
    999 accepting a set before its 824 arrived confirmed it for a while; the 824 first, never.
    Per set, the latest event says the same in every order."""
    files = [*DAY, JUNK]
    first = _ingest_events(files)
    assert {e["detail-type"] for e in first} == INGEST_TYPES
    assert sum(_ids(first, "EnrollmentRejected").values()) == 1  # the 824's
    assert sum(_ids(first, "PersonConfirmed").values()) == 3
    assert sum(_ids(first, "FileQuarantined").values()) == 1  # named by its random version id
    for order in itertools.islice(itertools.permutations(files), 1, None, 5):
        events = _ingest_events(list(order))
        assert _ids(events, "EnrollmentRejected") == _ids(first, "EnrollmentRejected"), order
        assert set(_ids(events, "PersonConfirmed")) <= set(_ids(first, "PersonConfirmed"))
        assert sum(_ids(events, "FileQuarantined").values()) == 1
        assert _last_said(events) == _last_said(first)
    twice = _ingest_events(files, deliveries=2)  # every file delivered twice
    for kind in ("EnrollmentRejected", "PersonConfirmed"):
        assert _ids(twice, kind) == _ids(first, kind)
    assert sum(_ids(twice, "FileQuarantined").values()) == 1


def test_events_the_bus_did_not_take_are_published_by_the_next_run() -> None:
    with fresh_stack() as stack:
        for file in DAY:
            deliver(stack, file)
        events = stack.client("events")
        events.delete_event_bus(Name=stack.event_bus)  # the bus is gone: PutEvents fails
        assert not stack.publish_events().ok
        assert _outbox(stack)  # nothing taken out
        events.create_event_bus(Name=stack.event_bus)
        bus = resources.capture_events(events, stack.client("sqs"), stack.event_bus)
        assert stack.publish_events().ok
        assert not _outbox(stack)
        published = resources.failures(stack.client("sqs"), [bus])
        assert Counter(e["detail-type"] for e in published) == {"PersonConfirmed": 3,
                                                                "EnrollmentRejected": 1}  # fmt: skip
        assert stack.publish_events().result["published"] == 0  # nothing twice


def _outbox(stack: EmbeddedStack) -> list[dict[str, Any]]:
    items = stack.client("dynamodb").scan(TableName=stack.table)["Items"]
    return [item for item in items if item["pk"]["S"].startswith("OUT#")]
