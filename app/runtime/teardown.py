"""Deleting a session's resources through the APIs, service by service.

On moto a session owns a whole account, so everything in it goes. On live AWS only
resources carrying the run's tag go (``explorer:run-id`` = the run id), or, for
``cleanup --backend live``, every resource carrying the explorer's tag key.

Each cleaner is ``fn(clients, region, wanted) -> list[str]`` returning what it
deleted (``wanted(kind, name, tags_fn)`` says whether a resource belongs to the run;
``tags_fn()`` fetches its tags only when needed). :func:`inventory` lists what is
left, with the same filter. Components that create other kinds of resources add
their cleaner with :func:`register_cleaner`.
"""
from __future__ import annotations

import json
from typing import Callable

from botocore.exceptions import ClientError

TAG_KEY = "explorer:run-id"

Wanted = Callable[[str, str, Callable[[], dict]], bool]
Cleaner = Callable[..., list]

_CLEANERS: list[tuple[str, Cleaner, bool]] = []   # (service, fn, global service)


def register_cleaner(service: str, fn: Cleaner, *, global_service: bool = False) -> None:
    """Add a cleaner; ``fn(clients, region, wanted, dry_run)`` returns the names it deleted (or would)."""
    _CLEANERS.append((service, fn, global_service))


def everything(kind: str, name: str, tags_fn) -> bool:
    return True


def tagged(run_id: str | None) -> Wanted:
    """Resources whose explorer tag equals ``run_id`` (any explorer run when None)."""
    def wanted(kind: str, name: str, tags_fn) -> bool:
        try:
            tags = tags_fn() or {}
        except ClientError:
            return False
        if run_id is None:
            return TAG_KEY in tags
        return tags.get(TAG_KEY) == run_id
    return wanted


def _ignore_missing(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if "NotFound" in code or "NoSuch" in code or code in ("ResourceNotFoundException",
                                                              "AWS.SimpleQueueService.NonExistentQueue"):
            return None
        raise


# -- cleaners ------------------------------------------------------------------------
def _lambda(clients, region, wanted, dry_run=False):
    lam = clients.client("lambda", region)
    out = []
    for page in lam.get_paginator("list_functions").paginate():
        for f in page["Functions"]:
            if not wanted("lambda", f["FunctionName"], lambda f=f: lam.list_tags(Resource=f["FunctionArn"])["Tags"]):
                continue
            for m in lam.list_event_source_mappings(FunctionName=f["FunctionName"]).get("EventSourceMappings", []):
                if not dry_run:
                    _ignore_missing(lam.delete_event_source_mapping, UUID=m["UUID"])
            if not dry_run:
                _ignore_missing(lam.delete_function, FunctionName=f["FunctionName"])
            out.append(f"lambda:{f['FunctionName']}")
    return out


def _sns(clients, region, wanted, dry_run=False):
    sns = clients.client("sns", region)
    out = []
    for page in sns.get_paginator("list_topics").paginate():
        for t in page["Topics"]:
            arn = t["TopicArn"]
            tags_fn = lambda arn=arn: {x["Key"]: x["Value"] for x in sns.list_tags_for_resource(ResourceArn=arn)["Tags"]}
            if not wanted("sns", arn, tags_fn):
                continue
            if not dry_run:
                for s in sns.list_subscriptions_by_topic(TopicArn=arn).get("Subscriptions", []):
                    if s["SubscriptionArn"].startswith("arn:"):
                        _ignore_missing(sns.unsubscribe, SubscriptionArn=s["SubscriptionArn"])
                sns.delete_topic(TopicArn=arn)
            out.append(f"sns:{arn.rsplit(':', 1)[-1]}")
    return out


def _sqs(clients, region, wanted, dry_run=False):
    sqs = clients.client("sqs", region)
    out = []
    for url in sqs.list_queues().get("QueueUrls", []):
        if not wanted("sqs", url, lambda url=url: sqs.list_queue_tags(QueueUrl=url).get("Tags", {})):
            continue
        if not dry_run:
            _ignore_missing(sqs.delete_queue, QueueUrl=url)
        out.append(f"sqs:{url.rsplit('/', 1)[-1]}")
    return out


def _s3(clients, region, wanted, dry_run=False):
    s3 = clients.client("s3", region)
    out = []
    for b in s3.list_buckets().get("Buckets", []):
        name = b["Name"]

        def tags_fn(name=name):
            try:
                return {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=name)["TagSet"]}
            except ClientError:
                return {}
        if not wanted("s3", name, tags_fn):
            continue
        if not dry_run:
            s3 = _bucket_client(clients, s3, name)
            for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
                batch = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                         for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
                for i in range(0, len(batch), 1000):
                    s3.delete_objects(Bucket=name, Delete={"Objects": batch[i:i + 1000], "Quiet": True})
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
                batch = [{"Key": o["Key"]} for o in page.get("Contents", [])]
                if batch:
                    s3.delete_objects(Bucket=name, Delete={"Objects": batch, "Quiet": True})
            _ignore_missing(s3.delete_bucket, Bucket=name)
        out.append(f"s3:{name}")
    return out


def _bucket_client(clients, s3, name: str):
    """A client in the bucket's own region (deleting a bucket of another region needs one)."""
    try:
        where = s3.get_bucket_location(Bucket=name).get("LocationConstraint") or "us-east-1"
    except ClientError:
        return s3
    return clients.client("s3", "eu-west-1" if where == "EU" else where)


def _dynamodb(clients, region, wanted, dry_run=False):
    ddb = clients.client("dynamodb", region)
    out = []
    for page in ddb.get_paginator("list_tables").paginate():
        for name in page["TableNames"]:
            def tags_fn(name=name):
                arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
                return {t["Key"]: t["Value"] for t in ddb.list_tags_of_resource(ResourceArn=arn).get("Tags", [])}
            if not wanted("dynamodb", name, tags_fn):
                continue
            if not dry_run:
                _ignore_missing(ddb.delete_table, TableName=name)
            out.append(f"dynamodb:{name}")
    return out


def _logs(clients, region, wanted, dry_run=False):
    logs = clients.client("logs", region)
    out = []
    for page in logs.get_paginator("describe_log_groups").paginate():
        for g in page["logGroups"]:
            name = g["logGroupName"]
            arn = g.get("arn", "").removesuffix(":*")
            if not wanted("logs", name, lambda arn=arn: logs.list_tags_for_resource(resourceArn=arn).get("tags", {})):
                continue
            if not dry_run:
                _ignore_missing(logs.delete_log_group, logGroupName=name)
            out.append(f"logs:{name}")
    return out


def _iam(clients, region, wanted, dry_run=False):
    iam = clients.client("iam")
    out = []
    for page in iam.get_paginator("list_roles").paginate():
        for r in page["Roles"]:
            name = r["RoleName"]
            if r.get("Path", "/").startswith("/aws-service-role/"):
                continue
            if not wanted("iam", name, lambda name=name: {t["Key"]: t["Value"]
                                                         for t in iam.list_role_tags(RoleName=name)["Tags"]}):
                continue
            if not dry_run:
                for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
                    iam.detach_role_policy(RoleName=name, PolicyArn=p["PolicyArn"])
                for p in iam.list_role_policies(RoleName=name)["PolicyNames"]:
                    iam.delete_role_policy(RoleName=name, PolicyName=p)
                _ignore_missing(iam.delete_role, RoleName=name)
            out.append(f"iam:{name}")
    return out


def _ses(clients, region, wanted, dry_run=False):
    ses = clients.client("ses", region)
    out = []
    for ident in ses.list_identities().get("Identities", []):
        # SES v1 identities carry no tags: on live AWS only the run's own (named in its tag set) go.
        if not wanted("ses", ident, lambda: {}):
            continue
        if not dry_run:
            ses.delete_identity(Identity=ident)
        out.append(f"ses:{ident}")
    return out


def _kinesis(clients, region, wanted, dry_run=False):
    k = clients.client("kinesis", region)
    out = []
    for name in k.list_streams().get("StreamNames", []):
        if not wanted("kinesis", name, lambda name=name: {t["Key"]: t["Value"] for t in
                                                          k.list_tags_for_stream(StreamName=name)["Tags"]}):
            continue
        if not dry_run:
            _ignore_missing(k.delete_stream, StreamName=name, EnforceConsumerDeletion=True)
        out.append(f"kinesis:{name}")
    return out


def _firehose(clients, region, wanted, dry_run=False):
    f = clients.client("firehose", region)
    out = []
    for name in f.list_delivery_streams().get("DeliveryStreamNames", []):
        if not wanted("firehose", name, lambda name=name: {t["Key"]: t["Value"] for t in
                                                           f.list_tags_for_delivery_stream(
                                                               DeliveryStreamName=name)["Tags"]}):
            continue
        if not dry_run:
            _ignore_missing(f.delete_delivery_stream, DeliveryStreamName=name)
        out.append(f"firehose:{name}")
    return out


def _cognito_idp(clients, region, wanted, dry_run=False):
    idp = clients.client("cognito-idp", region)
    out = []
    for page in idp.get_paginator("list_user_pools").paginate(MaxResults=60):
        for pool in page["UserPools"]:
            pid = pool["Id"]
            if not wanted("cognito-idp", pid, lambda pid=pid: idp.describe_user_pool(UserPoolId=pid)["UserPool"].get(
                    "UserPoolTags", {})):
                continue
            if not dry_run:
                domain = idp.describe_user_pool(UserPoolId=pid)["UserPool"].get("Domain")
                if domain:
                    _ignore_missing(idp.delete_user_pool_domain, Domain=domain, UserPoolId=pid)
                _ignore_missing(idp.delete_user_pool, UserPoolId=pid)
            out.append(f"cognito-idp:{pool.get('Name', pid)}")
    return out


def _cognito_identity(clients, region, wanted, dry_run=False):
    ci = clients.client("cognito-identity", region)
    out = []
    for page in ci.get_paginator("list_identity_pools").paginate(MaxResults=60):
        for pool in page["IdentityPools"]:
            pid = pool["IdentityPoolId"]
            if not wanted("cognito-identity", pid, lambda pid=pid: ci.describe_identity_pool(
                    IdentityPoolId=pid).get("IdentityPoolTags", {})):
                continue
            if not dry_run:
                _ignore_missing(ci.delete_identity_pool, IdentityPoolId=pid)
            out.append(f"cognito-identity:{pool.get('IdentityPoolName', pid)}")
    return out


def _apigateway(clients, region, wanted, dry_run=False):
    api = clients.client("apigateway", region)
    out = []
    for page in api.get_paginator("get_rest_apis").paginate():
        for item in page.get("items", []):
            if not wanted("apigateway", item["id"], lambda item=item: item.get("tags", {})):
                continue
            if not dry_run:
                _ignore_missing(api.delete_rest_api, restApiId=item["id"])
            out.append(f"apigateway:{item.get('name', item['id'])}")
    for plan in api.get_usage_plans().get("items", []):
        if wanted("apigateway", plan["id"], lambda plan=plan: plan.get("tags", {})):
            if not dry_run:
                _ignore_missing(api.delete_usage_plan, usagePlanId=plan["id"])
            out.append(f"apigateway:usage-plan/{plan.get('name', plan['id'])}")
    for key in api.get_api_keys().get("items", []):
        if wanted("apigateway", key["id"], lambda key=key: key.get("tags", {})):
            if not dry_run:
                _ignore_missing(api.delete_api_key, apiKey=key["id"])
            out.append(f"apigateway:api-key/{key.get('name', key['id'])}")
    return out


def _cloudfront(clients, region, wanted, dry_run=False):
    cf = clients.client("cloudfront", "us-east-1")
    out = []
    for d in (cf.list_distributions().get("DistributionList", {}).get("Items") or []):
        def tags_fn(arn=d["ARN"]):
            return {t["Key"]: t["Value"] for t in cf.list_tags_for_resource(Resource=arn)["Tags"].get("Items", [])}
        if not wanted("cloudfront", d["Id"], tags_fn):
            continue
        if not dry_run:
            got = cf.get_distribution_config(Id=d["Id"])
            etag, config = got["ETag"], got["DistributionConfig"]
            if config.get("Enabled"):
                config["Enabled"] = False
                etag = cf.update_distribution(Id=d["Id"], IfMatch=etag, DistributionConfig=config)["ETag"]
            _ignore_missing(cf.delete_distribution, Id=d["Id"], IfMatch=etag)
        out.append(f"cloudfront:{d['Id']}")
    # origin access controls, key groups and public keys take no tags: removed only with the whole account
    if wanted("cloudfront-untagged", "*", lambda: {}):
        for oac in (cf.list_origin_access_controls().get("OriginAccessControlList", {}).get("Items") or []):
            if not dry_run:
                etag = cf.get_origin_access_control(Id=oac["Id"])["ETag"]
                _ignore_missing(cf.delete_origin_access_control, Id=oac["Id"], IfMatch=etag)
            out.append(f"cloudfront:oac/{oac['Id']}")
        for kg in (cf.list_key_groups().get("KeyGroupList", {}).get("Items") or []):
            kid = kg["KeyGroup"]["Id"]
            if not dry_run:
                etag = cf.get_key_group(Id=kid)["ETag"]
                _ignore_missing(cf.delete_key_group, Id=kid, IfMatch=etag)
            out.append(f"cloudfront:key-group/{kid}")
        for pk in (cf.list_public_keys().get("PublicKeyList", {}).get("Items") or []):
            if not dry_run:
                etag = cf.get_public_key(Id=pk["Id"])["ETag"]
                _ignore_missing(cf.delete_public_key, Id=pk["Id"], IfMatch=etag)
            out.append(f"cloudfront:public-key/{pk['Id']}")
    return out


def _dax(clients, region, wanted, dry_run=False):
    dax = clients.client("dax", region)
    out = []
    for c in dax.describe_clusters().get("Clusters", []):
        name = c["ClusterName"]
        if c.get("Status") in ("deleting", "deleted"):
            continue     # deletion already under way (DAX deletes asynchronously)
        if not wanted("dax", name, lambda c=c: {t["Key"]: t["Value"] for t in
                                                 dax.list_tags(ResourceName=c["ClusterArn"]).get("Tags", [])}):
            continue
        if not dry_run:
            _ignore_missing(dax.delete_cluster, ClusterName=name)
        out.append(f"dax:{name}")
    return out


def _athena(clients, region, wanted, dry_run=False):
    ath = clients.client("athena", region)
    out = []
    for wg in ath.list_work_groups().get("WorkGroups", []):
        name = wg["Name"]
        if name == "primary":
            continue
        arn = f"arn:aws:athena:{region}:{clients.account_id}:workgroup/{name}"
        if not wanted("athena", name, lambda arn=arn: {t["Key"]: t["Value"] for t in
                                                       ath.list_tags_for_resource(ResourceARN=arn).get("Tags", [])}):
            continue
        if not dry_run:
            _ignore_missing(ath.delete_work_group, WorkGroup=name, RecursiveDeleteOption=True)
        out.append(f"athena:{name}")
    return out


for _service, _fn, _global in (("lambda", _lambda, False), ("sns", _sns, False), ("sqs", _sqs, False),
                               ("s3", _s3, True), ("dynamodb", _dynamodb, False), ("kinesis", _kinesis, False),
                               ("firehose", _firehose, False), ("logs", _logs, False), ("ses", _ses, False),
                               ("cognito-idp", _cognito_idp, False),
                               ("cognito-identity", _cognito_identity, False), ("apigateway", _apigateway, False),
                               ("cloudfront", _cloudfront, True), ("dax", _dax, False), ("athena", _athena, False),
                               ("iam", _iam, True)):
    register_cleaner(_service, _fn, global_service=_global)


def _run(clients, regions, wanted, dry_run, services=None):
    deleted, errors = [], []
    # Several passes: a resource may only be deletable once another is gone.
    for _ in range(2):
        errors = []
        done_global = set()
        for region in regions:
            for service, fn, is_global in list(_CLEANERS):
                if services is not None and service not in services:
                    continue
                if is_global:
                    if service in done_global:
                        continue
                    done_global.add(service)
                try:
                    deleted.extend(fn(clients, region, wanted, dry_run))
                except ClientError as exc:
                    errors.append(f"{service} in {region}: {exc.response.get('Error', {}).get('Code')}: "
                                  f"{exc.response.get('Error', {}).get('Message', '')}")
                except Exception as exc:  # noqa: BLE001 - keep deleting the rest
                    errors.append(f"{service} in {region}: {type(exc).__name__}: {exc}")
        if dry_run or not errors:
            break
    return deleted, errors


def delete_all(clients, regions, wanted: Wanted = everything, services=None) -> tuple[list[str], list[str]]:
    """Delete what ``wanted`` selects in ``regions``; returns (deleted, errors)."""
    return _run(clients, regions, wanted, False, services)


def inventory(clients, regions, wanted: Wanted = everything, services=None) -> list[str]:
    """What ``wanted`` selects in ``regions`` (nothing is deleted)."""
    found, _ = _run(clients, regions, wanted, True, services)
    return sorted(set(found))


def policy_json(doc: dict) -> str:
    return json.dumps(doc)
