"""`[fno]` in the configuration file: where and how the import runs.

    [fno]
    legal_entity = "USMF"            # required for `--target fno:`; the company (dataAreaId)
    definition_group = "P2C initial sync"   # data project name prefix in Data management
    poll_interval = 5.0              # seconds between GetExecutionSummaryStatus calls
    timeout = 3600                   # seconds one import may run before the sync stops
    method = "environment"           # sign-in, as for the live org (azure-identity)
    tenant_id = "..."                # optional
    client_id = "..."                # optional

Secrets never come from this file (contract, "Authentication").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from p2c_upgrade.auth import AUTH_KEYS, AuthSettings, parse_auth
from p2c_upgrade.errors import UsageError

KEYS = {"legal_entity", "definition_group", "poll_interval", "timeout", *AUTH_KEYS}
DEFAULT_GROUP = "P2C initial sync"
#: F&O legal entity ids (DataAreaId) are at most 4 characters.
_LEGAL_ENTITY = re.compile(r"^[A-Za-z0-9]{1,4}$")


@dataclass(frozen=True)
class FnoSettings:
    legal_entity: str | None = None
    definition_group: str = DEFAULT_GROUP
    poll_interval: float = 5.0
    timeout: float = 3600.0
    auth: AuthSettings = field(default_factory=AuthSettings)

    def require_legal_entity(self) -> str:
        if not self.legal_entity:
            raise UsageError("the fno: target needs [fno] legal_entity in the configuration "
                             "file (the F&O company the customers go to, e.g. \"USMF\")")
        return self.legal_entity


def parse_fno(table: Any, where: str) -> FnoSettings:
    """Check and read the `[fno]` table; a mistake is a usage error naming the key."""
    if not isinstance(table, dict):
        raise UsageError(f"{where}: 'fno' must be a table")
    auth = parse_auth(table, "fno")  # the same sign-in keys and secret refusal as [dataverse]
    for key in table:
        if key not in KEYS:
            raise UsageError(f"{where}: unknown key 'fno.{key}' (allowed: {', '.join(sorted(KEYS))})")
    legal = table.get("legal_entity")
    if legal is not None and (not isinstance(legal, str) or not _LEGAL_ENTITY.match(legal.strip())):
        raise UsageError(f"{where}: fno.legal_entity must be an F&O company id such as \"USMF\"")
    group = table.get("definition_group", DEFAULT_GROUP)
    if not isinstance(group, str) or not group.strip() or len(group) > 50:
        raise UsageError(f"{where}: fno.definition_group must be a name of 1 to 50 characters")

    def seconds(key: str, default: float, low: float) -> float:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < low:
            raise UsageError(f"{where}: fno.{key} must be a number of seconds, at least {low}")
        return float(value)

    return FnoSettings(legal_entity=legal.strip().upper() if legal else None,
                       definition_group=group.strip(),
                       poll_interval=seconds("poll_interval", 5.0, 0.01),
                       timeout=seconds("timeout", 3600.0, 1.0), auth=auth)
