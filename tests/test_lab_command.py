"""The README's `python3 course.py lab` serves lesson 00 on 127.0.0.1 behind a token."""
import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_course():
    spec = importlib.util.spec_from_file_location("course", ROOT / "course.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code
    except urllib.error.URLError:
        return 0  # not listening yet


def test_lab_serves_lesson_00_locally_with_a_token(tmp_path):
    command = load_course().lab_command(Path(sys.executable))
    assert "--ServerApp.ip=127.0.0.1" in command and command[-1] == "notebooks/00_three_goals.ipynb"
    assert not any("token=" in part and part.endswith("=") for part in command)  # never an empty token
    port, token = free_port(), "effedu-test-token"
    server = subprocess.Popen(command + [f"--ServerApp.port={port}", "--no-browser",
                                         f"--IdentityProvider.token={token}"],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path)})
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 60
        while time.time() < deadline and get(f"{base}/api/status?token={token}") != 200:
            time.sleep(0.5)
        assert get(f"{base}/api/status?token={token}") == 200
        assert get(f"{base}/api/contents/notebooks/00_three_goals.ipynb") == 403  # no token, no access
        with urllib.request.urlopen(f"{base}/api/contents/notebooks/00_three_goals.ipynb?token={token}") as r:
            assert json.load(r)["name"] == "00_three_goals.ipynb"
    finally:
        server.terminate()
        server.wait(timeout=30)
