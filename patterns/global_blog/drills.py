"""Drills of MyBlog.com (global-blog): questions whose numbers are drawn and whose answer the model computes.

* ``cloudfront-bill``: a blog's traffic is drawn (page views, objects per page, object size, where the far
  readers are); what does putting CloudFront in front of the bucket do to the monthly bill?
* ``replica-read-latency``: readers near a drawn Region; by how much does a global table replica, with the
  API and function deployed beside it, cut the median of their API reads?
* ``accelerated-upload``: an image of a drawn size uploaded from near a drawn Region; how long does it
  take with S3 Transfer Acceleration?

Every figure comes from the case's model (``model.py``) through the engine; distractors are the
mistakes a learner makes (the other configuration, off by a factor, the long haul forgotten).
Pure Python: no streamlit.
"""
from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any

from app.core import format as fmt
from app.core.cases import Case
from app.core.questions import Option
from app.engine.drills import Drill, Evidence, Template, lettered
from app.engine.paths import percentiles, simulate
from app.engine.run import Plan, build, resolve_values
from patterns.global_blog.case import HOME_REGION, REPLICA_REGIONS

LATENCY_SAMPLES = 5_000
# How many of the bill's moved lines a drill about the bill shows with their published prices.
PRICE_LINES_SHOWN = 3
# Off-by-a-factor distractors: the right figure times one of these.
BILL_FACTORS = (10.0, 3.0, 1 / 3, 1 / 10)
LATENCY_FACTORS = (2.0, 3.0, 1 / 2, 1 / 3)
FACTOR_WORDS = {10.0: "ten times", 3.0: "three times", 2.0: "twice", 1 / 2: "half", 1 / 3: "a third of",
                1 / 10: "a tenth of"}


def _factor_words(factor: float) -> str:
    return FACTOR_WORDS[factor]


def values(case: Case, given: Mapping[str, Any]) -> dict[str, Any]:
    """Toggles and workload of the case: the defaults overlaid with ``given``."""
    return resolve_values(case, dict(given))


def plan_of(case: Case, v: Mapping[str, Any]) -> Plan:
    plan, _ctx = build(case, v)
    return plan


def class_p50(plan: Plan, name: str, seed: int) -> float:
    """The modelled median (ms) of one request class (or segment) of the plan."""
    rc = next((c for c in plan.classes + plan.segments if c.name == name), None)
    if rc is None:
        raise ValueError(f"the plan has no request class {name!r}")
    return percentiles(simulate([rc], LATENCY_SAMPLES, seed)[name])["p50"]


def far_read_class(v: Mapping[str, Any]) -> str:
    """The name of the far readers' API read class in the model."""
    far = v["replica_region"]
    serving = far if v["global_tables"] else HOME_REGION
    return f"API read ({far} -> {serving})"


def upload_segment(v: Mapping[str, Any]) -> str:
    return f"upload ({v['replica_region']})"




def _drill(template: str, seed: int, exam: str, domain: str, difficulty: str, scenario: str, question: str,
           options: tuple[Option, ...], answers: tuple[str, ...], evidence: list[Evidence],
           va: Mapping[str, Any], vb: Mapping[str, Any]) -> Drill:
    # the configurations compared, toggles and drawn workload together, so that a page can run both again
    return Drill(template, seed, exam, domain, difficulty, scenario, question, options, answers, tuple(evidence),
                 dict(va), dict(vb))


def _price_evidence(before: Plan, after: Plan) -> list[Evidence]:
    """The published unit prices of the bill's lines that the change moves most (billed in one plan and
    not the other, or by a different amount)."""
    def by_item(plan: Plan) -> dict[tuple[str, str], Any]:
        out: dict[tuple[str, str], Any] = {}
        for line in plan.costs.lines:
            key = (line.service, line.item.split(" (")[0])
            out.setdefault(key, []).append(line)
        return out

    a, b = by_item(before), by_item(after)
    moved = []
    for key in set(a) | set(b):
        lines = b.get(key) or a.get(key)
        change = abs(sum(li.monthly_usd for li in b.get(key, ())) - sum(li.monthly_usd for li in a.get(key, ())))
        line = lines[0]
        if change > 0 and line.source.startswith("https://") and not line.assumption and line.unit_price_usd > 0:
            moved.append((change, key, line))
    moved.sort(key=lambda m: (-m[0], m[1]))
    return [Evidence(f"Price: {service}, {item}", f"{line.unit_price_usd:g} USD per {line.unit}", "published",
                     line.source) for _change, (service, item), line in moved[:PRICE_LINES_SHOWN]]


# -- cloudfront-bill ---------------------------------------------------------------------------------
def make_cloudfront_bill(case: Case, rng: random.Random, seed: int) -> Drill:
    given = {
        "requests_per_month": int(rng.choice((3e5, 1e6, 4e6, 1.5e7, 6e7)) * rng.uniform(0.8, 1.25)) // 1000 * 1000,
        "objects_per_page": rng.randint(4, 20),
        "object_kb": float(rng.choice((30, 120, 400, 1000, 2500))),
        "far_share": rng.choice((0.1, 0.2, 0.3, 0.4, 0.5, 0.6)),
        "replica_region": rng.choice(REPLICA_REGIONS),
    }
    va = values(case, {**given, "cloudfront": False})
    vb = values(case, {**given, "cloudfront": True})
    pa, pb = plan_of(case, va), plan_of(case, vb)
    delta = pb.costs.total - pa.costs.total
    amount = abs(delta)
    saves = delta < 0

    def says(cheaper_with_cloudfront: bool, usd: float) -> str:
        verb = "lowers" if cheaper_with_cloudfront else "raises"
        return f"CloudFront {verb} the monthly bill by {fmt.usd(usd)}"

    basis = (f"the model bills {fmt.usd(pa.costs.total)} a month without CloudFront and {fmt.usd(pb.costs.total)} "
             f"with it: {'a saving' if saves else 'an extra cost'} of {fmt.usd(amount)}.")
    # two factors for the distractors, so that the right amount is not always the middle one
    f_same, f_other, f_other2 = rng.sample(BILL_FACTORS, 3)
    options, answers = lettered(rng, [
        (says(saves, amount), "Right: " + basis, True),
        (says(saves, amount * f_same), f"Wrong: {_factor_words(f_same)} the modelled difference; " + basis, False),
        (says(not saves, amount * f_other), "Wrong: the direction is wrong, and the amount is "
                                            + _factor_words(f_other) + " the modelled one; " + basis, False),
        (says(not saves, amount * f_other2), "Wrong: the direction is wrong, and the amount is "
                                             + _factor_words(f_other2) + " the modelled one; " + basis, False),
    ])
    far = given["replica_region"]
    scenario = (f"MyBlog.com serves {fmt.count(given['requests_per_month'])} page views a month, each loading "
                f"{given['objects_per_page']} static objects of about {fmt.number(given['object_kb'])} KB from an S3 "
                f"bucket in {HOME_REGION}. {fmt.percent(given['far_share'])} of the readers are near {far}, the rest "
                f"near {HOME_REGION}. The team considers putting a CloudFront distribution (pay-as-you-go) in front "
                "of the bucket.")
    evidence = [
        Evidence("Page views a month", fmt.count(given["requests_per_month"]), "input"),
        Evidence("Static objects per page", str(given["objects_per_page"]), "input"),
        Evidence("Static object size", f"{fmt.number(given['object_kb'])} KB", "input"),
        Evidence(f"Readers near {far}", fmt.percent(given["far_share"]), "input"),
        Evidence("Monthly bill without CloudFront", fmt.usd(pa.costs.total), "modelled"),
        Evidence("Monthly bill with CloudFront", fmt.usd(pb.costs.total), "modelled"),
        *_price_evidence(pa, pb),
    ]
    return _drill("cloudfront-bill", seed, "SAA-C03", "Design Cost-Optimized Architectures", "medium", scenario,
                  "What does CloudFront do to the blog's monthly bill, as the model prices it?", options, answers,
                  evidence, va, vb)


# -- replica-read-latency --------------------------------------------------------------------------
def make_replica_read_latency(case: Case, rng: random.Random, seed: int) -> Drill:
    far = rng.choice(REPLICA_REGIONS)
    given = {"replica_region": far, "far_share": rng.choice((0.2, 0.3, 0.4, 0.5, 0.6)), "dax": False,
             "api_calls_per_page": rng.randint(1, 6)}
    va = values(case, {**given, "global_tables": False})
    vb = values(case, {**given, "global_tables": True})
    pa, pb = plan_of(case, va), plan_of(case, vb)
    before = class_p50(pa, far_read_class(va), seed)
    after = class_p50(pb, far_read_class(vb), seed)
    cut = before - after
    why = (f"the far readers' median API read is {fmt.duration(before)} against the {HOME_REGION} stack and "
           f"{fmt.duration(after)} against the stack in {far}: {fmt.duration(cut)} less.")
    f1, f2 = rng.sample(LATENCY_FACTORS, 2)
    options, answers = lettered(rng, [
        (f"About {fmt.duration(cut)} less", "Right: " + why, True),
        (f"About {fmt.duration(cut * f1)} less", f"Wrong: {_factor_words(f1)} the modelled cut; " + why, False),
        (f"About {fmt.duration(cut * f2)} less", f"Wrong: {_factor_words(f2)} the modelled cut; " + why, False),
        ("No change: the reads still go to the table in us-east-1",
         "Wrong: that is a replica without local compute; here the API and function run in the replica's Region "
         "too, so the reads stay local; " + why, False),
    ])
    scenario = (f"The blog's posts API, function and table run in {HOME_REGION}. Readers near {far} make "
                f"{fmt.percent(given['far_share'])} of the page views, each page calling the API "
                f"{given['api_calls_per_page']} times. The team adds a global table replica in {far} and deploys "
                "the API and the posts function there, routing those readers to it.")
    evidence = [
        Evidence("Replica Region", far, "input"),
        Evidence(f"Readers near {far}", fmt.percent(given["far_share"]), "input"),
        Evidence(f"Median API read from {far}, table only in {HOME_REGION}", fmt.duration(before), "modelled"),
        Evidence(f"Median API read from {far}, with the replica stack", fmt.duration(after), "modelled"),
        Evidence("Latency samples per configuration", fmt.count(LATENCY_SAMPLES), "input"),
    ]
    return _drill("replica-read-latency", seed, "SAP-C02", "Continuous Improvement for Existing Solutions", "hard",
                  scenario, f"By how much does the median API read of the readers near {far} drop, as the model "
                            "computes it?", options, answers, evidence, va, vb)


# -- accelerated-upload ----------------------------------------------------------------------------
def make_accelerated_upload(case: Case, rng: random.Random, seed: int) -> Drill:
    far = rng.choice(REPLICA_REGIONS)
    image_mb = float(rng.choice((2, 5, 10, 20, 40, 80)))
    given = {"replica_region": far, "image_mb": image_mb, "far_share": rng.choice((0.2, 0.4, 0.6))}
    va = values(case, {**given, "transfer_acceleration": False})
    vb = values(case, {**given, "transfer_acceleration": True})
    pa, pb = plan_of(case, va), plan_of(case, vb)
    direct = class_p50(pa, upload_segment(va), seed)
    accelerated = class_p50(pb, upload_segment(vb), seed)
    long_haul = build(case, vb)[1].latency.rtt(far, HOME_REGION).p50
    edge_only = accelerated - long_haul
    why = (f"the model puts the upload at {fmt.duration(direct)} straight to {HOME_REGION} and "
           f"{fmt.duration(accelerated)} through the nearest edge, whose short round trip opens the TCP window "
           f"faster; the long haul ({fmt.duration(long_haul)}) then rides the AWS network.")
    right = f"About {fmt.duration(accelerated)}"
    # the learner's mistakes, likeliest first; the first three that read differently are shown
    mistakes = [
        (direct, "Wrong: that is the upload without acceleration; "),
        (edge_only, "Wrong: that leaves out the trip from the edge to the bucket's Region; "),
        (accelerated + long_haul, "Wrong: that counts the long haul twice, once on the public internet and once on "
                                  "the AWS network; "),
        (direct / 3, "Wrong: a third of the direct upload, as if acceleration tripled the bandwidth; "),
        (accelerated * 2, "Wrong: twice the accelerated upload, as if the image crossed the AWS network twice; "),
    ]
    wrong: list[tuple[str, str, bool]] = []
    for ms, reason in mistakes:
        text = f"About {fmt.duration(ms)}"
        if text != right and all(text != w[0] for w in wrong) and len(wrong) < 3:
            wrong.append((text, reason + why, False))
    options, answers = lettered(rng, [(right, "Right: " + why, True), *wrong])
    scenario = (f"A blogger near {far} uploads a {fmt.number(image_mb)} MB image with a pre-signed PUT URL to the "
                f"uploads bucket in {HOME_REGION}. The team enables S3 Transfer Acceleration on the bucket and signs "
                "the URLs for the accelerate endpoint.")
    evidence = [
        Evidence("Uploader near", far, "input"),
        Evidence("Image size", f"{fmt.number(image_mb)} MB", "input"),
        Evidence("Upload time, direct", fmt.duration(direct), "modelled"),
        Evidence("Upload time, accelerated", fmt.duration(accelerated), "modelled"),
        Evidence(f"Round trip {far} - {HOME_REGION}", fmt.duration(long_haul), "modelled"),
        *_price_evidence(pa, pb),
    ]
    return _drill("accelerated-upload", seed, "SAA-C03", "Design High-Performing Architectures", "easy", scenario,
                  "How long does the upload take with Transfer Acceleration, as the model computes it?", options,
                  answers, evidence, va, vb)


def _template(id_: str, title: str, exam: str, domain: str, difficulty: str,
              make: Callable[[Case, random.Random, int], Drill]) -> Template:
    return Template(id_, title, exam, domain, difficulty, make)


TEMPLATES = [
    _template("cloudfront-bill", "CloudFront and the monthly bill", "SAA-C03", "Design Cost-Optimized Architectures",
              "medium", make_cloudfront_bill),
    _template("replica-read-latency", "A replica stack and the far readers' reads", "SAP-C02",
              "Continuous Improvement for Existing Solutions", "hard", make_replica_read_latency),
    _template("accelerated-upload", "Transfer Acceleration and a long upload", "SAA-C03",
              "Design High-Performing Architectures", "easy", make_accelerated_upload),
]
