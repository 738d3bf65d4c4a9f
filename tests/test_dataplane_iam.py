"""IAM evaluation with policy variables and conditions, and the S3 guard against moto."""
from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError

from app.runtime.dataplanes.iam import PolicyError, Principal, S3Guard, evaluate, role_policies, s3_checks
from app.runtime.trace import Trace

SUB = "cognito-identity.amazonaws.com:sub"
PER_USER = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
         "Resource": "arn:aws:s3:::files/${cognito-identity.amazonaws.com:sub}/*"},
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::files",
         "Condition": {"StringLike": {"s3:prefix": ["${cognito-identity.amazonaws.com:sub}/*"]}}},
    ],
}


def test_policy_variable_scopes_each_user_to_own_prefix():
    alice = {SUB: "us-east-1:aaaa"}
    assert evaluate([PER_USER], "s3:PutObject", "arn:aws:s3:::files/us-east-1:aaaa/a.txt", alice)
    denied = evaluate([PER_USER], "s3:PutObject", "arn:aws:s3:::files/us-east-1:bbbb/a.txt", alice)
    assert not denied and denied.reason == "implicit deny"
    # Without the variable's value in the request, the statement matches nothing.
    assert not evaluate([PER_USER], "s3:PutObject", "arn:aws:s3:::files/us-east-1:aaaa/a.txt", {})


def test_list_bucket_prefix_condition():
    alice = {SUB: "us-east-1:aaaa"}
    assert evaluate([PER_USER], "s3:ListBucket", "arn:aws:s3:::files", {**alice, "s3:prefix": "us-east-1:aaaa/"})
    assert not evaluate([PER_USER], "s3:ListBucket", "arn:aws:s3:::files", {**alice, "s3:prefix": "us-east-1:bbbb/"})
    assert not evaluate([PER_USER], "s3:ListBucket", "arn:aws:s3:::files", {**alice, "s3:prefix": ""})


def test_explicit_deny_wins_across_policies_and_actions_ignore_case():
    allow_all = {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    deny_secret = {"Statement": {"Effect": "Deny", "Action": "S3:GetObject", "Resource": "arn:aws:s3:::b/secret/*"}}
    decision = evaluate([allow_all, deny_secret], "s3:GetObject", "arn:aws:s3:::b/secret/x")
    assert not decision and decision.reason == "explicit deny" and decision.statement["Effect"] == "Deny"
    assert evaluate([allow_all, deny_secret], "s3:GetObject", "arn:aws:s3:::b/public/x")
    assert evaluate([json.dumps(allow_all)], "s3:putobject", "arn:aws:s3:::b/k")


def test_not_action_and_wildcards_are_literal_except_star_and_question_mark():
    doc = {"Statement": [{"Effect": "Allow", "NotAction": "s3:DeleteObject", "Resource": "arn:aws:s3:::my.bucket/a?c"}]}
    assert evaluate([doc], "s3:GetObject", "arn:aws:s3:::my.bucket/abc")
    assert not evaluate([doc], "s3:DeleteObject", "arn:aws:s3:::my.bucket/abc")
    # "." is a literal dot, not "any character".
    assert not evaluate([doc], "s3:GetObject", "arn:aws:s3:::myXbucket/abc")


def test_username_variable_and_default_value():
    doc = {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                          "Resource": "arn:aws:s3:::home/${aws:username}/*"}]}
    bob = Principal("arn:aws:iam::123456789012:user/bob", [doc])
    assert evaluate(bob.policies, "s3:GetObject", "arn:aws:s3:::home/bob/x", bob.request_context())
    assert not evaluate(bob.policies, "s3:GetObject", "arn:aws:s3:::home/eve/x", bob.request_context())
    role = Principal("arn:aws:sts::123456789012:assumed-role/r/s", [doc])
    assert not evaluate(role.policies, "s3:GetObject", "arn:aws:s3:::home/s/x", role.request_context())
    with_default = {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                   "Resource": "arn:aws:s3:::home/${aws:username, 'guest'}/*"}]}
    assert evaluate([with_default], "s3:GetObject", "arn:aws:s3:::home/guest/x", role.request_context())


def test_bucket_policy_principal_and_source_arn_condition():
    dist = "arn:aws:cloudfront::123456789012:distribution/E1"
    doc = {"Statement": [{"Effect": "Allow", "Principal": {"Service": "cloudfront.amazonaws.com"},
                          "Action": "s3:GetObject", "Resource": "arn:aws:s3:::site/*",
                          "Condition": {"ArnEquals": {"AWS:SourceArn": dist}}}]}
    cf = {"Service": "cloudfront.amazonaws.com"}
    assert evaluate([doc], "s3:GetObject", "arn:aws:s3:::site/i.html", {"aws:SourceArn": dist}, caller=cf)
    assert not evaluate([doc], "s3:GetObject", "arn:aws:s3:::site/i.html", {"aws:SourceArn": dist + "X"}, caller=cf)
    assert not evaluate([doc], "s3:GetObject", "arn:aws:s3:::site/i.html", {}, caller=cf)
    assert not evaluate([doc], "s3:GetObject", "arn:aws:s3:::site/i.html", {"aws:SourceArn": dist},
                        caller={"AWS": "arn:aws:iam::123456789012:user/x"})
    assert not evaluate([doc], "s3:GetObject", "arn:aws:s3:::site/i.html", {"aws:SourceArn": dist})


def test_condition_operators():
    def allowed(condition, ctx):
        doc = {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": condition}]}
        return bool(evaluate([doc], "s3:GetObject", "arn:aws:s3:::b/k", ctx))

    assert allowed({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": "10.1.2.3"})
    assert not allowed({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": "192.168.1.1"})
    assert allowed({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": "192.168.1.1"})
    assert allowed({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": True})
    assert allowed({"StringEqualsIfExists": {"x:k": "v"}}, {})
    assert not allowed({"StringEquals": {"x:k": "v"}}, {})
    assert allowed({"StringNotEquals": {"x:k": "v"}}, {})
    assert allowed({"Null": {"x:k": "true"}}, {})
    assert not allowed({"Null": {"x:k": "true"}}, {"x:k": "v"})
    assert allowed({"NumericLessThan": {"x:n": "10"}}, {"x:n": 3})
    assert allowed({"ForAllValues:StringEquals": {"x:tags": ["a", "b"]}}, {"x:tags": ["a"]})
    assert not allowed({"ForAllValues:StringEquals": {"x:tags": ["a", "b"]}}, {"x:tags": ["a", "c"]})
    assert allowed({"ForAnyValue:StringEquals": {"x:tags": ["a", "b"]}}, {"x:tags": ["c", "b"]})
    # Two keys are ANDed, values of one key ORed; condition keys ignore case.
    both = {"StringEquals": {"x:a": ["1", "2"], "X:B": "3"}}
    assert allowed(both, {"x:a": "2", "x:b": "3"}) and not allowed(both, {"x:a": "2", "x:b": "4"})


def test_unsupported_elements_are_refused_not_ignored():
    with pytest.raises(PolicyError, match="DateLessThan"):
        evaluate([{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*",
                                  "Condition": {"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}}]}],
                 "s3:GetObject", "*")
    with pytest.raises(PolicyError, match="NotResource"):
        evaluate([{"Statement": [{"Effect": "Allow", "Action": "*", "NotResource": "x"}]}], "s3:GetObject", "*")


def test_s3_checks_map_operations_to_actions():
    assert s3_checks("ListObjectsV2", {"Bucket": "b", "Prefix": "p/"}) == [
        ("s3:ListBucket", "arn:aws:s3:::b", {"s3:prefix": "p/"})]
    assert s3_checks("HeadObject", {"Bucket": "b", "Key": "k"}) == [("s3:GetObject", "arn:aws:s3:::b/k", {})]
    copy = s3_checks("CopyObject", {"Bucket": "b", "Key": "k", "CopySource": "src/a/b.txt"})
    assert copy[1] == ("s3:GetObject", "arn:aws:s3:::src/a/b.txt", {})


@pytest.fixture
def bucket(aws):
    name = f"files-{uuid.uuid4().hex[:10]}"
    s3 = aws("s3")
    s3.create_bucket(Bucket=name)
    yield name
    for obj in s3.list_objects_v2(Bucket=name).get("Contents", []):
        s3.delete_object(Bucket=name, Key=obj["Key"])
    s3.delete_bucket(Bucket=name)


def _policy_for(bucket):
    return json.loads(json.dumps(PER_USER).replace("arn:aws:s3:::files", f"arn:aws:s3:::{bucket}"))


def test_s3_guard_allows_own_prefix_and_denies_other_prefix_before_the_call(aws, bucket):
    trace = Trace()
    alice = Principal("arn:aws:sts::123456789012:assumed-role/auth/CognitoIdentityCredentials",
                      [_policy_for(bucket)], {SUB: "us-east-1:aaaa"})
    guard = S3Guard(aws("s3"), alice, trace)
    guard.put_object(Bucket=bucket, Key="us-east-1:aaaa/note.txt", Body=b"mine")
    assert guard.get_object(Bucket=bucket, Key="us-east-1:aaaa/note.txt")["Body"].read() == b"mine"
    listed = guard.list_objects_v2(Bucket=bucket, Prefix="us-east-1:aaaa/")
    assert [o["Key"] for o in listed["Contents"]] == ["us-east-1:aaaa/note.txt"]

    with pytest.raises(ClientError) as exc:
        guard.put_object(Bucket=bucket, Key="us-east-1:bbbb/evil.txt", Body=b"x")
    err = exc.value.response
    assert err["Error"]["Code"] == "AccessDenied" and err["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "s3:PutObject" in err["Error"]["Message"] and "us-east-1:bbbb/evil.txt" in err["Error"]["Message"]
    with pytest.raises(ClientError):
        guard.list_objects_v2(Bucket=bucket, Prefix="us-east-1:bbbb/")
    # The denied write never reached S3: read back with an unguarded client.
    keys = [o["Key"] for o in aws("s3").list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys == ["us-east-1:aaaa/note.txt"]
    assert (guard.allowed, guard.denied) == (3, 2)
    denied = [s for s in trace.spans if s.status == "denied"]
    assert [s.operation for s in denied] == ["PutObject", "ListObjectsV2"]
    assert denied[0].detail["action"] == "s3:PutObject"


def test_s3_guard_covers_paginators_and_presigned_urls(aws, bucket):
    alice = Principal("arn:aws:sts::123456789012:assumed-role/auth/s", [_policy_for(bucket)], {SUB: "u1"})
    guard = S3Guard(aws("s3"), alice)
    with pytest.raises(ClientError):
        list(guard.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="u2/"))
    with pytest.raises(ClientError):
        guard.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "u2/x"})
    assert guard.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "u1/x"}).startswith("http")


def test_role_policies_read_back_from_iam(aws):
    iam = aws("iam")
    name = f"auth-{uuid.uuid4().hex[:8]}"
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))
    iam.put_role_policy(RoleName=name, PolicyName="files", PolicyDocument=json.dumps(PER_USER))
    managed = {"Version": "2012-10-17",
               "Statement": [{"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}]}
    arn = iam.create_policy(PolicyName=f"nodelete-{name}", PolicyDocument=json.dumps(managed))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=name, PolicyArn=arn)
    docs = role_policies(iam, name)
    assert docs == [PER_USER, managed]
    ctx = {SUB: "u1"}
    assert evaluate(docs, "s3:GetObject", "arn:aws:s3:::files/u1/a", ctx)
    assert evaluate(docs, "s3:DeleteObject", "arn:aws:s3:::files/u1/a", ctx).reason == "explicit deny"
