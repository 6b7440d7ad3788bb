"""What the Lambda handlers share: per-container factories and the S3-event loop.

Clients, the repository and settings are created once per container, on first use.
Each S3 record is handled on its own: a bad file is quarantined, an unexpected
failure of one record does not stop the others, and is raised at the end so that
Lambda retries the event and, in the end, sends it to the on-failure destination.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from acktrack import settings as settings_module
from acktrack.domain.hashing import Keyring
from acktrack.domain.ports import Outcome, PipelineConfig
from acktrack.domain.status import FileOutcome
from acktrack.domain.tracked import ObjectRef

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics

    from acktrack.aws.objects import S3Archive, S3ObjectSource
    from acktrack.aws.queue import SqsPartQueue
    from acktrack.report.document import PartnerLine, Summary
    from acktrack.store.repository import Repository


# The SDKs log request and response bodies at DEBUG: item contents, that is PHI. Whatever
# level acktrack's own logger runs at, they log warnings and errors only.
_SDK_LOGGERS = ("botocore", "boto3", "pynamodb", "urllib3", "s3transfer")


def quiet_sdk_loggers() -> None:
    for name in _SDK_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


quiet_sdk_loggers()


class FunctionFailed(RuntimeError):
    """What a handler raises for a failure it did not expect. Lambda logs it and writes it
    into the failure queue's record (``errorMessage``, ``errorType``, ``stackTrace``), so
    its message says only what ``failure_fields`` lets a log line say."""


def failure_fields(error: BaseException) -> dict[str, Any]:
    """What a log line, or the failure queue, may say about an exception: its type, an AWS
    error's code and operation, acktrack's own message (written to carry counts, codes and
    hashes only), and where it was raised (file, line and function, no values). Never
    another library's message: S3's AccessDenied names the object's key, which can name a
    person; ``int('SMITH')`` names the value."""
    import traceback

    fields: dict[str, Any] = {"error": type(error).__name__}
    response = getattr(error, "response", None)  # botocore's ClientError
    if isinstance(response, dict):
        fields["code"] = str(response.get("Error", {}).get("Code", ""))
        fields["operation"] = str(getattr(error, "operation_name", ""))
    elif getattr(error, "cause_response_code", None):  # PynamoDB's, around a ClientError
        fields["code"] = str(error.cause_response_code)  # type: ignore[attr-defined]
    if type(error).__module__.startswith("acktrack."):
        fields["message"] = str(error)
    frames = traceback.extract_tb(error.__traceback__)[-6:]
    fields["at"] = [f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno} {frame.name}"
                    for frame in frames]  # fmt: skip
    return fields


def failed(what: str, error: BaseException) -> FunctionFailed:
    """The exception a handler raises in place of ``error`` (see ``FunctionFailed``)."""
    fields = failure_fields(error)
    said = ", ".join(f"{name} {fields[name]}" for name in ("code", "message") if fields.get(name))
    return FunctionFailed(f"{what}: {fields['error']}" + (f" ({said})" if said else ""))


def repository() -> Repository:
    """The container's repository; its settings follow the function (the local stack runs
    several functions in one process)."""
    store = _repository()
    store.retention_days = settings_module.settings().retention_days
    return store


@lru_cache(maxsize=1)
def _repository() -> Repository:
    from acktrack.store.repository import Repository

    current = settings_module.settings()
    return Repository(current.table_name, current.region, writer_threads=current.writer_threads)


@lru_cache(maxsize=1)
def object_source() -> S3ObjectSource:
    from acktrack.aws.objects import S3ObjectSource

    return S3ObjectSource(settings_module.settings().quarantine_prefix)


@lru_cache(maxsize=1)
def archive() -> S3Archive | None:
    """Where reconciliation files go (None: no reports bucket configured)."""
    from acktrack.aws.objects import S3Archive

    bucket = settings_module.settings().reports_bucket
    return S3Archive(bucket) if bucket else None


@lru_cache(maxsize=1)
def part_queue() -> SqsPartQueue | None:
    """Where the parts of a large outbound file go (None: files are never cut)."""
    from acktrack.aws.queue import SqsPartQueue

    url = settings_module.settings().parts_queue_url
    return SqsPartQueue(url) if url else None


def pipeline_config() -> PipelineConfig:
    current = settings_module.settings()
    return PipelineConfig(
        our_sender_ids=current.our_sender_ids,
        envelope_zone=current.envelope_zone,
        max_object_bytes=current.max_object_bytes,
        part_bytes=current.part_bytes,
        require_insurer_folders=current.require_insurer_folders,
        tracked_usage=current.tracked_usage,
        keyring=keyring(current.demographics_hash_key),
        ack_sla_hours=current.ack_sla_hours,
    )


_KEY_SECONDS = 900.0  # the key is read again after this long (a rotation, a restored secret)
_keyrings: dict[str | None, tuple[float, Keyring]] = {}


def keyring(secret: str | None) -> Keyring:
    """The stack's keys for demographic hashes: the secret's current version and, while a
    rotation is under way, its previous one (Secrets Manager's AWSCURRENT and AWSPREVIOUS).
    Read once per container and again every 15 minutes. None configured: no hashing. A
    secret that cannot be read, or is too short, is a ``problem``: tracking goes on without
    demographic hashes, and the outcome says so (a notice and a metric)."""
    if not secret:
        return Keyring()
    known = _keyrings.get(secret)
    if known is not None and time.monotonic() - known[0] < _KEY_SECONDS:
        return known[1]
    found = _read_keyring(secret)
    _keyrings[secret] = (time.monotonic(), found)
    return found


def _read_keyring(secret: str) -> Keyring:
    from botocore.exceptions import BotoCoreError, ClientError

    from acktrack.aws import clients

    client = clients.secretsmanager()
    try:
        current = client.get_secret_value(SecretId=secret)["SecretString"].encode()
    except (BotoCoreError, ClientError, KeyError) as error:
        code = getattr(error, "response", {}).get("Error", {}).get("Code", type(error).__name__)
        return Keyring(problem=f"the demographic hash key cannot be read ({code})")
    try:
        previous: bytes | None = client.get_secret_value(
            SecretId=secret, VersionStage="AWSPREVIOUS"
        )["SecretString"].encode()
    except (BotoCoreError, ClientError, KeyError):
        previous = None  # no rotation under way
    return Keyring.of(current, previous)


def reset_settings() -> None:
    """Forget the settings only (the local stack runs another function in the same container)."""
    settings_module.reset()
    part_queue.cache_clear()
    archive.cache_clear()
    _keyrings.clear()  # each function reads the key with its own role, as in Lambda


def reset() -> None:
    """Forget every per-container object (the local stack starts on a new endpoint)."""
    from acktrack.aws import clients

    settings_module.reset()
    _repository.cache_clear()
    object_source.cache_clear()
    part_queue.cache_clear()
    archive.cache_clear()
    _keyrings.clear()
    clients.reset()


def object_refs(event: dict[str, Any]) -> list[ObjectRef]:
    """The objects an S3 ObjectCreated event names (keys arrive URL-encoded)."""
    from aws_lambda_powertools.utilities.data_classes import S3Event

    refs = []
    for record in S3Event(event).records:
        obj = record.s3.get_object
        try:
            received = datetime.fromisoformat(record.event_time.replace("Z", "+00:00"))
        except (KeyError, ValueError, AttributeError):
            received = datetime.now(UTC)
        refs.append(
            ObjectRef(
                bucket=record.s3.bucket.name,
                key=unquote_plus(obj.key),
                size=obj.get("size"),
                version_id=obj.get("versionId"),
                received_at=received,
            )
        )
    return refs


def handle_s3_event(event: dict[str, Any], direction: str, logger: Logger | logging.Logger,
                    metrics: Metrics | None = None) -> dict[str, Any]:  # fmt: skip
    """Ingest every object of an S3 event (``direction``: outbound or inbound)."""
    from acktrack.ingest.inbound import ingest_inbound
    from acktrack.ingest.outbound import ingest_outbound

    results: list[dict[str, Any]] = []
    failures = 0
    refs = object_refs(event)
    logger.debug(
        "event received", extra={"direction": direction, "objects": [r.key_hash for r in refs]}
    )
    for ref in refs:
        try:
            if direction == "outbound":
                outcome = ingest_outbound(
                    ref, object_source(), repository(), pipeline_config(), part_queue()
                )
            else:
                outcome = ingest_inbound(
                    ref, object_source(), repository(), pipeline_config(), archive(), part_queue()
                )
        except Exception as error:
            # A bug or an AWS failure (not bad input): log without data, retry the event later.
            failures += 1
            logger.error("ingest failed", extra={"object": ref.key_hash, **failure_fields(error)})
            continue
        log = {"object": ref.key_hash, "direction": direction, **outcome.to_log()}
        logger.debug(
            "object detail",
            extra={"object": ref.key_hash, "size": ref.size, "by_insurer": outcome.by_partner,
                   "findings": outcome.findings, "notices": outcome.notices},
        )  # fmt: skip
        if outcome.outcome == FileOutcome.QUARANTINED:
            logger.warning("file quarantined", extra=log)
        elif outcome.outcome == FileOutcome.FANNED_OUT:  # its last part logs and counts the file
            logger.info("file cut in parts", extra=log)
            results.append(log)
            continue
        else:
            logger.info("file processed", extra=log)
        _metrics(metrics, outcome)
        results.append(log)
    if failures:
        raise RuntimeError(
            f"{failures} of {len(results) + failures} objects failed; the event will be retried"
        )
    return {"objects": results}


def handle_part_event(
    event: dict[str, Any], logger: Logger | logging.Logger, metrics: Metrics | None = None
) -> dict[str, Any]:
    """SQS: ingest each part of a large outbound file; failed messages are reported back
    (partial batch response, Powertools' BatchProcessor) so SQS redelivers them, and in the
    end dead-letters them."""
    from aws_lambda_powertools.utilities.batch import (
        BatchProcessor,
        EventType,
        process_partial_response,
    )
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from acktrack.ingest.parts import BadPartOrder, PartOrder, ingest_part
    from acktrack.ingest.population_parts import ingest_population_part

    def one(record: SQSRecord) -> None:
        try:
            order = PartOrder.from_message(record.body or "")
        except BadPartOrder as error:
            logger.error(
                "part order unreadable",
                extra={"message_id": record.message_id, "reason": str(error)},
            )
            raise  # kept in the queue, then the failure queue: never lost
        # The job names the file (its S3 function logged the object's hash with it).
        where = {"job": order.job, "part": order.index + 1, "parts": order.parts}
        try:
            if order.population is not None:  # an insurer's population, not an outbound file
                outcome = ingest_population_part(
                    order, object_source(), repository(), pipeline_config(), archive()
                )
            else:
                outcome = ingest_part(order, object_source(), repository(), pipeline_config())
        except Exception as error:  # the message goes back to SQS: kept, then dead-lettered
            logger.error("part failed", extra={**where, **failure_fields(error)})
            raise failed(f"part {order.index + 1} of {order.parts}", error) from None
        if outcome.outcome == FileOutcome.PART:
            logger.info("part processed", extra={**where, **outcome.to_log()})
        else:  # the last part finished the file
            direction = "inbound" if order.population else "outbound"
            logger.info(
                "file processed", extra={**where, "direction": direction, **outcome.to_log()}
            )
            _metrics(metrics, outcome)

    # Every message failing is reported like any other partial failure, not raised.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    response = process_partial_response(event=event, record_handler=one, processor=processor)
    return dict(response)


_PARTNER_METRICS = {
    "sent": "MembersSent",
    "accepted": "MembersAccepted",
    "rejected": "MembersRejected",
    "effectuated": "MembersEffectuated",
    "findings": "DataQualityFindings",
}


def insurer_metric(
    metrics: Metrics, name: str, value: float, insurer: str, unit: str = "Count"
) -> None:
    """One EMF metric with an insurer dimension (an insurer id is not PHI)."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    with single_metric(
        name=name, unit=MetricUnit(unit), value=value, namespace=metrics.namespace,
        default_dimensions=metrics.default_dimensions,
    ) as metric:  # fmt: skip
        metric.add_dimension(name="insurer", value=insurer[:250])


def _metrics(metrics: Metrics | None, outcome: Outcome) -> None:
    if metrics is None:
        return
    from aws_lambda_powertools.metrics import MetricUnit

    metrics.add_metric(name="FilesProcessed", unit=MetricUnit.Count, value=1)
    if outcome.outcome == FileOutcome.QUARANTINED:
        metrics.add_metric(name="FilesQuarantined", unit=MetricUnit.Count, value=1)
    if "hash_key_unavailable" in outcome.notices:  # tracking goes on; hashing waits
        metrics.add_metric(name="HashKeyUnavailable", unit=MetricUnit.Count, value=1)
    if outcome.other_usage:  # in no other figure: test files on a production stack, say
        metrics.add_metric(name="FilesOfOtherUsage", unit=MetricUnit.Count, value=1)
    if outcome.members:
        metrics.add_metric(name="MembersTracked", unit=MetricUnit.Count, value=outcome.members)
    if outcome.duplicates:
        metrics.add_metric(
            name="DuplicateInterchanges", unit=MetricUnit.Count, value=outcome.duplicates
        )
    if outcome.applied:
        metrics.add_metric(
            name="AcknowledgmentsApplied", unit=MetricUnit.Count, value=outcome.applied
        )
    if outcome.unmatched:
        metrics.add_metric(
            name="AcknowledgmentsUnmatched", unit=MetricUnit.Count, value=outcome.unmatched
        )
    totals: dict[str, float] = {}
    for partner, values in sorted(outcome.by_partner.items()):
        for key, name in _PARTNER_METRICS.items():
            if values.get(key):
                insurer_metric(metrics, name, values[key], partner)
                totals[name] = totals.get(name, 0) + values[key]
    for name, value in totals.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    for partner, seconds in outcome.ack_seconds:  # from the 834's envelope time to the first 999
        insurer_metric(metrics, "TimeToAcknowledgment", seconds, partner, unit="Seconds")
        metrics.add_metric(name="TimeToAcknowledgment", unit=MetricUnit.Seconds, value=seconds)


def report_metrics(metrics: Metrics, summary: Summary, by_partner: list[PartnerLine]) -> None:
    """The backlog as of the report, overall and per insurer (the alarms read these)."""
    from aws_lambda_powertools.metrics import MetricUnit

    overall = {
        "MembersUnconfirmed": summary["unconfirmed"],
        "MembersPending": summary["pending_overdue"] + summary["pending_within_sla"],
        "MembersPendingOverdue": summary["pending_overdue"],
        "MembersNotEffectuated": summary.get("not_effectuated", 0),
        "PeopleUnconfirmed": summary.get("people_unconfirmed", 0),
        "ResolvedByResend": summary.get("resolved_by_resend", 0),
        "ResolvedByOperator": summary.get("resolved_by_operator", 0),
    }
    for name, value in overall.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    metrics.add_metric(
        name="RejectionRate", unit=MetricUnit.Percent, value=100 * summary["window_error_rate"]
    )
    for entry in by_partner:
        partner = entry["partner"]
        insurer_metric(metrics, "MembersPending",
                       entry["pending_overdue"] + entry["pending_within_sla"], partner)  # fmt: skip
        insurer_metric(metrics, "MembersPendingOverdue", entry["pending_overdue"], partner)
        insurer_metric(metrics, "MembersNotEffectuated", entry.get("not_effectuated", 0), partner)
        insurer_metric(
            metrics, "RejectionRate", 100 * entry["window_error_rate"], partner, "Percent"
        )


def report_time(event: dict[str, Any]) -> datetime:
    """The moment a report is built as of: the schedule's time, else now."""
    raw = event.get("as_of") if isinstance(event, dict) else None
    if raw:
        try:
            moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
        except ValueError:
            moment = datetime.now(UTC)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return datetime.now(UTC)


def run_report(
    event: dict[str, Any], logger: Logger | logging.Logger, metrics: Metrics | None = None
) -> dict[str, Any]:
    """Build the report as of the schedule time, archive it and email it."""
    try:
        return _run_report(event, logger, metrics)
    except Exception as error:  # Lambda retries the run, then the failure queue keeps it
        logger.error("report failed", extra=failure_fields(error))
        raise failed("the report", error) from None


def _run_report(
    event: dict[str, Any], logger: Logger | logging.Logger, metrics: Metrics | None
) -> dict[str, Any]:
    from acktrack.aws.delivery import deliver
    from acktrack.report.collect import collect_report
    from acktrack.report.ledgers import open_still

    current = settings_module.settings()
    as_of = report_time(event)
    kept = repository().keep_open_members(
        as_of, still_open=open_still(repository(), as_of, current.ack_sla_hours)
    )
    if kept:
        logger.info("retention pushed back for open members", extra={"members": kept})
    report = collect_report(
        repository(),
        as_of,
        current.ack_sla_hours,
        current.report_window_days,
        current.effectuation_sla_days,
        keep_rows=current.email_detail_rows,
        first_pass_people=current.first_pass_people,
    )
    try:
        delivered = deliver(report, current)
    finally:
        report.unconfirmed.close()  # the spooled rows: a warm container keeps no file behind
    uncertain = delivered.get("email", {}).get("uncertain")
    if uncertain:
        logger.error("report email may not have gone out", extra={"report_date": uncertain,
                     "note": delivered["email"]["note"]})  # fmt: skip
    counts = {key: report.summary[key] for key in ("members_sent", "confirmed", "rejected", "pending_overdue",
                                                    "pending_within_sla", "unmatched_acks", "quarantined",
                                                    "people_unconfirmed", "resolved_by_resend",
                                                    "resolved_by_operator")}  # fmt: skip
    logger.info(
        "report delivered", extra={"as_of": as_of.isoformat(), "reads": report.reads, **counts}
    )
    if metrics is not None:
        report_metrics(metrics, report.summary, report.by_partner)
    return {"as_of": as_of.isoformat(), "summary": report.summary, **delivered}
