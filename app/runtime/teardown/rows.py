"""The table's rows: how each kind of resource of the services the runtime builds is listed, tagged and
deleted (the streaming services add theirs in :mod:`app.runtime.streaming.cleanup`)."""
from __future__ import annotations

from typing import Any, Callable

from botocore.exceptions import ClientError

from app.runtime.teardown import Kind, Where, ignore_missing, key_values, listed, paged, register_kind


def _field(name: str) -> Callable[[Any], str]:
    return lambda item: item[name]


def _plain(item: Any) -> str:
    return item


# -- the table ---------------------------------------------------------------------------------
def _delete_function(lam, f, where) -> None:
    for m in lam.list_event_source_mappings(FunctionName=f["FunctionName"]).get("EventSourceMappings", []):
        ignore_missing(lam.delete_event_source_mapping, UUID=m["UUID"])
    ignore_missing(lam.delete_function, FunctionName=f["FunctionName"])


def _delete_topic(sns, t, where) -> None:
    for s in sns.list_subscriptions_by_topic(TopicArn=t["TopicArn"]).get("Subscriptions", []):
        if s["SubscriptionArn"].startswith("arn:"):
            ignore_missing(sns.unsubscribe, SubscriptionArn=s["SubscriptionArn"])
    sns.delete_topic(TopicArn=t["TopicArn"])


def _bucket_tags(s3, b, where) -> dict:
    try:
        return key_values(s3.get_bucket_tagging(Bucket=b["Name"])["TagSet"])
    except ClientError:
        return {}


def _delete_bucket(s3, b, where) -> None:
    name = b["Name"]
    s3 = _bucket_client(where.clients, s3, name)
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
        batch = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                 for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        for i in range(0, len(batch), 1000):
            s3.delete_objects(Bucket=name, Delete={"Objects": batch[i:i + 1000], "Quiet": True})
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
        batch = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if batch:
            s3.delete_objects(Bucket=name, Delete={"Objects": batch, "Quiet": True})
    ignore_missing(s3.delete_bucket, Bucket=name)


def _bucket_client(clients, s3, name: str):
    """A client in the bucket's own region (deleting a bucket of another region needs one)."""
    try:
        where = s3.get_bucket_location(Bucket=name).get("LocationConstraint") or "us-east-1"
    except ClientError:
        return s3
    return clients.client("s3", "eu-west-1" if where == "EU" else where)


def _table_tags(ddb, name, where) -> dict:
    arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
    return key_values(ddb.list_tags_of_resource(ResourceArn=arn).get("Tags", []))


def _delete_role(iam, r, where) -> None:
    name = r["RoleName"]
    for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
        iam.detach_role_policy(RoleName=name, PolicyArn=p["PolicyArn"])
    for p in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        iam.delete_role_policy(RoleName=name, PolicyName=p)
    ignore_missing(iam.delete_role, RoleName=name)


def _delete_user_pool(idp, pool, where) -> None:
    domain = idp.describe_user_pool(UserPoolId=pool["Id"])["UserPool"].get("Domain")
    if domain:
        ignore_missing(idp.delete_user_pool_domain, Domain=domain, UserPoolId=pool["Id"])
    ignore_missing(idp.delete_user_pool, UserPoolId=pool["Id"])


def _delete_distribution(cf, d, where) -> None:
    got = cf.get_distribution_config(Id=d["Id"])
    etag, config = got["ETag"], got["DistributionConfig"]
    if config.get("Enabled"):
        config["Enabled"] = False
        etag = cf.update_distribution(Id=d["Id"], IfMatch=etag, DistributionConfig=config)["ETag"]
    ignore_missing(cf.delete_distribution, Id=d["Id"], IfMatch=etag)


def _cf_delete(get: str, delete: str) -> Callable[[Any, Any, Where], None]:
    """Delete a CloudFront resource that needs its current ETag."""
    def fn(cf, item_id, where):
        etag = getattr(cf, get)(Id=item_id)["ETag"]
        ignore_missing(getattr(cf, delete), Id=item_id, IfMatch=etag)
    return fn


def _dax_clusters(dax, where):
    # a cluster already being deleted is left alone (DAX deletes asynchronously)
    return [c for c in dax.describe_clusters().get("Clusters", []) if c.get("Status") not in ("deleting", "deleted")]


def _athena_arn(name: str, where: Where) -> str:
    return f"arn:aws:athena:{where.region}:{where.account_id}:workgroup/{name}"


def _cf_ids(operation: str, key: str, inner: str | None = None):
    """Ids of an untaggable CloudFront list (origin access controls, key groups, public keys)."""
    def items(cf, where):
        for item in listed(operation, key, "Items")(cf, where):
            yield (item[inner] if inner else item)["Id"]
    return items


for _kind in (
    Kind("lambda", "lambda", paged("list_functions", "Functions"), _field("FunctionName"),
         lambda lam, f, w: lam.list_tags(Resource=f["FunctionArn"])["Tags"], _delete_function),
    Kind("sns", "sns", paged("list_topics", "Topics"), lambda t: t["TopicArn"],
         lambda sns, t, w: key_values(sns.list_tags_for_resource(ResourceArn=t["TopicArn"])["Tags"]),
         _delete_topic, label=lambda t: t["TopicArn"].rsplit(":", 1)[-1]),
    Kind("sqs", "sqs", listed("list_queues", "QueueUrls"), _plain,
         lambda sqs, url, w: sqs.list_queue_tags(QueueUrl=url).get("Tags", {}),
         lambda sqs, url, w: ignore_missing(sqs.delete_queue, QueueUrl=url), label=lambda url: url.rsplit("/", 1)[-1]),
    Kind("s3", "s3", listed("list_buckets", "Buckets"), _field("Name"), _bucket_tags, _delete_bucket,
         global_service=True),
    Kind("dynamodb", "dynamodb", paged("list_tables", "TableNames"), _plain, _table_tags,
         lambda ddb, name, w: ignore_missing(ddb.delete_table, TableName=name)),
    Kind("kinesis", "kinesis", listed("list_streams", "StreamNames"), _plain,
         lambda k, name, w: key_values(k.list_tags_for_stream(StreamName=name)["Tags"]),
         lambda k, name, w: ignore_missing(k.delete_stream, StreamName=name, EnforceConsumerDeletion=True)),
    Kind("firehose", "firehose", listed("list_delivery_streams", "DeliveryStreamNames"), _plain,
         lambda f, name, w: key_values(f.list_tags_for_delivery_stream(DeliveryStreamName=name)["Tags"]),
         lambda f, name, w: ignore_missing(f.delete_delivery_stream, DeliveryStreamName=name)),
    Kind("logs", "logs", paged("describe_log_groups", "logGroups"), _field("logGroupName"),
         lambda logs, g, w: logs.list_tags_for_resource(resourceArn=g.get("arn", "").removesuffix(":*"))
         .get("tags", {}),
         lambda logs, g, w: ignore_missing(logs.delete_log_group, logGroupName=g["logGroupName"])),
    # SES v1 identities carry no tags: on live AWS only the run's own (remembered by its session) go
    Kind("ses", "ses", listed("list_identities", "Identities"), _plain, lambda ses, ident, w: {},
         lambda ses, ident, w: ses.delete_identity(Identity=ident)),
    Kind("cognito-idp", "cognito-idp", paged("list_user_pools", "UserPools", MaxResults=60), _field("Id"),
         lambda idp, p, w: idp.describe_user_pool(UserPoolId=p["Id"])["UserPool"].get("UserPoolTags", {}),
         _delete_user_pool, label=lambda p: p.get("Name", p["Id"])),
    Kind("cognito-identity", "cognito-identity", paged("list_identity_pools", "IdentityPools", MaxResults=60),
         _field("IdentityPoolId"),
         lambda ci, p, w: ci.describe_identity_pool(IdentityPoolId=p["IdentityPoolId"]).get("IdentityPoolTags", {}),
         lambda ci, p, w: ignore_missing(ci.delete_identity_pool, IdentityPoolId=p["IdentityPoolId"]),
         label=lambda p: p.get("IdentityPoolName", p["IdentityPoolId"])),
    Kind("apigateway", "apigateway", paged("get_rest_apis", "items"), _field("id"),
         lambda api, item, w: item.get("tags", {}),
         lambda api, item, w: ignore_missing(api.delete_rest_api, restApiId=item["id"]),
         label=lambda item: item.get("name", item["id"])),
    Kind("apigateway", "apigateway", listed("get_usage_plans", "items"), _field("id"),
         lambda api, plan, w: plan.get("tags", {}),
         lambda api, plan, w: ignore_missing(api.delete_usage_plan, usagePlanId=plan["id"]),
         label=lambda plan: "usage-plan/" + plan.get("name", plan["id"])),
    Kind("apigateway", "apigateway", listed("get_api_keys", "items"), _field("id"),
         lambda api, key, w: key.get("tags", {}),
         lambda api, key, w: ignore_missing(api.delete_api_key, apiKey=key["id"]),
         label=lambda key: "api-key/" + key.get("name", key["id"])),
    Kind("cloudfront", "cloudfront", listed("list_distributions", "DistributionList", "Items"), _field("Id"),
         lambda cf, d, w: key_values(cf.list_tags_for_resource(Resource=d["ARN"])["Tags"].get("Items", [])),
         _delete_distribution, global_service=True, region="us-east-1"),
    # origin access controls, key groups and public keys take no tags: removed only with the whole account
    Kind("cloudfront", "cloudfront", _cf_ids("list_origin_access_controls", "OriginAccessControlList"), _plain,
         None, _cf_delete("get_origin_access_control", "delete_origin_access_control"),
         label=lambda i: f"oac/{i}", global_service=True, region="us-east-1"),
    Kind("cloudfront", "cloudfront", _cf_ids("list_key_groups", "KeyGroupList", "KeyGroup"), _plain,
         None, _cf_delete("get_key_group", "delete_key_group"),
         label=lambda i: f"key-group/{i}", global_service=True, region="us-east-1",
         embedded_release="moto has no DeleteKeyGroup"),
    Kind("cloudfront", "cloudfront", _cf_ids("list_public_keys", "PublicKeyList"), _plain,
         None, _cf_delete("get_public_key", "delete_public_key"),
         label=lambda i: f"public-key/{i}", global_service=True, region="us-east-1",
         embedded_release="a public key in a key group cannot be deleted, and moto has no DeleteKeyGroup"),
    Kind("secretsmanager", "secretsmanager", paged("list_secrets", "SecretList"), _field("Name"),
         lambda sm, secret, w: key_values(secret.get("Tags") or []),
         lambda sm, secret, w: ignore_missing(sm.delete_secret, SecretId=secret["ARN"],
                                              ForceDeleteWithoutRecovery=True)),
    Kind("dax", "dax", _dax_clusters, _field("ClusterName"),
         lambda dax, c, w: key_values(dax.list_tags(ResourceName=c["ClusterArn"]).get("Tags", [])),
         lambda dax, c, w: ignore_missing(dax.delete_cluster, ClusterName=c["ClusterName"])),
    Kind("athena", "athena", lambda ath, w: [g for g in listed("list_work_groups", "WorkGroups")(ath, w)
                                             if g["Name"] != "primary"], _field("Name"),
         lambda ath, g, w: key_values(ath.list_tags_for_resource(ResourceARN=_athena_arn(g["Name"], w))
                                      .get("Tags", [])),
         lambda ath, g, w: ignore_missing(ath.delete_work_group, WorkGroup=g["Name"], RecursiveDeleteOption=True)),
    Kind("iam", "iam", lambda iam, w: [r for r in paged("list_roles", "Roles")(iam, w)
                                       if not r.get("Path", "/").startswith("/aws-service-role/")],
         _field("RoleName"), lambda iam, r, w: key_values(iam.list_role_tags(RoleName=r["RoleName"])["Tags"]),
         _delete_role, global_service=True),
):
    register_kind(_kind)


# -- EC2, Auto Scaling and load balancers: groups first, then balancers, instances, templates, networks ---------
def _elb_tags(elb, arn: str) -> dict:
    found = elb.describe_tags(ResourceArns=[arn]).get("TagDescriptions", [])
    return key_values(found[0].get("Tags")) if found else {}


def _delete_load_balancer(elb, lb, w) -> None:
    for listener in elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"]).get("Listeners", []):
        ignore_missing(elb.delete_listener, ListenerArn=listener["ListenerArn"])
    ignore_missing(elb.delete_load_balancer, LoadBalancerArn=lb["LoadBalancerArn"])


def _running_instances(ec2, w):
    for reservation in paged("describe_instances", "Reservations")(ec2, w):
        for i in reservation["Instances"]:
            if i["State"]["Name"] not in ("terminated", "shutting-down"):
                yield i


def _delete_vpc(ec2, vpc, w) -> None:
    where = [{"Name": "vpc-id", "Values": [vpc["VpcId"]]}]
    for sg in ec2.describe_security_groups(Filters=where).get("SecurityGroups", []):
        if sg["GroupName"] != "default":
            ignore_missing(ec2.delete_security_group, GroupId=sg["GroupId"])
    for eni in ec2.describe_network_interfaces(Filters=where).get("NetworkInterfaces", []):
        ignore_missing(ec2.delete_network_interface, NetworkInterfaceId=eni["NetworkInterfaceId"])
    for subnet in ec2.describe_subnets(Filters=where).get("Subnets", []):
        ignore_missing(ec2.delete_subnet, SubnetId=subnet["SubnetId"])
    ignore_missing(ec2.delete_vpc, VpcId=vpc["VpcId"])


for _kind in (
    Kind("autoscaling", "autoscaling",
         lambda asg, w: [g for g in paged("describe_auto_scaling_groups", "AutoScalingGroups")(asg, w)
                         if g.get("Status") != "Delete in progress"],
         _field("AutoScalingGroupName"), lambda asg, g, w: key_values(g.get("Tags")),
         lambda asg, g, w: ignore_missing(asg.delete_auto_scaling_group,
                                          AutoScalingGroupName=g["AutoScalingGroupName"], ForceDelete=True)),
    Kind("elbv2", "elbv2", paged("describe_load_balancers", "LoadBalancers"), _field("LoadBalancerName"),
         lambda elb, lb, w: _elb_tags(elb, lb["LoadBalancerArn"]), _delete_load_balancer,
         label=lambda lb: "loadbalancer/" + lb["LoadBalancerName"]),
    Kind("elbv2", "elbv2", paged("describe_target_groups", "TargetGroups"), _field("TargetGroupName"),
         lambda elb, tg, w: _elb_tags(elb, tg["TargetGroupArn"]),
         lambda elb, tg, w: ignore_missing(elb.delete_target_group, TargetGroupArn=tg["TargetGroupArn"]),
         label=lambda tg: "targetgroup/" + tg["TargetGroupName"]),
    Kind("ec2", "ec2", _running_instances, _field("InstanceId"), lambda ec2, i, w: key_values(i.get("Tags")),
         lambda ec2, i, w: ignore_missing(ec2.terminate_instances, InstanceIds=[i["InstanceId"]]),
         label=lambda i: "instance/" + i["InstanceId"]),
    Kind("ec2", "ec2", paged("describe_launch_templates", "LaunchTemplates"), _field("LaunchTemplateName"),
         lambda ec2, lt, w: key_values(lt.get("Tags")),
         lambda ec2, lt, w: ignore_missing(ec2.delete_launch_template, LaunchTemplateId=lt["LaunchTemplateId"]),
         label=lambda lt: "launch-template/" + lt["LaunchTemplateName"]),
    Kind("ec2", "ec2", lambda ec2, w: [v for v in ec2.describe_vpcs().get("Vpcs", []) if not v.get("IsDefault")],
         _field("VpcId"), lambda ec2, v, w: key_values(v.get("Tags")), _delete_vpc,
         label=lambda v: "vpc/" + v["VpcId"]),
):
    register_kind(_kind)


# -- ECS, RDS, ElastiCache and Route 53 ------------------------------------------------------------------------
def _ecs_tags(ecs, arn: str) -> dict:
    return key_values(ecs.list_tags_for_resource(resourceArn=arn).get("tags"), "key", "value")


def _active_clusters(ecs, w):
    arns = list(paged("list_clusters", "clusterArns")(ecs, w))
    found = ecs.describe_clusters(clusters=arns)["clusters"] if arns else []
    return [c for c in found if c.get("status") != "INACTIVE"]      # deleted clusters stay listed, inactive


def _delete_cluster(ecs, c, w) -> None:
    arn = c["clusterArn"]
    for svc in ecs.list_services(cluster=arn).get("serviceArns", []):
        ignore_missing(ecs.delete_service, cluster=arn, service=svc, force=True)
    for task in ecs.list_tasks(cluster=arn).get("taskArns", []):
        ignore_missing(ecs.stop_task, cluster=arn, task=task)
    ignore_missing(ecs.delete_cluster, cluster=arn)


def _delete_zone(r53, zone, w) -> None:
    zid = zone["Id"].rsplit("/", 1)[-1]
    records = r53.list_resource_record_sets(HostedZoneId=zid)["ResourceRecordSets"]
    changes = [{"Action": "DELETE", "ResourceRecordSet": r} for r in records
               if not (r["Type"] in ("NS", "SOA") and r["Name"] == zone["Name"])]
    if changes:
        r53.change_resource_record_sets(HostedZoneId=zid, ChangeBatch={"Changes": changes})
    ignore_missing(r53.delete_hosted_zone, Id=zid)


def _r53_tags(kind: str, rid: str, r53) -> dict:
    return key_values(r53.list_tags_for_resource(ResourceType=kind, ResourceId=rid)["ResourceTagSet"].get("Tags"))


for _kind in (
    Kind("ecs", "ecs", _active_clusters, _field("clusterName"), lambda ecs, c, w: _ecs_tags(ecs, c["clusterArn"]),
         _delete_cluster, label=lambda c: "cluster/" + c["clusterName"]),
    Kind("ecs", "ecs", listed("list_task_definitions", "taskDefinitionArns"), _plain,
         lambda ecs, arn, w: _ecs_tags(ecs, arn),
         lambda ecs, arn, w: ignore_missing(ecs.deregister_task_definition, taskDefinition=arn),
         label=lambda arn: "task-definition/" + arn.rsplit("/", 1)[-1]),
    Kind("rds", "rds", lambda rds, w: [d for d in paged("describe_db_instances", "DBInstances")(rds, w)
                                       if d.get("DBInstanceStatus") != "deleting"],
         _field("DBInstanceIdentifier"), lambda rds, d, w: key_values(d.get("TagList")),
         lambda rds, d, w: ignore_missing(rds.delete_db_instance, DBInstanceIdentifier=d["DBInstanceIdentifier"],
                                          SkipFinalSnapshot=True)),
    Kind("elasticache", "elasticache", lambda ec, w: [c for c in paged("describe_cache_clusters", "CacheClusters")(ec, w)
                                                      if c.get("CacheClusterStatus") != "deleting"],
         _field("CacheClusterId"),
         lambda ec, c, w: key_values(ec.list_tags_for_resource(ResourceName=c["ARN"]).get("TagList")),
         lambda ec, c, w: ignore_missing(ec.delete_cache_cluster, CacheClusterId=c["CacheClusterId"])),
    Kind("route53", "route53", paged("list_hosted_zones", "HostedZones"), _field("Name"),
         lambda r53, z, w: _r53_tags("hostedzone", z["Id"].rsplit("/", 1)[-1], r53), _delete_zone,
         label=lambda z: "hostedzone/" + z["Name"], global_service=True),
    Kind("route53", "route53", paged("list_health_checks", "HealthChecks"), _field("Id"),
         lambda r53, hc, w: _r53_tags("healthcheck", hc["Id"], r53),
         lambda r53, hc, w: ignore_missing(r53.delete_health_check, HealthCheckId=hc["Id"]),
         label=lambda hc: "healthcheck/" + hc["Id"], global_service=True),
):
    register_kind(_kind)
