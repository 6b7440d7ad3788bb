"""The embedded local stack: moto's threaded server, wired from template.yaml.

No Docker and no AWS account. Buckets, the table (with its indexes), queues and the
SES sender come from the transformed template; so do the bucket -> function
notifications, each function's handler, environment and retry policy, and the
report schedule. Handlers run in this process, calling the local endpoint over
HTTP exactly as they call AWS in Lambda.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import io
import json
import logging
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from acktrack.local.functions import (
    _LOADING,
    REGION,
    Invocation,
    LocalFunction,
    QueueMapping,
    Subscription,
    _Context,
    failure_record,
    function_environment,
    s3_event,
    settle_messages,
    sqs_event,
)

if TYPE_CHECKING:
    from acktrack.local.trace import RequestTrace
    from acktrack.store.repository import Repository

from acktrack.local import workflow
from acktrack.local.resources import create_table, failure_queue, failures, sent_emails
from acktrack.local.template import ACCOUNT, Resolver, load_yaml, parameter_values, sam_transform


@dataclass
class EmbeddedStack:
    template: Path
    parameters: dict[str, Any] = field(default_factory=dict)
    stack_name: str = "acktrack-local"
    endpoint: str = ""
    buckets: dict[str, str] = field(default_factory=dict)  # logical id -> name
    table: str = ""
    queues: dict[str, str] = field(default_factory=dict)  # logical id -> url
    functions: dict[str, LocalFunction] = field(default_factory=dict)
    subscriptions: list[Subscription] = field(default_factory=list)
    mappings: list[QueueMapping] = field(default_factory=list)
    delivery_order: Any = None  # a random.Random: queue messages delivered in shuffled order
    clock: Callable[[], datetime] | None = None  # objects' arrival (S3 eventTime); None: now
    schedules: dict[str, dict[str, Any]] = field(default_factory=dict)  # logical id -> target info
    state_machines: dict[str, str] = field(default_factory=dict)  # logical id -> ARN
    sender: str | None = None
    event_bus: str = ""  # the template's EventBus (its name)
    invocations: list[Invocation] = field(default_factory=list)
    events: dict[tuple[str, str], dict[str, Any]] = field(
        default_factory=dict
    )  # last event per object
    log_stream: Any = None  # where function logs and metrics go (default: kept in ``logs``)
    server: bool = True  # False: inside moto's in-process mock (tests), no HTTP endpoint
    logs: io.StringIO = field(default_factory=io.StringIO)
    _server: Any = None
    resources: dict[str, Any] = field(default_factory=dict)  # the transformed template's
    resolver: Resolver | None = None
    _saved_environment: dict[str, str | None] = field(default_factory=dict)
    _shared_environment: bool = False
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict)
    _clients_lock: threading.Lock = field(default_factory=threading.Lock)
    # A workflow's tasks run one at a time, and never beside another invocation (outside
    # ``concurrently``): each sets its own function's environment, as in its own container.
    _tasks: threading.Lock = field(default_factory=threading.Lock)
    _gate: workflow.Gate = field(default_factory=workflow.Gate)
    trace: RequestTrace | None = None  # each invocation's DynamoDB requests (--trace-requests)
    _scheduled_at: datetime | None = None  # a schedule's time while its run lasts

    # -- life cycle ---------------------------------------------------------------------

    def start(self) -> EmbeddedStack:
        from acktrack.local import moto_speed

        moto_speed.install()
        workflow.install()
        self._gate.shared = lambda: self._shared_environment
        workflow.GATES.append(self._gate.execution)
        if self.endpoint:  # an endpoint already running elsewhere (moto in its own process)
            self._set_environment({"AWS_ENDPOINT_URL": self.endpoint})
        elif self.server:
            from moto.server import ThreadedMotoServer

            logging.getLogger("werkzeug").setLevel(logging.ERROR)
            self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            self._server.start()
            host, port = self._server.get_host_and_port()
            self.endpoint = f"http://{host}:{port}"
            # MOTO_PORT: where moto's Step Functions interpreter sends its tasks' calls.
            self._set_environment({"AWS_ENDPOINT_URL": self.endpoint, "MOTO_PORT": str(port)})
        self._set_environment(
            {
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "AWS_SESSION_TOKEN": "local",
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
            }
        )
        os.environ.pop("AWS_PROFILE", None)
        from acktrack.handlers import wiring

        wiring.reset()
        self._build()
        return self

    def stop(self) -> None:
        with contextlib.suppress(
            Exception
        ):  # an execution left running would answer to the next stack
            self._settle()
        if self._gate.execution in workflow.GATES:
            workflow.GATES.remove(self._gate.execution)
        if self._server is not None:
            # moto's backends are per process: empty them, so the next stack starts clean.
            from moto.moto_api._internal.models import moto_api_backend

            moto_api_backend.reset()
            self._server.stop()
            self._server = None
            self.endpoint = ""
        for name, value in self._saved_environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_environment.clear()
        from acktrack.handlers import wiring

        wiring.reset()

    def __enter__(self) -> EmbeddedStack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _set_environment(self, values: dict[str, str]) -> None:
        for name, value in values.items():
            self._saved_environment.setdefault(name, os.environ.get(name))
            os.environ[name] = value

    def client(self, service: str) -> Any:
        """The stack's own client (made once per endpoint: boto3 clients are thread-safe and
        cost about 15 ms each to make)."""
        import boto3

        with self._clients_lock:
            made = self._clients.get((service, self.endpoint))
            if made is None:
                made = boto3.client(  # type: ignore[call-overload]
                    service, endpoint_url=self.endpoint or None, region_name=REGION
                )
                self._clients[(service, self.endpoint)] = made
            return made

    # -- resources from the template ------------------------------------------------------

    def _build(self) -> None:
        source = load_yaml(self.template)
        values = parameter_values(source, self.parameters, self.stack_name, REGION)
        transformed, code = sam_transform(source, values)
        resources = transformed["Resources"]
        resolver = Resolver(values, transformed.get("Conditions", {}))
        self.resources, self.resolver = resources, resolver  # for tools and permission checks
        for logical, resource in resources.items():
            kind, properties = resource["Type"], resource.get("Properties", {})
            if kind == "AWS::S3::Bucket":
                name = str(
                    resolver.value(
                        properties.get("BucketName", f"{self.stack_name}-{logical}".lower())
                    )
                )
                resolver.names[logical], resolver.arns[logical] = name, f"arn:aws:s3:::{name}"
            elif kind == "AWS::DynamoDB::Table":
                name = str(
                    resolver.value(properties.get("TableName", f"{self.stack_name}-{logical}"))
                )
                resolver.names[logical] = name
                resolver.arns[logical] = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"
            elif kind == "AWS::SQS::Queue":
                name = str(
                    resolver.value(properties.get("QueueName", f"{self.stack_name}-{logical}"))
                )
                resolver.names[logical], resolver.arns[logical] = (
                    name,
                    f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
                )
            elif kind == "AWS::Lambda::Function":
                name = str(
                    resolver.value(properties.get("FunctionName", f"{self.stack_name}-{logical}"))
                )
                resolver.names[logical] = name
                resolver.arns[logical] = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
            elif kind == "AWS::Events::EventBus":
                self.event_bus = str(resolver.value(properties["Name"]))
                resolver.names[logical] = self.event_bus
                resolver.arns[logical] = self.client("events").create_event_bus(
                    Name=self.event_bus
                )["EventBusArn"]
            elif kind == "AWS::SecretsManager::Secret":
                # Ref gives the ARN; the local stack makes its own random value.
                name = str(resolver.value(properties.get("Name", f"{self.stack_name}-{logical}")))
                arn = self.client("secretsmanager").create_secret(
                    Name=name, SecretString=secrets.token_urlsafe(48)
                )["ARN"]
                resolver.names[logical] = resolver.arns[logical] = arn
        # State machines first: a function's environment names them (a definition names
        # the functions by the ARNs known already).
        for logical, resource in resources.items():
            if resource["Type"] == "AWS::StepFunctions::StateMachine":
                properties = resolver.value(resource.get("Properties", {}))
                name = str(properties.get("StateMachineName", f"{self.stack_name}-{logical}"))
                arn = self.client("stepfunctions").create_state_machine(
                    name=name, definition=workflow.definition(properties),
                    roleArn=f"arn:aws:iam::{ACCOUNT}:role/{name}",
                    type=str(properties.get("StateMachineType", "STANDARD")),
                )["stateMachineArn"]  # fmt: skip
                resolver.names[logical] = resolver.arns[logical] = arn  # Ref gives its ARN
                self.state_machines[logical] = arn
        for logical, resource in resources.items():
            if resource["Type"] == "AWS::Lambda::Function":
                properties = resolver.value(resource.get("Properties", {}))
                self._register_function(logical, resolver.names[logical], properties, code)
        for logical, resource in resources.items():
            kind, properties = resource["Type"], resource.get("Properties", {})
            if resource.get("Condition") and not resolver.condition(resource["Condition"]):
                continue
            if kind == "AWS::S3::Bucket":
                self._create_bucket(
                    logical, resolver.names[logical], resolver.value(properties), resolver
                )
            elif kind == "AWS::DynamoDB::Table":
                create_table(self.client("dynamodb"), resolver.names[logical],
                             resolver.value(properties))  # fmt: skip
                self.table = resolver.names[logical]
            elif kind == "AWS::SQS::Queue":
                url = self.client("sqs").create_queue(QueueName=resolver.names[logical])["QueueUrl"]
                self.queues[logical] = url
        for logical, resource in resources.items():  # every queue exists: dead-letter targets
            if resource["Type"] == "AWS::SQS::Queue":
                redrive = resolver.value(resource.get("Properties", {}).get("RedrivePolicy"))
                if redrive:
                    self.client("sqs").set_queue_attributes(
                        QueueUrl=self.queues[logical],
                        Attributes={"RedrivePolicy": json.dumps(redrive)},
                    )
        for logical, resource in resources.items():
            kind, properties = resource["Type"], resolver.value(resource.get("Properties", {}))
            if kind == "AWS::Lambda::EventInvokeConfig":
                function = self._function_by_name(properties["FunctionName"])
                function.retries = int(properties.get("MaximumRetryAttempts", 2))
                function.failure_queue = failure_queue(properties, self.queues, resolver.arns)
            elif kind == "AWS::Lambda::EventSourceMapping":
                queue = next(
                    (
                        q
                        for q in self.queues
                        if resolver.arns[q] == properties.get("EventSourceArn")
                    ),
                    None,
                )
                if queue is not None:
                    function = self._function_by_name(properties["FunctionName"])
                    self.mappings.append(QueueMapping(
                        self.queues[queue], function.logical_id, int(properties.get("BatchSize", 10)),
                        "ReportBatchItemFailures" in properties.get("FunctionResponseTypes", []),
                    ))  # fmt: skip
            elif kind == "AWS::Scheduler::Schedule":
                target = properties["Target"]
                machine = next((m for m, arn in self.state_machines.items() if arn == target["Arn"]),
                               None)  # fmt: skip
                aimed = machine or self._function_by_arn(target["Arn"], resolver).logical_id
                self.schedules[logical] = {"function": aimed, "input": target.get("Input", "{}"),
                                           "expression": properties.get("ScheduleExpression"),
                                           "timezone": properties.get("ScheduleExpressionTimezone")}  # fmt: skip
        self.sender = str(values.get("ReportSender") or "") or None
        if self.sender:
            self.client("sesv2").create_email_identity(EmailIdentity=self.sender)

    def _create_bucket(
        self, logical: str, name: str, properties: dict[str, Any], resolver: Resolver
    ) -> None:
        s3 = self.client("s3")
        s3.create_bucket(Bucket=name)
        if properties.get("VersioningConfiguration", {}).get("Status") == "Enabled":
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        self.buckets[logical] = name
        for config in properties.get("NotificationConfiguration", {}).get(
            "LambdaConfigurations", []
        ):
            if not str(config.get("Event", "")).startswith("s3:ObjectCreated"):
                continue
            rules = {
                rule["Name"].lower(): rule["Value"]
                for rule in config.get("Filter", {}).get("S3Key", {}).get("Rules", [])
            }
            function = self._function_by_arn(config["Function"], resolver).logical_id
            self.subscriptions.append(
                Subscription(name, function, rules.get("prefix", ""), rules.get("suffix", ""))
            )

    def _register_function(
        self, logical: str, name: str, properties: dict[str, Any], code: dict[str, str]
    ) -> None:
        folder = self.template.parent / code.get(logical, ".")
        self.functions[logical] = LocalFunction(
            logical_id=logical,
            name=name,
            code_dir=folder,
            handler=properties.get("Handler", "app.handler"),
            environment={
                key: str(value)
                for key, value in properties.get("Environment", {}).get("Variables", {}).items()
            },
            timeout=int(properties.get("Timeout", 3)),
            memory=int(properties.get("MemorySize", 128)),
        )
        workflow.ROUTES[name] = functools.partial(self._task, logical)

    def _task(self, logical: str, event: dict[str, Any]) -> Any:
        """A state machine's Lambda task: the handler, synchronously, one task at a time."""
        # Its execution holds the gate already (moto in this process); moto run apart, the
        # task takes it itself.
        with self._tasks, self._gate.execution():
            done = self._invoke(logical, event, asynchronous=False)
        if not done.ok:
            raise workflow.TaskFailed(done.error or "Error")
        return done.result

    def _function_by_name(self, name: str) -> LocalFunction:
        for function in self.functions.values():
            if name in (function.name, function.logical_id):
                return function
        raise KeyError(f"no function {name!r} in the template")

    def _function_by_arn(self, arn: Any, resolver: Resolver) -> LocalFunction:
        value = resolver.value(arn)
        for function in self.functions.values():
            if value in (resolver.arns.get(function.logical_id), function.name):
                return function
        raise KeyError(f"no function for {value!r} in the template")

    def bucket(self, role: str) -> str:
        """The physical name of the bucket whose logical id starts with ``role`` (e.g. Outbound)."""
        for logical, name in self.buckets.items():
            if logical.lower().startswith(role.lower()):
                return name
        raise KeyError(f"the template has no {role} bucket")

    # -- running functions -------------------------------------------------------------

    @contextlib.contextmanager
    def _function_environment(
        self, function: LocalFunction, environment: dict[str, str] | None = None
    ) -> Iterator[None]:
        if self._shared_environment:  # set once for every thread (``concurrently``)
            yield
            return
        with function_environment(function, self.log_stream or self.logs, environment):
            yield

    def _load(self, function: LocalFunction) -> ModuleType:
        with _LOADING:
            return self._load_once(function)

    def _load_once(self, function: LocalFunction) -> ModuleType:
        if function._module is None:
            module_name, _, _ = function.handler.rpartition(".")
            path = function.code_dir / f"{module_name.replace('.', '/')}.py"
            spec = importlib.util.spec_from_file_location(
                f"acktrack_local_{function.logical_id}", path
            )
            if spec is None or spec.loader is None:
                raise FileNotFoundError(f"handler module {path} not found")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            function._module = module
        return function._module

    def invoke(
        self, logical_id: str, event: dict[str, Any], *, asynchronous: bool = True
    ) -> Invocation:
        """Run a function's handler like Lambda would (async: retries, then the on-failure queue)."""
        with contextlib.nullcontext() if self._shared_environment else self._gate.invocation():
            return self._invoke(logical_id, event, asynchronous)

    def _invoke(self, logical_id: str, event: dict[str, Any], asynchronous: bool) -> Invocation:
        function = self.functions[logical_id]
        attempts = 1 + (function.retries if asynchronous else 0)
        failed: BaseException | None = None
        for attempt in range(1, attempts + 1):
            with self._function_environment(function):
                module = self._load(function)
                handler = getattr(module, function.handler.rpartition(".")[2])
                try:
                    with self._traced(logical_id, attempt):
                        result = handler(event, _Context(function))
                except Exception as error:  # what Lambda would record as a function error
                    failed = error
                    continue
            invocation = Invocation(logical_id, True, result, attempts=attempt)
            self.invocations.append(invocation)
            return invocation
        assert failed is not None
        if asynchronous and function.failure_queue:  # the record Lambda writes, whole
            record = failure_record(function, event, failed, attempts)
            self.client("sqs").send_message(
                QueueUrl=function.failure_queue, MessageBody=json.dumps(record, default=str)
            )
        error_text = f"{type(failed).__name__}: {failed}"
        invocation = Invocation(logical_id, False, error=error_text, attempts=attempts)
        self.invocations.append(invocation)
        return invocation

    def _traced(self, logical_id: str, attempt: int) -> contextlib.AbstractContextManager[Any]:
        """The invocation in the request trace (``trace``), at the stack's time: a schedule's
        while it runs, else the clock's (objects' arrival), else now."""
        if self.trace is None:
            return contextlib.nullcontext()
        at = self._scheduled_at or (self.clock() if self.clock else datetime.now(UTC))
        return self.trace.invocation(logical_id, at, attempt)

    def put(self, bucket: str, key: str, data: bytes, *, deliveries: int = 1) -> list[Invocation]:
        """Store an object and deliver its ObjectCreated event to each subscribed function."""
        event = self.store(bucket, key, data)
        results = []
        for _ in range(deliveries):
            results += self.deliver_event(bucket, key, event, pump=False)
        return results + self.pump()

    def redeliver(self, bucket: str, key: str) -> list[Invocation]:
        """Deliver the event for an existing object again (S3 delivers at least once)."""
        return self.deliver_event(bucket, key, self.event_of(bucket, key))

    def repository(self) -> Repository:
        """The tracking table, as the CLI's commands see it."""
        from acktrack.handlers.wiring import open_repository

        return open_repository(self.table, REGION)

    def store(self, bucket: str, key: str, data: bytes) -> dict[str, Any]:
        """Store an object; return its ObjectCreated event (not delivered yet)."""
        response = self.client("s3").put_object(Bucket=bucket, Key=key, Body=data)
        return s3_event(
            bucket, key, len(data), response.get("ETag", "").strip('"'), response.get("VersionId"),
            self.clock() if self.clock else None,
        )  # fmt: skip

    def event_of(self, bucket: str, key: str) -> dict[str, Any]:
        """The ObjectCreated event of an existing object (to deliver it again)."""
        head = self.client("s3").head_object(Bucket=bucket, Key=key)
        return s3_event(
            bucket, key, head["ContentLength"], head["ETag"].strip('"'), head.get("VersionId"),
            self.clock() if self.clock else None,
        )  # fmt: skip

    def deliver_event(
        self, bucket: str, key: str, event: dict[str, Any], *, pump: bool = True
    ) -> list[Invocation]:
        """An object's event to each subscribed function, then (``pump``) the queues' messages."""
        results = [
            self.invoke(s.function, event)
            for s in self.subscriptions
            if s.bucket == bucket and s.wants(key)
        ]
        return results + (self.pump() if pump else [])

    @contextlib.contextmanager
    def concurrently(self) -> Iterator[None]:
        """Let several threads invoke functions at once, as Lambda runs invocations: the
        functions' environments (which add to each other, never disagree) are set once
        and output is captured once, instead of per invocation."""
        merged: dict[str, str] = {}
        for function in self.functions.values():
            for name, value in function.environment.items():
                if merged.setdefault(name, value) != value:
                    raise ValueError(f"functions disagree on {name}: they cannot run at once here")
        with self._function_environment(next(iter(self.functions.values())), merged):
            self._shared_environment = True
            try:
                yield
            finally:
                self._settle()  # workflows started meanwhile end in the environment they began in
                self._shared_environment = False

    def pump(self, limit: int = 100_000) -> list[Invocation]:
        """Deliver queued messages to their functions (SQS event sources) until the queues
        are empty. A failed message becomes visible again at once (its visibility timeout
        is taken as passed) and, after the queue's maxReceiveCount, SQS dead-letters it."""
        sqs = self.client("sqs")
        results: list[Invocation] = []
        while len(results) < limit:
            results += self._settle()  # executions that functions started (the file workflow)
            waiting = []
            for mapping in self.mappings:
                while True:
                    batch = sqs.receive_message(QueueUrl=mapping.queue_url, MaxNumberOfMessages=10,
                                                AttributeNames=["All"]).get("Messages", [])  # fmt: skip
                    if not batch:
                        break
                    waiting += [(mapping, message) for message in batch]
            if not waiting and not self._running():
                break
            if self.delivery_order is not None:
                self.delivery_order.shuffle(waiting)
            for mapping in self.mappings:  # each function gets its BatchSize at a time
                mine = [message for owner, message in waiting if owner is mapping]
                for start in range(0, len(mine), mapping.batch_size):
                    results.append(
                        self._deliver(sqs, mapping, mine[start : start + mapping.batch_size])
                    )
        return results

    def _running(self) -> list[str]:
        return workflow.running(self.client("stepfunctions"), list(self.state_machines.values()))

    def _settle(self) -> list[Invocation]:
        """Wait until no execution runs (moto's interpreter runs the file workflow a function
        started in its own threads): the tasks' invocations meanwhile."""
        first = len(self.invocations)
        workflow.wait_idle(self._running)
        return self.invocations[first:]

    def failed_executions(self) -> list[dict[str, Any]]:  # what the template's alarms watch
        return workflow.failed_executions(self.client("stepfunctions"), self.state_machines)

    def _deliver(self, sqs: Any, mapping: QueueMapping, messages: list[Any]) -> Invocation:
        invocation = self.invoke(mapping.function, sqs_event(mapping, messages), asynchronous=False)
        settle_messages(sqs, mapping, messages, invocation)
        return invocation

    def run_schedule(
        self, as_of: datetime | None = None, logical_id: str | None = None
    ) -> Invocation:
        """Fire a schedule as EventBridge Scheduler would (its Input, time filled in): a
        function's invocation, or a state machine's execution run to its end by moto's
        interpreter (its tasks' invocations are recorded too)."""
        if not self.schedules:
            raise KeyError("the template has no schedule")
        report = (
            m
            for m, schedule in self.schedules.items()
            if schedule["function"] in self.state_machines
        )
        schedule = self.schedules[
            logical_id or next(report, next(iter(self.schedules)))
        ]  # the report's
        moment = (as_of or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        payload = json.loads(schedule["input"].replace("<aws.scheduler.scheduled-time>", moment))
        target, self._scheduled_at = schedule["function"], (as_of or datetime.now(UTC))
        try:
            if target not in self.state_machines:
                return self.invoke(target, payload)
            described = workflow.run(self.client("stepfunctions"), self.state_machines[target],
                                     payload)  # fmt: skip
        finally:
            self._scheduled_at = None
        ok = described["status"] == "SUCCEEDED"
        result = json.loads(described.get("output") or "null") if ok else None
        error = None if ok else f"{described.get('error')}: {described.get('cause')}"
        return Invocation(target, ok, result, error)

    # -- reading back ------------------------------------------------------------------

    def publish_events(self, as_of: datetime | None = None) -> Invocation:
        """Run the events publisher once, as its every-minute schedule would."""
        return self.run_schedule(as_of, next(logical for logical, schedule in self.schedules.items()
                                             if schedule["function"] == "PublishEventsFunction"))  # fmt: skip

    def sent_emails(self) -> list[bytes]:
        """Raw MIME of every email the local SES accepted, oldest first."""
        return sent_emails()

    def failures(self) -> list[dict[str, Any]]:
        """Events that exhausted their retries (from the template's on-failure queue)."""
        sources = {mapping.queue_url for mapping in self.mappings}
        return failures(self.client("sqs"), [u for u in self.queues.values() if u not in sources])
