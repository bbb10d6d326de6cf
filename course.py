#!/usr/bin/env python3
"""Set up effedu in a local virtual environment, then open the lessons or run the tests.

    python3 course.py lab     # install into .venv, open JupyterLab on lesson 00 (127.0.0.1, with a token)
    python3 course.py test    # install into .venv, run the unit tests and every notebook under nbval

Works with the standard library alone on Linux, macOS and Windows (use ``py course.py …`` there). Everything
is installed into ``.venv`` inside this folder, with the pinned versions of ``constraints.txt``; a second run
skips the install when nothing changed.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
FIRST_LESSON = "notebooks/00_three_goals.ipynb"
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


def lab_command(python: Path) -> list[str]:
    """JupyterLab bound to this machine only; it generates a fresh token and prints the URL that carries it."""
    command = [str(python), "-m", "jupyterlab", "--ServerApp.ip=127.0.0.1", f"--ServerApp.root_dir={ROOT}"]
    if getattr(os, "geteuid", lambda: 1)() == 0:
        command.append("--allow-root")  # containers and CI run as root; Jupyter refuses to start otherwise
    return command + [FIRST_LESSON]


def lab(extra: list[str]) -> None:
    run(*lab_command(install()), *extra)


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
    parser.add_argument("command", choices=["lab", "test", "install"])
    args, extra = parser.parse_known_args()
    {"lab": lab, "test": test, "install": lambda _: install()}[args.command](extra)


if __name__ == "__main__":
    main()
