"""Memory kept after runs and sessions end: a finished run leaves (almost) nothing behind."""
from __future__ import annotations

import gc
import tracemalloc

import pytest
from streamlit.testing.v1 import AppTest

from app.core.cases import get_case
from app.runtime.pipeline import load_pipeline, run_pipeline
from app.runtime.session import SessionRegistry, registry
from tests.conftest import APP_ENTRY

pytestmark = pytest.mark.slow
RUNS = 6
KB_PER_RUN = 150       # measured: about 320 KB per MyBlog.com run while moto tracked its objects, 90 KB after


def _tracked_moto_objects() -> int:
    from moto.core.model_instances import model_data

    return sum(len(model.instances_tracked) for service in model_data.values() for model in service.values())


def test_finished_runs_leave_no_backend_objects_and_little_memory():
    case = get_case("global-blog")
    values = case.resolve({})
    for _ in range(2):                              # warm: imports, caches, the server's first requests
        assert run_pipeline(load_pipeline(case, values), values).ok
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for _ in range(RUNS):
            assert run_pipeline(load_pipeline(case, values), values).ok
        gc.collect()
        grown = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(before, "filename"))
    finally:
        tracemalloc.stop()
    assert _tracked_moto_objects() == 0
    assert grown / RUNS < KB_PER_RUN * 1024, f"{grown / RUNS / 1024:.0f} KB kept per run"


def test_a_session_whose_run_ended_is_dropped_from_the_registry():
    runs = SessionRegistry()
    assert runs.claim_run("tab") and not runs.claim_run("tab")     # one run in flight per session
    session = runs.get("tab")
    run_pipeline(load_pipeline(get_case("global-blog"), get_case("global-blog").resolve({})),
                 get_case("global-blog").resolve({}), session=session, own_session=True)
    runs.release_run("tab")
    assert len(runs) == 0 and session.closed
    assert runs.claim_run("tab")
    runs.release_run("tab")


def test_the_run_page_keeps_no_runtime_session_after_its_run():
    at = AppTest.from_file(APP_ENTRY, default_timeout=300)
    at.query_params["case"] = "global-blog"
    at.switch_page("views/run.py").run()
    at.button(key="run-button").click().run()
    assert not at.exception and at.metric[0].value.split(" / ")[0] == at.metric[0].value.split(" / ")[1]
    key = at.session_state["_runtime_session_key"]
    assert key not in registry()._sessions


def test_a_closed_sessions_account_leaves_no_backend_in_memory():
    """moto caches a subnet's address iterator and each account's region list in caches keyed by the
    object; a closed session's EC2 backend (with its thousands of default images) must not stay behind."""
    import weakref

    from moto.core.base_backend import BackendDict

    from app.runtime.session import RuntimeSession

    session = RuntimeSession.moto()
    ec2 = session.clients.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    ec2.create_network_interface(SubnetId=subnet)          # takes an address from the subnet's iterator
    held = [weakref.ref(backend) for service in BackendDict._instances if session.account_id in service.keys()
            for backend in [service[session.account_id]] + list(service[session.account_id].values())]
    assert held, "the session's account has no backend"
    session.close()
    gc.collect()
    kept = sorted({type(ref()).__name__ for ref in held if ref() is not None})
    assert kept == [], f"still in memory after the account was dropped: {kept}"


def test_a_closed_sessions_rest_api_is_not_kept():
    """moto registers a deployed stage's URLs with its HTTP mock, holding the API (and its methods,
    integrations and deployments); a closed session's API must go with its account."""
    import weakref

    from moto.apigateway.models import apigateway_backends

    from app.runtime.session import RuntimeSession

    session = RuntimeSession.moto()
    api = session.clients.client("apigateway")
    api_id = api.create_rest_api(name=session.name("api"))["id"]
    root = api.get_resources(restApiId=api_id)["items"][0]["id"]
    api.put_method(restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE")
    api.put_integration(restApiId=api_id, resourceId=root, httpMethod="GET", type="MOCK")
    api.create_deployment(restApiId=api_id, stageName="prod")
    held = weakref.ref(apigateway_backends[session.account_id][session.region].apis[api_id])
    session.close()
    gc.collect()
    assert held() is None, "the closed session's REST API is still in memory"
