"""How fast every lesson's explorer answers: the time from a change of its controls to the new table and plot, at
the lesson's default setting and at its most expensive one (goals on a 2-core laptop: ≤ 1 s and ≤ 2 s).

    .venv/bin/python benchmarks/explorer_latency.py

A benchmark, not a test: it prints seconds, which depend on the machine; the tests bound forward passes instead.
Each explorer is measured in the caller's thread (as a test drives it), so the time is the whole update: build,
count, time, describe, draw.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import torch  # noqa: E402

import effedu  # noqa: E402
from effedu import explorers  # noqa: E402
from test_widgets import lesson_explorer  # noqa: E402  (the same explorer set-ups the tests drive)

GOAL_DEFAULT_S, GOAL_WORST_S = 1.0, 2.0


def seconds(explorer, setting: dict) -> float:
    start = time.perf_counter()
    explorer.update({**explorer.values(), **setting})
    elapsed = time.perf_counter() - start
    if explorer.error:
        raise RuntimeError(f"the explorer failed at {setting}: {explorer.error}")
    return elapsed


def main() -> None:
    info = effedu.hardware()
    print(f"machine: {info['cpu']}, {info['usable cores']} usable cores, torch {info['torch']}, "
          f"{torch.get_num_threads()} torch threads; explorers time on 1 thread")
    print(f"{'lesson':<8}{'default s':>10}{'worst s':>10}   most expensive setting")
    misses = 0
    for lesson in sorted(explorers.LESSON_EXPLORERS):
        explorer = lesson_explorer(lesson)
        default = explorer.values()
        default_s = min(seconds(explorer, default) for _ in range(2))  # a change back to the default
        worst_s = seconds(explorer, explorers.MOST_EXPENSIVE[lesson])
        misses += default_s > GOAL_DEFAULT_S or worst_s > GOAL_WORST_S
        print(f"{lesson:<8}{default_s:>10.2f}{worst_s:>10.2f}   {explorers.MOST_EXPENSIVE[lesson]}")
    print(f"goal ≤ {GOAL_DEFAULT_S:g} s at the default, ≤ {GOAL_WORST_S:g} s at the worst: "
          + ("met by every explorer" if not misses else f"missed by {misses} explorer(s)"))


if __name__ == "__main__":
    main()
