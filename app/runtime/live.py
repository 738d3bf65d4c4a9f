"""Live mode: the same pipeline code against real AWS, only when explicitly allowed.

Guards, in order:

* :func:`live_allowed` (pure): the UI enables its live switch only when the
  environment variable ``EXPLORER_ALLOW_LIVE`` is ``1``/``true``/``yes``;
  the CLI needs ``--backend live --yes``.
* A region from :data:`LIVE_REGIONS`.
* A cost estimate before the run starts (:func:`estimate_run_cost`): the pipeline
  is rehearsed on the embedded backend, its calls counted and priced with the unit
  prices in ``assets/prices/<region>.json``.
* Every resource carries the tag ``explorer:run-id=<run id>`` (added to each
  create call that takes tags, and to S3 buckets right after creation); teardown
  runs in a ``finally`` and deletes only what carries the run's tag;
  ``python -m app cleanup --backend live`` finds leftovers of any run by the tag
  key and removes them.
* Credentials come from boto3's usual chain (profile or environment), are held in
  memory by :class:`app.runtime.clients.Clients` only and never written to disk,
  logs, traces or exports (spans carry operation and resource names, never
  request parameters).

``EXPLORER_AWS_ENDPOINT_URL`` points every live client at another endpoint: the
tests use it to run the live path against a separate moto server standing in for
AWS. There, Lambda code cannot run (moto needs Docker), so checks that depend on a
function's effect fail, but every resource is still created, tagged and removed.
"""
from __future__ import annotations

import json
import math
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from app.runtime import teardown as td
from app.runtime.clients import Clients

LIVE_ENV_VAR = "EXPLORER_ALLOW_LIVE"
ENDPOINT_ENV_VAR = "EXPLORER_AWS_ENDPOINT_URL"
LIVE_REGIONS = ("us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2",
                "ap-northeast-1")
PRICES_DIR = Path(__file__).resolve().parents[2] / "assets" / "prices"


class LiveError(ValueError):
    """Live mode refused; the message says what to do."""


def live_allowed(environ: Mapping[str, str] | None = None) -> bool:
    """Whether this process may run pipelines against real AWS (the UI's live switch)."""
    env = os.environ if environ is None else environ
    return str(env.get(LIVE_ENV_VAR, "")).strip().lower() in ("1", "true", "yes", "on")


def live_disabled_reason(environ: Mapping[str, str] | None = None) -> str | None:
    """None when live mode is allowed, else why not (shown next to the disabled switch)."""
    if live_allowed(environ):
        return None
    return (f"Live AWS runs are off. Start the app with {LIVE_ENV_VAR}=1 and AWS credentials "
            "(a profile or environment variables) to allow them; they create billable resources.")


def check_region(region: str) -> str:
    if region not in LIVE_REGIONS:
        raise LiveError(f"region {region!r} is not offered for live runs: use one of {', '.join(LIVE_REGIONS)}")
    return region


class AwsUnavailable(LiveError):
    """AWS (or the endpoint standing in for it) cannot be used from here: no such profile, no
    credentials that work, or an endpoint that cannot be reached. The message says which."""


def _live_clients(region: str, profile: str | None, endpoint_url: str | None, **kwargs) -> tuple[Clients, str]:
    """Clients with the user's credentials and the account they belong to (asked of STS, which
    also proves the endpoint can be reached)."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError, ProfileNotFound

    check_region(region)
    try:
        boto_session = boto3.session.Session(profile_name=profile) if profile else boto3.session.Session()
        creds = boto_session.get_credentials()
    except ProfileNotFound:
        raise AwsUnavailable(f"the AWS profile {profile!r} is not configured (see ~/.aws/config or "
                             "`aws configure list-profiles`)") from None
    if creds is None:
        raise LiveError("no AWS credentials found: set a profile (AWS_PROFILE) or AWS_ACCESS_KEY_ID and "
                        "AWS_SECRET_ACCESS_KEY")
    frozen = creds.get_frozen_credentials()
    where = endpoint_url or f"AWS in {region}"
    probe = Clients(account_id="", region=region, access_key=frozen.access_key, secret_key=frozen.secret_key,
                    session_token=frozen.token, endpoint_url=endpoint_url, max_attempts=2)
    try:
        account = probe.client("sts").get_caller_identity()["Account"]
    except ClientError as exc:
        err = exc.response.get("Error", {})
        raise AwsUnavailable(f"{where} refused these credentials ({err.get('Code')}: {err.get('Message', '')})") \
            from None
    except BotoCoreError as exc:
        raise AwsUnavailable(f"cannot reach {where}: {exc}") from None
    clients = Clients(account_id=account, region=region, access_key=frozen.access_key,
                      secret_key=frozen.secret_key, session_token=frozen.token, endpoint_url=endpoint_url,
                      max_attempts=5, **kwargs)
    return clients, account


def live_session(region: str, *, profile: str | None = None, run_id: str | None = None,
                 endpoint_url: str | None = None):
    """A session on real AWS (or the endpoint in ``EXPLORER_AWS_ENDPOINT_URL``), tagged with its run id."""
    from app.runtime.session import RuntimeSession, new_run_id

    run_id = run_id or new_run_id()
    clients, _ = _live_clients(region, profile, endpoint_url or os.environ.get(ENDPOINT_ENV_VAR) or None,
                               tags={td.TAG_KEY: run_id})
    return RuntimeSession(clients=clients, backend="live", run_id=run_id, local_lambdas=False,
                          teardown_filter=td.tagged(run_id))


def cleanup_live(region: str, *, profile: str | None = None, delete: bool = False,
                 run_id: str | None = None) -> dict[str, Any]:
    """Resources tagged by the explorer (any run, or ``run_id``) in ``region``; deleted when ``delete``.

    ``errors`` names what could not be listed or deleted: a region with errors is not clean."""
    clients, _ = _live_clients(region, profile, os.environ.get(ENDPOINT_ENV_VAR) or None)
    wanted = td.tagged(run_id)
    found, errors = _listing(clients, region, wanted)
    out: dict[str, Any] = {"region": region, "found": found, "deleted": [], "errors": errors}
    if delete and (found or errors):
        deleted, delete_errors = td.delete_all(clients, [region], wanted)
        left, left_errors = _listing(clients, region, wanted)
        out.update(deleted=deleted, errors=delete_errors + [e for e in left_errors if e not in delete_errors],
                   left=left)
    return out


def _listing(clients, region: str, wanted) -> tuple[list[str], list[str]]:
    try:
        return td.inventory(clients, [region], wanted), []
    except td.InventoryIncomplete as exc:
        return exc.found, exc.errors


# -- cost estimate --------------------------------------------------------------------
_S3_GET = {"GetObject", "HeadObject", "GetObjectTagging", "GetBucketNotificationConfiguration"}
_DDB_READ = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}
_DDB_WRITE = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


@lru_cache(maxsize=8)
def load_prices(region: str) -> tuple[dict, str]:
    """The region's price entries (read once; callers only read them)."""
    path = PRICES_DIR / f"{region}.json"
    if not path.exists():
        path = PRICES_DIR / "us-east-1.json"
    return json.loads(path.read_text())["prices"], path.name


def estimate_run_cost(spans: list[dict], region: str = "us-east-1") -> dict[str, Any]:
    """Price the requests of one run (its spans) with the region's unit prices.

    Counted: S3 PUT/LIST-class and GET-class requests, SQS requests, SNS publishes,
    DynamoDB read and write request units (one per call, on-demand), Lambda requests
    and GB-seconds (billed duration x memory), SES emails. Control-plane calls of the
    other services are free; stream reads by Lambda triggers are free.
    """
    prices, source = load_prices(region)
    qty: dict[str, float] = {}

    def add(key: str, n: float) -> None:
        qty[key] = qty.get(key, 0.0) + n

    for s in spans:
        service, op = s.get("service"), s.get("operation", "")
        if service == "s3":
            add("s3.get" if op in _S3_GET else "s3.put", 1)
        elif service == "sqs":
            add("sqs.requests", 1)
        elif service == "sns" and op == "Publish":
            add("sns.publishes", 1)
        elif service == "dynamodb" and op in _DDB_READ:
            add("dynamodb.rru", float(s.get("request_units") or 1))
        elif service == "dynamodb" and op in _DDB_WRITE:
            add("dynamodb.wru", float(s.get("request_units") or 1))
        elif service == "lambda" and op == "Invoke" and s.get("resource"):
            detail = s.get("detail", {})
            add("lambda.requests", 1)
            add("lambda.gbs.x86_64", detail.get("memory_mb", 128) / 1024 * detail.get("billed_ms", 1) / 1000)
        elif service == "ses" and op.startswith("Send"):
            add("ses.emails", 1)
    lines = []
    for key, n in sorted(qty.items()):
        p = prices.get(key)
        if p is None:
            continue
        usd = n * p["usd"] / p["per"]
        lines.append({"price": key, "item": f"{p['service']}: {p['item']}", "quantity": n, "unit": p["unit"],
                      "usd": usd, "source_url": p.get("source_url", "")})
    total = sum(line["usd"] for line in lines)
    return {"usd": total, "usd_rounded_up": math.ceil(total * 1e6) / 1e6, "lines": lines,
            "prices": f"assets/prices/{source}", "basis": "requests counted in a rehearsal on the embedded "
                                                           "backend; free tiers not applied"}
