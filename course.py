#!/usr/bin/env python3
"""Set up effedu in a local virtual environment, then open the lessons, run the tests, or teach with them.

    python3 course.py lab        # check the machine, install what the lessons need, open JupyterLab on lesson 00
    python3 course.py test       # check, install with the test tools, run every test (units, lessons, browser)
    python3 course.py install    # only set up .venv (what lab and test do first)
    python3 course.py doctor     # only check: Python, platform, disk, CPUs, GPU — one line per problem
    python3 course.py student    # write the student copies that do not exist yet (student/)
    python3 course.py update     # bring new lesson versions into student/, keeping every answer and note
    python3 course.py reference  # run every lesson, write instructor/reference/<machine>.md
    python3 course.py scorecard  # the course's headline experiments on this machine → a table and a JSON file
    python3 course.py class F…   # merge a room's scorecard files into one HTML page
    python3 course.py html       # every lesson, executed here, as a static site in site/ (--student: no solutions)
    python3 course.py release --out DIR  # DIR/student (the course without answers) + DIR/nbgrader (assignments)

Standard library only, on Linux, macOS and Windows (``py course.py …`` there). Everything is installed into
``.venv`` inside this folder with the pinned versions of ``constraints.txt``; a second run skips the install when
nothing changed. On Linux without an NVIDIA GPU, PyTorch's CPU build is installed (a few hundred MB instead of
several GB of CUDA libraries).
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import urllib.request
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
NOTEBOOKS = ROOT / "notebooks"
STUDENT = ROOT / "student"
PRISTINE = STUDENT / ".pristine"  # the copies as handed out: what `update` compares a student's edits against
JUPYTER_HOME = ROOT / ".jupyter"  # the course's own Jupyter settings: a student's other set-up stays untouched
FIRST_LESSON = "00_three_goals.ipynb"
TEST_TIMEOUT_S = 75 * 60  # nbclient can hang on a widget cell, rarely: never let a run hang for ever
MIN_PYTHON = (3, 11)
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
INSTRUCTOR_TAGS = {"solution", "instructor"}
DISK_NEEDED_GB = {"cpu": 2.5, "cuda": 8.0}


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def run(*command: object, **kwargs) -> None:
    print("+", " ".join(map(str, command)), flush=True)
    subprocess.run([str(c) for c in command], check=True, cwd=ROOT, **kwargs)


# --- doctor: what this machine can and cannot do, before anything is installed -----------------------------

def load_by_path(name: str):
    """A standard-library-only module of effedu, loaded by path before effedu is installed."""
    spec = importlib.util.spec_from_file_location(f"effedu_{name}", ROOT / "effedu" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_cpus():
    """effedu/cpus.py: it counts usable CPUs with the standard library."""
    return load_by_path("cpus")


def machine_facts() -> dict:
    cpus = load_cpus()
    return {"python": sys.version_info[:3], "system": platform.system(), "machine": platform.machine().lower(),
            "root": str(ROOT), "free_gb": shutil.disk_usage(ROOT).free / 1e9, "usable_cores": cpus.available_cores(),
            "cpu_quota": cpus.cpu_quota(), "nvidia_gpu": nvidia_gpu(), "long_paths": windows_long_paths()}


def nvidia_gpu() -> bool:
    """An NVIDIA driver is present (its tool on the PATH, or its /proc entry on Linux)."""
    return shutil.which("nvidia-smi") is not None or Path("/proc/driver/nvidia/version").exists()


def windows_long_paths() -> bool:
    if os.name != "nt":
        return True
    try:
        import winreg  # Windows only

        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"SYSTEM\CurrentControlSet\Control\FileSystem") as key:
            return bool(winreg.QueryValueEx(key, "LongPathsEnabled")[0])
    except OSError:
        return False


# How deep below the course folder PyTorch installs files on Windows: ".venv\Lib\site-packages\" and torch's
# nested C++ headers — an estimate with a margin, not a measurement of the pinned wheel.
TORCH_DEPTH_CHARS = 200


def doctor_problems(facts: dict) -> list[tuple[str, str]]:
    """(severity, one actionable line) per finding: 'stop' blocks the install, 'note' is for information."""
    found = []
    if tuple(facts["python"][:2]) < MIN_PYTHON:
        how = {"Darwin": "install Python 3.12 from python.org or with `brew install python@3.12`, then run "
                         "`python3.12 course.py …`",
               "Windows": "install Python 3.12 from python.org or the Microsoft Store, then run `py -3.12 course.py …`",
               "Linux": "install python3.11 or newer (`sudo apt install python3.12`, pyenv or conda), then run "
                        "`python3.12 course.py …`"}.get(facts["system"], "install Python 3.11 or newer from python.org")
        found.append(("stop", f"Python {'.'.join(map(str, facts['python']))} is too old: effedu needs "
                              f"{MIN_PYTHON[0]}.{MIN_PYTHON[1]}+ — {how}."))
    if facts["system"] == "Darwin" and facts["machine"] in ("x86_64", "amd64"):
        found.append(("stop", "Intel Mac: PyTorch stopped publishing macOS x86 wheels after 2.2.2, so the pinned "
                              "torch cannot install here — use the class hub or Binder (see the README's "
                              "'Hub and Binder' section), or a lab machine."))
    if facts["system"] == "Windows" and not facts["long_paths"]:
        longest = len(facts["root"]) + 1 + TORCH_DEPTH_CHARS
        if longest > 259:
            found.append(("stop", f"The folder path is too long for Windows' 260-character limit (PyTorch "
                                  f"installs paths of about {longest} characters here): move the course to a short "
                                  "folder such as C:\\effedu (outside OneDrive), or enable long paths."))
    build = "cuda" if facts["system"] == "Linux" and facts["nvidia_gpu"] else "cpu"
    if facts["free_gb"] < DISK_NEEDED_GB[build]:
        found.append(("stop", f"Only {facts['free_gb']:.1f} GB free on this disk; the install needs about "
                              f"{DISK_NEEDED_GB[build]:g} GB: free some space or move the course folder."))
    cores = facts["usable_cores"]
    if facts["cpu_quota"] is not None:
        found.append(("note", f"{cores} usable CPU core(s): a container quota of {facts['cpu_quota']:g} CPUs. "
                              "Lessons time on one thread; \"all cores\" means these."))
    elif cores == 1:
        found.append(("note", "1 usable CPU core: the thread experiments have nothing to compare here."))
    if facts["nvidia_gpu"] and facts["system"] == "Windows":
        found.append(("note", "An NVIDIA GPU is visible, but the PyTorch wheel pip installs on Windows is the CPU "
                              "build: the lessons measure on the CPU. For the GPU, install PyTorch's CUDA build into "
                              ".venv (pytorch.org's Windows command, same version as constraints.txt), then run "
                              "course.py again."))
    elif facts["nvidia_gpu"]:
        found.append(("note", "An NVIDIA GPU is visible: the lessons measure on it (thread experiments stay on the "
                              "CPU)."))
    elif facts["system"] == "Darwin":
        found.append(("note", "No NVIDIA GPU: the lessons measure on the CPU (Apple's MPS is opt-in, device='mps')."))
    else:
        found.append(("note", "No NVIDIA GPU visible: the lessons measure on the CPU."))
    return found


def doctor(_: list[str] | None = None, *, stop: bool = True) -> list[tuple[str, str]]:
    found = doctor_problems(machine_facts())
    for severity, line in found:
        print(f"{'✗' if severity == 'stop' else '·'} {line}", flush=True)
    if stop and any(severity == "stop" for severity, _ in found):
        sys.exit("course.py: stopped before installing anything (see the lines marked ✗).")
    return found


# --- install: lean for students, with the test tools for `test` ------------------------------------------

def cpu_index_reachable(timeout_s: float = 4.0) -> bool:
    """Can PyTorch's CPU wheel index be reached? A quick probe, so that a closed network costs seconds, not pip's
    multi-minute retries."""
    try:
        with urllib.request.urlopen(TORCH_CPU_INDEX + "/torch/", timeout=timeout_s) as response:
            return response.status == 200
    except OSError:
        return False


def torch_source(facts: dict, reachable) -> tuple[list[str], str]:
    """pip arguments that choose the PyTorch build, and a sentence saying which and why."""
    if facts["system"] == "Windows":
        return [], "PyTorch: the default build from PyPI — on Windows the CPU build, even with an NVIDIA GPU."
    if facts["system"] != "Linux" or facts["nvidia_gpu"]:
        return [], ("PyTorch: the default build from PyPI (CUDA on Linux with an NVIDIA GPU; Apple's MPS on a "
                    "Mac).")
    if reachable():
        return (["--index-url", TORCH_CPU_INDEX, "--extra-index-url", "https://pypi.org/simple"],
                "PyTorch: the CPU build (no NVIDIA GPU here), a few hundred MB.")
    return [], ("PyTorch: the CPU index could not be reached, so the default build comes from PyPI (several GB on "
                "Linux; it runs on the CPU all the same).")


def install(with_tests: bool = False) -> Path:
    """Create ``.venv`` in this folder (once) and install the pinned packages of ``constraints.txt`` into it — the
    lessons' set, plus the test tools with ``with_tests`` — and this project in editable mode; PyTorch's CPU build
    where no NVIDIA GPU is seen on Linux. Returns the environment's Python; returns at once when pyproject.toml and
    constraints.txt are unchanged since the last install."""
    if sys.version_info < MIN_PYTHON:
        doctor()
    if not venv_python().exists():
        print(f"creating a virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    python = venv_python()
    target = ".[test]" if with_tests else "."
    stamp = VENV / "effedu-installed.sha256"
    done = stamp.read_text() if stamp.exists() else ""
    if done == install_digest(target) or (not with_tests and done == install_digest(".[test]")):
        return python  # nothing changed (a `test` install also holds everything `lab` needs)
    index, sentence = torch_source(machine_facts(), cpu_index_reachable)
    print(sentence, flush=True)
    run(python, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(python, "-m", "pip", "install", "--constraint", "constraints.txt", *index, "--editable", target)
    stamp.write_text(install_digest(target))
    return python


def install_digest(target: str) -> str:
    files = b"".join((ROOT / name).read_bytes() for name in ("pyproject.toml", "constraints.txt"))
    return hashlib.sha256(files + target.encode()).hexdigest()


# --- student copies: no answers, no outputs, no widget state; updates that keep the student's work ---------

CHECK_MARKER = "# NBVAL_CHECK_OUTPUT"


def student_version(lesson: Path) -> dict:
    """The student copy of a lesson: no cells tagged for instructors (solutions), no outputs, no execution counts,
    no saved widget state, and no test markers."""
    notebook = json.loads(lesson.read_text(encoding="utf-8"))
    notebook.get("metadata", {}).pop("widgets", None)
    cells = []
    for cell in notebook["cells"]:
        if INSTRUCTOR_TAGS & set(cell.get("metadata", {}).get("tags", [])):
            continue
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
            cell.get("metadata", {}).pop("execution", None)
            source = "".join(cell["source"]).replace(CHECK_MARKER + "\n", "")
            cell["source"] = source.splitlines(keepends=True)
        cells.append(cell)
    notebook["cells"] = cells
    return notebook


def write_notebook(path: Path, notebook: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def student_copies(target: Path = STUDENT, lessons: Path = NOTEBOOKS) -> list[Path]:
    """Write the student copy of every lesson that has none yet. An existing copy is never overwritten: it holds
    the student's work (``update`` brings a new lesson version into it instead)."""
    written = []
    for lesson in sorted(lessons.glob("*.ipynb")):
        copy = target / lesson.name
        if copy.exists():
            continue
        notebook = student_version(lesson)
        write_notebook(copy, notebook)
        write_notebook(target / ".pristine" / lesson.name, notebook)
        written.append(copy)
    return written


def _sources(notebook: dict) -> dict[str, str]:
    return {cell["id"]: "".join(cell["source"]) for cell in notebook["cells"] if "id" in cell}


CONFLICT_NOTE = ("**⚠ Update conflict.** You and the new version of the course both changed the cell above this "
                 "note. Your version is above; the new version is below. Keep what you need, then delete the other "
                 "cell and this note.")


def merge_update(mine: dict, handed_out: dict | None, new: dict) -> tuple[dict, list[str]]:
    """The new lesson version with everything the student wrote carried over, by cell id: cells the student edited
    keep the student's text, cells the student added stay after the cell they followed. ``handed_out`` is the copy
    as the student received it (None for copies made before it was kept: then any cell that differs from the new
    version counts as the student's). A cell both the student and the new version changed is a conflict: both
    versions stay, the student's first, with a note between them. Returns the merged notebook and a line per carried
    cell or conflict."""
    original = _sources(handed_out) if handed_out is not None else _sources(new)
    new_ids = {cell["id"] for cell in new["cells"]}
    edited = {cell["id"]: cell for cell in mine["cells"]
              if cell.get("id") in original and "".join(cell["source"]) != original[cell["id"]]}
    merged, notes = [], []
    for cell in new["cells"]:
        if cell["id"] not in edited:
            merged.append(cell)
            continue
        merged.append(edited[cell["id"]])
        if handed_out is not None and "".join(cell["source"]) != original[cell["id"]]:
            # both changed it: keep both, visibly — the student's first, then a note, then the new version
            merged.append({"cell_type": "markdown", "id": f"{cell['id']}-conflict", "metadata": {},
                           "source": [CONFLICT_NOTE]})
            merged.append({**cell, "id": f"{cell['id']}-new"})
            notes.append(f"CONFLICT in cell {cell['id']}: you and the new version both changed it — both are in "
                         "your copy (yours first, then the new one); keep what you need and delete the other")
        else:
            notes.append(f"kept your version of cell {cell['id']}")
    # cells the student added (or whose id the new version dropped): after the nearest earlier cell that survived
    for index, cell in enumerate(mine["cells"]):
        if cell.get("id") in original and cell.get("id") in new_ids:
            continue
        if cell.get("id") in original and "".join(cell["source"]) == original[cell["id"]]:
            continue  # a lesson cell the new version removed, untouched by the student: it goes
        anchor = next((mine["cells"][j].get("id") for j in range(index - 1, -1, -1)
                       if any(c.get("id") == mine["cells"][j].get("id") for c in merged)), None)
        position = 0 if anchor is None else 1 + next(i for i, c in enumerate(merged) if c.get("id") == anchor)
        merged.insert(position, cell)
        notes.append(f"kept your cell {cell.get('id', '(no id)')}")
    return {**new, "cells": merged}, notes


def update(_: list[str] | None = None, target: Path = STUDENT, lessons: Path = NOTEBOOKS) -> list[str]:
    """Bring each lesson's current version into the student copies without losing anything the student wrote;
    the previous copy is kept beside it (``<lesson>.before-update-<time>.ipynb``)."""
    report = []
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    for lesson in sorted(lessons.glob("*.ipynb")):
        copy, pristine = target / lesson.name, target / ".pristine" / lesson.name
        new = student_version(lesson)
        if not copy.exists():
            write_notebook(copy, new)
            write_notebook(pristine, new)
            report.append(f"{lesson.name}: new lesson, copied")
            continue
        mine = json.loads(copy.read_text(encoding="utf-8"))
        handed_out = json.loads(pristine.read_text(encoding="utf-8")) if pristine.exists() else None
        if handed_out is not None and _sources(handed_out) == _sources(new):
            report.append(f"{lesson.name}: already up to date")
            continue
        merged, notes = merge_update(mine, handed_out, new)
        shutil.copy2(copy, copy.with_name(f"{copy.stem}.before-update-{stamp}.ipynb"))
        write_notebook(copy, merged)
        write_notebook(pristine, new)
        report.append(f"{lesson.name}: updated" + (f" ({'; '.join(notes)})" if notes else ""))
    conflicts = sum(line.count("CONFLICT") for line in report)
    if conflicts:
        report.append(f"{conflicts} conflict(s): search your copies for \"Update conflict\" and choose, cell by cell")
    for line in report:
        print(line)
    return report


def student(_: list[str]) -> None:
    written = student_copies()
    for path in written:
        print(f"wrote {path.relative_to(ROOT)}")
    if not written:
        print("every lesson already has a student copy (python3 course.py update brings new versions in)")


# --- JupyterLab for a class ---------------------------------------------------------------------------------

QUIET_LAB_SETTINGS = {"@jupyterlab/apputils-extension/notification.jupyterlab-settings":
                      {"fetchNews": "false", "checkForUpdates": False}}


def lab_environment(home: Path = JUPYTER_HOME) -> dict:
    """Environment variables that keep JupyterLab's settings, workspaces and runtime files in the course's own
    folder, with the news pop-up and the update check switched off."""
    settings = home / "lab" / "user-settings"
    for name, value in QUIET_LAB_SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value, indent=1))
    return {**os.environ, "JUPYTER_CONFIG_DIR": str(home), "JUPYTERLAB_SETTINGS_DIR": str(settings),
            "JUPYTERLAB_WORKSPACES_DIR": str(home / "lab" / "workspaces"), "JUPYTER_RUNTIME_DIR": str(home / "runtime")}


def lab_command(python: Path, root: Path = ROOT) -> list[str]:
    """JupyterLab bound to this machine only; it generates a fresh token and prints the URL that carries it."""
    command = [str(python), "-m", "jupyterlab", "--ServerApp.ip=127.0.0.1", f"--ServerApp.root_dir={root}",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if getattr(os, "geteuid", lambda: 1)() == 0:
        command.append("--allow-root")  # containers and CI run as root; Jupyter refuses to start otherwise
    return command + [f"student/{FIRST_LESSON}"]


def lab(extra: list[str]) -> None:
    doctor()
    python = install(with_tests=False)
    student_copies()  # students work in student/; notebooks/ keeps the reference solutions for instructors
    run(*lab_command(python), *extra, env=lab_environment())


# --- tests --------------------------------------------------------------------------------------------------

TEST_BUDGET_SCALE = "0.3"  # under test each round times on 30 % of its budget, each epoch trains on 30 % of its batches


def test_environment(build: Path) -> dict:
    """What the test run's kernels and JupyterLab get: effedu's cache (lesson 09's latency table, torch.compile's
    code) in build/, never the user's, fresh on every run; the lessons' short timing budget; Jupyter's settings and
    runtime files in build/ too; where the first pytest run notes the user's folders for the last test's check."""
    cache = build / "test-cache"
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True)
    return {**lab_environment(build / "jupyter"), "EFFEDU_CACHE": str(cache),
            "EFFEDU_BUDGET_SCALE": TEST_BUDGET_SCALE, "EFFEDU_UNTOUCHED_SNAPSHOT": str(cache / "untouched.json"),
            # two kernels share two cores during the run: each starts with one thread (lessons set their own counts
            # where threads are the subject), and OpenMP threads wait passively — spinning, two 2-thread trainings
            # take turns at ~3× the time (here: 2.4 s alone, 8.0 s two at once spinning, 2.8 s waiting passively)
            "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"}


def test(extra: list[str]) -> None:
    """Unit tests, every lesson with its solutions under nbval, and every student copy run in a browser — two at a
    time (pytest-xdist: the browser beside the units and lessons, one test module or notebook per worker), then
    the tests that decide on real timings (marked ``serial``) alone, and last the check that nothing wrote the
    user's folders. The student copies are also checked statically (tests/test_project.py); ``--student-copies``
    runs them under nbval as well, for a machine without Chromium."""
    doctor()
    if not (ROOT / "tests").exists():
        sys.exit("course.py test: this folder is a student release: the tests (which hold the answers) are not in it")
    python = install(with_tests=True)
    build = ROOT / "build"
    paths = ["tests", "notebooks"]
    if "--student-copies" in extra:
        extra = [arg for arg in extra if arg != "--student-copies"]
        check_copies = build / "student-check"  # fresh copies: the user's own student/ work is never run
        shutil.rmtree(check_copies, ignore_errors=True)
        student_copies(check_copies)
        paths.append(str(check_copies))
    nbval = ["--nbval-lax", "--nbval-current-env", "--nbval-cell-timeout=300"]
    env = test_environment(build)
    passes = [[python, "-m", "pytest", *paths, *nbval, "-n", "2", "--dist", "loadscope", "-m",
               "not serial and not last", "--durations=10", *extra],
              [python, "-m", "pytest", "tests", "-m", "serial or last", *extra]]
    for command in passes:
        try:
            run(*command, timeout=TEST_TIMEOUT_S, env=env)
        except subprocess.TimeoutExpired:
            sys.exit(f"tests did not finish within {TEST_TIMEOUT_S // 60} minutes")
        except subprocess.CalledProcessError as failed:
            sys.exit(failed.returncode)


# --- teaching: reference results, scorecards, a static edition (run inside the virtual environment) ---------

def kit(command: str):
    def go(extra: list[str]) -> None:
        python = install(with_tests=False)
        run(python, "-m", "effedu", command, *extra)
    return go


def release(extra: list[str]) -> None:
    """The gradable release (tools/release.py, with the course's own Python): the student course and the nbgrader
    assignments. Only the full project has it — a student release holds no answers to release."""
    tool = ROOT / "tools" / "release.py"
    if not tool.exists():
        sys.exit("course.py release: this folder is a student release (no solutions in it): run it in the project")
    python = install(with_tests=False)
    run(python, tool, *extra)


def main() -> None:
    load_by_path("_console").printable()  # a cp1252 console gets "x" for ✗, never a UnicodeEncodeError
    commands = {"lab": lab, "test": test, "doctor": doctor, "install": lambda _: install(), "student": student,
                "update": update, "reference": kit("reference"), "scorecard": kit("scorecard"),
                "class": kit("class"), "html": kit("html"), "release": release}
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=list(commands))
    args, extra = parser.parse_known_args()
    commands[args.command](extra)


if __name__ == "__main__":
    main()
