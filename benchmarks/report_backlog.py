"""The daily report over a large backlog, with the store faked behind the reads the report
makes: N open rows (half in rejected sets, half in sets past the SLA, 1,000 members a set,
one member per family), collected, archived as JSON and CSV to temporary files and turned
into the email, as the report function does. Prints one JSON line: seconds, peak RSS.

    python benchmarks/report_backlog.py --rows 1000000
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from acktrack.report.collect import collect_report
from acktrack.report.detail_csv import write_csv
from acktrack.report.email import build_email
from acktrack.report.model import write_json
from acktrack.store.families import Partition

AS_OF = datetime(2024, 3, 1, 7, 0, tzinfo=UTC)
SENT = (AS_OF - timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
PER_SET = 1_000


class _Acks:
    def __init__(self, acks: dict[str, Any]) -> None:
        self._acks = acks

    def as_dict(self) -> dict[str, Any]:
        return self._acks


REJECTED = {"999#1": {"kind": "999", "event": "set_rejected", "status": "R", "per_set": True,
                      "codes": ["5"], "errors": [], "at": SENT}}  # fmt: skip


@dataclass
class FakeSet:
    number: int
    pk: str = ""
    sk: str = ""
    set_id: str = ""
    partner: str = "HEALTHPLAN01"
    payer_name: str = "A PLAN"
    interchange_control: str = ""
    group_control: str = "1"
    transaction_control: str = ""
    status: str = "sent"
    status_at: str | None = None
    sent_at: str = SENT
    members: int = PER_SET
    predicted_rejection: bool = False
    acks: Any = None

    def __post_init__(self) -> None:
        self.pk, self.sk = "GS#US#HEALTHPLAN01#1", f"SET#{self.number:09d}"
        self.set_id = f"{self.number:020x}"
        self.interchange_control, self.transaction_control = f"{self.number:09d}", "0001"
        rejected = self.number % 2 == 0
        self.status = "rejected" if rejected else "sent"
        self.status_at = SENT if rejected else None
        self.acks = _Acks(REJECTED if rejected else {})


@dataclass
class FakeMember:
    set_number: int
    ordinal: int
    our_id: str = "US"
    partner: str = "HEALTHPLAN01"
    pk: str = ""
    sk: str = ""
    set_pk: str = "GS#US#HEALTHPLAN01#1"
    set_sk: str = ""
    sent_at: str = SENT
    first_position: int = 0
    subscriber_id: str = ""
    member_id: str | None = None
    carrier_member_id: str | None = None
    maintenance_type: str = "021"
    subscriber_indicator: str = "Y"
    relationship: str = "18"
    findings: list[Any] = field(default_factory=list)
    effectuated_by: str | None = None
    effectuated_at: str | None = None
    coverages: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        number = self.set_number * PER_SET + self.ordinal - 1
        self.subscriber_id = f"{300_000_000 + number}"
        self.member_id = f"E{number:09d}"
        self.pk, self.sk = f"FAM#{number}", f"M#{SENT}#{self.set_number}#{self.ordinal:07d}"
        self.set_sk = f"SET#{self.set_number:09d}"
        self.first_position = self.ordinal * 12
        self.coverages = [{"insurance_line": "HLT", "plan": "PLAN01", "benefit_begin": "20240301"}]


class FakeStore:
    """The reads ``collect_report`` makes, answered from arithmetic: nothing is held."""

    def __init__(self, rows: int) -> None:
        self.sets = rows // PER_SET

    def open_sets(self) -> Any:
        return (FakeSet(number) for number in range(self.sets))

    def members_of_set(self, item: FakeSet) -> Any:
        return (FakeMember(item.number, ordinal) for ordinal in range(1, PER_SET + 1))

    def family(self, our: str, partner: str, subscriber_id: str) -> Partition:
        number = int(subscriber_id) - 300_000_000
        member = FakeMember(number // PER_SET, number % PER_SET + 1)
        return Partition([member], [], [], set(), [])  # type: ignore[list-item]

    def get_set(self, pk: str, sk: str) -> FakeSet:
        return FakeSet(int(sk[4:]))

    def sets_since(self, our: str, partner: str, since: str) -> list[Any]:
        return []  # no insurer is registered (partners), so the first-pass rate reads nothing

    def partners(self) -> list[Any]:
        return []

    def counters(self, *_: Any, **__: Any) -> dict[str, Any]:
        return {}

    def reconciliations(self, since: str) -> list[Any]:
        return []

    def discrepancy_rows(self, item: Any) -> list[dict[str, Any]]:
        return []

    def unmatched_acks(self, since: str) -> list[Any]:
        return []

    def quarantined(self, since: str) -> list[Any]:
        return []

    def notices(self, since: str) -> list[Any]:
        return []

    def other_usage(self, since: str) -> list[Any]:
        return []

    def control_numbers(self, our: str, partner: str, direction: str, level: str) -> list[Any]:
        return []

    def never_sent(self, due_by: str) -> list[Any]:
        return []

    def quality_findings(self, since: str) -> list[Any]:
        return []

    def operator_resolutions(self, since: str, until: str) -> list[Any]:
        return []

    def awaiting_effectuation(self, cutoff: str) -> list[Any]:
        return []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="open rows (default 1,000,000)")
    args = parser.parse_args()
    started = time.perf_counter()
    report = collect_report(FakeStore(args.rows), AS_OF, 48.0, 7, 0)
    collected = time.perf_counter() - started
    with tempfile.TemporaryFile() as json_file, tempfile.TemporaryFile() as csv_file:
        write_json(report, json_file)
        csv_bytes = write_csv(report.unconfirmed, csv_file)
        json_bytes = json_file.tell()
    message = build_email(report.to_json(rows=False), "acktrack@example.org", ["ops@example.org"],
                          attach_csv=False, csv_location="s3://reports/...")  # fmt: skip
    figures = {
        "rows": len(report.unconfirmed),
        "people": report.summary["people_unconfirmed"],
        "seconds": round(time.perf_counter() - started, 1),
        "collect_seconds": round(collected, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "json_mb": round(json_bytes / 1e6, 1),
        "csv_mb": round(csv_bytes / 1e6, 1),
        "email_kb": round(len(message) / 1e3, 1),
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
