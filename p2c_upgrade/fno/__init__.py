"""Importing the initial sync into a live F&O environment (contract: "Importing the initial sync
into a live F&O environment"): the package REST API and OData client, the `[fno]` settings, the
preflight, the import with per-record results, and the reconciliation of `verify --target fno:`.
"""

from __future__ import annotations

FNO_PREFIX = "fno:"
