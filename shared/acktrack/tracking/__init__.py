"""Tracking logic: statuses, correlation, ingest orchestration and the report (no boto3)."""
