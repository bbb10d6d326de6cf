"""The gradable release (``course.py release``): the student course holds no solution and no graded answer, sets up
as the project does, and its lessons are the student copies; the nbgrader assignments go through the real nbgrader —
generated without solutions, autograded (the reference solutions score full points, a blank copy 0, a copy that
rewrote the visible checks still fails the hidden tests) and exported as a grade CSV."""
import copy
import csv
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow  # the nbgrader cycle runs every assignment three times


def load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


release = load(ROOT / "tools" / "release.py", "effedu_release")
course = load(ROOT / "course.py", "effedu_course_for_release")


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    out = tmp_path_factory.mktemp("release")
    points = release.release(out)
    return out, points


def solution_lines() -> set[str]:
    """Every line a lesson's solution cells hold that no other cell of it holds (a stub's signature is not an
    answer)."""
    found = set()
    for lesson in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(lesson.read_text(encoding="utf-8"))["cells"]
        shown = {line.strip() for c in cells if "solution" not in c.get("metadata", {}).get("tags", [])
                 for line in "".join(c["source"]).splitlines()}
        for cell in cells:
            if "solution" in cell.get("metadata", {}).get("tags", []):
                found |= {line.strip() for line in "".join(cell["source"]).splitlines() if answers(line.strip())
                          and line.strip() not in shown}
    return found


def answers(line: str) -> bool:
    """A line that carries an answer — an assignment, a call, a formula or a number — not an import, a comment or a
    bare ``return name``."""
    return (len(line) >= 8 and not line.startswith(("#", "import ", "from "))
            and bool(re.search(r"[=*/+(\[]|\d", line)))


def hidden_values(nbgrader: Path) -> set[str]:
    """The literal numbers of every hidden test: what a student must not find in the student course."""
    values = set()
    for notebook in (nbgrader / "source").rglob("*.ipynb"):
        for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
            text = "".join(cell["source"])
            for hidden in re.findall(r"### BEGIN HIDDEN TESTS(.*?)### END HIDDEN TESTS", text, re.S):
                values |= set(re.findall(r"-?\d+\.\d{3,}", hidden))  # floats: tensors, rewards, samples
                values |= {v for v in re.findall(r"== (\d{5,})\b", hidden)}  # counts: MACs, elements
    return values


def student_text(folder: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in folder.rglob("*") if p.is_file())


def test_the_student_course_holds_no_solution_and_no_graded_value(released):
    out, points = released
    student = out / "student"
    assert not (student / "instructor").exists() and not (student / "tests").exists()
    text = student_text(student)
    # A write-it-yourself exercise re-derives something effedu computes (00.4 the rule, 03.4 the shuffle, 07.3 the
    # receptive field): the package is the course's library and ships, readable, so those lines may be in it —
    # grading forbids calling it (effedu.grading). What must not ship is a solution the package does not hold.
    library = {line.strip() for path in (ROOT / "effedu").glob("*.py") for line in path.read_text("utf-8").splitlines()}
    lines = solution_lines() - library
    assert len(lines) > 20 and not [line for line in lines if line in text]
    values = hidden_values(out / "nbgrader")
    assert values and not [value for value in values if value in text]
    assert sum(points.values()) > 0


def test_the_student_lessons_are_the_student_copies(released):
    out, _ = released
    for lesson in sorted((ROOT / "notebooks").glob("*.ipynb")):
        shipped = json.loads((out / "student" / "notebooks" / lesson.name).read_text(encoding="utf-8"))
        assert shipped == course.student_version(lesson)


def test_the_student_course_sets_up_as_the_project_does(released, tmp_path):
    out, _ = released
    student = load(out / "student" / "course.py", "effedu_student_course")
    written = student.student_copies(tmp_path / "copies")
    assert len(written) == len(list((out / "student" / "notebooks").glob("*.ipynb"))) >= 12
    assert student.lab_command(Path("py"))[-1] == f"student/{student.FIRST_LESSON}"
    assert (out / "student" / "pyproject.toml").exists() and (out / "student" / "constraints.txt").exists()
    for command, says in (("release", "student release"), ("test", "student release")):
        done = subprocess.run([sys.executable, "course.py", command], cwd=out / "student", capture_output=True,
                              text=True, timeout=60)
        assert done.returncode != 0 and says in done.stderr


def nbgrader(folder: Path, *args: str) -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}  # its alembic
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=folder, capture_output=True, text=True,
                          env=env, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def submission(released_notebook: dict, source_notebook: dict, kind: str) -> dict:
    """What a student hands in: the reference solutions, the blank copy, or one that rewrote the checks."""
    solutions = {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"]) for c in source_notebook["cells"]}
    handed_in = copy.deepcopy(released_notebook)
    for cell in handed_in["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if kind == "reference" and meta.get("solution"):
            cell["source"] = re.sub(r"\n[ \t]*### (BEGIN|END) SOLUTION", "", "\n" + solutions[meta["grade_id"]])[1:]
        if kind == "cheater" and meta.get("grade"):
            cell["source"] = "print('all good')  # the checks, rewritten"
        if kind == "cheater" and meta.get("solution"):
            written = solutions[meta["grade_id"]]  # the handed-out cell holds only nbgrader's stub
            function, judgement = re.search(r"def (\w+)\(", written), re.search(r"^(answer_\w+) =", written, re.M)
            cell["source"] = (f"def {function.group(1)}(*args, **kwargs):\n    return None\n" if function else
                              f"{judgement.group(1)} = None\n")
    return handed_in


def test_nbgrader_generates_autogrades_and_exports(released):
    out, points = released
    folder = out / "nbgrader"
    for name in points:
        nbgrader(folder, "generate_assignment", name, "--force")
        source = json.loads((folder / "source" / name / f"{name}.ipynb").read_text(encoding="utf-8"))
        handed_out = json.loads((folder / "release" / name / f"{name}.ipynb").read_text(encoding="utf-8"))
        text = json.dumps(handed_out)
        assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
        assert not [value for value in hidden_values(folder) if value in text]
        assert not [line for line in solution_lines() if line in text]
        for kind in ("reference", "blank", "cheater"):
            path = folder / "submitted" / kind / name / f"{name}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(submission(handed_out, source, kind)), encoding="utf-8")
    for name in points:
        nbgrader(folder, "autograde", name, "--create", "--force")
    nbgrader(folder, "export", "--to", str(folder / "grades.csv"))
    with open(folder / "grades.csv", newline="") as grades:
        rows = {(row["assignment"], row["student_id"]): (float(row["score"]), float(row["max_score"]))
                for row in csv.DictReader(grades)}
    for name, total in points.items():
        assert rows[(name, "reference")] == (total, total)
        assert rows[(name, "blank")] == (0.0, total)
        assert rows[(name, "cheater")][0] == 0.0
