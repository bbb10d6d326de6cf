"""The README's `python3 course.py lab` serves lesson 00 on 127.0.0.1 behind a token."""
import json
import sys
import urllib.request
from pathlib import Path

import pytest
from helpers import TOKEN, http_status

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import course  # noqa: E402


def test_the_lab_command_binds_to_this_machine_and_opens_lesson_00():
    assert "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate" in course.lab_command(Path("p"))
    command = course.lab_command(Path(sys.executable))
    assert "--ServerApp.ip=127.0.0.1" in command and command[-1] == "student/00_three_goals.ipynb"
    assert not any("token" in part.lower() for part in command)  # Jupyter's own fresh random token


@pytest.mark.slow  # a JupyterLab server: tens of seconds (shared with the browser test)
def test_lab_serves_lesson_00_locally_with_a_token(lab_server):
    base, _ = lab_server  # started with course.lab_command, as `course.py lab` starts it
    assert http_status(f"{base}/api/status?token={TOKEN}") == 200
    assert http_status(f"{base}/api/contents/student/00_three_goals.ipynb") == 403  # no token, no access
    with urllib.request.urlopen(f"{base}/api/contents/student/00_three_goals.ipynb?token={TOKEN}") as r:
        assert json.load(r)["name"] == "00_three_goals.ipynb"
