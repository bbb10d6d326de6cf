"""The project's own promises: pins agree, notebooks keep no stray outputs, set-up stays in the two commands."""
import ast
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CHECKED = "# NBVAL_CHECK_OUTPUT"


def pyproject_requirements() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return set(project["dependencies"]) | set(project["optional-dependencies"]["test"])


def test_environment_yml_has_the_same_pins_as_pyproject():
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))
    options = {line for line in pip_section if line.startswith("-")}  # "-e .", the CPU wheel index
    assert set(pip_section) - options == pyproject_requirements()
    assert "-e ." in pip_section  # Binder and conda users get the package itself too


def test_every_requirement_is_pinned_and_agrees_with_the_lock_file():
    lock = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            lock[name.lower().replace("_", "-")] = version
    for requirement in pyproject_requirements():
        name, version = re.fullmatch(r"([A-Za-z0-9_.-]+)==([^\s;]+)", requirement).groups()
        assert lock[name.lower().replace("_", "-")] == version, requirement


def test_thop_is_the_mit_package_and_its_undeclared_needs_are_declared():
    names = {r.split("==")[0] for r in pyproject_requirements()}
    assert "thop" in names and "ultralytics-thop" not in names
    assert {"numpy", "setuptools"} <= names


def code_cells(path):
    return ["".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_stores_only_checked_outputs_and_no_widget_state(path):
    notebook = json.loads(path.read_text())
    assert "widgets" not in notebook.get("metadata", {}), "saved widget state (another machine's timings)"
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        if CHECKED not in source:
            assert cell["outputs"] == [], f"stored output (timings?) in unchecked cell: {source[:60]}"
            assert cell["execution_count"] is None, f"stored execution count in: {source[:60]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_every_checked_cell_carries_the_output_the_tests_compare(path):
    """nbval treats a checked cell without a stored output as unrun and compares nothing: refresh it
    (tools/refresh_notebook_outputs.py) so the check has something to check."""
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] == "code" and CHECKED in "".join(cell["source"]):
            assert cell["outputs"] and cell["execution_count"], f"checked cell without output: {cell['source'][:2]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_follows_the_lesson_shape(path):
    notebook = json.loads(path.read_text())
    header = "".join(notebook["cells"][0]["source"])
    for part in ("You will learn", "Prerequisites", "Time", "Hardware"):
        assert part in header, f"header lacks {part!r}"
    code = code_cells(path)
    assert any("solution" in c.get("metadata", {}).get("tags", []) for c in notebook["cells"])
    assert any("explorers." in c for c in code), "no widget explorer"
    assert any('check("' in c for c in code), "no checked exercise"
    assert any("verdict." in c for c in code), "no conclusion from effedu.verdict"
    # a function is written only where an exercise asks for one: its solution, or the student's empty skeleton
    written = [c for c in notebook["cells"] if c["cell_type"] == "code"
               and "solution" not in c["metadata"].get("tags", []) and "...  # your code" not in "".join(c["source"])]
    assert not any(re.search(r"^\s*(def|class) ", "".join(c["source"]), re.M) for c in written), \
        "helper code belongs in effedu"
    text = "".join("".join(c["source"]) for c in notebook["cells"])
    assert "## Summary" in text and "Papers" in text


MEASURED = r"\b(ratio(?:_lo|_hi)?|median_ms|min_ms|(?:time_)?shares?|speedups?)\b"
DECISION = re.compile(rf"\b(if|elif|while)\b[^\n]*{MEASURED}|{MEASURED}[^\n]*\bif\b[^\n]*\belse\b"
                      rf"|{MEASURED}\W*(<|>|<=|>=)|(<|>|<=|>=)\W*[\w.\[\]\"']*{MEASURED}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_conclusions_come_from_effedu_verdict(path):
    """No cell decides a conclusion with its own comparison on measured numbers: that belongs in effedu.verdict."""
    for source in code_cells(path):
        for line in source.splitlines():
            if not line.lstrip().startswith("#"):
                assert not DECISION.search(line), f"a conclusion decided in the notebook: {line.strip()}"


def test_the_decision_scan_catches_what_it_should():
    for line in ('x = "faster" if row.ratio < 1 else "slower"', "if frame.ratio_hi < 1:", "if share > 0.5:",
                 "flag = row.median_ms > 3", 'word = "big" if shares["a"] > shares["b"] else "small"'):
        assert DECISION.search(line), line
    for line in ('verdict.speed(frame, "b")', 'frame[["median_ms", "ratio"]]', "ratio = 1 / 3"):
        assert not DECISION.search(line), line


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_code_lines_fit_the_screen(path):
    for source in code_cells(path):
        for line in source.splitlines():
            assert len(line) <= 100, f"{len(line)} characters: {line[:60]}…"


def test_nothing_reads_the_developers_shared_folder():
    paths = list((ROOT / "effedu").rglob("*.py")) + list((ROOT / "tests").rglob("*.py")) + NOTEBOOKS
    for path in paths:
        if path != Path(__file__).resolve():
            assert "../shared" not in path.read_text(), path


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "python3 course.py test" in readme and "python3 course.py lab" in readme
    assert "python3 course.py test" in (ROOT / ".ci" / "run").read_text()


INSTRUCTOR_TAGS = {"solution", "instructor"}


def _names(tree, context) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, context):
            found.add(node.id)
        elif context is ast.Store and isinstance(node, (ast.Import, ast.ImportFrom)):
            found |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return found


def solution_names_read_elsewhere(notebook: dict) -> list[str]:
    """What a student copy would lack: names a solution (or instructor) cell defines that a later cell of the
    student copy reads — unless an earlier student cell defines them too (the ``answer = ...`` stub) or the only
    readers are ``check(...)`` cells, which report "not answered yet" for a stub. Empty for a sound lesson."""
    cells = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    problems, stubbed = [], set()
    for index, cell in enumerate(cells):
        tree = ast.parse("".join(cell["source"]))
        if not INSTRUCTOR_TAGS & set(cell.get("metadata", {}).get("tags", [])):
            stubbed |= _names(tree, ast.Store)
            continue
        for name in sorted(_names(tree, ast.Store) - stubbed):
            for later in cells[index + 1:]:
                source = "".join(later["source"])
                if INSTRUCTOR_TAGS & set(later.get("metadata", {}).get("tags", [])) or "check(" in source:
                    continue
                if name in _names(ast.parse(source), ast.Load):
                    problems.append(f"{name!r} (defined by a solution, read by: {source.strip()[:60]}…)")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_student_copies_need_nothing_a_solution_defines(path):
    """Statically, what running the student copy would catch (the browser test runs every copy as well)."""
    assert solution_names_read_elsewhere(json.loads(path.read_text())) == []


def test_the_solution_scan_catches_a_name_only_a_solution_defines():
    def cell(source, *tags):
        return {"cell_type": "code", "source": source, "metadata": {"tags": list(tags)}}

    leaking = {"cells": [cell("x = 1"), cell("answer = 2\nimport statistics", "solution"),
                         cell("check('01.1', answer)"), cell("print(statistics.median([1]))")]}
    assert len(solution_names_read_elsewhere(leaking)) == 1 and "'statistics'" in solution_names_read_elsewhere(
        leaking)[0]
    stubbed = {"cells": [cell("design = ..."), cell("design = 3", "solution"), cell("train(design)")]}
    assert solution_names_read_elsewhere(stubbed) == []


@pytest.mark.last
def test_the_suite_left_the_users_cache_and_student_copies_untouched(untouched_before):
    """Runs after every test and lesson: no test wrote ~/.cache/effedu (or the platform's cache folder) or the
    checkout's student/ — both belong to the user."""
    from conftest import listing

    for place, before in untouched_before.items():
        assert listing(Path(place)) == before, f"the test run changed {place}"


def test_importing_effedu_changes_no_global_state_and_loads_no_compiler():
    """A library does nothing at import: no warning display or filter changed, torch's compiler not loaded (the
    `python -m effedu class` command then starts without it)."""
    code = ("import sys, warnings, torch\n"
            "before = (warnings.showwarning, list(warnings.filters))\n"
            "import effedu, effedu.__main__, effedu.scorecard\n"
            "assert (warnings.showwarning, list(warnings.filters)) == before, 'warnings changed at import'\n"
            "loaded = [m for m in sys.modules if m.startswith(('torch._inductor', 'torch._dynamo'))]\n"
            "assert not loaded, loaded[:3]\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-1500:]


GUIDE_SECTIONS = ("## Plan (minutes)", "## Answers to the Predict cells", "## Things to try", "## Discussion questions",
                  "## What the class is likely to see", "## Noise", "## When a machine contradicts the paper",
                  "## Exercise answers", "## Known limitations")


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_lesson_has_a_guide_with_every_section_and_a_readme_row(notebook):
    guide = ROOT / "instructor" / f"{notebook.stem}.md"
    assert guide.exists(), f"no instructor guide for {notebook.name}"
    text = guide.read_text(encoding="utf-8")
    missing = [section for section in GUIDE_SECTIONS if section not in text]
    assert not missing, f"{guide.name} lacks {missing}"
    assert f"| {notebook.name[:2]} | `{notebook.name}` |" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_one_version_number_with_its_changelog_entry():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "effedu.__version__"}
    version = re.search(r'^__version__ = "([^"]+)"', (ROOT / "effedu" / "__init__.py").read_text(), re.M).group(1)
    newest = re.search(r"^## (\S+)", (ROOT / "CHANGELOG.md").read_text(encoding="utf-8"), re.M).group(1)
    assert newest == version


def test_python_lines_fit_in_120_characters():
    """The style the code review asked for: no line of the package, tests, tools or benchmarks over 120 characters."""
    files = [*ROOT.glob("effedu/*.py"), *ROOT.glob("tests/*.py"), *ROOT.glob("tools/*.py"),
             *ROOT.glob("benchmarks/*.py"), ROOT / "course.py"]
    long_lines = [f"{path.relative_to(ROOT)}:{number}" for path in files
                  for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if len(line) > 120]
    assert not long_lines, f"lines over 120 characters: {long_lines}"
