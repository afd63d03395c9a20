"""Signing in to Dataverse and F&O with Microsoft Entra ID (shared by `pull`/`push` and the F&O import).

Shapes:
- `AuthSettings`: how to sign in, parsed from a TOML table (`[dataverse]` or `[fno]`) with
  `method` one of `environment`, `azure-cli`, `device-code`, `managed-identity`, `default` and an
  optional `tenant_id` / `client_id`. A secret never comes from the file or the command line
  (contract, "Authentication"): a `client_secret` key is a usage error; the app registration's
  secret comes from `AZURE_CLIENT_SECRET` (method `environment`).
- `token_provider(settings, resource_url, env_token_var=...)`: a callable returning a bearer token
  (str). When the environment variable `env_token_var` (`P2C_DATAVERSE_TOKEN`, `P2C_FNO_TOKEN`) is
  set, that fixed token is used (the stand-ins). Otherwise an azure-identity credential is asked for
  the scope `<resource>/.default`; the token is cached and asked again 5 minutes before it expires,
  so a long push never sends an expired token.
- `check_service_url(url)`: the normalized organization URL; plain `http://` is refused unless the
  host is a loopback address.

No token or secret is ever printed, logged or stored: errors carry the credential's class name and
azure-identity's first line only.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .errors import P2CError, UsageError

METHODS = ("environment", "azure-cli", "device-code", "managed-identity", "default")
DEFAULT_METHOD = "default"
#: Ask for a new token this many seconds before the current one expires.
REFRESH_MARGIN_S = 300
_SECRET_KEYS = ("client_secret", "secret", "password", "token", "access_token", "certificate_password")

TokenProvider = Callable[[], str]


@dataclass(frozen=True)
class AuthSettings:
    """How to sign in. `tenant_id`/`client_id` are identifiers, not secrets."""

    method: str = DEFAULT_METHOD
    tenant_id: str | None = None
    client_id: str | None = None


AUTH_KEYS = ("method", "tenant_id", "client_id")


def parse_auth(table: dict[str, Any], section: str) -> AuthSettings:
    """Read `method`, `tenant_id`, `client_id` from a config table; other keys are the caller's.

    Raises UsageError naming `section.key` for an unknown method, a non-string, or any secret key.
    """
    for key in table:
        if key.lower() in _SECRET_KEYS:
            raise UsageError(
                f"configuration: {section}.{key} looks like a secret; secrets come from the environment "
                "(AZURE_CLIENT_SECRET), never from the configuration file")
    values: dict[str, str | None] = {}
    for key in AUTH_KEYS:
        value = table.get(key)
        if value is not None and not isinstance(value, str):
            raise UsageError(f"configuration: {section}.{key} must be a string")
        values[key] = value.strip() if isinstance(value, str) and value.strip() else None
    method = values["method"] or DEFAULT_METHOD
    if method not in METHODS:
        raise UsageError(f"configuration: {section}.method must be one of {', '.join(METHODS)}, not {method!r}")
    return AuthSettings(method=method, tenant_id=values["tenant_id"], client_id=values["client_id"])


def check_service_url(url: str) -> str:
    """`https://host[:port]` (path, query and trailing slash dropped; `/api/data/v9.2` too).

    Raises UsageError for a missing host, a scheme other than https, or http on a non-loopback host.
    """
    raw = (url or "").strip()
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"not a service URL: {raw!r} (expected https://<org>.crm.dynamics.com)")
    if parts.username or parts.password:
        raise UsageError("the service URL must not carry a user name or password; secrets come from the environment")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise UsageError(f"refusing plain http:// to {parts.hostname}: use https:// (http is allowed on loopback only)")
    path = parts.path.rstrip("/")
    api = path.lower().find("/api/data")
    if api >= 0:
        path = path[:api]
    return urlunsplit((parts.scheme, parts.netloc.lower(), path, "", "")).rstrip("/")


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refuse_secret_arguments(argv: list[str]) -> None:
    """A secret on the command line is a usage error (it would land in shell history and `ps`)."""
    for arg in argv:
        name = arg.split("=", 1)[0].lower().lstrip("-").replace("_", "-")
        if name in ("client-secret", "secret", "password", "token", "access-token"):
            raise UsageError(f"--{name} is not accepted: secrets come from the environment, never the command line")


def make_credential(settings: AuthSettings) -> Any:
    """The azure-identity credential for `settings.method` (imported lazily)."""
    import azure.identity as ai

    kw: dict[str, Any] = {}
    if settings.method == "environment":
        return ai.EnvironmentCredential()
    if settings.method == "azure-cli":
        if settings.tenant_id:
            kw["tenant_id"] = settings.tenant_id
        return ai.AzureCliCredential(**kw)
    if settings.method == "device-code":
        if settings.tenant_id:
            kw["tenant_id"] = settings.tenant_id
        if settings.client_id:
            kw["client_id"] = settings.client_id
        return ai.DeviceCodeCredential(**kw)
    if settings.method == "managed-identity":
        if settings.client_id:
            kw["client_id"] = settings.client_id
        return ai.ManagedIdentityCredential(**kw)
    if settings.tenant_id:
        kw["additionally_allowed_tenants"] = [settings.tenant_id]
    if settings.client_id:
        kw["managed_identity_client_id"] = settings.client_id
    return ai.DefaultAzureCredential(**kw)


# azure-identity logs every credential it tried at WARNING; without a handler, logging's
# last-resort handler prints them as a dozen lines on stderr. The failure reaches the user as
# one line (`_CachedToken._fetch`); `--debug` shows the traceback.
logging.getLogger("azure").addHandler(logging.NullHandler())
logging.getLogger("azure").propagate = False

class _CachedToken:
    """Thread-safe cache around `credential.get_token(scope)`; refreshed before expiry."""

    def __init__(self, credential: Any, scope: str, method: str) -> None:
        self._credential = credential
        self._scope = scope
        self._method = method
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_on = 0.0

    def __call__(self) -> str:
        with self._lock:
            if self._token is None or time.time() > self._expires_on - REFRESH_MARGIN_S:
                self._fetch()
            assert self._token is not None
            return self._token

    def invalidate(self) -> None:
        """Forget the token (after a 401) so the next call asks again."""
        with self._lock:
            self._token = None

    def _fetch(self) -> None:
        try:
            access = self._credential.get_token(self._scope)
        except Exception as exc:  # azure-identity raises several types; none carries a secret
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise P2CError(f"cannot sign in ({self._method}): {first} (set AZURE_TENANT_ID, "
                           "AZURE_CLIENT_ID and AZURE_CLIENT_SECRET for an app registration, or "
                           "choose another `method` in the configuration)") from None
        self._token = access.token
        self._expires_on = float(access.expires_on)


def token_provider(settings: AuthSettings, resource_url: str, *, env_token_var: str) -> TokenProvider:
    """A callable returning a bearer token for `resource_url` (scope `<resource>/.default`).

    The fixed token in `env_token_var` wins when set (tests and stand-ins). The returned callable
    has `invalidate()` so a client can drop a token the service refused (401) and ask again once.
    """
    fixed = os.environ.get(env_token_var)
    if fixed:
        def fixed_token() -> str:
            return fixed

        fixed_token.invalidate = lambda: None  # type: ignore[attr-defined]
        return fixed_token
    scope = resource_url.rstrip("/") + "/.default"
    return _CachedToken(make_credential(settings), scope, settings.method)
