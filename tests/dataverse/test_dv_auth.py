"""Sign-in settings and service URLs (p2c_upgrade.auth)."""

from __future__ import annotations

import time

import pytest

from p2c_upgrade import auth
from p2c_upgrade.errors import UsageError


def test_parse_defaults_and_method():
    assert auth.parse_auth({}, "dataverse") == auth.AuthSettings("default", None, None)
    s = auth.parse_auth({"method": "azure-cli", "tenant_id": "t"}, "dataverse")
    assert (s.method, s.tenant_id, s.client_id) == ("azure-cli", "t", None)


@pytest.mark.parametrize("table", [{"method": "password"}, {"client_secret": "x"}, {"method": 3}])
def test_parse_refuses(table):
    with pytest.raises(UsageError) as exc:
        auth.parse_auth(table, "dataverse")
    assert "\n" not in str(exc.value) and "'x'" not in str(exc.value)   # one line; a secret is never echoed


@pytest.mark.parametrize("url,expected", [
    ("https://Contoso.crm.dynamics.com/", "https://contoso.crm.dynamics.com"),
    ("https://contoso.crm.dynamics.com/api/data/v9.2/", "https://contoso.crm.dynamics.com"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ("http://localhost:1/", "http://localhost:1"),
    ("http://[::1]:5/", "http://[::1]:5"),
])
def test_service_url(url, expected):
    assert auth.check_service_url(url) == expected


@pytest.mark.parametrize("url", ["http://contoso.crm.dynamics.com", "ftp://x", "contoso", "https://u:p@h"])
def test_service_url_refused(url):
    with pytest.raises(UsageError):
        auth.check_service_url(url)


def test_secret_arguments_refused():
    auth.refuse_secret_arguments(["--db", "x", "push"])
    with pytest.raises(UsageError):
        auth.refuse_secret_arguments(["push", "--client-secret=abc"])


def test_fixed_token(monkeypatch):
    monkeypatch.setenv("P2C_DATAVERSE_TOKEN", "fixed")
    assert auth.token_provider(auth.AuthSettings(), "https://x", env_token_var="P2C_DATAVERSE_TOKEN")() == "fixed"


class _Cred:
    def __init__(self):
        self.calls = 0

    def get_token(self, scope):
        self.calls += 1

        class T:
            token = f"t{self.calls}"
            expires_on = time.time() + (10 if self.calls == 1 else 3600)
        return T()


def test_token_refreshed_before_expiry():
    cred = _Cred()
    provider = auth._CachedToken(cred, "https://x/.default", "default")
    assert provider() == "t1"      # expires within the margin: the next call asks again
    assert provider() == "t2"
    assert provider() == "t2"
    assert cred.calls == 2
