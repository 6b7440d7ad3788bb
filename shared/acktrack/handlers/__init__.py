"""The one wiring point: what Lambda's handlers (``functions/*/app.py``), the CLI and the
embedded local stack use to reach AWS, by concern: ``wiring`` (clients, the repository and
settings, once per container), ``ingest`` (the S3 loop and the file workflow's tasks), ``report`` (the
daily report's workflow tasks), ``metrics``, ``failures`` (what a failure may say)."""
