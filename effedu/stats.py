"""The statistics of a measurement — pure functions of numbers, no torch, no clock.

Every comparison in effedu ends in a ``Range``: a measured value (the median of paired per-round ratios, a median
time share, an accuracy difference …) with its 95 % confidence interval. ``Range.vs`` is the one rule that decides
anything from it — below, above or inside a reference, or too few rounds to say — and every verdict, the advisor,
the exercise checkers, the scorecard and the class page call it (a test patches it and sees them all call it).

The interval of a median is the sign test's (order-statistic) interval: with n paired rounds, [x₍ₖ₎, x₍ₙ₋ₖ₊₁₎]
holds the true median with probability at least 95 %, for any distribution of the per-round ratios — a laptop's
heavy-tailed stalls included — as long as the rounds are independent. It needs no normality, always holds the
sample median, and does not exist below 6 rounds (even [x₍₁₎, x₍₆₎] holds the median with 1 − 2·2⁻⁶ = 96.9 %):
fewer rounds are **too few to decide**, and say so. (The same rule as criterion.rs's confidence interval, without
its bootstrap: the sign test is exact for the median.)
"""
from __future__ import annotations

import math
import statistics
from typing import Mapping, NamedTuple, Sequence

import numpy as np
import pandas as pd

CONFIDENCE = 0.95  # two-sided level of every interval effedu decides on
EQUIVALENCE = 0.02  # an interval wholly within ±2 % of the reference: "the same within 2 %"

BELOW, ABOVE, INSIDE, TOO_FEW = "below", "above", "inside", "too few"


class Side(NamedTuple):
    """Where an interval lies against a reference: ``where`` is 'below' or 'above' (wholly), 'inside' (it holds
    the reference) or 'too few' (no interval: too few rounds); ``close`` — it lies wholly within ±band of it."""
    where: str
    close: bool


class Range(NamedTuple):
    """A measured value and its 95 % confidence interval ``lo``–``hi`` (NaN ends: too few rounds for one).

    A NamedTuple, so ``ratio, lo, hi = verdict.paired(frame, "b")`` works. Derived quantities keep their interval,
    with the ends swapped where the map reverses order: ``1 / r`` (a time ratio → a speed-up), ``1 - r`` (→ the
    share of the time saved), ``r / k`` (→ per image, per MAC)."""
    value: float
    lo: float
    hi: float

    @classmethod
    def of(cls, row: Mapping, column: str = "ratio") -> "Range":
        """From a frame row with ``column``, ``column_lo`` and ``column_hi`` (e.g. ``ratio``, ``ratio_lo`` …)."""
        return cls(float(row[column]), float(row[f"{column}_lo"]), float(row[f"{column}_hi"]))

    @property
    def decidable(self) -> bool:
        """There is an interval (enough rounds): NaN ends mean there is none."""
        return not (math.isnan(self.lo) or math.isnan(self.hi))

    def vs(self, reference: float = 1.0, band: float = 0.0) -> Side:
        """**The decision rule, the only one.** 'below' iff the whole interval is below ``reference``, 'above' iff
        wholly above, 'inside' when it holds it, 'too few' when there is no interval; ``close`` when the whole
        interval lies within ±``band`` (a fraction) of ``reference``."""
        if not self.decidable:
            return Side(TOO_FEW, False)
        where = BELOW if self.hi < reference else ABOVE if self.lo > reference else INSIDE
        margin = abs(reference) * band
        return Side(where, band > 0 and reference - margin <= self.lo and self.hi <= reference + margin)

    def __rtruediv__(self, k: float) -> "Range":  # k / r: a time ratio → a speed-up; the ends swap
        return Range(k / self.value, k / self.hi, k / self.lo)

    def __rsub__(self, k: float) -> "Range":  # k - r: a time ratio → the share saved; the ends swap
        return Range(k - self.value, k - self.hi, k - self.lo)

    def __truediv__(self, k: float) -> "Range":  # r / k: per image, per MAC (k > 0)
        if not k > 0:
            raise ValueError(f"a Range divides by a positive number only, got {k!r}")
        return Range(self.value / k, self.lo / k, self.hi / k)


def sign_test_rank(n: int, confidence: float = CONFIDENCE) -> int:
    """k of the sign-test interval [x₍ₖ₎, x₍ₙ₋ₖ₊₁₎] for the median of n values at ``confidence`` (two-sided): the
    largest k with P(Binomial(n, ½) ≤ k − 1) ≤ (1 − confidence) / 2. 0 when no interval exists (n < 6 at 95 %)."""
    tail = (1 - confidence) / 2
    k, cumulative = 0, 0.0
    for j in range(n + 1):
        cumulative += math.comb(n, j) / 2 ** n
        if cumulative > tail:
            break
        k = j + 1
    return min(k, n // 2)


def min_rounds(confidence: float = CONFIDENCE) -> int:
    """The fewest values with a sign-test interval at ``confidence``: 6 at 95 %."""
    return next(n for n in range(1, 200) if sign_test_rank(n, confidence) > 0)


MIN_ROUNDS = min_rounds()


def coverage(n: int, confidence: float = CONFIDENCE) -> float:
    """The exact probability that the sign-test interval of n values holds the median (≥ ``confidence``)."""
    k = sign_test_rank(n, confidence)
    return 1 - 2 * sum(math.comb(n, j) for j in range(k)) / 2 ** n if k else 0.0


def median_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> Range:
    """The median of ``values`` with its sign-test confidence interval (NaN ends when there are too few)."""
    if not len(values):
        raise ValueError("values must not be empty")
    ordered = sorted(values)
    k = sign_test_rank(len(ordered), confidence)
    median = statistics.median(ordered)
    if k == 0:
        return Range(median, math.nan, math.nan)
    return Range(median, ordered[k - 1], ordered[len(ordered) - k])


def median_intervals(values: np.ndarray, confidence: float = CONFIDENCE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``median_interval`` over the last axis of an array (many comparisons at once: the simulation tests)."""
    ordered = np.sort(np.asarray(values, dtype=float), axis=-1)
    n = ordered.shape[-1]
    k = sign_test_rank(n, confidence)
    median = np.median(ordered, axis=-1)
    if k == 0:
        nan = np.full(median.shape, np.nan)
        return median, nan, nan
    return median, ordered[..., k - 1], ordered[..., n - k]


def quartiles(values: Sequence[float]) -> tuple[float, float]:
    """(first, third) quartile, with the 'inclusive' method whose middle cut is the median — the *spread* of the
    values (lesson 00 sets it beside the interval: the spread does not shrink with more rounds, the interval does).
    One value: both quartiles are that value."""
    if len(values) < 2:
        return (values[0], values[0]) if values else (float("nan"), float("nan"))
    low, _, high = statistics.quantiles(values, n=4, method="inclusive")
    return low, high


def paired_ratios(samples: Sequence[float], baseline: Sequence[float]) -> list[float]:
    """The per-round ratios ``samples[r] / baseline[r]`` of two candidates timed interleaved (rounds paired)."""
    if len(samples) != len(baseline) or not len(samples):
        raise ValueError(f"samples and baseline must be equally long and not empty, got {len(samples)} and "
                         f"{len(baseline)} rounds")
    return [mine / base for mine, base in zip(samples, baseline)]


def paired_ratio(samples: Sequence[float], baseline: Sequence[float]) -> Range:
    """The median of the per-round ratios with its 95 % interval. Interleaving makes round r of both candidates
    run at nearly the same moment, so each round's ratio is free of the machine's slow drift."""
    return median_interval(paired_ratios(samples, baseline))


def comparison_stats(samples: Mapping[str, Sequence[float]]) -> pd.DataFrame:
    """One row per candidate from its samples (ms, one per round, rounds paired across candidates): ``median_ms,
    min_ms, iqr_ms, cv`` and ``ratio`` / ``ratio_lo`` / ``ratio_hi`` — the median of the paired per-round ratios to
    the first candidate and its 95 % interval (NaN ends below ``MIN_ROUNDS`` rounds)."""
    if not samples:
        raise ValueError("samples must hold at least one candidate")
    names = list(samples)
    baseline = samples[names[0]]
    rows = []
    for name in names:
        values = list(samples[name])
        ratio = paired_ratio(values, baseline)
        q1, q3 = quartiles(values)
        mean = statistics.fmean(values)
        rows.append({"candidate": name, "median_ms": statistics.median(values), "min_ms": min(values),
                     "iqr_ms": q3 - q1, "cv": statistics.stdev(values) / mean if len(values) > 1 else 0.0,
                     "ratio": ratio.value, "ratio_lo": ratio.lo, "ratio_hi": ratio.hi})
    return pd.DataFrame(rows).set_index("candidate")


def chance_count(trials: int, rate: float, quantile: float = 0.99) -> int:
    """The most events that ``trials`` independent tries at ``rate`` give by chance (the ``quantile`` of
    Binomial(trials, rate)): 1 false alarm in 12 comparisons at 5 % is chance, 5 are not."""
    from scipy.stats import binom  # scipy comes with scikit-learn

    return int(binom.ppf(quantile, trials, rate))


# --- simulated machines: how the two timed blocks of each round vary (tests and benchmarks/interval_rule.py) ----

def lognormal_blocks(rng: np.random.Generator, rounds: int, comparisons: int, spread: float = 0.04) -> np.ndarray:
    """Each timed block off by an independent lognormal factor (4 %): the plain noise of a quiet machine. Returns
    (comparisons, rounds, 2) block times of two identical candidates."""
    return rng.lognormal(0, spread, (comparisons, rounds, 2))


def drifting_blocks(rng: np.random.Generator, rounds: int, comparisons: int, phi: float = 0.9,
                    step: float = 0.02) -> np.ndarray:
    """An AR(1) drift over the sequence of timed blocks (φ = 0.9, 2 % innovations: about 4.6 % wander) that the two
    blocks of a round do *not* share — the second block of a round meets a later state — plus 2 % block noise. Who
    goes first alternates, as ``compare_latency`` rotates it."""
    innovations = rng.normal(0, step, (comparisons, 2 * rounds))
    state = np.zeros((comparisons, 2 * rounds))
    for j in range(1, 2 * rounds):
        state[:, j] = phi * state[:, j - 1] + innovations[:, j]
    blocks = np.exp(state + rng.normal(0, 0.02, (comparisons, 2 * rounds))).reshape(comparisons, rounds, 2)
    swap = np.arange(rounds) % 2 == 1  # odd rounds: the candidate runs first
    blocks[:, swap] = blocks[:, swap][..., ::-1]
    return blocks


def stalling_blocks(rng: np.random.Generator, rounds: int, comparisons: int, rate: float = 0.05) -> np.ndarray:
    """Lognormal 4 % plus 3× stalls, each hitting one timed block (one candidate of a round) 5 % of the time — a
    laptop's heavy tail."""
    blocks = lognormal_blocks(rng, rounds, comparisons)
    return blocks * np.where(rng.random(blocks.shape) < rate, 3.0, 1.0)


NOISE_MODELS = {"lognormal 4 %": lognormal_blocks, "AR(1) drift, not shared": drifting_blocks,
                "3× stalls on one candidate": stalling_blocks}


# --- accuracies -----------------------------------------------------------------------------------------------

Z_95 = 1.959964  # the normal quantile of a two-sided 95 % interval


def accuracy_noise(accuracy: float, n: int) -> float:
    """Half the width of the 95 % interval of one accuracy measured on ``n`` examples (binomial, normal
    approximation): how far a test accuracy moves by the luck of which examples were drawn."""
    return Z_95 * math.sqrt(max(accuracy * (1 - accuracy), 1e-12) / n)


def accuracy_difference(a: float, b: float, n: int) -> Range:
    """a − b for two accuracies on ``n`` examples each, with its 95 % interval. The two are treated as independent,
    which is conservative when both were measured on the *same* examples (their errors then go together and the
    difference varies less); McNemar's test on the examples they disagree on is sharper, where those are known."""
    half = Z_95 * math.sqrt((max(a * (1 - a), 1e-12) + max(b * (1 - b), 1e-12)) / n)
    return Range(a - b, a - b - half, a - b + half)


def proportion_interval(successes: int, n: int) -> Range:
    """A proportion with its exact 95 % (Clopper–Pearson) interval — "13 of 14 networks within ±10 %" is
    66–99.8 % at 95 %, not a sure 93 %."""
    if not 0 <= successes <= n or n < 1:
        raise ValueError(f"successes must lie in 0..n and n must be positive, got {successes} of {n}")
    from scipy.stats import beta  # scipy comes with scikit-learn

    tail = (1 - CONFIDENCE) / 2
    lo = 0.0 if successes == 0 else float(beta.ppf(tail, successes, n - successes + 1))
    hi = 1.0 if successes == n else float(beta.ppf(1 - tail, successes + 1, n - successes))
    return Range(successes / n, lo, hi)


# --- orders and fronts ----------------------------------------------------------------------------------------

def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman's rank correlation; NaN when either side is constant (no order to compare)."""
    first, second = pd.Series(list(a), dtype=float), pd.Series(list(b), dtype=float)
    if first.nunique() < 2 or second.nunique() < 2:
        return math.nan
    return float(first.rank().corr(second.rank()))


def pareto_front(frame: pd.DataFrame, x: str = "median_ms", y: str = "accuracy") -> list:
    """Rows no other row beats: a row drops out when another is at least as good on both axes and better on one
    (lower ``x``, higher ``y``). Exact ties stay together on the front."""
    front = []
    for name, row in frame.iterrows():
        beaten = ((frame[x] <= row[x]) & (frame[y] >= row[y]) & ((frame[x] < row[x]) | (frame[y] > row[y]))).any()
        if not beaten:
            front.append(name)
    return front
