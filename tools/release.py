"""The gradable release: ``python3 course.py release --out DIR`` runs this with the course's .venv Python.

It writes two things a lecturer publishes, both generated from the lessons — never maintained by hand:

* ``DIR/student/`` — a self-contained course for students: the lessons as ``course.py student`` writes them (no
  solutions, outputs or widget state), the ``effedu`` package, ``course.py``, the set-up files and a student README.
  No solved lessons, no instructor guides, no reference results, no tests (they hold answers too).
* ``DIR/nbgrader/`` — an nbgrader course folder: ``source/<assignment>/<assignment>.ipynb`` per group of lessons, in
  nbgrader's own format (cell metadata schema 3, ``### BEGIN SOLUTION`` … ``### END SOLUTION``, autograder test
  cells with points and ``### BEGIN HIDDEN TESTS`` … ``### END HIDDEN TESTS``), and ``nbgrader_config.py``.

Each graded task is a lesson exercise whose answer is something the student *writes* (a cost formula, a block, a
decision rule) or a judgement on a recorded measurement. Its solution comes from the lesson's ``solution`` cell, its
visible test is the lesson's own check on the lesson's example, and its hidden tests call the student's function on
cases the lesson never shows — through ``effedu.grading.graded_call``, with effedu's own version switched off — and
compare with literal values computed here, at release time. Judgement tasks are graded on recorded frames drawn here
from a seeded generator and written into the assignment, so a grade never depends on the grading machine's speed.

This file is not part of the student release: the hidden cases live here.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import random
import re
import shutil
import sys
from pathlib import Path
from typing import Callable

import math

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_weights

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import course  # noqa: E402  (the student copies are course.py's)

from effedu import nas, stats  # noqa: E402  (release time: effedu computes every hidden test's literal here)
from effedu.blocks import ChannelShuffle, LowRankConv  # noqa: E402
from effedu.counting import count_macs, memory_traffic  # noqa: E402
from effedu.structure import receptive_field  # noqa: E402


SEED = 2026  # the hidden cases and recorded frames are drawn from this seed: a release is reproducible
STUDENT_FILES = ["course.py", "pyproject.toml", "constraints.txt", "environment.yml", "postBuild", "start", "LICENSE",
                 ".gitignore"]


@dataclasses.dataclass
class Task:
    """One graded exercise. ``key``: the lesson exercise ("11.3"); ``name``: the function (or answer variable) the
    student writes; ``points``; ``hidden``: the hidden test's code, literals included, written at release time.
    A judgement task has ``recorded`` instead: (a read-only cell with a recorded measurement drawn here, the answer
    it supports) — its visible test only checks the answer's form (``options``)."""
    key: str
    name: str
    points: int
    hidden: Callable[[random.Random], str] | None = None
    recorded: Callable[[random.Random], tuple[str, object]] | None = None
    options: str = ""


def _literal(tensor: torch.Tensor) -> str:
    return f"torch.tensor({[round(v, 6) for v in tensor.flatten().tolist()]}).reshape{tuple(tensor.shape)}"


def _fold_hidden(rng: random.Random) -> str:
    """Three convs of shapes the lesson never shows, folded by torch's own function here; the student's fold is
    compared with the literal result, with every fold helper switched off."""
    lines = []
    for out_channels, in_channels, k in ((3, 2, 1), (2, 3, 3), (4, 1, 1)):
        g = torch.Generator().manual_seed(rng.randrange(10**6))
        w = torch.randn(out_channels, in_channels, k, k, generator=g)
        b, mean, beta = (torch.randn(out_channels, generator=g) for _ in range(3))
        var, gamma = torch.rand(out_channels, generator=g) + 0.5, torch.rand(out_channels, generator=g) + 0.5
        eps = 1e-3
        fused_w, fused_b = fuse_conv_bn_weights(w, b, mean, var, eps, gamma, beta)
        lines += [f"w, b = graded_call(fold_batchnorm, {_literal(w)}, {_literal(b)}, {_literal(mean)}, "
                  f"{_literal(var)}, {_literal(gamma)}, {_literal(beta)}, {eps}, forbid=grading.BLOCKS)",
                  f"assert torch.allclose(torch.as_tensor(w), {_literal(fused_w.detach())}, atol=1e-4)",
                  f"assert torch.allclose(torch.as_tensor(b), {_literal(fused_b.detach())}, atol=1e-4)"]
    return "\n".join(lines)


def _identity_hidden(rng: random.Random) -> str:
    """Channel counts the lesson never shows: the kernel must reproduce a random input, and sum to the channels."""
    lines = []
    for channels in (1, 3, 7):
        seed = rng.randrange(10**6)
        lines += [f"kernel = torch.as_tensor(graded_call(identity_kernel, {channels}, forbid=grading.BLOCKS))",
                  f"assert tuple(kernel.shape) == ({channels}, {channels}, 3, 3)",
                  f"assert float(kernel.sum()) == {float(channels)}",
                  f"x = torch.randn(2, {channels}, 6, 4, generator=torch.Generator().manual_seed({seed}))",
                  "assert torch.allclose(torch.nn.functional.conv2d(x, kernel.to(x.dtype), padding=1), x)"]
    return "\n".join(lines)


def _rounded(values) -> list[float]:
    return [round(float(v), 4) for v in values]


OUTCOMES = {stats.BELOW: "faster", stats.ABOVE: "slower", stats.INSIDE: "no clear difference",
            stats.TOO_FEW: "too few rounds to decide"}


def _outcome(candidate: list[float], baseline: list[float]) -> str:
    return OUTCOMES[stats.median_interval(stats.paired_ratios(candidate, baseline)).vs(1.0).where]


def _protocols(rng: random.Random) -> tuple[str, object]:
    """Two identical networks timed on a machine that slows down as it warms: one after the other (all of A, then
    all of B) and interleaved. Only the interleaved rounds can decide; what they say is the rule's."""
    rounds, drift = 10, 0.012 * (1 + rng.random())  # the machine slows by 1.2–2.4 % per round
    noise = [math.exp(rng.gauss(0, 0.02)) for _ in range(4 * rounds)]
    a_then_b = [_rounded(5 * (1 + drift * t) * noise[t] for t in range(rounds)),
                _rounded(5 * (1 + drift * (rounds + t)) * noise[rounds + t] for t in range(rounds))]
    interleaved = [_rounded(5 * (1 + drift * 2 * t) * noise[2 * rounds + 2 * t] for t in range(rounds)),
                   _rounded(5 * (1 + drift * (2 * t + 1)) * noise[2 * rounds + 2 * t + 1] for t in range(rounds))]
    code = (f"one_after_the_other = {{'A': {a_then_b[0]}, 'B': {a_then_b[1]}}}  # ms: all of A, then all of B\n"
            f"interleaved = {{'A': {interleaved[0]}, 'B': {interleaved[1]}}}  # ms: A, B, A, B, … round by round")
    return code, ("interleaved", _outcome(interleaved[1], interleaved[0]))


def _fold_record(rng: random.Random) -> tuple[str, object]:
    """A recorded comparison of a network and its BatchNorm-folded copy: a round count and an effect drawn here."""
    rounds, ratio = rng.choice([(5, 0.85), (8, 0.97), (14, 0.93), (16, 1.0)])
    original = _rounded(8 * math.exp(rng.gauss(0, 0.04)) for _ in range(rounds))
    folded = _rounded(o * ratio * math.exp(rng.gauss(0, 0.03)) for o in original)
    code = f"recorded = {{'original': {original}, 'BatchNorm folded': {folded}}}  # ms, paired round by round"
    return code, _outcome(folded, original)


def _decide_hidden(rng: random.Random) -> str:
    """Paired rounds of two candidates at round counts and true ratios the lesson never shows (too few, clearly
    faster, clearly slower, no difference, a 3 % effect): the expected outcome is the course's rule applied here."""
    lines = []
    for rounds, ratio in ((4, 0.7), (5, 1.3), (6, 0.8), (9, 1.0), (12, 1.25), (20, 0.97), (31, 1.0), (50, 1.03)):
        baseline = _rounded(10 * math.exp(rng.gauss(0, 0.05)) for _ in range(rounds))
        candidate = _rounded(b * ratio * math.exp(rng.gauss(0, 0.04)) for b in baseline)
        expected = _outcome(candidate, baseline)
        lines.append(f"assert graded_call(decide, {candidate}, {baseline}, forbid=grading.RULES) == {expected!r}")
    return "\n".join(lines)


def _count_hidden(function: str, cases: list[tuple], count: Callable[..., int]) -> Callable[[random.Random], str]:
    """A formula task: ``function(*case)`` must equal effedu's own count of the same layers, computed here."""
    def hidden(_rng: random.Random) -> str:
        return "\n".join(f"assert graded_call({function}, *{case}, forbid=grading.COUNTERS) == {count(*case)}"
                          for case in cases)
    return hidden


def _separable(h, w, c_in, c_out, k) -> int:
    layers = nn.Sequential(nn.Conv2d(c_in, c_in, k, padding=k // 2, groups=c_in, bias=False),
                           nn.Conv2d(c_in, c_out, 1, bias=False))
    return count_macs(layers, (1, c_in, h, w))


def _low_rank(h, w, c_in, c_out, k, rank) -> int:
    return count_macs(LowRankConv(c_in, c_out, kernel_size=k, rank=rank), (1, c_in, h, w))


def _grouped_traffic(h, w, c_in, c_out, groups) -> int:
    return memory_traffic(nn.Conv2d(c_in, c_out, 1, groups=groups, bias=False), (1, c_in, h, w)) // 4


def _bottleneck(h, w, c_in, mid, c_out, groups) -> int:
    layers = nn.Sequential(nn.Conv2d(c_in, mid, 1, bias=False), nn.Conv2d(mid, mid, 3, padding=1, groups=groups,
                                                                          bias=False),
                           nn.Conv2d(mid, c_out, 1, bias=False))
    return count_macs(layers, (1, c_in, h, w))


def _field(layers) -> int:
    stack = nn.Sequential(*[nn.Conv2d(1, 1, k, s) for k, s in layers])
    return receptive_field(stack)[0]


def _field_hidden(_rng: random.Random) -> str:
    cases = [[(3, 1)], [(7, 2), (3, 2), (3, 1)], [(5, 4), (3, 2), (3, 2), (3, 2)], [(1, 1), (3, 3), (5, 1)]]
    return "\n".join(f"assert graded_call(receptive_field, {case}, forbid=grading.COUNTERS) == {_field(case)}"
                      for case in cases)


def _shuffle_hidden(_rng: random.Random) -> str:
    """Channel orders the lesson never shows: the expected order is effedu's ChannelShuffle applied here."""
    lines = []
    for channels, groups, side in ((6, 2, 2), (12, 3, 1), (12, 4, 3), (8, 8, 1)):
        x = torch.arange(channels, dtype=torch.float32).reshape(1, channels, 1, 1).expand(2, channels, side, side)
        order = [int(v) for v in ChannelShuffle(groups)(x.contiguous())[0, :, 0, 0]]
        lines += [f"x = torch.arange({channels}.0).reshape(1, {channels}, 1, 1).expand(2, {channels}, {side}, {side})"
                  ".contiguous()",
                  f"y = graded_call(channel_shuffle, x, {groups}, forbid=grading.BLOCKS)",
                  f"assert tuple(y.shape) == (2, {channels}, {side}, {side})",
                  f"assert [int(v) for v in y[1, :, {side - 1}, 0]] == {order}"]
    return "\n".join(lines)


def _reward_hidden(_rng: random.Random) -> str:
    """Soft and hard settings (nas.reward's) and exponents nas.reward does not offer (α ≠ β, neither hard)."""
    def expected(a, lat, t, alpha, beta):
        if alpha == beta:
            return nas.reward(a, lat, t, w=alpha)
        if (alpha, beta) == (0.0, -1.0):
            return nas.reward(a, lat, t, hard=True)
        return a * (lat / t) ** (alpha if lat <= t else beta)  # Eq. 2 itself
    cases = [(0.8, 12.0, 20.0, -0.07, -0.07), (0.6, 40.0, 20.0, -0.07, -0.07), (0.9, 25.0, 20.0, 0.0, -1.0),
             (0.9, 15.0, 20.0, 0.0, -1.0), (0.7, 30.0, 10.0, -0.5, -0.5), (0.75, 8.0, 10.0, -0.02, -0.3),
             (0.75, 14.0, 10.0, -0.02, -0.3), (0.5, 10.0, 10.0, 0.0, -1.0)]
    return "\n".join(f"assert abs(graded_call(mnas_reward, {a}, {lat}, {t}, {alpha}, {beta}, forbid=grading.RULES) "
                      f"- {expected(a, lat, t, alpha, beta)!r}) < 1e-9" for a, lat, t, alpha, beta in cases)


TASKS = {task.key: task for task in [
    Task("00.4", "decide", 4, _decide_hidden),
    Task("00.5", "answer_00_5", 2, recorded=_protocols,
         options="a pair (protocol, outcome): protocol 'one after the other' or 'interleaved'; outcome 'faster', "
                 "'slower', 'no clear difference' or 'too few rounds to decide'"),
    Task("01.5", "separable_macs", 2, _count_hidden("separable_macs", [(7, 9, 24, 40, 5), (1, 1, 3, 8, 1),
                                                                       (13, 11, 17, 33, 7)], _separable)),
    Task("02.4", "low_rank_macs", 2, _count_hidden("low_rank_macs", [(9, 7, 20, 36, 5, 6), (4, 4, 3, 64, 3, 1),
                                                                     (15, 15, 48, 48, 3, 24)], _low_rank)),
    Task("03.4", "channel_shuffle", 3, _shuffle_hidden),
    Task("04.3", "grouped_conv_traffic", 2, _count_hidden("grouped_conv_traffic", [(5, 7, 24, 48, 4),
                                                                                   (28, 28, 240, 240, 8),
                                                                                   (3, 3, 9, 9, 9)], _grouped_traffic)),
    Task("05.3", "answer_05_3", 2, recorded=_fold_record,
         options="one of 'faster', 'slower', 'no clear difference', 'too few rounds to decide'"),
    Task("06.3", "bottleneck_macs", 2, _count_hidden("bottleneck_macs", [(7, 7, 512, 128, 512, 32),
                                                                         (14, 9, 64, 32, 96, 1),
                                                                         (5, 5, 48, 48, 24, 12)], _bottleneck)),
    Task("07.3", "receptive_field", 3, _field_hidden),
    Task("09.3", "mnas_reward", 2, _reward_hidden),
    Task("11.3", "fold_batchnorm", 3, _fold_hidden),
    Task("11.4", "identity_kernel", 2, _identity_hidden),
]}
ASSIGNMENTS = {  # assignment → the lessons whose graded exercises it holds (a term's grouping, instructor/TERM.md)
    "a1-measuring": ("00", "01", "02"), "a2-blocks": ("03", "04", "05"), "a3-design": ("06", "07", "08"),
    "a4-search-and-since": ("09", "10", "11"),
}


# --- reading the lessons --------------------------------------------------------------------------------------

def lesson_of(number: str) -> Path:
    (found,) = sorted((ROOT / "notebooks").glob(f"{number}_*.ipynb"))
    return found


def source(cell: dict) -> str:
    return "".join(cell["source"])


def question_text(lesson: dict, key: str) -> str:
    """The exercise's paragraph: from ``**key**`` to the next exercise or the end of its markdown cell."""
    for cell in lesson["cells"]:
        text = source(cell)
        if cell["cell_type"] == "markdown" and f"**{key}**" in text:
            part = text[text.index(f"**{key}**"):]
            following = re.search(r"\n\*\*\d\d\.\d+\*\*", part)
            return part[:following.start()].strip() if following else part.strip()
    raise ValueError(f"lesson {key[:2]} has no exercise **{key}**")


def solution_cell(lesson: dict, name: str) -> str:
    pattern = re.compile(rf"^(def {re.escape(name)}\(|{re.escape(name)}\s*=)", re.M)
    for cell in lesson["cells"]:
        if "solution" in cell.get("metadata", {}).get("tags", []) and pattern.search(source(cell)):
            return source(cell)
    raise ValueError(f"no solution cell defines {name}")


def check_cell(lesson: dict, key: str) -> str:
    for cell in lesson["cells"]:
        if cell["cell_type"] == "code" and f'check("{key}"' in source(cell):
            return source(cell).replace(course.CHECK_MARKER + "\n", "").strip()
    raise ValueError(f"lesson {key[:2]} has no check cell for {key}")


def with_markers(solution: str, name: str) -> str:
    """nbgrader's markers around what the student must write: a function's body (after its signature and
    docstring), or a whole answer cell."""
    lines = solution.rstrip().splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(f"def {name}(")), None)
    if start is None:
        return "### BEGIN SOLUTION\n" + solution.rstrip() + "\n### END SOLUTION"
    body = next(i for i in range(start, len(lines)) if lines[i].rstrip().endswith(":")) + 1
    indent = re.match(r"\s*", lines[body]).group(0)
    if lines[body].strip().startswith(('"""', "'''")):  # keep the docstring: it is part of the question
        quote = lines[body].strip()[:3]
        body = next(i for i in range(body, len(lines)) if lines[i].count(quote) >= (2 if i == body else 1)) + 1
    return "\n".join(lines[:body] + [f"{indent}### BEGIN SOLUTION"] + lines[body:] + [f"{indent}### END SOLUTION"])


# --- writing nbgrader's format ------------------------------------------------------------------------------

def nbgrader_cell(kind: str, text: str, grade_id: str, points: int = 0) -> dict:
    """A cell with nbgrader's metadata (schema 3): 'markdown' and 'code' read-only, 'solution' (autograded answer),
    'tests' (autograder tests worth ``points``)."""
    cell_type = "markdown" if kind == "markdown" else "code"
    meta = {"grade": kind == "tests", "grade_id": grade_id, "locked": kind != "solution", "schema_version": 3,
            "solution": kind == "solution", "task": False}
    if kind == "tests":
        meta["points"] = points
    cell = {"cell_type": cell_type, "id": grade_id, "metadata": {"nbgrader": meta},
            "source": text.splitlines(keepends=True)}
    if cell_type == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def assignment_notebook(name: str, lessons: tuple[str, ...], rng: random.Random) -> tuple[dict, int]:
    """The nbgrader source notebook of one assignment, and its total points."""
    heading = (f"# Assignment {name}\n\nThe graded exercises of lesson{'s' if len(lessons) > 1 else ''} "
               f"{', '.join(lessons)}. Write each function in its cell (replace `raise NotImplementedError()`), then "
               "run the test cell below it: it checks the lesson's own example. Hidden tests check cases the lesson "
               "never shows, with effedu's own version of what you write switched off — so write it yourself. "
               "Restart and run all cells before you submit.")
    cells = [nbgrader_cell("markdown", heading, "heading"),
             nbgrader_cell("code", "import torch\n\nfrom effedu import grading\nfrom effedu.check import check\n"
                                   "from effedu.grading import graded_call", "imports")]
    total = 0
    for task in (t for t in TASKS.values() if t.key[:2] in lessons):
        lesson = json.loads(lesson_of(task.key[:2]).read_text(encoding="utf-8"))
        tag = task.key.replace(".", "-")
        cells.append(nbgrader_cell("markdown", question_text(lesson, task.key), f"q{tag}"))
        if task.recorded is None:  # write it yourself: the lesson's solution, its check, hidden cases
            solution = with_markers(solution_cell(lesson, task.name), task.name)
            tests = (f"result = {check_cell(lesson, task.key)}\nprint(result)\nassert result, result\n"
                     f"### BEGIN HIDDEN TESTS\n{task.hidden(rng)}\n### END HIDDEN TESTS")
        else:  # a judgement: on a measurement recorded here, not the lesson's — the check only reads its form
            data, expected = task.recorded(rng)
            cells.append(nbgrader_cell("code", "# A recorded measurement (not the lesson's: judge this one)\n" + data,
                                       f"data{tag}"))
            solution = f"### BEGIN SOLUTION\n{task.name} = {expected!r}\n### END SOLUTION"
            tests = (f"assert {task.name} is not ..., {('answer: ' + task.options)!r}\nprint({task.name})\n"
                     f"### BEGIN HIDDEN TESTS\nassert {task.name} == {expected!r}\n### END HIDDEN TESTS")
        cells += [nbgrader_cell("solution", solution, f"answer{tag}"),
                  nbgrader_cell("tests", tests, f"tests{tag}", task.points)]
        total += task.points
    notebook = {"cells": cells, "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                                            "name": "python3"},
                                             "language_info": {"name": "python"}},
                "nbformat": 4, "nbformat_minor": 5}
    return notebook, total


NBGRADER_CONFIG = '''c = get_config()  # noqa: F821 — nbgrader's configuration object; run nbgrader in this folder
c.ExecutePreprocessor.timeout = 30  # every graded cell runs in seconds; a student's endless loop is cut off
'''


# --- the student release ---------------------------------------------------------------------------------------

STUDENT_README = """# effedu — efficient network design, measured on your machine

Lessons that teach how to design *fast* convolutional networks by measuring, not by believing.

    python3 course.py lab      # Windows: py course.py lab

checks your machine, installs what the lessons need into `.venv` in this folder (pinned versions), and opens
JupyterLab on the first lesson, bound to this computer only (127.0.0.1, with a token in the printed address). Your
copies of the lessons live in `student/`: your work stays there. When your lecturer publishes a new version of
the course, replace this folder's files except `student/` and run `python3 course.py update`: each lesson's new
version comes into your copy with every answer, guess and note you wrote kept (the previous copy stays beside it).

Graded assignments come from your lecturer (nbgrader); they refer to these lessons.
"""


def write_student(target: Path) -> list[Path]:
    """The student course: set-up files, the package, the lessons as students get them, a student README."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for name in STUDENT_FILES:
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, target / name)
    shutil.copytree(ROOT / "effedu", target / "effedu", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (target / "README.md").write_text(STUDENT_README, encoding="utf-8")
    written = []
    for lesson in sorted((ROOT / "notebooks").glob("*.ipynb")):
        path = target / "notebooks" / lesson.name
        course.write_notebook(path, course.student_version(lesson))
        written.append(path)
    return written


def write_nbgrader(target: Path) -> dict[str, int]:
    """The nbgrader course folder: one source notebook per assignment, and its configuration. {assignment: points}."""
    shutil.rmtree(target, ignore_errors=True)
    rng = random.Random(SEED)
    points = {}
    for name, lessons in ASSIGNMENTS.items():
        if not any(key[:2] in lessons for key in TASKS):
            continue  # no graded exercise in these lessons (yet)
        notebook, points[name] = assignment_notebook(name, lessons, rng)
        course.write_notebook(target / "source" / name / f"{name}.ipynb", notebook)
    (target / "nbgrader_config.py").write_text(NBGRADER_CONFIG, encoding="utf-8")
    return points


def release(out: Path) -> dict[str, int]:
    write_student(out / "student")
    return write_nbgrader(out / "nbgrader")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="the folder to write student/ and nbgrader/ into")
    args = parser.parse_args(argv)
    out = Path(args.out).resolve()
    if out == ROOT or ROOT in out.parents and out.relative_to(ROOT).parts[0] in ("notebooks", "effedu", "student"):
        print(f"release: --out must be a folder of its own, not {out}", file=sys.stderr)
        return 2
    points = release(out)
    print(f"wrote {out / 'student'} (the course for students: no solutions) and {out / 'nbgrader'}:")
    for name, total in points.items():
        print(f"  {name}: {total} points")
    print(f"next, in {out / 'nbgrader'}: nbgrader generate_assignment NAME for each — the README's 'Grading' section")
    return 0


if __name__ == "__main__":
    sys.exit(main())
