"""The emulated data planes built for one runtime session's account.

``session.dataplanes`` (a :class:`DataPlanes`) hands out the components of this package bound to a
:class:`~app.runtime.session.RuntimeSession`: its clients (so every backend call they
make is traced and confined to the session's account), its trace, and its in-process
Lambda functions::

    planes = session.dataplanes
    dax = planes.dax("todos", endpoint="dax://todos.abc.dax-clusters.us-east-1.amazonaws.com:8111")
    api = planes.rest_api(api_id, "prod", cache_key_parameters={"GET /todos/{id}": ["method.request.path.id"]})
    edge = planes.cloudfront(distribution_id)
    ids = planes.identity_pool(identity_pool_id, authenticated_role_arn=role_arn)
    s3 = planes.s3_for_identity(ids, identity_id, credentials)   # the user's S3 client, policy-guarded
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from app.runtime.dataplanes.apigateway import RestApiInvoker
from app.runtime.dataplanes.cloudfront import CloudFrontEdge
from app.runtime.dataplanes.dax import DaxClient
from app.runtime.dataplanes.iam import S3Guard
from app.runtime.dataplanes.identity import IdentityPool
from app.runtime.dataplanes.tokens import CognitoTokenVerifier

if TYPE_CHECKING:
    from app.runtime.session import RuntimeSession


class DataPlanes:
    def __init__(self, session: "RuntimeSession") -> None:
        self.session = session
        self.verifier = CognitoTokenVerifier(session.clients.endpoint_url)

    def _client(self, service: str, region: str | None = None):
        return self.session.clients.client(service, region)

    def dax(self, cluster_name: str = "dax", *, endpoint: str | None = None, region: str | None = None,
            **options: Any) -> DaxClient:
        """A DAX cluster in front of the session's DynamoDB; with ``endpoint``, handlers reach it by that name."""
        dax = DaxClient(self._client("dynamodb", region), trace=self.session.trace, cluster_name=cluster_name,
                        **options)
        if endpoint:
            from app.runtime.dataplanes.endpoints import bind
            bind(self.session.clients, endpoint, dax)
        return dax

    def rest_api(self, rest_api_id: str, stage: str, **options: Any) -> RestApiInvoker:
        """Requests to a stage of a REST API the session created; the session's functions serve them."""
        lambdas = self.session.lambdas
        return RestApiInvoker(self._client("apigateway"), rest_api_id, stage,
                              lambda name, event: lambdas.invoke(name, event, source="apigateway"),
                              verifier=self.verifier, cognito_client=self._client("cognito-idp"),
                              trace=self.session.trace, **options)

    def cloudfront(self, distribution_id: str, **options: Any) -> CloudFrontEdge:
        return CloudFrontEdge(self._client("cloudfront"), self._client("s3"), distribution_id,
                              trace=self.session.trace, **options)

    def identity_pool(self, identity_pool_id: str, **options: Any) -> IdentityPool:
        return IdentityPool(self._client("cognito-identity"), self._client("sts"), self._client("iam"),
                            identity_pool_id, verifier=self.verifier, trace=self.session.trace, **options)

    def s3_for_identity(self, pool: IdentityPool, identity_id: str, credentials: Mapping[str, Any]) -> S3Guard:
        """An S3 client signed with an identity's temporary credentials, its role's policy checked per request."""
        from app.runtime.clients import Clients

        own = Clients(account_id=self.session.account_id, region=self.session.region,
                      access_key=credentials["AccessKeyId"], secret_key=credentials["SecretKey"],
                      session_token=credentials["SessionToken"], endpoint_url=self.session.clients.endpoint_url)
        return S3Guard(own.client("s3"), pool.principal(identity_id), trace=self.session.trace)
