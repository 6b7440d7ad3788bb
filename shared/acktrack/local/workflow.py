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
waits a thousandth of its interval (the retries themselves are the definition's). Outside
``concurrently``, an execution runs alone (``Gate``): a 999 arriving while a large file's
parts run, as it may on AWS, is tried under ``concurrently`` (four workers, files in parts:
tests/reliability/test_concurrent_days.py), not by every local run.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

ROUTES: dict[str, Callable[[dict[str, Any]], Any]] = {}  # function name -> in-process handler
# moto run apart (``serve(port, callback)``): the process whose handlers answer its tasks.
CALLBACK: list[str] = []
# The running stack's gate around an execution (``EmbeddedStack._execution``): an execution
# starts once the invocation that started it has ended, and no other invocation runs
# beside it (invocations set their function's environment; the interpreter reads it too).
GATES: list[Callable[[], contextlib.AbstractContextManager[Any]]] = []
_INSTALLED = threading.Lock()
_DONE: list[bool] = []  # installed once per process


class Gate:
    """Invocations and executions of one stack, apart: an execution starts once the
    invocation that started it has ended, and no invocation starts while one runs (an
    invocation sets its function's environment; the interpreter reads the environment too).
    Outside that, ``shared`` (the stack's ``concurrently``): no gate."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._calls = self._executions = 0
        self.shared: Callable[[], bool] = lambda: False

    @contextlib.contextmanager
    def invocation(self) -> Iterator[None]:
        with self._condition:
            self._condition.wait_for(lambda: not self._executions)
            self._calls += 1
        try:
            yield
        finally:
            with self._condition:
                self._calls -= 1
                self._condition.notify_all()

    @contextlib.contextmanager
    def execution(self) -> Iterator[None]:
        if self.shared():
            yield
            return
        with self._condition:
            self._condition.wait_for(lambda: not self._calls)
            self._executions += 1
        try:
            yield
        finally:
            with self._condition:
                self._executions -= 1
                self._condition.notify_all()


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
            handler = ROUTES.get(name) or (_called_back(name) if CALLBACK else None)
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
        from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

        logic = ExecutionWorker._execution_logic

        def gated(self: Any) -> None:
            with GATES[-1]() if GATES else contextlib.nullcontext():
                logic(self)  # type: ignore[no-untyped-call]

        ExecutionWorker._execution_logic = gated  # type: ignore[method-assign]
        from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

        retrier_decl.time = _Faster()  # type: ignore[assignment,attr-defined]
        _DONE.append(True)


def _called_back(name: str) -> Callable[[dict[str, Any]], Any]:
    """A task answered by the process that runs the stack's handlers (``answer_tasks``)."""
    import urllib.request

    def call(event: dict[str, Any]) -> Any:
        url = f"{CALLBACK[0]}/{name}"  # http://127.0.0.1:<port>, this machine's own
        request = urllib.request.Request(url, data=json.dumps(event).encode(), method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=3600) as response:  # noqa: S310
            answer = json.loads(response.read())
        if not answer["ok"]:
            raise TaskFailed(answer["error"])
        return answer["result"]

    return call


def answer_tasks() -> tuple[str, Callable[[], None]]:
    """Serve this process's handlers (``ROUTES``) to a moto server run apart: its URL, and
    how to stop it."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Answer(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server's name
            event = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            try:
                answer = {"ok": True, "result": ROUTES[self.path.strip("/")](event)}
            except TaskFailed as error:
                answer = {"ok": False, "error": str(error)}
            body = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", server.shutdown


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


def running(client: Any, machines: list[str], attempts: int = 50) -> list[str]:
    """The executions of these state machines still running (ARNs)."""
    for attempt in range(attempts):
        try:
            return [
                execution["executionArn"]
                for arn in machines
                for execution in client.list_executions(
                    stateMachineArn=arn, statusFilter="RUNNING"
                )["executions"]
            ]
        except Exception:  # moto lists an execution another thread is creating (no status yet)
            if attempt == attempts - 1:
                raise
            time.sleep(0.002)
    return []


def wait_idle(running: Callable[[], list[str]], timeout: float = 3600.0) -> None:
    """Wait until no execution runs (``running``: those running)."""
    deadline, delay = time.monotonic() + timeout, 0.002
    while running():
        if time.monotonic() > deadline:
            raise TimeoutError(f"a state machine ran past {timeout:.0f} s")
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def failed_executions(client: Any, machines: dict[str, str]) -> list[dict[str, Any]]:
    """Executions that ended without success: the machine (logical id), the execution's
    name, its status, error and cause."""
    ended = []
    for logical, arn in machines.items():
        for status in ("FAILED", "TIMED_OUT", "ABORTED"):
            for execution in client.list_executions(stateMachineArn=arn, statusFilter=status)[
                "executions"
            ]:
                described = client.describe_execution(executionArn=execution["executionArn"])
                ended.append({"state_machine": logical, "execution": execution["name"],
                              "status": status, "error": described.get("error"),
                              "cause": described.get("cause")})  # fmt: skip
    return ended
