"""Fixtures and markers. Shared helpers live in tests/helpers.py."""
import json
import os
import sys
import tempfile
from pathlib import Path

import pytest
import torch
from helpers import jupyter_server

ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: heavy tests (ImageNet-size counts, training, compile, browser); "
                                       "skip them with -m 'not slow'")
    config.addinivalue_line("markers", "last: runs after every other test and lesson of the session")
    config.addinivalue_line("markers", "serial: decides on real timings, or disturbs them: course.py test runs these "
                                       "alone, after the tests that run two at a time")
    # The user's own places, as they were before the suite: the last test checks that nothing wrote them. When
    # course.py test runs pytest twice (two workers, then the serial tests), the first run's snapshot is kept.
    config.stash[UNTOUCHED] = snapshot(os.environ.get("EFFEDU_UNTOUCHED_SNAPSHOT"))
    # Whoever starts pytest, effedu's cache (lesson 09's table, compiled code) goes to a folder of the run's own.
    os.environ.setdefault("EFFEDU_CACHE", tempfile.mkdtemp(prefix="effedu-test-cache-"))


def pytest_collection_modifyitems(items):
    # the browser test first (the longest module: with two workers it starts at once, the rest runs beside it), the
    # untouched-places check last; stable, so everything else keeps its order
    items.sort(key=lambda item: (item.get_closest_marker("last") is not None, "test_browser" not in item.nodeid))


UNTOUCHED = pytest.StashKey[dict]()


def snapshot(saved: str | None) -> dict:
    """The listing of the user's places: read from ``saved`` when an earlier pytest run of this test command wrote
    it, else taken now (and written there, atomically, for the later runs)."""
    if saved and Path(saved).exists():
        return json.loads(Path(saved).read_text())
    taken = {str(place): listing(place) for place in users_places()}
    if saved:
        partial = Path(f"{saved}.{os.getpid()}")
        partial.write_text(json.dumps(taken))
        os.replace(partial, saved)
    return taken


def users_places() -> list[Path]:
    """The user's effedu cache folder (where it is without $EFFEDU_CACHE) and the checkout's student copies."""
    saved = os.environ.pop("EFFEDU_CACHE", None)
    try:
        from effedu._runtime import cache_dir

        return [cache_dir(), ROOT / "student"]
    finally:
        if saved is not None:
            os.environ["EFFEDU_CACHE"] = saved


def listing(place: Path) -> dict[str, list[int]]:
    """Every file below ``place`` with its size and modification time (empty when the folder does not exist)."""
    return {str(f.relative_to(place)): [f.stat().st_size, f.stat().st_mtime_ns]
            for f in sorted(place.rglob("*")) if f.is_file()} if place.is_dir() else {}


@pytest.fixture
def untouched_before(request):
    return request.config.stash[UNTOUCHED]


@pytest.fixture
def rng():
    return torch.Generator().manual_seed(1234)


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory):
    """One JupyterLab for the session, started as `course.py lab` starts it (127.0.0.1, a token, the course's own
    settings), serving fresh student copies from a temporary folder — the checkout's own student/ is never written.
    Yields (base URL, the folder it serves). The lab-command test and the browser test share it."""
    sys.path.insert(0, str(ROOT))
    import course

    root = tmp_path_factory.mktemp("course")
    course.student_copies(root / "student")
    env = course.lab_environment(root / ".jupyter")
    settings = Path(env["JUPYTERLAB_SETTINGS_DIR"]) / "@jupyterlab" / "notebook-extension"
    tracker = settings / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True, exist_ok=True)
    tracker.write_text(json.dumps({"windowingMode": "none"}))  # every cell in the page, so the browser test sees it
    env["EFFEDU_CACHE"] = str(root / "cache")  # lesson 09's table: measured fresh, never the user's
    command = course.lab_command(Path(sys.executable), root)[:-1]  # no notebook opened at start
    with jupyter_server(command, root, root, env=env) as base:
        yield base, root
