"""Exercise checkers. ``check("00.1", answer)`` compares a student's answer with the value effedu computes
itself (counts, formulas, shapes — never raw milliseconds) and returns a ``CheckResult`` that reads as one
line: ``✓ 00.1 …`` or ``✗ 00.1 …`` with a hint. Reference solutions live in notebook cells tagged
``solution``; a student copy without them leaves ``answer = ...``, which reads as "not answered yet".
"""
from __future__ import annotations

import dataclasses
import math
import statistics
from typing import Any, Callable

from torch import nn

from .counting import count_macs, count_params


@dataclasses.dataclass
class CheckResult:
    exercise: str
    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return f"{'✓' if self.passed else '✗'} {self.exercise}: {self.message}"


_EXERCISES: dict[str, tuple[str, Callable[[Any], CheckResult]]] = {}


def exercise(key: str, question: str):
    """Register a checker under ``key`` (``"lesson.number"``) with the question it answers."""
    def register(checker: Callable[[Any], CheckResult]):
        _EXERCISES[key] = (question, checker)
        return checker
    return register


def question(key: str) -> str:
    _known(key)
    return _EXERCISES[key][0]


def _known(key: str) -> None:
    if key not in _EXERCISES:
        raise ValueError(f"exercise must be one of {sorted(_EXERCISES)}, got {key!r}")


def check(key: str, answer: Any) -> CheckResult:
    """Check ``answer`` for exercise ``key``; never raises on a wrong answer, only on an unknown exercise."""
    _known(key)
    if answer is None or answer is Ellipsis:
        return CheckResult(key, False, "not answered yet — replace ... with your answer and run the cell again")
    return _EXERCISES[key][1](answer)


def _compare(key: str, answer: Any, expected: Any, hint: str, rel: float = 0.0) -> CheckResult:
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        try:
            ok = math.isclose(float(answer), float(expected), rel_tol=rel, abs_tol=0 if rel else 1e-9)
        except (TypeError, ValueError):
            return CheckResult(key, False, f"expected a number, got {answer!r}")
    else:
        ok = answer == expected
    if ok:
        return CheckResult(key, True, f"correct ({expected:,})" if isinstance(expected, int) and
                           not isinstance(expected, bool) else "correct")
    return CheckResult(key, False, f"not quite: you gave {answer!r}. Hint: {hint}")


# --- lesson 00: three goals -----------------------------------------------------------------------------

@exercise("00.1", "MACs of nn.Conv2d(64, 128, kernel_size=3, padding=1) on a (1, 64, 56, 56) input?")
def _conv_macs(answer):
    expected = count_macs(nn.Conv2d(64, 128, kernel_size=3, padding=1), (1, 64, 56, 56))
    return _compare("00.1", answer, expected,
                    "every output element (H_out·W_out·C_out of them) needs C_in·k·k multiply-accumulates")


@exercise("00.2", "Which has more parameters, and which more MACs: nn.Linear(2048, 1000) on a (1, 2048) "
                  "input ('linear') or nn.Conv2d(32, 64, 3, padding=1) on a (1, 32, 112, 112) input ('conv')? "
                  "Answer {'more_params': ..., 'more_macs': ...}")
def _params_vs_macs(answer):
    linear, conv = nn.Linear(2048, 1000), nn.Conv2d(32, 64, 3, padding=1)
    expected = {
        "more_params": "linear" if count_params(linear) > count_params(conv) else "conv",
        "more_macs": "linear" if count_macs(linear, (1, 2048)) > count_macs(conv, (1, 32, 112, 112)) else "conv",
    }
    return _compare("00.2", answer, expected,
                    "a linear layer uses each weight once per input; a conv reuses each weight at every position")


NOISY_SAMPLES_MS = [10.1, 10.3, 9.9, 10.0, 31.0, 10.2, 10.1, 9.8, 10.4, 10.0]  # one block hit a pause


@exercise("00.3", "effedu.check.NOISY_SAMPLES_MS holds ten latency samples, one hit by a pause. "
                  "Answer (mean, median), in ms.")
def _mean_vs_median(answer):
    expected = (statistics.fmean(NOISY_SAMPLES_MS), statistics.median(NOISY_SAMPLES_MS))
    try:
        mean, median = answer
        ok = math.isclose(mean, expected[0], rel_tol=1e-6) and math.isclose(median, expected[1], rel_tol=1e-6)
    except (TypeError, ValueError):
        return CheckResult("00.3", False, f"expected a pair (mean, median), got {answer!r}")
    if ok:
        calm = sorted(NOISY_SAMPLES_MS)[:-1]  # the same samples without the pause
        return CheckResult("00.3", True, f"correct: the one pause moves the mean by "
                                         f"{expected[0] / statistics.fmean(calm) - 1:+.0%}, the median by "
                                         f"{expected[1] / statistics.median(calm) - 1:+.0%}")
    return CheckResult("00.3", False, f"not quite: you gave {answer!r}. Hint: statistics.fmean and "
                                      "statistics.median")
