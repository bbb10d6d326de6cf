"""The README's `python3 course.py lab` serves lesson 00 on 127.0.0.1 behind a token."""
import importlib.util
import json
import sys
import urllib.request
from pathlib import Path

import pytest
from helpers import TOKEN, http_status, jupyter_server

pytestmark = pytest.mark.slow  # a JupyterLab server (and a browser): tens of seconds
ROOT = Path(__file__).resolve().parents[1]


def load_course():
    spec = importlib.util.spec_from_file_location("course", ROOT / "course.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_lab_serves_lesson_00_locally_with_a_token(tmp_path):
    course = load_course()
    course.student_copies()  # what `course.py lab` does first (student/ is git-ignored)
    assert "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate" in course.lab_command(Path("p"))
    command = course.lab_command(Path(sys.executable))
    assert "--ServerApp.ip=127.0.0.1" in command and command[-1] == "student/00_three_goals.ipynb"
    assert not any("token" in part.lower() for part in command)  # Jupyter's own fresh random token
    with jupyter_server(command, tmp_path, ROOT) as base:
        assert http_status(f"{base}/api/status?token={TOKEN}") == 200
        assert http_status(f"{base}/api/contents/student/00_three_goals.ipynb") == 403  # no token, no access
        with urllib.request.urlopen(f"{base}/api/contents/student/00_three_goals.ipynb?token={TOKEN}") as r:
            assert json.load(r)["name"] == "00_three_goals.ipynb"
