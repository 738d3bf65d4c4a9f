"""Shared infrastructure for pipelines: each builder creates its resources in the run's account.

``ctx.infra`` (an :class:`Infra`) is what a pipeline's deploy steps call instead of
writing the same boto3 calls again. Every builder:

- creates its resources through the session's clients (so the calls are traced and
  tagged with the run id by the client factory, and confined to the run's account);
- builds the emulated data plane where moto has none (REST API invocation, DAX, the
  CloudFront edge, identity pools, Redis, the SQL behind an RDS instance, the Route 53
  resolver, global-table replication), bound to the run's clock;
- records what was really deployed in ``ctx.deployed`` (node counts, cache sizes and
  TTLs), which is what the model beside the run prices;
- returns a handle whose methods (``request``, ``get``, ``sign_in``...) are what a real
  endpoint would also offer, so a live implementation can replace it builder by builder.

Teardown needs no registration for the AWS resources: the session deletes everything of
the run's account (or, live, everything tagged with the run id). Builders whose data
plane holds state outside the backend register its release with ``ctx.on_teardown``.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

from app.core import facts

if TYPE_CHECKING:
    from app.runtime.pipeline import RunContext

ASSUME = "sts:AssumeRole"


def _policy(*statements: Mapping[str, Any]) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def service_trust(service: str) -> dict:
    """A trust policy letting an AWS service (``dax.amazonaws.com``...) assume the role."""
    return _policy({"Effect": "Allow", "Principal": {"Service": service}, "Action": ASSUME})


# -- handles ------------------------------------------------------------------------------------
@dataclass
class UserPool:
    """A Cognito user pool with one app client (USER_PASSWORD_AUTH)."""

    id: str
    arn: str
    client_id: str
    region: str
    _idp: Any = field(repr=False)
    verifier: Any = field(repr=False)

    @property
    def provider(self) -> str:
        """The provider name identity pools and ``Logins`` maps use for this pool."""
        return f"cognito-idp.{self.region}.amazonaws.com/{self.id}"

    def sign_up(self, email: str, password: str, *, confirm: bool = True) -> str:
        """Sign a user up (and confirm them, as an administrator would); returns the user's sub."""
        signed = self._idp.sign_up(ClientId=self.client_id, Username=email, Password=password,
                                   UserAttributes=[{"Name": "email", "Value": email}])
        if confirm:
            self._idp.admin_confirm_sign_up(UserPoolId=self.id, Username=email)
        return signed["UserSub"]

    def sign_in(self, email: str, password: str) -> dict:
        """InitiateAuth with USER_PASSWORD_AUTH: the AuthenticationResult (IdToken, AccessToken...)."""
        return self._idp.initiate_auth(ClientId=self.client_id, AuthFlow="USER_PASSWORD_AUTH",
                                       AuthParameters={"USERNAME": email, "PASSWORD": password})["AuthenticationResult"]

    def refused(self, email: str, password: str) -> str | None:
        """The error code a sign-in with these credentials gets (None when it succeeds)."""
        try:
            self.sign_in(email, password)
        except self._idp.exceptions.NotAuthorizedException as exc:
            return exc.response["Error"]["Code"]
        return None

    def user_status(self, email: str) -> str:
        return self._idp.admin_get_user(UserPoolId=self.id, Username=email)["UserStatus"]

    def verify(self, token: str) -> dict:
        """The claims of an ID token, verified against the pool's JWKS (signature, issuer, audience, expiry)."""
        return self.verifier.verify(token, pool_id=self.id, client_ids=[self.client_id])


@dataclass
class IdentityPoolHandle:
    """A Cognito identity pool whose authenticated role carries ``policy``."""

    id: str
    role_arn: str
    policy: dict
    policy_name: str
    trust_policy: dict
    user_pool: UserPool
    pool: Any = field(repr=False)          # the emulated data plane (GetId, GetCredentialsForIdentity)
    _planes: Any = field(repr=False)

    def identity_id(self, id_token: str) -> str:
        return self.pool.get_id(IdentityPoolId=self.id, Logins={self.user_pool.provider: id_token})["IdentityId"]

    def credentials(self, identity_id: str, id_token: str) -> dict:
        return self.pool.get_credentials_for_identity(
            IdentityId=identity_id, Logins={self.user_pool.provider: id_token})["Credentials"]

    def s3_for(self, identity_id: str, credentials: Mapping[str, Any]):
        """An S3 client signed with the identity's credentials, its role's policy checked per request."""
        return self._planes.s3_for_identity(self.pool, identity_id, credentials)


@dataclass
class Route:
    """One method of a REST API: ``GET /todos/{id}`` proxied to ``function`` (a Lambda ARN)."""

    method: str
    path: str
    function: str
    cache_key: tuple[str, ...] = ()        # request parameters in the stage cache key
    authorized: bool = True                # behind the API's authorizer, when it has one
    fresh_on_request: bool = False         # a client may ask for a fresh copy with Cache-Control: max-age=0


@dataclass
class StageCache:
    size_gb: str = "0.5"
    ttl_s: int = facts.APIGW_CACHE_TTL_DEFAULT_S.value


@dataclass
class RestApi:
    """A REST API deployed to a stage; ``request`` invokes it as a client would."""

    id: str
    stage: str
    region: str
    cache: StageCache | None
    invoker: Any = field(repr=False)
    stage_settings: list = field(default_factory=list, repr=False)   # the stage's patch operations
    # In a run with injected faults, the ledger's count of this API's requests (RequestFlow): answered
    # below 500, or failed (the caller got a 5xx or a refused connection).
    flow: Any = field(default=None, repr=False)

    @property
    def invoke_url(self) -> str:
        return f"https://{self.id}.execute-api.{self.region}.amazonaws.com/{self.stage}"

    def request(self, method: str, path: str, *, headers: Mapping[str, Any] | None = None, body: Any = None,
                **options: Any):
        """Call the API; a dict or list ``body`` is sent as JSON."""
        h = dict(headers or {})
        if body is not None and not isinstance(body, (str, bytes)):
            h.setdefault("Content-Type", "application/json")
            body = json.dumps(body)
        if self.flow is None:
            return self.invoker.request(method, path, headers=h, body=body, **options)
        with self.flow.request() as req:
            try:
                answer = self.invoker.request(method, path, headers=h, body=body, **options)
            except Exception:
                req.fail()                 # the caller got the error (a refused connection)
                raise
            req.fail() if answer.status >= 500 else req.served(self.region)
        return answer

    @property
    def counters(self) -> dict:
        return self.invoker.counters

    @property
    def stage_cache(self):
        """The stage cache's data plane (hits, misses, flushes), None when caching is off."""
        return self.invoker.cache

    def set_cache_key(self, method: str, path: str, parameters: Sequence[str]) -> None:
        """Change which request parameters key a method's cached responses, redeploy and flush the cache.

        The integration is put again with its new ``cacheKeyParameters`` as on AWS; moto drops
        that field, so the emulated stage also records it."""
        apigw = self.invoker.client
        route = next(r for r in self.invoker.routes if r.path == path)
        current = apigw.get_integration(restApiId=self.id, resourceId=route.resource_id, httpMethod=method)
        spec = route.methods[method]
        auth = {"authorizationType": spec.get("authorizationType", "NONE")}
        if spec.get("authorizerId"):
            auth["authorizerId"] = spec["authorizerId"]
        apigw.put_method(restApiId=self.id, resourceId=route.resource_id, httpMethod=method,
                         requestParameters={k: True for k in parameters}, **auth)
        apigw.put_integration(restApiId=self.id, resourceId=route.resource_id, httpMethod=method, type=current["type"],
                              integrationHttpMethod=current.get("httpMethod", "POST"), uri=current["uri"],
                              cacheKeyParameters=list(parameters))
        apigw.create_deployment(restApiId=self.id, stageName=self.stage)
        if self.stage_settings:
            # AWS keeps a stage's settings across deployments; moto resets them, so they are put back.
            apigw.update_stage(restApiId=self.id, stageName=self.stage, patchOperations=self.stage_settings)
        self.invoker.extra_cache_keys[f"{method} {path}"] = list(parameters)
        self.invoker.refresh()
        self.invoker.flush_stage_cache()

    def describe_cache(self) -> str:
        if self.cache is None:
            return "off"
        return f"{self.cache.size_gb} GB, TTL {self.cache.ttl_s} s"


@dataclass
class Dax:
    """A DAX cluster; handlers reach it by ``endpoint`` (the cluster's discovery endpoint)."""

    name: str
    endpoint: str
    node_type: str
    nodes: int
    client: Any = field(repr=False)

    def counts(self) -> dict[str, int]:
        """Hits and misses of both caches so far."""
        s = self.client.stats()
        return {"hits": s["item_hits"] + s["query_hits"], "misses": s["item_misses"] + s["query_misses"]}

    def answered(self, request: Callable[[], Any]) -> tuple[Any, str]:
        """Make ``request()``: its answer, and ``hit`` when DAX answered a read of it from its cache, else ``miss``."""
        before = self.counts()["hits"]
        answer = request()
        return answer, "hit" if self.counts()["hits"] > before else "miss"

    def stats(self) -> dict:
        return self.client.stats()


@dataclass
class Distribution:
    """A CloudFront distribution in front of an S3 bucket through origin access control."""

    id: str
    arn: str
    domain: str
    bucket: str
    bucket_policy: dict
    edge: Any = field(repr=False)

    def get(self, path: str, **options: Any):
        return self.edge.get(path, **options)

    def visit(self, paths: Sequence[str], viewer_regions: Iterable[str], *, rounds: int = 1) -> list[dict]:
        """Viewers near each region request every path, ``rounds`` times over; per request: the viewer's region
        (``reader``), ``path``, ``status``, ``bytes``, the ``edge`` location that answered, its ``cache``
        outcome and whether it fetched from the origin (``origin_fetch``)."""
        out = []
        for region in viewer_regions:
            for _ in range(rounds):
                for path in paths:
                    r = self.get(path, viewer_region=region)
                    out.append({"reader": region, "path": path, "status": r.status, "bytes": len(r.body),
                                "edge": r.edge, "cache": r.cache, "origin_fetch": r.origin_fetched})
        return out

    def stats(self) -> dict:
        return self.edge.stats()


@dataclass
class SigningKey:
    """An RSA key pair whose public half is a CloudFront public key; the private half is in a secret."""

    key_id: str                           # the CloudFront public key id signatures name (Key-Pair-Id)
    secret: str                           # the Secrets Manager secret holding the PEM private key
    private_key: Any = field(repr=False)  # kept by the run only to forge with a key nobody trusts


@dataclass
class Queue:
    url: str
    arn: str

    @property
    def region(self) -> str:
        return self.arn.split(":")[3]


@dataclass
class CacheCluster:
    """An ElastiCache (Redis) cluster; handlers reach ``client`` at ``endpoint`` (``redis://host:6379``)."""

    id: str
    endpoint: str
    client: Any = field(repr=False)        # the emulated Redis, or a real server's client (REDIS_URL)


@dataclass
class Database:
    """An RDS DB instance and the SQL behind its endpoint (:class:`app.runtime.dataplanes.rds.SqlDatabase`)."""

    instance_id: str
    sql: Any = field(repr=False)


@dataclass
class HostedZone:
    """A Route 53 public hosted zone; :meth:`resolver` answers its names as the routing policies do."""

    id: str
    name: str
    _ctx: Any = field(repr=False)

    def create_records(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Create these record sets (see :func:`record_set`) in one change batch."""
        self._ctx.client("route53").change_resource_record_sets(HostedZoneId=self.id, ChangeBatch={"Changes": [
            {"Action": "CREATE", "ResourceRecordSet": r} for r in records]})

    def resolver(self, *, rtt_ms: Callable[[str, str], float] | None = None):
        """The zone's resolver (:class:`app.runtime.dataplanes.route53.Resolver`) on the run's clock, with the
        injected faults (a region outage fails the health checks of its endpoints)."""
        from app.runtime.dataplanes.route53 import Resolver

        ctx = self._ctx
        return Resolver(ctx.client("route53"), self.id, rtt_ms=rtt_ms, trace=ctx.trace, clock=ctx.clock,
                        faults=lambda: ctx.session.faults)


@dataclass
class Fleet:
    """IoT things of one thing type, each with an active X.509 certificate carrying ``policy``."""

    thing_type: str
    policy: str
    things: dict[str, str]                 # thing name -> certificate ARN


@dataclass
class Network:
    """A VPC with one subnet in each of two Availability Zones and a security group for web traffic."""

    vpc_id: str
    subnet_ids: list[str]
    security_group_id: str
    zones: list[str]


@dataclass
class LoadBalancedGroup:
    """An ALB forwarding to an EC2 Auto Scaling group whose instances run ``app`` (in-process)."""

    name: str
    dns_name: str
    load_balancer_arn: str
    target_group_arn: str
    listener_arn: str
    group_name: str
    launch_template_id: str
    network: Network
    plane: Any = field(repr=False)
    servers: dict = field(repr=False)
    _asg: Any = field(repr=False)

    def request(self, method: str, path: str, headers: Mapping[str, Any] | None = None, body: Any = None):
        """A request to the ALB's listener: an ``HttpResponse`` (status, body, headers, served_by)."""
        return self.plane.request(method, path, headers, body)

    def in_service(self) -> list[str]:
        """Instances the group has InService that the target group reports healthy, read from the backend."""
        group = self._asg.describe_auto_scaling_groups(AutoScalingGroupNames=[self.group_name])["AutoScalingGroups"][0]
        running = {i["InstanceId"] for i in group["Instances"] if i["LifecycleState"] == "InService"}
        return sorted(t for t, state in self.plane.target_health().items() if state == "healthy" and t in running)

    def set_desired(self, n: int) -> list[str]:
        """Set the group's desired capacity: the backend launches (and registers) or terminates instances;
        terminated instances are deregistered from the target group, as the group does on scale-in.
        Returns the instances in service afterwards."""
        self._asg.set_desired_capacity(AutoScalingGroupName=self.group_name, DesiredCapacity=n, HonorCooldown=False)
        group = self._asg.describe_auto_scaling_groups(AutoScalingGroupNames=[self.group_name])["AutoScalingGroups"][0]
        members = {i["InstanceId"] for i in group["Instances"]}
        gone = [t for t in self.plane.target_health() if t not in members]
        if gone:
            self.plane.client.deregister_targets(TargetGroupArn=self.target_group_arn,
                                                 Targets=[{"Id": t} for t in gone])
        self.plane.refresh()
        return self.in_service()

    def stats(self) -> dict:
        """Requests and bytes each target's server answered, and the balancer's counters."""
        return {"balancer": dict(self.plane.counters),
                "instances": {t: s.stats() for t, s in sorted(self.servers.items())}}


@dataclass
class ContainerService:
    """An ECS service (cluster, task definition, service) behind an ALB; each task's container runs
    ``app`` in-process and is registered by its IP in the ALB's target group."""

    name: str
    region: str
    dns_name: str
    cluster_arn: str
    service_arn: str
    task_definition_arn: str
    target_group_arn: str
    task_ips: list[str]
    plane: Any = field(repr=False)
    servers: dict = field(repr=False)

    def request(self, method: str, path: str, headers: Mapping[str, Any] | None = None, body: Any = None):
        return self.plane.request(method, path, headers, body)

    def stats(self) -> dict:
        return {"balancer": dict(self.plane.counters),
                "tasks": {t: s.stats() for t, s in sorted(self.servers.items())}}


# -- the builders ---------------------------------------------------------------------------------
class Infra:
    """Builders of shared infrastructure in the run's account (see the module docstring)."""

    def __init__(self, ctx: "RunContext") -> None:
        self.ctx = ctx
        self.session = ctx.session
        planes = ctx.planes
        planes.verifier.clock = ctx.clock          # token expiry is judged by the run's clock

    def _client(self, service: str, region: str | None = None):
        return self.session.clients.client(service, region)

    # IAM ------------------------------------------------------------------------------------------
    def role(self, base: str, trust: Mapping[str, Any], policies: Mapping[str, Mapping[str, Any]] | None = None) -> str:
        """A role with a trust policy and inline policies; returns its ARN."""
        iam = self._client("iam")
        name = self.ctx.name(base)
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        for policy_name, document in (policies or {}).items():
            iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(document))
        return arn

    # S3 -------------------------------------------------------------------------------------------
    def bucket(self, base: str, *, files: Mapping[str, tuple[str, str, bytes]] | None = None,
               cors_put: bool = False, accelerate: bool = False, public_read: bool = False) -> str:
        """A bucket (tagged by the client factory); ``files`` maps key -> (content type, cache control, body)."""
        s3 = self._client("s3")
        name = self.ctx.name(base)
        s3.create_bucket(Bucket=name)
        for key, (content_type, cache_control, body) in (files or {}).items():
            extra = {"CacheControl": cache_control} if cache_control else {}
            s3.put_object(Bucket=name, Key=key, Body=body, ContentType=content_type, **extra)
        if cors_put:
            s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": [{
                "AllowedMethods": ["PUT"], "AllowedOrigins": ["*"], "AllowedHeaders": ["*"], "MaxAgeSeconds": 3000}]})
        if accelerate:
            s3.put_bucket_accelerate_configuration(Bucket=name, AccelerateConfiguration={"Status": "Enabled"})
        if public_read:
            self.allow_public_read(name)
        return name

    def allow_public_read(self, bucket: str) -> dict:
        """Let anyone read the bucket's objects (a website bucket without CloudFront); returns the policy."""
        s3 = self._client("s3")
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": False,
            "RestrictPublicBuckets": False})
        policy = public_read_policy(bucket)
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
        return policy

    # DynamoDB -------------------------------------------------------------------------------------
    def table(self, base: str, hash_key: str, range_key: str | None = None, *, stream: str | None = None) -> str:
        """An on-demand table with string keys; ``stream`` is its stream view type (NEW_IMAGE...)."""
        keys = [(hash_key, "HASH")] + ([(range_key, "RANGE")] if range_key else [])
        name = self.ctx.name(base)
        extra: dict[str, Any] = {}
        if stream:
            extra["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream}
        self._client("dynamodb").create_table(
            TableName=name, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in keys],
            AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k, _ in keys], **extra)
        return name

    def global_table(self, table: str, regions: Sequence[str]):
        """Make ``table`` (created in ``regions[0]``, the session's region) a global table with a replica in
        each other region, replicated by the streaming emulation; returns the created
        :class:`app.runtime.streaming.global_tables.GlobalTable` (``wait_for_item``, ``lag_summary``...)."""
        replicas = self.ctx.streaming.global_table(table, list(regions))
        replicas.create()
        return replicas

    # SQS and SNS ----------------------------------------------------------------------------------
    def queue(self, base: str, *, dead_letter_after: int | None = None, region: str | None = None,
              **attributes: str) -> Queue:
        """A standard queue (in ``region``, the session's by default); with ``dead_letter_after`` a ``<base>-dlq``
        queue beside it and a redrive policy that moves a message there once it has been received that many
        times (maxReceiveCount)."""
        if dead_letter_after is not None:
            limits = facts.SQS_MAX_RECEIVE_COUNT.value
            if not limits["min"] <= dead_letter_after <= limits["max"]:
                raise ValueError(f"dead_letter_after={dead_letter_after} is not valid: use {limits['min']} to "
                                 f"{limits['max']} receives")
            dlq = self.queue(f"{base}-dlq", region=region)
            attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": dlq.arn,
                                                      "maxReceiveCount": str(dead_letter_after)})
        sqs = self._client("sqs", region)
        url = sqs.create_queue(QueueName=self.ctx.name(base), Attributes=dict(attributes))["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return Queue(url, arn)

    def topic(self, base: str, *, region: str | None = None) -> str:
        return self._client("sns", region).create_topic(Name=self.ctx.name(base))["TopicArn"]

    def queue_depth(self, queues: Iterable[Queue]) -> int:
        """The messages in these queues (each read in its own region): waiting, and received but not yet
        deleted (ApproximateNumberOfMessages + ApproximateNumberOfMessagesNotVisible)."""
        depth = 0
        for q in queues:
            attrs = self._client("sqs", q.region).get_queue_attributes(QueueUrl=q.url, AttributeNames=[
                "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
            depth += int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])
        return depth

    def bucket_fanout(self, bucket: str, via: str, queue: str, *, topic: str = "",
                      prefix: str | None = None) -> Queue:
        """Fan a bucket's object-created notifications out: ``via="sns"`` publishes them to a new topic
        ``topic`` to which a new queue ``queue`` is subscribed (a subscriber reading what the topic
        delivers); ``via="sqs"`` sends them straight to a new queue ``queue``. Returns the queue."""
        if via not in ("sns", "sqs") or (via == "sns" and not topic):
            raise ValueError(f"via={via!r} is not valid: use \"sqs\", or \"sns\" with a topic name")
        routing = self.session.routing
        if via == "sns":
            arn = self.topic(topic)
            q = self.queue(queue)
            routing.sns_to_sqs(arn, q.arn)
            routing.s3_to_sns(bucket, arn, prefix=prefix)
        else:
            q = self.queue(queue)
            routing.s3_to_sqs(bucket, q.arn, prefix=prefix)
        return q

    # Kinesis and IoT Core -------------------------------------------------------------------------
    def kinesis_stream(self, base: str, *, shards: int = 1) -> str:
        """A provisioned data stream with ``shards`` shards; returns its name."""
        name = self.ctx.name(base)
        self._client("kinesis").create_stream(StreamName=name, ShardCount=shards)
        self.ctx.deployed.update(kinesis_shards=shards)
        return name

    def iot_fleet(self, base: str, count: int, *, policy: Mapping[str, Any]) -> Fleet:
        """A thing type and ``count`` things, each with its own active certificate (CreateKeysAndCertificate)
        to which the IoT ``policy`` is attached, and the certificate attached to the thing."""
        iot = self._client("iot")
        thing_type = self.ctx.name(f"{base}-type")
        iot.create_thing_type(thingTypeName=thing_type)
        policy_name = self.ctx.name(f"{base}-policy")
        iot.create_policy(policyName=policy_name, policyDocument=json.dumps(policy))
        things = {}
        for i in range(count):
            thing = self.ctx.name(f"{base}-{i + 1:03d}")
            iot.create_thing(thingName=thing, thingTypeName=thing_type)
            cert = iot.create_keys_and_certificate(setAsActive=True)["certificateArn"]
            iot.attach_policy(policyName=policy_name, target=cert)
            iot.attach_thing_principal(thingName=thing, principal=cert)
            things[thing] = cert

        def remove() -> None:      # the session's teardown knows no IoT things, certificates or policies
            for name, arn in things.items():
                iot.detach_thing_principal(thingName=name, principal=arn)
                iot.detach_policy(policyName=policy_name, target=arn)
                cert_id = arn.rsplit("/", 1)[1]
                iot.update_certificate(certificateId=cert_id, newStatus="INACTIVE")
                iot.delete_certificate(certificateId=cert_id)
                iot.delete_thing(thingName=name)
            iot.delete_policy(policyName=policy_name)
            iot.deprecate_thing_type(thingTypeName=thing_type)
            iot.delete_thing_type(thingTypeName=thing_type)

        self.ctx.on_teardown(remove)
        self.ctx.deployed.update(iot_things=count)
        return Fleet(thing_type, policy_name, things)

    # Cognito --------------------------------------------------------------------------------------
    def user_pool(self, base: str, *, client_name: str = "app",
                  id_token_minutes: int = facts.COGNITO_ID_TOKEN_VALIDITY_MIN.value) -> UserPool:
        """A user pool signing users in by email, with an app client for USER_PASSWORD_AUTH."""
        idp = self._client("cognito-idp")
        pool = idp.create_user_pool(
            PoolName=self.ctx.name(base), AutoVerifiedAttributes=["email"], UsernameAttributes=["email"],
            Policies={"PasswordPolicy": {"MinimumLength": 12, "RequireUppercase": True, "RequireLowercase": True,
                                         "RequireNumbers": True, "RequireSymbols": False}})["UserPool"]
        client = idp.create_user_pool_client(
            UserPoolId=pool["Id"], ClientName=client_name, GenerateSecret=False,
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            IdTokenValidity=id_token_minutes, TokenValidityUnits={"IdToken": "minutes"})["UserPoolClient"]
        return UserPool(pool["Id"], pool["Arn"], client["ClientId"], self.session.region, idp,
                        self.ctx.planes.verifier)

    def identity_pool(self, base: str, user_pool: UserPool, *, policy: Callable[[str], dict] | dict,
                      policy_name: str = "authenticated-access") -> IdentityPoolHandle:
        """An identity pool trusting ``user_pool``, its authenticated role carrying ``policy``.

        ``policy`` may be a function of the identity pool id (for conditions that name it)."""
        pool = self._client("cognito-identity").create_identity_pool(
            IdentityPoolName=self.ctx.name(base).replace("-", "_"), AllowUnauthenticatedIdentities=False,
            CognitoIdentityProviders=[{"ProviderName": user_pool.provider, "ClientId": user_pool.client_id,
                                       "ServerSideTokenCheck": False}])
        pool_id = pool["IdentityPoolId"]
        document = policy(pool_id) if callable(policy) else policy
        trust = identity_trust(pool_id)
        role_arn = self.role(f"{base}-authenticated", trust, {policy_name: document})
        planes = self.ctx.planes
        ids = planes.identity_pool(pool_id)
        ids.set_identity_pool_roles(IdentityPoolId=pool_id, Roles={"authenticated": role_arn})
        return IdentityPoolHandle(pool_id, role_arn, document, policy_name, trust, user_pool, ids, planes)

    # API Gateway ----------------------------------------------------------------------------------
    def rest_api(self, base: str, routes: Sequence[Route], *, authorizer: UserPool | None = None,
                 stage: str = "prod", cache: StageCache | None = None, region: str | None = None,
                 lambdas=None, clock: Callable[[], float] | None = None) -> RestApi:
        """A REST API with Lambda proxy routes, an optional Cognito authorizer and stage cache.

        ``region`` and ``lambdas`` place it beside functions deployed in another region; ``clock``
        (the run's, ``ctx.clock``) times the stage cache's TTL instead of the process's clock."""
        region = region or self.session.region
        apigw = self._client("apigateway", region)
        api_id = apigw.create_rest_api(name=self.ctx.name(base), endpointConfiguration={"types": ["REGIONAL"]})["id"]
        resources = {"/": next(r["id"] for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")}

        def resource(path: str) -> str:
            if path not in resources:
                parent, _, part = path.rpartition("/")
                resources[path] = apigw.create_resource(restApiId=api_id, parentId=resource(parent or "/"),
                                                        pathPart=part)["id"]
            return resources[path]

        auth_id = None
        if authorizer is not None:
            auth_id = apigw.create_authorizer(
                restApiId=api_id, name="cognito", type="COGNITO_USER_POOLS", providerARNs=[authorizer.arn],
                identitySource="method.request.header.Authorization")["id"]
        cache_keys: dict[str, list[str]] = {}
        for route in routes:
            rid = resource(route.path)
            auth = {"authorizationType": "COGNITO_USER_POOLS", "authorizerId": auth_id} \
                if auth_id and route.authorized else {"authorizationType": "NONE"}
            apigw.put_method(restApiId=api_id, resourceId=rid, httpMethod=route.method,
                             requestParameters={k: True for k in route.cache_key}, **auth)
            uri = f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{route.function}/invocations"
            apigw.put_integration(restApiId=api_id, resourceId=rid, httpMethod=route.method, type="AWS_PROXY",
                                  integrationHttpMethod="POST", uri=uri, cacheKeyParameters=list(route.cache_key))
            if route.cache_key:
                cache_keys[f"{route.method} {route.path}"] = list(route.cache_key)
        lam = self._client("lambda", region)
        for fn in dict.fromkeys(r.function for r in routes):
            lam.add_permission(FunctionName=fn, StatementId="apigateway-invoke", Action="lambda:InvokeFunction",
                               Principal="apigateway.amazonaws.com",
                               SourceArn=f"arn:aws:execute-api:{region}:{self.session.account_id}:{api_id}/*/*/*")
        apigw.create_deployment(restApiId=api_id, stageName=stage)
        ops: list[dict] = []
        if cache is not None:
            ops += [{"op": "replace", "path": "/cacheClusterEnabled", "value": "true"},
                   {"op": "replace", "path": "/cacheClusterSize", "value": cache.size_gb},
                   {"op": "replace", "path": "/*/*/caching/enabled", "value": "true"},
                   {"op": "replace", "path": "/*/*/caching/ttlInSeconds", "value": str(cache.ttl_s)}]
            for route in routes:
                if route.fresh_on_request:
                    where = f"/{route.path.replace('/', '~1')}/{route.method}/caching"
                    ops += [{"op": "replace", "path": f"{where}/enabled", "value": "true"},
                            {"op": "replace", "path": f"{where}/ttlInSeconds", "value": str(cache.ttl_s)},
                            {"op": "replace", "path": f"{where}/requireAuthorizationForCacheControl",
                             "value": "false"}]
            apigw.update_stage(restApiId=api_id, stageName=stage, patchOperations=ops)
            self.ctx.deployed.update(api_cache_gb=cache.size_gb, api_cache_ttl_s=cache.ttl_s)
        functions = lambdas or self.session.lambdas
        invoker = self.ctx.planes.rest_api(api_id, stage, region=region, cache_key_parameters=cache_keys,
                                           wall_clock=self.ctx.clock, **({"clock": clock} if clock else {}),
                                           invoke=lambda name, event: functions.invoke(name, event, source="apigateway"))
        # A run with faults counts the API's requests in its ledger: a synchronous failure reaches the caller.
        flow = self.ctx.routing.requests(f"callers -> {base} API ({region})") if self.session.faults else None
        return RestApi(api_id, stage, region, cache, invoker, ops, flow)

    # DAX ------------------------------------------------------------------------------------------
    def dax(self, base: str, *, node_type: str = facts.DAX_NODE_TYPE_DEFAULT.value, nodes: int = 1,
            clock: Callable[[], float] | None = None) -> Dax:
        """A DAX cluster (one node: a run needs no replicas) with its service role; ``clock`` (the run's,
        ``ctx.clock``) times its TTLs instead of the process's clock."""
        role = self.role(f"{base}-dax-access", service_trust("dax.amazonaws.com"))
        cluster = self._client("dax").create_cluster(
            ClusterName=self.ctx.name(base)[:20].rstrip("-"), NodeType=node_type, ReplicationFactor=nodes,
            IamRoleArn=role)["Cluster"]
        found = cluster.get("ClusterDiscoveryEndpoint") or {}
        endpoint = f"dax://{found.get('Address', cluster['ClusterName'])}:{found.get('Port', 8111)}"
        client = self.ctx.planes.dax(cluster["ClusterName"], endpoint=endpoint, node_type=node_type,
                                     **({"clock": clock} if clock else {}))
        self.ctx.deployed.update(dax_nodes=nodes, dax_node_type=node_type, dax_ttl_s=client.item_ttl_s)
        return Dax(cluster["ClusterName"], endpoint, node_type, nodes, client)

    # VPC, ALB and EC2 Auto Scaling ---------------------------------------------------------------
    def network(self, base: str, *, cidr: str = "10.0.0.0/16", port: int = 80, region: str | None = None) -> Network:
        """A VPC with a subnet in each of two Availability Zones and a security group open on ``port``."""
        ec2 = self._client("ec2", region)
        tags = self._ec2_tags(base)
        vpc = ec2.create_vpc(CidrBlock=cidr, TagSpecifications=[tags("vpc")])["Vpc"]["VpcId"]
        zones = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]][:2]
        prefix = cidr.split(".")[:2]
        subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=".".join(prefix + [str(i), "0/24"]), AvailabilityZone=zone,
                                     TagSpecifications=[tags("subnet")])["Subnet"]["SubnetId"]
                   for i, zone in enumerate(zones)]
        sg = ec2.create_security_group(GroupName=self.ctx.name(f"{base}-web"), Description=f"{base} web traffic",
                                       VpcId=vpc, TagSpecifications=[tags("security-group")])["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        return Network(vpc, subnets, sg, zones)

    def _balancer(self, elbv2, lb: dict, tg: dict, app: Callable):
        """The ALB's data plane and the servers on its targets (made on first request), each running ``app``
        with the run's clients bound, as an instance or task role gives a server its credentials."""
        from app.runtime.clients import bound
        from app.runtime.dataplanes.elb import LoadBalancerPlane, WebServer

        clients, servers = self.session.clients, {}

        def served(request, server):
            with bound(clients):
                return app(request, server)

        def server_for(target: str) -> WebServer:
            if target not in servers:
                servers[target] = WebServer(target, served)
            return servers[target]
        plane = LoadBalancerPlane(elbv2, tg["TargetGroupArn"], server_for, name=lb["LoadBalancerName"],
                                  trace=self.session.trace, clock=self.ctx.clock, region=elbv2.meta.region_name,
                                  faults=lambda: self.session.faults)
        return plane, servers

    def _ec2_tags(self, base: str) -> Callable[[str], dict]:
        tags = [{"Key": k, "Value": v} for k, v in {**self.session.tags, "Name": self.ctx.name(base)}.items()]
        return lambda kind: {"ResourceType": kind, "Tags": tags}

    def alb(self, base: str, network: Network, *, target_type: str = "instance", port: int = 80,
            health_path: str = "/health", region: str | None = None) -> tuple[dict, dict, str]:
        """An internet-facing ALB with a target group and an HTTP listener forwarding to it:
        (load balancer, target group, listener ARN)."""
        elb = self._client("elbv2", region)
        name = self.ctx.name(base)[:32].rstrip("-")
        lb = elb.create_load_balancer(Name=name, Subnets=network.subnet_ids, SecurityGroups=[network.security_group_id],
                                      Scheme="internet-facing", Type="application")["LoadBalancers"][0]
        tg = elb.create_target_group(Name=self.ctx.name(f"{base}-tg")[:32].rstrip("-"), Protocol="HTTP", Port=port,
                                     VpcId=network.vpc_id, TargetType=target_type, HealthCheckPath=health_path,
                                     HealthCheckIntervalSeconds=facts.ALB_HEALTH_INTERVAL_S.value,
                                     HealthyThresholdCount=facts.ALB_HEALTHY_THRESHOLD.value)["TargetGroups"][0]
        listener = elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=port,
                                       DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}])
        return lb, tg, listener["Listeners"][0]["ListenerArn"]

    def load_balanced_group(self, base: str, app: Callable, *, desired: int = 2, max_size: int = 4, min_size: int = 0,
                            instance_type: str = "t3.micro", health_path: str = "/health",
                            network: Network | None = None) -> LoadBalancedGroup:
        """An ALB in front of an EC2 Auto Scaling group (launch template, two subnets) whose instances
        the backend launches and registers as targets; each instance's web server is ``app(request,
        server)`` run in-process (:mod:`app.runtime.dataplanes.elb`)."""
        network = network or self.network(base)
        ec2, asg = self._client("ec2"), self._client("autoscaling")
        lb, tg, listener = self.alb(base, network, health_path=health_path)
        image = _amazon_linux_image(ec2)
        tags = self._ec2_tags(base)
        template = ec2.create_launch_template(
            LaunchTemplateName=self.ctx.name(f"{base}-lt"), TagSpecifications=[tags("launch-template")],
            LaunchTemplateData={"ImageId": image, "InstanceType": instance_type,
                                "SecurityGroupIds": [network.security_group_id],
                                "TagSpecifications": [tags("instance")]})["LaunchTemplate"]
        group = self.ctx.name(f"{base}-asg")
        asg.create_auto_scaling_group(
            AutoScalingGroupName=group, LaunchTemplate={"LaunchTemplateId": template["LaunchTemplateId"],
                                                        "Version": "$Latest"},
            MinSize=min_size, MaxSize=max_size, DesiredCapacity=desired, VPCZoneIdentifier=",".join(network.subnet_ids),
            TargetGroupARNs=[tg["TargetGroupArn"]], HealthCheckType="ELB", HealthCheckGracePeriod=0)
        plane, servers = self._balancer(self._client("elbv2"), lb, tg, app)
        handle = LoadBalancedGroup(lb["LoadBalancerName"], lb["DNSName"], lb["LoadBalancerArn"], tg["TargetGroupArn"],
                                   listener, group, template["LaunchTemplateId"], network, plane, servers, asg)
        plane.refresh()
        self.ctx.deployed.update({f"{base}_instances": desired, f"{base}_instance_type": instance_type,
                                  f"{base}_load_balancers": 1})
        return handle

    def container_service(self, base: str, app: Callable, *, tasks: int = 2, region: str | None = None,
                          image: str = "public.ecr.aws/docker/library/python:3.11-slim", port: int = 8080,
                          cidr: str = "10.0.0.0/16") -> ContainerService:
        """An ECS cluster, a Fargate task definition and a service of ``tasks`` tasks behind an ALB (IP
        targets). moto's ECS starts no tasks for a service, so each task's network interface is created in
        the service's subnets and its IP registered in the target group, as the ECS scheduler does; the
        container is ``app(request, server)`` run in-process (:mod:`app.runtime.dataplanes.elb`)."""
        region = region or self.session.region
        network = self.network(base, cidr=cidr, port=port, region=region)
        lb, tg, _ = self.alb(base, network, target_type="ip", port=port, region=region)
        ecs, ec2 = self._client("ecs", region), self._client("ec2", region)
        cluster = ecs.create_cluster(clusterName=self.ctx.name(base))["cluster"]["clusterArn"]
        task_def = ecs.register_task_definition(
            family=self.ctx.name(base), networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
            memory="512", containerDefinitions=[{"name": base, "image": image, "essential": True, "cpu": 256,
                                                 "memory": 512, "portMappings": [{"containerPort": port}]}],
        )["taskDefinition"]["taskDefinitionArn"]
        service = ecs.create_service(
            cluster=cluster, serviceName=self.ctx.name(base), taskDefinition=task_def, desiredCount=tasks,
            launchType="FARGATE", loadBalancers=[{"targetGroupArn": tg["TargetGroupArn"], "containerName": base,
                                                  "containerPort": port}],
            networkConfiguration={"awsvpcConfiguration": {"subnets": network.subnet_ids, "assignPublicIp": "DISABLED",
                                                          "securityGroups": [network.security_group_id]}})["service"]
        ips = [ec2.create_network_interface(SubnetId=network.subnet_ids[i % len(network.subnet_ids)],
                                            Groups=[network.security_group_id], Description=f"{base} task {i + 1}",
                                            )["NetworkInterface"]["PrivateIpAddress"] for i in range(tasks)]
        elb = self._client("elbv2", region)
        elb.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": ip, "Port": port} for ip in ips])
        plane, servers = self._balancer(elb, lb, tg, app)
        plane.refresh()
        self.ctx.deployed[f"{base}_tasks"] = self.ctx.deployed.get(f"{base}_tasks", 0) + tasks
        return ContainerService(lb["LoadBalancerName"], region, lb["DNSName"], cluster, service["serviceArn"], task_def,
                                tg["TargetGroupArn"], ips, plane, servers)

    # ElastiCache and RDS -------------------------------------------------------------------------
    def redis_cluster(self, base: str, *, node_type: str = "cache.t4g.micro") -> CacheCluster:
        """A one-node ElastiCache for Redis cluster; its endpoint is bound to the Redis behind it (emulated, or
        the server at REDIS_URL) for the run's handlers, and released at teardown."""
        from app.runtime.dataplanes import elasticache, endpoints

        cluster = self._client("elasticache").create_cache_cluster(
            CacheClusterId=self.ctx.name(base)[:40], Engine="redis", CacheNodeType=node_type,
            NumCacheNodes=1)["CacheCluster"]
        endpoint = f"redis://{cluster['CacheClusterId']}.cache.amazonaws.com:6379"
        client = elasticache.connect(clock=self.ctx.clock, trace=self.ctx.trace, name=cluster["CacheClusterId"])
        clients = self.ctx.clients
        endpoints.bind(clients, endpoint, client)
        self.ctx.on_teardown(lambda: endpoints.unbind(clients, endpoint))
        if hasattr(client, "close"):
            self.ctx.on_teardown(client.close)
        self.ctx.deployed.update(cache_nodes=1, cache_node_type=node_type)
        return CacheCluster(cluster["CacheClusterId"], endpoint, client)

    def database(self, base: str, *, schema: str = "", engine: str = "postgres",
                 instance_class: str = "db.t4g.micro", storage_gb: int = 20) -> Database:
        """An RDS DB instance (its master password managed in Secrets Manager) and the SQL behind its endpoint,
        with ``schema`` executed; the SQL is closed at teardown."""
        from app.runtime.dataplanes.rds import SqlDatabase

        db = self._client("rds").create_db_instance(
            DBInstanceIdentifier=self.ctx.name(base), Engine=engine, DBInstanceClass=instance_class,
            AllocatedStorage=storage_gb, MasterUsername=base, ManageMasterUserPassword=True)["DBInstance"]
        sql = SqlDatabase(db["Endpoint"]["Address"], db["Engine"], trace=self.ctx.trace)
        if schema:
            sql.execute(schema)
        self.ctx.on_teardown(sql.close)
        self.ctx.deployed.update(rds_instances=1, rds_instance_class=instance_class)
        return Database(db["DBInstanceIdentifier"], sql)

    # Route 53 -------------------------------------------------------------------------------------
    def hosted_zone(self, name: str) -> HostedZone:
        """A public hosted zone for ``name``."""
        zone = self._client("route53").create_hosted_zone(Name=name, CallerReference=self.ctx.name("zone"))
        return HostedZone(zone["HostedZone"]["Id"].rsplit("/", 1)[-1], name, self.ctx)

    def health_check(self, base: str, fqdn: str, *, path: str = "/health", port: int = 80) -> str:
        """An HTTP health check of ``fqdn`` at ``path`` (Route 53's interval and failure threshold); its id."""
        return self._client("route53").create_health_check(CallerReference=self.ctx.name(base), HealthCheckConfig={
            "Type": "HTTP", "FullyQualifiedDomainName": fqdn, "Port": port, "ResourcePath": path,
            "RequestInterval": facts.R53_HEALTH_INTERVAL_S.value,
            "FailureThreshold": facts.R53_FAILURE_THRESHOLD.value})["HealthCheck"]["Id"]

    # CloudFront -----------------------------------------------------------------------------------
    def signing_key(self, base: str) -> SigningKey:
        """A 2048-bit RSA key: its public half registered as a CloudFront public key, its private half
        stored in Secrets Manager (where a signing function reads it; never in code or environment)."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
        name = self.ctx.name(base)
        key_id = self._client("cloudfront").create_public_key(PublicKeyConfig={
            "CallerReference": uuid.uuid4().hex, "Name": name[-128:], "EncodedKey": public})["PublicKey"]["Id"]
        self._client("secretsmanager").create_secret(Name=name, SecretString=private,
                                                     Description=f"Private key of CloudFront public key {key_id}")
        return SigningKey(key_id, name, key)

    def key_group(self, base: str, keys: Iterable[SigningKey]) -> str:
        """A CloudFront key group trusting these public keys; returns its id."""
        ids = [k.key_id for k in keys]
        return self._client("cloudfront").create_key_group(KeyGroupConfig={
            "Name": self.ctx.name(base)[-128:], "Items": ids})["KeyGroup"]["Id"]

    def cloudfront(self, bucket: str, *, comment: str, default_root: str | None = None,
                   cache_policy: facts.Fact = facts.CF_CACHING_OPTIMIZED,
                   trusted_key_groups: Iterable[str] = ()) -> Distribution:
        """A distribution in front of ``bucket`` through origin access control; the bucket policy admits
        only this distribution. ``trusted_key_groups`` makes viewers present signed URLs or cookies."""
        cf = self._client("cloudfront")
        oac = cf.create_origin_access_control(OriginAccessControlConfig={
            "Name": self.ctx.name(f"{bucket[-40:]}-oac"), "Description": comment, "SigningProtocol": "sigv4",
            "SigningBehavior": "always", "OriginAccessControlOriginType": "s3"})["OriginAccessControl"]
        origin = {"Id": "origin", "DomainName": f"{bucket}.s3.{self.session.region}.amazonaws.com",
                  "S3OriginConfig": {"OriginAccessIdentity": ""}, "OriginAccessControlId": oac["Id"]}
        dist = self._distribution(origin, comment, default_root, cache_policy, trusted_key_groups)
        policy = oac_bucket_policy(bucket, dist["ARN"])
        self._client("s3").put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
        edge = self.ctx.planes.cloudfront(dist["Id"], clock=self.ctx.clock)
        return Distribution(dist["Id"], dist["ARN"], dist["DomainName"], bucket, policy, edge)

    def cloudfront_custom_origin(self, domain: str, fetch: Callable[[str], tuple[int, bytes, dict]], *,
                                 comment: str, cache_policy: facts.Fact = facts.CF_CACHING_OPTIMIZED) -> Distribution:
        """A distribution in front of an HTTP origin (a load balancer's DNS name); ``fetch(path)`` is how the
        edge reaches that origin on this backend (its data plane), answering ``(status, body, headers)``."""
        origin = {"Id": "origin", "DomainName": domain, "CustomOriginConfig": {
            "HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}}
        dist = self._distribution(origin, comment, None, cache_policy, ())
        edge = self.ctx.planes.cloudfront(dist["Id"], clock=self.ctx.clock,
                                          origin_fetch=lambda _domain, key: fetch("/" + key))
        return Distribution(dist["Id"], dist["ARN"], dist["DomainName"], "", {}, edge)

    def _distribution(self, origin: dict, comment: str, default_root: str | None, cache_policy: facts.Fact,
                      trusted_key_groups: Iterable[str]) -> dict:
        behavior: dict[str, Any] = {"TargetOriginId": "origin", "ViewerProtocolPolicy": "redirect-to-https",
                                    "CachePolicyId": cache_policy.value["id"]}
        groups = list(trusted_key_groups)
        if groups:
            behavior["TrustedKeyGroups"] = {"Enabled": True, "Quantity": len(groups), "Items": groups}
        config: dict[str, Any] = {"CallerReference": uuid.uuid4().hex, "Comment": comment, "Enabled": True,
                                  "Origins": {"Quantity": 1, "Items": [origin]}, "DefaultCacheBehavior": behavior}
        if default_root:
            config["DefaultRootObject"] = default_root
        dist = self._client("cloudfront").create_distribution_with_tags(DistributionConfigWithTags={
            "DistributionConfig": config,
            "Tags": {"Items": [{"Key": k, "Value": v} for k, v in self.session.tags.items()]}})["Distribution"]
        self.ctx.deployed.update(cloudfront_ttl_s=cache_policy.value["DefaultTTL"])
        return dist


def _amazon_linux_image(ec2) -> str:
    """The newest Amazon Linux 2023 x86_64 image the backend lists (what an AMI lookup by name finds)."""
    images = ec2.describe_images(Owners=["amazon"], Filters=[
        {"Name": "name", "Values": ["al2023-ami-2023*-x86_64"]}, {"Name": "state", "Values": ["available"]}])["Images"]
    if not images:
        images = ec2.describe_images(Owners=["amazon"], Filters=[{"Name": "architecture", "Values": ["x86_64"]}])["Images"]
    if not images:
        raise LookupError("the backend lists no Amazon Linux image to launch instances from")
    return max(images, key=lambda i: i.get("CreationDate", ""))["ImageId"]


# -- record sets ----------------------------------------------------------------------------------
def record_set(name: str, value: str, *, ttl: int = 60, policy: str = "simple", set_id: str = "",
               health_check: str = "", weight: int | None = None, region: str | None = None,
               primary: bool = True) -> dict:
    """A CNAME record set of ``name`` answering ``value`` under a Route 53 routing policy: ``simple``, or one
    record of a ``weighted`` (``weight``), ``latency`` (``region``) or ``failover`` (``primary`` or
    secondary) set, named by ``set_id`` and answering while ``health_check`` passes."""
    record: dict[str, Any] = {"Name": name, "Type": "CNAME", "TTL": ttl, "ResourceRecords": [{"Value": value}]}
    if policy == "simple":
        return record
    record.update(SetIdentifier=set_id, HealthCheckId=health_check)
    if policy == "weighted":
        record["Weight"] = weight
    elif policy == "latency":
        record["Region"] = region
    elif policy == "failover":
        record["Failover"] = "PRIMARY" if primary else "SECONDARY"
    else:
        raise ValueError(f"routing policy {policy!r} is not valid: use simple, weighted, latency or failover")
    return record


# -- policy documents -----------------------------------------------------------------------------
def public_read_policy(bucket: str) -> dict:
    return _policy({"Sid": "PublicReadForWebsite", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{bucket}/*"})


def oac_bucket_policy(bucket: str, distribution_arn: str) -> dict:
    """The bucket policy origin access control needs: reads by CloudFront for this distribution only."""
    return _policy({"Sid": "AllowCloudFrontServicePrincipalReadOnly", "Effect": "Allow",
                    "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{bucket}/*",
                    "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}}})


def identity_trust(identity_pool_id: str) -> dict:
    """Trust of an identity pool's authenticated role: web identities of this pool, signed in."""
    return _policy({
        "Effect": "Allow", "Principal": {"Federated": "cognito-identity.amazonaws.com"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {"cognito-identity.amazonaws.com:aud": identity_pool_id},
                      "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "authenticated"}}})


def own_prefix_policy(bucket: str) -> dict:
    """Each identity may list, read and write only under ``<bucket>/<its identity id>/``."""
    own = "${cognito-identity.amazonaws.com:sub}"
    return _policy(
        {"Sid": "ListOwnPrefix", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}",
         "Condition": {"StringLike": {"s3:prefix": [f"{own}/", f"{own}/*"]}}},
        {"Sid": "ReadWriteOwnPrefix", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
         "Resource": f"arn:aws:s3:::{bucket}/{own}/*"})
