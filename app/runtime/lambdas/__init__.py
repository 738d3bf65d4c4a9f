"""Lambda functions of a session: see :mod:`app.runtime.lambdas.invocation`."""
from __future__ import annotations

from app.runtime.lambdas.invocation import (ASYNC_RETRY_WAITS_S, BASIC_EXECUTION, LAMBDA_TRUST_POLICY,
                                            MAX_HELD_LOG_EVENTS, Function, InvokeResult, LambdaContext, Lambdas,
                                            in_invocation, module_zip)

__all__ = ["ASYNC_RETRY_WAITS_S", "BASIC_EXECUTION", "LAMBDA_TRUST_POLICY", "MAX_HELD_LOG_EVENTS", "Function",
           "InvokeResult", "LambdaContext", "Lambdas", "in_invocation", "module_zip"]
