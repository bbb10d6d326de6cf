"""Every conclusion a lesson prints, decided here from the measured numbers — never in a notebook cell.

Each function takes what a profiler returned (a ``compare_latency`` frame, a ``time_shares`` table, samples …) and
returns a ``Verdict``: an ``outcome`` from a small fixed set, the ``numbers`` it was decided on, and ``text``, a
Markdown sentence that quotes those numbers. Every decision goes through one rule, ``stats.Range.vs``, on a 95 %
confidence interval: for a time ratio, the sign-test interval of the median of the paired per-round ratios
(``ratio_lo``–``ratio_hi``). In this order of precedence:

1. fewer rounds than an interval needs (6) → **too few rounds to decide**;
2. the interval wholly below 1 → **faster**, wholly above → **slower** (inside ±2 % as well: "by less than 2 %");
3. it holds 1 and lies wholly within ±2 % → **the same within 2 %**;
4. otherwise → **no clear difference**.

A cause that was not measured is worded as a hypothesis ("probably …"). Every threshold is a named constant below.
In a notebook a verdict shows as its sentence: end a cell with ``verdict.speed(frame, "separable")``.
"""
from __future__ import annotations

import dataclasses
import math
import statistics
from typing import Mapping, Sequence

import pandas as pd

from . import stats
from ._text import interval, num, pct, pct_range, plural, ratio_range, times
from .machine import device_words
from .stats import ABOVE, BELOW, EQUIVALENCE, INSIDE, Range, accuracy_noise, pareto_front, spearman

# --- thresholds, all of them ------------------------------------------------------------------------------
NEAR_LINEAR = 0.10  # a thread speed-up within 10 % of the thread count is "near-linear"
WARMUP_MARGIN = 0.10  # a first run more than 10 % above every settled run shows a cold start
OUTLIER_SHIFT = 0.02  # a mean 2 % away from the median has been moved by outliers
TWINS_CALM = 0.02  # twin ratios within 2 % of 1: the machine was calm
MAX_LISTED = 3  # list at most this many disagreements
PREDICTOR_BAND = 0.10  # a latency prediction within ±10 % counts as right …
PREDICTOR_GOAL = 0.90  # … and 90 % of networks right is the goal
PAPER_TIE = 1.25  # log-distances to two paper devices within this factor: between the two
PAPER_NEAR = math.log(1.25)  # farther than 25 % (on a log scale) from every paper device: like neither
SPECTRUM_ENERGY = 0.90  # the rank that holds 90 % of ‖W‖²
SPECTRUM_MARGIN = 0.90  # trained ranks below 90 % of the random one: trained filters compress better
HOOK_TOLERANCE = 0.10  # summed layer times within 10 % of the end-to-end time
CLIFF = 3.0  # a kernel-size step whose time grows more than 3× its MACs: a cliff (another implementation)
FAULTS_NOTABLE = 100  # page faults per forward (about 400 KB of fresh memory) worth naming beside a verdict

FASTER, SLOWER, SAME = "faster", "slower", "no clear difference"
TOO_FEW = "too few rounds to decide"
EQUIVALENT = f"the same within {pct(EQUIVALENCE)}"
KEPT, SHORT, BEAT = "kept", "fell short", "beat the MACs"
SPEED_WORDS = {FASTER: "**faster**", SLOWER: "**slower**", SAME: "**no clear difference**",
               EQUIVALENT: f"**{EQUIVALENT}**", TOO_FEW: f"**{TOO_FEW}**"}


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


# --- the paired comparison: every time ratio is decided here ------------------------------------------------

def _row(frame: pd.DataFrame, name: str, argument: str = "name") -> pd.Series:
    if name not in frame.index:
        raise ValueError(f"{argument} must be one of the frame's rows {list(frame.index)}, got {name!r}")
    return frame.loc[name]


def paired(frame: pd.DataFrame, name: str, baseline: str | None = None) -> Range:
    """``Range(ratio, lo, hi)`` of ``name`` against ``baseline`` (default: the frame's first row): the median of the
    paired per-round ratios and its 95 % interval. Against another row it is recomputed from the samples in
    ``frame.attrs["results"]``."""
    row = _row(frame, name)
    if baseline is None or baseline == frame.index[0]:
        return Range.of(row)
    _row(frame, baseline, "baseline")
    results = frame.attrs.get("results")
    if not results:
        raise ValueError("baseline: comparing two rows that are not the first needs the samples "
                         "(frame.attrs['results'] of a compare_latency frame)")
    return stats.paired_ratio(results[name].samples, results[baseline].samples)


def rounds(frame: pd.DataFrame) -> int | None:
    """How many interleaved rounds a frame's ratios come from (``None`` when the frame does not say)."""
    return frame.attrs.get("rounds")


def outcome_of(r: Range) -> str:
    """The one rule for a time ratio, in its order of precedence: too few rounds to decide; faster (the interval
    wholly below 1); slower (wholly above); the same within 2 % (it holds 1 and lies within ±2 %); no clear
    difference."""
    side = r.vs(1.0, EQUIVALENCE)
    if side.where == stats.TOO_FEW:
        return TOO_FEW
    if side.where != INSIDE:
        return FASTER if side.where == BELOW else SLOWER
    return EQUIVALENT if side.close else SAME


def _small(r: Range) -> str:
    """' — by less than 2 %' for a decided ratio whose whole interval lies within the equivalence band."""
    return f" — by less than {pct(EQUIVALENCE)}" if r.vs(1.0, EQUIVALENCE).close else ""


def _decided_side(outcome: str) -> str | None:
    return {FASTER: "below", SLOWER: "above"}.get(outcome)


def _undecided(outcome: str, r: Range) -> str:
    """The clause after a ratio that decided nothing."""
    if outcome == TOO_FEW:
        return "a 95 % interval needs more rounds: run it with a larger budget or more repeats"
    if outcome == EQUIVALENT:
        return f"the whole interval lies within ±{pct(EQUIVALENCE)} of ×1"
    return "the interval holds ×1 — the difference is within this machine's noise"


def speed(frame: pd.DataFrame, name: str, baseline: str | None = None) -> Verdict:
    """Was ``name`` faster or slower than ``baseline`` (default: the first row), decided on the 95 % interval of
    the paired ratio: faster, slower, the same within 2 %, no clear difference, or too few rounds to decide."""
    r = paired(frame, name, baseline)
    base = baseline or frame.index[0]
    if name == base:
        raise ValueError(f"name and baseline are both {name!r}: compare a candidate with another one")
    outcome = outcome_of(r)
    measured = f"time {times(r.value, _decided_side(outcome))}, {interval(r, rounds(frame))}"
    if outcome == FASTER:
        text = f"**{name}** was **faster** than {base}{_small(r)}: {num(1 / r.value, 'above')}× as fast ({measured})."
    elif outcome == SLOWER:
        text = f"**{name}** was **slower** than {base}{_small(r)} ({measured})."
    else:
        text = f"**{name}** against {base}: {SPEED_WORDS[outcome]} ({measured}; {_undecided(outcome, r)})."
    if outcome in (FASTER, SLOWER):
        text += page_faults(frame, *((base, name) if outcome == FASTER else (name, base)))
    return Verdict(outcome, text, {"ratio": r.value, "ratio_lo": r.lo, "ratio_hi": r.hi, "range": r,
                                   "baseline": base})


def page_faults(frame: pd.DataFrame, slower: str, faster: str) -> str:
    """A sentence when the slower candidate page-faults far more per forward than the faster one (the ``faults``
    column of ``compare_latency``): then the allocator — fresh pages handed out on every forward — is probably part
    of the difference, not the arithmetic. Empty otherwise, and where faults were not counted."""
    if "faults" not in frame.columns:
        return ""
    many, few = float(frame.loc[slower, "faults"]), float(frame.loc[faster, "faults"])
    if many < FAULTS_NOTABLE or many < 2 * few + FAULTS_NOTABLE:
        return ""
    return (f" The slower one page-faults {num(many)} times per forward against {num(few)}: probably the memory "
            "allocator handing out fresh pages on every forward, not the arithmetic (lesson 00, §2g).")


def promise(frame: pd.DataFrame, name: str, baseline: str | None = None) -> Verdict:
    """Did the time follow the MACs? The time ratio's 95 % interval against the MAC ratio: **kept** (the MAC ratio
    lies inside it), **fell short** (clearly above what the MACs promised) or **beat the MACs** (clearly below) —
    and, when it fell short, whether the candidate was even faster at all."""
    r = paired(frame, name, baseline)
    base = baseline or frame.index[0]
    if "macs" not in frame.columns or not frame.loc[base, "macs"]:
        raise ValueError("frame needs a 'macs' column with MACs for the baseline: compare_latency(counts=True)")
    promised = float(frame.loc[name, "macs"] / frame.loc[base, "macs"])
    where = r.vs(promised).where
    outcome = {ABOVE: SHORT, BELOW: BEAT, INSIDE: KEPT}.get(where, TOO_FEW)
    measured = f"MACs {times(promised)}, time {times(r.value)} ({interval(r, rounds(frame))})"
    if outcome == TOO_FEW:
        text = f"**{name}** against {base}: **{TOO_FEW}** whether the time kept the MACs' promise — {measured}."
    elif outcome == KEPT:
        text = f"**{name}** against {base}: the time **kept** the MACs' promise — {measured}."
    else:
        text = (f"**{name}** against {base}: the time **{outcome}** — {measured}: {num(r.value / promised)}× the "
                "time the MAC count predicts")
        at_all = outcome_of(r)
        if outcome == SHORT and at_all in (SAME, EQUIVALENT):
            text += f" — and it was not clearly faster than {base} at all (the interval holds ×1)"
        elif outcome == SHORT and at_all == SLOWER:
            text += f" — it was even slower than {base}"
        text += "."
    return Verdict(outcome, text, {"ratio": r.value, "ratio_lo": r.lo, "ratio_hi": r.hi, "range": r,
                                   "macs_ratio": promised, "kept_ratio": r.value / promised})


def per_unit(frame: pd.DataFrame, name: str, units: float, unit: str, baseline: str | None = None, *,
             note: str | None = None) -> Verdict:
    """Time per unit of work of ``name`` against ``baseline``, when ``name`` does ``units`` times the work (a batch
    of 4 images against 1: ``units=4, unit="image"``): faster or slower per ``unit``. The whole interval is divided
    by ``units``, so the verdict is decided on the same rounds as the time ratio."""
    units = float(units)
    if not units > 0:
        raise ValueError(f"units must be a positive number (the work of {name!r} over the baseline's), got {units}")
    r = paired(frame, name, baseline)
    base = baseline or frame.index[0]
    each = r / units
    outcome = outcome_of(each)
    word = SPEED_WORDS[outcome] + f" per {unit}"
    note = note or f"whole time {times(r.value)} for {times(units)} the {unit}s"
    text = (f"**{name}** against {base}: {word}{_small(each) if outcome in (FASTER, SLOWER) else ''} — time per "
            f"{unit} {times(each.value, _decided_side(outcome))} ({interval(each, rounds(frame))}; {note}).")
    return Verdict(outcome, text, {"per_unit": each.value, "lo": each.lo, "hi": each.hi, "range": each,
                                   "units": units})


def per_mac(frame: pd.DataFrame, name: str, baseline: str | None = None) -> Verdict:
    """Time per MAC of ``name`` against ``baseline`` — for settings that are only *nearly* equal in MACs: faster
    or slower per MAC."""
    macs = float(frame.loc[name, "macs"] / frame.loc[baseline or frame.index[0], "macs"])
    return per_unit(frame, name, macs, "MAC", baseline, note=f"MACs {times(macs)}")


def budget(frame: pd.DataFrame, name: str, reference: str | None = None, fraction: float = 1.0) -> Verdict:
    """Is ``name`` within a latency budget of ``fraction`` × ``reference``'s latency (default: the first row's)?
    **within the budget** iff the whole interval is below the fraction, **over the budget** iff above it, **at the
    budget** when it holds the fraction (within the noise), or **too few rounds to decide**."""
    r = paired(frame, name, reference)
    base = reference or frame.index[0]
    where = r.vs(fraction).where
    outcome = {BELOW: "within the budget", ABOVE: "over the budget", INSIDE: "at the budget"}.get(where, TOO_FEW)
    side = {BELOW: "below", ABOVE: "above"}.get(where) if fraction == 1 else None
    of = f"{base}'s latency" if fraction == 1 else f"{base}'s latency; the budget is ×{num(fraction)}"
    text = (f"**{name}** runs at {times(r.value, side)} of {of} ({interval(r, rounds(frame))}) — **{outcome}**"
            + (" (within the noise)." if outcome == "at the budget" else "."))
    return Verdict(outcome, text, {"ratio": r.value, "ratio_lo": r.lo, "ratio_hi": r.hi, "range": r,
                                   "fraction": fraction})


def removal(frame: pd.DataFrame, without: str, baseline: str | None = None, *, part: str = "it",
            whole: str = "the block") -> Verdict:
    """What removing ``part`` saved, from a frame timing the whole (``baseline``, default the first row) against the
    whole ``without`` it: its share of the time is 1 − ratio. Outcomes: **costs time** (the whole interval is a
    saving), **no clear cost**, **removing it was slower** (the share is then shown as 0 %, clamped, and said so),
    or too few rounds to decide."""
    r = paired(frame, without, baseline)
    saved = 1 - r
    numbers = {"share": saved.value, "share_lo": saved.lo, "share_hi": saved.hi, "ratio": r.value,
               "ratio_lo": r.lo, "ratio_hi": r.hi, "range": r}
    side = r.vs(1.0, EQUIVALENCE)
    over = rounds(frame)
    if side.where == BELOW:
        text = (f"Removing {part} saved **{pct(saved.value, True)}** of {whole}'s time (95 % interval "
                f"{pct(saved.lo, True)} to {pct(saved.hi, True)}): {part} **costs time**.")
        return Verdict("costs time", text, numbers)
    if side.where == ABOVE:
        text = (f"Removing {part} made {whole} **slower** here (time {times(r.value, 'above')}, "
                f"{interval(r, over)}), so its share of the time shows as 0 % (clamped): **removing it was slower** — "
                "probably a measurement or memory-layout effect rather than a negative cost; run it again.")
        return Verdict("removing it was slower", text, numbers)
    if side.where == stats.TOO_FEW:
        return Verdict(TOO_FEW, f"Removing {part}: **{TOO_FEW}** (time {times(r.value)}, {interval(r, over)}).",
                       numbers)
    bound = f": whatever it costs is under {pct(EQUIVALENCE)} of the time" if side.close else ""
    text = (f"Removing {part} made **no clear cost** visible: time {times(r.value)}, {interval(r, over)} holds ×1"
            f"{bound} — on this machine {part} hides in the noise of {whole}.")
    return Verdict("no clear cost", text, numbers)


def removal_sweep(swept: pd.DataFrame, without: str, x: str, *, part: str = "it") -> Verdict:
    """A ``timing.sweep`` of a whole against the whole ``without`` a part, over ``x``: the part's share of the time
    at each setting (1 − ratio, with its 95 % interval, clamped at 0 and said so), and whether that share clearly
    **shrinks** or **grows** from the smallest to the largest ``x`` (intervals apart), else **no clear trend**."""
    rows = swept[swept["candidate"] == without].sort_values(x)
    lines, clamped = [], False
    for _, row in rows.iterrows():
        saved = 1 - Range.of(row)
        clamped |= saved.value < 0 or (saved.decidable and saved.vs(0.0).where != ABOVE)
        lines.append(f"- {x}={row[x]}: {part} **{pct(saved.value)}** of the time (95 % interval "
                     f"{pct_range(saved)})")
    first, last = 1 - Range.of(rows.iloc[0]), 1 - Range.of(rows.iloc[-1])
    if not (first.decidable and last.decidable):
        outcome = "no clear trend"
        reason = " — too few rounds for an interval at one end."
    else:
        outcome = ("shrinks" if first.vs(last.hi).where == ABOVE else
                   "grows" if first.vs(last.lo).where == BELOW else "no clear trend")
        reason = " (intervals apart)." if outcome != "no clear trend" else " — the intervals overlap."
    lines.append(f"From {x}={rows.iloc[0][x]} to {x}={rows.iloc[-1][x]} the share of {part} **{outcome}**{reason}"
                 + (" Shares below zero (removing it was slower) are shown as 0 %." if clamped else ""))
    return Verdict(outcome, "\n".join(lines), {"shares": list(1 - rows["ratio"])})


def sweep_summary(swept: pd.DataFrame, candidate: str, x: str, series: str) -> Verdict:
    """A ``timing.sweep`` of ``candidate`` against its baseline: per value of ``series``, the outcome at the smallest
    and largest ``x``, and how many settings came out faster, slower, the same or undecided (each on its own
    interval). Outcome: the most common."""
    rows = swept[swept["candidate"] == candidate]
    outcomes = [outcome_of(Range.of(row)) for _, row in rows.iterrows()]
    lines = []
    for value, group in rows.groupby(series):
        parts = []
        for row in (group.loc[group[x].idxmin()], group.loc[group[x].idxmax()]):
            r = Range.of(row)
            word = outcome_of(r)
            shown = f"{num(1 / r.value, 'above')}× as fast" if word == FASTER else \
                f"time {times(r.value, _decided_side(word))}"
            parts.append(f"{x}={row[x]}: {SPEED_WORDS[word]} ({shown}; MACs promised {times(row['macs_ratio'])})")
        lines.append(f"- {series}={value}: " + "; ".join(parts) + ".")
    counts = {word: outcomes.count(word) for word in (FASTER, SLOWER, EQUIVALENT, SAME, TOO_FEW)}
    lines.append(f"Over all {len(outcomes)} settings: {counts[FASTER]} faster, {counts[SLOWER]} slower, "
                 f"{counts[EQUIVALENT] + counts[SAME]} with no clear difference"
                 + (f", {counts[TOO_FEW]} with too few rounds to decide" if counts[TOO_FEW] else "") + " (each "
                 "decided on its own 95 % interval: with many settings, one may land on the wrong side by chance).")
    return Verdict(max(counts, key=counts.get), "\n".join(lines), counts)


def ranking(frame: pd.DataFrame, among: Sequence[str] | None = None) -> Verdict:
    """The candidates ``among`` (default: every row but the first, the baseline) from fastest to slowest, with '≈'
    between neighbours their paired interval cannot tell apart. Outcome **clear** when the fastest is clearly faster
    than every other, else **tied**; ``numbers["fastest"]`` / ``["slowest"]`` name the ends (``None`` when tied)."""
    names = list(among) if among is not None else list(frame.index[1:])
    if len(names) < 2:
        raise ValueError(f"among must name at least two candidates, got {names}")
    for name in names:
        _row(frame, name, "among")
    order = sorted(names, key=lambda n: frame.loc[n, "ratio"])

    def clearly_slower(a: str, b: str) -> bool:
        return outcome_of(paired(frame, a, b)) == SLOWER

    chain = [f"**{order[0]}**"]
    for previous, current in zip(order, order[1:]):
        chain.append(("< " if clearly_slower(current, previous) else "≈ ") + f"**{current}**")
    first_clear = all(clearly_slower(other, order[0]) for other in order[1:])
    last_clear = all(clearly_slower(order[-1], other) for other in order[:-1])
    spread = paired(frame, order[-1], order[0])
    text = (f"Fastest to slowest (≈: not told apart by the 95 % interval): {' '.join(chain)}. The slowest took "
            f"{times(spread.value)} the fastest's time ({interval(spread, rounds(frame))}).")
    return Verdict("clear" if first_clear else "tied", text,
                   {"order": order, "fastest": order[0] if first_clear else None,
                    "slowest": order[-1] if last_clear else None})


def guideline(frame: pd.DataFrame, expected_best: str | None = None) -> Verdict:
    """Does "``expected_best`` (default: the first row) is the fastest" hold here? Each other setting is judged on
    its raw time *and* its time per MAC, both on their 95 % intervals, and is decided only where the two agree — so
    a small MAC difference can discount a raw win but never manufacture a loss (or a win) out of equal times.
    **holds** (every other setting clearly slower), **partly holds** (some clearly slower, none clearly faster),
    **contradicted** (some clearly faster), **cannot tell** (none decided). With a ``bytes`` column it also checks
    the guideline's proposed cause: do the clearly ordered pairs run in the order of their memory traffic per MAC?"""
    base = expected_best or frame.index[0]
    others = [name for name in frame.index if name != base]
    judged, details = {}, []
    for name in others:
        raw, each = speed(frame, name, base), per_mac(frame, name, base)
        agreed = raw.outcome if raw.outcome == each.outcome and raw.outcome in (FASTER, SLOWER) else None
        judged[name] = agreed or SAME
        macs = each.numbers["units"]
        shown = (f"**{name}** against {base}: time {times(raw.numbers['ratio'], _decided_side(agreed or ''))} "
                 f"({interval(raw.numbers['range'], rounds(frame))}), per MAC "
                 f"{times(each.numbers['per_unit'], _decided_side(agreed or ''))} "
                 f"({ratio_range(each.numbers['range'])}; MACs {times(macs)})")
        if agreed:
            details.append(f"{shown}: {SPEED_WORDS[agreed]}.")
        elif raw.outcome in (FASTER, SLOWER) or each.outcome in (FASTER, SLOWER):
            details.append(f"{shown}: not decided — the raw time reads {SPEED_WORDS[raw.outcome]}, the time per "
                           f"MAC {SPEED_WORDS[each.outcome]}, so the MAC difference, not the widths, would decide "
                           "it.")
        else:
            details.append(f"{shown}: not decided — {SPEED_WORDS[raw.outcome]}.")
    faster = [n for n, o in judged.items() if o == FASTER]
    slower = [n for n, o in judged.items() if o == SLOWER]
    if faster:
        outcome = "contradicted"
        text = f"**Contradicted** here: {', '.join(faster)} ran clearly faster than {base}, in time and per MAC."
    elif len(slower) == len(others):
        outcome = "holds"
        text = f"**Holds** here: every other setting ran clearly slower than {base}, in time and per MAC."
    elif slower:
        outcome = "partly holds"
        text = (f"**Partly holds** here: {', '.join(slower)} clearly slower than {base}, in time and per MAC; the "
                "rest not decided.")
    else:
        outcome = "cannot tell"
        text = (f"**Cannot tell** here: no setting is clearly faster or slower than {base} in both time and time "
                "per MAC — the guideline is neither confirmed nor refuted on this machine.")
    numbers = {"judged": judged}
    text += f"\n\n{' '.join(details)}"
    if "bytes" in frame.columns:
        cause, traffic = _traffic_order(frame)
        numbers.update(traffic)
        text += f"\n\n{cause}"
    return Verdict(outcome, text, numbers)


def _traffic_order(frame: pd.DataFrame) -> tuple[str, dict]:
    """G1's cause put to the test: among the pairs of rows clearly ordered in time *and* per MAC, does the slower
    one always move more bytes per MAC? A sentence and its numbers (``traffic``: **follows**, **does not follow**
    or **untested**; the rank correlation of bytes per MAC with time per MAC; the pairs against the traffic)."""
    names = list(frame.index)
    bytes_per_mac = frame["bytes"] / frame["macs"]
    time_per_mac = frame["median_ms"] / frame["macs"]
    rho = spearman(bytes_per_mac, time_per_mac)
    ordered, against = [], []
    for slow in names:
        for fast in names:
            if slow == fast:
                continue
            r = paired(frame, slow, fast)
            each = r / float(frame.loc[slow, "macs"] / frame.loc[fast, "macs"])
            if outcome_of(r) == SLOWER and outcome_of(each) == SLOWER:
                ordered.append((slow, fast))
                if bytes_per_mac[slow] <= bytes_per_mac[fast]:
                    against.append((slow, fast))
    correlation = f"rank correlation of bytes per MAC with time per MAC: {_correlation(rho)}"
    if not ordered:
        return (f"No pair of settings is clearly ordered, so whether the time follows the memory traffic cannot be "
                f"checked here ({correlation}).", {"traffic": "untested", "traffic_rho": rho, "against": []})
    if not against:
        return (f"**The order follows the traffic**: in each of the {plural(len(ordered), 'clearly ordered pair')} "
                f"the slower setting moves more bytes per MAC ({correlation}) — consistent with G1's cause, though "
                "the widths change more than the bytes (not a proof).",
                {"traffic": "follows", "traffic_rho": rho, "against": []})
    listed = "; ".join(f"**{slow}** moves {num(bytes_per_mac[slow])} bytes per MAC against {num(bytes_per_mac[fast])} "
                       f"for {fast}, yet ran clearly slower" for slow, fast in against[:MAX_LISTED])
    pairs = plural(len(ordered), "clearly ordered pair")
    return (f"**The order does not follow the traffic** in {len(against)} of {pairs}: {listed} ({correlation}). "
            "Something else the widths change matters here too — probably how "
            "they fit the vector registers and the library's blocking (not measured).",
            {"traffic": "does not follow", "traffic_rho": rho, "against": against})


def promises(frame: pd.DataFrame | Mapping[tuple[str, str], pd.DataFrame],
             pairs: Sequence[tuple[str, str]]) -> Verdict:
    """Several replacements (``(small, big)`` pairs) ranked by how well each kept its MACs' promise — time ratio ÷
    MAC ratio, 1 meaning "exactly as promised". ``frame``: one frame holding every pair, or ``{(small, big): frame}``
    with each pair timed on its own (two candidates interleaved: the narrowest intervals). Best and worst are named
    only where their intervals do not overlap the others'; outcome **clear** or **tied**."""
    kept: dict[str, Range] = {}
    lines = []
    for small, big in pairs:
        if isinstance(frame, pd.DataFrame):
            judged = promise(frame, small, big)
        elif (small, big) in frame:
            judged = promise(frame[(small, big)], small, big)
        else:
            raise ValueError(f"frame: no frame for the pair {(small, big)!r}; the mapping holds {list(frame)}")
        kept[f"{small} for {big}"] = judged.numbers["range"] / judged.numbers["macs_ratio"]
        lines.append(f"- {judged.text}")
    order = sorted(kept, key=lambda name: kept[name].value)
    best, worst = order[0], order[-1]
    best_clear = all(kept[best].vs(kept[other].lo).where == BELOW for other in order[1:])
    worst_clear = all(kept[worst].vs(kept[other].hi).where == ABOVE for other in order[:-1])
    lines.append(f"Kept its promise best: **{best}** ({num(kept[best].value)}× the promised time)"
                 + ("" if best_clear else " — but not told apart from the next") + f"; worst: **{worst}** "
                 f"({num(kept[worst].value)}×)" + ("." if worst_clear else " — not told apart from the one before."))
    return Verdict("clear" if best_clear and worst_clear else "tied", "\n".join(lines),
                   {"kept": {name: tuple(r) for name, r in kept.items()}, "best": best if best_clear else None,
                    "worst": worst if worst_clear else None})


# --- shares of the time -------------------------------------------------------------------------------------

def time_share(shares: pd.DataFrame, group: str, *, claim: float | None = None, claim_source: str = "") -> Verdict:
    """A group's share of the time (the median over the profiled runs, with its 95 % interval) against its share of
    the MACs — or against a published ``claim`` (e.g. MobileNet's "95 % of the computation time in 1×1
    convolutions"). Outcome 'above' / 'below' / 'about' (the MAC share or the claim inside the interval), or too
    few runs to decide."""
    row = _row(shares, group, "group")
    r = Range.of(row, "time_share")
    reference = claim if claim is not None else float(row.get("macs_share", 0.0))
    label = f"the claimed {pct(claim)}" + (f" ({claim_source})" if claim_source else "") if claim is not None \
        else f"its {pct(reference)} of the MACs"
    where = r.vs(reference).where
    outcome = {ABOVE: "above", BELOW: "below", INSIDE: "about"}.get(where, "too few runs to decide")
    relation = {"above": "**more** than", "below": "**less** than", "about": "**about**"}.get(
        outcome, "**too few runs to decide** against")
    ratio = f" — {num(r.value / reference)}× it" if reference > 0 and outcome in ("above", "below") else ""
    text = (f"**{group}**: **{pct(r.value)}** of the time (95 % interval {pct_range(r)}), {relation} "
            f"{label}{ratio}.")
    others = shares.drop(index=group)
    if len(others) and r.decidable:
        if r.vs(float(others["time_share_hi"].max())).where == ABOVE:
            text += " It is clearly the largest share of the time."
        elif r.vs(float(others["time_share_lo"].max())).where == BELOW:
            text += f" **{others['time_share'].idxmax()}** takes a clearly larger share."
    return Verdict(outcome, text, {"share": r.value, "lo": r.lo, "hi": r.hi, "range": r, "reference": reference})


def compare_ranges(values: Mapping[str, Sequence[float]], what: str = "share", *, ratio: bool = False) -> Verdict:
    """Two measured quantities, each ``(value, lo, hi)`` (a ``Range``): which is larger — their 95 % intervals
    apart — or **no clear difference** where they overlap. ``values`` holds exactly two entries; ``ratio=True``
    quotes them as ratios (×1.24, ×1.23–1.25) instead of percentages."""
    if len(values) != 2:
        raise ValueError(f"values must hold exactly two entries, got {len(values)}")
    (a, first), (b, second) = ((name, Range(*map(float, v))) for name, v in values.items())

    def shown(r: Range) -> str:
        if not ratio:
            return f"{pct(r.value)} ({pct_range(r)})"
        return f"{times(r.value)} (" + (f"×{num(r.lo)}–{num(r.hi)}" if r.decidable else "no interval") + ")"

    quoted = f"{a} {shown(first)} against {b} {shown(second)}"
    if not (first.decidable and second.decidable):
        return Verdict(TOO_FEW, f"**{TOO_FEW}** which {what} is larger: {quoted}.", {"a": first, "b": second})
    if first.vs(second.hi).where == ABOVE:
        return Verdict("larger", f"**{a}**'s {what} is clearly **larger**: {quoted}.", {"a": first, "b": second})
    if first.vs(second.lo).where == BELOW:
        return Verdict("smaller", f"**{a}**'s {what} is clearly **smaller**: {quoted}.", {"a": first, "b": second})
    return Verdict(SAME, f"The two {what}s' 95 % intervals overlap — **no clear difference**: {quoted}.",
                   {"a": first, "b": second})


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
            + (f" {plural(clamped, 'layer time')} fell below zero (timer jitter) and count as 0." if clamped else ""))
    return Verdict(outcome, text, {"summed_ms": summed, "end_to_end_ms": end_to_end, "factor": factor})



# --- orderings and accuracies ------------------------------------------------------------------------------

GOALS = {"params": "parameters", "macs": "MACs", "bytes": "memory traffic", "median_ms": "measured latency"}


def _correlation(value: float) -> str:
    return "n/a (one side has no order)" if math.isnan(value) else f"{value:.2f}"


def rankings(frame: pd.DataFrame, guess: Sequence[str] | str | None = None) -> Verdict:
    """How far parameters, MACs and bytes predicted the measured order: rank correlations (with how much one swap
    moves them), the time per billion MACs, and the clearest "fewer MACs, yet slower" pairs (decided on the paired
    95 % intervals; at most ``MAX_LISTED``, largest first). With ``guess`` (names fastest first, as a list or one
    comma-separated string) it also scores the guess. With a handful of networks it says how much the ranking of
    the counts rests on single networks (``proxy_robustness``), names networks with the same parameter count but
    clearly different times, and counts the pairs whose order this run did not decide. Outcome **MACs agree** when
    no pair contradicts the MAC order, else **MACs disagree**."""
    columns = [c for c in ("params", "macs", "bytes") if c in frame.columns]
    correlations = {c: spearman(frame[c], frame["median_ms"]) for c in columns}
    n = len(frame)
    step = 6 / (n * (n * n - 1)) * 2 if n > 1 else math.nan  # one adjacent swap changes Σd² by 2
    lines = ["Spearman rank correlation with measured latency on this machine (1 = same order, 0 = unrelated): "
             + ", ".join(f"{GOALS[c]} **{_correlation(v)}**" for c, v in correlations.items())
             + (f". Over {n} networks one swap of two neighbours moves a correlation by {num(step)}: differences "
                "that small are one swap, not a law." if n > 2 else ".")]
    robustness = proxy_robustness(frame, columns)
    if robustness.text:
        lines.append(f"- {robustness.text}")
    lines.extend(f"- {line}" for line in _same_count_different_time(frame, "params"))
    per_gmac = frame["median_ms"] / (frame["macs"] / 1e9)
    lines.append(f"- Time per billion MACs ranges from **{num(per_gmac.min())} ms** ({per_gmac.idxmin()}) to "
                 f"**{num(per_gmac.max())} ms** ({per_gmac.idxmax()}): {num(per_gmac.max() / per_gmac.min())}× "
                 "apart, so a MAC is not a unit of time.")
    pairs = []
    for a in frame.index:
        for b in frame.index:
            if a != b and frame.loc[a, "macs"] < frame.loc[b, "macs"]:
                r = paired(frame, a, b)
                if r.vs(1.0).where == ABOVE:
                    pairs.append((r.value, a, b, r))
    pairs.sort(key=lambda p: p[0], reverse=True)
    if not pairs:
        lines.append("- No model with fewer MACs was clearly slower than one with more (paired 95 % intervals).")
    for ratio, a, b, r in pairs[:MAX_LISTED]:
        lines.append(f"- **{a}** has {times(frame.loc[a, 'macs'] / frame.loc[b, 'macs'])} the MACs of **{b}**, yet "
                     f"took {times(ratio, 'above')} its time (95 % interval {ratio_range(r)}).")
    if len(pairs) > MAX_LISTED:
        lines.append(f"- … and {plural(len(pairs) - MAX_LISTED, 'more such pair')}.")
    undecided = [(a, b) for i, a in enumerate(frame.index) for b in frame.index[i + 1:]
                 if outcome_of(paired(frame, a, b)) not in (FASTER, SLOWER)]
    if undecided and n > 2:
        lines.append(f"- {len(undecided)} of the {n * (n - 1) // 2} pairs of networks were not clearly apart in time "
                     "in this run (their 95 % interval holds ×1, or there were too few rounds): their order in the "
                     "correlations above is the noise's, not the networks'.")
    numbers = {"pairs": [(a, b) for _, a, b, _ in pairs], "correlations": correlations, "undecided": undecided,
               "best": robustness.numbers.get("best"), "robust": robustness.outcome == "robust"}
    if isinstance(guess, str):
        guess = [name.strip() for name in guess.split(",") if name.strip()]
    if guess is not None and guess is not Ellipsis:
        known = [name for name in guess if name in frame.index]
        unknown = [name for name in guess if name not in frame.index]
        if len(known) >= 2:
            rho = spearman(range(len(known)), frame.loc[known, "median_ms"])
            numbers["guess_correlation"] = rho
            lines.append(f"- Your guess: rank correlation **{_correlation(rho)}** with the measured order over the "
                         f"{len(known)} names it contains.")
        if unknown:
            lines.append(f"- Names in your guess that are not in the table: {', '.join(map(repr, unknown))}.")
    return Verdict("MACs disagree" if pairs else "MACs agree", "\n".join(lines), numbers)


COUNT_WORDS = {"params": "parameter", "macs": "MAC", "bytes": "memory-traffic"}


def proxy_robustness(frame: pd.DataFrame, columns: Sequence[str] = ("params", "macs", "bytes")) -> Verdict:
    """Which count (``columns``) ordered the measured latencies most closely, and whether that survives leaving
    out any one network — the uncertainty of a correlation over a handful of networks. Outcome **robust** (the best
    count stays strictly ahead of every other whichever network is left out), **rests on single networks** (it
    names those whose removal ties or reverses it), **tied** (no single best) or **too few networks** (below 4)."""
    columns = [c for c in columns if c in frame.columns]
    n = len(frame)
    correlations = {c: spearman(frame[c], frame["median_ms"]) for c in columns}
    known = {c: v for c, v in correlations.items() if not math.isnan(v)}
    if n < 4 or len(known) < 2:
        return Verdict("too few networks", "", {})
    ordered = sorted(known, key=known.get, reverse=True)
    best, others = ordered[0], ordered[1:]
    listed = ", ".join(f"{GOALS[c]} {_correlation(known[c])}" for c in others)
    if known[best] - known[others[0]] < 1e-9:
        tied = [GOALS[c] for c in ordered if known[best] - known[c] < 1e-9]
        return Verdict("tied", f"No count ordered the networks better than the others here: {' and '.join(tied)} "
                       f"tie at {_correlation(known[best])}.", {"best": None})
    breaking = []
    for left_out in frame.index:
        rest = frame.drop(index=left_out)
        score = {c: spearman(rest[c], rest["median_ms"]) for c in [best, *others]}
        if any(not score[c] < score[best] for c in others):  # NaN counts as not behind: the lead is gone
            breaking.append(left_out)
    head = (f"Here **{GOALS[best]}** followed the measured order most closely ({_correlation(known[best])}; "
            f"{listed}).")
    if not breaking:
        return Verdict("robust", f"{head} It stays ahead whichever one of the {n} networks is left out — still a "
                       f"statement about these {n} networks on this machine.", {"best": best, "breaking": []})
    names = ", ".join(f"**{name}**" for name in breaking[:MAX_LISTED]) + (
        f" (and {plural(len(breaking) - MAX_LISTED, 'other')})" if len(breaking) > MAX_LISTED else "")
    which = f"any one of {names}" if len(breaking) > 1 else f"{names} alone"
    return Verdict("rests on single networks",
                   f"{head} But the lead rests on single networks: leaving out {which} ends it. With {n} networks, "
                   "which count ranks speed best here is a fact about these networks, not a rule to design by.",
                   {"best": best, "breaking": breaking})


def _same_count_different_time(frame: pd.DataFrame, column: str) -> list[str]:
    """Sentences for pairs of networks with exactly the same ``column`` count (say, parameters) whose times differ
    clearly: the count cannot tell them apart, the stopwatch can."""
    if column not in frame.columns:
        return []
    found = []
    for i, a in enumerate(frame.index):
        for b in frame.index[i + 1:]:
            if frame.loc[a, column] != frame.loc[b, column]:
                continue
            fast, slow = (a, b) if frame.loc[a, "median_ms"] <= frame.loc[b, "median_ms"] else (b, a)
            r = paired(frame, fast, slow)
            if outcome_of(r) == FASTER:
                found.append(f"**{fast}** and **{slow}** have the same {GOALS[column]} "
                             f"({frame.loc[a, column]:,}), yet **{fast}** took {times(r.value, 'below')} the time "
                             f"(95 % interval {ratio_range(r)}): the {COUNT_WORDS[column]} count cannot tell them "
                             "apart.")
    return found[:MAX_LISTED]


# --- accuracies -----------------------------------------------------------------------------------------------

def accuracy_difference(frame: pd.DataFrame, name: str, other: str, n_test: int, y: str = "accuracy") -> Verdict:
    """Two test accuracies on ``n_test`` examples: **more accurate** / **less accurate** when the 95 % interval of
    their difference lies wholly on one side of 0, else **within the noise**. The sentence names the split the
    accuracies were measured on (``frame.attrs["accuracy_split"]``, as ``training.with_accuracy`` records it;
    default "test")."""
    a, b = float(frame.loc[name, y]), float(frame.loc[other, y])
    d = stats.accuracy_difference(a, b, n_test)
    where = d.vs(0.0).where
    split = frame.attrs.get("accuracy_split", "test")
    quoted = (f"{pct(a, decimals=1)} against {pct(b, decimals=1)} for {other}: a difference of "
              f"{_points(d.value)} (95 % interval {_points(d.lo)} to {_points(d.hi)} on {n_test} {split} images)")
    outcome = {ABOVE: "more accurate", BELOW: "less accurate"}.get(where, "within the noise")
    text = {"more accurate": f"**{name}** is **more accurate**: {quoted}.",
            "less accurate": f"**{name}** is **less accurate**: {quoted}.",
            "within the noise": f"**{name}**: accuracy **within the noise** — {quoted}."}[outcome]
    return Verdict(outcome, text, {"difference": d.value, "range": d})


def _points(fraction: float) -> str:
    """An accuracy difference in percentage points, signed in words-friendly form: '+1.2 points', '−0.4 points'."""
    sign = "+" if fraction >= 0 else "−"
    return f"{sign}{abs(fraction) * 100:.1f} points"


def accuracy_ranges(accuracies: Mapping[str, float] | pd.Series, n_test: int) -> dict[str, Range]:
    """Each accuracy with its 95 % interval on ``n_test`` examples — the input ``ranking_change`` needs."""
    return {name: Range(float(a), float(a) - accuracy_noise(float(a), n_test), float(a) + accuracy_noise(float(a),
                                                                                                       n_test))
            for name, a in dict(accuracies).items()}


def latency_ranges(frame: pd.DataFrame, names: Mapping[str, str] | None = None) -> dict[str, Range]:
    """Each candidate's median latency (ms) with its 95 % interval (sign test over its own samples) — the input
    ``ranking_change`` needs for times. ``names`` renames rows ({row: shown name}) and picks them."""
    chosen = names or {n: n for n in frame.index}
    return {shown: stats.median_interval(frame.attrs["results"][row].samples) for row, shown in chosen.items()}


def ranking_change(before: Mapping[str, Range], after: Mapping[str, Range], *, what: str = "order",
                   better: str = "lower", labels: tuple[str, str] = ("before", "after")) -> Verdict:
    """The same designs ranked on two tasks (or machines): ``before`` / ``after`` hold a ``Range`` per design
    (``accuracy_ranges``, ``latency_ranges``; ``better``: 'lower' for times, 'higher' for accuracies). Outcome
    **same order**, **changed within the noise** (only pairs whose intervals overlap on either side swapped), or
    **changed beyond the noise** (some pair is clearly ordered one way before and clearly the other way after).
    ``labels`` name the two sides in the sentence ("predicted", "measured" …)."""
    names = [n for n in before if n in after]
    sign = 1 if better == "lower" else -1
    first = sorted(names, key=lambda n: sign * before[n].value)
    second = sorted(names, key=lambda n: sign * after[n].value)
    rho = spearman([first.index(n) for n in names], [second.index(n) for n in names])

    def clearly_better(ranges: Mapping[str, Range], a: str, b: str) -> bool:
        return ranges[a].vs(ranges[b].lo if better == "lower" else ranges[b].hi).where == \
            (BELOW if better == "lower" else ABOVE)

    flipped = [(a, b) for a in names for b in names
               if clearly_better(before, a, b) and clearly_better(after, b, a)]
    shown = {n: f"{n} ({num(before[n].value)} → {num(after[n].value)})" for n in names}
    orders = f"{' > '.join(first)} {labels[0]}, {' > '.join(second)} {labels[1]}"
    if first == second:
        return Verdict("same order", f"The {what} is **the same** {labels[0]} and {labels[1]}: {' > '.join(first)} "
                       f"({'; '.join(shown.values())}).", {"rho": 1.0, "flipped": []})
    moved = [n for n in names if first.index(n) != second.index(n)]
    winner = (f" The winner changed ({first[0]} → {second[0]})." if first[0] != second[0]
              else f" The winner ({first[0]}) did not change.")
    if flipped:
        pairs = "; ".join(f"{a} clearly ahead of {b} {labels[0]}, clearly behind it {labels[1]}"
                          for a, b in flipped[:MAX_LISTED])
        text = (f"The {what} **changed beyond the noise**: {orders} (rank correlation {_correlation(rho)}).{winner} "
                f"{pairs}. Values: {'; '.join(shown.values())}.")
        outcome = "changed beyond the noise"
    else:
        text = (f"The {what} **changed within the noise**: {orders} (rank correlation {_correlation(rho)}; moved: "
                f"{', '.join(moved)}).{winner} No swapped pair is clearly ordered on both sides (95 % intervals), so "
                f"this is not evidence either way. Values: {'; '.join(shown.values())}.")
        outcome = "changed within the noise"
    return Verdict(outcome, text, {"rho": rho, "moved": moved, "flipped": flipped,
                                   "winner_changed": first[0] != second[0]})


def pareto(frame: pd.DataFrame, n_test: int, x: str = "median_ms", y: str = "accuracy") -> Verdict:
    """The Pareto front in words, with the accuracy noise of ``n_test`` test examples: which front members are
    within that noise of each other."""
    front = pareto_front(frame, x, y)
    noise = accuracy_noise(float(frame[y].max()), n_test)
    best = frame.loc[front, y].max()
    close = [name for name in front if best - frame.loc[name, y] <= noise]
    text = (f"On the Pareto front — no other design is at least as fast and as accurate, and better in one: "
            f"**{', '.join(map(str, front))}**. With {n_test} test images an accuracy is uncertain by about "
            f"±{pct(noise, decimals=1)} (95 % interval)"
            + (f"; within that of the most accurate: {', '.join(map(str, close))}." if len(close) > 1 else "."))
    return Verdict("front", text, {"front": front, "noise": noise, "close": close})


def beats(frame: pd.DataFrame, challengers: Sequence[str], incumbents: Sequence[str], n_test: int,
          y: str = "accuracy") -> Verdict:
    """Does any challenger beat an incumbent on *both* axes — clearly faster (paired 95 % interval) and clearly more
    accurate (the 95 % interval of the accuracy difference above 0)? Outcome **beats** or **does not beat**."""
    wins = []
    for a in challengers:
        for b in incumbents:
            r = paired(frame, a, b)
            gain = stats.accuracy_difference(float(frame.loc[a, y]), float(frame.loc[b, y]), n_test)
            if outcome_of(r) == FASTER and gain.vs(0.0).where == ABOVE:
                wins.append((a, b, r.value, gain.value))
    if wins:
        listed = "; ".join(f"**{a}** beats {b} (time {times(r, 'below')}, accuracy {_points(g)})"
                           for a, b, r, g in wins[:MAX_LISTED])
        return Verdict("beats", f"Beyond the noise on both axes: {listed}.", {"wins": wins})
    return Verdict("does not beat", "No challenger is both clearly faster and clearly more accurate than any "
                   "incumbent: every win on one axis is within the noise or paid for on the other.", {"wins": []})


# --- machines: threads, paper devices, budgets ---------------------------------------------------------

def thread_speedup(frame: pd.DataFrame) -> Verdict:
    """From a ``compare_threads`` frame (first row 1 thread, last row N threads): the speed-up with its 95 %
    interval, classified **sub-linear** / **near-linear** / **super-linear** (against N), **slower**, **no clear
    difference** or too few rounds to decide."""
    results = frame.attrs["results"]
    first, last = frame.index[0], frame.index[-1]
    n = results[last].threads // max(results[first].threads, 1)
    r = paired(frame, last)
    speedup = 1 / r
    outcome = outcome_of(r)
    measured = f"time {times(r.value, _decided_side(outcome))}, {interval(r, rounds(frame))}"
    if outcome == SLOWER:
        return Verdict(SLOWER, f"With {last} the model ran **slower** than with {first} ({measured}): probably "
                       "because splitting its small layers costs more than it saves, or other programs are using "
                       "the other cores.", {"speedup": speedup.value})
    if outcome != FASTER:
        return Verdict(outcome, f"With {last} the speed against {first}: {SPEED_WORDS[outcome]} ({measured}).",
                       {"speedup": speedup.value})
    if speedup.vs(n * (1 + NEAR_LINEAR)).where == ABOVE:
        kind, why = "super-linear", (f"more than {n}×: probably because each core brings its own cache, so the "
                                     "working set fits better when it is split")
    elif speedup.vs(n * (1 - NEAR_LINEAR)).where == BELOW:
        kind, why = "sub-linear", (f"less than {n}×: probably because small layers split poorly across cores, the "
                                   "cores share the memory bandwidth — and, on laptops, because two hardware threads "
                                   "of one core, or an efficiency core, do not add a full core's speed")
    else:
        kind, why = "near-linear", f"close to the ideal {n}×"
    return Verdict(kind, f"With {last} the model ran **{num(speedup.value, 'above')}× as fast** as with {first} "
                   f"({measured}) — **{kind}**, {why}.", {"speedup": speedup.value, "threads": n})


def paper_device(speed_range: Range, paper: Mapping[str, float], *, what: str = "speed") -> Verdict:
    """Which of a paper's devices this machine is closer to, from a measured relative ``speed_range`` (a ``Range``,
    e.g. ``1 / verdict.paired(frame, "g=8")``) and the paper's value per device: outcome the device's name, or
    **neither** (between them, farther than 25 % from both, or no effect at all where the paper saw one).
    Distances are taken on a log scale (0.5 is as far from 1 as 2)."""
    r = Range(*map(float, speed_range))

    def distance(p: float) -> float:
        return 0.0 if r.vs(p).where == INSIDE else min(abs(math.log(p / r.lo)), abs(math.log(p / r.hi)))

    quoted = ", ".join(f"{device} {pct(p)}" for device, p in paper.items())
    measured = f"here {pct(r.value)} (95 % interval {pct_range(r)}); the paper: {quoted}"
    if not r.decidable:
        return Verdict("neither", f"**{TOO_FEW}** which device this machine is closer to — {measured}.", {})
    effect = r.vs(1.0).where
    if all(p < 1 for p in paper.values()) and effect == INSIDE:
        return Verdict("neither", f"No clear effect here, unlike **both** paper devices — {measured}.", {})
    if all(p < 1 for p in paper.values()) and effect == ABOVE:
        return Verdict("neither", f"The opposite of the paper here — {measured}: like **neither** device.", {})
    ranked = sorted(paper, key=lambda d: distance(paper[d]))
    nearest, other = ranked[0], ranked[-1]
    near, far = distance(paper[nearest]), distance(paper[other])
    if len(paper) > 1 and far <= near * PAPER_TIE + 1e-9 and far > 0:
        return Verdict("neither", f"Between the paper's devices — {measured}: like **neither** clearly.", {})
    if near > PAPER_NEAR:
        return Verdict("neither", f"Far from both of the paper's devices (more than {pct(math.exp(PAPER_NEAR) - 1)} "
                       f"from the nearer, {nearest}) — {measured}: like **neither**.", {})
    return Verdict(nearest, f"This machine's {what} is closer to the paper's **{nearest}** than to the "
                   f"{'others' if len(paper) > 2 else other} — {measured}.",
                   {"distances": {d: distance(p) for d, p in paper.items()}})


def paper_devices(frame: pd.DataFrame, paper: Mapping[str, Mapping[str, float]]) -> Verdict:
    """Each candidate's relative speed (against the first row, with its 95 % interval) beside a paper's value per
    device (``paper[device][candidate]``): which device each is closer to, and which most candidates are closer
    to — outcome that device, or **neither**."""
    votes: dict[str, int] = {}
    lines = []
    for name in frame.index[1:]:
        if not all(name in values for values in paper.values()):
            continue
        judged = paper_device(1 / paired(frame, name), {d: values[name] for d, values in paper.items()})
        votes[judged.outcome] = votes.get(judged.outcome, 0) + 1
        lines.append(f"- {name}: {judged.text}")
    if not votes:
        raise ValueError("paper must give a value for at least one candidate of the frame (its row names)")
    top = max(votes, key=votes.get)
    outcome = top if list(votes.values()).count(votes[top]) == 1 else "neither"
    lines.append(f"Most candidates here are closer to: **{outcome}** "
                 f"({', '.join(f'{d}: {n}' for d, n in votes.items())}).")
    return Verdict(outcome, "\n".join(lines), votes)


def paper_gain(frame: pd.DataFrame, name: str, paper: tuple[float, float, float], *,
               baseline: str | None = None) -> Verdict:
    """The speed-up of ``name`` (with its 95 % interval) against a paper's reported speed-up range ``paper`` =
    (low, high, typical) as fractions (G4: 0.08, 0.24, 0.20): **like the paper** (they overlap), **less than the
    paper**, **more than the paper**. Told as factors (1.14× as fast), never as negative percentages."""
    here = 1 / paired(frame, name, baseline)
    low, high, typical = (1 + p for p in paper)
    if not here.decidable:
        outcome = TOO_FEW
    else:
        outcome = ("less than the paper" if here.vs(low).where == BELOW else
                   "more than the paper" if here.vs(high).where == ABOVE else "like the paper")
    shown = f"{num(here.lo)}–{num(here.hi)}×" if here.decidable else "none: too few rounds"
    paper_words = f"{num(low)}×" if low == high else f"{num(low)}–{num(high)}× (about {num(typical)}×)"
    text = (f"**{name}**: {num(here.value)}× the speed of {baseline or frame.index[0]} here (95 % interval "
            f"{shown}); the paper saw {paper_words}: **{outcome}**.")
    return Verdict(outcome, text, {"speed": tuple(here)})


def scaling_exponent(frame: pd.DataFrame, name: str, paper: Mapping[str, tuple[float, float]], *,
                     paper_source: str = "the paper", baseline: str | None = None) -> Verdict:
    """How much of a MAC cut became speed, as one number comparable across MAC ratios: the exponent e in
    time ∝ MACs^e, e = log(time ratio) / log(MAC ratio) — 1 when the time follows the MACs, 0 when it does not
    move, below 0 when fewer MACs ran slower. Here (with the 95 % interval of the paired time ratio, mapped through
    the same formula) against the paper's e for the same pair: ``paper`` = ``{row name: (MACs, ms)}`` for ``name``
    and ``baseline`` (default: the first row). **less than the paper** (the whole interval below the paper's e),
    **more than the paper**, **like the paper** (it holds the paper's e), or too few rounds to decide."""
    base = baseline or frame.index[0]
    r = paired(frame, name, baseline)
    macs = float(frame.loc[name, "macs"] / frame.loc[base, "macs"])
    missing = [row for row in (name, base) if row not in paper]
    if missing:
        raise ValueError(f"paper must give (MACs, ms) for {missing}, got {list(paper)}")
    paper_macs, paper_ms = paper[name][0] / paper[base][0], paper[name][1] / paper[base][1]
    if macs == 1 or paper_macs == 1:
        raise ValueError("the exponent needs a MAC ratio other than 1, here and in the paper")
    ends = sorted(math.log(end) / math.log(macs) for end in (r.lo, r.hi)) if r.decidable else [math.nan] * 2
    here = Range(math.log(r.value) / math.log(macs), *ends)
    on_paper = math.log(paper_ms) / math.log(paper_macs)
    where = here.vs(on_paper).where
    outcome = {BELOW: "less than the paper", ABOVE: "more than the paper", INSIDE: "like the paper"}.get(where, TOO_FEW)
    shown = f"95 % interval {num(here.lo, digits=2)}–{num(here.hi, digits=2)}" if here.decidable \
        else f"no interval: fewer than {stats.MIN_ROUNDS} rounds"
    reading = {"less than the paper": "**less** of the MAC cut became speed here than on the paper's device",
               "more than the paper": "**more** of the MAC cut became speed here than on the paper's device",
               "like the paper": "**like** the paper's device: the interval holds its exponent",
               TOO_FEW: f"**{TOO_FEW}** against the paper"}[outcome]
    (base_macs, base_ms), (name_macs, name_ms) = paper[base], paper[name]
    text = (f"Time ∝ MACs^e, **{name}** against {base}: e = **{num(here.value, digits=2)}** here ({shown}; MACs "
            f"{times(macs)}, time {times(r.value)}); {paper_source}: e = **{num(on_paper, digits=2)}** (MACs "
            f"{num(base_macs / 1e6)} M → {num(name_macs / 1e6)} M, time {num(base_ms)} → {num(name_ms)} ms) — "
            f"{reading}. (e = 1: the time follows the MACs; e = 0: it does not move.)")
    return Verdict(outcome, text, {"exponent": tuple(here), "paper_exponent": on_paper, "macs_ratio": macs,
                                   "ratio": r.value})


def fps(samples_ms: Sequence[float], paper_fps: float | None, paper_device_name: str, device,
        threads: int = 1) -> Verdict:
    """Frames per second from latency samples (ms) against a paper's figure *for the same kind of device* — another
    CPU or GPU, another library and year, the forward pass only: **faster** / **slower** / **no clear difference**
    (the paper's figure inside the 95 % interval of this machine's median). ``paper_fps=None`` where the paper
    measured no device of this kind (an Apple GPU): outcome **no paper figure**, and ``paper_device_name`` says what
    the paper did measure."""
    rate = 1000 / stats.median_interval(list(samples_ms))
    if paper_fps is None:
        shown = f"{num(rate.lo)}–{num(rate.hi)}" if rate.decidable else "none: too few samples"
        return Verdict("no paper figure", f"**{num(rate.value)} FPS** on {device_words(device, threads)} (95 % "
                       f"interval {shown}). The paper gives no figure for this kind of device — it measured "
                       f"{paper_device_name} — so there is nothing like for like to compare with.",
                       {"fps": rate.value, "fps_lo": rate.lo, "fps_hi": rate.hi})
    where = rate.vs(paper_fps).where
    outcome = {ABOVE: FASTER, BELOW: SLOWER, INSIDE: SAME}.get(where, TOO_FEW)
    shown = f"{num(rate.lo)}–{num(rate.hi)}" if rate.decidable else "none: too few samples"
    text = (f"**{num(rate.value)} FPS** on {device_words(device, threads)} (95 % interval {shown}) against the "
            f"paper's {num(paper_fps)} FPS on {paper_device_name}: "
            + {FASTER: "**faster** than", SLOWER: "**slower** than", SAME: "**no clear difference** from",
               TOO_FEW: f"**{TOO_FEW}** against"}[outcome]
            + " the paper's figure (another machine, another library and year, this forward pass only — the "
              "comparison says where this machine stands, not why).")
    return Verdict(outcome, text, {"fps": rate.value, "fps_lo": rate.lo, "fps_hi": rate.hi})


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


def width_control(frame: pd.DataFrame, name: str, control: str, more_fragments: str | None = None) -> Verdict:
    """Fragments or width? ``control`` is ``name``'s block at a friendlier width (more MACs: ``guidelines.
    g3_width_control``), judged per MAC against ``name`` and against the first row; ``more_fragments`` names the same
    arrangement with more fragments, which fragmentation predicts to be no faster than ``name`` — a clearly faster
    one is said to be "not what fragmentation predicts". Outcome **width** (the control clearly faster per MAC than
    ``name``: part of ``name``'s slow-down is its width), **not the width** (no clear difference, or slower, per
    MAC), or too few rounds to decide."""
    base = frame.index[0]
    lines = []
    if more_fragments is not None:
        fewer = speed(frame, name, more_fragments)
        note = (" — fewer fragments, more time: **not what fragmentation predicts**" if fewer.outcome == SLOWER
                else "")
        lines.append(f"- Fewer fragments: {fewer.text.rstrip('.')}{note}.")
    width = per_mac(frame, control, name)
    lines.append(f"- The width, at the same fragments: {width.text}")
    lines.append(f"- What the fragments cost at the friendlier width: {per_mac(frame, control).text}")
    clear = width.outcome == FASTER and not width.numbers["range"].vs(1.0, EQUIVALENCE).close
    if width.outcome == TOO_FEW:
        outcome = TOO_FEW
        lines.append(f"**{TOO_FEW}** whether the width matters.")
    elif clear:
        outcome = "width"
        lines.append(f"**The width matters**: at the same fragments the friendlier width ran clearly faster per MAC, "
                     f"so part of **{name}**'s slow-down is its width, not fragmentation — probably a width the "
                     "library's vectorised kernels (blocks of 8 or 16 floats) handle less well. The control's own "
                     f"line against {base} is the fairer measure of what the fragments cost.")
    else:
        outcome = "not the width"
        lines.append(f"**Not the width**: the friendlier width ran no faster per MAC (or by less than "
                     f"{pct(EQUIVALENCE)}), so **{name}**'s time is not explained by its width here.")
    return Verdict(outcome, "\n".join(lines), {"width": width.outcome, "per_mac": width.numbers["per_unit"]})


def copy_in_extra(shares: pd.DataFrame, group: str, frame: pd.DataFrame, name: str) -> Verdict:
    """How much of ``name``'s extra time over the frame's first row the ``group`` of ``shares`` (a ``time_shares``
    table of ``name``, e.g. its "add / cat / copy" row) explains: the group's ms (its share × ``name``'s median) of
    the extra ms, and that fraction with a rough interval from the share's and the ratio's 95 % intervals — an
    estimate, from two separate runs. Outcome **all of it**, **part of it**, **part or all of it** (the interval
    holds 100 %), **no clear extra** (``name`` was not clearly slower) or too few rounds to decide."""
    base = frame.index[0]
    share = Range.of(_row(shares, group, "group"), "time_share")
    r = paired(frame, name)
    total_ms = float(frame.loc[name, "median_ms"])
    extra_ms = total_ms - float(frame.loc[base, "median_ms"])
    copy_ms = share.value * total_ms
    numbers = {"copy_ms": copy_ms, "extra_ms": extra_ms, "share": share, "ratio": r}
    said = f"**{group}** takes about **{num(copy_ms)} ms** of {name}'s {num(total_ms)} ms ({pct(share.value)})"
    if not (share.decidable and r.decidable):
        return Verdict(TOO_FEW, f"{said}: **{TOO_FEW}** how much of the extra time that explains.", numbers)
    if outcome_of(r) != SLOWER:
        return Verdict("no clear extra", f"{said}; but {name} was not clearly slower than {base} ("
                       f"{interval(r, rounds(frame))}), so there is no clear extra time for it to explain.", numbers)
    # fraction of the extra = share × T / (T − T₁) = share · r / (r − 1): rises with the share, falls with r
    explained = Range(share.value * r.value / (r.value - 1), share.lo * r.hi / (r.hi - 1),
                      share.hi * r.lo / (r.lo - 1))
    numbers["explained"] = explained
    where = explained.vs(1.0).where
    outcome = {ABOVE: "all of it", BELOW: "part of it"}.get(where, "part or all of it")
    rest = max(extra_ms - copy_ms, 0.0)
    tail = {"all of it": f" — all of the extra: the fragmented convs themselves probably ran no slower than {base}'s",
            "part or all of it": " — the interval holds 100 %, so this run cannot tell part of the extra from all "
                                  "of it",
            "part of it": f"; the other ≈ {num(rest)} ms are the fragmented convs themselves"}[outcome]
    text = (f"{said}: about **{pct(explained.value)}** of the **{num(extra_ms)} ms** {name} needs beyond {base} "
            f"(roughly {pct_range(explained)}, from the share's and the ratio's 95 % intervals; share and time come "
            f"from separate runs, so this is an estimate){tail}.")
    return Verdict(outcome, text, numbers)


def allocator_effect(runs: Mapping[str, Sequence[Mapping]], key: str, what: str = "the ratio") -> Verdict:
    """One measurement (``key``) repeated in fresh processes under several allocator settings (``runs``: setting →
    the processes' results, from ``scorecard.in_processes``): each setting's values, their page faults per forward,
    and whether the settings' values lie apart — outcome **the allocator moved it** (some setting's processes all
    lie outside another's intervals) or **no clear allocator effect**. A measurement that moves with the allocator is
    a measurement of the allocator too."""
    lines, values = [], {}
    for setting, processes in runs.items():
        measured = [p["results"][key] for p in processes]
        values[setting] = Range(statistics.median(m["value"] for m in measured),
                                min(m["lo"] for m in measured if m.get("lo") is not None) if all(
                                    m.get("lo") is not None for m in measured) else math.nan,
                                max(m["hi"] for m in measured if m.get("hi") is not None) if all(
                                    m.get("hi") is not None for m in measured) else math.nan)
        faults = ["/".join(num(count) for count in m["faults"].values()) for m in measured if m.get("faults")]
        candidates = " / ".join(next((m["faults"] for m in measured if m.get("faults")), {}))
        shown = ", ".join(num(m["value"]) for m in measured)
        allocated = processes[0].get("allocator", {})
        lines.append(f"- **{setting}** ({allocated.get('library', '?')}, {allocated.get('settings', '?')}): "
                     f"{what} {shown} in {plural(len(measured), 'process', 'processes')}"
                     + (f"; page faults per forward ({candidates}): {', '.join(faults)}" if faults else ""))
    names = list(values)
    library = next(iter(runs.values()))[0].get("allocator", {}).get("library", "")
    if not library.startswith("glibc"):
        lines.append(f"This machine's allocator is {library or 'not glibc'}: glibc's settings do not apply, so the "
                     "settings differ in name only — the processes show how much one process differs from the next.")
    ordered = sorted((n for n in names if values[n].decidable), key=lambda n: values[n].value)
    apart = [(ordered[-1], ordered[0])] if len(ordered) > 1 and \
        values[ordered[-1]].vs(values[ordered[0]].hi).where == ABOVE else []
    if apart:
        a, b = apart[0]
        lines.append(f"The allocator **moved it**: under *{a}* {what} is {num(values[a].value)}, under *{b}* "
                     f"{num(values[b].value)} — every process's 95 % interval apart. The code and the network were the "
                     "same; only how memory was handed out changed. Thousands of page faults per forward mean fresh "
                     "pages on every forward.")
        return Verdict("the allocator moved it", "\n".join(lines), {"values": values, "apart": apart})
    lines.append("**No clear allocator effect** here: the settings' 95 % intervals overlap.")
    return Verdict("no clear allocator effect", "\n".join(lines), {"values": values, "apart": []})


# --- measuring well: warm-up, outliers, interleaving, the interval itself -----------------------------------

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


def spread_and_interval(ratios: Sequence[float], sizes: Sequence[int] = (3, 20)) -> Verdict:
    """Lesson 00's demonstration: per-round ratios of *twin* networks (the true ratio is 1) re-cut into groups of
    each size in ``sizes``; in how many groups the *spread* rule (the middle half of the ratios wholly on one side of
    1) would declare a winner, and in how many the 95 % interval does — against what a 5 % rate gives by chance
    (up to the 99 % quantile of Binomial(groups, 5 %)). Outcome **interval holds**, or **interval failed** when it
    decided more often than that at some size."""
    lines, numbers, failed = [], {}, False
    for size in sizes:
        groups = [list(ratios[i:i + size]) for i in range(0, len(ratios) - size + 1, size)]
        if not groups:
            continue
        by_spread = sum(Range(1.0, *stats.quartiles(g)).vs(1.0).where in (BELOW, ABOVE) for g in groups)
        by_interval = sum(outcome_of(stats.median_interval(g)) in (FASTER, SLOWER) for g in groups)
        chance = stats.chance_count(len(groups), 1 - stats.CONFIDENCE)
        failed |= by_interval > chance
        numbers[size] = {"groups": len(groups), "spread": by_spread, "interval": by_interval, "chance": chance}
        if size < stats.MIN_ROUNDS:
            interval_words = "the interval **refuses to decide**: fewer rounds than a 95 % interval needs"
        else:
            interval_words = (f"the 95 % interval in **{by_interval}** (a 5 % rate gives up to {chance} of "
                              f"{len(groups)} by chance)")
        lines.append(f"- groups of {plural(size, 'round')} ({len(groups)} groups): the spread named a winner "
                     f"between the twins in **{by_spread}** ({pct(by_spread / len(groups))}); {interval_words}.")
    lines.append("Twins have no winner: every winner named is a false alarm. The spread describes how the rounds "
                 "scatter and does not narrow with more rounds; the interval says where the median can be, narrows "
                 "as rounds accumulate, and over many comparisons names a false winner at most 5 % of the time, "
                 "whatever the round count"
                 + (" — here it named more than chance allows: the rounds were probably not independent (a busy "
                    "machine whose load came and went); run it again." if failed else "."))
    return Verdict("interval failed" if failed else "interval holds", "\n".join(lines), numbers)


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
        text += (f" {plural(above, 'layer')} ran above their roof: the roof's bandwidth is main memory's, and "
                 f"their data probably stayed in the {where} between runs.")
    return Verdict(outcome, text, {"factor": factor, "above_roof": above})


def roofline_peaks(peaks: Mapping) -> Verdict:
    """``machine.machine_peaks``'s two limits and the ridge point between them, each with what was timed (the matmul
    size, the copy size beside the cache it must overflow), so that a reader can tell a probe too small for the
    device from a slow device."""
    ridge = peaks["peak_gflops"] / peaks["bandwidth_gbs"]
    matmul = (f" (the fastest n×n matmul, n = {peaks['matrix_size']:,})" if peaks.get("matrix_size") else "")
    cache = peaks.get("cache_megabytes")
    copy = ""
    if peaks.get("copy_megabytes"):
        copy = (f" (a {peaks['copy_megabytes']:,} MB copy"
                + (f", {num(peaks['copy_megabytes'] / cache)}× the {num(cache)} MB last-level cache)" if cache else
                   "; the cache size is not known here)"))
    text = (f"Peak ≈ **{peaks['peak_gflops']:.0f} GFLOP/s**{matmul}, bandwidth ≈ **{peaks['bandwidth_gbs']:.1f} "
            f"GB/s**{copy} → ridge point at **{ridge:.1f} FLOP/byte**.")
    return Verdict("measured", text, {"ridge": ridge})


ROOF_WORDS = {"memory": "memory-bound (left of the ridge)", "compute": "compute-bound (right of the ridge)",
              "mixed": "partly memory-bound"}
ROOFLINE_SLOWER, ROOFLINE_AS, ROOFLINE_FASTER = ("slower than the roofline", "as the roofline predicts",
                                                 "faster than the roofline")


def roofline_explains(frame: pd.DataFrame, name: str, predicted: pd.DataFrame,
                      paper: Mapping[str, float] | None = None, *, here: str | None = None) -> Verdict:
    """Does a roofline explain ``name``'s time against the frame's first row? ``predicted`` is
    ``profiling.roofline_speeds`` over the same candidates, with this machine's roofline as its first machine
    (``here``) and, optionally, a paper's devices; ``paper`` (device → the speed of ``name`` the paper measured,
    relative to the first row) puts each device's prediction beside its measurement.
    Outcome, decided on the 95 % interval of the measured time ratio against the predicted one: **slower than the
    roofline** (the rest is the kernel reaching less of its roof), **as the roofline predicts**, **faster than the
    roofline** (probably caches: the roof's bandwidth is main memory's), or too few rounds to decide."""
    base = frame.index[0]
    machines = [column for column in predicted.columns if column != "FLOP per byte"]
    here = here or machines[0]
    ridge, bound, ms = predicted.attrs["ridge"], predicted.attrs["bound"], predicted.attrs["ms"]
    moved = predicted.attrs["bytes"]

    def placed(machine: str) -> str:
        a, b = bound[machine][name], bound[machine][base]
        return f"both {ROOF_WORDS[a]}" if a == b else f"{name} {ROOF_WORDS[a]}, {base} {ROOF_WORDS[b]}"

    r = paired(frame, name)
    expected = 1 / float(predicted.loc[name, here])  # the roofline's time ratio
    where = r.vs(expected).where
    outcome = {ABOVE: ROOFLINE_SLOWER, INSIDE: ROOFLINE_AS, BELOW: ROOFLINE_FASTER}.get(where, TOO_FEW)
    efficiency = {n: ms[here][n] / float(frame.loc[n, "median_ms"]) for n in (base, name)}
    text = (f"**{here}** (ridge {num(ridge[here])} FLOP/byte): {base} does {num(predicted.loc[base, 'FLOP per byte'])} "
            f"FLOP per byte moved, {name} {num(predicted.loc[name, 'FLOP per byte'])} (it moves "
            f"{times(moved[name] / moved[base])} the bytes) — {placed(here)}. The roofline predicts {name} at "
            f"{times(expected)} the time of {base}; it took {times(r.value)} ({interval(r, rounds(frame))}): "
            f"**{outcome}**")
    if outcome == ROOFLINE_SLOWER:
        both_compute = bound[here][name] == bound[here][base] == "compute"
        text += (" — " + ("both are compute-bound here, so the extra traffic cannot explain the slow-down; "
                          if both_compute else f"the roofline accounts for {times(expected)} of it; ")
                 + f"the rest is {name}'s kernel reaching less of its roof: it ran at {pct(efficiency[name])} of the "
                 f"roofline's speed, {base} at {pct(efficiency[base])} (the library's code for this operator — the "
                 "essay's software factor, probably).")
    elif outcome == ROOFLINE_FASTER:
        text += (" — probably caches: the roof's bandwidth is main memory's, and these feature maps may stay in cache "
                 "from one layer to the next.")
    elif outcome == ROOFLINE_AS:
        text += ": the MACs and, where memory-bound, the traffic explain the time."
    else:
        text += "."
    lines = [text]
    shown = {device: float(predicted.loc[name, device]) for device in (paper or {}) if device in machines}
    for device, speed_predicted in shown.items():
        lines.append(f"- The paper's **{device}** (ridge {num(ridge[device])} FLOP/byte, from its vendor's figures): "
                     f"{placed(device)}; the roofline predicts {name} at **{pct(speed_predicted)}** of {base}'s speed "
                     f"— the paper measured **{pct(paper[device])}**.")
    if len(shown) >= 2:
        devices = sorted(shown, key=shown.get)
        low, high = devices[0], devices[-1]
        measured_low = min(shown, key=lambda d: paper[d])
        left = {d: pct(paper[d] / shown[d]) for d in shown}
        if abs(math.log(shown[high] / shown[low])) <= PAPER_NEAR:
            lines.append("The roofline predicts about the same loss on the paper's devices: it does not explain why "
                         "they differ — their kernels probably do.")
        elif low == measured_low:
            crosses = bound[low][name] != bound[low][base]
            why = f"{name}'s extra traffic " + ("moves it left of that device's ridge" if crosses else
                                                "costs time there")
            lines.append(f"The roofline alone predicts the **{low}** to lose more, as the paper measured: {why}, and "
                         f"much less on the {high}. What lies below each prediction is the kernels' part ("
                         + ", ".join(f"{d}: {left[d]} of the predicted speed" for d in shown)
                         + ") — probably the libraries, the essay's software factor.")
        else:
            lines.append(f"The roofline predicts the **{low}** to lose more, the paper measured the {measured_low}: "
                         "the roofline does not explain the paper's devices here.")
    return Verdict(outcome, "\n".join(lines), {"expected": expected, "ratio": r.value, "range": r,
                                               "efficiency": efficiency, "paper_predicted": shown})


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
    kept = ", ".join(sorted(set(library))) or "none"
    text = (f"The compiler kept **{plural(len(library), 'library call')}** ({kept}) and "
            f"generated **{plural(len(generated), 'kernel')}**, each one pass over memory: "
            + "; ".join(" + ".join(f) for f in fused) + ". Operators named together in one kernel are fused: their "
            "feature map is read and written once instead of once per operator.")
    return Verdict("fused" if any(len(f) > 1 for f in fused) else "not fused", text,
                   {"generated": generated, "library": library})


def compiled(frame: pd.DataFrame | None, reason: str = "", name: str = "compiled") -> Verdict:
    """``transforms.compile_comparison``'s answer in one verdict: the compiled model's ``speed`` against eager and
    what the compiler fused (``fusion``) — or, where nothing was compiled (``frame`` is None), **skipped** and why,
    with no fusion sentence (there is no generated code to read)."""
    if frame is None:
        return Verdict("skipped", f"**Skipped:** nothing was compiled ({reason or 'no reason given'}), so there is no "
                       "timing and no generated code to read.", {"reason": reason})
    timed, fused = speed(frame, name), fusion(frame.attrs.get("kernels", {}))
    return Verdict(timed.outcome, f"{timed.text}\n\n{fused.text}", {**timed.numbers, "fusion": fused.outcome})


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


def flops(table: pd.DataFrame, paper: Mapping[str, float], paper_device_name: str) -> Verdict:
    """FasterNet's point, "latency = FLOPs / FLOPS": the operators of ``profiling.throughput(frame)`` ranked by the
    GMAC/s they achieved here (each with its 95 % interval), how far apart the fastest and slowest rate are, and
    whether the order is the paper's on ``paper_device_name`` (``paper``: GMAC/s per operator)."""
    here = {name: Range(row["gmacs"], row["gmacs_lo"], row["gmacs_hi"]) for name, row in table.iterrows()}
    ordered = sorted(here, key=lambda name: -here[name].value)
    top, bottom = ordered[0], ordered[-1]
    rates = "; ".join(f"{name} **{num(here[name].value)}** GMAC/s ({num(here[name].lo)}–{num(here[name].hi)})"
                      for name in ordered)
    change = ranking_change({n: Range(v, v, v) for n, v in paper.items() if n in here}, here,
                            what="order by GMAC/s (highest first)", better="higher",
                            labels=(f"on the paper's {paper_device_name}", "here"))
    text = (f"Achieved here (95 % intervals): {rates}. **{top}** ran {num(here[top].value / here[bottom].value)}× "
            f"the multiply-adds per second of **{bottom}**: a MAC of {bottom} costs that much more time. "
            + change.text)
    return Verdict(f"{top} fastest per MAC, {bottom} slowest", text,
                   {"rates": here, "order": ordered, "against the paper": change.outcome})


def large_kernels(frame: pd.DataFrame, kernel_sizes: Sequence[int], layouts: Sequence[str]) -> Verdict:
    """RepLKNet's Table 1 on this machine, from a frame whose rows are named "k=K, <layout>": per layout, each kernel
    size's time against k = 3's (paired, with its 95 % interval) beside its MACs (k²/9); a **cliff** where one step
    of k costs clearly more than ``CLIFF``× its MACs' growth — another implementation took over. Outcome **cliff in
    <layout>** for the first layout that has one, else **no cliff**."""
    lines, cliffs = [], []
    for layout in layouts:
        base = f"k={kernel_sizes[0]}, {layout}"
        steps = []
        for k in kernel_sizes[1:]:
            r = paired(frame, f"k={k}, {layout}", base)
            steps.append(f"k={k} {times(r.value)} ({ratio_range(r)}) for MACs ×{num(k * k / kernel_sizes[0] ** 2)}")
        lines.append(f"- **{layout}**, against k={kernel_sizes[0]}: " + "; ".join(steps) + ".")
        for small, large in zip(kernel_sizes, kernel_sizes[1:]):
            step = paired(frame, f"k={large}, {layout}", f"k={small}, {layout}")
            if step.vs(CLIFF * large * large / (small * small)).where == ABOVE:
                cliffs.append((layout, small, large, step))
    if cliffs:
        layout, small, large, step = cliffs[0]
        lines.append(f"A **cliff in {layout}**: from k={small} to k={large} the time grew {times(step.value)} "
                     f"({ratio_range(step)}) for {times(large * large / (small * small))} the MACs — more than "
                     f"{num(CLIFF)}× what the arithmetic grew: the library probably switched to another, slower "
                     "implementation there (the next cell asks it).")
        return Verdict(f"cliff in {layout}", "\n".join(lines), {"cliffs": cliffs})
    lines.append(f"**No cliff**: no step of k cost more than {num(CLIFF)}× its MACs' growth.")
    return Verdict("no cliff", "\n".join(lines), {"cliffs": []})


def kernel_names(kernels: Mapping[int, Mapping[str, str]]) -> Verdict:
    """Which implementation the library reported per kernel size and layout (``machine.depthwise_kernels``): per
    layout, its names in order of k and where they change. Outcome **layouts differ** when at some kernel size the
    two layouts ran different implementations — the memory layout decided which one ran; **one implementation**
    when nothing changed; **not reported** when the library named nothing (another library, another device)."""
    sizes = sorted(kernels)
    layouts = list(dict.fromkeys(layout for k in sizes for layout in kernels[k]))
    if not any(kernels[k].get(layout) for k in sizes for layout in layouts):
        return Verdict("not reported", "The library reported no implementation names here (not oneDNN, or not the "
                       "CPU): this table cannot say which kernel ran.", {"switches": {}})
    lines, switches = [], {}
    for layout in layouts:
        runs: list[list] = []  # [name, first k, last k]
        for k in sizes:
            name = kernels[k].get(layout) or "not reported"
            if runs and runs[-1][0] == name:
                runs[-1][2] = k
            else:
                runs.append([name, k, k])
        switches[layout] = [(runs[i][2], runs[i + 1][1]) for i in range(len(runs) - 1)]
        spans = [f"`{name}` " + (f"at k={first}" if first == last else f"for k={first}–{last}")
                 for name, first, last in runs]
        lines.append(f"- **{layout}**: " + ("; ".join(spans) if len(runs) > 1 else f"`{runs[0][0]}` at every k"))
    differ = [k for k in sizes if len({kernels[k].get(layout, "") for layout in layouts}) > 1]
    if differ:
        def kind(name: str) -> str:
            return "depthwise" if "dw" in name else "unrolled" if "gemm" in name else name or "not reported"
        other_kind = [k for k in differ if len({kind(kernels[k].get(layout, "")) for layout in layouts}) > 1]
        same_kind = [k for k in differ if k not in other_kind]
        if same_kind:
            lines.append(f"At k={', '.join(map(str, same_kind))} the layouts ran different kernels of the same kind.")
        if other_kind:
            lines.append(f"At k={', '.join(map(str, other_kind))} they ran **different kinds of implementation** — "
                         "a depthwise kernel (`dw`) in one layout, every window unrolled into a matrix (`gemm`, "
                         "im2col) in the other: here the memory layout decided how the work was done.")
        return Verdict("layouts differ", "\n".join(lines), {"switches": switches, "differ": differ,
                                                            "other_kind": other_kind})
    if any(switches.values()):
        lines.append("Both layouts ran the same implementation at every kernel size: the kernel size, not the "
                     "layout, decided which one ran.")
        return Verdict("same in both layouts", "\n".join(lines), {"switches": switches, "differ": []})
    lines.append("**One implementation** at every kernel size and in both layouts: a jump in time here is not a "
                 "change of kernel.")
    return Verdict("one implementation", "\n".join(lines), {"switches": switches, "differ": []})


PRINCIPLES = {  # the essay's design ideas (2018) and what the papers since then made of them (lesson 11)
    "measure speed, not MACs": ("FLOPs are an indirect proxy: measure on the target (Sec. 1)",
                                "the papers now say it: RepVGG's 'golden standard', FasterNet's FLOPS, MobileNetV4's "
                                "roofline"),
    "depthwise separable convs": ("few MACs (Sec. 2)", "the low-FLOPS operator (FasterNet); still everywhere"),
    "avoid many branches (G3)": ("fragmentation costs parallelism (Sec. 2)",
                                 "kept at inference, used at training: re-parameterization (RepVGG, MobileOne)"),
    "large kernels early": ("large kernels where the map is large (FaceBoxes' RDCL)",
                            "large depthwise kernels everywhere (ConvNeXt 7×7, RepLKNet 31×31) — if the library has "
                            "the kernel"),
    "the software decides": ("speed depends on the implementation (Sec. 1)",
                             "memory format, compilers and allocators move latency too "
                             "(lessons 00, 05, 07 and §5 here)"),
}


def principles(measured: Mapping[str, tuple[str, Verdict]],
               scorecard_outcomes: Mapping[str, str] | None = None) -> Verdict:
    """The essay's principles, what changed since, and what this machine said: one row per principle of
    ``PRINCIPLES`` with what the lesson measured for it (``measured``: principle → (the measurement in words, its
    verdict)) — and the class scorecard's outcomes beside them where a card was given."""
    rows = ["| principle | the essay, 2018 | since then | this machine |", "|---|---|---|---|"]
    for key, (essay, since) in PRINCIPLES.items():
        what, here = measured.get(key, ("", None))
        rows.append(f"| {key} | {essay} | {since} | "
                    + (f"{what}: **{here.outcome}** |" if here is not None else "not measured here |"))
    text = "\n".join(rows)
    if scorecard_outcomes:
        text += "\n\nYour class scorecard on this machine: " + "; ".join(
            f"{title}: **{outcome}**" for title, outcome in scorecard_outcomes.items()) + "."
    return Verdict("table", text, {key: v.outcome for key, (_, v) in measured.items()})


def smallest_good_rank(accuracy_by_rank: Mapping[int, float], full_accuracy: float, n_test: int) -> Verdict:
    """The smallest rank from which *every* larger rank stays within the accuracy noise (the half-width of the
    95 % interval) of the full layer."""
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
                   f"(the 95 % interval on {n_test} test digits) of the full layer's {pct(full_accuracy, decimals=1)}: "
                   f"{pct(accuracy_by_rank[good], decimals=1)} at rank {good}. (For two models on the *same* test "
                   "digits, McNemar's test on the digits they disagree on is sharper.)", {"rank": good, "noise": noise})


def predictor(errors: Sequence[float], plain_errors: Sequence[float], timing_noise: float) -> Verdict:
    """A latency predictor's held-out errors (predicted / measured − 1), calibrated and plain, against the goal
    (``PREDICTOR_GOAL`` of networks within ±``PREDICTOR_BAND``), decided on the 95 % interval of that proportion
    over so few networks; beside the machine's own timing noise."""
    hits = sum(abs(e) <= PREDICTOR_BAND for e in errors)
    within = stats.proportion_interval(hits, len(errors))
    within_plain = sum(abs(e) <= PREDICTOR_BAND for e in plain_errors) / len(plain_errors)
    bias = statistics.median(plain_errors)
    spread = statistics.median(abs(e - statistics.median(errors)) for e in errors)
    where = within.vs(PREDICTOR_GOAL).where
    outcome = {ABOVE: "goal met", BELOW: "goal not met"}.get(where, "cannot tell")
    if bias < 0:
        why = (f"the plain sum **under-predicts** (median {pct(-bias, True)} low): probably because a block timed "
               "alone keeps its data in the caches, while inside a network the previous block has just pushed it "
               "out, and the network's own calls and hand-offs add time no entry contains")
    else:
        why = (f"the plain sum **over-predicts** (median {pct(bias, True)} high): probably because the table was "
               "measured when the machine was slower (busier, hotter, on battery — it is saved and reused), or "
               "because blocks timed alone pay call overheads that a running network amortises")
    verdict_words = {"goal met": "**goal met** (the whole interval is above it)",
                     "goal not met": "**goal not met** (the whole interval is below it)",
                     "cannot tell": f"**cannot tell** with {plural(len(errors), 'network')} (the interval holds it)"}
    text = (f"Plain sum: {pct(within_plain)} of the held-out networks within ±{pct(PREDICTOR_BAND)}; calibrated: "
            f"**{hits} of {len(errors)}** ({pct(within.value)}, 95 % interval {pct_range(within)}) — the goal is "
            f"{pct(PREDICTOR_GOAL)}: {verdict_words[outcome]}. Here {why}. After calibration the errors scatter by a "
            f"median {pct(spread)}, against a timing noise of {pct(timing_noise)} (the same statistic of two "
            "measurements of the same networks).")
    return Verdict(outcome, text, {"within": within.value, "within_range": within, "within_plain": within_plain,
                                   "bias": bias, "spread": spread})


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


# --- lesson 09: a small search, judged fairly ---------------------------------------------------------------

def reward_noise(accuracies: Sequence[float], n_validation: int, *, name: str = "the network",
                 w: float = -0.07) -> Verdict:
    """One network's proxy accuracy under several training seeds (``nas.TrainingProxy.reseeded``): how far its
    reward moves with the luck of one training run — half the range, as a fraction of the median (the reward is the
    accuracy times a latency factor, so it moves by the same fraction) — and the latency factor the soft reward
    (weight ``w``) trades for that much, (1 + noise)^(1/|w|). Beside it, the binomial noise of ``n_validation``
    validation images, which re-training does not show (the images stay the same)."""
    if len(accuracies) < 2:
        raise ValueError(f"accuracies must hold at least 2 training runs, got {len(accuracies)}")
    if not w < 0:
        raise ValueError(f"w must be negative (slower costs reward), got {w!r}")
    lo, hi, middle = min(accuracies), max(accuracies), statistics.median(accuracies)
    noise = (hi - lo) / 2 / middle if middle > 0 else math.inf
    latency_factor = (1 + noise) ** (1 / abs(w))
    split = accuracy_noise(middle, n_validation)
    text = (f"**{name}**, trained with {plural(len(accuracies), 'seed')}: proxy accuracy "
            f"{pct(lo, decimals=1)}–{pct(hi, decimals=1)} on the validation split, so its reward moves by "
            f"**±{pct(noise)}** from the luck of one training run. Under w = {num(w)} that much reward is what a "
            f"**{num(latency_factor)}×** latency difference is worth: reward gaps smaller than ±{pct(noise)} do not "
            f"tell two networks apart. (The {n_validation} validation images add about ±{split * 100:.1f} points of "
            "their own, a 95 % interval: re-training cannot show that part.)")
    return Verdict("measured", text, {"noise": noise, "latency_factor": latency_factor, "low": lo, "high": hi,
                                      "split_noise": split})


SEARCH_AHEAD, RANDOM_AHEAD = "evolution ahead", "random search ahead"
SEARCH_SAME, SEARCH_TIE = "no clear difference", "the same within the reward's noise"
SEARCH_TOO_FEW = "too few seeds to decide"


def search_comparison(evolution: Sequence[float], random_search: Sequence[float], *, noise: float | None = None,
                      evaluations: int | None = None) -> Verdict:
    """Regularized evolution against random search over paired seeds (``nas.compare_searches``: same start, same
    budget, same proxy): per seed the ratio of the two best rewards, decided by the one rule on the 95 % sign-test
    interval of its median — **evolution ahead** (wholly above ×1), **random search ahead** (wholly below), **the
    same within the reward's noise** (it holds ×1 and lies wholly within ±``noise``, ``reward_noise``'s fraction),
    **no clear difference**, or **too few seeds to decide** (fewer than 6 pairs)."""
    if len(evolution) != len(random_search) or not len(evolution):
        raise ValueError(f"evolution and random_search need one best reward per seed, equally many, got "
                         f"{len(evolution)} and {len(random_search)}")
    ratios = [e / r for e, r in zip(evolution, random_search)]
    r = stats.median_interval(ratios)
    side = r.vs(1.0, noise or 0.0)
    higher = sum(e > s for e, s in zip(evolution, random_search))
    lower = sum(e < s for e, s in zip(evolution, random_search))
    seeds = plural(len(ratios), "paired seed")
    budget = f", {plural(evaluations, 'evaluation')} each" if evaluations else ""
    if side.where == stats.TOO_FEW:
        outcome = SEARCH_TOO_FEW
    elif side.where != INSIDE:
        outcome = SEARCH_AHEAD if side.where == ABOVE else RANDOM_AHEAD
    else:
        outcome = SEARCH_TIE if side.close else SEARCH_SAME
    interval_words = (f"95 % interval {ratio_range(r)}" if r.decidable else
                      f"no 95 % interval: it needs at least {stats.MIN_ROUNDS} paired seeds")
    text = (f"Over **{seeds}** (both searches from the same start{budget}), evolution's best reward was higher in "
            f"{higher}, lower in {lower} and equal in {len(ratios) - higher - lower}; the median ratio evolution / "
            f"random search is {times(r.value)} ({interval_words}): **{outcome}**.")
    if outcome == SEARCH_TOO_FEW:
        text += " However large the gaps look, this many seeds cannot decide which search is better."
    if noise is not None:
        gap = statistics.median(abs(x - 1) for x in ratios)
        text += (f" For scale: the median gap between the two bests is {pct(gap)}, and re-training one network moves "
                 f"its reward by ±{pct(noise)}")
        if side.close:
            text += (" — the whole interval lies within that noise: whichever search is ahead is ahead by less than "
                     "the luck of one training run.")
        elif r.decidable:
            text += " — the interval reaches beyond that noise."
        else:
            text += "."
    return Verdict(outcome, text, {"ratio": r, "higher": higher, "lower": lower, "ratios": ratios,
                                   "within_noise": side.close})


def search_finds(frame: pd.DataFrame, finds: Sequence[str], n_test: int) -> Verdict:
    """The two searches' finds (``nas.PairedSearches.finds``: evolution's first, then random search's), trained
    fully and judged once on the test split neither search selected on: ``accuracy_difference`` and ``speed`` between
    them. One find means both searches found the same network: outcome **same find**."""
    if len(finds) == 1:
        return Verdict("same find", f"Both searches' best over all seeds is the same network (**{finds[0]}**): on the "
                       "test split there is nothing to tell the two searches apart.", {})
    if len(finds) != 2:
        raise ValueError(f"finds must name one or two rows of the frame, got {list(finds)}")
    accuracy = accuracy_difference(frame, finds[0], finds[1], n_test)
    timed = speed(frame, finds[0], finds[1])
    return Verdict(f"{accuracy.outcome}; {timed.outcome}",
                   f"Judged once on the test split, which neither search selected on: {accuracy.text} {timed.text} "
                   "(One network per search, picked by one proxy: a check of this run, not a comparison of the two "
                   "methods — that was the paired seeds'.)",
                   {"accuracy": accuracy, "speed": timed})
