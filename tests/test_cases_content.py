"""Case-specific diagram facts, asserted on the DOT source of each case's diagram."""
from __future__ import annotations

import re

import pytest

from app.core.cases import get_case
from app.core.diagram import dot_source
from app.core.dot import off_clusters, off_nodes

_NODE = re.compile(r'^\s*"?([A-Za-z0-9_]+)"?\s*\[label=', re.M)
_EDGE = re.compile(r'^\s*"?([A-Za-z0-9_]+)"?\s*->\s*"?([A-Za-z0-9_]+)"?\s*\[(.*?)\]\s*$', re.M | re.S)


def draw(case_id: str, **given) -> str:
    case = get_case(case_id)
    return dot_source(case, case.resolve(given))


def node_set(dot: str) -> set[str]:
    """The nodes of this configuration (a component turned off keeps its place, drawn as off)."""
    return set(_NODE.findall(dot)) - off_nodes(dot)


def edge_map(dot: str) -> dict[tuple[str, str], str]:
    """The edges of this configuration: drawn as on (not off, not a route the options replace)."""
    return {(a, b): attrs for a, b, attrs in _EDGE.findall(dot) if 'class="on' in attrs}


def cluster_blocks(dot: str) -> dict[str, str]:
    """Each cluster's label mapped to the DOT text of its body (nested clusters included)."""
    out: dict[str, str] = {}
    for match in re.finditer(r'subgraph\s+"?cluster_([^"{]*?)"?\s*\{', dot):
        depth, i = 1, match.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(dot[i], 0)
            i += 1
        body = dot[match.end():i - 1]
        out[match.group(1).strip()] = body
    off = off_clusters(dot)
    return {label: body for label, body in out.items() if label not in off}


def label_of(dot: str, node: str) -> str:
    match = re.search(rf'^\s*"?{node}"?\s*\[label="([^"]*)"', dot, re.M)
    assert match, node
    return match.group(1)


# -- global-blog ---------------------------------------------------------------

def test_global_blog_global_tables_add_a_replica_region_with_its_table():
    on = draw("global-blog", global_tables="on", replica_region="ap-northeast-1")
    off = draw("global-blog", global_tables="off", replica_region="ap-northeast-1")
    replica = [body for label, body in cluster_blocks(on).items()
               if "ap-northeast-1" in label and "AWS Cloud" in label]
    assert replica and "replica_table" in node_set(replica[0])
    assert "replica_table" not in node_set(off)
    assert not any("ap-northeast-1" in label for label in cluster_blocks(off))
    assert "dir=both" in edge_map(on)[("table", "replica_table")]
    # Without a replica the far readers call the home region; with one, their own region.
    assert ("users_far", "api") in edge_map(off) and ("users_far", "replica_api") in edge_map(on)


def test_global_blog_cloudfront_sits_in_the_edge_between_users_and_the_site_bucket():
    on, off = draw("global-blog", cloudfront="on"), draw("global-blog", cloudfront="off")
    edges_on, edges_off = edge_map(on), edge_map(off)
    assert {("users_home", "cdn"), ("cdn", "site")} <= set(edges_on)
    assert ("users_home", "site") not in edges_on
    assert ("users_home", "site") in edges_off and "cdn" not in node_set(off)
    edge_cluster = cluster_blocks(on)["AWS edge locations"]
    assert "cdn" in node_set(edge_cluster)


def test_global_blog_dax_sits_between_lambda_and_the_table_inside_a_vpc():
    on, off = draw("global-blog", dax="on"), draw("global-blog", dax="off")
    assert {("lambda", "dax"), ("dax", "table")} <= set(edge_map(on))
    assert ("lambda", "table") in edge_map(off) and ("lambda", "table") not in edge_map(on)
    assert {"lambda", "dax"} <= node_set(cluster_blocks(on)["VPC"])


def test_global_blog_upload_path_and_fanout_follow_their_toggles():
    plain = edge_map(draw("global-blog"))
    fast = edge_map(draw("global-blog", transfer_acceleration="on"))
    assert ("users_home", "uploads") in plain
    assert {("users_home", "accel"), ("accel", "uploads")} <= set(fast) and ("users_home", "uploads") not in fast
    for choice, node in (("sns", "topic"), ("sqs", "queue")):
        dot = draw("global-blog", fanout=choice)
        assert ("thumbs", node) in edge_map(dot)
        assert ({"topic", "queue"} - {node}).isdisjoint(node_set(dot))
    assert not {"topic", "queue"} & node_set(draw("global-blog", fanout="none"))


def test_global_blog_welcome_email_runs_from_the_stream_to_ses():
    edges = edge_map(draw("global-blog"))
    assert {("table", "stream"), ("stream", "welcome"), ("welcome", "ses")} <= set(edges)
    assert "dashed" in edges[("table", "stream")]


# -- microservices ---------------------------------------------------------------

def _orders_records(dot: str) -> dict[str, str]:
    """Targets of the orders.example.com records, mapped to their edge attributes."""
    return {b: attrs for (a, b), attrs in edge_map(dot).items() if a == "dns" and "orders.example.com" in attrs}


def test_microservices_routing_policy_changes_the_orders_records():
    simple = _orders_records(draw("microservices", routing_policy="simple"))
    assert list(simple) == ["alb_a"] and "simple" in simple["alb_a"]

    weighted = _orders_records(draw("microservices", routing_policy="weighted"))
    assert set(weighted) == {"alb_a", "canary_alb"}
    assert all("weight" in attrs for attrs in weighted.values())

    dot = draw("microservices", routing_policy="latency")
    latency = _orders_records(dot)
    assert set(latency) == {"alb_a", "eu_alb"} and "latency: eu-west-1" in latency["eu_alb"]
    second = [body for name, body in cluster_blocks(dot).items() if "eu-west-1" in name]
    assert second and {"eu_alb", "eu_ecs", "eu_table"} <= node_set(second[0])

    dot = draw("microservices", routing_policy="failover")
    failover = _orders_records(dot)
    assert "PRIMARY" in failover["alb_a"] and "SECONDARY" in failover["dr_alb"]
    assert ("health_check", "alb_a") in edge_map(dot)
    for policy in ("simple", "weighted", "latency"):
        assert "health_check" not in node_set(draw("microservices", routing_policy=policy))


def test_microservices_mix_synchronous_and_asynchronous_calls():
    edges = edge_map(draw("microservices"))
    assert "dashed" not in edges[("ecs", "api")]
    for hop in (("ecs", "topic"), ("topic", "queue"), ("queue", "asg")):
        assert "dashed" in edges[hop], hop
    assert {("alb_c", "asg"), ("asg", "rds"), ("lambda", "redis"), ("ecs", "orders_table")} <= set(edges)


def test_microservices_api_cache_sits_in_the_catalog_service():
    on = draw("microservices", api_cache="on")
    assert ("api", "api_cache") in edge_map(on)
    assert "api_cache" in node_set(cluster_blocks(on)["catalog - serverless"])
    assert "api_cache" not in node_set(draw("microservices", api_cache="off"))


# -- paid-content ----------------------------------------------------------------

def test_paid_content_bucket_is_reached_only_through_cloudfront_when_it_is_on():
    on = draw("paid-content", cloudfront="on")
    edges = edge_map(on)
    into_bucket = {a for (a, b) in edges if b == "content"}
    assert into_bucket == {"cdn"} and "OAC" in edges[("cdn", "content")]
    assert ("viewers", "cdn") in edges and "signed URL" in edges[("viewers", "cdn")]
    assert ("signer_fn", "signing_key") in edges
    assert "cdn" in node_set(cluster_blocks(on)["AWS edge locations"])


def test_paid_content_without_cloudfront_falls_back_to_s3_presigned_urls():
    off = draw("paid-content", cloudfront="off")
    edges = edge_map(off)
    assert not {"cdn", "signing_key"} & node_set(off)
    assert "pre-signed" in edges[("viewers", "content")] and "pre-signed" in edges[("signer_fn", "content")]


def test_paid_content_two_apps_share_the_premium_table_behind_one_api():
    dot = draw("paid-content")
    edges = edge_map(dot)
    assert {("api", "register_fn"), ("api", "signer_fn"), ("register_fn", "premium_table"),
            ("signer_fn", "premium_table"), ("api", "user_pool")} <= set(edges)
    blocks = cluster_blocks(dot)
    assert "register_fn" in node_set(blocks["App 1 - premium registration"])
    assert "signer_fn" in node_set(blocks["App 2 - signed URL generator"])
    cached = draw("paid-content", api_cache="on")
    assert "api_cache" in node_set(cluster_blocks(cached)["API Gateway - stage prod"])
    assert "api_cache" not in node_set(dot)


# -- software-updates --------------------------------------------------------------

def test_software_updates_cloudfront_goes_between_clients_and_the_unchanged_origin():
    on, off = draw("software-updates", cloudfront="on"), draw("software-updates", cloudfront="off")
    edges_on, edges_off = edge_map(on), edge_map(off)
    assert {("clients", "cdn"), ("cdn", "alb"), ("dns", "cdn")} <= set(edges_on)
    assert ("clients", "alb") not in edges_on and ("dns", "alb") not in edges_on
    assert {("clients", "alb"), ("dns", "alb")} <= set(edges_off) and "cdn" not in node_set(off)
    # The application behind the load balancer is drawn the same either way.
    behind = {("alb", "app_a"), ("alb", "app_b"), ("app_a", "efs"), ("app_b", "efs")}
    assert behind <= set(edges_on) and behind <= set(edges_off)


def test_software_updates_instances_sit_in_two_zones_of_the_auto_scaling_group():
    blocks = cluster_blocks(draw("software-updates"))
    group = [body for name, body in blocks.items() if name.startswith("Auto Scaling group")]
    assert group and {"app_a", "app_b"} <= node_set(group[0])
    assert "app_a" in node_set(blocks["us-east-1a"]) and "app_b" in node_set(blocks["us-east-1b"])
    labels = {name for name in cluster_blocks(draw("software-updates", cloudfront="on"))}
    assert "Auto Scaling group - sized for cache misses" in labels


# -- iot-analytics -----------------------------------------------------------------

def test_iot_analytics_pipeline_runs_in_the_course_order():
    edges = edge_map(draw("iot-analytics"))
    chain = [("devices", "iot_core"), ("iot_core", "stream"), ("stream", "firehose"), ("firehose", "ingest"),
             ("ingest", "queue"), ("queue", "process_fn"), ("process_fn", "athena"), ("athena", "reporting"),
             ("reporting", "quicksight"), ("reporting", "redshift")]
    for hop in chain:
        assert hop in edges, hop
    assert "dashed" in edges[("ingest", "queue")] and "dashed" in edges[("queue", "process_fn")]


@pytest.mark.parametrize("seconds", [60, 300, 900])
def test_iot_analytics_buffer_interval_is_shown_on_the_delivery_edge(seconds):
    dot = draw("iot-analytics", buffer_interval=str(seconds))
    assert f"every {seconds} s" in edge_map(dot)[("firehose", "ingest")]
    assert f"buffer {seconds} s" in label_of(dot, "firehose")


def test_iot_analytics_transform_is_a_lambda_beside_firehose():
    on, off = draw("iot-analytics", firehose_transform="on"), draw("iot-analytics", firehose_transform="off")
    assert "dir=both" in edge_map(on)[("firehose", "transform_fn")]
    assert "transform_fn" in node_set(cluster_blocks(on)["Ingestion"])
    assert "transform_fn" not in node_set(off)


def test_iot_analytics_parquet_uses_the_glue_schema_and_narrows_the_scan():
    parquet, json = draw("iot-analytics", format="parquet"), draw("iot-analytics", format="json")
    assert ("firehose", "glue") in edge_map(parquet) and ("firehose", "glue") not in edge_map(json)
    assert "Parquet" in label_of(parquet, "ingest") and "JSON" in label_of(json, "ingest")
    assert "needed columns" in edge_map(parquet)[("ingest", "athena")]
    assert "whole objects" in edge_map(json)[("ingest", "athena")]


# -- all five ----------------------------------------------------------------------

MINE = ("global-blog", "microservices", "paid-content", "software-updates", "iot-analytics")


def _variants(case):
    yield case.defaults()
    for toggle in case.toggles:
        values = toggle.choices if toggle.kind == "choice" else (
            (True, False) if toggle.kind == "bool" else (toggle.min, toggle.max))
        for value in values:
            yield case.resolve({toggle.key: value})
    everything_on = {t.key: True for t in case.toggles if t.kind == "bool"}
    yield case.resolve(everything_on)


@pytest.mark.parametrize("case_id", MINE)
def test_cluster_names_are_unique_so_graphviz_keeps_them_apart(case_id):
    # DOT subgraph names are global: two clusters with one label would be merged into one box.
    case = get_case(case_id)
    for values in _variants(case):
        names = re.findall(r'subgraph\s+"?(cluster_[^"{]*?)"?\s*\{', dot_source(case, values))
        assert len(names) == len(set(names)), (values, names)


@pytest.mark.parametrize("case_id", MINE)
def test_every_drawn_node_is_a_component_of_the_case(case_id):
    case = get_case(case_id)
    keys = {c.key for c in case.components}
    for values in _variants(case):
        assert node_set(dot_source(case, values)) <= keys, values


@pytest.mark.parametrize("case_id", MINE)
def test_node_labels_fit_so_graphviz_reserves_their_space(case_id):
    # An over-wide label spills past its node and can run into neighbours or cluster borders.
    import subprocess

    case = get_case(case_id)
    for values in _variants(case):
        proc = subprocess.run(["dot", "-Txdot", "-o", "/dev/null"], input=dot_source(case, values).encode(),
                              capture_output=True, timeout=60)
        assert proc.returncode == 0
        assert b"too small for label" not in proc.stderr, (values, proc.stderr.decode())
