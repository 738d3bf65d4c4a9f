"""A run's verdict does not depend on how fast the machine is.

The slow machine: every interval the process times (``time.perf_counter``, ``time.monotonic``)
lasts a thousand times longer, and every Lambda handler waits 12 ms before it starts, as it
would queued behind other visitors' runs for a core. Each Lambda invocation then lasts more
than its 10 s timeout by those clocks, a 10 s wait for replication ends after 10 ms, and a
traffic run of 200 requests lasts the best part of an hour: the checks must still pass, with the same verdicts as
on this machine as it is.
"""
from __future__ import annotations

import time

import pytest

import patterns.global_blog.handlers as blog_handlers
import patterns.todo_api.handlers as todo_handlers
from app.core.cases import get_case
from app.runtime.pipeline import RunClock, load_pipeline, run_pipeline
from patterns.todo_api.pipeline import build_pipeline as todo_pipeline
from patterns.todo_api.traffic import Workload

SLOWER = 1000
HANDLER_WAIT_S = 0.012


def slow_machine(monkeypatch, module, names) -> None:
    real_pc, real_mono = time.perf_counter, time.monotonic
    pc0, mono0 = real_pc(), real_mono()
    monkeypatch.setattr(time, "perf_counter", lambda: pc0 + (real_pc() - pc0) * SLOWER)
    monkeypatch.setattr(time, "monotonic", lambda: mono0 + (real_mono() - mono0) * SLOWER)
    for name in names:
        handler = getattr(module, name)

        def waiting(event, context, handler=handler):
            time.sleep(HANDLER_WAIT_S)
            return handler(event, context)
        monkeypatch.setattr(module, name, waiting)


def verdicts(result) -> list[tuple[str, bool]]:
    return [(c.name, c.ok) for c in result.checks]


def test_todo_api_verdicts_are_the_same_on_a_slow_machine(monkeypatch):
    values = get_case("todo-api").resolve({"dax": True, "api_cache": True})
    workload = Workload(requests=200)
    normal = run_pipeline(todo_pipeline(values, workload), values, check_leftovers=True)
    assert normal.ok, [c for c in normal.checks if not c.ok]
    slow_machine(monkeypatch, todo_handlers, ["handler"])
    slow = run_pipeline(todo_pipeline(values, workload), values, check_leftovers=True)
    traffic = slow.artifacts["traffic"]
    # the machine was slow: by its clocks each invocation outlasted the function's 10 s timeout
    assert traffic["measured_ms_total"] > traffic["lambda_invocations"] * HANDLER_WAIT_S * SLOWER * 1000 > 0
    assert verdicts(slow) == verdicts(normal), [c for c in slow.checks if not c.ok]
    assert traffic["api_cache"] == normal.artifacts["traffic"]["api_cache"]        # hit ratios counted alike
    assert traffic["dax"] == normal.artifacts["traffic"]["dax"]


@pytest.mark.parametrize("given", [{"global_tables": True, "dax": True}])
def test_global_blog_verdicts_are_the_same_on_a_slow_machine(monkeypatch, given):
    case = get_case("global-blog")
    values = case.resolve(given)
    normal = run_pipeline(load_pipeline(case, values), values, check_leftovers=True)
    assert normal.ok, [c for c in normal.checks if not c.ok]
    slow_machine(monkeypatch, blog_handlers, ["api_handler", "welcome_email", "thumbnail"])
    slow = run_pipeline(load_pipeline(case, values), values, check_leftovers=True)
    assert slow.measured_ms > normal.measured_ms * 10
    assert verdicts(slow) == verdicts(normal), [c for c in slow.checks if not c.ok]


def test_a_held_run_clock_stands_still_but_can_be_moved_on():
    clock = RunClock()
    with clock.held():
        first = clock()
        time.sleep(0.02)
        assert clock() == first
        clock.advance(60)
        assert clock() == first + 60
    clock.reset()
    assert clock() >= first + 0.02
