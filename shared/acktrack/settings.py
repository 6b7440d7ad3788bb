"""Typed settings, read once from the environment (per container) and validated."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable, never a secret."""


@dataclass(frozen=True, slots=True)
class Settings:
    table_name: str
    region: str
    our_sender_ids: tuple[str, ...]  # ISA06 values we send as; empty: accept any
    ack_sla_hours: float
    envelope_timezone: str
    quarantine_prefix: str
    reports_bucket: str | None
    report_sender: str | None
    report_recipients: tuple[str, ...]
    report_timezone: str
    report_window_days: int
    report_max_attachment_bytes: int
    email_detail_rows: int
    report_configuration_set: str | None  # SES configuration set (TLS required)
    effectuation_sla_days: int
    max_object_bytes: int
    writer_threads: int
    part_bytes: int = 0  # outbound files larger than this are cut in parts (0: never)
    part_members: int = 0  # outbound files with more members than this too (0: by bytes only)
    sets_per_partition: int = 10_000  # a group version of more sets spreads them (0: never)
    expected_send_hours: float = 24.0  # an expected action unsent this long: never sent
    sequence_history: int = 20  # consecutive control numbers before a missing one is a gap
    file_workflow_arn: str | None = None  # the file workflow (None: files are never cut)
    file_map_concurrency: int = 10  # parts of one file run at once
    retention_days: int = 0  # member-level items expire this long after sending (0: kept)
    raw_retention_days: int = 0  # the report's lists expire with the raw files (0: kept)
    require_insurer_folders: bool = False  # inbound files only under inbound/<insurer id>/
    tracked_usage: str = "P"  # ISA15 tracked: P production, T test
    demographics_hash_key: str | None = None  # the secret keying the demographic hashes
    first_pass_people: int = 15_000  # the report's first-pass rate reads this many (0: none)
    report_batch_sets: int = 500  # sets in one batch of the report's workflow
    report_batch_rows: int = 5_000  # member transactions one batch reads, about
    report_map_concurrency: int = 100  # batches run at once
    event_bus_name: str | None = None  # where events go (None: kept in the outbox)

    @property
    def envelope_zone(self) -> ZoneInfo:
        return ZoneInfo(self.envelope_timezone)

    @property
    def report_zone(self) -> ZoneInfo:
        return ZoneInfo(self.report_timezone)


def _usage(env: Mapping[str, str]) -> str:
    value = env.get("TRACKED_USAGE", "").strip().upper() or "P"
    if value not in ("P", "T"):
        raise SettingsError(f"TRACKED_USAGE must be P (production) or T (test), got {value!r}")
    return value


def _number(env: Mapping[str, str], name: str, default: float, minimum: float = 0) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {raw!r}")
    return value


def _zone(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip() or "UTC"
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"{name} is not a time zone name (e.g. UTC, America/New_York): {value!r}"
        ) from None
    return value


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(
        item.strip() for item in env.get(name, "").replace(";", ",").split(",") if item.strip()
    )


def from_environment(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    table = env.get("TABLE_NAME", "").strip()
    if not table:
        raise SettingsError("TABLE_NAME is not set")
    prefix = env.get("QUARANTINE_PREFIX", "quarantine/").strip() or "quarantine/"
    return Settings(
        table_name=table,
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        our_sender_ids=_list(env, "OUR_SENDER_IDS"),
        ack_sla_hours=_number(env, "ACK_SLA_HOURS", 48.0),
        envelope_timezone=_zone(env, "ENVELOPE_TIMEZONE"),
        quarantine_prefix=prefix if prefix.endswith("/") else prefix + "/",
        reports_bucket=env.get("REPORTS_BUCKET", "").strip() or None,
        report_sender=env.get("REPORT_SENDER", "").strip() or None,
        report_recipients=_list(env, "REPORT_RECIPIENTS"),
        report_timezone=_zone(env, "REPORT_TIMEZONE"),
        report_window_days=int(_number(env, "REPORT_WINDOW_DAYS", 7, minimum=1)),
        # SES takes 10 MB messages; base64 grows an attachment by a third.
        email_detail_rows=int(_number(env, "EMAIL_DETAIL_ROWS", 500)),
        report_max_attachment_bytes=int(
            _number(env, "REPORT_MAX_ATTACHMENT_BYTES", 5_000_000, minimum=1)
        ),
        report_configuration_set=env.get("REPORT_CONFIGURATION_SET", "").strip() or None,
        effectuation_sla_days=int(_number(env, "EFFECTUATION_SLA_DAYS", 45)),
        max_object_bytes=int(_number(env, "MAX_OBJECT_BYTES", 2 * 1024**3, minimum=1)),
        writer_threads=int(_number(env, "WRITER_THREADS", 4, minimum=1)),
        part_bytes=int(_number(env, "PART_BYTES", 0)),
        part_members=int(_number(env, "PART_MEMBERS", 0)),
        sets_per_partition=int(_number(env, "SETS_PER_PARTITION", 10_000)),
        expected_send_hours=_number(env, "EXPECTED_SEND_HOURS", 24.0, minimum=0),
        sequence_history=int(_number(env, "SEQUENCE_HISTORY", 20, minimum=1)),
        file_workflow_arn=env.get("FILE_WORKFLOW_ARN", "").strip() or None,
        file_map_concurrency=int(_number(env, "FILE_MAP_CONCURRENCY", 10, minimum=1)),
        retention_days=int(_number(env, "RETENTION_DAYS", 0)),
        raw_retention_days=int(_number(env, "RAW_RETENTION_DAYS", 0)),
        require_insurer_folders=env.get("REQUIRE_INSURER_FOLDERS", "").strip().lower() == "true",
        tracked_usage=_usage(env),
        demographics_hash_key=env.get("DEMOGRAPHICS_HASH_KEY", "").strip() or None,
        first_pass_people=int(_number(env, "FIRST_PASS_PEOPLE", 15_000)),
        report_batch_sets=int(_number(env, "REPORT_BATCH_SETS", 500, minimum=1)),
        report_batch_rows=int(_number(env, "REPORT_BATCH_ROWS", 5_000, minimum=1)),
        report_map_concurrency=int(_number(env, "REPORT_MAP_CONCURRENCY", 100, minimum=1)),
        event_bus_name=env.get("EVENT_BUS_NAME", "").strip() or None,
    )


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The container's settings, read on first use (not at import time)."""
    return from_environment()


def reset() -> None:
    """Forget the cached settings (the local stack switches functions in one process)."""
    settings.cache_clear()
