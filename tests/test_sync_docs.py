"""The runbook explains every reason the sync can record; the docs name every config key."""

from __future__ import annotations

import json
from pathlib import Path

from p2c_upgrade.sync import REASONS
from p2c_upgrade.sync.summary import SyncSummary, TaskSummary

ROOT = Path(__file__).resolve().parent.parent
RUNBOOK = ROOT / "runbooks" / "initial-sync-and-sync-errors.md"
DOCS = ROOT / "README.md"


def test_runbook_explains_every_reason() -> None:
    text = RUNBOOK.read_text("utf-8")
    for code in REASONS:
        assert f"#### `{code}`" in text, code


def test_docs_name_every_configuration_key_and_summary_key() -> None:
    text = DOCS.read_text("utf-8")
    for key in ("[numbers] salt", "[sync] target", "[sync] batch_size", "[sync] country_codes",
                "[sync] organization_id", "[sync] listed_failures", "[sync] package_max_rows",
                "[sync.defaults]", "[sync.tasks.TASK.defaults]", "[sync.tasks.TASK.fields]",
                "[sync.value_maps.NAME]"):
        assert key in text, key
    summary = SyncSummary("t", "database", tasks=[TaskSummary("Accounts", "A", "Customers V2")])
    for key in summary.to_dict():
        assert f"`{key}`" in text, key
    for key in summary.tasks[0].to_dict():
        assert f"`{key}`" in text, key
    json.dumps(summary.to_dict())
