"""The command line only parses, calls the service layer and prints: no SQL in a click module."""

from __future__ import annotations

import ast
from pathlib import Path

import vp_monitor

PACKAGE = Path(vp_monitor.__file__).parent


def imports_click(path: Path) -> bool:
    """Whether a module imports click (a command-line module, whatever its name)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import) and any(a.name == "click" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "click":
            return True
    return False


CLI_MODULES = sorted(path for path in PACKAGE.rglob("*.py") if imports_click(path))
SQL_BUILDERS = {"select", "insert", "update", "delete", "text", "or_", "and_", "func"}
SESSION_QUERIES = {"execute", "scalar", "scalars", "get", "query", "add", "add_all", "delete"}


def sql_found(source: str) -> list[str]:
    """Where a module imports SQLAlchemy, builds a query or queries a session directly."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [alias.name for alias in node.names]
            if any(name.split(".")[0] == "sqlalchemy" for name in names):
                found.append(f"line {node.lineno}: imports sqlalchemy")
            if isinstance(node, ast.ImportFrom) and node.module and node.module.endswith(
                ".models"
            ):  # fmt: skip
                found.append(f"line {node.lineno}: imports tables from {node.module}")
        elif isinstance(node, ast.Call):
            function = node.func
            if isinstance(function, ast.Name) and function.id in SQL_BUILDERS:
                found.append(f"line {node.lineno}: calls {function.id}(...)")
            elif (
                isinstance(function, ast.Attribute)
                and function.attr in SESSION_QUERIES
                and "session" in ast.unparse(function.value)
            ):
                found.append(f"line {node.lineno}: calls {ast.unparse(function)}(...)")
    return found


def test_cli_modules_hold_no_sql():
    """No click module imports SQLAlchemy or the tables, or calls select(...) or
    session.execute(...): its queries belong to the service layer."""
    names = {str(path.relative_to(PACKAGE)) for path in CLI_MODULES}
    assert {"cli.py", "alerts/cli.py", "monitor/cli.py", "probes/cli.py", "demo.py"} <= names
    problems = {
        str(path.relative_to(PACKAGE)): found
        for path in CLI_MODULES
        if (found := sql_found(path.read_text(encoding="utf-8")))
    }
    assert problems == {}


def test_the_guard_sees_sql():
    """The guard finds each way a command could query the database itself."""
    source = (
        "from sqlalchemy import select\n"
        "from vp_monitor.alerts.models import Incident\n"
        "def command(registry):\n"
        "    registry.session.execute(select(Incident))\n"
        "    registry.session.get(Incident, 1)\n"
    )
    assert len(sql_found(source)) == 5
    assert sql_found("def command(registry):\n    registry.cameras()\n") == []


def test_the_service_layer_runs_without_click():
    """The web service can use the service layer without loading click at all."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import vp_monitor.service.commands, vp_monitor.service.views, vp_monitor.service.errors\n"
        "assert 'click' not in sys.modules, 'click was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
