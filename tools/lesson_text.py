"""Edit a lesson as plain text and turn it back into a notebook (cell ids, tags and kernel metadata kept).

    python tools/lesson_text.py dump notebooks/00_three_goals.ipynb > 00.txt
    python tools/lesson_text.py build 00.txt notebooks/00_three_goals.ipynb

Each cell starts with a line ``%%cell markdown|code [id=…] [tags=a,b]``; a new cell without an id gets one.
``build`` writes the cells without outputs: run ``tools/refresh_notebook_outputs.py`` afterwards to store the
outputs the tests check. Standard library only.
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

MARK = "%%cell "
KERNEL_METADATA = {
    "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
    "language_info": {"codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
                      "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python",
                      "pygments_lexer": "ipython3", "version": "3.11"},
}


def dump(notebook: dict) -> str:
    parts = []
    for cell in notebook["cells"]:
        tags = cell.get("metadata", {}).get("tags", [])
        header = f"{MARK}{cell['cell_type']} id={cell['id']}" + (f" tags={','.join(tags)}" if tags else "")
        parts.append(header + "\n" + "".join(cell["source"]).rstrip("\n"))
    return "\n".join(parts) + "\n"


def build(text: str, name: str) -> dict:
    cells, current = [], None
    for line in text.splitlines():
        if line.startswith(MARK):
            fields = dict(f.split("=", 1) if "=" in f else (f, "") for f in line[len(MARK):].split())
            kind = next(k for k in fields if k in ("markdown", "code"))
            current = {"cell_type": kind, "id": fields.get("id"), "tags": [t for t in fields.get("tags", "").split(",")
                                                                          if t], "lines": []}
            cells.append(current)
        elif current is not None:
            current["lines"].append(line)
    notebook = {"cells": [], "metadata": KERNEL_METADATA, "nbformat": 4, "nbformat_minor": 5}
    for index, cell in enumerate(cells):
        source = "\n".join(cell["lines"]).strip("\n")
        cell_id = cell["id"] or hashlib.sha1(f"{name}:{index}:{source}".encode()).hexdigest()[:8]
        entry = {"cell_type": cell["cell_type"], "id": cell_id,
                 "metadata": {"tags": cell["tags"]} if cell["tags"] else {},
                 "source": [line + "\n" for line in source.split("\n")[:-1]] + [source.split("\n")[-1]]}
        if cell["cell_type"] == "code":
            entry.update(execution_count=None, outputs=[])
        notebook["cells"].append(entry)
    return notebook


def main(argv: list[str]) -> None:
    if len(argv) == 2 and argv[0] == "dump":
        sys.stdout.write(dump(json.loads(Path(argv[1]).read_text(encoding="utf-8"))))
    elif len(argv) == 3 and argv[0] == "build":
        target = Path(argv[2])
        notebook = build(Path(argv[1]).read_text(encoding="utf-8"), target.stem)
        target.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
