"""Deploying and invoking a session's functions, their asynchronous retries, dead letters and logs.

See :mod:`app.runtime.lambdas` for how an invocation runs in this process.
"""
from __future__ import annotations

import contextvars
import importlib
import io
import json
import math
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from app.core import facts
from app.runtime.clients import Clients, bound
from app.runtime.events import payload_bytes
from app.runtime.lambdas.packaging import BASIC_EXECUTION, LAMBDA_TRUST_POLICY, module_zip
from app.runtime.lambdas.sandbox import LambdaContext, _env_overlay, _install, _log_sink, _wrap_std_streams
from app.runtime.trace import Trace

MAX_HELD_LOG_EVENTS = 500
ASYNC_RETRY_WAITS_S = facts.LAMBDA_ASYNC_RETRY_WAITS_S.value   # Lambda's waits before the first and second retry


@dataclass
class InvokeResult:
    function: str
    payload: Any
    function_error: str | None
    logs: str
    request_id: str
    duration_ms: float
    billed_ms: int
    memory_mb: int
    status_code: int = 200
    attempts: int = 1         # an asynchronous invocation: the attempts it took (retries included)

    @property
    def ok(self) -> bool:
        return self.function_error is None and self.status_code < 400

    @property
    def throttled(self) -> bool:
        return self.status_code == 429

    def to_dict(self) -> dict[str, Any]:
        return {"function": self.function, "payload": self.payload, "function_error": self.function_error,
                "logs": self.logs, "request_id": self.request_id, "duration_ms": round(self.duration_ms, 3),
                "billed_ms": self.billed_ms, "memory_mb": self.memory_mb}


@dataclass
class Function:
    logical: str
    name: str
    arn: str
    handler: str
    memory_mb: int
    timeout_s: int
    env: dict[str, str]
    callable: Callable[[Any, Any], Any] | None = field(default=None, repr=False)
    log_group: str = ""
    log_stream: str = ""
    invocations: int = 0
    init_ms: float = 0.0
    dead_letter_arn: str | None = None
    max_retry_attempts: int = 2
    _log_stream_made: bool = False


class Lambdas:
    """The Lambda functions of one session (see the module docstring)."""

    def __init__(self, *, clients: Clients, trace: Trace, name: Callable[[str], str],
                 tags: dict[str, str] | None = None, local: bool = True,
                 extra_env: dict[str, str] | None = None) -> None:
        self._clients = clients
        self._trace = trace
        self._name = name
        self._tags = dict(tags or {})
        self._local = local
        self._extra_env = dict(extra_env or {})
        self._statements: list[dict] = [BASIC_EXECUTION]
        self._functions: dict[str, Function] = {}
        self._pending_logs: dict[str, list[dict]] = {}
        self._role_arn: str | None = None
        self._lock = threading.Lock()
        self.on_invoked: list[Callable[[Function, InvokeResult], None]] = []
        self.failed_events = 0   # asynchronous events that failed every attempt
        self.faults = None       # the run's injected faults (app.runtime.faults.FaultRegistry), if any
        if local:
            _install()
            clients.intercept("lambda", "Invoke", self._invoke_api)

    # -- control plane ----------------------------------------------------------------
    def role_arn(self) -> str:
        """The execution role shared by the session's functions (created on first use)."""
        with self._lock:
            if self._role_arn is None:
                iam = self._clients.client("iam")
                role = self._name("lambda-exec")
                arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=LAMBDA_TRUST_POLICY,
                                      Tags=[{"Key": k, "Value": v} for k, v in self._tags.items()])["Role"]["Arn"]
                self._role_arn = arn
                self._put_role_policy()
            return self._role_arn

    def _put_role_policy(self) -> None:
        self._clients.client("iam").put_role_policy(
            RoleName=self._name("lambda-exec"), PolicyName="execution",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": self._statements}))

    def allow(self, actions: list[str] | str, resources: list[str] | str = "*") -> None:
        """Grant the functions' execution role ``actions`` on ``resources`` (an inline policy statement)."""
        statement = {"Effect": "Allow", "Action": actions, "Resource": resources}
        with self._lock:
            self._statements.append(statement)
            if self._role_arn is not None:
                self._put_role_policy()

    def deploy(self, name: str, handler: str, env: dict[str, str] | None = None, memory_mb: int = 128,
               timeout_s: int = 30, description: str = "", dead_letter_arn: str | None = None,
               max_retry_attempts: int = 2) -> Function:
        """Register ``handler`` ("package.module.function") as function ``name``; returns it.

        ``dead_letter_arn`` (an SQS queue or SNS topic) receives events whose asynchronous
        invocations failed every attempt; ``max_retry_attempts`` (0-2) is how many times an
        asynchronous invocation is retried."""
        if not 0 <= max_retry_attempts <= 2:
            raise ValueError(f"max_retry_attempts={max_retry_attempts} is not valid: use 0, 1 or 2")
        module_name, _, attr = handler.rpartition(".")
        if not module_name:
            raise ValueError(f"handler {handler!r} must be 'package.module.function'")
        full = self._name(name)
        t0 = time.perf_counter()
        module = importlib.import_module(module_name)
        fn_callable = getattr(module, attr, None)
        if not callable(fn_callable):
            raise ValueError(f"{module_name} has no function {attr!r}")
        init_ms = (time.perf_counter() - t0) * 1000
        role = self.role_arn()
        client = self._clients.client("lambda")
        kwargs = dict(FunctionName=full, Runtime="python3.12", Role=role, Handler=handler,
                      Code={"ZipFile": module_zip(module_name)}, Description=description,
                      Timeout=int(timeout_s), MemorySize=int(memory_mb),
                      Environment={"Variables": dict(env or {})}, Tags=self._tags, Publish=False)
        if dead_letter_arn:
            kind = dead_letter_arn.split(":")[2]
            self.allow(["sqs:SendMessage"] if kind == "sqs" else ["sns:Publish"], dead_letter_arn)
            kwargs["DeadLetterConfig"] = {"TargetArn": dead_letter_arn}
        created = self._create_function(client, kwargs)
        if max_retry_attempts != 2:
            client.put_function_event_invoke_config(FunctionName=full, MaximumRetryAttempts=max_retry_attempts)
        fn = Function(logical=name, name=full, arn=created["FunctionArn"], handler=handler, memory_mb=int(memory_mb),
                      timeout_s=int(timeout_s), env=dict(env or {}), callable=fn_callable,
                      log_group=f"/aws/lambda/{full}",
                      log_stream=time.strftime("%Y/%m/%d", time.gmtime()) + f"/[$LATEST]{uuid.uuid4().hex}",
                      init_ms=init_ms, dead_letter_arn=dead_letter_arn, max_retry_attempts=max_retry_attempts)
        # Created here (not by Lambda on first use) so that it carries the run's tag.
        logs = self._clients.client("logs")
        try:
            logs.create_log_group(logGroupName=fn.log_group, tags=self._tags)
        except logs.exceptions.ResourceAlreadyExistsException:
            pass
        with self._lock:
            self._functions[name] = fn
        return fn

    def _create_function(self, client, kwargs) -> dict:
        # A new IAM role takes a few seconds to be usable by Lambda on AWS.
        for attempt in range(12):
            try:
                return client.create_function(**kwargs)
            except client.exceptions.InvalidParameterValueException as exc:
                if "role" not in str(exc).lower() or self._local or attempt == 11:
                    raise
                time.sleep(2.5)
        raise AssertionError("unreachable")

    def get(self, name: str) -> Function:
        """A deployed function by logical name, deployed name or ARN."""
        with self._lock:
            if name in self._functions:
                return self._functions[name]
            for fn in self._functions.values():
                if name in (fn.name, fn.arn) or name.startswith(fn.arn + ":"):
                    return fn
        raise KeyError(f"no function {name!r} in this session: deployed are "
                       + (", ".join(self._functions) or "none"))

    @property
    def functions(self) -> list[Function]:
        with self._lock:
            return list(self._functions.values())

    # -- data plane -------------------------------------------------------------------
    def invoke(self, name: str, event: Any, *, source: str = "") -> InvokeResult:
        """Run the function with ``event`` (synchronous invocation) and record a span."""
        fn = self.get(name)
        with self._trace.span("lambda", "Invoke", fn.name, payload_bytes=payload_bytes(event)) as span:
            if self.faults is not None and self.faults.lambda_throttle(fn.name, source):
                result = _throttled(fn)
                span.status = "throttled"
                span.detail.update({"error": f"{result.payload['errorType']}: {result.payload['errorMessage']}",
                                    "source": source, "injected": "lambda_throttle_rate"})
                return result
            result = self._run_local(fn, event, source) if self._local else self._run_remote(fn, event)
            span.detail.update({"request_id": result.request_id, "memory_mb": fn.memory_mb,
                                "billed_ms": result.billed_ms, "duration_ms": round(result.duration_ms, 3)})
            if source:
                span.detail["source"] = source
            if fn.invocations == 1 and self._local:
                span.detail["init_ms"] = round(fn.init_ms, 3)
            if result.function_error:
                span.status = "error"
                span.detail["function_error"] = result.function_error
                if isinstance(result.payload, dict):
                    span.detail["error"] = f"{result.payload.get('errorType')}: {result.payload.get('errorMessage')}"
        for listener in list(self.on_invoked):
            listener(fn, result)
        return result

    def invoke_async(self, name: str, event: Any, *, source: str = "") -> InvokeResult:
        """An asynchronous invocation as Lambda handles it: a failed attempt is retried
        ``max_retry_attempts`` times (AWS waits about 1 and 2 minutes; not slept here, the waits are
        recorded as ``RetryWait`` spans); a throttled one is retried at a growing interval until the event's
        maximum age, without using up those retries; then the event goes to the dead-letter target if any."""
        fn = self.get(name)
        result = self.invoke(fn.name, event, source=source)
        attempts, errors, age = 1, 0, 0.0
        throttle_wait = facts.LAMBDA_ASYNC_THROTTLE_RETRY_S.value["first"]
        while not result.ok:
            if result.throttled:
                if age + throttle_wait > facts.LAMBDA_ASYNC_MAX_EVENT_AGE_S.value:
                    break                      # the event expired in Lambda's queue
                wait, reason = throttle_wait, "throttled: back in Lambda's queue"
                throttle_wait = min(throttle_wait * 2, facts.LAMBDA_ASYNC_THROTTLE_RETRY_S.value["max"])
            else:
                if errors >= fn.max_retry_attempts:
                    break
                wait, reason = ASYNC_RETRY_WAITS_S[min(errors, 1)], "asynchronous retry"
                errors += 1
            age += wait
            if self.faults is not None:      # a run with faults counts the wait on its clock
                self.faults.wait(wait, service="lambda", resource=fn.name, reason=reason, source=source,
                                 attempt=attempts)
            else:
                self._note("RetryWait", fn.name, modelled_wait_s=wait, source=source, attempt=attempts)
            result = self.invoke(fn.name, event, source=source)
            attempts += 1
        result.attempts = attempts
        if not result.ok:
            self.failed_events += 1
            if fn.dead_letter_arn:
                self._dead_letter(fn, event, result)
        return result

    def _dead_letter(self, fn: Function, event: Any, result: InvokeResult) -> None:
        """Lambda's dead-letter message: the event as the body, the error in attributes."""
        body = json.dumps(event)
        error = result.payload.get("errorMessage", "") if isinstance(result.payload, dict) else ""
        attrs = {"RequestID": result.request_id, "ErrorCode": str(result.status_code),
                 "ErrorMessage": error[:1000] or "Unhandled"}
        region = fn.dead_letter_arn.split(":")[3]
        if fn.dead_letter_arn.split(":")[2] == "sqs":
            sqs = self._clients.client("sqs", region)
            parts = fn.dead_letter_arn.split(":")
            url = sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes={
                k: {"DataType": "String", "StringValue": v} for k, v in attrs.items()})
        else:
            self._clients.client("sns", region).publish(TopicArn=fn.dead_letter_arn, Message=body,
                                                        MessageAttributes={k: {"DataType": "String", "StringValue": v}
                                                                           for k, v in attrs.items()})

    def _note(self, operation: str, resource: str, **detail: Any) -> None:
        from app.runtime.trace import Span

        trace = self._trace
        trace.add(Span(service="lambda", operation=operation, resource=resource, step=trace.current_step,
                       start_ms=(time.perf_counter() - trace._t0) * 1000, detail=detail))

    def _invoke_api(self, params: dict) -> tuple[int, dict] | None:
        """Lambda's Invoke API answered in-process for this session's functions (moto cannot run them)."""
        import base64

        from botocore.response import StreamingBody

        name = str(params.get("FunctionName", ""))
        qualifier = params.get("Qualifier")
        if name.count(":") == 7 or (":" in name and not name.startswith("arn:")):
            name, _, qualifier = name.rpartition(":")
        if qualifier not in (None, "$LATEST"):
            return None
        try:
            fn = self.get(name)
        except KeyError:
            return None      # not deployed by this session: the backend answers
        kind = params.get("InvocationType", "RequestResponse")
        if kind == "DryRun":
            return 204, {"StatusCode": 204}
        raw = params.get("Payload") or b"{}"
        if hasattr(raw, "read"):
            raw = raw.read()
        try:
            event = json.loads(raw or b"{}")
        except ValueError:
            return 400, {"Error": {"Code": "InvalidRequestContentException",
                                   "Message": "Could not parse request body into json"}}
        if kind == "Event":
            self.invoke_async(fn.name, event, source="invoke-async")   # run before the call returns
            return 202, {"StatusCode": 202, "Payload": StreamingBody(io.BytesIO(b""), 0)}
        result = self.invoke(fn.name, event, source="invoke-api")
        body = json.dumps(result.payload).encode()
        parsed: dict[str, Any] = {"StatusCode": 200, "ExecutedVersion": "$LATEST",
                                  "Payload": StreamingBody(io.BytesIO(body), len(body))}
        if result.function_error:
            parsed["FunctionError"] = result.function_error
        if params.get("LogType") == "Tail":
            parsed["LogResult"] = base64.b64encode(result.logs.encode()[-4096:]).decode()
        return 200, parsed

    def _run_local(self, fn: Function, event: Any, source: str = "") -> InvokeResult:
        request_id = str(uuid.uuid4())
        _wrap_std_streams()
        fn.invocations += 1
        deadline = time.monotonic() + fn.timeout_s
        context = LambdaContext(fn, request_id, deadline)
        env = self._lambda_env(fn)
        lines: list[str] = [f"START RequestId: {request_id} Version: $LATEST\n"]
        payload: Any = None
        error: str | None = None

        fault = self.faults.lambda_fault(fn.name, source) if self.faults is not None else None

        def run():
            _env_overlay.set(env)
            _log_sink.set(lines)
            if fault:
                from app.runtime.faults import InjectedFault

                raise InjectedFault(fault)
            with bound(self._clients):
                return fn.callable(json.loads(json.dumps(event)), context)

        started, cpu_started = time.perf_counter(), time.thread_time()
        try:
            payload = contextvars.copy_context().run(run)
            json.dumps(payload)
        except Exception as exc:  # the handler's own failure, reported the way Lambda does
            error = "Unhandled"
            stack = traceback.format_exception(type(exc), exc, exc.__traceback__)
            payload = {"errorMessage": str(exc), "errorType": type(exc).__name__, "requestId": request_id,
                       "stackTrace": [line for line in stack[1:-1]]}
            lines.append(f"[ERROR] {type(exc).__name__}: {exc}\n" + "".join(stack))
        duration = (time.perf_counter() - started) * 1000
        if error is None and time.thread_time() - cpu_started > fn.timeout_s:       # see the module docstring
            error = "Unhandled"
            payload = {"errorType": "Sandbox.Timedout", "requestId": request_id,
                       "errorMessage": f"RequestId: {request_id} Error: Task timed out after {fn.timeout_s}.00 seconds"}
            lines.append(payload["errorMessage"] + "\n")
        billed = max(1, math.ceil(duration))
        lines.append(f"END RequestId: {request_id}\n")
        lines.append(f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\tBilled Duration: {billed} ms\t"
                     f"Memory Size: {fn.memory_mb} MB\n")
        logs = "".join(lines)
        self._write_logs(fn, logs)
        return InvokeResult(function=fn.name, payload=payload, function_error=error, logs=logs,
                            request_id=request_id, duration_ms=duration, billed_ms=billed, memory_mb=fn.memory_mb)

    def _lambda_env(self, fn: Function) -> dict[str, str]:
        c = self._clients
        env = {
            "AWS_LAMBDA_FUNCTION_NAME": fn.name, "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_mb), "AWS_LAMBDA_LOG_GROUP_NAME": fn.log_group,
            "AWS_LAMBDA_LOG_STREAM_NAME": fn.log_stream, "AWS_REGION": c.region, "AWS_DEFAULT_REGION": c.region,
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12", "LAMBDA_TASK_ROOT": "/var/task",
            "_HANDLER": fn.handler,
        }
        env.update(self._extra_env)
        env.update(fn.env)
        return env

    def _write_logs(self, fn: Function, text: str) -> None:
        # Lambda ships logs to CloudWatch asynchronously; here they are held until the next flush
        # (end of each pipeline step and of each event drain, read_logs, teardown).
        now = int(time.time() * 1000)
        with self._lock:
            self._pending_logs.setdefault(fn.name, []).extend(
                {"timestamp": now, "message": chunk} for chunk in _split_log(text))
            held = sum(len(v) for v in self._pending_logs.values())
        if held >= MAX_HELD_LOG_EVENTS:
            self.flush_logs()

    def flush_logs(self) -> int:
        """Write held log events to CloudWatch Logs; returns how many were written."""
        with self._lock:
            pending, self._pending_logs = self._pending_logs, {}
        if not pending:
            return 0
        logs = self._clients.client("logs")
        written = 0
        for name, events in pending.items():
            fn = self.get(name)
            if not fn._log_stream_made:
                logs.create_log_stream(logGroupName=fn.log_group, logStreamName=fn.log_stream)
                fn._log_stream_made = True
            for i in range(0, len(events), 1000):
                logs.put_log_events(logGroupName=fn.log_group, logStreamName=fn.log_stream,
                                    logEvents=events[i:i + 1000])
            written += len(events)
        return written

    def _run_remote(self, fn: Function, event: Any) -> InvokeResult:
        import base64

        fn.invocations += 1
        client = self._clients.client("lambda")
        started = time.perf_counter()
        resp = client.invoke(FunctionName=fn.name, Payload=json.dumps(event).encode(), LogType="Tail")
        duration = (time.perf_counter() - started) * 1000
        raw = resp["Payload"].read()
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = raw.decode(errors="replace")
        logs = base64.b64decode(resp.get("LogResult", "")).decode(errors="replace") if resp.get("LogResult") else ""
        return InvokeResult(function=fn.name, payload=payload, function_error=resp.get("FunctionError"), logs=logs,
                            request_id=resp.get("ResponseMetadata", {}).get("RequestId", ""),
                            duration_ms=duration, billed_ms=max(1, math.ceil(duration)), memory_mb=fn.memory_mb,
                            status_code=resp.get("StatusCode", 0))

    def read_logs(self, name: str) -> str:
        """The function's log events in CloudWatch Logs, read back from the backend."""
        fn = self.get(name)
        self.flush_logs()
        logs = self._clients.client("logs")
        try:
            found = logs.filter_log_events(logGroupName=fn.log_group)
        except logs.exceptions.ResourceNotFoundException:
            return ""
        return "".join(e["message"] for e in found.get("events", []))


def _throttled(fn: Function) -> InvokeResult:
    """Invoke's answer when the function's reserved concurrency is used up: 429, the handler never runs."""
    error = facts.LAMBDA_THROTTLE_ERROR.value
    return InvokeResult(function=fn.name, payload={"errorType": error["code"], "errorMessage": "Rate Exceeded.",
                                                   "Reason": error["reason"]},
                        function_error=None, logs="", request_id=str(uuid.uuid4()), duration_ms=0.0, billed_ms=0,
                        memory_mb=fn.memory_mb, status_code=error["status"])


def _split_log(text: str) -> list[str]:
    """Lambda writes one log event per line group; keep a traceback together."""
    chunks: list[str] = []
    for line in text.splitlines(keepends=True):
        if chunks and (line.startswith((" ", "\t", "Traceback")) or not line.strip()):
            chunks[-1] += line
        else:
            chunks.append(line)
    return chunks or [""]
