"""Numbers in sentences, one way everywhere: a ratio decided "faster" never prints as ×1.00, a share never prints
as a negative percentage, a count gets the right plural. Used by the verdicts, plots, explorers and reports."""
from __future__ import annotations

import math

from .stats import ABOVE, BELOW, MIN_ROUNDS, Range


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
    if not math.isfinite(fraction):
        return "n/a"
    value = max(fraction, 0.0) * 100
    if decimals is not None:
        return f"{value:.{decimals}f} %"
    decimals = 0 if value >= 10 else 1 if value >= 1 else 2
    while positive and value > 0 and float(f"{value:.{decimals}f}") == 0 and decimals < 6:
        decimals += 1
    text = f"{value:.{decimals}f}"
    return f"{text.rstrip('0').rstrip('.') if '.' in text else text} %"


def plural(count: int, word: str, many: str | None = None) -> str:
    """'1 thread', '2 threads', '1 BatchNorm layer', '3 BatchNorm layers'."""
    return f"{count} {word if count == 1 else many or word + 's'}"


def ratio_range(r: Range) -> str:
    """A time ratio's 95 % interval: '×0.98–0.9996' — an interval wholly below (or above) 1 never prints an end as
    1 — or 'none yet' when there were too few rounds for one."""
    if not r.decidable:
        return f"none: fewer than {MIN_ROUNDS} rounds"
    side = r.vs(1.0).where
    return f"×{num(r.lo, 'above' if side == ABOVE else None)}–{num(r.hi, 'below' if side == BELOW else None)}"


def pct_range(r: Range) -> str:
    """A share's 95 % interval: '18 %–22 %' (or 'none' when there were too few runs for one)."""
    return f"{pct(r.lo)}–{pct(r.hi)}" if r.decidable else f"none: fewer than {MIN_ROUNDS} runs"


def interval(r: Range, rounds: int | None = None) -> str:
    """'95 % interval ×0.88–0.93 over 20 rounds' — the words every time-ratio verdict quotes."""
    over = f" over {plural(rounds, 'round')}" if rounds else ""
    if not r.decidable:
        return f"no 95 % interval{over}: it needs at least {MIN_ROUNDS} rounds"
    return f"95 % interval {ratio_range(r)}{over}"
