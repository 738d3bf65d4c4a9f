"""The Run page's Faults panel through AppTest: inject a fault, see the ledger and the dead letters, redrive."""
from __future__ import annotations

import pytest

from tests.runpage import open_run_page, table_with


def _ledger(at) -> dict[str, dict]:
    frame = table_with(at, "Dead-lettered")
    return {row["Flow"]: row for row in frame.to_dict("records")}


def _metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_panel_offers_only_the_faults_the_case_declares():
    at = open_run_page("software-updates")
    assert not [t for t in at.toggle if t.key and t.key.startswith("run:faults:")]
    assert any("could fail" in c.value for c in at.caption)
    at.selectbox(key="case").set_value("todo-api").run()
    offered = {t.key for t in at.toggle if t.key and t.key.startswith("run:faults:")}
    assert offered == {"run:faults:todo-api:ddb_throttle_rate:on"}
    at.selectbox(key="case").set_value("global-blog").run()
    offered = {t.key.split(":")[3] for t in at.toggle if t.key and t.key.startswith("run:faults:")}
    assert offered == {"lambda_error_rate", "lambda_throttle_rate", "s3_event_delay_s", "ddb_throttle_rate",
                       "ses_reject_rate"}
    at.toggle(key="run:faults:global-blog:s3_event_delay_s:on").set_value(True).run()
    delay = at.slider(key="run:faults:global-blog:s3_event_delay_s:value")
    assert delay.value == 60 and "(s)" in delay.label and not at.exception


@pytest.mark.slow
def test_lambda_errors_leave_dead_letters_and_the_redrive_processes_them():
    at = open_run_page("global-blog")
    at.toggle(key="run:faults:global-blog:lambda_error_rate:on").set_value(True).run()
    at.slider(key="run:faults:global-blog:lambda_error_rate:value").set_value(1.0).run()
    at.checkbox(key="run:faults:global-blog:redrive").uncheck().run()
    at.button(key="run-button").click().run()
    assert not at.exception
    ledger = _ledger(at)
    thumb = ledger["s3 -> thumbnail"]
    assert (thumb["In"], thumb["Processed"], thumb["Dead-lettered"], thumb["Lost"]) == (1, 0, 1, 0)
    assert all(r["In"] == r["Processed"] + r["Dead-lettered"] and r["Lost"] == 0 for r in ledger.values())
    dead = table_with(at, "Queue")
    assert any("thumbnail-dlq" in q for q in dead["Queue"]) and any("injected fault" in e for e in dead["Error"])
    passed, total = _metric(at, "Checks passed").split(" / ")
    assert passed != total                       # the thumbnail was not made: its check says so
    at.button(key="run-redrive").click().run()
    assert not at.exception
    ledger = _ledger(at)
    assert all(r["Dead-lettered"] == 0 and r["Lost"] == 0 and r["In"] == r["Processed"] for r in ledger.values())
    assert ledger["s3 -> thumbnail"]["Redriven"] == 1
    passed, total = _metric(at, "Checks passed").split(" / ")
    assert passed == total


def test_region_outage_is_offered_with_a_second_region_and_its_failover_shows_in_the_ledger():
    at = open_run_page("global-blog")
    assert not [t for t in at.toggle if t.key == "run:faults:global-blog:region_outage:on"]   # one region
    at.toggle(key="toggle:global-blog:global_tables").set_value(True).run()
    at.toggle(key="run:faults:global-blog:region_outage:on").set_value(True).run()
    assert any("goes down at the step the case names" in c.value and "90 s" in c.value for c in at.caption)
    at.button(key="run-button").click().run()
    assert not at.exception
    flow = _ledger(at)["readers in us-east-1 -> failover to eu-west-1"]
    assert (flow["In"], flow["Processed"], flow["Failed"], flow["Lost"]) == (4, 4, 0, 0)
    assert any("Region outage primary" in c.value for c in at.caption)
    readers = table_with(at, "Failed over")
    assert set(readers["Served from"]) == {"eu-west-1"} and all(readers["Failed over"])
    passed, total = _metric(at, "Checks passed").split(" / ")
    assert passed == total


@pytest.mark.slow
def test_microservices_outage_shows_route53_failover_and_the_standby_taking_the_order():
    at = open_run_page("microservices")
    at.selectbox(key="toggle:microservices:routing_policy").set_value("failover").run()
    at.toggle(key="run:faults:microservices:region_outage:on").set_value(True).run()
    at.button(key="run-button").click().run()
    assert not at.exception
    flow = _ledger(at)["orders during the us-east-1 outage"]
    assert (flow["In"], flow["Processed"], flow["Failed"], flow["Lost"]) == (1, 1, 0, 0)
    assert any("us-east-1 down (injected region outage)" in m.value and "secondary 100" in m.value
               for m in at.markdown)
    assert any("served in **us-west-2** with status 201" in m.value and "replicated to us-east-1" in m.value
               for m in at.markdown)
    passed, total = _metric(at, "Checks passed").split(" / ")
    assert passed == total


@pytest.mark.slow
def test_every_fault_at_once_with_global_tables_keeps_the_ledger_and_redrives():
    """Global tables on and every fault on at its default: the ledger lists every flow, and the dead letters
    the faults left are redriven once the region is back."""
    at = open_run_page("global-blog")
    at.toggle(key="toggle:global-blog:global_tables").set_value(True).run()
    offered = [t.key for t in at.toggle if t.key and t.key.startswith("run:faults:global-blog:")]
    assert len(offered) == 6
    for key in offered:
        at.toggle(key=key).set_value(True).run()
    at.button(key="run-button").click().run()
    assert not at.exception
    ledger = _ledger(at)
    assert {"dynamodb -> welcome", "s3 -> thumbnail", "readers in us-east-1 -> failover to eu-west-1"} <= set(ledger)
    assert all(r["Lost"] == 0 for r in ledger.values())
    assert not any("no asynchronous flow" in c.value for c in at.caption)
    assert not [e for e in at.expander if "left there" in e.label]          # the redrive box was ticked
