"""S3 objects for the pipeline: streamed reads, and quarantine with a recorded reason."""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, BinaryIO, cast
from urllib.parse import quote

from acktrack.aws import clients
from acktrack.domain.tracked import ObjectRef

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import CopySourceTypeDef


MAX_KEY_BYTES = 1024  # S3's limit on a key


def quarantine_key(prefix: str, key: str) -> str:
    """``prefix + key``, or, when that is longer than S3 allows, as much of the key as fits
    followed by a hash of the whole key (distinct keys stay distinct)."""
    target = prefix + key
    if len(target.encode()) <= MAX_KEY_BYTES:
        return target
    digest = "#" + hashlib.sha256(key.encode()).hexdigest()[:32]
    room = MAX_KEY_BYTES - len((prefix + digest).encode())
    kept = key.encode()[:room].decode("utf-8", "ignore")
    return prefix + kept + digest


class S3ObjectSource:
    """Reads objects as streams (never whole) and copies unusable ones aside."""

    def __init__(self, quarantine_prefix: str) -> None:
        self.quarantine_prefix = quarantine_prefix

    @contextmanager
    def open(self, ref: ObjectRef, start: int = 0, end: int | None = None) -> Iterator[BinaryIO]:
        arguments = {"Bucket": ref.bucket, "Key": ref.key}
        if start or end is not None:  # a part of a large file: a ranged GET
            arguments["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        if ref.version_id:
            arguments["VersionId"] = (
                ref.version_id
            )  # the version the event announced, not a newer one
        response = clients.s3().get_object(**arguments)  # type: ignore[arg-type]
        body = response["Body"]
        try:
            yield cast(BinaryIO, body)
        finally:
            body.close()

    def quarantine(self, ref: ObjectRef, reason: str) -> str:
        """Copy to <prefix><key>, the reason in metadata and a tag; the original stays."""
        target = quarantine_key(self.quarantine_prefix, ref.key)
        reason_ascii = reason.encode("ascii", "replace").decode()[:1024]
        tag_value = re.sub(r"[^a-zA-Z0-9 _.:/=+\-@]", " ", reason_ascii)[:250]  # tag alphabet
        source: CopySourceTypeDef = {"Bucket": ref.bucket, "Key": ref.key}
        if ref.version_id:
            source["VersionId"] = ref.version_id
        clients.s3().copy_object(
            Bucket=ref.bucket,
            Key=target,
            CopySource=source,
            MetadataDirective="REPLACE",
            Metadata={"acktrack-reason": reason_ascii},
            TaggingDirective="REPLACE",
            Tagging=f"acktrack=quarantined&reason={quote(tag_value)}",
        )
        return target


class S3Archive:
    """Writes files acktrack makes (reconciliation results) to the reports bucket."""

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket

    def put_lines(self, key: str, lines: Iterable[str], content_type: str) -> str:
        with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool:
            for line in lines:
                spool.write(line.encode())
            spool.seek(0)
            clients.s3().upload_fileobj(
                spool, self.bucket, key, ExtraArgs={"ContentType": content_type}
            )
        return key
