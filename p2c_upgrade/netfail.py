"""One line for a failed HTTP connection (Dataverse and F&O clients): what an operator can act on.

`requests` wraps the cause several levels deep (`HTTPSConnectionPool(...): Max retries exceeded
... (Caused by SSLError(SSLCertVerificationError(...)))`); the first 200 characters of that cut
the useful end off. This names the kind (certificate not trusted, refused, name not found, timed
out) and says what to check.
"""

from __future__ import annotations

import requests


def describe(exc: BaseException) -> str:
    """A short, actionable description of a connection failure (no URL query, no token)."""
    text = str(exc)
    if isinstance(exc, requests.exceptions.SSLError) or "CERTIFICATE_VERIFY_FAILED" in text:
        return ("its TLS certificate is not trusted here (a TLS-inspecting proxy or a private "
                "CA: set REQUESTS_CA_BUNDLE to the CA bundle that signs it)")
    if isinstance(exc, requests.Timeout) or "timed out" in text:
        return "the connection timed out (check the host name, proxy and firewall)"
    if "Connection refused" in text or "ConnectionRefusedError" in text:
        return "the connection was refused (is the host and port right, is the service up?)"
    if "Name or service not known" in text or "getaddrinfo failed" in text or "NameResolutionError" in text:
        return "the host name does not resolve (check the URL and DNS)"
    if "RemoteDisconnected" in text or "Connection aborted" in text or "reset by peer" in text:
        return "the connection was closed by the other side"
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return first[:300]
