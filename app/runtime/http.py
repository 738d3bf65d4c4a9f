"""Plain HTTP calls a client makes outside an SDK: a pre-signed URL, an anonymous object GET."""
from __future__ import annotations

import urllib.error
import urllib.request


def request(method: str, url: str, data: bytes | None = None, headers: dict | None = None,
            timeout: float = 15) -> tuple[int, bytes, dict]:
    """(status, body, headers) of one request; HTTP errors are answers, not exceptions."""
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)
