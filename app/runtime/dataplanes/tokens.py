"""Cognito user-pool tokens (RS256 JWTs), verified as API Gateway and identity pools do.

The signature is checked against the pool's JSON Web Key Set, served by moto at
``{endpoint}/{pool_id}/.well-known/jwks.json`` and by AWS at
``https://cognito-idp.{region}.amazonaws.com/{pool_id}/.well-known/jwks.json``; then
the issuer, the audience (``aud`` of an ID token, ``client_id`` of an access token),
``token_use`` and the expiry. Expiry is judged by an injectable clock so it can be
tested without waiting an hour. Limitations: keys are fetched once per pool and cached
for the verifier's life (moto serves one fixed key); no revocation check.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable, Collection

import jwt


class TokenError(Exception):
    """A token that must be refused; ``reason`` says why (``missing``, ``expired``, ...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def pool_region(pool_id: str) -> str:
    return pool_id.split("_", 1)[0]


def pool_id_from_arn(arn: str) -> str:
    """``arn:aws:cognito-idp:us-east-1:123:userpool/us-east-1_abc`` -> ``us-east-1_abc``."""
    return arn.rsplit("/", 1)[-1]


def issuer(pool_id: str) -> str:
    return f"https://cognito-idp.{pool_region(pool_id)}.amazonaws.com/{pool_id}"


class CognitoTokenVerifier:
    """``verify(token, pool_id=..., client_ids=..., token_use=...)`` -> the token's claims, or TokenError.

    ``endpoint_url`` is the moto server's URL, or None for AWS. A token whose signature
    was verified is remembered (up to ``MAX_REMEMBERED``), so the RSA check runs once per
    token; expiry, issuer, audience and ``token_use`` are checked on every call.
    """

    MAX_REMEMBERED = 4096

    def __init__(self, endpoint_url: str | None = None, clock: Callable[[], float] = time.time,
                 leeway_s: float = 0.0) -> None:
        self.endpoint_url = endpoint_url.rstrip("/") if endpoint_url else None
        self.clock = clock
        self.leeway_s = leeway_s
        self._clients: dict[str, jwt.PyJWKClient] = {}
        self._lock = threading.Lock()
        self._verified: dict[tuple[str, str], dict] = {}   # signature already checked; claims still are

    def jwks_url(self, pool_id: str) -> str:
        base = self.endpoint_url or f"https://cognito-idp.{pool_region(pool_id)}.amazonaws.com"
        return f"{base}/{pool_id}/.well-known/jwks.json"

    def _signing_key(self, token: str, pool_id: str) -> Any:
        with self._lock:
            client = self._clients.get(pool_id)
            if client is None:
                client = self._clients[pool_id] = jwt.PyJWKClient(self.jwks_url(pool_id), cache_keys=True)
        try:
            return client.get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientError as exc:
            raise TokenError("unknown signing key") from exc
        except jwt.DecodeError as exc:
            raise TokenError("malformed") from exc

    def _check_signature(self, token: str, pool_id: str) -> dict[str, Any]:
        key = self._signing_key(token, pool_id)
        try:
            claims = jwt.decode(token, key, algorithms=["RS256"],
                                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False,
                                         "verify_aud": False, "verify_iss": False, "require": ["exp", "iss"]})
        except jwt.InvalidSignatureError as exc:
            raise TokenError("bad signature") from exc
        except jwt.PyJWTError as exc:
            raise TokenError("malformed") from exc
        with self._lock:
            if len(self._verified) >= self.MAX_REMEMBERED:
                self._verified.pop(next(iter(self._verified)))
            self._verified[(pool_id, token)] = claims
        return claims

    def verify(self, token: str | None, *, pool_id: str, client_ids: Collection[str] | None = None,
               token_use: str | None = "id") -> dict[str, Any]:
        if not token:
            raise TokenError("missing")
        if token.lower().startswith("bearer "):
            token = token[7:].strip()
        claims = self._verified.get((pool_id, token))
        if claims is None:
            claims = self._check_signature(token, pool_id)
        if claims["exp"] + self.leeway_s <= self.clock():
            raise TokenError("expired")
        if claims["iss"] != issuer(pool_id):
            raise TokenError("wrong issuer")
        if token_use is not None and claims.get("token_use") != token_use:
            raise TokenError("wrong token_use")
        audience = claims.get("aud") if claims.get("token_use") == "id" else claims.get("client_id")
        if client_ids is not None and audience not in client_ids:
            raise TokenError("wrong audience")
        return dict(claims)
