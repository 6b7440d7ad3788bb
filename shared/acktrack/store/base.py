"""The table the stores share: bound once per container, one botocore client."""

from __future__ import annotations

from typing import Any

from pynamodb.connection import Connection

from acktrack.store.models import (
    SetItem,
    bind,
)
from acktrack.store.set_acks import SetAckWriter


class TableStore:
    """The table the models are bound to, and what every store role shares."""

    def __init__(
        self,
        table_name: str,
        region: str,
        host: str | None = None,
        writer_threads: int = 4,
        retention_days: int = 0,
        raw_retention_days: int = 0,
    ) -> None:
        bind(table_name, region, host)
        self.writer_threads = writer_threads
        self.retention_days = retention_days  # member-level items expire (TTL); 0 keeps them
        # What the report lists by day (unmatched acknowledgments, quarantined files, notices)
        # expires with the raw files it is about; 0 keeps it.
        self.raw_retention_days = raw_retention_days
        self._set_acks = SetAckWriter(self._connection)

    def _connection(self) -> Connection:
        return SetItem._get_connection().connection

    @property
    def client(self) -> Any:
        """The botocore DynamoDB client every model shares (for request-counting hooks)."""
        return self._connection().client
