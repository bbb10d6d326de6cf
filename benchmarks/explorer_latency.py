"""How fast every lesson's explorer answers, and how often it can decide: the time from a change of its controls to
the new table and plot at the lesson's default setting and at its most expensive one (goals on a 2-core laptop:
≤ 1 s and ≤ 2 s), the interleaved rounds each achieved (fixed before sampling, from the warm-up run), and the
share of the explorer's single-control settings that get the 6 rounds a 95 % interval needs.

    .venv/bin/python benchmarks/explorer_latency.py [LESSON …]   (e.g. 07 11; default: every lesson)

A benchmark, not a test: it prints seconds and rounds, which depend on the machine; the tests bound forward passes
instead. Each explorer is measured in the caller's thread (as a test drives it), so the time is the whole update:
build, count, time, describe, draw.
"""
from __future__ import annotations

import sys
import time

import torch

import effedu
from effedu import explorers
from effedu.stats import MIN_ROUNDS

GOAL_DEFAULT_S, GOAL_WORST_S = 1.0, 2.0


def measured(explorer, setting: dict) -> tuple[float, int]:
    """(seconds, rounds) of one update to ``setting``."""
    start = time.perf_counter()
    explorer.update(setting)
    elapsed = time.perf_counter() - start
    if explorer.error:
        raise RuntimeError(f"the explorer failed at {setting}: {explorer.error}")
    return elapsed, explorer.result.attrs.get("rounds", 0)


def main() -> None:
    info = effedu.hardware()
    print(f"machine: {info['cpu']}, {info['usable cores']} usable cores, torch {info['torch']}, "
          f"{torch.get_num_threads()} torch threads; explorers time on 1 thread")
    print(f"{'lesson':<8}{'default s':>10}{'rounds':>8}{'worst s':>10}{'rounds':>8}{'deciding settings':>20}")
    misses = 0
    for lesson in sys.argv[1:] or sorted(explorers.LESSON_EXPLORERS):
        explorer = explorers.demo(lesson)
        default = explorer.values()
        default_s, default_rounds = min(measured(explorer, default) for _ in range(2))  # a change back
        worst_s, worst_rounds = measured(explorer, {**default, **explorers.MOST_EXPENSIVE[lesson]})
        settings = list(explorers.demo(lesson).single_changes())
        deciding = sum(measured(explorer, setting)[1] >= MIN_ROUNDS for setting in settings)
        misses += default_s > GOAL_DEFAULT_S or worst_s > GOAL_WORST_S
        print(f"{lesson:<8}{default_s:>10.2f}{default_rounds:>8}{worst_s:>10.2f}{worst_rounds:>8}"
              f"{f'{deciding} of {len(settings)}':>20}")
    print(f"goal ≤ {GOAL_DEFAULT_S:g} s at the default, ≤ {GOAL_WORST_S:g} s at the worst: "
          + ("met by every explorer" if not misses else f"missed by {misses} explorer(s)")
          + f"; a setting decides with at least {MIN_ROUNDS} rounds")


if __name__ == "__main__":
    main()
