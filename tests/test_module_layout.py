"""Every runnable module ends with its ``if __name__ == "__main__":`` block.

Run as ``python -m module``, a module executes top to bottom and the ``__main__`` block runs
before anything defined after it exists; imported (as the tests do), everything is defined
first. A function placed below the block therefore works in every test and crashes
``python -m``: ``make demo`` did exactly that (``NameError: _check_port_free``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("recsys", "training", "serving", "benchmarks")


def _is_main_guard(node: ast.stmt) -> bool:
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    test = node.test
    names = [test.left, *test.comparators]
    return any(isinstance(n, ast.Name) and n.id == "__name__" for n in names) and any(
        isinstance(n, ast.Constant) and n.value == "__main__" for n in names
    )


MODULES = sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_main_guard_is_the_last_statement(path: Path) -> None:
    body = ast.parse(path.read_text(), str(path)).body
    guards = [i for i, node in enumerate(body) if _is_main_guard(node)]
    assert guards in ([], [len(body) - 1]), (
        f"{path.relative_to(ROOT)}: code after `if __name__ == '__main__':` is not defined "
        "when the module runs with python -m"
    )


def test_the_check_finds_runnable_modules() -> None:
    runnable = [p for p in MODULES if any(_is_main_guard(n) for n in ast.parse(p.read_text()).body)]
    assert any(p.name == "demo.py" for p in runnable) and len(runnable) >= 5
