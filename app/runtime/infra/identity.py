"""Identity: IAM roles, Cognito user pools and identity pools, and the policy documents they carry."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from app.core import facts
from app.runtime.infra.base import Builders, policy_document as _policy


ASSUME = "sts:AssumeRole"


def service_trust(service: str) -> dict:
    """A trust policy letting an AWS service (``dax.amazonaws.com``...) assume the role."""
    return _policy({"Effect": "Allow", "Principal": {"Service": service}, "Action": ASSUME})


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


class IdentityBuilders(Builders):
    """Builders of roles, user pools and identity pools."""

    def role(self, base: str, trust: Mapping[str, Any], policies: Mapping[str, Mapping[str, Any]] | None = None) -> str:
        """A role with a trust policy and inline policies; returns its ARN."""
        iam = self._client("iam")
        name = self.ctx.name(base)
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        for policy_name, document in (policies or {}).items():
            iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(document))
        return arn

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
