"""Cognito identity pool emulation: stable ids, verified logins, real STS credentials, per-user S3 prefix."""
from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError

from app.runtime.dataplanes.iam import S3Guard
from app.runtime.dataplanes.identity import IdentityPool
from app.runtime.dataplanes.tokens import CognitoTokenVerifier
from app.runtime.trace import Trace
from tests.dataplane_support import user_pool


def trust_policy(identity_pool_id):
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": "cognito-identity.amazonaws.com"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {"cognito-identity.amazonaws.com:aud": identity_pool_id},
                      "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "authenticated"}}}]}


@pytest.fixture(scope="module")
def world(moto_endpoint):
    import boto3
    kw = dict(endpoint_url=moto_endpoint, region_name="us-east-1", aws_access_key_id="testing",
              aws_secret_access_key="testing")
    idp, ci, iam, s3 = (boto3.client(s, **kw) for s in ("cognito-idp", "cognito-identity", "iam", "s3"))
    suffix = uuid.uuid4().hex[:8]
    pool, client_id, signed_in = user_pool(idp, f"users-{suffix}", ("alice", "bob"))
    tokens = {user: result["IdToken"] for user, result in signed_in.items()}
    provider = f"cognito-idp.us-east-1.amazonaws.com/{pool['Id']}"
    identity_pool_id = ci.create_identity_pool(
        IdentityPoolName=f"files{suffix}", AllowUnauthenticatedIdentities=False,
        CognitoIdentityProviders=[{"ProviderName": provider, "ClientId": client_id}])["IdentityPoolId"]
    bucket = f"files-{suffix}"
    s3.create_bucket(Bucket=bucket)
    role = f"files-auth-{suffix}"
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust_policy(identity_pool_id))
                               )["Role"]["Arn"]
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
         "Resource": f"arn:aws:s3:::{bucket}/${{cognito-identity.amazonaws.com:sub}}/*"}]}
    iam.put_role_policy(RoleName=role, PolicyName="own-prefix", PolicyDocument=json.dumps(policy))
    return {"ci": ci, "iam": iam, "sts": boto3.client("sts", **kw), "s3": s3, "idp": idp, "tokens": tokens,
            "provider": provider, "identity_pool_id": identity_pool_id, "role_arn": role_arn, "bucket": bucket,
            "endpoint": moto_endpoint, "pool": pool, "client_id": client_id, "policy": policy}


def make_pool(world, **kwargs):
    kwargs.setdefault("authenticated_role_arn", world["role_arn"])
    return IdentityPool(world["ci"], world["sts"], world["iam"], world["identity_pool_id"],
                        verifier=CognitoTokenVerifier(world["endpoint"]), **kwargs)


def login(world, user):
    return {world["provider"]: world["tokens"][user]}


def test_get_id_is_stable_per_user_and_recorded_in_moto(world):
    pool = make_pool(world)
    pid = world["identity_pool_id"]
    alice = pool.get_id(IdentityPoolId=pid, Logins=login(world, "alice"))["IdentityId"]
    assert pool.get_id(IdentityPoolId=pid, Logins=login(world, "alice"))["IdentityId"] == alice
    bob = pool.get_id(IdentityPoolId=pid, Logins=login(world, "bob"))["IdentityId"]
    assert bob != alice and alice.startswith("us-east-1:")
    listed = {i["IdentityId"] for i in world["ci"].list_identities(IdentityPoolId=pid, MaxResults=60)["Identities"]}
    assert {alice, bob} <= listed
    assert pool.counters["new_identities"] == 2


@pytest.mark.parametrize("logins", [
    None,
    {"cognito-idp.us-east-1.amazonaws.com/us-east-1_unknown": "x"},
    "forged",
])
def test_get_id_refuses_bad_logins(world, logins):
    if logins == "forged":
        token = world["tokens"]["alice"]
        logins = {world["provider"]: token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")}
    pool = make_pool(world)
    with pytest.raises(ClientError) as exc:
        pool.get_id(IdentityPoolId=world["identity_pool_id"], Logins=logins)
    assert exc.value.response["Error"]["Code"] == "NotAuthorizedException"
    with pytest.raises(ClientError) as exc:
        pool.get_id(IdentityPoolId="us-east-1:00000000-0000-0000-0000-000000000000", Logins=login(world, "alice"))
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_credentials_are_real_sts_credentials_for_the_role(world):
    import boto3
    trace = Trace()
    pool = make_pool(world, trace=trace)
    identity = pool.get_id(IdentityPoolId=world["identity_pool_id"], Logins=login(world, "alice"))["IdentityId"]
    result = pool.get_credentials_for_identity(IdentityId=identity, Logins=login(world, "alice"))
    creds = result["Credentials"]
    assert result["IdentityId"] == identity and set(creds) == {"AccessKeyId", "SecretKey", "SessionToken",
                                                                "Expiration"}
    sts = boto3.client("sts", endpoint_url=world["endpoint"], region_name="us-east-1",
                       aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretKey"],
                       aws_session_token=creds["SessionToken"])
    caller = sts.get_caller_identity()
    role_name = world["role_arn"].rsplit("/", 1)[-1]
    assert caller["Account"] == world["role_arn"].split(":")[4]
    assert caller["Arn"].endswith(f":assumed-role/{role_name}/CognitoIdentityCredentials")
    assert [s.operation for s in trace.spans] == ["GetId", "GetCredentialsForIdentity"]


def test_credentials_refused_for_someone_elses_identity_and_untrusted_role(world):
    pool = make_pool(world)
    pid = world["identity_pool_id"]
    alice = pool.get_id(IdentityPoolId=pid, Logins=login(world, "alice"))["IdentityId"]
    with pytest.raises(ClientError) as exc:
        pool.get_credentials_for_identity(IdentityId=alice, Logins=login(world, "bob"))
    assert exc.value.response["Error"]["Code"] == "NotAuthorizedException"
    # A role whose trust policy names another identity pool cannot be assumed through this one.
    iam = world["iam"]
    other = f"other-{uuid.uuid4().hex[:6]}"
    other_arn = iam.create_role(RoleName=other, AssumeRolePolicyDocument=json.dumps(
        trust_policy("us-east-1:11111111-2222-3333-4444-555555555555")))["Role"]["Arn"]
    pool.set_identity_pool_roles(IdentityPoolId=pid, Roles={"authenticated": other_arn})
    assert pool.get_identity_pool_roles(IdentityPoolId=pid)["Roles"] == {"authenticated": other_arn}
    with pytest.raises(ClientError) as exc:
        pool.get_credentials_for_identity(IdentityId=alice, Logins=login(world, "alice"))
    assert exc.value.response["Error"]["Code"] == "InvalidIdentityPoolConfigurationException"
    no_role = make_pool(world, authenticated_role_arn=None)
    alice = no_role.get_id(IdentityPoolId=pid, Logins=login(world, "alice"))["IdentityId"]
    with pytest.raises(ClientError) as exc:
        no_role.get_credentials_for_identity(IdentityId=alice, Logins=login(world, "alice"))
    assert exc.value.response["Error"]["Code"] == "InvalidIdentityPoolConfigurationException"


def test_each_user_writes_only_under_their_identity_prefix(world):
    import boto3
    pool = make_pool(world)
    pid, bucket = world["identity_pool_id"], world["bucket"]
    ids, guards = {}, {}
    for user in ("alice", "bob"):
        ids[user] = pool.get_id(IdentityPoolId=pid, Logins=login(world, user))["IdentityId"]
        creds = pool.get_credentials_for_identity(IdentityId=ids[user], Logins=login(world, user))["Credentials"]
        s3 = boto3.client("s3", endpoint_url=world["endpoint"], region_name="us-east-1",
                          aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretKey"],
                          aws_session_token=creds["SessionToken"])
        principal = pool.principal(ids[user])
        assert principal.policies == [world["policy"]]          # the document shown is the one that decides
        guards[user] = S3Guard(s3, principal)
    guards["alice"].put_object(Bucket=bucket, Key=f"{ids['alice']}/todo.txt", Body=b"alice")
    assert guards["alice"].get_object(Bucket=bucket, Key=f"{ids['alice']}/todo.txt")["Body"].read() == b"alice"
    with pytest.raises(ClientError) as exc:
        guards["alice"].put_object(Bucket=bucket, Key=f"{ids['bob']}/todo.txt", Body=b"not yours")
    assert exc.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError):
        guards["bob"].get_object(Bucket=bucket, Key=f"{ids['alice']}/todo.txt")
    keys = [o["Key"] for o in world["s3"].list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == [f"{ids['alice']}/todo.txt"]
