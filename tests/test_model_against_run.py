"""The model's hit ratio of every cache a run measures, against a run of at least 2,000 requests.

Runs start with empty caches and last seconds, against TTLs of minutes or hours, so the model
evaluates each cache over the run's own workload (its requests, keys, popularity and read share):
the stage cache and a CloudFront edge miss once per key read; DAX's item cache also fills on every
write (write-through), alone or behind the stage cache. Agreement within 3 percentage points.
"""
from __future__ import annotations

import numpy as np
import pytest

from app.core.cases import get_case
from app.runtime.dataplanes.cloudfront import CloudFrontEdge
from app.runtime.infra import Infra
from app.runtime.pipeline import RunContext, load_pipeline, run_pipeline
from patterns.global_blog.model import edge_run_hit_ratios
from patterns.todo_api.model import run_hit_ratios
from patterns.todo_api.traffic import Workload

TOLERANCE = 0.03
WORKLOAD = Workload(requests=2000, items=1000, skew=0.9, read_ratio=0.8)


@pytest.mark.parametrize("api_cache, dax", [(True, False), (False, True), (True, True)],
                         ids=["stage cache", "DAX item cache", "DAX behind the stage cache"])
def test_todo_caches_model_against_run(api_cache, dax):
    case = get_case("todo-api")
    values = {t.key: t.default for t in case.toggles} | {"api_cache": api_cache, "dax": dax}
    result = run_pipeline(load_pipeline(case, values, workload=WORKLOAD), values)
    assert result.ok, [c for c in result.checks if not c.ok]
    traffic = result.artifacts["traffic"]
    assert traffic["reads"] + traffic["writes"] >= 2000
    modelled = run_hit_ratios(values, WORKLOAD)
    measured = {name: traffic[name]["hit_ratio"] for name in modelled}
    assert set(measured) == {n for n, on in (("api_cache", api_cache), ("dax", dax)) if on}
    for name in modelled:
        assert abs(modelled[name] - measured[name]) <= TOLERANCE, (name, modelled[name], measured[name])
    if dax and api_cache:
        assert measured["dax"] > 0 and modelled["dax"] > 0    # write-through fills DAX behind the stage cache


def test_cloudfront_edges_model_against_run(runtime_session):
    objects = 300
    infra = Infra(RunContext(runtime_session, {}, "edge-model"))
    bucket = infra.bucket("site", files={f"o/{i:04d}.css": ("text/css", "", b"x" * 64) for i in range(objects)})
    edge = infra.cloudfront(bucket, comment="model against run").edge
    popularity = Workload(items=objects, skew=0.9).popularity()
    rng = np.random.default_rng(20261201)
    regions = {"us-east-1": 1300, "eu-west-1": 900}       # readers near home and near the replica region
    sent: dict[str, int] = {}
    for region, n in regions.items():
        for i in rng.choice(objects, size=n, p=popularity):
            assert edge.get(f"/o/{int(i):04d}.css", viewer_region=region).status == 200
        sent[CloudFrontEdge.edge_for(region)] = n
    stats = edge.stats()["edges"]
    modelled = edge_run_hit_ratios(popularity, sent)
    for name, n in sent.items():
        measured = stats[name]["hits"] / (stats[name]["hits"] + stats[name]["misses"])
        assert stats[name]["hits"] + stats[name]["misses"] == n
        assert abs(modelled[name] - measured) <= TOLERANCE, (name, modelled[name], measured)
    assert sum(sent.values()) >= 2000
