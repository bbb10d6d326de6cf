"""Every conclusion a lesson prints, decided here from the measured numbers — never in a notebook cell.

Each function takes what a profiler returned (a ``compare_latency`` frame, a ``time_shares`` table, samples …) and
returns a ``Verdict``: an ``outcome`` from a small fixed set, the ``numbers`` it was decided on, and ``text``, a
Markdown sentence that quotes those numbers. Speed is decided on the *paired range* of a comparison (the
quartiles of the per-round ratios, ``ratio_lo``–``ratio_hi``): **faster** iff the whole range is below 1,
**slower** iff it is above 1, otherwise **no clear difference**. A cause that was not measured is worded as a
hypothesis ("probably …"). Every threshold is a named constant below, in one place.

In a notebook a verdict shows as its sentence: end a cell with ``verdict.speed(frame, "separable")``.
"""
from __future__ import annotations

import dataclasses
import math
import statistics
from typing import Mapping, Sequence

import pandas as pd

from .machine import core_facts, cpu_name, device_words
from .timing import paired_ratio, quartiles

# --- thresholds, all of them ------------------------------------------------------------------------------
NEAR_LINEAR = 0.10  # a thread speed-up within 10 % of the thread count is "near-linear"
WARMUP_MARGIN = 0.10  # a first run more than 10 % above every settled run shows a cold start
OUTLIER_SHIFT = 0.02  # a mean 2 % away from the median has been moved by outliers
TWINS_CALM = 0.02  # twin ratios within 2 % of 1: the machine was calm
MAX_LISTED = 3  # list at most this many disagreements
PREDICTOR_BAND = 0.10  # a latency prediction within ±10 % counts as right …
PREDICTOR_GOAL = 0.90  # … and 90 % of networks right is the goal
PAPER_TIE = 1.25  # log-distances to two paper devices within this factor: between the two
ACCURACY_Z = 2.0  # two standard errors of a test accuracy: the noise of comparing accuracies
SPECTRUM_ENERGY = 0.90  # the rank that holds 90 % of ‖W‖²
SPECTRUM_MARGIN = 0.90  # trained ranks below 90 % of the random one: trained filters compress better
HOOK_TOLERANCE = 0.10  # summed layer times within 10 % of the end-to-end time
SHARE_ABOVE = 1.5  # a time share 1.5× its MAC share stands out

FASTER, SLOWER, SAME = "faster", "slower", "no clear difference"
KEPT, SHORT, BEAT = "kept", "fell short", "beat the MACs"


@dataclasses.dataclass(frozen=True)
class Verdict:
    """An outcome, the numbers it was decided on, and the sentence a lesson prints (Markdown)."""
    outcome: str
    text: str
    numbers: dict = dataclasses.field(default_factory=dict)

    def __str__(self) -> str:
        return self.text

    def _repr_markdown_(self) -> str:
        return self.text


# --- formatting: numbers that never contradict the word next to them --------------------------------------

def num(value: float, must: str | None = None, digits: int = 3) -> str:
    """``value`` to ``digits`` significant digits, with more where needed so that it reads on the side of 1
    that ``must`` says ('below' or 'above') — a ratio of 0.9996 decided 'faster' never prints as 1.00."""
    if not math.isfinite(value):
        return "n/a"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    magnitude = math.floor(math.log10(abs(value))) if value else 0
    decimals = max(0, digits - 1 - magnitude)
    for extra in range(6):
        text = f"{value:.{decimals + extra}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")  # ×0.5, not ×0.500
        if must is None or (must == "below" and float(text) < 1) or (must == "above" and float(text) > 1):
            return text
    return text


def times(value: float, must: str | None = None) -> str:
    """'×0.148'."""
    return f"×{num(value, must)}"


def pct(fraction: float, positive: bool = False, decimals: int | None = None) -> str:
    """'4.3 %' — never negative (a negative share is clamped by the caller and said so); ``positive`` adds
    digits so that a share decided above zero never prints as 0 %; ``decimals`` fixes the digits (accuracies)."""
    value = max(fraction, 0.0) * 100
    if decimals is not None:
        return f"{value:.{decimals}f} %"
    decimals = 0 if value >= 10 else 1 if value >= 1 else 2
    while positive and value > 0 and float(f"{value:.{decimals}f}") == 0 and decimals < 6:
        decimals += 1
    text = f"{value:.{decimals}f}"
    return f"{text.rstrip('0').rstrip('.') if '.' in text else text} %"


def _side(outcome: str) -> str | None:
    return {FASTER: "below", SLOWER: "above"}.get(outcome)


def ratio_range(lo: float, hi: float) -> str:
    """'×0.98–0.9996': a range wholly below (or above) 1 never prints an end as 1."""
    return f"×{num(lo, 'above' if lo > 1 else None)}–{num(hi, 'below' if hi < 1 else None)}"


# --- the paired comparison --------------------------------------------------------------------------------

def _row(frame: pd.DataFrame, name: str, argument: str = "name") -> pd.Series:
    if name not in frame.index:
        raise ValueError(f"{argument} must be one of the frame's rows {list(frame.index)}, got {name!r}")
    return frame.loc[name]


def paired(frame: pd.DataFrame, name: str, baseline: str | None = None) -> tuple[float, float, float]:
    """(ratio, ratio_lo, ratio_hi) of ``name`` against ``baseline`` (default: the frame's first row). Against
    another row the per-round ratios are recomputed from the samples in ``frame.attrs["results"]``."""
    row = _row(frame, name)
    if baseline is None or baseline == frame.index[0]:
        return float(row["ratio"]), float(row["ratio_lo"]), float(row["ratio_hi"])
    _row(frame, baseline, "baseline")
    results = frame.attrs.get("results")
    if not results:
        raise ValueError("baseline: comparing two rows that are not the first needs the samples "
                         "(frame.attrs['results'] of a compare_latency frame)")
    return paired_ratio(results[name].samples, results[baseline].samples)


def outcome_of(lo: float, hi: float) -> str:
    """faster iff the whole paired range is below 1, slower iff above 1, else no clear difference."""
    return FASTER if hi < 1 else SLOWER if lo > 1 else SAME


def speed(frame: pd.DataFrame, name: str, baseline: str | None = None) -> Verdict:
    """Was ``name`` faster or slower than ``baseline`` (default: the first row), beyond the paired noise?"""
    ratio, lo, hi = paired(frame, name, baseline)
    base = baseline or frame.index[0]
    if name == base:
        raise ValueError(f"name and baseline are both {name!r}: compare a candidate with another one")
    outcome = outcome_of(lo, hi)
    side = _side(outcome)
    measured = f"time {times(ratio, side)}, paired range {ratio_range(lo, hi)}"
    if outcome == FASTER:
        text = f"**{name}** was **faster** than {base}: {num(1 / ratio, 'above')}× as fast ({measured})."
    elif outcome == SLOWER:
        text = f"**{name}** was **slower** than {base}: {measured}."
    else:
        text = (f"**{name}** against {base}: **no clear difference** ({measured}, which includes ×1 — the "
                "difference is within this machine's noise).")
    return Verdict(outcome, text, {"ratio": ratio, "ratio_lo": lo, "ratio_hi": hi, "baseline": base})


def promise(frame: pd.DataFrame, name: str, baseline: str | None = None) -> Verdict:
    """Did the time follow the MACs? The paired time range against the MAC ratio: **kept** (the MAC ratio lies
    inside the range), **fell short** (the time ratio is clearly above what the MACs promised) or **beat the
    MACs** (clearly below)."""
    ratio, lo, hi = paired(frame, name, baseline)
    base = baseline or frame.index[0]
    if "macs" not in frame.columns or not frame.loc[base, "macs"]:
        raise ValueError("frame needs a 'macs' column with MACs for the baseline: compare_latency(counts=True)")
    promised = float(frame.loc[name, "macs"] / frame.loc[base, "macs"])
    outcome = SHORT if lo > promised else BEAT if hi < promised else KEPT
    measured = f"MACs {times(promised)}, time {times(ratio)} (paired range {ratio_range(lo, hi)})"
    if outcome == KEPT:
        text = f"**{name}** against {base}: the time **kept** the MACs' promise — {measured}."
    else:
        word = "fell short" if outcome == SHORT else "beat the MACs"
        text = (f"**{name}** against {base}: the time **{word}** — {measured}: {num(ratio / promised)}× the time "
                "the MAC count predicts.")
    return Verdict(outcome, text, {"ratio": ratio, "ratio_lo": lo, "ratio_hi": hi, "macs_ratio": promised,
                                   "kept_ratio": ratio / promised})


def per_unit(frame: pd.DataFrame, name: str, units: float, unit: str, baseline: str | None = None, *,
             note: str | None = None) -> Verdict:
    """Time per unit of work of ``name`` against ``baseline``, when ``name`` does ``units`` times the work (a batch
    of 4 images against 1: ``units=4, unit="image"``): faster or slower per ``unit``, beyond the paired noise. The
    whole paired range is divided by ``units``, so the verdict is decided on the same rounds as the time ratio."""
    units = float(units)
    if not units > 0:
        raise ValueError(f"units must be a positive number (the work of {name!r} over the baseline's), got {units}")
    ratio, lo, hi = paired(frame, name, baseline)
    base = baseline or frame.index[0]
    outcome = outcome_of(lo / units, hi / units)
    word = {FASTER: f"**faster** per {unit}", SLOWER: f"**slower** per {unit}",
            SAME: f"**no clear difference** per {unit}"}
    note = note or f"whole time {times(ratio)} for {times(units)} the {unit}s"
    text = (f"**{name}** against {base}: {word[outcome]} — time per {unit} {times(ratio / units, _side(outcome))} "
            f"(paired range {ratio_range(lo / units, hi / units)}; {note}).")
    return Verdict(outcome, text, {"per_unit": ratio / units, "lo": lo / units, "hi": hi / units, "units": units})


def per_mac(frame: pd.DataFrame, name: str, baseline: str | None = None) -> Verdict:
    """Time per MAC of ``name`` against ``baseline`` — for settings that are only *nearly* equal in MACs (G1's
    widths differ by up to 5 %): faster or slower per MAC, beyond the paired noise."""
    macs = float(frame.loc[name, "macs"] / frame.loc[baseline or frame.index[0], "macs"])
    return per_unit(frame, name, macs, "MAC", baseline, note=f"MACs {times(macs)}")


def removal(frame: pd.DataFrame, without: str, baseline: str | None = None, *, part: str = "it",
            whole: str = "the block") -> Verdict:
    """What removing ``part`` saved, from a frame timing the whole (``baseline``, default the first row)
    against the whole ``without`` it: its share of the time is 1 − ratio. Outcomes: **costs time** (the whole
    paired range is a saving), **no clear cost**, **removing it was slower** (the share is then shown as 0 %,
    clamped, and said so)."""
    ratio, lo, hi = paired(frame, without, baseline)
    numbers = {"share": 1 - ratio, "share_lo": 1 - hi, "share_hi": 1 - lo, "ratio": ratio, "ratio_lo": lo,
               "ratio_hi": hi}
    if hi < 1:
        text = (f"Removing {part} saved **{pct(1 - ratio, True)}** of {whole}'s time (paired range "
                f"{pct(1 - hi, True)} to {pct(1 - lo, True)}): {part} **costs time**.")
        return Verdict("costs time", text, numbers)
    if lo > 1:
        text = (f"Removing {part} made {whole} **slower** here (time {times(ratio, 'above')}, paired range "
                f"{ratio_range(lo, hi)}), so its share of the time shows as 0 % (clamped): **removing it was slower** — "
                "probably a measurement or memory-layout effect rather than a negative cost; run it again.")
        return Verdict("removing it was slower", text, numbers)
    text = (f"Removing {part} made **no clear cost** visible: time {times(ratio)}, paired range {ratio_range(lo, hi)} "
            f"includes ×1 — on this machine {part} hides in the noise of {whole}.")
    return Verdict("no clear cost", text, numbers)


def removal_sweep(swept: pd.DataFrame, without: str, x: str, *, part: str = "it") -> Verdict:
    """A ``timing.sweep`` of a whole against the whole ``without`` a part, over ``x``: the part's share of the
    time at each setting (1 − ratio, with its paired range, clamped at 0 and said so), and whether that share
    clearly **shrinks** or **grows** from the smallest to the largest ``x`` (ranges apart), else **no clear trend**."""
    rows = swept[swept["candidate"] == without].sort_values(x)
    lines, clamped = [], False
    for _, row in rows.iterrows():
        share, low, high = 1 - row["ratio"], 1 - row["ratio_hi"], 1 - row["ratio_lo"]
        clamped |= low < 0
        lines.append(f"- {x}={row[x]}: {part} **{pct(share)}** of the time (paired range {pct(low)}–{pct(high)})")
    first, last = rows.iloc[0], rows.iloc[-1]
    if 1 - first["ratio_hi"] > 1 - last["ratio_lo"]:
        outcome = "shrinks"
    elif 1 - first["ratio_lo"] < 1 - last["ratio_hi"]:
        outcome = "grows"
    else:
        outcome = "no clear trend"
    lines.append(f"From {x}={first[x]} to {x}={last[x]} the share of {part} **{outcome}**"
                 + (" (paired ranges apart)." if outcome != "no clear trend" else " — the ranges overlap.")
                 + (" Shares below zero (removing it was slower) are shown as 0 %." if clamped else ""))
    return Verdict(outcome, "\n".join(lines), {"shares": list(1 - rows["ratio"])})


# --- shares of the time ------------------------------------------------------------------------------------

def time_share(shares: pd.DataFrame, group: str, *, claim: float | None = None, claim_source: str = "") -> Verdict:
    """A group's share of the time (with its per-run range) against its share of the MACs — or against a
    published ``claim`` (e.g. MobileNet's "95 % of the computation time in 1×1 convolutions"). Outcome
    'above' / 'below' / 'about' (the MAC share or the claim inside the range)."""
    row = _row(shares, group, "group")
    share, lo, hi = float(row["time_share"]), float(row["time_share_lo"]), float(row["time_share_hi"])
    reference = claim if claim is not None else float(row.get("macs_share", 0.0))
    label = f"the claimed {pct(claim)}" + (f" ({claim_source})" if claim_source else "") if claim is not None \
        else f"its {pct(reference)} of the MACs"
    outcome = "above" if lo > reference else "below" if hi < reference else "about"
    relation = {"above": "**more** than", "below": "**less** than", "about": "**about**"}[outcome]
    ratio = f" — {num(share / reference)}× it" if reference > 0 and outcome != "about" else ""
    text = (f"**{group}**: **{pct(share)}** of the time (per-run range {pct(lo)}–{pct(hi)}), {relation} "
            f"{label}{ratio}.")
    others = shares.drop(index=group)
    if len(others):
        if lo > others["time_share_hi"].max():
            text += " It is clearly the largest share of the time."
        elif hi < others["time_share_lo"].max():
            text += f" **{others['time_share'].idxmax()}** takes a clearly larger share."
    return Verdict(outcome, text, {"share": share, "lo": lo, "hi": hi, "reference": reference})


def compare_ranges(values: Mapping[str, tuple[float, float, float]], what: str = "share") -> Verdict:
    """Two measured quantities, each (value, lo, hi): which is larger, or **no clear difference** where the
    ranges overlap. ``values`` holds exactly two entries."""
    if len(values) != 2:
        raise ValueError(f"values must hold exactly two entries, got {len(values)}")
    (a, (va, la, ha)), (b, (vb, lb, hb)) = values.items()
    quoted = f"{a} {pct(va)} ({pct(la)}–{pct(ha)}) against {b} {pct(vb)} ({pct(lb)}–{pct(hb)})"
    if la > hb:
        return Verdict("larger", f"**{a}**'s {what} is clearly **larger**: {quoted}.", {"a": va, "b": vb})
    if ha < lb:
        return Verdict("smaller", f"**{a}**'s {what} is clearly **smaller**: {quoted}.", {"a": va, "b": vb})
    return Verdict(SAME, f"The two {what}s overlap — **no clear difference**: {quoted}.", {"a": va, "b": vb})


def hook_overhead(layers: pd.DataFrame) -> Verdict:
    """The summed per-layer times against the hook-free end-to-end time: how far the per-layer clock inflates
    (or misses) the total, and which clock was used."""
    summed, end_to_end = float(layers["median_ms"].sum()), float(layers.attrs["model_latency_ms"])
    factor = summed / end_to_end
    outcome = "close" if abs(factor - 1) <= HOOK_TOLERANCE else "inflated" if factor > 1 else "below"
    note = {"close": "close enough for the shares to be read as they are",
            "inflated": "the per-layer clock adds its own cost to every layer, so small layers' shares are "
                        "inflated — read the shares of small layers with care",
            "below": "the layers' own times miss part of the run (work between layers), so the shares are of "
                     "the layers' time, not the whole run"}[outcome]
    clamped = layers.attrs.get("clamped", 0)
    text = (f"Summed layer times {num(summed)} ms against {num(end_to_end)} ms end to end ({times(factor)}): "
            f"{note}. Clock: {layers.attrs.get('method', 'host clock')}."
            + (f" {clamped} layer time(s) fell below zero (timer jitter) and count as 0." if clamped else ""))
    return Verdict(outcome, text, {"summed_ms": summed, "end_to_end_ms": end_to_end, "factor": factor})


# --- orderings ---------------------------------------------------------------------------------------------

def ranking(frame: pd.DataFrame, among: Sequence[str] | None = None) -> Verdict:
    """The candidates ``among`` (default: every row but the first, the baseline) from fastest to slowest, with
    '≈' between neighbours the paired ranges cannot tell apart. Outcome **clear** when the fastest is clearly
    faster than every other, else **tied**; ``numbers["fastest"]`` / ``["slowest"]`` name the ends (``None`` when
    tied)."""
    names = list(among) if among is not None else list(frame.index[1:])
    if len(names) < 2:
        raise ValueError(f"among must name at least two candidates, got {names}")
    for name in names:
        _row(frame, name, "among")
    order = sorted(names, key=lambda n: frame.loc[n, "ratio"])
    chain = [f"**{order[0]}**"]
    for previous, current in zip(order, order[1:]):
        chain.append(("< " if outcome_of(*paired(frame, current, previous)[1:]) == SLOWER else "≈ ")
                     + f"**{current}**")
    first_clear = all(outcome_of(*paired(frame, other, order[0])[1:]) == SLOWER for other in order[1:])
    last_clear = all(outcome_of(*paired(frame, order[-1], other)[1:]) == SLOWER for other in order[:-1])
    spread = paired(frame, order[-1], order[0])
    text = (f"Fastest to slowest (≈: within the paired noise): {' '.join(chain)}. The slowest took "
            f"{times(spread[0])} the fastest's time (paired range {ratio_range(spread[1], spread[2])}).")
    return Verdict("clear" if first_clear else "tied", text,
                   {"order": order, "fastest": order[0] if first_clear else None,
                    "slowest": order[-1] if last_clear else None})


def sweep_summary(swept: pd.DataFrame, candidate: str, x: str, series: str) -> Verdict:
    """A ``timing.sweep`` of ``candidate`` against its baseline: per value of ``series``, the outcome at the
    smallest and largest ``x``, and how many settings came out faster, slower or with no clear difference (each
    decided on its own paired range). Outcome: the most common of the three."""
    rows = swept[swept["candidate"] == candidate]
    outcomes = [outcome_of(lo, hi) for lo, hi in zip(rows["ratio_lo"], rows["ratio_hi"])]
    lines = []
    for value, group in rows.groupby(series):
        ends = [group.loc[group[x].idxmin()], group.loc[group[x].idxmax()]]
        parts = []
        for row in ends:
            word = outcome_of(row["ratio_lo"], row["ratio_hi"])
            speedup = f"{num(1 / row['ratio'], 'above')}× as fast" if word == FASTER else \
                f"time {times(row['ratio'], 'above')}" if word == SLOWER else f"time {times(row['ratio'])}"
            parts.append(f"{x}={row[x]}: **{word}** ({speedup}; MACs promised {times(row['macs_ratio'])})")
        lines.append(f"- {series}={value}: " + "; ".join(parts) + ".")
    counts = {word: outcomes.count(word) for word in (FASTER, SLOWER, SAME)}
    lines.append(f"Over all {len(outcomes)} settings: {counts[FASTER]} faster, {counts[SLOWER]} slower, "
                 f"{counts[SAME]} with no clear difference.")
    return Verdict(max(counts, key=counts.get), "\n".join(lines), counts)


def promises(frame: pd.DataFrame, pairs: Sequence[tuple[str, str]]) -> Verdict:
    """Several replacements (``(small, big)`` pairs of one frame) ranked by how well each kept its MACs' promise —
    time ratio ÷ MAC ratio, 1 meaning "exactly as promised". Best and worst are named only where their ranges do
    not overlap the others'; outcome **clear** or **tied**."""
    kept = {}
    lines = []
    for small, big in pairs:
        judged = promise(frame, small, big)
        m = judged.numbers["macs_ratio"]
        kept[f"{small} for {big}"] = (judged.numbers["kept_ratio"], judged.numbers["ratio_lo"] / m,
                                      judged.numbers["ratio_hi"] / m)
        lines.append(f"- {judged.text}")
    order = sorted(kept, key=lambda name: kept[name][0])
    best, worst = order[0], order[-1]
    best_clear = all(kept[best][2] < kept[other][1] for other in order[1:])
    worst_clear = all(kept[worst][1] > kept[other][2] for other in order[:-1])
    lines.append(f"Kept its promise best: **{best}** ({num(kept[best][0])}× the promised time)"
                 + ("" if best_clear else " — but within the noise of the next") + f"; worst: **{worst}** "
                 f"({num(kept[worst][0])}×)" + ("." if worst_clear else " — within the noise of the one before."))
    return Verdict("clear" if best_clear and worst_clear else "tied", "\n".join(lines),
                   {"kept": kept, "best": best if best_clear else None, "worst": worst if worst_clear else None})


def _spearman(a: Sequence[float], b: Sequence[float]) -> float:
    return float(pd.Series(list(a)).corr(pd.Series(list(b)), method="spearman"))


GOALS = {"params": "parameters", "macs": "MACs", "bytes": "memory traffic", "median_ms": "measured latency"}


def rankings(frame: pd.DataFrame, guess: Sequence[str] | None = None) -> Verdict:
    """How far parameters, MACs and bytes predicted the measured order: rank correlations, the time per billion
    MACs, and the clearest "fewer MACs, yet slower" pairs (decided on the paired ranges; at most ``MAX_LISTED``,
    largest first). With ``guess`` (names, fastest first) it also scores the guess by its rank correlation and
    lists names it did not recognise. Outcome **MACs agree** when no pair contradicts the MAC order, else **MACs
    disagree**."""
    columns = [c for c in ("params", "macs", "bytes") if c in frame.columns]
    lines = ["Spearman rank correlation with measured latency on this machine (1 = same order, 0 = unrelated): "
             + ", ".join(f"{GOALS[c]} **{_spearman(frame[c], frame['median_ms']):.2f}**" for c in columns) + "."]
    per_gmac = frame["median_ms"] / (frame["macs"] / 1e9)
    lines.append(f"- Time per billion MACs ranges from **{num(per_gmac.min())} ms** ({per_gmac.idxmin()}) to "
                 f"**{num(per_gmac.max())} ms** ({per_gmac.idxmax()}): {num(per_gmac.max() / per_gmac.min())}× "
                 "apart, so a MAC is not a unit of time.")
    pairs = []
    for a in frame.index:
        for b in frame.index:
            if a != b and frame.loc[a, "macs"] < frame.loc[b, "macs"]:
                ratio, lo, hi = paired(frame, a, b)
                if lo > 1:
                    pairs.append((ratio, a, b))
    pairs.sort(reverse=True)
    if not pairs:
        lines.append("- No model with fewer MACs was clearly slower than one with more (paired ranges).")
    for ratio, a, b in pairs[:MAX_LISTED]:
        lines.append(f"- **{a}** has {times(frame.loc[a, 'macs'] / frame.loc[b, 'macs'])} the MACs of **{b}**, yet "
                     f"took {times(ratio, 'above')} its time (paired range "
                     f"{ratio_range(*paired(frame, a, b)[1:])}).")
    if len(pairs) > MAX_LISTED:
        lines.append(f"- … and {len(pairs) - MAX_LISTED} more such pair(s).")
    numbers = {"pairs": [(a, b) for _, a, b in pairs]}
    if guess is not None and guess is not Ellipsis:
        known = [name for name in guess if name in frame.index]
        unknown = [name for name in guess if name not in frame.index]
        if len(known) >= 2:
            measured = frame.loc[known, "median_ms"].rank()
            rho = _spearman(range(len(known)), measured)
            numbers["guess_correlation"] = rho
            lines.append(f"- Your guess: rank correlation **{rho:.2f}** with the measured order over the "
                         f"{len(known)} names it contains.")
        if unknown:
            lines.append(f"- Names in your guess that are not in the table: {', '.join(map(repr, unknown))}.")
    return Verdict("MACs disagree" if pairs else "MACs agree", "\n".join(lines), numbers)


def pareto_front(frame: pd.DataFrame, x: str = "median_ms", y: str = "accuracy") -> list:
    """Rows no other row beats: a row drops out when another is at least as good on both axes and better on one
    (lower ``x``, higher ``y``). Exact ties stay together on the front."""
    front = []
    for name, row in frame.iterrows():
        beaten = ((frame[x] <= row[x]) & (frame[y] >= row[y]) & ((frame[x] < row[x]) | (frame[y] > row[y]))).any()
        if not beaten:
            front.append(name)
    return front


def accuracy_noise(accuracy: float, n: int) -> float:
    """``ACCURACY_Z`` standard errors of a test accuracy measured on ``n`` examples (binomial)."""
    return ACCURACY_Z * math.sqrt(max(accuracy * (1 - accuracy), 1e-12) / n)


def accuracy_difference(frame: pd.DataFrame, name: str, other: str, n_test: int, y: str = "accuracy") -> Verdict:
    """Two test accuracies on the same ``n_test`` examples: **more accurate** / **less accurate** beyond the noise
    (``ACCURACY_Z`` standard errors), else **within the noise**."""
    a, b = float(frame.loc[name, y]), float(frame.loc[other, y])
    noise = accuracy_noise(max(a, b), n_test)
    quoted = (f"{pct(a, decimals=1)} against {pct(b, decimals=1)} for {other} (noise ±{pct(noise, decimals=1)} on "
              f"{n_test} test images)")
    if a - b > noise:
        return Verdict("more accurate", f"**{name}** is **more accurate**: {quoted}.", {"difference": a - b})
    if b - a > noise:
        return Verdict("less accurate", f"**{name}** is **less accurate**: {quoted}.", {"difference": a - b})
    return Verdict("within the noise", f"**{name}**: accuracy **within the noise** — {quoted}.",
                   {"difference": a - b})


def ranking_change(before: pd.Series, after: pd.Series, *, what: str = "order", better: str = "lower") -> Verdict:
    """The same designs ranked on two tasks (or machines): does the order change? ``before`` / ``after`` hold a
    value per design (``better``: 'lower' for times, 'higher' for accuracies). Outcome **same order** or **order
    changed**, with the rank correlation and the designs that moved."""
    names = [n for n in before.index if n in after.index]
    ascending = better == "lower"
    first = list(before[names].sort_values(ascending=ascending).index)
    second = list(after[names].sort_values(ascending=ascending).index)
    rho = _spearman([first.index(n) for n in names], [second.index(n) for n in names])
    moved = [n for n in names if first.index(n) != second.index(n)]
    if not moved:
        return Verdict("same order", f"The {what} is **the same** on both: {' > '.join(first)}.", {"rho": 1.0})
    return Verdict("order changed", f"The {what} **changed**: {' > '.join(first)} before, {' > '.join(second)} after "
                   f"(rank correlation {rho:.2f}; moved: {', '.join(moved)}).", {"rho": rho, "moved": moved})


def pareto(frame: pd.DataFrame, n_test: int, x: str = "median_ms", y: str = "accuracy") -> Verdict:
    """The Pareto front in words, with the accuracy noise of ``n_test`` test examples: which front members are
    within that noise of each other."""
    front = pareto_front(frame, x, y)
    noise = accuracy_noise(float(frame[y].max()), n_test)
    best = frame.loc[front, y].max()
    close = [name for name in front if best - frame.loc[name, y] <= noise]
    text = (f"On the Pareto front — no other design is at least as fast and as accurate, and better in one: "
            f"**{', '.join(map(str, front))}**. With {n_test} test images an accuracy is uncertain by about "
            f"±{pct(noise, decimals=1)} (two standard errors)"
            + (f"; within that of the most accurate: {', '.join(map(str, close))}." if len(close) > 1 else "."))
    return Verdict("front", text, {"front": front, "noise": noise, "close": close})


def beats(frame: pd.DataFrame, challengers: Sequence[str], incumbents: Sequence[str], n_test: int,
          y: str = "accuracy") -> Verdict:
    """Does any challenger beat an incumbent on *both* axes beyond the noise — clearly faster (paired range) and
    more accurate by more than the accuracy noise? Outcome **beats** or **does not beat**."""
    wins = []
    for a in challengers:
        for b in incumbents:
            ratio, lo, hi = paired(frame, a, b)
            gain = frame.loc[a, y] - frame.loc[b, y]
            if hi < 1 and gain > accuracy_noise(float(frame.loc[b, y]), n_test):
                wins.append((a, b, ratio, gain))
    if wins:
        listed = "; ".join(f"**{a}** beats {b} (time {times(r, 'below')}, accuracy +{pct(g, True, 1)})"
                           for a, b, r, g in wins[:MAX_LISTED])
        return Verdict("beats", f"Beyond the noise on both axes: {listed}.", {"wins": wins})
    return Verdict("does not beat", "No challenger is both clearly faster and clearly more accurate than any "
                   "incumbent: every win on one axis is within the noise or paid for on the other.", {"wins": []})


# --- machines: threads, paper devices, budgets ---------------------------------------------------------

def setup(device, threads: int = 1) -> Verdict:
    """The line under a lesson's imports: what its timings run on, in words chosen from the device."""
    kind = str(device).split(":")[0]
    facts = core_facts()
    if kind == "cpu":
        usable = facts["usable cores"]
        text = (f"Timings in this lesson run on **{device_words(device, threads)}** of *{cpu_name()}* "
                f"({usable} usable {'core' if usable == 1 else 'cores'} here): stable, and comparable with the "
                "papers' single-core phone numbers.")
    else:
        text = (f"Timings in this lesson run on **{device_words(device, threads)}**; experiments about threads run "
                f"on the CPU (*{cpu_name()}*) on purpose, and say so.")
    return Verdict(kind, text, {"device": str(device), "threads": threads})


def cores(facts: Mapping | None = None) -> Verdict:
    """What limits the thread count here, told apart: one usable core (a machine or a container quota) is not
    the same as torch being limited to one thread by an environment variable."""
    facts = facts or core_facts()
    usable, quota, variables = facts["usable cores"], facts["cpu quota"], facts["thread variables"]
    limit = f" (a container CPU quota of {quota:g} CPUs)" if quota is not None else ""
    if usable == 1:
        return Verdict("one core", f"This notebook may use **1 core**{limit}: there is no second core to compare "
                       "with here — on a laptop with more cores, try it.", dict(facts))
    text = f"This notebook may use **{usable} cores**{limit}; torch starts with "
    text += f"{facts['torch threads']} {'thread' if facts['torch threads'] == 1 else 'threads'}"
    if variables and facts["torch threads"] < usable:
        text += (f" because {', '.join(f'{k}={v}' for k, v in variables.items())} is set — effedu sets the thread "
                 f"count itself, so the comparison below uses all {usable} usable cores")
    return Verdict("several cores", text + ".", dict(facts))


def thread_speedup(frame: pd.DataFrame) -> Verdict:
    """From a ``compare_threads`` frame (first row 1 thread, last row N threads): the speed-up with its paired
    range, classified **sub-linear** / **near-linear** / **super-linear** (against N), **slower** or **no clear
    difference**."""
    results = frame.attrs["results"]
    first, last = frame.index[0], frame.index[-1]
    n = results[last].threads // max(results[first].threads, 1)
    ratio, lo, hi = paired(frame, last)
    speedup, s_lo, s_hi = 1 / ratio, 1 / hi, 1 / lo
    measured = f"time {times(ratio)}, paired range {ratio_range(lo, hi)}"
    if lo > 1:
        return Verdict(SLOWER, f"With {last} the model ran **slower** than with {first} ({measured}): probably "
                       "because splitting its small layers costs more than it saves, or other programs are using "
                       "the other cores.", {"speedup": speedup})
    if hi >= 1:
        return Verdict(SAME, f"With {last} the speed **barely changed** — **no clear difference** ({measured}).",
                       {"speedup": speedup})
    if s_lo > n * (1 + NEAR_LINEAR):
        kind, why = "super-linear", (f"more than {n}×: probably because each core brings its own cache, so the "
                                     "working set fits better when it is split")
    elif s_hi < n * (1 - NEAR_LINEAR):
        kind, why = "sub-linear", (f"less than {n}×: probably because small layers split poorly across cores "
                                   "and the cores share the memory bandwidth")
    else:
        kind, why = "near-linear", f"close to the ideal {n}×"
    return Verdict(kind, f"With {last} the model ran **{num(speedup, 'above')}× as fast** as with {first} "
                   f"({measured}) — **{kind}**, {why}.", {"speedup": speedup, "threads": n})


def paper_device(value: float, lo: float, hi: float, paper: Mapping[str, float], *, what: str = "speed") -> Verdict:
    """Which of a paper's devices this machine resembles, from a measured relative ``value`` (with its range)
    and the paper's value per device: outcome the device's name, or **neither** (between them, or no effect at
    all where the paper saw one). Distances are taken on a log scale (0.5 is as far from 1 as 2)."""
    def distance(p: float) -> float:
        return 0.0 if lo <= p <= hi else min(abs(math.log(p / lo)), abs(math.log(p / hi)))

    quoted = ", ".join(f"{device} {pct(p)}" for device, p in paper.items())
    measured = f"here {pct(value)} (range {pct(lo)}–{pct(hi)}); the paper: {quoted}"
    if all(p < 1 for p in paper.values()) and hi >= 1 and lo <= 1:
        return Verdict("neither", f"No clear effect here, unlike **both** paper devices — {measured}.", {})
    if all(p < 1 for p in paper.values()) and lo > 1:
        return Verdict("neither", f"The opposite of the paper here — {measured}: like **neither** device.", {})
    ranked = sorted(paper, key=lambda d: distance(paper[d]))
    nearest, other = ranked[0], ranked[-1]
    near, far = distance(paper[nearest]), distance(paper[other])
    if len(paper) > 1 and far <= near * PAPER_TIE + 1e-9 and far > 0:
        return Verdict("neither", f"Between the paper's devices — {measured}: like **neither** clearly.", {})
    return Verdict(nearest, f"This machine's {what} resembles the paper's **{nearest}** — {measured}.",
                   {"distances": {d: distance(p) for d, p in paper.items()}})


def paper_devices(frame: pd.DataFrame, paper: Mapping[str, Mapping[str, float]]) -> Verdict:
    """Each candidate's relative speed (against the first row, with its paired range) beside a paper's value per
    device (``paper[device][candidate]``): which device each resembles, and which most candidates resemble —
    outcome that device, or **neither**."""
    votes: dict[str, int] = {}
    lines = []
    for name in frame.index[1:]:
        if not all(name in values for values in paper.values()):
            continue
        ratio, lo, hi = paired(frame, name)
        judged = paper_device(1 / ratio, 1 / hi, 1 / lo, {d: values[name] for d, values in paper.items()})
        votes[judged.outcome] = votes.get(judged.outcome, 0) + 1
        lines.append(f"- {name}: {judged.text}")
    if not votes:
        raise ValueError("paper must give a value for at least one candidate of the frame (its row names)")
    top = max(votes, key=votes.get)
    outcome = top if list(votes.values()).count(votes[top]) == 1 else "neither"
    lines.append(f"Most candidates here resemble: **{outcome}** ({', '.join(f'{d}: {n}' for d, n in votes.items())}).")
    return Verdict(outcome, "\n".join(lines), votes)


def paper_gain(frame: pd.DataFrame, name: str, paper: tuple[float, float, float], *,
               baseline: str | None = None) -> Verdict:
    """The speed-up of ``name`` (with its paired range) against a paper's reported speed-up range ``paper`` =
    (low, high, typical) as fractions (G4: 0.08, 0.24, 0.20): **like the paper** (ranges overlap), **less than
    the paper**, **more than the paper**. Told as factors (1.14× as fast), never as negative percentages."""
    ratio, lo, hi = paired(frame, name, baseline)
    here = (1 / ratio, 1 / hi, 1 / lo)
    low, high, typical = (1 + p for p in paper)
    outcome = ("less than the paper" if here[2] < low else "more than the paper" if here[1] > high
               else "like the paper")
    text = (f"**{name}**: {num(here[0])}× the speed of {baseline or frame.index[0]} here (paired range "
            f"{num(here[1])}–{num(here[2])}×); the paper saw {num(low)}–{num(high)}× (about {num(typical)}×): "
            f"**{outcome}**.")
    return Verdict(outcome, text, {"speed": here})


def budget(frame: pd.DataFrame, name: str, reference: str | None = None, fraction: float = 1.0) -> Verdict:
    """Is ``name`` within a latency budget of ``fraction`` × ``reference``'s latency (default: the first row's)?
    **within the budget** iff the whole paired range is below the fraction, **over the budget** iff above it,
    else **at the budget** (within the noise)."""
    ratio, lo, hi = paired(frame, name, reference)
    base = reference or frame.index[0]
    outcome = ("within the budget" if hi < fraction else "over the budget" if lo > fraction else "at the budget")
    side = {"within the budget": "below", "over the budget": "above"}.get(outcome) if fraction == 1 else None
    of = f"{base}'s latency" if fraction == 1 else f"{base}'s latency; the budget is ×{num(fraction)}"
    text = (f"**{name}** runs at {times(ratio, side)} of {of} (paired range {ratio_range(lo, hi)}) — **{outcome}**"
            + (" (within the noise)." if outcome == "at the budget" else "."))
    return Verdict(outcome, text, {"ratio": ratio, "ratio_lo": lo, "ratio_hi": hi, "fraction": fraction})


def fps(samples_ms: Sequence[float], paper_fps: float, paper_device_name: str, device, threads: int = 1) -> Verdict:
    """Frames per second from latency samples (ms) against a paper's figure *for the same kind of device*:
    **faster** / **slower** / **no clear difference** (the paper's figure inside the range of the samples)."""
    low_ms, high_ms = quartiles(list(samples_ms))
    rate, fast, slow = 1000 / statistics.median(samples_ms), 1000 / low_ms, 1000 / high_ms
    outcome = FASTER if slow > paper_fps else SLOWER if fast < paper_fps else SAME
    text = (f"**{num(rate)} FPS** on {device_words(device, threads)} (range {num(slow)}–{num(fast)}) against the "
            f"paper's {num(paper_fps)} FPS on {paper_device_name}: "
            + {FASTER: "**faster** than", SLOWER: "**slower** than",
               SAME: "**no clear difference** from"}[outcome] + " the paper's device.")
    return Verdict(outcome, text, {"fps": rate, "fps_lo": slow, "fps_hi": fast})


def guideline(frame: pd.DataFrame, expected_best: str | None = None) -> Verdict:
    """Does "``expected_best`` (default: the first row) is the fastest" hold here, judged per MAC on the paired
    ranges? **holds** (every other setting clearly slower per MAC), **partly holds** (some clearly slower, none
    clearly faster), **contradicted** (some clearly faster per MAC), **cannot tell** (all within the noise)."""
    base = expected_best or frame.index[0]
    others = [name for name in frame.index if name != base]
    judged = {name: per_mac(frame, name, base) for name in others}
    faster = [n for n, v in judged.items() if v.outcome == FASTER]
    slower = [n for n, v in judged.items() if v.outcome == SLOWER]
    if faster:
        outcome = "contradicted"
        text = f"**Contradicted** here: {', '.join(faster)} ran faster per MAC than {base}."
    elif len(slower) == len(others):
        outcome, text = "holds", f"**Holds** here: every other setting ran clearly slower per MAC than {base}."
    elif slower:
        outcome = "partly holds"
        text = (f"**Partly holds** here: {', '.join(slower)} clearly slower per MAC than {base}; the rest within the "
                "noise.")
    else:
        outcome = "cannot tell"
        text = (f"**Cannot tell** here: no setting is clearly faster or slower per MAC than {base} — the "
                "differences sit within this machine's noise, so the guideline is neither confirmed nor refuted.")
    details = " ".join(v.text for v in judged.values())
    return Verdict(outcome, f"{text}\n\n{details}", {"judged": {n: v.outcome for n, v in judged.items()}})


def essay_advice(groups: Verdict, branches: Mapping[str, Verdict]) -> Verdict:
    """"Avoid too many branches or too many groups", judged from a ``speed`` verdict for the most groups and one
    for the most harmful fragmentation per setting (e.g. per thread count): outcome **holds for both**, **holds
    for groups**, **holds for branches** or **holds for neither** (at equal MACs, on this machine)."""
    group_holds = groups.outcome == SLOWER
    branch_holds = [name for name, v in branches.items() if v.outcome == SLOWER]
    lines = [f"- Most groups: {groups.text}"] + [f"- Most harmful fragmentation, {name}: {v.text}"
                                                 for name, v in branches.items()]
    if group_holds and branch_holds:
        outcome = "holds for both"
    elif group_holds:
        outcome = "holds for groups"
    elif branch_holds:
        outcome = "holds for branches"
    else:
        outcome = "holds for neither"
    where = f" (branches: on {', '.join(branch_holds)})" if branch_holds and len(branch_holds) < len(branches) else ""
    lines.append(f"\nOn this machine the advice **{outcome}**{where}: where a variant was slower at equal MACs, the "
                 "MAC count was the wrong budget to design for.")
    return Verdict(outcome, "\n".join(lines), {"groups": group_holds, "branches": branch_holds})


# --- measuring well: warm-up, outliers, interleaving -------------------------------------------------------

def warmup(samples: Sequence[float], settled: int = 5) -> Verdict:
    """The first sample against the last ``settled`` ones: a **cold start** shows when the first run took more
    than ``WARMUP_MARGIN`` above every settled run; else **no visible cold start**."""
    first, tail = samples[0], list(samples[-settled:])
    median = statistics.median(tail)
    factor = first / median
    if first > (1 + WARMUP_MARGIN) * max(tail):
        return Verdict("cold start", f"The first run took **{num(first)} ms**, {num(factor, 'above')}× the settled "
                       f"median of {num(median)} ms: a number measured without warm-up is too high.",
                       {"factor": factor})
    return Verdict("no visible cold start", f"The first run took **{num(first)} ms** against a settled median of "
                   f"{num(median)} ms ({times(factor)}): within {pct(WARMUP_MARGIN)} of the settled runs or inside "
                   "their spread — this shape's one-off costs were small, or already paid. Set a new resolution and "
                   "run the cell again to watch the first point.", {"factor": factor})


def outliers(result) -> Verdict:
    """Mean against median of one ``LatencyResult``: **pulled up** / **pulled down** by outliers when they differ
    by more than ``OUTLIER_SHIFT``, else **close**."""
    mean, median = result.mean_ms, result.median_ms
    shift = mean / median - 1
    quoted = f"mean **{num(mean)} ms**, median **{num(median)} ms**, slowest {num(max(result.samples))} ms"
    if shift > OUTLIER_SHIFT:
        return Verdict("pulled up", f"{quoted}: the mean sits {pct(shift, True)} above the median — **pulled up** by "
                       "the slow outliers, which the median ignores.", {"shift": shift})
    if shift < -OUTLIER_SHIFT:
        return Verdict("pulled down", f"{quoted}: the mean sits {pct(-shift, True)} below the median — **pulled "
                       "down** by a few unusually fast samples.", {"shift": shift})
    return Verdict("close", f"{quoted}: mean and median are **close** ({pct(abs(shift))} apart) — this run had few "
                   "outliers, but one long pause moves the mean and not the median (exercise 00.3).",
                   {"shift": shift})


def interleaving(ratios: Mapping[str, Sequence[float]]) -> Verdict:
    """Twin-network ratios (true value 1) measured 'one after another' and 'interleaved': which kept closer?"""
    worst = {mode: max(abs(v - 1) for v in values) for mode, values in ratios.items()}
    sequential, interleaved = worst["one after another"], worst["interleaved"]
    quoted = f"worst error one after another **{pct(sequential)}**, interleaved **{pct(interleaved)}**"
    if max(sequential, interleaved) < TWINS_CALM:
        return Verdict("calm", f"{quoted}: both within {pct(TWINS_CALM)} — a calm machine; on a busy laptop the gap "
                       "opens.", worst)
    if interleaved < sequential:
        return Verdict("interleaved closer", f"{quoted}: interleaving kept the ratio **closer** to the truth.", worst)
    return Verdict("no help this time", f"{quoted}: this time interleaving did **not** help — with five trials "
                   "either can win by luck; run the cell again and see which way it falls more often.", worst)


# --- lesson-specific judgements ----------------------------------------------------------------------------

def roofline(table: pd.DataFrame, slow: str, fast: str, device) -> Verdict:
    """From ``profiling.roofline_table``: how many times fewer FLOPs per second the ``slow`` kind of layer
    computes than the ``fast`` one, and — only where some layer is above its roof — why that can happen."""
    slow_rate, fast_rate = table.loc[slow, "median GFLOP/s"], table.loc[fast, "median GFLOP/s"]
    factor = fast_rate / slow_rate
    if factor > 1:
        text = (f"The {slow} layers compute **{num(factor, 'above')}× fewer** FLOPs per second than the {fast} "
                f"ones ({num(slow_rate)} against {num(fast_rate)} GFLOP/s): a small share of the MACs then becomes "
                "a larger share of the time.")
        outcome = "slower per FLOP"
    else:
        text = (f"The {slow} layers compute **as fast or faster** per FLOP than the {fast} ones here "
                f"({num(slow_rate)} against {num(fast_rate)} GFLOP/s).")
        outcome = "not slower per FLOP"
    above = int(table["layers above their roof"].sum())
    if above:
        where = "caches" if str(device).startswith("cpu") else "on-chip caches"
        text += (f" {above} layer(s) ran above their roof: the roof's bandwidth is main memory's, and their data "
                 f"probably stayed in the {where} between runs.")
    return Verdict(outcome, text, {"factor": factor, "above_roof": above})


def fusion(kernels: Mapping[str, Sequence[str]]) -> Verdict:
    """What ``torch.compile`` did to a model, read from its generated code (``transforms.generated_kernels``):
    which operators it fused into one pass over memory, which it left to the vendor's library."""
    generated, library = list(kernels.get("generated", [])), list(kernels.get("library", []))
    if not generated and not library:
        return Verdict("unknown", "The compiled code could not be read, so what was fused is not known here.", {})
    words = {"relu": "ReLU", "convolution": "conv weights/layout", "BatchNorm": "BatchNorm"}

    def ops(name: str) -> list[str]:
        body = name.split("fused_", 1)[-1].replace("_native_batch_norm_legit_no_training", "_BatchNorm")
        return [words.get(token, token) for token in body.split("_") if token and not token.isdigit()]

    fused = [ops(name) for name in generated]
    text = (f"The compiler kept **{len(library)} library call(s)** ({', '.join(sorted(set(library))) or 'none'}) and "
            f"generated **{len(generated)} kernel(s)**, each one pass over memory: "
            + "; ".join(" + ".join(f) for f in fused) + ". Operators named together in one kernel are fused: their "
            "feature map is read and written once instead of once per operator.")
    return Verdict("fused" if any(len(f) > 1 for f in fused) else "not fused", text,
                   {"generated": generated, "library": library})


def spectrum(trained_rank: int, random_rank: int, full_rank: int) -> Verdict:
    """The rank holding ``SPECTRUM_ENERGY`` of ‖W‖² for a trained and a random filter bank: do trained filters
    compress better? **trained compresses better** / **no clear difference** / **random compresses better**."""
    quoted = (f"rank {trained_rank} of {full_rank} holds {pct(SPECTRUM_ENERGY)} of the trained layer's ‖W‖², rank "
              f"{random_rank} the random layer's")
    if trained_rank <= SPECTRUM_MARGIN * random_rank:
        return Verdict("trained compresses better", f"{quoted}: the trained filters **compress better**.", {})
    if random_rank <= SPECTRUM_MARGIN * trained_rank:
        return Verdict("random compresses better", f"{quoted}: here the random filters compress better — "
                       "probably because this short training left the layer close to its random start.", {})
    return Verdict(SAME, f"{quoted}: **no clear difference** — after this short training the layer is probably "
                   "still close to its random initialisation; train longer to see the spectra part.", {})


def smallest_good_rank(accuracy_by_rank: Mapping[int, float], full_accuracy: float, n_test: int) -> Verdict:
    """The smallest rank from which *every* larger rank stays within the accuracy noise of the full layer."""
    accuracy_by_rank = dict(accuracy_by_rank)  # a Series iterates over its values, a dict over its keys
    noise = accuracy_noise(full_accuracy, n_test)
    good = None
    for rank in sorted(accuracy_by_rank, reverse=True):
        if accuracy_by_rank[rank] >= full_accuracy - noise:
            good = rank
        else:
            break
    if good is None:
        return Verdict("none", f"No rank kept the accuracy within ±{pct(noise, decimals=1)} of the full layer's "
                       f"{pct(full_accuracy, decimals=1)}.", {"noise": noise})
    return Verdict("found", f"From rank **{good}** up, every rank keeps the accuracy within ±{pct(noise, decimals=1)} "
                   f"(two standard errors on {n_test} test digits) of the full layer's {pct(full_accuracy, decimals=1)}: "
                   f"{pct(accuracy_by_rank[good], decimals=1)} at rank {good}. (For two models on the *same* test digits, "
                   "McNemar's test on the digits they disagree on is sharper.)", {"rank": good, "noise": noise})


def predictor(errors: Sequence[float], plain_errors: Sequence[float], timing_noise: float) -> Verdict:
    """A latency predictor's held-out errors (predicted / measured − 1), calibrated and plain, against the goal
    (``PREDICTOR_GOAL`` of networks within ±``PREDICTOR_BAND``) and the machine's own timing noise (median
    IQR / median of the end-to-end measurements)."""
    within = sum(abs(e) <= PREDICTOR_BAND for e in errors) / len(errors)
    within_plain = sum(abs(e) <= PREDICTOR_BAND for e in plain_errors) / len(plain_errors)
    bias = statistics.median(plain_errors)
    spread = statistics.median(abs(e - statistics.median(errors)) for e in errors)
    outcome = "goal met" if within >= PREDICTOR_GOAL else "goal not met"
    if bias < 0:
        why = (f"the plain sum **under-predicts** (median {pct(-bias, True)} low): probably because a block timed "
               "alone keeps its data in the caches, while inside a network the previous block has just pushed it "
               "out, and the network's own calls and hand-offs add time no entry contains")
    else:
        why = (f"the plain sum **over-predicts** (median {pct(bias, True)} high): probably because the table was "
               "measured when the machine was slower (busier, hotter, on battery — it is saved and reused), or "
               "because blocks timed alone pay call overheads that a running network amortises")
    text = (f"Plain sum: {pct(within_plain)} of the held-out networks within ±{pct(PREDICTOR_BAND)}; calibrated: "
            f"**{pct(within)}** — the goal is {pct(PREDICTOR_GOAL)}: **{outcome}** on this machine. Here {why}. "
            f"After calibration the errors scatter by a median {pct(spread)}, against a timing noise of "
            f"{pct(timing_noise)} (median IQR / median of the end-to-end timings).")
    return Verdict(outcome, text, {"within": within, "within_plain": within_plain, "bias": bias,
                                   "spread": spread})


def predictions(predicted: Mapping[str, float], measured: Mapping[str, float]) -> Verdict:
    """Predicted against measured latency (ms) per network, each error told as "over" or "under" (no signs);
    outcome **within the band** when every one is within ±``PREDICTOR_BAND``, else **outside the band**."""
    parts, worst = [], 0.0
    for name, guess_ms in predicted.items():
        error = guess_ms / measured[name] - 1
        worst = max(worst, abs(error))
        side = "over" if error > 0 else "under"
        parts.append(f"{name}: predicted {num(guess_ms)} ms, measured {num(measured[name])} ms "
                     f"({pct(abs(error))} {side})")
    outcome = "within the band" if worst <= PREDICTOR_BAND else "outside the band"
    return Verdict(outcome, "; ".join(parts) + f" — **{outcome}** of ±{pct(PREDICTOR_BAND)}.", {"worst": worst})


def finding(guideline: str, where: str, share: tuple, measured: str, suggestion: str, gain: float | None,
            gain_kind: str) -> Verdict:
    """One design-advisor finding as a sentence: what, where, its measured share of the time (with the per-run
    range), the numbers that break the guideline, the change the lessons suggest, and the gain — measured or
    estimated, and said which."""
    value, lo, hi = share[:3]
    gain_text = "gain not estimated" if gain is None else f"expected gain about {pct(gain, True)} of the time"
    text = (f"**{guideline}** — {where}: {pct(value)} of the time (per-run range {pct(lo)}–{pct(hi)}); "
            f"{measured.rstrip('.')}. Suggested: {suggestion}; {gain_text} ({gain_kind}).")
    return Verdict("finding", text, {"share": value, "gain": gain})


def advice_summary(findings: int, checked: Sequence[str], name: str = "The network") -> Verdict:
    """The advisor's one-line summary for the network ``name``: **nothing stands out** when no guideline was broken
    measurably."""
    if findings == 0:
        return Verdict("nothing stands out", f"{name}: **nothing stands out** — every guideline checked ("
                       + ", ".join(checked) + ") is respected or its remedy gave no clear gain on this machine.", {})
    return Verdict("findings", f"{name}: **{findings} finding(s)**, largest share of the time first; checked and "
                   "fine: " + (", ".join(checked) or "none") + ".", {"findings": findings})


__all__ = [
    "Verdict", "FASTER", "SLOWER", "SAME", "KEPT", "SHORT", "BEAT", "accuracy_difference", "accuracy_noise",
    "advice_summary", "finding", "beats", "budget",
    "compare_ranges", "cores", "paper_gain", "ranking_change", "removal_sweep", "essay_advice", "fusion", "paper_devices", "promises", "setup", "sweep_summary", "fps", "guideline", "hook_overhead", "interleaving", "num", "outcome_of", "outliers",
    "paired", "paper_device", "pareto", "pareto_front", "pct", "per_mac", "per_unit", "predictions", "predictor", "promise", "ranking", "ratio_range",
    "rankings", "removal", "roofline", "smallest_good_rank", "spectrum", "speed", "thread_speedup", "time_share",
    "times", "warmup",
]
