"""Lambda functions of a session: registered in the backend, run in-process on moto.

``deploy(name, handler="patterns.x.handlers.fn", env=None, memory_mb=128,
timeout_s=30)`` zips the handler's module (with its package ``__init__`` files),
registers it with ``CreateFunction`` under the session's resource name, and keeps
the Python callable. ``invoke(name, event)`` then runs that callable in this process
(moto cannot run code without Docker) the way the Lambda Python runtime does:

* a real context object: ``function_name``, ``function_version``,
  ``invoked_function_arn``, ``memory_limit_in_mb``, ``aws_request_id``,
  ``log_group_name``, ``log_stream_name`` and ``get_remaining_time_in_millis()``;
* the function's environment variables in ``os.environ`` for this invocation only
  (an overlay bound to the invoking context, so concurrent sessions never see each
  other's values), plus Lambda's own ``AWS_LAMBDA_FUNCTION_NAME``, ``AWS_REGION``, ...;
* clients bound to the session's account through
  :func:`app.runtime.clients.aws_client` (no credentials are put in the environment:
  a plain ``boto3.client`` in a handler would not reach the session's account);
* what the handler prints or logs, plus Lambda's START/END/REPORT lines, written to
  CloudWatch Logs under ``/aws/lambda/<name>`` (held and shipped in batches, as
  Lambda does asynchronously: at the end of each pipeline step, on ``read_logs``,
  before teardown and every ``MAX_HELD_LOG_EVENTS`` events; ``flush_logs()``
  forces it);
* a raised exception becomes ``FunctionError: "Unhandled"`` with Lambda's error
  payload (errorMessage, errorType, requestId, stackTrace).

The Invoke API itself works too: ``lambda.invoke(FunctionName=..., Payload=...)`` made
through the session's clients (from a step or from another handler) is answered by
running the function here (RequestResponse, Event, DryRun, ``LogType="Tail"``).

The function's timeout cannot interrupt Python code running in this process: a run
that exceeds it is reported afterwards as Lambda's ``Sandbox.Timedout`` error. The timeout
is judged on the CPU time the handler's thread used (``time.thread_time``), not on the wall
clock: on a loaded machine an invocation also waits for a core and for the interpreter
lock behind other visitors' runs, which on AWS it would not, and a verdict must not depend
on how busy the machine is. Time a handler spends blocked (sleeping, on a socket) is not
counted against its timeout here.

The handler's module is imported once per process and shared by every session, so a
handler reads ``os.environ`` and gets its clients inside the handler function, not at
import time (``aws_client`` caches clients per session, so this costs nothing).

In live mode the same ``deploy`` uploads the zip to AWS and ``invoke`` calls the
Invoke API: the code then runs in AWS Lambda itself.
"""
from __future__ import annotations

from app.runtime.lambdas.invocation import ASYNC_RETRY_WAITS_S, MAX_HELD_LOG_EVENTS, Function, InvokeResult, Lambdas
from app.runtime.lambdas.packaging import BASIC_EXECUTION, LAMBDA_TRUST_POLICY, module_zip
from app.runtime.lambdas.sandbox import LambdaContext, in_invocation

__all__ = ["ASYNC_RETRY_WAITS_S", "BASIC_EXECUTION", "LAMBDA_TRUST_POLICY", "MAX_HELD_LOG_EVENTS", "Function",
           "InvokeResult", "LambdaContext", "Lambdas", "in_invocation", "module_zip"]
