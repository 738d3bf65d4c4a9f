"""A page closed while its run is in flight: the run stops after its current step and its account is torn down."""
from __future__ import annotations

from streamlit.runtime.scriptrunner_utils.exceptions import StopException

from app.runtime.pipeline import run_pipeline
from app.runtime.session import SessionRegistry
from app.runtime.testpipelines.pipelines import PIPELINES
from app.ui.runs import RunAbandoned, keep_running


def run_with_page(connected: bool):
    """A run whose page stopped drawing after its first step (Streamlit stopped the script), its visitor
    still there or gone: (steps reported, the session's teardown report, the registry after release)."""
    registry = SessionRegistry()
    session = registry.get("visitor")
    assert registry.claim_run("visitor")
    reported, torn = [], []
    real_teardown = session.teardown

    def teardown():
        torn.append(real_teardown())
        return torn[-1]
    session.teardown = teardown

    def draw(step):
        reported.append(step)
        raise StopException()      # the first step's drawing ends this script run
    outcome = None
    try:
        outcome = run_pipeline(PIPELINES["s3-sqs-lambda-ddb"](), {"uploads": 1}, session=session, own_session=True,
                               progress=keep_running(draw, connected=lambda: connected))
    except RunAbandoned as exc:
        outcome = exc
    finally:
        registry.release_run("visitor")
    return outcome, reported, torn, registry, session


def test_a_closed_page_stops_its_run_and_tears_its_account_down():
    outcome, reported, torn, registry, session = run_with_page(connected=False)
    assert isinstance(outcome, RunAbandoned) and "page was closed" in str(outcome)
    steps = PIPELINES["s3-sqs-lambda-ddb"]().ordered()
    assert len(reported) == 1 < len([s for s in steps if s.phase != "teardown"])   # nothing after the first step
    assert session.closed and torn and torn[0]["deleted"] and not torn[0]["errors"]
    assert len(registry) == 0


def test_a_page_that_only_reran_lets_its_run_finish():
    outcome, reported, torn, registry, session = run_with_page(connected=True)
    assert not isinstance(outcome, RunAbandoned) and outcome.ok
    assert len(reported) == 1                      # drawing stopped, the run went on to its end
    assert session.closed and torn and len(registry) == 0
