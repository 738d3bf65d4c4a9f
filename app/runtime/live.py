"""Live mode: the same pipeline code against real AWS, only when explicitly allowed.

Guards, in order:

* :func:`live_allowed` (pure): the UI enables its live switch only when the
  environment variable ``EXPLORER_ALLOW_LIVE`` is ``1``/``true``/``yes``;
  the CLI needs ``--backend live --yes``.
* A region from :data:`LIVE_REGIONS`.
* A cost estimate before the run starts (``app.engine.steps.price_spans``): the
  pipeline is rehearsed on the embedded backend, its calls counted and priced by the
  engine with the unit prices in ``assets/prices/<region>.json``.
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

import os
from typing import Any, Mapping

from app.runtime import teardown as td
from app.runtime.clients import Clients

LIVE_ENV_VAR = "EXPLORER_ALLOW_LIVE"
ENDPOINT_ENV_VAR = "EXPLORER_AWS_ENDPOINT_URL"
LIVE_REGIONS = ("us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2",
                "ap-northeast-1")


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
