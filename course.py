#!/usr/bin/env python3
"""Set up effedu in a local virtual environment, then open the lessons or run the tests.

    python3 course.py lab     # install into .venv, open JupyterLab on lesson 00 (127.0.0.1, with a token)
    python3 course.py test    # install into .venv, run the unit tests and every notebook under nbval
    python3 course.py student # (re)write student/: the lessons without the cells tagged "solution"

Works with the standard library alone on Linux, macOS and Windows (use ``py course.py …`` there). Everything
is installed into ``.venv`` inside this folder, with the pinned versions of ``constraints.txt``; a second run
skips the install when nothing changed.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
FIRST_LESSON = "00_three_goals.ipynb"
STUDENT = ROOT / "student"
TEST_TIMEOUT_S = 75 * 60  # nbclient can hang on a widget cell, rarely: never let a run hang for ever


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def run(*command: object, **kwargs) -> None:
    print("+", " ".join(map(str, command)), flush=True)
    subprocess.run([str(c) for c in command], check=True, cwd=ROOT, **kwargs)


def install() -> Path:
    if sys.version_info < (3, 11):
        sys.exit(f"effedu needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not venv_python().exists():
        print(f"creating a virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    python = venv_python()
    wanted = hashlib.sha256(b"".join((ROOT / name).read_bytes()
                                     for name in ("pyproject.toml", "constraints.txt"))).hexdigest()
    stamp = VENV / "effedu-installed.sha256"
    if stamp.exists() and stamp.read_text() == wanted:
        return python
    run(python, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(python, "-m", "pip", "install", "--constraint", "constraints.txt", "--editable", ".[test]")
    stamp.write_text(wanted)
    return python


def student_copies(overwrite: bool = False) -> list[Path]:
    """Copies of notebooks/*.ipynb without the reference solutions (cells tagged "solution") in student/.
    An existing copy is kept unless ``overwrite``: it holds the student's own work."""
    STUDENT.mkdir(exist_ok=True)
    written = []
    for lesson in sorted((ROOT / "notebooks").glob("*.ipynb")):
        target = STUDENT / lesson.name
        if target.exists() and not overwrite:
            continue
        notebook = json.loads(lesson.read_text(encoding="utf-8"))
        notebook["cells"] = [cell for cell in notebook["cells"]
                             if "solution" not in cell.get("metadata", {}).get("tags", [])]
        target.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(target)
    return written


def lab_command(python: Path) -> list[str]:
    """JupyterLab bound to this machine only; it generates a fresh token and prints the URL that carries it."""
    command = [str(python), "-m", "jupyterlab", "--ServerApp.ip=127.0.0.1", f"--ServerApp.root_dir={ROOT}"]
    if getattr(os, "geteuid", lambda: 1)() == 0:
        command.append("--allow-root")  # containers and CI run as root; Jupyter refuses to start otherwise
    return command + [f"student/{FIRST_LESSON}"]


def lab(extra: list[str]) -> None:
    python = install()
    student_copies()  # students work in student/; notebooks/ keeps the reference solutions for instructors
    run(*lab_command(python), *extra)


def student(extra: list[str]) -> None:
    for path in student_copies(overwrite="--force" in extra):
        print(f"wrote {path.relative_to(ROOT)}")


def test(extra: list[str]) -> None:
    python = install()
    command = [python, "-m", "pytest", "tests", "notebooks", "--nbval-lax", "--nbval-current-env",
               "--nbval-cell-timeout=300", "-p", "no:cacheprovider", *extra]
    try:
        run(*command, timeout=TEST_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        sys.exit(f"tests did not finish within {TEST_TIMEOUT_S // 60} minutes")
    except subprocess.CalledProcessError as failed:
        sys.exit(failed.returncode)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["lab", "test", "install", "student"])
    args, extra = parser.parse_known_args()
    {"lab": lab, "test": test, "install": lambda _: install(), "student": student}[args.command](extra)


if __name__ == "__main__":
    main()
