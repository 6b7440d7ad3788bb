"""The template's state machines on the embedded stack, run by moto's own Step Functions
interpreter (``execute_state_machine``), not by a hand-written orchestration: the ASL
definition is the template's, its substitutions resolved.

Its Lambda tasks call the Lambda API; the stack answers those calls with the in-process
handlers, as it answers S3 events (``moto.awslambda.models.LambdaBackend.invoke`` is
routed here for the stack's functions). A handler that raises answers as Lambda does (a
function error), so the definition's Retry and Catch apply.

What differs from AWS: moto runs a Distributed Map's children in threads of this process,
and the stack runs their tasks one at a time (each in its own function's environment, as
in its own container); child executions do not appear as executions of their own; a Retry
waits a thousandth of its interval (the retries themselves are the definition's).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

ROUTES: dict[str, Callable[[dict[str, Any]], Any]] = {}  # function name -> in-process handler
_INSTALLED = threading.Lock()
_DONE: list[bool] = []  # installed once per process


class TaskFailed(Exception):
    """A handler raised: Lambda's function error, as the interpreter sees it."""


def install() -> None:
    """Route moto's Lambda invocations of the stack's functions to their handlers; let moto
    run state machines (its interpreter)."""
    from moto.core.config import default_user_config

    default_user_config.setdefault("stepfunctions", {})["execute_state_machine"] = True
    with _INSTALLED:
        if _DONE:
            return
        from moto.awslambda.models import LambdaBackend

        original = LambdaBackend.invoke

        def invoke(self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any,
                   response_headers: Any) -> Any:  # fmt: skip
            name = (
                function_name.rsplit(":", 1)[-1]
                if function_name.startswith("arn:")
                else function_name
            )
            handler = ROUTES.get(name)
            if handler is None:
                return original(self, function_name, qualifier, body, headers, response_headers)
            event = json.loads(body or b"{}")
            try:
                result = handler(event)
            except TaskFailed as error:
                response_headers["x-amz-function-error"] = "Unhandled"
                kind, _, message = str(error).partition(": ")
                return json.dumps({"errorType": kind or "Error", "errorMessage": message}).encode()
            return json.dumps(result).encode()

        LambdaBackend.invoke = invoke  # type: ignore[method-assign]
        from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

        retrier_decl.time = _Faster()  # type: ignore[assignment,attr-defined]
        _DONE.append(True)


class _Faster:
    """The interpreter's clock for a Retry's wait: a thousandth of the interval."""

    @staticmethod
    def sleep(seconds: float) -> None:
        time.sleep(seconds / 1000)


def definition(properties: dict[str, Any]) -> str:
    """A state machine's ASL, its ``${name}`` substitutions made (values already resolved)."""
    text = properties.get("DefinitionString")
    if not isinstance(text, str):
        text = json.dumps(properties.get("Definition", {}))
    for name, value in (properties.get("DefinitionSubstitutions") or {}).items():
        text = text.replace("${" + name + "}", str(value))
    return text


def run(client: Any, arn: str, payload: dict[str, Any], timeout: float = 3600.0) -> dict[str, Any]:
    """Start an execution and wait for it (polling): its description."""
    started = client.start_execution(stateMachineArn=arn, name=uuid.uuid4().hex,
                                     input=json.dumps(payload))  # fmt: skip
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        described: dict[str, Any] = client.describe_execution(executionArn=started["executionArn"])
        if described["status"] != "RUNNING":
            return described
        if time.monotonic() > deadline:
            raise TimeoutError(f"the state machine ran past {timeout:.0f} s")
        time.sleep(delay)
        delay = min(delay * 2, 0.1)
