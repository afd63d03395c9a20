"""F&O's Data management package REST API and OData, over `requests`.

Every call takes a bearer token from the token provider. Answers F&O asks to retry are retried:
429 after its `Retry-After` seconds (priority-based throttling), 502/503/504 and dropped
connections with a growing pause; at most `attempts` tries per call. Anything else is one clear
line (`FnoError`): the host unreachable, 401/403 (sign-in, or the app registration missing in F&O's
Microsoft Entra ID applications form), an action F&O refused with its inner message.

Sources: Microsoft Learn, *Data management package REST API* (the action paths and bodies, the
`value` wrappers); *Priority-based throttling* (429 with Retry-After in seconds); *OData*
(server-driven paging with `@odata.nextLink`, `cross-company=true`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import requests

from p2c_upgrade import netfail
from p2c_upgrade.errors import P2CError

ACTIONS = "/data/DataManagementDefinitionGroups/Microsoft.Dynamics.DataEntities."
RETRY_STATUS = (502, 503, 504)
MAX_RETRY_AFTER_S = 300.0


class FnoError(P2CError):
    """A failure talking to F&O; `status` is the HTTP status (None: no answer)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class FnoClient:
    """One F&O environment at `base_url` (https://HOST; OData root `base_url + "/data"`)."""

    def __init__(self, base_url: str, token: Callable[[], str], *, attempts: int = 8,
                 request_timeout: float = 120.0, sleep: Callable[[float], None] = time.sleep,
                 on_wait: Callable[[str], None] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.host = urlsplit(self.base_url).netloc
        self.token = token
        self.attempts = attempts
        self.request_timeout = request_timeout
        self.sleep = sleep
        self.on_wait = on_wait or (lambda _message: None)
        self.session = requests.Session()
        self.retries = 0  # how many answers were retried (429, 5xx, dropped connections)

    # -- transport --------------------------------------------------------------------------

    def _send(self, method: str, url: str, *, what: str, bearer: bool = True,
              **kwargs: Any) -> requests.Response:
        """One request with the retry rules above; raises FnoError when it cannot succeed."""
        pause = 1.0
        base_headers = dict(kwargs.pop("headers", None) or {})
        for attempt in range(1, self.attempts + 1):
            headers = dict(base_headers)
            if bearer:
                headers["Authorization"] = f"Bearer {self.token()}"
            try:
                resp = self.session.request(method, url, headers=headers,
                                            timeout=self.request_timeout, **kwargs)
            except requests.ConnectionError as exc:
                if attempt == self.attempts or attempt == 1 and netfail.unreachable(exc):
                    raise FnoError(f"cannot reach F&O at {self.host} ({what}): "
                                   f"{netfail.describe(exc)}") from None
                self._wait(pause, f"{what}: connection dropped, retrying")
                pause = min(pause * 2, 60.0)
                continue
            except requests.Timeout:
                raise FnoError(f"F&O at {self.host} did not answer {what} within "
                               f"{self.request_timeout:.0f} s") from None
            if resp.status_code == 429 and attempt < self.attempts:
                self.retries += 1
                self._wait(_retry_after(resp, pause), f"{what}: throttled by F&O (429)")
                pause = min(pause * 2, 60.0)
                continue
            if resp.status_code in RETRY_STATUS and attempt < self.attempts:
                self.retries += 1
                self._wait(_retry_after(resp, pause), f"{what}: F&O answered {resp.status_code}")
                pause = min(pause * 2, 60.0)
                continue
            if resp.status_code in (401, 403):
                raise FnoError(
                    f"F&O at {self.host} refused {what} with {resp.status_code}: check the sign-in "
                    "([fno] method) and that the app registration is in F&O's Microsoft Entra ID "
                    "applications form with a user who may run Data management",
                    resp.status_code)
            if resp.status_code >= 400:
                raise FnoError(f"F&O at {self.host} refused {what} ({resp.status_code}): "
                               f"{_error_text(resp)}", resp.status_code)
            return resp
        raise FnoError(f"F&O at {self.host} kept refusing {what} after {self.attempts} tries")

    def _wait(self, seconds: float, why: str) -> None:
        self.on_wait(f"{why}; waiting {seconds:.0f} s")
        self.sleep(seconds)

    # -- package API ------------------------------------------------------------------------

    def action(self, name: str, **params: Any) -> Any:
        """POST a package API action; its `value`."""
        resp = self._send("POST", self.base_url + ACTIONS + name, what=name, json=params,
                          headers={"Accept": "application/json"})
        try:
            return resp.json()["value"]
        except (ValueError, KeyError):
            raise FnoError(f"F&O at {self.host} answered {name} without a value") from None

    def write_url(self, unique_name: str) -> str:
        """GetAzureWriteUrl: the blob URL to PUT a package to (its value is a JSON string)."""
        value = self.action("GetAzureWriteUrl", uniqueFileName=unique_name)
        try:
            return str(json.loads(value)["BlobUrl"])
        except (TypeError, ValueError, KeyError):
            raise FnoError("GetAzureWriteUrl answered without a BlobUrl") from None

    def upload(self, blob_url: str, data: bytes) -> None:
        """PUT the zip as a block blob (Azure Storage Put Blob: 201 Created)."""
        resp = self._send("PUT", blob_url, what="the package upload", bearer=False, data=data,
                          headers={"x-ms-blob-type": "BlockBlob"})
        if resp.status_code != 201:
            raise FnoError(f"the package upload answered {resp.status_code}, not 201 Created")

    def download(self, url: str, what: str) -> bytes:
        """GET an error file from its signed URL (no bearer token)."""
        return self._send("GET", url, what=what, bearer=False).content

    # -- OData -------------------------------------------------------------------------------

    def odata(self, collection: str, params: dict[str, str] | None = None, *,
              page_size: int = 5000) -> Iterator[dict[str, Any]]:
        """Every row of a collection (query options in `params`), page by page
        (`@odata.nextLink`)."""
        url: str | None = f"{self.base_url}/data/{collection}"
        query: dict[str, str] | None = params or {}
        headers = {"Accept": "application/json", "Prefer": f"odata.maxpagesize={page_size}"}
        while url:
            resp = self._send("GET", url, what=f"reading {collection}", params=query,
                              headers=headers)
            page = resp.json()
            yield from page.get("value", [])
            url, query = page.get("@odata.nextLink"), None


def _retry_after(resp: requests.Response, default: float) -> float:
    value = resp.headers.get("Retry-After", "")
    try:
        return min(max(float(value), 0.0), MAX_RETRY_AFTER_S)
    except ValueError:
        return default


def _error_text(resp: requests.Response) -> str:
    """F&O's inner message (the useful one), else its message, else the body's first line."""
    try:
        error = resp.json().get("error", {})
        inner = (error.get("innererror") or {}).get("message") or ""
        text = inner or error.get("message") or error.get("Message") or ""
    except (ValueError, AttributeError):
        text = ""
    if not text:
        text = resp.text.strip().splitlines()[0] if resp.text.strip() else resp.reason or ""
    prefix = "Exception occurred while executing action "
    if text.startswith(prefix) and ": " in text:
        text = text.split(": ", 1)[1]
    return text[:300]
