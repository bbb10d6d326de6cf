"""Run the lesson notebooks and keep only the outputs nbval checks (cells marked ``# NBVAL_CHECK_OUTPUT``).

    .venv/bin/python tools/refresh_notebook_outputs.py [notebooks/00_three_goals.ipynb ...]

Everything else — timings, plots, widgets and the saved widget state (``metadata.widgets``) — is stripped, so git
never stores numbers from somebody else's machine. Run it after editing a notebook; tests/test_project.py fails
while stray outputs remain.
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat

from effedu.lessons import execute  # Restart & Run All, as `course.py reference` runs a lesson

ROOT = Path(__file__).resolve().parents[1]
CHECKED = "# NBVAL_CHECK_OUTPUT"


def refresh(path: Path) -> None:
    notebook, seconds = execute(path, timeout_s=300)
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        cell.metadata.pop("execution", None)
        if CHECKED not in cell.source:  # nbval needs the execution count of the cells it checks
            cell.execution_count = None
            cell.outputs = []
    notebook.metadata.pop("widgets", None)  # the explorers' last state: another machine's timings
    nbformat.write(notebook, path)
    print(f"{path.relative_to(ROOT)}: ran in {seconds:.0f} s, outputs refreshed")


if __name__ == "__main__":
    paths = [Path(p).resolve() for p in sys.argv[1:]] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    for notebook_path in paths:
        refresh(notebook_path)
