"""The decision rule on simulated machines: how often it names a winner between two identical candidates (false
alarms, goal ≤ 5 % at every round count) and how often it finds a true ×0.90 (goal ≥ 90 % at the lessons' and the
explorers' default rounds) — beside the rule it replaced (the middle half of the per-round ratios wholly on one
side of 1).

    .venv/bin/python benchmarks/interval_rule.py [comparisons]     # default 20,000 per cell: a few seconds

Prints Markdown tables (the closing notes quote them). Pure simulation: the numbers do not depend on this machine.
"""
from __future__ import annotations

import sys

import numpy as np

from effedu import stats

ROUNDS = (3, 5, 6, 9, 12, 20, 30, 50)


def rates(blocks: np.ndarray, effect: float = 1.0) -> tuple[float, float]:
    """(the spread rule's, the interval's) share of comparisons that name a winner."""
    ratios = effect * blocks[..., 1] / blocks[..., 0]
    q1, q3 = np.quantile(ratios, [0.25, 0.75], axis=-1)
    _, lo, hi = stats.median_intervals(ratios)
    return float(np.mean((q3 < 1) | (q1 > 1))), float(np.mean((hi < 1) | (lo > 1)))


def main(comparisons: int) -> None:
    rng = np.random.default_rng(2026)
    print(f"False alarms between identical candidates ({comparisons:,} comparisons per cell): spread rule / interval")
    print("\n| noise | " + " | ".join(f"{n} rounds" for n in ROUNDS) + " |")
    print("|---|" + "---|" * len(ROUNDS))
    for name, model in stats.NOISE_MODELS.items():
        cells = [rates(model(rng, n, comparisons)) for n in ROUNDS]
        print(f"| {name} | " + " | ".join(f"{a:.1%} / {b:.1%}" for a, b in cells) + " |")
    print("\nA true ×0.90 found (interval wholly below 1), lognormal 4 % block noise:\n")
    print("| rounds | found |\n|---|---|")
    for n in (6, 9, 12, 20):
        blocks = stats.lognormal_blocks(rng, n, comparisons)
        _, lo, hi = stats.median_intervals(0.9 * blocks[..., 1] / blocks[..., 0])
        print(f"| {n} | {np.mean(hi < 1):.1%} |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
