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
from urllib.parse import parse_qs, urlsplit

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

    def rest_api(self, rest_api_id: str, stage: str, *, region: str | None = None, invoke=None,
                 **options: Any) -> RestApiInvoker:
        """Requests to a stage of a REST API the session created; the session's functions serve them
        (or ``invoke(name, event)``, for functions deployed elsewhere, such as another region)."""
        lambdas = self.session.lambdas
        return RestApiInvoker(self._client("apigateway", region), rest_api_id, stage,
                              invoke or (lambda name, event: lambdas.invoke(name, event, source="apigateway")),
                              verifier=self.verifier, cognito_client=self._client("cognito-idp", region),
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

    def anonymous_s3_get(self, bucket: str, key: str, *, detail: Mapping[str, Any] | None = None):
        """An unsigned GET of ``s3://bucket/key``, as a browser makes it: ``(status, body, decision)``.

        The bucket policy is evaluated for the anonymous caller (moto does not enforce bucket
        policies); when it allows, the object is fetched over HTTP. AWS finds a bucket by its name;
        moto keeps buckets per account and refuses unsigned cross-account reads, so the request
        names the owner's account in moto's header."""
        import json

        from app.runtime import http
        from app.runtime.dataplanes.iam import evaluate

        clients = self.session.clients
        from botocore.exceptions import ClientError

        try:
            policy = json.loads(self._client("s3").get_bucket_policy(Bucket=bucket)["Policy"])
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "NoSuchBucketPolicy":
                raise
            policy = {"Version": "2012-10-17", "Statement": []}     # no policy: nothing admits the caller
        endpoint = clients.endpoint_url
        url = f"{endpoint}/{bucket}/{key}" if endpoint else f"https://{bucket}.s3.{clients.region}.amazonaws.com/{key}"
        headers = self._account_header()
        with self.session.trace.span("s3", "GET (anonymous HTTP)", f"{bucket}/{key}", detail=dict(detail or {})) as span:
            decision = evaluate([policy], "s3:GetObject", f"arn:aws:s3:::{bucket}/{key}", caller={"AWS": "*"})
            span.detail["bucket_policy"] = decision.reason
            if decision:
                status, body, _ = http.request("GET", url, headers=headers)
            else:
                status, body = 403, b"<Error><Code>AccessDenied</Code></Error>"
                span.status = "denied"
            span.payload_bytes = len(body)
            span.detail["status_code"] = status
        return status, body, decision

    def presigned_request(self, method: str, url: str, data: bytes | None = None,
                          headers: Mapping[str, str] | None = None) -> tuple[int, bytes, dict]:
        """Call an S3 pre-signed URL over HTTP, as a browser or a mobile app would.

        On AWS the URL alone finds the bucket. moto keeps buckets per account and reads the
        account of a Signature Version 4 query signature from no part of the URL, so on the
        embedded backend the request also names the owner's account in moto's header."""
        from app.runtime import http

        return http.request(method, url, data=data, headers={**(headers or {}), **self._account_header()})

    def presigned_upload(self, url: str, data: bytes, content_type: str, *, resource: str,
                         detail: Mapping[str, Any] | None = None) -> tuple[int, bytes]:
        """PUT ``data`` to an S3 pre-signed URL over HTTP (:meth:`presigned_request`) in a span of ``resource``
        recording the status code, the URL's host and ``detail``; an answer other than 200 marks it an error.
        Returns the status and the body."""
        with self.session.trace.span("s3", "PUT (pre-signed URL over HTTP)", resource, payload_bytes=len(data)) as span:
            status, body, _ = self.presigned_request("PUT", url, data=data, headers={"Content-Type": content_type})
            span.detail.update(status_code=status, url_host=urlsplit(self.aws_url(url)).netloc, **(detail or {}))
            if status != 200:
                span.status = "error"
        return status, body

    def aws_url(self, url: str) -> str:
        """``url`` as AWS hands it out, for what a run shows. A pre-signed S3 URL of the embedded server is
        path-style on the server's own address and port, which nothing shown may name; AWS's names the
        bucket's host in the region the URL is signed for (``https://BUCKET.s3.REGION.amazonaws.com/KEY?...``,
        the same path and query). Any other URL (AWS's own, a CloudFront domain) is returned as it is."""
        endpoint = self.session.clients.endpoint_url
        parts = urlsplit(url)
        if not endpoint or parts.netloc != urlsplit(endpoint).netloc:
            return url
        bucket, _, key = parts.path.lstrip("/").partition("/")
        scope = parse_qs(parts.query).get("X-Amz-Credential", [""])[0].split("/")
        region = scope[2] if len(scope) > 2 and scope[2] else self.session.region
        return f"https://{bucket}.s3.{region}.amazonaws.com/{key}" + (f"?{parts.query}" if parts.query else "")

    def _account_header(self) -> dict[str, str]:
        """On the embedded backend, the header naming the bucket owner's account (see the two calls above)."""
        clients = self.session.clients
        return {"x-moto-account-id": clients.account_id} if clients.endpoint_url else {}
