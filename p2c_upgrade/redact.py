"""What the tool never shows as it was given: credentials, personal data in tracebacks, and
terminal control characters.

One function per kind, used wherever text leaves the tool (stdout, stderr, report files, the
ledger and the sync state in the database):
- `mask_secrets` / `mask_url`: every credential form a URL or connection string can carry
  (`user:password@`, `?password=`, `sslpassword=`, a libpq `password='…'`, any parameter whose
  name holds password, passwd, pwd, secret or token) becomes `***`, and so does each known
  secret wherever it appears.
- `strip_personal_data`: a `--debug` traceback without the driver's bound parameters and the
  server's `DETAIL` lines (they carry the rows' values: names, addresses).
- `printable`: control characters (a CR, an escape sequence, a bidirectional override) shown
  escaped as Python writes them (`\\r`, `\\x1b`, `\\u202e`), as `repr` does, without the quotes.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from sqlalchemy.engine import URL

MASK = "***"

#: `scheme://user:password@` (an empty user too)
_USERINFO = re.compile(r"(://[^:/@\s]*:)[^@\s]+@")
#: a parameter that holds a credential, in a URL query or a libpq conninfo string
_CREDENTIAL_KEY = r"[\w.-]*(?:password|passwd|pwd|secret|token)[\w.-]*"
_PARAMETER = re.compile(
    rf"(?i)(?<![\w.-])({_CREDENTIAL_KEY})(\s*=\s*)('(?:[^'\\]|\\.)*'|[^&\s;,]*)")


def is_credential_key(name: str) -> bool:
    """Whether a URL query parameter named `name` holds a credential."""
    return re.fullmatch(_CREDENTIAL_KEY, name, re.IGNORECASE) is not None


def mask_secrets(text: str, secrets: list[str] | tuple[str, ...] = ()) -> str:
    """`text` with each of `secrets` (as given and percent-encoded) and every credential a URL
    or connection string in it carries replaced by `***`."""
    for secret in secrets:
        if secret:
            for form in {secret, quote(secret, safe=""), quote(secret)}:
                text = text.replace(form, MASK)
    text = _USERINFO.sub(rf"\1{MASK}@", text)
    return _PARAMETER.sub(lambda m: f"{m[1]}{m[2]}{MASK}" if m[3] else m[0], text)


def url_secrets(url: URL) -> list[str]:
    """The credentials a parsed URL carries: its password and its credential parameters."""
    found = [url.password] if url.password else []
    for key, value in url.query.items():
        if is_credential_key(key):
            found += [value] if isinstance(value, str) else list(value)
    return [str(s) for s in found if s]


def mask_url(url: URL | str) -> str:
    """A URL as shown or stored anywhere: every credential masked."""
    if isinstance(url, URL):
        return mask_secrets(url.render_as_string(hide_password=False), url_secrets(url))
    return mask_secrets(url)


#: SQLAlchemy's `[parameters: …]` line (its repr holds no raw newline) and a server's `DETAIL:`
#: line (`Key (name)=(…) already exists`, `Failing row contains (…)`)
_PARAMETERS_LINE = re.compile(r"^(\s*)\[parameters: .*$", re.MULTILINE)
_DETAIL_LINE = re.compile(r"^(\s*)DETAIL: .*$", re.MULTILINE)


def strip_personal_data(text: str) -> str:
    """A traceback without the values of the rows it was writing or reading."""
    hidden = "hidden: --show-personal-data shows them"
    text = _PARAMETERS_LINE.sub(rf"\1[parameters {hidden}]", text)
    return _DETAIL_LINE.sub(rf"\1DETAIL {hidden}", text)


def printable(text: str) -> str:
    """`text` with every character that is not printable (C0 and C1 controls, DEL, line and
    paragraph separators, format characters such as bidirectional overrides) escaped."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
