"""`make bench` (reconciliation part): an insurer's whole population held against ours, one
process, the store faked behind the ports (nothing sent yet: every member is insurer_only,
so every member is compared and every row written). A file over PartBytes or PartMembers is
held part by part, one invocation each as the file workflow runs them (the last part's
process then runs Finish); the figure is the largest invocation's peak RSS, which stays
flat in the file's size. Prints one JSON line.

    python benchmarks/reconciliation.py --members 1000000

With ``--extract``: an insurer's extract (CSV) through the inbound handler's use case
(``ingest_inbound``, the handler's imports loaded), one child process per shape: a header
line that never ends, a data line with no line break, a file over the row limit, and a
file at the row limit, held against nothing sent (one row each) and against ours differing
on every field (13 discrepancy rows a member, the most one member can cost); then extracts
of 1,000,000 and 2,000,000 members split in pieces (PartMembers 5,000, the file workflow
faked): the splitting invocation's time and peak memory, and the pieces' sizes. Prints one
JSON line per shape.

    python benchmarks/reconciliation.py --extract
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PART_BYTES = 32 * 1024 * 1024  # the template's PartBytes default
PART_MEMBERS = 5000  # the template's PartMembers default


def held(count: int) -> Iterator[Any]:
    from acktrack.synthetic.population import HeldMember

    for number in range(1, count + 1):
        yield HeldMember(
            number=number, in_file=number, subscriber_id=f"{300_000_000 + number}",
            member_id=f"E{number:09d}", subscriber_indicator="Y", relationship="18",
            plan="12345OH0010001-01", benefit_begin="20240101", last_name=f"SURNAME{number % 977}",
            first_name="GIVEN", birth_date="19800101", gender="F", ssn=f"{900_000_000 + number}",
            categories=(("PRE AMT TOT", "450.00"), ("APTC AMT", "120.00")),
        )  # fmt: skip


class Shelf:
    def put_lines(self, key: str, lines: Any, content_type: str) -> str:
        for _ in lines:
            pass
        return key


class NothingSent:
    """The store's reads answer "nothing sent to this insurer"; writes are counted."""

    def __init__(self) -> None:
        self.rows = 0
        self.results: dict[int, bytes] = {}
        self.keys: dict[str, list[str]] = {}

    def put_part_keys(self, job: str, index: int, name: str, values: list[str]) -> None:
        self.keys.setdefault(name, []).extend(values)

    def part_keys(self, job: str, name: str) -> Iterator[str]:
        yield from self.keys.get(name, [])

    def family(self, our: str, partner: str, subscriber_id: str) -> Any:
        from acktrack.store.families import Partition

        return Partition([], [], [], set(), [])

    def get_set(self, pk: str, sk: str) -> None:
        return None

    def partners(self) -> list[Any]:
        return []

    def sets_since(
        self, our: str, partner: str, since: str, before: str | None = None
    ) -> list[Any]:
        return []

    def roster(self, our: str, partner: str) -> list[str]:
        return []

    def roster_since(self, our: str, partner: str) -> str | None:
        return None

    def members_of_set(self, item: Any) -> list[Any]:
        return []

    def add_resolution(self, *_: Any, **__: Any) -> bool:
        return True

    def put_discrepancies(self, summary: Any, part: str, rows: list[Any]) -> int:
        self.rows += len(rows)
        return (len(rows) + 499) // 500

    def put_reconciliation(self, summary: Any, rows: list[Any], rcno_key: str | None) -> None:
        self.rows += len(rows)
        self.summary = summary

    def begin_job(self, job: str, parts: int, source: Any, plan: bytes | None = None) -> None:
        self.parts, self.source, self.plan = parts, source, plan

    def job_record(self, job: str) -> Any:
        from acktrack.domain.ports import JobRecord

        return JobRecord(self.source, self.plan)

    def record_part(self, job: str, index: int, result: bytes) -> None:
        self.results.setdefault(index, result)

    def part_results(self, job: str) -> list[bytes]:
        return list(self.results.values())

    def record_object(self, *_: Any) -> None:
        pass

    def finish_job(self, job: str) -> None:
        pass


def write_file(members: int, path: Path) -> None:
    from acktrack.synthetic.population import PopulationSpec, write_audit_834

    with path.open("wb") as out:
        write_audit_834(held(members), out, PopulationSpec(as_of=datetime(2024, 3, 1, 6)),
                        insurer="HEALTHPLAN01", us="ACKTRACKEXCH")  # fmt: skip


def run_part(path: Path, index: int, members: int) -> dict[str, Any]:
    """One invocation's work (a part, or the whole file when ``index`` is -1), its peak RSS."""
    from acktrack.domain.hashing import Keyring
    from acktrack.domain.ports import PipelineConfig
    from acktrack.domain.tracked import ObjectRef
    from acktrack.ingest.parts import POPULATION, PartOrder, cut_ranges, finish_order, pack_plan
    from acktrack.ingest.population_parts import finish_population, ingest_population_part
    from acktrack.ingest.reconciliation import (
        PopulationMeta,
        audit_population,
        reconcile_population,
    )
    from acktrack.x12 import read_x12

    class Source:
        def open(self, ref: Any, start: int = 0, end: int | None = None) -> Any:
            return _Range(path, start, end)

        def quarantine(self, ref: Any, reason: str) -> str:
            raise AssertionError(reason)

    META = PopulationMeta("ACKTRACKEXCH", "HEALTHPLAN01", "20240301", "audit_834")
    store = NothingSent()
    config = PipelineConfig(keyring=Keyring.of(b"k" * 32), part_bytes=PART_BYTES,
                            part_members=PART_MEMBERS)  # fmt: skip
    started = time.perf_counter()
    received = datetime(2024, 3, 1, 7, tzinfo=UTC)
    ref = ObjectRef(
        "inbound", "inbound/HEALTHPLAN01/population.834", path.stat().st_size, "v1", received
    )
    if index < 0:
        with path.open("rb") as stream:
            population = audit_population(read_x12(stream), config.keyring, META)
        reconcile_population(population, "d", received, store, Shelf(), config)  # type: ignore[arg-type]
        parts = 1
    else:
        ranges = cut_ranges(ref, Source(), config, members)  # type: ignore[arg-type]
        parts = len(ranges)
        population = {"our_id": "ACKTRACKEXCH", "partner": "HEALTHPLAN01", "as_of": "20240301",
                      "source": "audit_834", "digest": "d"}  # fmt: skip
        store.begin_job("j", parts, ref, pack_plan([], [], population))
        part = ranges[index]
        order = PartOrder(job="j", index=index, parts=parts, start=part.start, end=part.end,
                          resume=part.resume.to_dict() if part.resume else None,
                          population=population)  # fmt: skip
        ingest_population_part(order, Source(), store, config, Shelf())  # type: ignore[arg-type]
        if index == parts - 1:  # then the workflow's Finish, every other part's result there
            for other in range(parts - 1):
                store.results[other] = _result_of(other, members, parts, store)
            finish = finish_order("j", POPULATION, parts)
            finish_population(finish, Source(), store, config, Shelf())  # type: ignore[arg-type]
    return {"index": index, "parts": parts, "seconds": time.perf_counter() - started,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "rows": store.rows}  # fmt: skip


def _result_of(index: int, members: int, parts: int, store: NothingSent) -> bytes:
    """A finished part's recorded result and keys, as large as a real one's."""
    from acktrack.ingest.parts import pack

    share = members // parts
    named = [f"{300_000_000 + n}" for n in range(index * share + 1, (index + 1) * share + 1)]
    store.put_part_keys("j", index, "named", named)
    return pack({"theirs": share, "ours": 0, "confirmed": 0, "matched": 0, "missing_at_insurer": 0,
                 "insurer_only": share, "by_field": {}, "discrepancies": share, "chunks": 0})  # fmt: skip


class _Range:
    def __init__(self, path: Path, start: int, end: int | None) -> None:
        self.stream = path.open("rb")
        self.stream.seek(start)
        self.left = None if end is None else end - start

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *_: Any) -> None:
        self.stream.close()

    def read(self, size: int = -1) -> bytes:
        if self.left is None:
            return self.stream.read(size)
        size = self.left if size < 0 else min(size, self.left)
        data = self.stream.read(size)
        self.left -= len(data)
        return data


# -- an extract's shapes -----------------------------------------------------------------------

EXTRACT_KEY = "inbound/HEALTHPLAN01/population-2024-03-01.csv"


def write_shape(shape: str, path: Path) -> int:
    """Write one shape of extract to ``path`` (streamed: the writer holds little); its rows."""
    from acktrack.domain.population import MAX_ROWS
    from acktrack.synthetic.population import EXTRACT_COLUMNS

    header = ",".join(EXTRACT_COLUMNS)
    with path.open("w", encoding="utf-8") as out:
        # Long lines written a megabyte at a time: this process stays small (a child
        # process starts with its parent's peak RSS as its own on Linux).
        if shape == "header_30mb":  # a header whose line never ends
            out.write(header + ",")
            for _ in range(30):
                out.write("x" * 1_000_000)
            return 0
        out.write(header + "\n")
        if shape == "line_300mb":  # a data line with no line break
            out.write("300000001,E000000001,")
            for _ in range(300):
                out.write("y" * 1_000_000)
            return 1
        rows = {"rows_1m": 1_000_000, "split_1m": 1_000_000, "split_2m": 2_000_000}.get(
            shape, MAX_ROWS
        )
        for member in held(rows):
            out.write(",".join([
                member.subscriber_id, member.member_id or "", f"C{member.number:08d}",
                f"POL{member.number:07d}", member.relationship, member.subscriber_indicator,
                member.plan, member.benefit_begin, "", "450.00", "120.00", member.last_name,
                member.first_name, member.birth_date, member.gender, member.ssn,
            ]) + "\n")  # fmt: skip
        return rows


class HeldOtherwise(NothingSent):
    """Every subscriber was sent once and accepted, with every compared field other than
    the insurer's: 13 discrepancy rows a member, the most a member can cost."""

    def __init__(self) -> None:
        super().__init__()
        from types import SimpleNamespace

        from acktrack.domain.hashing import Keyring

        self.version = Keyring.of(b"k" * 32).keys[0].version
        self.sent = SimpleNamespace(
            pk="GS#ACKTRACKEXCH#HEALTHPLAN01#1", sk="SET#1", status="accepted",
            status_at="2024-02-01T12:00:00Z", interchange_control="000000001",
            group_control="1", transaction_control="0001",
        )  # fmt: skip

    def get_set(self, pk: str, sk: str) -> Any:
        return self.sent

    def family(self, our: str, partner: str, subscriber_id: str) -> Any:
        from types import SimpleNamespace

        from acktrack.store.families import Partition

        number = int(subscriber_id) - 300_000_000
        other = SimpleNamespace(
            pk=f"FAM#{subscriber_id}", sk="M#1", set_pk=self.sent.pk, set_sk=self.sent.sk,
            set_id="1", sent_at="2024-02-01T06:00:00Z", ordinal=1, first_position=1,
            subscriber_indicator="N", relationship="01", maintenance_type="021",
            maintenance_reason="", subscriber_id=subscriber_id, member_id=f"E{number:09d}",
            carrier_member_id=None, findings=[], effectuated_by=None, effectuated_at=None,
            coverages=[{"insurance_line": "HLT", "plan": "99999OH0010001-01",
                        "benefit_begin": "20230101", "benefit_end": "20251231"}],
            categories={"PRE AMT TOT": "999.00", "APTC AMT": "1.00"},
            hashes={self.version: {"name": "0" * 16, "birth_date": "1" * 16,
                                   "gender": "2" * 16, "ssn": "3" * 16}},
            insurer_member_id=f"OTHER{number}", insurer_policy_ids=[f"OTHERPOL{number}"],
            our_id=our, partner=partner,
        )  # fmt: skip
        return Partition([other], [], [], set(), [])


def run_shape(shape: str, path: Path) -> dict[str, Any]:
    """One invocation of the inbound use case on the extract at ``path``: peak RSS, outcome."""
    from types import SimpleNamespace

    import boto3
    import pynamodb  # noqa: F401
    from aws_lambda_powertools import Logger, Metrics  # noqa: F401

    import acktrack.handlers.ingest  # noqa: F401
    from acktrack.domain.hashing import Keyring
    from acktrack.domain.ports import PipelineConfig
    from acktrack.domain.tracked import ObjectRef
    from acktrack.ingest.inbound import ingest_inbound

    # The handler's own baseline: its SDKs loaded and its four clients made (about 38 MB).
    sdk = [boto3.client(name, region_name="us-east-1")  # type: ignore[call-overload]
           for name in ("s3", "dynamodb", "sqs", "secretsmanager")]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worst = shape.endswith("_held_otherwise")
    store = HeldOtherwise() if worst else NothingSent()
    store.partners = lambda: [SimpleNamespace(our_id="ACKTRACKEXCH", partner="HEALTHPLAN01")]  # type: ignore[method-assign]
    received = datetime(2024, 3, 1, 7, tzinfo=UTC)
    ref = ObjectRef("inbound", EXTRACT_KEY, path.stat().st_size, "v1", received)
    quarantined: list[str] = []

    class Source:
        def open(self, ref: Any, start: int = 0, end: int | None = None) -> Any:
            return _Range(path, start, end)

        def quarantine(self, ref: Any, reason: str) -> str:
            quarantined.append(reason)
            return "quarantine/key"

    started = time.perf_counter()
    split = shape.startswith("split_")  # the template's PartMembers: split in pieces
    config = PipelineConfig(keyring=Keyring.of(b"k" * 32), part_bytes=PART_BYTES,
                            part_members=PART_MEMBERS if split else 0)  # fmt: skip
    pieces, workflow = Pieces(), Workflow()
    outcome = ingest_inbound(ref, Source(), store, config, Shelf(),  # type: ignore[arg-type]
                             workflow if split else None, pieces if split else None)  # fmt: skip
    del sdk
    reason = quarantined[0] if quarantined else ""
    figures = {"shape": shape, "file_mb": round(ref.size / 1e6, 1),
               "outcome": str(outcome.outcome), "reason": reason[:160],
               "rows_written": store.rows, "seconds": round(time.perf_counter() - started, 1),
               "rss_after_imports_mb": round(before), "peak_rss_mb": round(
                   resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}  # fmt: skip
    if split:
        figures.update(pieces=len(pieces.sizes), piece_mb_largest=round(max(pieces.sizes) / 1e6, 2),
                       pieces_mb=round(sum(pieces.sizes) / 1e6, 1), orders=workflow.orders,
                       members=outcome.population, members_largest_piece=max(pieces.members))  # fmt: skip
    return figures


class Pieces:
    """The work area: each piece's size and members counted, nothing kept."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.members: list[int] = []

    def put_piece(self, job: str, index: int, body: bytes) -> None:
        import gzip

        self.sizes.append(len(body))
        self.members.append(gzip.decompress(body).count(b"\n"))


class Workflow:
    def __init__(self) -> None:
        self.orders = 0

    def start(self, job: str, kind: str, orders: list[str]) -> None:
        self.orders = len(orders)


SHAPES = ("header_30mb", "line_300mb", "rows_1m", "at_limit_nothing_sent",
          "at_limit_held_otherwise", "split_1m", "split_2m")  # fmt: skip


def extract_shapes(only: list[str] | None = None) -> int:
    with tempfile.TemporaryDirectory() as folder:
        for shape in only or SHAPES:
            path = Path(folder) / f"{shape}.csv"
            write_shape(shape.replace("_held_otherwise", "").replace("_nothing_sent", ""), path)
            print(json.dumps(child("--shape", shape, str(path))), flush=True)
            path.unlink()
    return 0


def child(*arguments: str) -> dict[str, Any]:
    output = subprocess.run([sys.executable, __file__, *arguments], check=True,
                            capture_output=True, text=True).stdout  # fmt: skip
    return dict(json.loads(output.strip().splitlines()[-1]))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument(
        "--one-go",
        type=int,
        default=100_000,
        metavar="N",
        help="also hold an N-member file in one invocation, the peer figure (0: skip)",
    )
    parser.add_argument(
        "--part", nargs=3, metavar=("FILE", "INDEX", "MEMBERS"), help=argparse.SUPPRESS
    )
    parser.add_argument("--extract", action="store_true", help="the extract's shapes instead")
    parser.add_argument("--only", nargs="+", choices=SHAPES, help="with --extract: these shapes")
    parser.add_argument("--shape", nargs=2, metavar=("SHAPE", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.shape:
        print(json.dumps(run_shape(args.shape[0], Path(args.shape[1]))))
        return 0
    if args.extract:
        return extract_shapes(args.only)
    if args.part:
        print(json.dumps(run_part(Path(args.part[0]), int(args.part[1]), int(args.part[2]))))
        return 0
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "population.834"
        started = time.perf_counter()
        write_file(args.members, path)
        written = time.perf_counter() - started
        first = child("--part", str(path), "0", str(args.members))
        parts = first["parts"]
        middle = child("--part", str(path), str(parts // 2), str(args.members))
        last = child("--part", str(path), str(parts - 1), str(args.members))
        figures: dict[str, Any] = {
            "members": args.members, "file_mb": path.stat().st_size / 1e6, "write_seconds": written,
            "parts": parts, "part_bytes": PART_BYTES, "part_members": PART_MEMBERS, "first": first,
            "middle": middle, "last": last,
        }  # fmt: skip
        if args.one_go:
            small = Path(folder) / "small.834"
            write_file(args.one_go, small)
            figures["one_go"] = {**child("--part", str(small), "-1", str(args.one_go)),
                                 "members": args.one_go, "file_mb": small.stat().st_size / 1e6}  # fmt: skip
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
