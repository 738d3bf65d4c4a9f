"""The Run page's Faults panel, and the ledger and dead letters of a run with faults.

The faults offered are those the case's pipeline declares (``Pipeline.faults``): the page never
names a case. The faults themselves are emulated by the runtime (:mod:`app.runtime.faults`).
"""
from __future__ import annotations

import json
from typing import Any

import streamlit as st

from app.core import facts
from app.runtime.faults import FAULTS, fault_value
from app.ui.runs import EXECUTED
from app.ui.widgets import table


def faults_panel(supported: tuple[str, ...], key: str, disabled: bool = False) -> tuple[dict[str, Any], bool]:
    """Draw the Faults panel; return the faults switched on (name -> value) and whether to redrive."""
    faults: dict[str, Any] = {}
    with st.expander("Faults", icon=":material/bolt:", expanded=False):
        if not supported:
            st.caption("This run has no asynchronous flow, DynamoDB traffic from a function or second region "
                       "that a fault could fail.")
            return {}, True
        if disabled:
            st.caption("Faults are injected on the embedded backend only: switch live AWS off to use them.")
        st.caption(
            "Fail part of the run on purpose and watch AWS's retries recover it: asynchronous invocations are "
            f"retried {facts.LAMBDA_ASYNC_RETRIES.value} times ({facts.LAMBDA_ASYNC_RETRY_WAITS_S.text} apart), "
            "SQS messages come back after the visibility timeout and go to the dead-letter queue after "
            f"maxReceiveCount receives, the SDK retries a throttled request ({facts.SDK_STANDARD_MAX_ATTEMPTS.text}, "
            "exponential backoff). The waits are counted on the run's clock, not slept. The faults clear at the "
            "end of the drive steps.")
        for name in supported:
            spec = FAULTS[name]
            on = st.toggle(spec.label, key=f"{key}:{name}:on", help=spec.help, disabled=disabled)
            if on and not disabled:
                if spec.kind == "choice":      # the region outage: the run's primary region goes down
                    faults[name] = spec.default
                    st.caption(f"{spec.label}: the {spec.default} region goes down at the step the case names "
                               f"and comes back when the faults clear. Route 53 declares an endpoint unhealthy "
                               f"after {facts.R53_FAILOVER_S.text} ({facts.R53_HEALTH_INTERVAL_S.text} x "
                               f"{facts.R53_FAILURE_THRESHOLD.text}).")
                elif spec.min is None or spec.max is None:
                    raise ValueError(f"the fault {spec.key} has no range for its slider")
                elif spec.kind == "int":
                    faults[name] = st.slider(f"{spec.label} ({spec.unit})", int(spec.min), int(spec.max),
                                             int(spec.default), int(spec.step or 1), key=f"{key}:{name}:value")
                else:
                    faults[name] = st.slider(f"{spec.label}: share of attempts that fail", float(spec.min),
                                             float(spec.max), float(spec.default), spec.step,
                                             key=f"{key}:{name}:value")
        redrive = st.checkbox("Redrive the dead-letter queues when the faults clear", value=True,
                              key=f"{key}:redrive", disabled=disabled or not faults,
                              help="Hands every dead-lettered event back to its function, as a DLQ redrive does.")
    return faults, bool(redrive)


def _dead_letter_rows(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for m in messages:
        try:
            body = json.loads(m["body"])
        except ValueError:
            body = m["body"]
        what = ""
        if isinstance(body, dict) and "DDBStreamBatchInfo" in body:
            info = body["DDBStreamBatchInfo"]
            what = (f"stream batch of {info.get('batchSize')} record(s) after "
                    f"{body.get('requestContext', {}).get('approximateInvokeCount')} attempts")
        elif isinstance(body, dict) and body.get("Records"):
            r = body["Records"][0]
            key = (r.get("s3") or {}).get("object", {}).get("key", "")
            what = f"{r.get('eventSource', '')} {r.get('eventName', '')} {key}"
        rows.append({"Queue": m["queue"], "Message": what.strip() or str(m["body"])[:120],
                     "Error": m["attributes"].get("ErrorMessage", ""), "Received": m["receive_count"]})
    return rows


def ledger_view(result) -> None:
    """The ledger of each flow (events in, processed, dead-lettered, lost) and the dead-letter queues' messages."""
    if not result.ledger and result.faults is None:
        return
    st.subheader("Ledger")
    rows = [{"Flow": name, "In": n["in"], "Processed": n["processed"], "Dead-lettered": n["dead_lettered"],
             "Failed": n.get("failed", 0), "Lost": n["lost"], "Failed attempts": n["failed_attempts"],
             "Redriven": n["redriven"],
             "Dead-letter queue": n["dead_letter_queue"] or "none"} for name, n in result.ledger.items()]
    if rows:
        table(rows, "run-ledger")
    else:
        st.caption("This run has no asynchronous flow: its requests are answered synchronously, so a failure "
                   "reaches the caller (the checks say so) and nothing waits in a queue.")
    if result.faults is not None:
        given = ", ".join(f"{FAULTS[k].label} {fault_value(k, v)}" for k, v in result.faults["given"].items())
        st.caption(f"Faults injected: {given}. Each flow's events are counted by the runtime; the dead-lettered "
                   f"ones are read back from their queues, {EXECUTED}. The retry waits "
                   f"({result.faults['modelled_wait_s']:,.1f} s in all) moved the run's clock instead of being slept.")
    before = result.artifacts.get("dead_letters")
    if before:
        redriven = "redriven" in result.artifacts
        label = (f"Dead-letter queues when the faults cleared: {len(before)} message(s)"
                 + (", then redriven" if redriven else ", left there"))
        with st.expander(label, icon=":material/move_to_inbox:", expanded=not redriven):
            table(_dead_letter_rows(before), "run-dead-letters")
            if st.toggle("Raw messages", key="run-dead-letters-raw"):
                st.json(before, expanded=True)


def redrive_button(result, redrive: Any) -> None:
    """When the run left events in its dead-letter queues, a button that redrives them: ``redrive()`` runs
    the same run again with the redrive on (each run's account is torn down when it ends)."""
    left = sum(n["dead_lettered"] for n in result.ledger.values())
    if not left:
        return
    if st.button(f"Redrive the dead-letter queues ({left} event{'s' if left != 1 else ''})", key="run-redrive",
                 icon=":material/replay:",
                 help="A run's account is deleted when the run ends, so the run is made again with the same "
                      "faults; this time the dead-letter queues are redriven once the faults clear."):
        redrive()
        st.rerun()
