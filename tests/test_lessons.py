"""The reference results and the static HTML edition, built from one short lesson (07, ~12 s, executed once for
both) — the full runs are `python3 course.py reference` and `python3 course.py html`."""
import copy

import nbformat
import pytest

from effedu import lessons


@pytest.fixture(scope="module")
def lesson_07_executed():
    """Lesson 07 run once (about 12 s); the reference and the HTML edition are both built from that one run."""
    return lessons.execute(lessons.lesson_paths(["07"])[0])


@pytest.fixture
def run_once(lesson_07_executed, monkeypatch):
    def executed(path, timeout_s=600, notebook=None):
        assert path.name.startswith("07_") and notebook is None, path  # the reference edition, not the student's
        notebook, seconds = lesson_07_executed
        return copy.deepcopy(notebook), seconds  # each user edits its own copy (the HTML page strips widgets)
    monkeypatch.setattr(lessons, "execute", executed)


def test_lessons_are_chosen_by_number_and_a_wrong_number_is_named():
    assert [p.name[:2] for p in lessons.lesson_paths(["07", "00"])] == ["00", "07"]
    assert len(lessons.lesson_paths()) >= 11
    with pytest.raises(ValueError, match=r"lessons must name .*'99'"):
        lessons.lesson_paths(["07", "99"])


def test_rerunning_one_lesson_replaces_its_section_and_keeps_the_others(tmp_path, monkeypatch):
    def fake_run(path):  # a lesson "executed" without a kernel: one verdict line
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {path.name[:2]} · Title")])
        output = nbformat.v4.new_output("display_data", data={"text/markdown": f"verdict of {path.name[:2]}"})
        notebook.cells.append(nbformat.v4.new_code_cell("", outputs=[output]))
        return notebook, 7.0

    monkeypatch.setattr(lessons, "execute", fake_run)
    target = lessons.reference(["00", "07"], out_dir=tmp_path)
    sections, times = lessons.read_reference(target)
    assert sorted(sections) == ["00", "07"] and times["07_large_kernels_early"] == "7"
    target.write_text(target.read_text().replace("verdict of 00", "an earlier verdict of 00"))
    monkeypatch.setattr(lessons, "execute", lambda path: (_ for _ in ()).throw(RuntimeError("kernel died\nat end")))
    lessons.reference(["07"], out_dir=tmp_path)
    text = target.read_text()
    assert "- an earlier verdict of 00" in text  # kept
    assert "**Failed on this machine:** RuntimeError: at end" in text and "verdict of 07" not in text
    assert "| 07_large_kernels_early | failed |" in text and "| 00_three_goals | 7 |" in text


@pytest.mark.slow
def test_reference_collects_each_verdict_with_its_range_and_the_run_time(tmp_path, run_once):
    written = lessons.reference(["07"], out_dir=tmp_path)
    text = written.read_text(encoding="utf-8")
    assert written.name == f"{lessons.machine_slug()}.md"
    assert "## 07 · Large kernels early" in text and "*Restart & Run All:" in text
    assert "95 % interval" in text  # the verdicts, with the intervals they were decided on
    assert "no guess yet" not in text  # an unanswered guess cell is not a conclusion
    assert "| 07_large_kernels_early |" in text


@pytest.mark.slow
def test_html_edition_has_an_index_and_pages_with_plots_and_explorer_snapshots(tmp_path, run_once):
    index = lessons.site(["07"], out_dir=tmp_path)
    page = (tmp_path / "07_large_kernels_early.html").read_text(encoding="utf-8")
    listing = index.read_text(encoding="utf-8")
    assert "07_large_kernels_early.html" in listing and lessons.machine_line().split(" (")[0] in listing
    assert "Executed on this machine" in page
    assert "data:image/png;base64" in page  # the plots are in the page
    assert "effedu-summary" in page  # the explorer's last state, readable without a kernel
    assert "application/vnd.jupyter.widget-view+json" not in page
    assert "widget-state+json" not in page  # no saved widget state from this machine
