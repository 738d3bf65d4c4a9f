"""The step API: how a case declares what its pipeline does, and how it is run.

A case's ``patterns/<case>/pipeline.py`` exposes ``build_pipeline(values, **options) ->
Pipeline`` (``options`` are the case's run options, drawn by its run view: a traffic
workload, an image to upload...). Steps come in four phases, run in this order: deploy,
drive, verify, teardown. Each step has a name, a service label (for the trace), the
diagram edges it travels (``edges``: the ``step=`` keys of the case's diagram edges,
highlighted after a run) and a function taking the run context ``ctx``. What the steps
share is a dataclass the pipeline declares, so a misspelt name fails where it is written; its
``options`` field holds the run options (made with ``functools.partial(State, options=...)``),
and ``ctx.values`` the toggle values. Each step is a module-level function, so it can be run
alone on a context prepared for it (``RunContext(session, values, case, State)``), and
``build_pipeline`` only composes them with ``p.add(phase, name, service, fn, edges)``::

    from dataclasses import dataclass, field
    from functools import partial
    from app.runtime.pipeline import Check, Pipeline, RunContext

    @dataclass(frozen=True)
    class Options:
        reads: int = 3

    @dataclass
    class State:
        options: Options = field(default_factory=Options)
        table: str = ""
        api: Any = None

    def table(ctx: RunContext[State]) -> None:
        ctx.state.table = ctx.infra.table("todos", hash_key="user_id", range_key="todo_id")

    def api(ctx: RunContext[State]) -> None:
        fn = ctx.lambdas.deploy("todo", handler="patterns.todo_api.handlers.handler",
                                env={"TABLE_NAME": ctx.state.table})
        ctx.state.api = ctx.infra.rest_api("todo-api", [Route("GET", "/todos/{id}", fn.arn)])

    def read(ctx: RunContext[State]) -> None:
        for _ in range(ctx.state.options.reads):
            ctx.artifact("reply", ctx.state.api.request("GET", "/todos/t1").json())

    def saved(ctx: RunContext[State]) -> Check:
        item = ctx.client("dynamodb").get_item(...).get("Item")
        return Check("todo saved", item is not None, f"read back: {item}")

    def build_pipeline(values, reads=3):
        p = Pipeline("todo-api", values=values, state=partial(State, options=Options(reads)))
        p.add("deploy", "Create the todos table", "dynamodb", table)
        p.add("deploy", "Create the REST API", "apigateway", api)
        p.add("drive", "Read a todo", "apigateway", read, ("api", "lambda", "dynamodb"))
        p.add("verify", "The todo is in the table", "dynamodb", saved)
        return p

The decorators ``@p.deploy(name, service=, edges=)`` (and ``drive``, ``verify``, ``teardown``) add a
step the same way.

A verify step returns a :class:`Check`, a list of them, or ``(ok, detail)``; a run is ok when every
check passes, and a run whose verify steps return no check is not (it says so in a failed check). ``ctx.values`` holds the
case's toggle values (those the pipeline was built for, ``Pipeline(..., values=values)``, updated with
those the run is given); ``ctx.infra`` builds the shared infrastructure (:mod:`app.runtime.infra`: user
pools, identity pools, REST APIs, DAX, CloudFront, buckets and their fan-out, roles, queues, global
tables, ElastiCache, RDS, Route 53 zones and health checks), each in the run's account, with the
emulated data plane where moto has none; ``ctx.clock`` is the run's clock (token expiry and TTLs are
judged by it, so a lesson about time does not depend on the machine's speed); ``ctx.artifact(key,
value)`` keeps something to show; ``Pipeline(..., faults=(...))`` names the injected faults
(:mod:`app.runtime.faults`) the run has a flow for, and ``recover_before`` the drive step before which
they clear (default: after the last drive step); ``ctx.deployed`` records the configuration that was
really deployed (node counts, cache sizes, TTLs) so the model shown beside the run prices that
configuration. Every boto3 call and Lambda invocation inside a step becomes a span of that step. If a
deploy or drive step raises, the rest of deploy, drive and verify is skipped and the run is not ok;
teardown steps always run, then the callbacks registered with ``ctx.on_teardown``, and then the
session's own teardown deletes whatever is left (in a ``finally``).

:func:`run_pipeline` runs a pipeline and returns a :class:`RunResult`
(``to_dict()`` is the JSON of ``python -m app run CASE --json``); ``progress`` is
called with each :class:`StepResult` as it finishes. :func:`highlight` gives the diagram
edges of the steps that ran.

The step API is in :mod:`.steps`, running a pipeline in :mod:`.runner`; both are exported here.
"""
from __future__ import annotations

from app.runtime.pipeline.runner import RunResult, highlight, load_pipeline, run_pipeline
from app.runtime.pipeline.steps import PHASES, Check, Pipeline, RunClock, RunContext, Step, StepResult

__all__ = ["PHASES", "Check", "Pipeline", "RunClock", "RunContext", "RunResult", "Step", "StepResult",
           "highlight", "load_pipeline", "run_pipeline"]
