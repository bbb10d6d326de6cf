"""course.py: the checks before an install (faked platforms), the choice of PyTorch build (network faked both
ways), the student copies and the update that keeps a student's work. Standard library only, like course.py."""
import copy
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import course  # noqa: E402

LINUX = {"python": (3, 11, 7), "system": "Linux", "machine": "x86_64", "root": "/home/me/effedu", "free_gb": 50.0,
         "usable_cores": 4, "cpu_quota": None, "nvidia_gpu": False, "long_paths": True}


def stops(facts):
    return [line for severity, line in course.doctor_problems(facts) if severity == "stop"]


def notes(facts):
    return [line for severity, line in course.doctor_problems(facts) if severity == "note"]


def test_a_healthy_linux_laptop_passes():
    assert stops(LINUX) == []
    assert any("No NVIDIA GPU" in line for line in notes(LINUX))


@pytest.mark.parametrize("system,hint", [("Darwin", "brew install python@3.12"), ("Windows", "py -3.12"),
                                         ("Linux", "sudo apt install python3.12")])
def test_old_python_says_how_to_get_a_new_one(system, hint):
    found = stops({**LINUX, "python": (3, 9, 6), "system": system, "machine": "arm64"})
    assert len(found) == 1 and "3.9.6 is too old" in found[0] and hint in found[0]


def test_intel_mac_is_sent_to_the_hub():
    found = stops({**LINUX, "system": "Darwin", "machine": "x86_64"})
    assert len(found) == 1 and "Intel Mac" in found[0] and "hub or Binder" in found[0]
    assert stops({**LINUX, "system": "Darwin", "machine": "arm64"}) == []  # Apple silicon has wheels


def test_windows_deep_path_is_caught_before_the_install():
    deep = "C:\\Users\\student\\OneDrive - University\\Documents\\Courses\\Efficient networks\\effedu-main"
    found = stops({**LINUX, "system": "Windows", "root": deep, "long_paths": False})
    assert len(found) == 1 and "C:\\effedu" in found[0]
    assert stops({**LINUX, "system": "Windows", "root": deep, "long_paths": True}) == []
    assert stops({**LINUX, "system": "Windows", "root": "C:\\effedu", "long_paths": False}) == []


def test_low_disk_and_a_gpu_machine_needs_more():
    assert "GB free" in stops({**LINUX, "free_gb": 1.0})[0]
    assert stops({**LINUX, "free_gb": 4.0}) == []
    assert "GB free" in stops({**LINUX, "free_gb": 4.0, "nvidia_gpu": True})[0]  # the CUDA build is larger


def test_cpu_quota_and_gpu_are_reported():
    quota = notes({**LINUX, "usable_cores": 1, "cpu_quota": 1.5})
    assert any("quota of 1.5 CPUs" in line for line in quota)
    assert any("NVIDIA GPU is visible" in line for line in notes({**LINUX, "nvidia_gpu": True}))


def test_doctor_runs_offline_in_seconds():
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(ROOT / "course.py"), "doctor"], capture_output=True, text=True,
                          timeout=60)
    assert time.perf_counter() - started < 10
    assert done.returncode == 0 and "GPU" in done.stdout


@pytest.mark.parametrize("reachable,cpu_build", [(True, True), (False, False)])
def test_torch_build_follows_the_machine_and_the_network(reachable, cpu_build):
    args, sentence = course.torch_source(LINUX, lambda: reachable)
    assert ("--index-url" in args) == cpu_build and (course.TORCH_CPU_INDEX in args) == cpu_build
    assert ("CPU build" in sentence) == cpu_build and ("could not be reached" in sentence) != cpu_build
    for other in ({**LINUX, "nvidia_gpu": True}, {**LINUX, "system": "Darwin"}, {**LINUX, "system": "Windows"}):
        assert course.torch_source(other, lambda: True)[0] == []


def test_an_unreachable_index_costs_seconds(monkeypatch):
    def refuse(url, timeout):
        raise OSError("network unreachable")

    monkeypatch.setattr(course.urllib.request, "urlopen", refuse)
    started = time.perf_counter()
    assert course.cpu_index_reachable() is False and time.perf_counter() - started < 1


def test_lab_installs_no_test_tooling(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(course, "VENV", tmp_path / "venv")
    monkeypatch.setattr(course, "venv_python", lambda: tmp_path / "python")
    (tmp_path / "python").write_text("")
    monkeypatch.setattr(course, "run", lambda *command, **kw: calls.append([str(c) for c in command]))
    monkeypatch.setattr(course, "cpu_index_reachable", lambda timeout_s=4.0: False)
    (tmp_path / "venv").mkdir()
    course.install(with_tests=False)
    pip = [c for c in calls if "--editable" in c][0]
    assert pip[-1] == "." and "constraints.txt" in pip
    calls.clear()
    course.install(with_tests=True)
    assert [c for c in calls if "--editable" in c][0][-1] == ".[test]"
    calls.clear()
    course.install(with_tests=False)  # a test install already holds everything lab needs
    assert calls == []


def test_lab_keeps_jupyter_settings_in_the_course(tmp_path):
    env = course.lab_environment(tmp_path / ".jupyter")
    assert env["JUPYTER_CONFIG_DIR"].startswith(str(tmp_path))
    assert env["JUPYTERLAB_SETTINGS_DIR"].startswith(str(tmp_path))
    settings = tmp_path / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    assert json.loads((settings / "notification.jupyterlab-settings").read_text())["fetchNews"] == "false"
    assert "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate" in course.lab_command(Path("py"))


@pytest.mark.skipif(sys.platform == "win32", reason="Binder's scripts are bash, run on Linux by repo2docker")
def test_binder_scripts_write_student_copies_and_point_lab_at_the_quiet_settings(tmp_path):
    for name in ("course.py", "postBuild", "start", "effedu/cpus.py", "effedu/_console.py"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes((ROOT / name).read_bytes())
    (tmp_path / "notebooks").mkdir()
    lesson = sorted(course.NOTEBOOKS.glob("*.ipynb"))[0]
    (tmp_path / "notebooks" / lesson.name).write_bytes(lesson.read_bytes())
    subprocess.run(["bash", "postBuild"], cwd=tmp_path, check=True, capture_output=True)
    assert (tmp_path / "student" / lesson.name).exists()
    shown = subprocess.run(["bash", "start", "printenv", "JUPYTERLAB_SETTINGS_DIR"], cwd=tmp_path, check=True,
                           capture_output=True, text=True).stdout.strip()
    settings = Path(shown) / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    assert json.loads(settings.read_text())["fetchNews"] == "false"


# --- student copies --------------------------------------------------------------------------------------

def test_student_copies_give_nothing_away(tmp_path):
    written = course.student_copies(tmp_path)
    assert len(written) == len(list(course.NOTEBOOKS.glob("*.ipynb"))) >= 10
    for path in written:
        text = path.read_text(encoding="utf-8")
        notebook = json.loads(text)
        assert "widgets" not in notebook["metadata"]
        assert "✓" not in text and "correct (" not in text and "NBVAL_CHECK_OUTPUT" not in text
        for cell in notebook["cells"]:
            assert not {"solution", "instructor"} & set(cell.get("metadata", {}).get("tags", []))
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None
        code = ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]
        for answer in re.findall(r'check\("\d\d\.\d", (answer_\w+)\)', "\n".join(code)):
            stub = re.compile(rf"^{answer} = (\.\.\.|\{{[^\n]*\.\.\.)", re.M)
            assert any(stub.search(source) for source in code), f"{path.name}: no stub for {answer}"
    assert course.student_copies(tmp_path) == []  # never overwritten


def lesson_with(cells):
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def cell(cell_id, source, kind="code"):
    entry = {"cell_type": kind, "id": cell_id, "metadata": {}, "source": source}
    if kind == "code":
        entry.update(outputs=[], execution_count=None)
    return entry


def test_update_keeps_every_answer_guess_and_note(tmp_path):
    lessons, student = tmp_path / "notebooks", tmp_path / "student"
    old = lesson_with([cell("intro", "# Lesson", "markdown"), cell("guess", "my_guess = ..."),
                       cell("measure", "frame = measure()"), cell("answer", "answer_00_1 = ..."),
                       cell("check", 'check("00.1", answer_00_1)')])
    course.write_notebook(lessons / "00_x.ipynb", old)
    course.student_copies(student, lessons)
    mine = json.loads((student / "00_x.ipynb").read_text())
    mine["cells"][1]["source"] = "my_guess = 0.3  # I think a third"
    mine["cells"][3]["source"] = "answer_00_1 = 231_211_008"
    mine["cells"].insert(3, cell("note", "My note: the separable block lost here.", "markdown"))
    course.write_notebook(student / "00_x.ipynb", mine)
    new = copy.deepcopy(old)
    new["cells"][2]["source"] = "frame = measure(budget_s=0.5)  # the fix"
    new["cells"].insert(2, cell("added", "# a new explanation", "markdown"))
    course.write_notebook(lessons / "00_x.ipynb", new)

    report = course.update(target=student, lessons=lessons)
    merged = json.loads((student / "00_x.ipynb").read_text())
    sources = ["".join(c["source"]) for c in merged["cells"]]
    assert "my_guess = 0.3  # I think a third" in sources and "answer_00_1 = 231_211_008" in sources
    assert "My note: the separable block lost here." in sources
    fix = sources.index("frame = measure(budget_s=0.5)  # the fix")
    assert sources.index("My note: the separable block lost here.") == fix + 1
    assert "frame = measure(budget_s=0.5)  # the fix" in sources and "# a new explanation" in sources
    assert len(list(student.glob("00_x.before-update-*.ipynb"))) == 1 and "updated" in report[0]
    assert "already up to date" in course.update(target=student, lessons=lessons)[0]


def test_update_of_a_copy_made_before_pristine_copies_were_kept(tmp_path):
    lessons, student = tmp_path / "notebooks", tmp_path / "student"
    new = lesson_with([cell("a", "answer = ..."), cell("b", "print(1)")])
    course.write_notebook(lessons / "00_x.ipynb", new)
    course.write_notebook(student / "00_x.ipynb", lesson_with([cell("a", "answer = 42"), cell("b", "print(1)")]))
    course.update(target=student, lessons=lessons)
    merged = json.loads((student / "00_x.ipynb").read_text())
    assert ["".join(c["source"]) for c in merged["cells"]] == ["answer = 42", "print(1)"]


def test_a_conflicting_update_keeps_both_versions_and_says_so(tmp_path):
    lessons, student = tmp_path / "notebooks", tmp_path / "student"
    old = lesson_with([cell("intro", "# Lesson", "markdown"), cell("answer", "answer_00_1 = ...")])
    course.write_notebook(lessons / "00_x.ipynb", old)
    course.student_copies(student, lessons)
    mine = json.loads((student / "00_x.ipynb").read_text())
    mine["cells"][1]["source"] = "answer_00_1 = 42  # mine"
    course.write_notebook(student / "00_x.ipynb", mine)
    new = copy.deepcopy(old)
    new["cells"][1]["source"] = "answer_00_1 = ...  # now in MACs, not millions"
    course.write_notebook(lessons / "00_x.ipynb", new)

    report = course.update(target=student, lessons=lessons)
    sources = ["".join(c["source"]) for c in json.loads((student / "00_x.ipynb").read_text())["cells"]]
    mine_at, new_at = sources.index("answer_00_1 = 42  # mine"), sources.index(new["cells"][1]["source"])
    assert new_at == mine_at + 2 and "Update conflict" in sources[mine_at + 1]  # both kept, yours first
    assert "CONFLICT in cell answer" in report[0] and "1 conflict(s)" in report[-1]


def test_windows_with_an_nvidia_gpu_is_told_the_wheel_is_cpu_only():
    windows = {**LINUX, "system": "Windows", "nvidia_gpu": True}
    assert any("CPU build" in line and "measure on the CPU" in line for line in notes(windows))
    assert "CPU build" in course.torch_source(windows, lambda: True)[1]


def test_every_command_prints_on_a_cp1252_console(tmp_path):
    env = {**__import__("os").environ, "PYTHONIOENCODING": "cp1252"}
    symbols = subprocess.run([sys.executable, "-c", "import course; course.load_by_path('_console').printable(); "
                                                    "print('✗ stop ⚠ warn → next ✓ ok')"],
                             cwd=ROOT, capture_output=True, env=env, timeout=60)
    assert symbols.returncode == 0 and symbols.stdout.decode("cp1252").strip() == "x stop ! warn -> next ok ok"
    for name in ("course.py", "effedu/cpus.py", "effedu/_console.py"):  # a copy: student/ is written beside it
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes((ROOT / name).read_bytes())
    (tmp_path / "notebooks").mkdir()
    for lesson in sorted(course.NOTEBOOKS.glob("*.ipynb"))[:2]:
        (tmp_path / "notebooks" / lesson.name).write_bytes(lesson.read_bytes())
    for command in (["doctor"], ["student"], ["update"]):
        done = subprocess.run([sys.executable, "course.py", *command], cwd=tmp_path, capture_output=True, env=env,
                              timeout=120)
        assert done.returncode == 0, (command, done.stderr.decode("cp1252", "replace")[-500:])
        done.stdout.decode("cp1252")
