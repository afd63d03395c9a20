"""The database: connection and dialect set-up, error translation, the Sales schema defined once,
privileges and lock-holder diagnostics, the upgrade lock, and the packaged SQL (`db/sql/`)."""

from p2c_upgrade.db.connection import (
    DEFAULT_LOCK_TIMEOUT_S,
    ENV_URL,
    SQLITE_CACHE_KIB,
    Database,
    describe_db_error,
    mask_secrets,
    open_database,
    parse_url,
    resolve_url,
    translate_errors,
)

__all__ = [
    "DEFAULT_LOCK_TIMEOUT_S",
    "ENV_URL",
    "SQLITE_CACHE_KIB",
    "Database",
    "describe_db_error",
    "mask_secrets",
    "open_database",
    "parse_url",
    "resolve_url",
    "translate_errors",
]
