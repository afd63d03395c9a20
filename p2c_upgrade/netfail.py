"""One line for a failed HTTP connection (Dataverse and F&O clients): what an operator can act on.

`requests` wraps the cause several levels deep (`HTTPSConnectionPool(...): Max retries exceeded
... (Caused by SSLError(SSLCertVerificationError(...)))`); the first 200 characters of that cut
the useful end off. This names the kind (certificate not trusted, refused, name not found, timed
out) and says what to check.
"""

from __future__ import annotations

import requests

_REFUSED = ("Connection refused", "ConnectionRefusedError")
_UNRESOLVED = ("Name or service not known", "nodename nor servname", "getaddrinfo failed",
               "Failed to resolve", "NameResolutionError")


def unreachable(exc: BaseException) -> bool:
    """Whether the host refused the connection or its name does not resolve: retrying will not
    help, unlike a connection dropped mid-way."""
    text = str(exc)
    return any(m in text for m in _REFUSED + _UNRESOLVED)


def describe(exc: BaseException) -> str:
    """A short, actionable description of a connection failure (no URL query, no token)."""
    text = str(exc)
    if isinstance(exc, requests.exceptions.SSLError) or "CERTIFICATE_VERIFY_FAILED" in text:
        return ("its TLS certificate is not trusted here (a TLS-inspecting proxy or a private "
                "CA: set REQUESTS_CA_BUNDLE to the CA bundle that signs it)")
    if isinstance(exc, requests.Timeout) or "timed out" in text:
        return "the connection timed out (check the host name, proxy and firewall)"
    if any(m in text for m in _REFUSED):
        return "the connection was refused (is the host and port right, is the service up?)"
    if any(m in text for m in _UNRESOLVED):
        return "the host name does not resolve (check the URL and DNS)"
    if "RemoteDisconnected" in text or "Connection aborted" in text or "reset by peer" in text:
        return "the connection was closed by the other side"
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return first[:300]
