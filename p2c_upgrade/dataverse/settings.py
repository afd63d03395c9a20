"""`[dataverse]` in the configuration file: how to sign in, page size, concurrency, batch size.

```toml
[dataverse]
method = "environment"       # environment | azure-cli | device-code | managed-identity | default
tenant_id = "..."            # optional, not a secret
client_id = "..."            # optional, not a secret
page_size = 5000             # pull: records per page, at most 5,000 (Prefer: odata.maxpagesize)
concurrency = 8              # push: most requests in flight (ramps up from 1, halves on a 429)
batch_size = 1000            # push: record updates per $batch request, at most 1,000
```

Limits: `$batch` holds at most 1,000 requests and a page at most 5,000 records (FACTS.md,
"Reaching the live systems"); the service protection limits allow 52 concurrent requests per
user, so concurrency is capped at 52. Errors: UsageError naming the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..auth import AUTH_KEYS, AuthSettings, parse_auth
from ..errors import UsageError

MAX_PAGE_SIZE = 5000
MAX_BATCH = 1000
MAX_CONCURRENCY = 52


@dataclass(frozen=True)
class DataverseSettings:
    auth: AuthSettings = field(default_factory=AuthSettings)
    page_size: int = MAX_PAGE_SIZE
    concurrency: int = 8
    batch_size: int = MAX_BATCH


def parse_settings(table: dict[str, Any] | None) -> DataverseSettings:
    table = table or {}
    if not isinstance(table, dict):
        raise UsageError("configuration: 'dataverse' must be a table")
    auth = parse_auth(table, "dataverse")
    allowed = set(AUTH_KEYS) | {"page_size", "concurrency", "batch_size"}
    for key in table:
        if key not in allowed:
            raise UsageError(f"configuration: unknown key 'dataverse.{key}' (allowed: {', '.join(sorted(allowed))})")
    return DataverseSettings(
        auth=auth,
        page_size=_int(table, "page_size", MAX_PAGE_SIZE, MAX_PAGE_SIZE),
        concurrency=_int(table, "concurrency", 8, MAX_CONCURRENCY),
        batch_size=_int(table, "batch_size", MAX_BATCH, MAX_BATCH),
    )


def _int(table: dict[str, Any], key: str, default: int, maximum: int) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise UsageError(f"configuration: 'dataverse.{key}' must be a whole number from 1 to {maximum:,}")
    return value
