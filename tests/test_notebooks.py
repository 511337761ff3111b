"""Every notebook in ``notebooks/`` runs top to bottom against the current library.

Code cells are executed in order in one namespace (as a kernel would), in a scratch working
directory, so a notebook that drifts from the API fails here instead of in a data scientist's
hands. No Jupyter needed: notebooks are JSON.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS, "notebooks/ should hold at least one notebook"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = json.loads(path.read_text())
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__notebook__"}
    code_cells = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    assert code_cells
    for number, cell in enumerate(code_cells, start=1):
        source = "".join(cell["source"])
        try:
            exec(compile(source, f"{path.name}[cell {number}]", "exec"), namespace)
        except Exception as exc:  # name the cell, keep the original traceback
            raise AssertionError(f"{path.name}: code cell {number} failed: {exc!r}") from exc
    assert "result" in namespace and "model" in namespace
