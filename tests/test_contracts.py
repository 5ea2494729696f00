"""Project-wide contracts: the core imports no Qt; the PySide6 crash pair can't be installed."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent


def test_core_and_engine_import_no_qt() -> None:
    code = """
import importlib, pkgutil, sys
sys.modules["PySide6"] = None  # any import of it now fails
import editor.core, editor.engine
names = []
for pkg in (editor.core, editor.engine):
    for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        importlib.import_module(info.name)
        names.append(info.name)
import editor.cli
assert not any(m.startswith(("PySide6", "qasync")) for m in sys.modules if sys.modules[m]), \
    [m for m in sys.modules if m.startswith("PySide6")]
print(len(names))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) >= 10  # every module of the core and the engine was imported


def _pyside_requirements() -> list[Requirement]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    reqs = [Requirement(r) for r in meta["project"]["dependencies"]]
    return [r for r in reqs if r.name.lower().startswith("pyside6")]


def test_dependencies_forbid_pyside6_6_12_on_python_3_11() -> None:
    reqs = _pyside_requirements()
    names = {r.name for r in reqs}
    assert names == {"PySide6-Essentials", "PySide6-Addons"}  # QtMultimedia is in Addons
    for py in ("3.11.0", "3.11.7", "3.11.99"):
        env = {"python_version": py.rsplit(".", 1)[0], "python_full_version": py}
        active = [r for r in reqs if r.marker is None or r.marker.evaluate(env)]
        assert {r.name for r in active} == names
        for r in active:
            assert not r.specifier.contains(Version("6.12.0")), (py, str(r))
            assert not r.specifier.contains(Version("6.12.1")), (py, str(r))
    env312 = {"python_version": "3.12", "python_full_version": "3.12.1"}
    active = [r for r in reqs if r.marker is None or r.marker.evaluate(env312)]
    assert all(r.specifier.contains(Version("6.12.0")) for r in active)


def test_void_qt_calls_do_not_leak_references_to_none() -> None:
    # PySide6 6.12.0 on 3.11 dropped a reference to None on every void call and crashed.
    code = """
import sys
from PySide6.QtCore import QObject
o = QObject()
before = sys.getrefcount(None)
for i in range(100_000):
    o.setObjectName("x")
after = sys.getrefcount(None)
print(before, after)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    before, after = map(int, out.stdout.split())
    assert after >= before - 100, (before, after)


def _editor_imports(path: Path) -> tuple[set[str], set[str]]:
    """(module-level, function-level) imports of ``editor.*`` in the file at ``path``."""
    import ast

    def names(node: ast.AST) -> set[str]:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("editor"):
            return {node.module}
        if isinstance(node, ast.Import):
            return {a.name for a in node.names if a.name.startswith("editor")}
        return set()

    tree = ast.parse(path.read_text("utf-8"))
    top = {n for node in tree.body for n in names(node)}  # TYPE_CHECKING blocks are not imports
    inner = {n for fn in ast.walk(tree) if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef)
             for node in ast.walk(fn) for n in names(node)}
    return top, inner


def test_core_imports_in_one_direction_at_module_level() -> None:
    """No circle dodged by importing inside a function: planner and pricing (and every other
    core module) import each other only at module level, and the graph has no cycle."""
    core = ROOT / "editor" / "core"
    graph: dict[str, set[str]] = {}
    for path in core.glob("*.py"):
        name = f"editor.core.{path.stem}"
        top, inner = _editor_imports(path)
        assert not {m for m in inner if m.startswith("editor.core")}, (name, inner)
        graph[name] = {m for m in top if m.startswith("editor.core.")}
    assert "editor.core.pricing" not in graph["editor.core.planner"]
    seen: dict[str, int] = {}

    def visit(node: str, trail: tuple[str, ...]) -> None:
        if seen.get(node) == 2:
            return
        assert seen.get(node) != 1, f"import cycle: {' -> '.join(trail + (node,))}"
        seen[node] = 1
        for nxt in graph.get(node, ()):
            visit(nxt, trail + (node,))
        seen[node] = 2

    for name in graph:
        visit(name, ())


def test_no_room_imports_the_window_and_questions_go_through_the_prompter() -> None:
    """What travels up from a room is a signal: nothing under editor/ui but the app shell and
    the self-test imports the window. Message boxes and file dialogs live in the prompter."""
    ui = ROOT / "editor" / "ui"
    shells = {"mainwindow.py", "app.py", "selftest.py"}
    for path in ui.rglob("*.py"):
        top, inner = _editor_imports(path)
        if path.name not in shells:
            assert "editor.ui.mainwindow" not in top | inner, path
        text = path.read_text("utf-8")
        if path.name != "prompter.py" and path.relative_to(ui).as_posix() != "export/dialog.py":
            for name in ("QMessageBox", "QInputDialog", "QFileDialog"):
                assert name not in text, (path, name)
