"""What acktrack says about a failure it did not expect (a log line, the exception Lambda
writes into the failure queue's record, a worker's report) names types, AWS error codes,
its own messages and code positions: never another library's message, which can quote a
value of the file or an S3 key (a file name can carry a surname)."""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from acktrack.handlers.failures import FunctionFailed, failed, failure_fields
from acktrack.store.dynamo import StoreError
from acktrack.synthetic.enrollment import EnrollmentSpec, write_834
from acktrack.x12 import MemberTransaction
from acktrack.x12.parallel import map_ranges

SURNAME = "QUORTLEBY"


def _raised(error: Exception) -> Exception:
    try:
        raise error
    except Exception as caught:
        return caught


def test_an_aws_refusal_is_told_by_its_code_never_by_its_message() -> None:
    message = f'not authorized to perform: s3:GetObject on resource: "arn:aws:s3:::b/{SURNAME}.834"'
    error = _raised(
        ClientError({"Error": {"Code": "AccessDenied", "Message": message}}, "GetObject")
    )
    fields = failure_fields(error)
    assert (fields["error"], fields["code"], fields["operation"]) == (
        "ClientError", "AccessDenied", "GetObject",
    )  # fmt: skip
    assert fields["at"] and fields["at"][-1].startswith("test_failure_messages.py:")
    assert SURNAME not in repr(fields)
    raised = failed("the report", error)
    assert isinstance(raised, FunctionFailed)
    assert str(raised) == "the report: ClientError (code AccessDenied)"


def test_a_library_message_is_left_out_and_acktracks_own_is_kept() -> None:
    assert SURNAME not in repr(failure_fields(_raised(ValueError(f"invalid literal: '{SURNAME}'"))))
    own = failure_fields(_raised(StoreError("interchange 000001001: DynamoDB kept refusing")))
    assert own["detail"] == "interchange 000001001: DynamoDB kept refusing"
    assert str(failed("part 1 of 2", StoreError("kept refusing"))) == (
        "part 1 of 2: StoreError (detail kept refusing)"
    )


def test_the_fields_can_be_logged() -> None:
    """A log record refuses ``extra`` fields it has itself ("message" among them): logging
    the failure must not fail in its turn."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("acktrack.test_failure_messages")
    logger.addHandler(handler)
    try:
        fields = failure_fields(
            _raised(StoreError("interchange 000001001: DynamoDB kept refusing"))
        )
        logger.error("ingest failed", extra=fields)
    finally:
        logger.removeHandler(handler)
    assert records[-1].detail == "interchange 000001001: DynamoDB kept refusing"  # type: ignore[attr-defined]


class _FailsOnAValueInTheWorker:
    """Fails as a bug would, on a member's last name, in the worker process only."""

    def __init__(self) -> None:
        self.parent = os.getpid()

    def __call__(self, records: Iterator[object]) -> int:
        for record in records:
            if os.getpid() != self.parent and isinstance(record, MemberTransaction):
                int(record.last_name or "")  # ValueError: invalid literal ... 'SURNAME'
        return 0


def test_a_worker_failure_names_where_it_failed_never_the_value(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    generated = write_834(EnrollmentSpec(members=3000, sets_per_group=2, seed=9), buffer)
    path = tmp_path / "big.834"
    path.write_bytes(buffer.getvalue())
    names = {member.person.last_name for _, member in generated.all_members()}
    with pytest.raises(RuntimeError) as raised:
        map_ranges(path, _FailsOnAValueInTheWorker(), workers=2)
    assert [name for name in names if name in str(raised.value)] == []
    assert str(raised.value).startswith("a range worker failed: ValueError at ")
    assert "test_failure_messages.py" in str(raised.value)
