"""What a JupyterHub (or Binder) needs per student, measured on this machine: the memory of a kernel running each
lesson, and how long a lesson takes when N students' kernels share C cores.

    .venv/bin/python benchmarks/hub_sizing.py [--lessons 00 01 …] [--shared 01] [--no-sharing]

* **Memory**: each lesson runs top to bottom in a fresh kernel; the kernel's peak resident memory (the largest
  descendant's ``ru_maxrss``, Linux) is what a hub's per-user memory limit must hold, plus JupyterLab's server.
* **Sharing**: the ``--shared`` lesson runs in N kernels at once, all pinned to the same C cores
  (``os.sched_setaffinity``, inherited by each kernel), as N students on an oversubscribed node: the wall time per
  lesson and how many of its measurements said *⚠ starved measurement*.

A benchmark, not a test: the numbers are this machine's (the README's hub guide quotes them). Linux only (affinity,
``ru_maxrss`` in KiB). It takes several minutes: run it on a quiet machine.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNNER = """
import os, sys, nbformat
from nbclient import NotebookClient
os.sched_setaffinity(0, {cores})
notebook = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(notebook, timeout=900, kernel_name="python3",
               resources={{"metadata": {{"path": os.path.dirname(sys.argv[1])}}}}).execute()
starved = sum("starved measurement" in str(output) for cell in notebook.cells for output in cell.get("outputs", []))
print("starved", starved)
"""


def lesson(number: str) -> Path:
    (found,) = sorted((ROOT / "notebooks").glob(f"{number}_*.ipynb"))
    return found


def run_lessons(paths: list[Path], cores: set[int]) -> list[tuple[float, int, int]]:
    """Run ``paths`` at once, each in its own kernel pinned to ``cores``: (seconds, starved warnings, peak KiB)."""
    started = time.perf_counter()
    runs = [subprocess.Popen([sys.executable, "-c", RUNNER.format(cores=sorted(cores)), str(path)],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) for path in paths]
    results = []
    for run in runs:
        _, status, usage = os.wait4(run.pid, 0)  # this child's own usage, its kernel included
        seconds = time.perf_counter() - started
        out = run.stdout.read()
        starved = int(out.split("starved")[-1]) if "starved" in out else -1
        results.append((seconds, starved, usage.ru_maxrss))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lessons", nargs="*", help="lessons to measure the memory of (default: all)")
    parser.add_argument("--shared", default="01", help="the lesson N students run at once (default 01)")
    parser.add_argument("--no-sharing", action="store_true", help="measure the lessons' memory only")
    args = parser.parse_args()
    if not hasattr(os, "sched_setaffinity"):
        sys.exit("hub_sizing: Linux only (core pinning)")
    cores = sorted(os.sched_getaffinity(0))
    env_threads = os.environ.get("OMP_NUM_THREADS", "unset")
    print(f"machine: {len(cores)} usable cores; OMP_NUM_THREADS={env_threads}; lessons time on one thread")
    numbers = args.lessons or sorted(p.name[:2] for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    print(f"{'lesson':<8}{'Run All s':>10}{'kernel peak MiB':>17}")
    for number in numbers:
        ((seconds, _, peak),) = run_lessons([lesson(number)], set(cores))
        print(f"{number:<8}{seconds:>10.0f}{peak / 1024:>17.0f}")
    if args.no_sharing:
        return
    print(f"\nlesson {args.shared} run by N kernels at once, pinned to C cores:")
    print(f"{'C cores':>8}{'N kernels':>10}{'s per lesson (median)':>23}{'starved warnings':>18}")
    for shared_cores in sorted({1, len(cores)}):
        for students in (1, 2, 4):
            results = run_lessons([lesson(args.shared)] * students, set(cores[:shared_cores]))
            times = sorted(seconds for seconds, _, _ in results)
            starved = sum(max(count, 0) for _, count, _ in results)
            print(f"{shared_cores:>8}{students:>10}{times[len(times) // 2]:>23.0f}{starved:>18}")


if __name__ == "__main__":
    main()
