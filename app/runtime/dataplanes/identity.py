"""Cognito identity pool data plane over an identity pool created in moto.

moto creates and describes identity pools, but its ``GetId`` returns a new identity on
every call without looking at the login, ``GetCredentialsForIdentity`` returns constant
fake keys, and ``SetIdentityPoolRoles`` is not implemented. :class:`IdentityPool` answers
those calls as AWS does, with the same names, arguments and response shapes:

- ``get_id``: the login token (a user-pool ID token) is verified as API Gateway's
  authorizer does (:mod:`.tokens`) against a provider the pool lists. The first time a
  user (provider + ``sub``) is seen, moto's ``GetId`` mints the identity (so it appears
  in ``ListIdentities``); afterwards the same identity id is returned;
- ``get_credentials_for_identity``: the login must verify again and belong to that
  identity; the authenticated role's trust policy must admit
  ``cognito-identity.amazonaws.com`` for this pool (``aud``) and ``amr``
  ``authenticated``, judged by :func:`.iam.evaluate`; then ``sts:AssumeRole`` against the
  backend returns real temporary credentials for the role, in the role's account;
- :meth:`IdentityPool.principal` gives the role session as an :class:`.iam.Principal`:
  the role's policies read from IAM and ``cognito-identity.amazonaws.com:sub`` = the
  identity id, so an :class:`.iam.S3Guard` enforces per-user prefixes.

Limitations: identity ids live as long as this object (moto keeps the identities, not
their logins); unauthenticated identities get a new id per call; only Cognito user
pools are supported as login providers; role mappings by token claims or rules are
not emulated; STS is called with ``AssumeRole`` (moto does not validate
``AssumeRoleWithWebIdentity`` tokens), so CloudTrail-style records would differ.
"""
from __future__ import annotations

import threading
from typing import Any, Mapping

from app.runtime.dataplanes import aws_error
from app.runtime.dataplanes.iam import Principal, evaluate, role_policies
from app.runtime.dataplanes.tokens import CognitoTokenVerifier, TokenError
from app.runtime.trace import Trace

SESSION_NAME = "CognitoIdentityCredentials"
COGNITO_IDENTITY = "cognito-identity.amazonaws.com"


class IdentityPool:
    """The data plane of one identity pool held in moto."""

    service = "cognito-identity"

    def __init__(self, cognito_identity_client, sts_client, iam_client, identity_pool_id: str, *,
                 verifier: CognitoTokenVerifier, trace: Trace | None = None,
                 authenticated_role_arn: str | None = None, duration_s: int = 3600) -> None:
        self.client = cognito_identity_client
        self.sts = sts_client
        self.iam = iam_client
        self.pool_id = identity_pool_id
        self.verifier = verifier
        self.trace = trace if trace is not None else Trace()
        self.duration_s = duration_s
        self.roles: dict[str, str] = {}
        if authenticated_role_arn:
            self.roles["authenticated"] = authenticated_role_arn
        self._ids: dict[tuple[str, str], str] = {}     # (provider, sub) -> identity id
        self._logins: dict[str, tuple[str, str]] = {}  # identity id -> (provider, sub)
        self._lock = threading.Lock()
        self.counters = {"new_identities": 0, "get_id": 0, "credentials": 0, "refused": 0}
        self._account_id: str | None = None
        # GetId is an unsigned call, so moto cannot tell the caller's account from the signature and
        # would look the pool up in its default account; moto reads the account from this header.
        self.client.meta.events.register("before-send.cognito-identity.GetId", self._name_account,
                                         unique_id="identity-pool-account-header")

    def _name_account(self, request, **_: Any) -> None:
        if self._account_id is None:
            self._account_id = self.sts.get_caller_identity()["Account"]
        request.headers["x-moto-account-id"] = self._account_id

    # -- roles (SetIdentityPoolRoles is missing from moto) ---------------------------------------
    def set_identity_pool_roles(self, IdentityPoolId: str, Roles: Mapping[str, str], **_: Any) -> dict:
        self._check_pool(IdentityPoolId, "SetIdentityPoolRoles")
        self.roles = dict(Roles)
        return {}

    def get_identity_pool_roles(self, IdentityPoolId: str) -> dict:
        self._check_pool(IdentityPoolId, "GetIdentityPoolRoles")
        return {"IdentityPoolId": self.pool_id, "Roles": dict(self.roles)}

    def _check_pool(self, pool_id: str, operation: str) -> dict:
        if pool_id != self.pool_id:
            raise aws_error("ResourceNotFoundException", f"IdentityPool '{pool_id}' not found.", operation)
        return self.client.describe_identity_pool(IdentityPoolId=pool_id)

    # -- GetId ------------------------------------------------------------------------------------
    def get_id(self, IdentityPoolId: str, Logins: Mapping[str, str] | None = None, AccountId: str | None = None) -> dict:
        with self.trace.span(self.service, "GetId", IdentityPoolId) as span:
            pool = self._check_pool(IdentityPoolId, "GetId")
            self.counters["get_id"] += 1
            if not Logins:
                if not pool.get("AllowUnauthenticatedIdentities"):
                    self.counters["refused"] += 1
                    span.status = "denied"
                    raise aws_error("NotAuthorizedException",
                                    "Unauthenticated access is not supported for this identity pool.", "GetId")
                return {"IdentityId": self.client.get_id(IdentityPoolId=IdentityPoolId)["IdentityId"]}
            provider, claims = self._verify(pool, Logins, "GetId", span)
            login = (provider, claims["sub"])
            with self._lock:
                identity_id = self._ids.get(login)
                if identity_id is None:
                    identity_id = self.client.get_id(IdentityPoolId=IdentityPoolId,
                                                     Logins=dict(Logins))["IdentityId"]
                    self._ids[login] = identity_id
                    self._logins[identity_id] = login
                    self.counters["new_identities"] += 1
                    span.detail["new_identity"] = True
            return {"IdentityId": identity_id}

    def _verify(self, pool: dict, logins: Mapping[str, str], operation: str, span) -> tuple[str, dict]:
        providers = {p["ProviderName"]: p.get("ClientId") for p in pool.get("CognitoIdentityProviders", [])}
        for provider, token in logins.items():
            if provider not in providers:
                continue
            try:
                claims = self.verifier.verify(token, pool_id=provider.rsplit("/", 1)[-1],
                                              client_ids=[providers[provider]] if providers[provider] else None)
            except TokenError as exc:
                span.detail["login"] = exc.reason
                break
            return provider, claims
        else:
            span.detail["login"] = "no login for a provider of this pool"
        self.counters["refused"] += 1
        span.status = "denied"
        raise aws_error("NotAuthorizedException", "Invalid login token.", operation)

    # -- GetCredentialsForIdentity ------------------------------------------------------------------
    def get_credentials_for_identity(self, IdentityId: str, Logins: Mapping[str, str] | None = None, **_: Any) -> dict:
        operation = "GetCredentialsForIdentity"
        with self.trace.span(self.service, operation, IdentityId) as span:
            login = self._logins.get(IdentityId)
            if login is None:
                raise aws_error("ResourceNotFoundException", f"Identity '{IdentityId}' not found.", operation)
            pool = self.client.describe_identity_pool(IdentityPoolId=self.pool_id)
            provider, claims = self._verify(pool, Logins or {}, operation, span)
            if (provider, claims["sub"]) != login:
                self.counters["refused"] += 1
                span.status = "denied"
                raise aws_error("NotAuthorizedException", "Logins don't match. Please include at least one valid "
                                                          "login for this identity or identity pool.", operation)
            role_arn = self.roles.get("authenticated")
            if not role_arn:
                raise aws_error("InvalidIdentityPoolConfigurationException",
                                "Invalid identity pool configuration. Check assigned IAM roles for this pool.",
                                operation)
            self._check_trust(role_arn, provider, operation)
            granted = self.sts.assume_role(RoleArn=role_arn, RoleSessionName=SESSION_NAME,
                                           DurationSeconds=self.duration_s)["Credentials"]
            self.counters["credentials"] += 1
            span.detail["role"] = role_arn
            return {"IdentityId": IdentityId,
                    "Credentials": {"AccessKeyId": granted["AccessKeyId"], "SecretKey": granted["SecretAccessKey"],
                                    "SessionToken": granted["SessionToken"], "Expiration": granted["Expiration"]}}

    def _check_trust(self, role_arn: str, provider: str, operation: str) -> None:
        trust = self.iam.get_role(RoleName=role_arn.rsplit("/", 1)[-1])["Role"]["AssumeRolePolicyDocument"]
        context = {f"{COGNITO_IDENTITY}:aud": self.pool_id,
                   f"{COGNITO_IDENTITY}:amr": ["authenticated", provider]}
        decision = evaluate([trust], "sts:AssumeRoleWithWebIdentity", role_arn, context,
                            caller={"Federated": COGNITO_IDENTITY})
        if not decision:
            raise aws_error("InvalidIdentityPoolConfigurationException",
                            "Invalid identity pool configuration. Check assigned IAM roles for this pool.", operation)

    # -- for the S3 guard -----------------------------------------------------------------------------
    def principal(self, identity_id: str) -> Principal:
        """The role session an identity's credentials act as, with the role's policies from IAM."""
        role_arn = self.roles["authenticated"]
        account, role_name = role_arn.split(":")[4], role_arn.rsplit("/", 1)[-1]
        provider = self._logins[identity_id][0]
        return Principal(f"arn:aws:sts::{account}:assumed-role/{role_name}/{SESSION_NAME}",
                         role_policies(self.iam, role_name),
                         {f"{COGNITO_IDENTITY}:sub": identity_id, f"{COGNITO_IDENTITY}:aud": self.pool_id,
                          f"{COGNITO_IDENTITY}:amr": ["authenticated", provider]})
