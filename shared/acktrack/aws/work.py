"""The report workflow's work area in S3 (under ``work/<report time>/`` in the reports bucket,
expired by a lifecycle rule): what one task hands the next, and the archive assembled from
the batches' pieces.

An archived JSON or CSV is put together by a multipart upload: a piece of 5 MiB or more is
copied by S3 itself (``UploadPartCopy``: not read again); smaller pieces are read and joined
until a part is large enough (S3 takes no part under 5 MiB but the last). Memory stays
under two parts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from acktrack.aws import clients

MIN_PART = 5 * 1024 * 1024  # S3's smallest part but the last


class S3Work:
    def __init__(self, bucket: str, prefix: str) -> None:
        self.bucket, self.prefix = bucket, prefix.rstrip("/") + "/"

    def key(self, name: str) -> str:
        return self.prefix + name

    def put(self, name: str, body: bytes, content_type: str = "application/octet-stream") -> None:
        clients.s3().put_object(Bucket=self.bucket, Key=self.key(name), Body=body,
                                ContentType=content_type)  # fmt: skip

    def put_json(self, name: str, value: Any) -> None:
        self.put(name, json.dumps(value, separators=(",", ":")).encode(), "application/json")

    def get(self, name: str) -> bytes:
        body: bytes = clients.s3().get_object(Bucket=self.bucket, Key=self.key(name))["Body"].read()
        return body

    def get_json(self, name: str) -> Any:
        return json.loads(self.get(name))

    def put_list(self, name: str, items: Iterable[Any]) -> int:
        """A JSON array written as it comes (a batch list can be large); its length."""
        count = 0

        def chunks() -> Iterator[bytes]:
            nonlocal count
            yield b"["
            for item in items:
                yield (b"," if count else b"") + json.dumps(item, separators=(",", ":")).encode()
                count += 1
            yield b"]"

        self.compose_bytes(name, chunks())
        return count

    def compose_bytes(self, name: str, chunks: Iterable[bytes]) -> int:
        """One object from chunks of bytes, uploaded in parts as they come; its size."""
        return _Upload(self.bucket, self.key(name)).run((chunk, None) for chunk in chunks)

    def compose(
        self, target_bucket: str, target_key: str, head: bytes,
        pieces: Iterable[tuple[str, int, int]], tail: bytes, content_type: str,
    ) -> int:  # fmt: skip
        """``head``, then each piece (name, first byte, size) of the work area, then ``tail``,
        as one object; its size."""
        parts: list[tuple[bytes, tuple[str, int, int] | None]] = [(head, None)]
        parts += [(b"", (self.key(name), start, size)) for name, start, size in pieces if size]
        parts.append((tail, None))
        return _Upload(target_bucket, target_key, content_type, self.bucket).run(iter(parts))


class _Upload:
    """A multipart upload fed bytes and copies of other objects' ranges."""

    def __init__(self, bucket: str, key: str, content_type: str = "application/octet-stream",
                 source_bucket: str = "") -> None:  # fmt: skip
        self.bucket, self.key, self.content_type = bucket, key, content_type
        self.source_bucket = source_bucket
        self.buffer = bytearray()
        self.parts: list[dict[str, Any]] = []
        self.upload_id = ""
        self.size = 0

    def run(self, feed: Iterator[tuple[bytes, tuple[str, int, int] | None]]) -> int:
        s3 = clients.s3()
        try:
            for data, copy in feed:
                self.buffer += data
                if copy is not None:
                    self._copy(*copy)
                if len(self.buffer) >= 2 * MIN_PART:
                    self._flush()
            if not self.parts:  # small: one object
                s3.put_object(Bucket=self.bucket, Key=self.key, Body=bytes(self.buffer),
                              ContentType=self.content_type)  # fmt: skip
                return len(self.buffer)
            self._flush(last=True)
            s3.complete_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id,
                                         MultipartUpload={"Parts": self.parts})  # type: ignore[typeddict-item]  # fmt: skip
            return self.size
        except BaseException:
            if self.upload_id:
                s3.abort_multipart_upload(Bucket=self.bucket, Key=self.key,
                                          UploadId=self.upload_id)  # fmt: skip
            raise

    def _start(self) -> None:
        if not self.upload_id:
            self.upload_id = clients.s3().create_multipart_upload(
                Bucket=self.bucket, Key=self.key, ContentType=self.content_type
            )["UploadId"]

    def _flush(self, last: bool = False) -> None:
        if not self.buffer:
            return  # (the last part may be empty: then there is none)
        self._start()
        number = len(self.parts) + 1
        answer = clients.s3().upload_part(Bucket=self.bucket, Key=self.key, PartNumber=number,
                                          UploadId=self.upload_id, Body=bytes(self.buffer))  # fmt: skip
        self.parts.append({"PartNumber": number, "ETag": answer["ETag"]})
        self.size += len(self.buffer)
        self.buffer = bytearray()

    def _copy(self, key: str, start: int, size: int) -> None:
        """A piece: copied by S3 when it can be a part of its own (5 MiB or more, after a
        buffer of 5 MiB or more, or none), else read into the buffer."""
        s3 = clients.s3()
        end = start + size  # exclusive
        if len(self.buffer) < MIN_PART and size >= 2 * MIN_PART:
            top = MIN_PART - len(self.buffer) if self.buffer else 0
            if top:  # fill the buffer to a part from the piece's start, then copy the rest
                self.buffer += _read(self.source_bucket, key, start, start + top)
                start += top
                self._flush()
        elif size < MIN_PART or len(self.buffer) < MIN_PART:
            self.buffer += _read(self.source_bucket, key, start, end)
            return
        if self.buffer:
            self._flush()
        self._start()
        number = len(self.parts) + 1
        answer = s3.upload_part_copy(
            Bucket=self.bucket, Key=self.key, PartNumber=number, UploadId=self.upload_id,
            CopySource={"Bucket": self.source_bucket, "Key": key},
            CopySourceRange=f"bytes={start}-{end - 1}",
        )  # fmt: skip
        self.parts.append({"PartNumber": number, "ETag": answer["CopyPartResult"]["ETag"]})
        self.size += end - start


def _read(bucket: str, key: str, start: int, end: int) -> bytes:
    if end <= start:
        return b""
    answer = clients.s3().get_object(Bucket=bucket, Key=key, Range=f"bytes={start}-{end - 1}")
    body: bytes = answer["Body"].read()
    return body
