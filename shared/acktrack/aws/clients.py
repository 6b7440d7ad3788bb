"""boto3 clients, created once per container (and on first use, to keep cold starts short)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sesv2 import SESV2Client


def _config(attempts: int = 9) -> Any:
    from botocore.config import Config

    return Config(
        retries={"mode": "standard", "total_max_attempts": attempts},
        connect_timeout=5,
        read_timeout=60,
    )


@lru_cache(maxsize=1)
def s3() -> S3Client:
    import boto3

    return boto3.client("s3", config=_config())


@lru_cache(maxsize=1)
def ses() -> SESV2Client:
    import boto3

    # One attempt: botocore resends after a read timeout or a 5xx, when SES may have sent the
    # first, and an email cannot be unsent. The report's send-once marker (``delivery``) is
    # written before and after this call, never between the SDK's attempts, so only a single
    # attempt keeps "once"; throttling, which proves nothing went out, ``delivery`` retries.
    # tests/reliability/test_faults.py loses an answer inside the SDK and counts the emails.
    return boto3.client("sesv2", config=_config(attempts=1))


@lru_cache(maxsize=1)
def stepfunctions() -> Any:
    import boto3

    return boto3.client("stepfunctions", config=_config())


@lru_cache(maxsize=1)
def events() -> Any:
    import boto3

    return boto3.client("events", config=_config())


@lru_cache(maxsize=1)
def secretsmanager() -> SecretsManagerClient:
    import boto3

    return boto3.client("secretsmanager", config=_config())


def reset() -> None:
    """Forget cached clients (the local stack starts on a new endpoint)."""
    s3.cache_clear()
    ses.cache_clear()
    stepfunctions.cache_clear()
    secretsmanager.cache_clear()
    events.cache_clear()
