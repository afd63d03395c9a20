"""The layout's rules that a newcomer relies on: no import cycle, a runner that knows no step by
name, the templates' order from graphlib."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from p2c_upgrade.errors import P2CError
from p2c_upgrade.sync.templates import _dependency_order, shipped_templates
from p2c_upgrade.upgrade.registry import STEP_NAMES

PACKAGE = Path(__file__).resolve().parent.parent / "p2c_upgrade"

#: the late (function-level) imports that still close a cycle, each with the fix it awaits:
#: config.py parses the [sync] and [fno] sections and imports the sync templates, entities and
#: countries and the F&O settings to check them, while those import config.py for its types (fix:
#: each package parses its own section, config.py only dispatches); `cli.main` imports `cli.live`
#: for `verify --target`, and `cli.live` registers its commands on `cli.main`'s group; the F&O
#: target (`sync.targets.fno`) imports the F&O importer, which imports `p2c_upgrade.sync` (whose
#: __init__ imports the engine and so the targets) for the sync state (fix: import the sync's
#: modules, not its package).
KNOWN_LATE_IMPORTS = {
    ("p2c_upgrade.sync.targets.fno", "p2c_upgrade.fno"),
    ("p2c_upgrade.config", "p2c_upgrade.sync"),
    ("p2c_upgrade.config", "p2c_upgrade.fno"),
    ("p2c_upgrade.cli.main", "p2c_upgrade.cli.live"),
}


def _known(source: str, target: str) -> bool:
    return any(source == s and (target == t or target.startswith(t + ".")) for s, t in KNOWN_LATE_IMPORTS)


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every module `name` imports, at module level or inside a function (a late import is a
    dependency too), except under `if TYPE_CHECKING:`; a package's own ancestors are left out
    (importing a submodule runs its package's __init__ first, by design)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parts = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    base = ".".join(parts + ([base] if base else []))
                found.add(base)
                found.update(f"{base}.{a.name}" for a in child.names)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    out = set()
    for module in found:
        parts = module.split(".")
        for i in range(1, len(parts) + 1):
            candidate = ".".join(parts[:i])
            if candidate in known and candidate != name and not name.startswith(candidate + "."):
                out.add(candidate)
    return out


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(component)

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return found


def test_no_import_cycle_but_through_the_known_late_imports() -> None:
    modules = _modules()
    graph = {name: {t for t in _imports(name, path, set(modules)) if not _known(name, t)}
             for name, path in modules.items()}
    assert _cycles(graph) == []
    full = {name: _imports(name, path, set(modules)) for name, path in modules.items()}
    in_cycles = set().union(*_cycles(full))
    for module in ("p2c_upgrade.db.connection", "p2c_upgrade.db.privileges", "p2c_upgrade.db.holders",
                   "p2c_upgrade.db.lock", "p2c_upgrade.upgrade.runner"):
        assert module not in in_cycles, module


def test_the_runner_knows_no_step_by_name_and_reads_no_untyped_extras() -> None:
    source = (PACKAGE / "upgrade" / "runner.py").read_text(encoding="utf-8")
    for name in STEP_NAMES:
        assert f'"{name}"' not in source, name
    assert ".extra" not in source
    assert "getattr(step" not in source


def test_templates_follow_their_dependencies_and_a_cycle_is_refused() -> None:
    shipped = list(shipped_templates())
    assert [t.task for t in shipped] == ["Accounts", "Contacts", "ContactToCustomer"]
    first, *rest = shipped
    # given in the reverse order with the orders swapped: dependencies still win
    swapped = [dataclasses.replace(t, order=-t.order) for t in reversed(shipped)]
    assert [t.task for t in _dependency_order(swapped)][0] == first.task
    looped = dataclasses.replace(first, depends_on=(rest[-1].task,))
    with pytest.raises(P2CError, match="cycle"):
        _dependency_order([looped, *rest])
