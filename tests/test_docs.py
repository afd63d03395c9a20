"""The docs cover the product: every command and option, plan JSON key, finding code, sync reason,
configuration key, summary and status key, exit code, and every path they name exists.

Every list is derived from the code at test time, so a command, key or reason added later fails
here until the docs name it. Only the presence of each name is checked, not sentences.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import click
import pytest
from click.testing import CliRunner

from p2c_upgrade import errors
from p2c_upgrade.cli import main
from p2c_upgrade.config import parse_config
from p2c_upgrade.errors import UsageError
from p2c_upgrade.plan.findings import KINDS
from p2c_upgrade.sync import REASONS
from p2c_upgrade.sync.summary import SyncSummary, TaskSummary

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
SYNC_RUNBOOK = ROOT / "runbooks" / "initial-sync-and-sync-errors.md"


def read(path: Path) -> str:
    return path.read_text("utf-8")


def all_docs() -> str:
    """README and every page of docs/, as one text."""
    return "\n".join(read(p) for p in [README, *sorted(DOCS.glob("*.md"))])


def gen_docs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def commands(group: click.Group, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
    """(full name, command) of every command of the group, subgroups included."""
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        if cmd is None or cmd.hidden:
            continue
        yield prefix + name, cmd
        if isinstance(cmd, click.Group):
            yield from commands(cmd, prefix + name + " ")


def long_options(cmd: click.Command) -> set[str]:
    return {opt for p in cmd.params if isinstance(p, click.Option) and not p.hidden
            for opt in (*p.opts, *p.secondary_opts) if opt.startswith("--") and opt != "--help"}


# --- commands, options, exit codes ------------------------------------------------------------

def test_readme_command_table_names_every_command() -> None:
    readme = read(README)
    found = list(commands(main))
    assert {"plan", "run", "status", "verify", "duplicates", "sync", "demo"} <= {n for n, _ in found}
    missing = [name for name, _ in found if f"| `{name}" not in readme]
    assert not missing, f"README's command table does not name: {missing}"


def test_docs_name_every_option_of_every_command() -> None:
    text = all_docs()
    missing = sorted({f"{name} {opt}" for name, cmd in [("p2c-upgrade", main), *commands(main)]
                      for opt in long_options(cmd) if f"`{opt}" not in text and f" {opt}" not in text})
    assert not missing, f"README.md and docs/ do not name: {missing}"


def test_readme_gives_every_exit_code() -> None:
    readme = read(README)
    codes = {v for k, v in vars(errors).items() if k.startswith("EXIT_") and isinstance(v, int)}
    # the contract's 0-4, and 130 for Ctrl-C (issue 12), documented as outside the contract
    assert codes == {0, 1, 2, 3, 4, 130}
    for code in codes:
        assert re.search(rf"^\| \*\*{code}\*\* \|", readme, re.M), code


# --- plan JSON and finding codes ----------------------------------------------------------------

def test_plan_json_doc_is_generated_from_the_schema() -> None:
    expected = gen_docs().render_plan_json()
    assert read(DOCS / "plan-json.md") == expected, "docs/plan-json.md is stale: run python scripts/gen_docs.py"


def test_every_plan_json_key_has_a_description_and_is_documented() -> None:
    module = gen_docs()
    text = read(DOCS / "plan-json.md")
    keys = list(module.schema_keys(module.load_schema()))
    assert len(keys) > 50
    for key, written, full in keys:
        assert written.get("description") or full.get("description"), f"{key} has no description in the schema"
        assert f"| `{key}` |" in text, key


def test_every_finding_code_is_documented() -> None:
    text = read(DOCS / "plan-json.md")
    missing = [code for code in KINDS if f"| `{code}` |" not in text]
    assert not missing, missing


# --- the sync ---------------------------------------------------------------------------------------

def test_every_sync_reason_is_documented_and_explained_in_the_runbook() -> None:
    docs = read(DOCS / "sync.md")
    runbook = read(SYNC_RUNBOOK)
    for code in REASONS:
        assert f"`{code}`" in docs, f"docs/sync.md does not name the reason {code}"
        assert f"#### `{code}`" in runbook, f"the runbook does not explain the reason {code}"


def test_docs_name_every_sync_summary_key() -> None:
    text = read(DOCS / "sync.md")
    summary = SyncSummary("t", "database", tasks=[TaskSummary("Accounts", "A", "Customers V2")])
    for key in [*summary.to_dict(), *summary.tasks[0].to_dict()]:
        assert f"`{key}`" in text, key
    json.dumps(summary.to_dict())


# --- configuration ------------------------------------------------------------------------------

def allowed_keys(data: dict[str, Any]) -> list[str] | None:
    """The keys the configuration parser accepts where `data` puts an unknown one, read from its
    usage error ("unknown key ... (allowed: a, b)"); None when it does not say."""
    try:
        parse_config(data)
    except UsageError as exc:
        m = re.search(r"\(allowed: ([^)]*)\)", exc.message)
        return [k.strip() for k in m.group(1).split(",")] if m else None
    return None


def test_docs_name_every_configuration_key() -> None:
    text = read(DOCS / "configuration.md")
    sections = allowed_keys({"p2c_unknown_key": 1})
    assert sections and "sync" in sections and "numbers" in sections
    for section in sections:
        assert f"[{section}" in text, section
        for key in allowed_keys({section: {"p2c_unknown_key": 1}}) or []:
            assert f"[{section}] {key}" in text or f"[{section}.{key}" in text, f"{section}.{key}"


# --- status ---------------------------------------------------------------------------------------

def test_docs_name_every_status_json_key(sqlite_db: Any) -> None:  # conftest.SalesDb
    result = CliRunner().invoke(main, ["--db", sqlite_db.url, "status", "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    text = read(DOCS / "status-json.md")

    def keys(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for k, v in node.items():
                yield k
                yield from keys(v)
        elif isinstance(node, list) and node:
            yield from keys(node[0])

    missing = sorted({k for k in keys(doc) if f'"{k}"' not in text and f"`{k}`" not in text})
    assert not missing, missing


# --- links and paths ------------------------------------------------------------------------------

PATH = re.compile(r"`((?:p2c_upgrade|scripts|tests|runbooks|docs|examples)/[^`\s]*)`")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("page", [README, *sorted(DOCS.glob("*.md"))], ids=lambda p: p.name)
def test_every_path_and_link_in_the_docs_exists(page: Path) -> None:
    text = read(page)
    missing: list[str] = []
    for path in PATH.findall(text):
        path = path.rstrip(".,;:")
        variants = [path.replace("<dialect>", d) for d in ("sqlite", "postgresql")] if "<dialect>" in path else [path]
        for variant in variants:
            if "<" in variant or "…" in variant:
                continue
            if not (list(ROOT.glob(variant)) if "*" in variant else (ROOT / variant).exists()):
                missing.append(variant)
    for link in LINK.findall(text):
        if "://" not in link and not (page.parent / link).exists():
            missing.append(link)
    assert not missing, f"{page.name} names paths that do not exist: {missing}"
