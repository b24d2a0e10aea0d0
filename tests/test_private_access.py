"""No module reads another module's private attributes.

A task's env, its torch vector env, ``play``, the policies and the trainer read each other
through public names (the task spec's tables, documented properties), so that each can
change inside without breaking the others. This test reads the source of the packages,
the benchmarks, the examples and the docs' code blocks, and fails on any ``obj._name``
(``obj`` not ``self``, ``cls`` or ``super()``) where ``_name`` is not defined in the same
file, and on any ``from module import _name``: reaching into another module.
"""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("text_envs", "agents", "benchmarks", "examples")


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _defined(tree: ast.AST) -> set[str]:
    """The private names a source defines: functions, classes, assignments, attributes set."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
    return {name for name in names if _is_private(name)}


def _foreign_reads(source: str) -> list[str]:
    tree = ast.parse(source)
    own = _defined(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            found += [f"line {node.lineno}: from {node.module} import {alias.name}" for alias in node.names
                      if _is_private(alias.name)]
        if not (isinstance(node, ast.Attribute) and _is_private(node.attr)) or node.attr in own:
            continue
        value = node.value
        if isinstance(value, ast.Name) and value.id in ("self", "cls"):
            continue
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "super":
            continue
        found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def _sources():
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            yield path.relative_to(ROOT), path.read_text()
    for path in sorted((ROOT / "docs").rglob("*.md")):
        blocks = re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)
        if blocks:
            yield path.relative_to(ROOT), "\n".join(blocks)


def test_no_module_reads_another_modules_private_attributes():
    offences = {str(path): reads for path, source in _sources() if (reads := _foreign_reads(source))}
    assert not offences, f"private attributes read from outside their module: {offences}"


def test_the_check_catches_a_foreign_read():
    assert _foreign_reads("def f(env):\n    return env._gold\n") == ["line 2: env._gold"]
    assert _foreign_reads("from m import _table\n") == ["line 1: from m import _table"]
    assert _foreign_reads("class A:\n    def f(self, other):\n        self._x = other._x\n") == []
