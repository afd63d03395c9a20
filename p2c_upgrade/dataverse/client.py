"""The Web API client: one request with retries, service protection limits and clear errors.

Transport: Microsoft's `PowerPlatform-Dataverse-Client` (its `_ODataClient._request` seam, which
adds the bearer token from an azure-identity `TokenCredential`, the OData headers and the
session) for https URLs. We call the seam rather than its record operations because pull and
push need what the operations do not expose: `Prefer: odata.include-annotations` (lookup target
tables), `@odata.etag`, `If-Match` per record inside `$batch`, `MSCRM.BypassCustomPluginExecution`
and `Prefer: odata.continue-on-error`. The SDK refuses `http://`; for a loopback `http://` URL (a
stand-in) a plain `requests.Session` does the same job.

Retries (the SDK's own are switched off: it would replay a POST whose answer was lost):
- 429: wait `Retry-After` seconds (service protection limits,
  learn.microsoft.com/power-apps/developer/data-platform/api-limits) and tell the `on_throttle`
  hook, which makes push's concurrency back off; never counted as a failure.
- 500, 502, 503, 504 and dropped connections: exponential backoff, `max_retries` times. Safe for
  reads; writes are safe because every write push sends is guarded by `If-Match: <etag>`, so a
  replay of an applied write answers 412 and push re-reads and compares.
- 401: the token is dropped and asked for again once (a token that expired mid-push).
Errors: `P2CError` (exit 1) with one line: unreachable org, 401, 403 with the org's message (it
names the missing privilege), other statuses are returned to the caller.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests

from .. import netfail
from ..auth import TokenProvider
from ..errors import P2CError

API_PATH = "/api/data/v9.2/"
RETRY_STATUSES = (500, 502, 503, 504)
ALL_STATUSES = tuple(range(100, 600))


class _Credential:
    """An azure-identity style `TokenCredential` over our token provider (cached and refreshed)."""

    def __init__(self, provider: TokenProvider) -> None:
        self._provider = provider

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken(self._provider(), int(time.time()) + 300)


def error_message(resp: requests.Response) -> str:
    """The org's error message (`{"error": {"code", "message"}}`), or the status line."""
    try:
        body = resp.json()
        err = body.get("error", {}) if isinstance(body, dict) else {}
        msg = (err.get("message") or "").strip()
        if msg:
            return msg.splitlines()[0]
    except ValueError:
        pass
    return f"HTTP {resp.status_code} {resp.reason or ''}".strip()


class DataverseClient:
    """`request(method, path, ...)` against one org. `path` is relative to the Web API root or a
    full URL (an `@odata.nextLink`). Thread-safe; the pool is sized for push's concurrency."""

    def __init__(self, org_url: str, token: TokenProvider, *, max_retries: int = 6,
                 backoff_s: float = 0.5, timeout_s: float = 120.0,
                 on_throttle: Callable[[float], None] | None = None) -> None:
        self.org_url = org_url.rstrip("/")
        self.api_url = self.org_url + API_PATH
        self._token = token
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self.on_throttle = on_throttle
        self.sleep: Callable[[float], None] = time.sleep
        self._lock = threading.Lock()
        self.throttled = 0
        self.retried = 0
        self._reached = False
        session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=64, max_retries=0)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        self._session = session
        self._sdk: Any = None
        if self.org_url.lower().startswith("https://"):
            from PowerPlatform.Dataverse.client import DataverseClient as SdkClient
            from PowerPlatform.Dataverse.core.config import DataverseConfig

            sdk = SdkClient(self.org_url, _Credential(token), DataverseConfig(
                http_retries=1, http_timeout=timeout_s))
            sdk._session = session
            self._sdk = sdk._get_odata()

    def close(self) -> None:
        self._session.close()

    def _send(self, method: str, url: str, headers: dict[str, str], **kw: Any) -> requests.Response:
        if self._sdk is not None:
            return self._sdk._request(method.lower(), url, expected=ALL_STATUSES, headers=headers, **kw)
        base = {"Authorization": f"Bearer {self._token()}", "Accept": "application/json",
                "Content-Type": "application/json", "OData-MaxVersion": "4.0", "OData-Version": "4.0"}
        base.update(headers)
        return self._session.request(method, url, headers=base, timeout=self.timeout_s, **kw)

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.api_url + path.lstrip("/")

    def request(self, method: str, path: str, *, headers: dict[str, str] | None = None,
                json: Any = None, data: bytes | str | None = None) -> requests.Response:
        """Send with the retry policy above; returns any response other than 401/403/429/5xx-retried."""
        url = self.url(path)
        kw: dict[str, Any] = {}
        if json is not None:
            kw["json"] = json
        if data is not None:
            kw["data"] = data.encode("utf-8") if isinstance(data, str) else data
        attempt = 0
        reauthed = False
        while True:
            try:
                resp = self._send(method, url, dict(headers or {}), **kw)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if not self._reached and attempt >= 1:
                    host = urlsplit(self.org_url).netloc
                    raise P2CError(f"cannot reach the org at {host}: {netfail.describe(exc)}") from None
                attempt += 1
                if attempt > self.max_retries:
                    raise P2CError(f"the connection to the org kept dropping ({attempt} attempts): "
                                   f"{netfail.describe(exc)}") from None
                self._count_retry()
                self.sleep(self._backoff(attempt))
                continue
            self._reached = True
            status = resp.status_code
            if status == 429:
                wait = _retry_after(resp)
                with self._lock:
                    self.throttled += 1
                if self.on_throttle:
                    self.on_throttle(wait)
                self.sleep(wait)
                continue
            if status in RETRY_STATUSES and attempt < self.max_retries:
                attempt += 1
                self._count_retry()
                self.sleep(self._backoff(attempt))
                continue
            if status == 401:
                if not reauthed:
                    reauthed = True
                    invalidate = getattr(self._token, "invalidate", None)
                    if invalidate:
                        invalidate()
                    continue
                raise P2CError("the org refused the sign-in (401 Unauthorized): check [dataverse] method, "
                               "tenant and the app registration's application user in the org")
            if status == 403:
                raise P2CError(f"the org refused access (403 Forbidden): {error_message(resp)}")
            return resp

    def _backoff(self, attempt: int) -> float:
        return self.backoff_s * (2 ** (attempt - 1)) * (0.75 + random.random() / 2)

    def _count_retry(self) -> None:
        with self._lock:
            self.retried += 1

    def get_json(self, path: str, *, headers: dict[str, str] | None = None) -> dict[str, Any]:
        """GET expecting 200 and a JSON object; anything else is a P2CError naming the path."""
        resp = self.request("GET", path, headers=headers)
        if resp.status_code != 200:
            raise P2CError(f"the org answered {resp.status_code} to GET {path.split('?')[0]}: {error_message(resp)}")
        return resp.json()


def _retry_after(resp: requests.Response) -> float:
    try:
        return max(0.0, float(resp.headers.get("Retry-After", "1")))
    except ValueError:
        return 1.0

