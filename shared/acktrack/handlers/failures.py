"""What a handler may say about a failure it did not expect: counts, codes and positions,
never another library's message (an S3 error names the object's key, which can name a
person)."""

from __future__ import annotations

from typing import Any


class FunctionFailed(RuntimeError):
    """What a handler raises for a failure it did not expect. Lambda logs it and writes it
    into the failure queue's record (``errorMessage``, ``errorType``, ``stackTrace``), so
    its message says only what ``failure_fields`` lets a log line say."""


def failure_fields(error: BaseException) -> dict[str, Any]:
    """What a log line, or the failure queue, may say about an exception: its type, an AWS
    error's code and operation, acktrack's own message (``detail``: written to carry counts, codes and
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
        # "detail", not "message": a log record's own field (``extra`` may not overwrite it).
        fields["detail"] = str(error)
    frames = traceback.extract_tb(error.__traceback__)[-6:]
    fields["at"] = [f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno} {frame.name}"
                    for frame in frames]  # fmt: skip
    return fields


def failed(what: str, error: BaseException) -> FunctionFailed:
    """The exception a handler raises in place of ``error`` (see ``FunctionFailed``)."""
    fields = failure_fields(error)
    said = ", ".join(f"{name} {fields[name]}" for name in ("code", "detail") if fields.get(name))
    return FunctionFailed(f"{what}: {fields['error']}" + (f" ({said})" if said else ""))
