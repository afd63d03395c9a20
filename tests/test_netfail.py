"""A failed connection to the org or to F&O is one line an operator can act on."""

from __future__ import annotations

import socket

import requests
from click.testing import CliRunner

from p2c_upgrade import netfail
from p2c_upgrade.cli import main


def test_an_untrusted_certificate_names_the_ca_bundle() -> None:
    exc = requests.exceptions.SSLError(
        "HTTPSConnectionPool(host='127.0.0.1', port=8443): Max retries exceeded with url: /api/data/v9.2/ "
        "(Caused by SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate "
        "verify failed: self-signed certificate in certificate chain (_ssl.c:1006)')))")
    assert "REQUESTS_CA_BUNDLE" in netfail.describe(exc)


def test_a_refused_connection_says_so() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    try:
        requests.get(f"http://127.0.0.1:{port}/", timeout=5)
    except requests.ConnectionError as exc:
        assert netfail.describe(exc).startswith("the connection was refused")
    else:  # pragma: no cover
        raise AssertionError("a closed port answered")


def test_a_missing_sqlite_database_is_a_usage_error(tmp_path) -> None:
    result = CliRunner().invoke(main, ["--db", f"sqlite:///{tmp_path}/wrok.db", "status"])
    assert result.exit_code == 2
    assert f"SQLite database not found: {tmp_path}/wrok.db" in result.output
    assert not (tmp_path / "wrok.db").exists()


def test_a_bare_path_is_not_a_url_and_the_message_shows_the_form(tmp_path) -> None:
    result = CliRunner().invoke(main, ["--db", str(tmp_path / "x.db"), "status"])
    assert result.exit_code == 2
    assert "sqlite:////abs/path.db" in result.output
