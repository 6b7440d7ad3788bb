"""Clients, the repository and settings, created once per container on first use, and the
same repository for the CLI and the embedded stack (``open_repository``)."""

from __future__ import annotations

import logging
import time
from functools import lru_cache
from typing import TYPE_CHECKING

from acktrack import settings as settings_module
from acktrack.domain.hashing import Keyring
from acktrack.domain.ports import PipelineConfig

if TYPE_CHECKING:
    from acktrack.aws.objects import S3Archive, S3ObjectSource
    from acktrack.aws.parts import S3PartPieces, StepFunctionsPartWorkflow
    from acktrack.store.repository import Repository


# The SDKs log request and response bodies at DEBUG: item contents, that is PHI. Whatever
# level acktrack's own logger runs at, they log warnings and errors only.
_SDK_LOGGERS = ("botocore", "boto3", "pynamodb", "urllib3", "s3transfer")


def quiet_sdk_loggers() -> None:
    for name in _SDK_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


quiet_sdk_loggers()


def open_repository(
    table: str,
    region: str,
    *,
    host: str | None = None,
    retention_days: int = 0,
    writer_threads: int = 4,
) -> Repository:
    """The tracking table's repository, as every entry point opens it."""
    from acktrack.store.repository import Repository

    store = Repository(table, region, host=host, writer_threads=writer_threads)
    store.retention_days = retention_days
    return store


def repository() -> Repository:
    """The container's repository; its settings follow the function (the local stack runs
    several functions in one process)."""
    store = _repository()
    current = settings_module.settings()
    store.retention_days = current.retention_days
    store.raw_retention_days = current.raw_retention_days
    return store


@lru_cache(maxsize=1)
def _repository() -> Repository:
    current = settings_module.settings()
    return open_repository(current.table_name, current.region,
                           writer_threads=current.writer_threads)  # fmt: skip


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
def part_workflow() -> StepFunctionsPartWorkflow | None:
    """What runs the parts of a large file (None: files are never cut)."""
    from acktrack.aws.parts import StepFunctionsPartWorkflow

    current = settings_module.settings()
    if not (current.file_workflow_arn and current.reports_bucket):
        return None
    return StepFunctionsPartWorkflow(current.file_workflow_arn, current.reports_bucket,
                                     current.file_map_concurrency)  # fmt: skip


@lru_cache(maxsize=1)
def part_pieces() -> S3PartPieces | None:
    """Where a split extract's pieces are kept (None: no reports bucket configured)."""
    from acktrack.aws.parts import S3PartPieces

    bucket = settings_module.settings().reports_bucket
    return S3PartPieces(bucket) if bucket else None


def pipeline_config() -> PipelineConfig:
    current = settings_module.settings()
    return PipelineConfig(
        our_sender_ids=current.our_sender_ids,
        envelope_zone=current.envelope_zone,
        max_object_bytes=current.max_object_bytes,
        part_bytes=current.part_bytes,
        part_members=current.part_members,
        sets_per_partition=current.sets_per_partition,
        expected_send_hours=current.expected_send_hours,
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
    part_workflow.cache_clear()
    part_pieces.cache_clear()
    archive.cache_clear()
    _keyrings.clear()  # each function reads the key with its own role, as in Lambda


def reset() -> None:
    """Forget every per-container object (the local stack starts on a new endpoint)."""
    from acktrack.aws import clients

    settings_module.reset()
    _repository.cache_clear()
    object_source.cache_clear()
    part_workflow.cache_clear()
    part_pieces.cache_clear()
    archive.cache_clear()
    _keyrings.clear()
    clients.reset()
