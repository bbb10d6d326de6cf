"""The lessons, run on this machine: the reference results an instructor reads before class, and the static HTML
edition for readers without a kernel.

    python -m effedu reference [--lessons 00 01 …]   # → instructor/reference/<machine>.md
    python -m effedu html [--lessons 00 01 …] [--student]  # → site/index.html and one page per lesson

Both execute the lessons with their reference solutions (``notebooks/``) top to bottom, as Restart & Run All
does. The reference collects every sentence a lesson concluded (the ``effedu.verdict`` outputs, each with the
numbers and the 95 % interval it was decided on) and each lesson's run time; the site keeps every output and shows
each explorer in its last state. Both say on every page which machine the numbers are from.
"""
from __future__ import annotations

import base64
import datetime
import html
import importlib.util
import re
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from . import __version__
from .machine import default_device, device_words, hardware

ROOT = Path(__file__).resolve().parents[1]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def lesson_paths(selected: list[str] | None = None, folder: Path = ROOT / "notebooks") -> list[Path]:
    every = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if not selected:
        return every
    chosen = [p for p in every if p.name[:2] in selected]
    unknown = sorted(set(selected) - {p.name[:2] for p in every})
    if unknown:
        raise ValueError(f"lessons must name lessons by number ({every[0].name[:2]}–{every[-1].name[:2]}), "
                         f"got {unknown!r}")
    return chosen


def execute(path: Path, timeout_s: int = 600, notebook: nbformat.NotebookNode | None = None
            ) -> tuple[nbformat.NotebookNode, float]:
    """Run one lesson (``notebook``, default the file at ``path``) top to bottom in a fresh kernel in ``path``'s
    folder; returns the executed notebook and its run time (s)."""
    notebook = notebook if notebook is not None else nbformat.read(path, as_version=4)
    started = time.perf_counter()
    NotebookClient(notebook, timeout=timeout_s, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return notebook, time.perf_counter() - started


def machine_line() -> str:
    info = hardware()
    device = default_device()
    where = device_words(device, 1) if device.type != "cpu" else "one CPU thread"
    return (f"{info['cpu']} ({info['usable cores']} usable cores), GPU: {info['gpu']}; timings on {where}; "
            f"torch {info['torch']}, effedu {__version__}, {info['os']}")


def machine_slug() -> str:
    info = hardware()
    name = info["gpu"] if info["gpu"] != "none" else info["cpu"]
    return re.sub(r"[^a-z0-9]+", "-", f"{name}-{info['usable cores']}-cores".lower()).strip("-")


def conclusions(notebook: nbformat.NotebookNode) -> list[str]:
    """The Markdown sentences a lesson printed (verdicts and computed figures), in order, without the guess
    echoes of an unanswered guess cell."""
    found = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            text = output.get("data", {}).get("text/markdown")
            if text and not text.startswith(("no guess yet", "your guess")):
                found.append(text.strip())
    return found


def title(notebook: nbformat.NotebookNode) -> str:
    first = notebook.cells[0].source.splitlines()[0] if notebook.cells else ""
    return first.lstrip("# ").strip()


HEADLINES = "hl"  # the section of the reference file that holds the scorecard's experiments in fresh processes


def headlines() -> list[str]:
    """The class scorecard's headline experiments, each in ``scorecard.PROCESSES`` fresh processes: the reference
    section that shows how far one run's numbers hold in the next process."""
    from . import scorecard  # measures in child processes; only this section needs it

    card = scorecard.run(progress=False)
    table = scorecard.table(card)
    lines = [f"## {HEADLINES} · Headline experiments, each in {card['processes']} fresh processes", "",
             f"*Allocator: {card['allocator']['library']}, {card['allocator']['settings']}; {card['seconds']:.0f} s.*",
             "", "| experiment | here | 95 % interval | between processes | outcome |", "|---|---|---|---|---|"]
    lines += [f"| {title} | {row['here']} | {row['95 % interval']} | {row['between processes']} | {row['outcome']} |"
              for title, row in table.iterrows()]
    return lines + [""] + [f"- Unstable — {line}" for line in scorecard.unstable_notes(card)] + [""]


def reference(selected: list[str] | None = None, out_dir: Path = ROOT / "instructor" / "reference") -> Path:
    """Run the lessons and write what each concluded here, with its run time, to ``<out_dir>/<machine>.md`` — and
    the scorecard's headline experiments, each in several fresh processes (``headlines``). With ``selected``
    lessons, only their sections are replaced: the other lessons' results already in the file stay (re-run one
    lesson after editing it, without re-running the course); ``selected=["hl"]`` re-runs the headlines only."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{machine_slug()}.md"
    sections, times = read_reference(target) if selected else ({}, {})
    lessons = [number for number in selected or [] if number != HEADLINES]
    for path in lesson_paths(lessons) if lessons or not selected else []:
        try:
            notebook, seconds = execute(path)
        except Exception as err:  # noqa: BLE001 — one failing lesson is reported, the others still run
            reason = str(err).strip().splitlines()[-1] if str(err).strip() else ""
            sections[path.name[:2]] = [f"## {path.stem}", "", f"**Failed on this machine:** {type(err).__name__}: "
                                       f"{reason}", ""]
            times[path.stem] = "failed"
        else:
            lines = [f"## {title(notebook)}", "", f"*Restart & Run All: {seconds:.0f} s.*", ""]
            for sentence in conclusions(notebook):
                first, *rest = sentence.splitlines()
                lines += [first, *rest] if first.startswith("- ") else [f"- {first}", *(f"  {line}" for line in rest)]
            sections[path.name[:2]], times[path.stem] = lines + [""], f"{seconds:.0f}"
        write_reference(target, sections, times)  # lesson by lesson: a cut-off run keeps what it measured
    if not selected or HEADLINES in selected:
        sections[HEADLINES] = headlines()
        write_reference(target, sections, times)
    return target


def read_reference(target: Path) -> tuple[dict[str, list[str]], dict[str, str]]:
    """The lesson sections (by lesson number) and run times of a reference file, or empty ones if there is none."""
    sections, times, current = {}, {}, None
    if not target.exists():
        return sections, times
    for line in target.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            current = line[3:5] if line[3:5].isdigit() or line[3:5] == HEADLINES else None
            if current:
                sections[current] = [line]
        elif current:
            sections[current].append(line)
        elif line.startswith("| ") and line[2:4].isdigit():
            stem, seconds = (cell.strip() for cell in line.strip("| ").split("|"))
            times[stem] = seconds
    return sections, times


def write_reference(target: Path, sections: dict[str, list[str]], times: dict[str, str]) -> None:
    header = [f"# Reference results: {machine_slug()}", "",
              f"Measured on {datetime.date.today().isoformat()}: {machine_line()}. Generated by "
              "`python3 course.py reference` — every number below is this machine's; a student's laptop will differ, "
              "and that is the lesson. Each sentence is a lesson's own conclusion, with the 95 % interval it was "
              "decided on.", ""]
    order = sorted(number for number in sections if number != HEADLINES) + [HEADLINES] * (HEADLINES in sections)
    body = [line for number in order for line in sections[number]]
    table = ["## Run times", "", "| lesson | seconds |", "|---|---|"] + [f"| {stem} | {seconds} |"
                                                                      for stem, seconds in sorted(times.items())]
    target.write_text("\n".join(header + body + table) + "\n", encoding="utf-8")


def static_page(notebook: nbformat.NotebookNode, line: str) -> str:
    """One executed lesson as standalone HTML: explorers shown as their last state (their HTML snapshot, not a
    widget that needs a kernel), and a banner saying whose numbers these are."""
    from nbconvert import HTMLExporter  # heavy, and only this command needs it

    from .plots import html_image

    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            data.pop(WIDGET_VIEW, None)  # the text/html snapshot beside it stays
            if "image/png" in data and "text/html" not in data:  # a figure: an <img> with its description as alt
                described = str(data.get("text/plain", ""))
                alt = described if described.startswith("Figure: ") else f"A figure of {title(notebook)}"
                data["text/html"] = html_image(base64.b64decode(data["image/png"]), alt)
    notebook.metadata.pop("widgets", None)
    banner = nbformat.v4.new_markdown_cell(f"> **Executed on this machine:** {line}. Every number on this page is that "
                                           "machine's; run the notebook to measure your own.")
    notebook.cells.insert(1, banner)
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(notebook)
    return body


def student_notebook(path: Path) -> nbformat.NotebookNode:
    """The lesson as a student gets it — ``course.py``'s own ``student_version`` (no solutions, no outputs), loaded
    from the course folder so that there is one definition of a student copy."""
    spec = importlib.util.spec_from_file_location("effedu_course", ROOT / "course.py")
    course = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(course)
    return nbformat.from_dict(course.student_version(path))


def site(selected: list[str] | None = None, out_dir: Path = ROOT / "site", *, student: bool = False) -> Path:
    """Every lesson executed here, as HTML in ``out_dir``, with an index page listing them and the machine.
    ``student=True``: the student edition — the lessons without their solutions (a handout that answers nothing)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    line = machine_line()
    entries = []
    for path in lesson_paths(selected):
        notebook, seconds = execute(path, notebook=student_notebook(path) if student else None)
        name = f"{path.stem}.html"
        lesson_title = title(notebook)
        (out_dir / name).write_text(static_page(notebook, line), encoding="utf-8")
        entries.append(f"<li><a href='{name}'>{html.escape(lesson_title)}</a> <small>({seconds:.0f} s)</small></li>")
    index = (f"<!doctype html><html><head><meta charset='utf-8'><title>effedu — the lessons</title></head>"
             "<body style='font-family:sans-serif;max-width:900px;margin:2em auto'><h1>effedu — designing fast CNNs, "
             f"by measuring</h1><p>The lessons, executed on {datetime.date.today().isoformat()} on "
             f"<b>{html.escape(line)}</b>. Every number in these pages is that machine's.</p>"
             f"<ol start='0'>{''.join(entries)}</ol></body></html>")
    (out_dir / "index.html").write_text(index, encoding="utf-8")
    return out_dir / "index.html"
