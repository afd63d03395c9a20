"""Stand-in for `p2c_upgrade/auth.py` until it reaches main (branch `dataverse` writes it).

The same interface: `AuthSettings`, `parse_auth(table, section)`, `check_service_url(url)` and
`token_provider(settings, resource_url, *, env_token_var)`. Delete this file once `auth.py` is
merged and import from there.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from p2c_upgrade.errors import P2CError, UsageError

METHODS = ("environment", "azure-cli", "device-code", "managed-identity", "default")
AUTH_KEYS = ("method", "tenant_id", "client_id")
TokenProvider = Callable[[], str]


@dataclass(frozen=True)
class AuthSettings:
    method: str = "default"
    tenant_id: str | None = None
    client_id: str | None = None


def parse_auth(table: dict[str, Any], section: str) -> AuthSettings:
    values: dict[str, str | None] = {}
    for key in table:
        if key.lower() in ("client_secret", "secret", "password", "token"):
            raise UsageError(f"configuration: {section}.{key} looks like a secret; secrets come "
                             "from the environment (AZURE_CLIENT_SECRET)")
    for key in AUTH_KEYS:
        value = table.get(key)
        if value is not None and not isinstance(value, str):
            raise UsageError(f"configuration: {section}.{key} must be a string")
        values[key] = value.strip() if isinstance(value, str) and value.strip() else None
    method = values["method"] or "default"
    if method not in METHODS:
        raise UsageError(f"configuration: {section}.method must be one of {', '.join(METHODS)}")
    return AuthSettings(method, values["tenant_id"], values["client_id"])


def check_service_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if not parts.hostname:
        raise UsageError(f"not a service URL: {url!r} (give https://HOST)")
    loopback = parts.hostname == "localhost"
    with contextlib.suppress(ValueError):
        loopback = loopback or ipaddress.ip_address(parts.hostname).is_loopback
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise UsageError(f"{url}: use https:// (plain http:// only on a loopback address)")
    return f"{parts.scheme}://{parts.netloc}"


def token_provider(settings: AuthSettings, resource_url: str, *, env_token_var: str
                   ) -> TokenProvider:
    fixed = os.environ.get(env_token_var)
    if fixed:
        return lambda: fixed
    try:
        import azure.identity as identity
    except ImportError:  # pragma: no cover - a dependency
        raise P2CError("azure-identity is not installed") from None
    kwargs: dict[str, Any] = {"tenant_id": settings.tenant_id} if settings.tenant_id else {}
    if settings.method == "environment":
        credential: Any = identity.EnvironmentCredential()
    elif settings.method == "azure-cli":
        credential = identity.AzureCliCredential(**kwargs)
    elif settings.method == "device-code":
        credential = identity.DeviceCodeCredential(client_id=settings.client_id, **kwargs) \
            if settings.client_id else identity.DeviceCodeCredential(**kwargs)
    elif settings.method == "managed-identity":
        credential = identity.ManagedIdentityCredential(client_id=settings.client_id)
    else:
        credential = identity.DefaultAzureCredential()
    scope = resource_url.rstrip("/") + "/.default"
    cache: dict[str, Any] = {}

    def get() -> str:
        if not cache or cache["expires"] - 300 < time.time():
            try:
                token = credential.get_token(scope)
            except Exception as exc:  # noqa: BLE001 - azure-identity's many error types
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise P2CError(f"cannot sign in to {resource_url} ({settings.method}): {first}"
                               ) from None
            cache.update(token=token.token, expires=token.expires_on)
        return str(cache["token"])

    return get
