"""IAM policy evaluation where moto cannot, and an S3 client that enforces it.

moto can enforce IAM only process-wide, never substitutes policy variables such as
``${cognito-identity.amazonaws.com:sub}`` and ignores conditions. Here the documents a
user is shown are evaluated as written, per request:

1. policy variables in ``Resource`` and in condition values are replaced by the request's
   values (``${aws:username}``, ``${aws:userid}``, ``${aws:PrincipalAccount}``,
   ``${cognito-identity.amazonaws.com:sub}``, any key given in the context, and the
   literal escapes ``${*}``, ``${?}``, ``${$}``). A variable whose key the request lacks
   makes that resource or condition value match nothing, as on AWS; a default written
   as ``${key, 'value'}`` is honoured;
2. ``Principal`` (for resource policies such as a bucket policy) and ``Condition`` are
   checked here. Supported condition operators: String(Not)Equals(IgnoreCase),
   String(Not)Like, Arn(Not)Equals, Arn(Not)Like, Bool, Null, Numeric*, (Not)IpAddress,
   each with the ``...IfExists`` suffix and the ``ForAnyValue:``/``ForAllValues:``
   prefixes. Any other operator raises :class:`PolicyError` instead of being ignored;
3. ``Action``/``NotAction`` and ``Resource`` are then matched by moto's own evaluator
   (``moto.iam.access_control.IAMPolicy``), one statement at a time;
4. an explicit ``Deny`` anywhere wins over every ``Allow``; without an ``Allow`` the
   request is implicitly denied.

Limitations: ``NotResource`` and ``NotPrincipal`` raise :class:`PolicyError`; date
condition operators are not supported; a ``*`` or ``?`` inside a substituted value acts
as a wildcard; service control policies, permission boundaries and session policies
are not part of the evaluation.
"""
from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from moto.iam.access_control import IAMPolicy, PermissionResult

from app.runtime.dataplanes import aws_error
from app.runtime.trace import Span, Trace


class PolicyError(ValueError):
    """A policy uses an element or operator this evaluator does not support."""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str                       # "allowed", "explicit deny", "implicit deny"
    statement: dict | None = None     # the statement that decided, as written

    def __bool__(self) -> bool:
        return self.allowed


@dataclass
class Principal:
    """Who is calling: an ARN, the identity policies attached to them, and request-context values.

    ``context`` holds condition keys and policy-variable values, e.g.
    ``{"cognito-identity.amazonaws.com:sub": "us-east-1:1f0e..."}``; ``aws:username``,
    ``aws:userid`` and ``aws:PrincipalAccount`` are derived from the ARN when absent.
    """

    arn: str
    policies: list[dict] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def account_id(self) -> str:
        return self.arn.split(":")[4]

    def request_context(self) -> dict[str, Any]:
        name = self.arn.rsplit("/", 1)[-1]
        derived = {"aws:PrincipalAccount": self.account_id, "aws:PrincipalArn": self.arn, "aws:userid": name}
        if ":user/" in self.arn:
            derived["aws:username"] = name
        return {**derived, **self.context}


# -- evaluation --------------------------------------------------------------------------
def evaluate(policies: Iterable[Mapping | str], action: str, resource: str, context: Mapping[str, Any] | None = None,
             caller: Mapping[str, Any] | None = None) -> Decision:
    """Decide ``action`` on ``resource`` under ``policies`` (documents as dicts or JSON text).

    ``caller`` is the requesting principal for resource-based policies, as a
    Principal element would name it: ``{"Service": "cloudfront.amazonaws.com"}`` or
    ``{"AWS": "arn:aws:iam::123456789012:role/x"}``. Statements with a ``Principal``
    never match when ``caller`` is None.
    """
    ctx = {k.lower(): v for k, v in (context or {}).items()}
    allowing = None
    for doc in policies:
        doc = json.loads(doc) if isinstance(doc, str) else doc
        statements = doc.get("Statement", [])
        for statement in statements if isinstance(statements, list) else [statements]:
            effect = _statement_effect(statement, action, resource, ctx, caller)
            if effect == "Deny":
                return Decision(False, "explicit deny", statement)
            if effect == "Allow" and allowing is None:
                allowing = statement
    if allowing is not None:
        return Decision(True, "allowed", allowing)
    return Decision(False, "implicit deny")


def _statement_effect(st: Mapping, action: str, resource: str, ctx: dict, caller: Mapping | None) -> str | None:
    """The statement's Effect when it applies to this request, else None."""
    for unsupported in ("NotResource", "NotPrincipal"):
        if unsupported in st:
            raise PolicyError(f"{unsupported} is not supported by this evaluator")
    if "Principal" in st and not _principal_matches(st["Principal"], caller):
        return None
    if not _conditions_hold(st.get("Condition", {}), ctx):
        return None
    resources = st.get("Resource", "*")
    patterns = [p for p in map(lambda r: _substitute(r, ctx), _as_list(resources)) if p is not None]
    if not patterns:
        return None
    bare = {"Effect": st["Effect"], "Resource": [_moto_pattern(p) for p in patterns]}
    for key in ("Action", "NotAction"):
        if key in st:
            bare[key] = [a.lower() for a in _as_list(st[key])]
    verdict = IAMPolicy(json.dumps({"Version": "2012-10-17", "Statement": [bare]})).is_action_permitted(
        action.lower(), resource)
    if verdict == PermissionResult.NEUTRAL:
        return None
    return st["Effect"]


def _principal_matches(element: Any, caller: Mapping | None) -> bool:
    if element == "*":
        return True
    if caller is None:
        return False
    for kind, wanted in element.items():
        for value in _as_list(wanted):
            got = caller.get(kind)
            if value == "*" or value == got:
                return True
            if kind == "AWS" and got and (value == got.split(":")[4]
                                         or value == f"arn:aws:iam::{got.split(':')[4]}:root"):
                return True
    return False


# -- policy variables ----------------------------------------------------------------------
_VARIABLE = re.compile(r"\$\{([^}]+)\}")
_LITERALS = {"*": "*", "?": "?", "$": "$"}


def _substitute(text: str, ctx: Mapping[str, Any]) -> str | None:
    """``text`` with its policy variables replaced; None when a variable has no value."""
    missing = False

    def replace(m: re.Match) -> str:
        nonlocal missing
        name, _, default = m.group(1).partition(",")
        name = name.strip()
        if name in _LITERALS:
            return _LITERALS[name]
        value = ctx.get(name.lower())
        if value is None and default.strip():
            value = default.strip().strip("'")
        if value is None:
            missing = True
            return ""
        return str(value)

    out = _VARIABLE.sub(replace, text)
    return None if missing else out


# -- conditions ----------------------------------------------------------------------------
def wildcard(pattern: str) -> re.Pattern:
    """A compiled pattern where ``*`` matches any run of characters and ``?`` one character."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern) + r"\Z",
                      re.DOTALL)


def _moto_pattern(pattern: str) -> str:
    """A Resource pattern for moto's matcher, which turns ``*`` into ``.*`` but escapes nothing else."""
    return "".join(c if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)


def ip_in(value: str, cidr: str) -> bool:
    """Whether the address ``value`` lies in the network ``cidr`` (False for malformed input)."""
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False


def _number(a: str, b: str, op: Callable[[float, float], bool]) -> bool:
    try:
        return op(float(a), float(b))
    except ValueError:
        return False


_MATCHERS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda v, p: v == p,
    "StringEqualsIgnoreCase": lambda v, p: v.lower() == p.lower(),
    "StringLike": lambda v, p: bool(wildcard(p).match(v)),
    "ArnEquals": lambda v, p: bool(wildcard(p).match(v)),
    "ArnLike": lambda v, p: bool(wildcard(p).match(v)),
    "Bool": lambda v, p: v.lower() == p.lower(),
    "IpAddress": ip_in,
    "NumericEquals": lambda v, p: _number(v, p, float.__eq__),
    "NumericLessThan": lambda v, p: _number(v, p, float.__lt__),
    "NumericLessThanEquals": lambda v, p: _number(v, p, float.__le__),
    "NumericGreaterThan": lambda v, p: _number(v, p, float.__gt__),
    "NumericGreaterThanEquals": lambda v, p: _number(v, p, float.__ge__),
}
_NEGATED = {"StringNotEquals": "StringEquals", "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
            "StringNotLike": "StringLike", "ArnNotEquals": "ArnEquals", "ArnNotLike": "ArnLike",
            "NotIpAddress": "IpAddress", "NumericNotEquals": "NumericEquals"}


def _conditions_hold(block: Mapping[str, Mapping[str, Any]], ctx: Mapping[str, Any]) -> bool:
    """Every operator and every key in the block must hold (values within one key are ORed)."""
    for operator, keys in block.items():
        for key, wanted in keys.items():
            if not _condition_holds(operator, key, _as_list(wanted), ctx):
                return False
    return True


def _condition_holds(operator: str, key: str, wanted: list, ctx: Mapping[str, Any]) -> bool:
    quantifier, _, op = operator.rpartition(":")
    if_exists = op.endswith("IfExists")
    op = op.removesuffix("IfExists")
    present = ctx.get(key.lower())
    if op == "Null":
        return (present is None) == (str(wanted[0]).lower() == "true")
    negated = op in _NEGATED
    matcher = _MATCHERS.get(_NEGATED.get(op, op))
    if matcher is None or quantifier not in ("", "ForAnyValue", "ForAllValues"):
        raise PolicyError(f"condition operator {operator} is not supported by this evaluator")
    if present is None:
        return if_exists or negated or quantifier == "ForAllValues"
    patterns = [p for p in (_substitute(str(w), ctx) for w in wanted) if p is not None]
    values = [str(v) for v in _as_list(present)]

    def value_matches(v: str) -> bool:
        hit = any(matcher(v, p) for p in patterns)
        return not hit if negated else hit

    if quantifier == "ForAllValues":
        return all(value_matches(v) for v in values)
    return any(value_matches(v) for v in values)


def _as_list(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


# -- reading policies from IAM --------------------------------------------------------------
def role_policies(iam_client, role_name: str) -> list[dict]:
    """The inline and attached managed policy documents of a role, as stored in IAM."""
    docs = []
    for name in iam_client.list_role_policies(RoleName=role_name)["PolicyNames"]:
        docs.append(_document(iam_client.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]))
    for attached in iam_client.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]:
        policy = iam_client.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
        version = iam_client.get_policy_version(PolicyArn=attached["PolicyArn"],
                                                VersionId=policy["DefaultVersionId"])["PolicyVersion"]
        docs.append(_document(version["Document"]))
    return docs


def _document(doc: Any) -> dict:
    """boto3 decodes IAM's URL-encoded documents into dicts; accept JSON text too."""
    return json.loads(doc) if isinstance(doc, str) else doc


# -- S3 guard ------------------------------------------------------------------------------
_S3_ACTIONS = {"ListObjectsV2": "ListBucket", "ListObjects": "ListBucket", "HeadBucket": "ListBucket",
               "HeadObject": "GetObject", "ListObjectVersions": "ListBucketVersions",
               "ListBuckets": "ListAllMyBuckets", "CopyObject": "PutObject", "DeleteObjects": "DeleteObject",
               "CreateMultipartUpload": "PutObject", "UploadPart": "PutObject",
               "CompleteMultipartUpload": "PutObject", "AbortMultipartUpload": "AbortMultipartUpload"}


class S3Guard:
    """An S3 client that evaluates the principal's policies before every request it sends.

    The check is registered on the client's ``before-parameter-build`` event, so it also
    covers paginators, waiters, managed transfers and presigned URLs (decided when the
    URL is made, with the signer's policies, which is what AWS decides when it is used
    while the policies are unchanged). A denied request raises ``ClientError``
    ``AccessDenied`` (HTTP 403) and never reaches S3. Attribute access falls through to
    the wrapped client, so the guard is used wherever an S3 client is.

    The wrapped client should be dedicated to this principal (for instance made from
    the principal's STS credentials): the check is installed on it.
    """

    def __init__(self, s3_client, principal: Principal, trace: Trace | None = None) -> None:
        self.client = s3_client
        self.principal = principal
        self.trace = trace
        self.allowed = 0
        self.denied = 0
        self.last_denial: dict | None = None
        s3_client.meta.events.register("before-parameter-build.s3", self._check)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def authorize(self, operation: str, params: Mapping[str, Any]) -> tuple[Decision, str, str]:
        """(decision, action, resource) for one S3 operation with these parameters; no call is made.

        An operation touching several objects (DeleteObjects, CopyObject's source) is
        allowed only when every object is; the first refused one is reported.
        """
        ctx = self.principal.request_context()
        decision, action, resource = Decision(False, "implicit deny"), "", ""
        for action, resource, extra in s3_checks(operation, params):
            decision = evaluate(self.principal.policies, action, resource, {**ctx, **extra})
            if not decision:
                break
        return decision, action, resource

    def _check(self, params: dict, model, **_: Any) -> None:
        decision, action, resource = self.authorize(model.name, params)
        if decision:
            self.allowed += 1
            return
        self.denied += 1
        self.last_denial = {"operation": model.name, "action": action, "resource": resource,
                            "reason": decision.reason}
        if self.trace is not None:
            self.trace.add(Span(service="s3", operation=model.name, resource=resource, status="denied",
                                step=self.trace.current_step, detail=dict(self.last_denial)))
        why = ("an explicit deny in an identity-based policy" if decision.reason == "explicit deny"
               else f"no identity-based policy allows the {action} action")
        raise aws_error("AccessDenied", f"User: {self.principal.arn} is not authorized to perform: {action} "
                                        f"on resource: \"{resource}\" because {why}", model.name, 403)


def s3_checks(operation: str, params: Mapping[str, Any]) -> list[tuple[str, str, dict]]:
    """The (IAM action, resource ARN, condition keys) an S3 operation must be allowed."""
    action = "s3:" + _S3_ACTIONS.get(operation, operation)
    bucket = params.get("Bucket")
    if bucket is None:
        return [(action, "*", {})]
    if action == "s3:ListBucket":
        context = {"s3:prefix": params.get("Prefix", "")}
        if "Delimiter" in params:
            context["s3:delimiter"] = params["Delimiter"]
        return [(action, f"arn:aws:s3:::{bucket}", context)]
    if operation == "DeleteObjects":
        return [(action, f"arn:aws:s3:::{bucket}/{o['Key']}", {}) for o in params["Delete"]["Objects"]]
    if "Key" not in params:
        return [(action, f"arn:aws:s3:::{bucket}", {})]
    checks = [(action, f"arn:aws:s3:::{bucket}/{params['Key']}", {})]
    if operation == "CopyObject":
        source = params["CopySource"]
        if isinstance(source, str):
            source = dict(zip(("Bucket", "Key"), source.lstrip("/").split("?")[0].split("/", 1)))
        checks.append(("s3:GetObject", f"arn:aws:s3:::{source['Bucket']}/{source['Key']}", {}))
    return checks
