"""The layers you can see (issue 12), beside ``lint-imports`` (which checks the app order in
``.importlinter``): no private name of one app reached from another, and no import hidden inside a
function without a comment saying why (a heavy optional library, Django's ``ready()``, …; an app-level
cycle is not a reason — the cycle is fixed instead). Migrations are exempt (``RunPython`` functions
import inside by design)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "zhijian"
# Django's public model API despite the underscore.
PUBLIC_UNDERSCORED = {"_meta", "_default_manager", "_base_manager", "_state"}
APPS = sorted(p.name for p in ROOT.iterdir() if (p / "__init__.py").exists() and (p / "apps.py").exists())


def _modules(app: str):
    for path in sorted((ROOT / app).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        yield path, path.read_text(encoding="utf-8")


def _app_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "zhijian" else None


@pytest.mark.parametrize("app", APPS)
def test_no_private_names_across_apps(app):
    found = []
    for path, text in _modules(app):
        tree = ast.parse(text)
        aliases: dict[str, str] = {}  # local name -> module of another app
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                other = _app_of(node.module)
                if node.module == "zhijian":
                    for a in node.names:
                        if a.name != app:
                            aliases[a.asname or a.name] = f"zhijian.{a.name}"
                    continue
                if other is None or other == app:
                    continue
                for a in node.names:
                    if a.name.startswith("_") and not a.name.startswith("__") and a.name not in PUBLIC_UNDERSCORED:
                        found.append(f"{path.relative_to(ROOT.parent)}:{node.lineno} imports {node.module}.{a.name}")
                    else:
                        aliases[a.asname or a.name] = f"{node.module}.{a.name}"
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if _app_of(a.name) not in (None, app) and a.asname:
                        aliases[a.asname] = a.name
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                    and node.attr.startswith("_") and not node.attr.startswith("__") and node.attr not in PUBLIC_UNDERSCORED):
                found.append(f"{path.relative_to(ROOT.parent)}:{node.lineno} uses {aliases[node.value.id]}.{node.attr}")
    assert not found, "private names reached across apps (make them public with a good name):\n" + "\n".join(found)


def _has_reason(lines: list[str], node: ast.stmt) -> bool:
    """A comment on the import's own lines, or right above the block of imports it belongs to."""
    if any("#" in lines[i - 1] for i in range(node.lineno, (node.end_lineno or node.lineno) + 1)):
        return True
    i = node.lineno - 1
    while i >= 1 and (not lines[i - 1].strip() or lines[i - 1].strip().startswith(("from ", "import "))):
        i -= 1  # a block of imports (blank lines between groups included) shares the comment above it
    return i >= 1 and lines[i - 1].strip().startswith("#")


@pytest.mark.parametrize("app", APPS)
def test_imports_inside_functions_state_their_reason(app):
    found = []
    for path, text in _modules(app):
        lines = text.splitlines()
        for fn in ast.walk(ast.parse(text)):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, (ast.Import, ast.ImportFrom)) and not _has_reason(lines, node):
                    found.append(f"{path.relative_to(ROOT.parent)}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    assert not found, "imports inside functions without a comment saying why (move them to the top):\n" + "\n".join(sorted(set(found)))
