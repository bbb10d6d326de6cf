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

from . import nas, verdict
from .blocks import (RDCL, Bottleneck, ChannelShuffle, ConvBNAct, DepthwiseSeparable, LowRankConv, PartialConv,
                     RepVGGBlock, ResNeXtUnit)
from .counting import count_macs, count_params, memory_traffic, record_ops
from .guidelines import g3_fragment_stack
from .models import TinyNet
from .profiling import count_by_kind
from .structure import connectivity, receptive_field


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


def _marked(passed: bool, message: str) -> CheckResult:
    """A checker's mark; ``check`` stamps the exercise's key on it, so each key is written once, in ``@exercise``."""
    return CheckResult("", passed, message)


def numeric(key: str, question: str, *, hint: str, rel: float = 0.0):
    """Register a compute-and-compare exercise: the decorated function computes the expected value (with effedu's
    own counters), and the answer must equal it (within ``rel``); a wrong answer gets ``hint``."""
    def register(expected: Callable[[], Any]):
        exercise(key, question)(lambda answer: _compare(answer, expected(), hint, rel=rel))
        return expected
    return register


def question(key: str) -> str:
    _known(key)
    return _EXERCISES[key][0]


def _known(key: str) -> None:
    if key not in _EXERCISES:
        raise ValueError(f"exercise must be one of {sorted(_EXERCISES)}, got {key!r}")


def check(key: str, answer: Any, **context: Any) -> CheckResult:
    """Check ``answer`` for exercise ``key``; never raises on a wrong answer, only on an unknown exercise.
    ``context`` passes what an exercise about *this* machine needs (e.g. ``ridge=…`` from its roofline)."""
    _known(key)
    if _unanswered(answer):
        return CheckResult(key, False, "not answered yet — replace ... with your answer and run the cell again")
    return dataclasses.replace(_EXERCISES[key][1](answer, **context), exercise=key)


def _unanswered(answer: Any) -> bool:
    """``...``, ``None``, or a dict / list / tuple whose entries are all still ``...``."""
    if answer is None or answer is Ellipsis:
        return True
    if isinstance(answer, dict):
        return bool(answer) and all(_unanswered(value) for value in answer.values())
    if isinstance(answer, (list, tuple)):
        return bool(answer) and all(_unanswered(value) for value in answer)
    return False


def _compare(answer: Any, expected: Any, hint: str, rel: float = 0.0) -> CheckResult:
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        try:
            ok = math.isclose(float(answer), float(expected), rel_tol=rel, abs_tol=0 if rel else 1e-9)
        except (TypeError, ValueError):
            return _marked(False, f"expected a number, got {answer!r}")
    else:
        ok = answer == expected
    if ok:
        return _marked(True, f"correct ({expected:,})" if isinstance(expected, int) and
                           not isinstance(expected, bool) else "correct")
    return _marked(False, f"not quite: you gave {answer!r}. Hint: {hint}")


# --- lesson 00: three goals -----------------------------------------------------------------------------

@numeric("00.1", "In how many multiply-accumulates does each weight of nn.Conv2d(64, 128, kernel_size=3, padding=1, "
                 "bias=False) take part on a (1, 64, 56, 56) input (its MACs ÷ its parameters)?",
         hint="MACs = H_out·W_out·C_out·C_in·k², weights = C_out·C_in·k²: divide, and most of it cancels")
def _macs_per_weight():
    conv, shape = nn.Conv2d(64, 128, kernel_size=3, padding=1, bias=False), (1, 64, 56, 56)
    return count_macs(conv, shape) // count_params(conv)  # exact: every weight meets every output position


@exercise("00.2", "Which has more parameters, and which more MACs: nn.Linear(2048, 1000) on a (1, 2048) "
                  "input ('linear') or nn.Conv2d(32, 64, 3, padding=1) on a (1, 32, 112, 112) input ('conv')? "
                  "Answer {'more_params': ..., 'more_macs': ...}")
def _params_vs_macs(answer):
    linear, conv = nn.Linear(2048, 1000), nn.Conv2d(32, 64, 3, padding=1)
    expected = {
        "more_params": "linear" if count_params(linear) > count_params(conv) else "conv",
        "more_macs": "linear" if count_macs(linear, (1, 2048)) > count_macs(conv, (1, 32, 112, 112)) else "conv",
    }
    if isinstance(answer, dict):
        answer = {key: value.strip().lower() if isinstance(value, str) else value for key, value in answer.items()}
    if not isinstance(answer, dict) or set(answer) != set(expected):
        return _marked(False, "expected a dict {'more_params': 'linear' or 'conv', "
                              f"'more_macs': 'linear' or 'conv'}}, got {answer!r}")
    return _compare(answer, expected,
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
        return _marked(False, f"expected a pair (mean, median), got {answer!r}")
    if ok:
        calm = sorted(NOISY_SAMPLES_MS)[:-1]  # the same samples without the pause
        return _marked(True, f"correct: the one pause moves the mean by "
                             f"{expected[0] / statistics.fmean(calm) - 1:+.0%}, the median by "
                             f"{expected[1] / statistics.median(calm) - 1:+.0%}")
    return _marked(False, f"not quite: you gave {answer!r}. Hint: statistics.fmean and "
                          "statistics.median")


# --- lesson 01: depthwise separable convolutions --------------------------------------------------------

@numeric("01.1", "MAC ratio of a 5×5 depthwise separable conv (dw 5×5 + 1×1, 256 → 256 channels) to a standard "
                 "5×5 conv 256 → 256, at any resolution?",
         hint="MobileNetV1 Eq. 5: 1/N + 1/k²", rel=5e-3)
def _separable_ratio():
    shape = (1, 256, 14, 14)
    expected = (count_macs(DepthwiseSeparable(256, 256, kernel_size=5), shape)
                / count_macs(ConvBNAct(256, 256, 5), shape))
    return expected


@numeric("01.2", "The smallest number of output channels N for which the pointwise 1×1 conv of "
                 "effedu.blocks.DepthwiseSeparable(32, N) (3×3, stride 1) does at least 90 % of the block's MACs?",
         hint="per position the depthwise conv does M·9 MACs and the pointwise one M·N: solve N/(N + 9) ≥ 0.9")
def _pointwise_dominates():
    def pointwise_share_at_least_90(n: int) -> bool:
        shares = count_by_kind(DepthwiseSeparable(32, n), (1, 32, 7, 7))["macs"]
        return 10 * shares["pointwise 1×1"] >= 9 * shares.sum()  # integers: no rounding at exactly 90 %

    fewest, most = 1, 1024  # the share grows with N: bisect for the first N that reaches 90 %
    while fewest < most:
        middle = (fewest + most) // 2
        fewest, most = (fewest, middle) if pointwise_share_at_least_90(middle) else (middle + 1, most)
    return fewest


@numeric("01.3", "Arithmetic intensity (FLOPs per byte moved, FLOPs = 2·MACs) of a bias-free 1×1 conv 128 → 128 "
                 "on a (1, 128, 56, 56) float32 input?",
         hint="bytes = 4·(hw·(c1 + c2) + c1·c2)", rel=5e-3)
def _pointwise_intensity():
    conv, shape = nn.Conv2d(128, 128, 1, bias=False), (1, 128, 56, 56)
    return 2 * count_macs(conv, shape) / memory_traffic(conv, shape)


@exercise("01.4", "Is that 1×1 conv's arithmetic intensity above or below this machine's ridge point? Answer "
                  "'above' or 'below' (pass ridge=… from the roofline cell).")
def _above_ridge(answer, ridge: float | None = None):
    if ridge is None:
        return _marked(False, "pass this machine's ridge point: check('01.4', answer, ridge=ridge)")
    conv, shape = nn.Conv2d(128, 128, 1, bias=False), (1, 128, 56, 56)
    intensity = 2 * count_macs(conv, shape) / memory_traffic(conv, shape)
    expected = "above" if intensity > ridge else "below"
    return _compare(str(answer).strip().lower(), expected,
                    f"compare its intensity ({intensity:.1f} FLOP/byte) with the ridge point ({ridge:.1f})")


# --- lesson 02: low-rank filters --------------------------------------------------------------------------

@numeric("02.1", "MAC ratio of three stacked 3×3 convs (64 → 64 → 64 → 64) to one 7×7 conv 64 → 64?",
         hint="count the k² terms: 3² + 3² + 3² against 7²", rel=5e-3)
def _three_threes():
    shape = (1, 64, 20, 20)
    three = nn.Sequential(*[nn.Conv2d(64, 64, 3, padding=1) for _ in range(3)])
    return count_macs(three, shape) / count_macs(nn.Conv2d(64, 64, 7, padding=3), shape)


@numeric("02.2", "MACs of effedu.blocks.LowRankConv(64, 64, kernel_size=3, rank=16) on a (1, 64, 28, 28) input?",
         hint="H·W·r·(C_in·k² + C_out)")
def _low_rank_macs():
    return count_macs(LowRankConv(64, 64, kernel_size=3, rank=16), (1, 64, 28, 28))


@numeric("02.3", "The largest rank r for which a rank-r LowRankConv still has fewer MACs than the full 3×3 conv "
                 "64 → 64?",
         hint="solve r·(C_in·k² + C_out) < C_out·C_in·k² for r")
def _break_even_rank():
    shape = (1, 64, 8, 8)
    full = count_macs(nn.Conv2d(64, 64, 3, padding=1, bias=False), shape)
    return max(r for r in range(1, 65) if count_macs(LowRankConv(64, 64, rank=r), shape) < full)


# --- lesson 03: pointwise group convolution and channel shuffle -------------------------------------------

@numeric("03.1", "MACs of a 1×1 conv 384 → 384 in 8 groups on a (1, 384, 14, 14) input?",
         hint="H·W·C_in·C_out / g")
def _group_macs():
    return count_macs(nn.Conv2d(384, 384, 1, groups=8, bias=False), (1, 384, 14, 14))


@numeric("03.2", "Two 1×1 convs 24 → 24 in 4 groups: from how many input channels can one output channel draw, "
                 "without and with a channel shuffle between them? Answer {'without': ..., 'with': ...}",
         hint="follow one output back through its group, then through the shuffle")
def _reach():
    def stack(shuffle):
        return nn.Sequential(nn.Conv2d(24, 24, 1, groups=4, bias=False),
                             ChannelShuffle(4) if shuffle else nn.Identity(),
                             nn.Conv2d(24, 24, 1, groups=4, bias=False))

    expected = {"without": int(connectivity(stack(False), 24)[0].sum()),
                "with": int(connectivity(stack(True), 24)[0].sum())}
    return expected


@numeric("03.3", "Bytes of memory traffic of effedu.blocks.ChannelShuffle(2) on a (1, 116, 28, 28) float32 input "
                 "(a ShuffleNetV2 stage)?",
         hint="the views are free; the final reshape reads and writes the whole tensor once")
def _shuffle_bytes():
    return memory_traffic(ChannelShuffle(2), (1, 116, 28, 28))


# --- lesson 04: too many groups, too many branches --------------------------------------------------------

@numeric("04.1", "G2 at g = 16 keeps the MACs of a 128-channel conv with c = 128·√16 = 512 channels. Memory "
                 "traffic in elements (not bytes) of one such 1×1 group conv 512 → 512, g = 16, bias-free, on a "
                 "(1, 512, 56, 56) input?",
         hint="h·w·2c + c²/g: input, output, weights")
def _g2_traffic():
    bytes_ = memory_traffic(nn.Conv2d(512, 512, 1, groups=16, bias=False), (1, 512, 56, 56))
    return bytes_ // 4


@numeric("04.2", "effedu.guidelines.g3_fragment_stack(4, parallel=False, channels=256) keeps G3's MACs equal to one "
                 "256×256 1×1 conv. How many channels does each of its four series convs have?",
         hint="four c×c convs must cost one 256×256 conv: 4c² = 256², so c = 256/√4, rounded to a multiple of 4")
def _g3_width():
    return g3_fragment_stack(4, False, channels=256).in_channels


# --- lesson 05: elementwise operations --------------------------------------------------------------------

@numeric("05.1", "Bytes moved by the shortcut's add in a stride-2 bottleneck, effedu.blocks.Bottleneck(256, 512, "
                 "stride=2), on a (1, 256, 56, 56) float32 input?",
         hint="the add meets the projected shortcut at the output's shape: it reads "
              "two (1, 512, 28, 28) maps and writes one, 4 bytes per element")
def _add_bytes():
    adds = [r.bytes for r in record_ops(Bottleneck(256, 512, 2), (1, 256, 56, 56)) if r.op.startswith("aten.add")]
    return sum(adds)


@numeric("05.2", "Bytes moved by nn.BatchNorm2d(64) in inference on a (1, 64, 56, 56) float32 input?",
         hint="read the map and four 64-long vectors, write the map")
def _batchnorm_bytes():
    return memory_traffic(nn.BatchNorm2d(64), (1, 64, 56, 56))


# --- lesson 06: bottleneck costs --------------------------------------------------------------------------

@numeric("06.1", "What fraction of the MACs of a ResNeXt unit with cardinality 8 (256 → 1×1 128 → 3×3 g=8 128 → 1×1 "
                 "256) are in its two pointwise convs?",
         hint="per position: 2·256·128 against 9·128·128/8", rel=5e-3)
def _resnext_share():
    expected = count_by_kind(ResNeXtUnit(256, 256, cardinality=8), (1, 256, 14, 14)).loc["pointwise 1×1", "macs_share"]
    return float(expected)


@numeric("06.2", "Elements moved by one bias-free 1×1 conv 74 → 222 on a (1, 74, 28, 28) input (G1 at about 1:3)?",
         hint="hw·(c1 + c2) + c1·c2")
def _g1_elements():
    return memory_traffic(nn.Conv2d(74, 222, 1, bias=False), (1, 74, 28, 28)) // 4


# --- lesson 07: large kernels early -----------------------------------------------------------------------

@numeric("07.1", "Receptive field, in input pixels, of the RDCL followed by the deepest branch of FaceBoxes' first "
                 "Inception module (a 1×1 conv, then two 3×3 convs, all stride 1)?",
         hint="each layer adds (k − 1) × (the product of the strides before it): after the RDCL that is 32")
def _rdcl_field():
    from .blocks import FaceBoxesInception

    return receptive_field(nn.Sequential(RDCL(), FaceBoxesInception(128).branch33))[0]


@numeric("07.2", "MACs of RDCL's first conv (24 filters, 7×7, stride 4, on RGB) at VGA, a (1, 3, 480, 640) input?",
         hint="output 120×160 positions × 24 filters × 3·7·7")
def _rdcl_conv1():
    return count_macs(RDCL().conv1, (1, 3, 480, 640))


# --- lesson 08: the five levels of redesign ---------------------------------------------------------------

LEVEL_1 = [(w, d) for w in (0.5, 0.75, 1.0) for d in (0.5, 1.0)]


@exercise("08.1", "Level 1 under a budget: of the separable TinyNet's settings width_mult ∈ (0.5, 0.75, 1.0) × "
                  "depth_mult ∈ (0.5, 1.0), which has the most MACs while staying under 80,000 on a (1, 1, 16, 16) "
                  "input? Answer (width_mult, depth_mult).")
def _level1_budget(answer):
    macs = {setting: count_macs(TinyNet("separable", width_mult=setting[0], depth_mult=setting[1]), (1, 1, 16, 16))
            for setting in LEVEL_1}
    expected = max((m, s) for s, m in macs.items() if m < 80_000)[1]
    try:
        answer = (float(answer[0]), float(answer[1]))
    except (TypeError, ValueError, IndexError):
        return _marked(False, f"expected a pair (width_mult, depth_mult), got {answer!r}")
    return _compare(answer, expected, "count each setting with effedu.count_macs and keep those under 80,000")


@numeric("08.2", "The separable TinyNet can be made wider for the MACs the plain 3×3 TinyNet spends. The largest "
                 "width_mult of (1, 1.25, 1.5, 2, 2.5, 3) at which it still has fewer MACs than TinyNet('plain 3×3') "
                 "on a (1, 1, 16, 16) input?",
         hint="MACs grow with the square of the width: compare each with the plain "
              "network's count")
def _width_for_budget():
    plain = count_macs(TinyNet("plain 3×3"), (1, 1, 16, 16))
    expected = max(w for w in (1, 1.25, 1.5, 2, 2.5, 3)
                   if count_macs(TinyNet("separable", width_mult=w), (1, 1, 16, 16)) < plain)
    return expected


# --- lesson 09: NAS ---------------------------------------------------------------------------------------

@numeric("09.1", "A random search draws architectures uniformly and independently. How many must it draw to "
                 "include at least one of the best 1 % of the space with 95 % probability?",
         hint="all n draws miss with probability 0.99ⁿ: find the first n with "
              "1 − 0.99ⁿ ≥ 0.95, i.e. n ≥ ln 0.05 / ln 0.99")
def _samples_for_the_top_percent():
    misses = 0.99  # the chance that one draw misses the top 1 %
    return next(n for n in range(1, 10_000) if 1 - misses ** n >= 0.95)


HARD_REWARD_CANDIDATES = {"A": (0.95, 1.4), "B": (0.90, 0.9), "C": (0.97, 2.0)}  # (accuracy, latency ms)


@exercise("09.2", "Three candidates (accuracy, latency): A (0.95, 1.4 ms), B (0.90, 0.9 ms), C (0.97, 2.0 ms). Which "
                  "wins MnasNet's hard reward with target T = 1 ms, and which the soft one (w = −0.07)? Answer "
                  "{'hard': ..., 'soft': ...}")
def _hard_and_soft_winners(answer):
    def winner(hard: bool) -> str:
        return max(HARD_REWARD_CANDIDATES, key=lambda name: nas.reward(*HARD_REWARD_CANDIDATES[name], 1.0, hard=hard))

    expected = {"hard": winner(True), "soft": winner(False)}
    if isinstance(answer, dict):
        answer = {key: value.strip().upper() if isinstance(value, str) else value for key, value in answer.items()}
    if not isinstance(answer, dict) or set(answer) != set(expected):
        return _marked(False, "expected a dict {'hard': 'A', 'B' or 'C', 'soft': 'A', 'B' or "
                              f"'C'}}, got {answer!r}")
    return _compare(answer, expected, "hard: accuracy alone within T, accuracy ÷ (LAT/T) beyond it; soft: "
                                              "accuracy × (LAT/T)^−0.07 on both sides — compute all six")


# --- lesson 10: bring your own network ----------------------------------------------------------------

CAPSTONE_BUDGET = 0.6  # the redesign must run in at most 60 % of the slow network's time (its whole 95 % interval)
CAPSTONE_FLOOR = 0.90  # … at a validation accuracy of at least 90 % and not clearly below the slow network's
CAPSTONE_REFERENCE = "slow (reference)"  # the first row: the slow network, as lesson 10 names it


@exercise("10.1", "Redesign the slow network: at most 60 % of its latency (measured interleaved, the whole 95 % "
                  "interval) at a validation accuracy of at least 90 % and not clearly below the slow network's. "
                  "Answer: the frame of compare_latency with accuracies added by effedu.training.with_accuracy on "
                  "the validation split, the slow network as its first row ('slow (reference)') and yours named "
                  "'my design'.")
def _capstone(answer):
    columns = {"ratio", "ratio_lo", "ratio_hi", "accuracy"}
    if not hasattr(answer, "columns") or not columns <= set(answer.columns) or "my design" not in answer.index:
        return _marked(False, "expected the frame of effedu.compare_latency with accuracies added by "
                              "effedu.training.with_accuracy, a row 'my design' and the columns "
                              f"{sorted(columns)}, got {type(answer).__name__}")
    if answer.index[0] != CAPSTONE_REFERENCE:
        return _marked(False, f"the first row must be the slow network, named {CAPSTONE_REFERENCE!r} "
                              f"(the ratios are to the first row), got {answer.index[0]!r}")
    n, split = answer.attrs.get("accuracy_n"), answer.attrs.get("accuracy_split")
    if not n or split != "validation":
        return _marked(False, "expected accuracies measured on the validation split by "
                              "effedu.training.with_accuracy (the test split is looked at once, at the "
                              f"end), got split {split!r}")
    judged = verdict.budget(answer, "my design", fraction=CAPSTONE_BUDGET)  # the rule lesson 10's verdict uses
    fast = judged.outcome == "within the budget"
    compared = verdict.accuracy_difference(answer, "my design", CAPSTONE_REFERENCE, n)  # the course's accuracy rule
    accurate = answer.loc["my design", "accuracy"] >= CAPSTONE_FLOOR and compared.outcome != "less accurate"
    measured = (f"{judged.text.replace('**', '')} {compared.text.replace('**', '')} "
                f"(floor {CAPSTONE_FLOOR:.0%}, and not clearly less accurate than the slow network).")
    if fast and accurate:
        return _marked(True, measured)
    missing = [part for part, ok in (("clearly within the budget", fast), ("accurate enough", accurate)) if not ok]
    return _marked(False, f"not yet — it must be {' and '.join(missing)}: {measured}")


@numeric("10.2", "Memory traffic in elements of the slow network's first 1×1 conv, 32 → 256, on its (1, 32, 16, 16) "
                 "input, bias-free?",
         hint="hw·(c1 + c2) + c1·c2")
def _slow_g1_elements():
    return memory_traffic(nn.Conv2d(32, 256, 1, bias=False), (1, 32, 16, 16)) // 4


# --- lesson 11: the principles, eight years later --------------------------------------------------------------

@numeric("11.1", "Parameters of the one 3×3 conv (with bias) that RepVGGBlock(64, 64) becomes when re-parameterized?",
         hint="one 3×3 kernel per (output, input) pair, plus one bias per output channel")
def _fused_params():
    return count_params(RepVGGBlock(64, 64).reparameterized())


@numeric("11.2", "MACs of PartialConv(128) (a 3×3 conv on a quarter of the channels) on a (1, 128, 28, 28) input?",
         hint="H·W·k²·(C/4)·(C/4): the untouched channels cost nothing")
def _partial_macs():
    return count_macs(PartialConv(128), (1, 128, 28, 28))


# --- "write it yourself" exercises: the answer is a function, checked on the example the question shows ----------
# (graded versions call it on cases the lesson never shows, with effedu's own version switched off: effedu.grading)

def _function_answer(answer: Any, name: str) -> CheckResult | None:
    """None when ``answer`` is a function to check; else why not (a stub still returns None, or ``...``)."""
    if not callable(answer):
        return _marked(False, f"expected your function {name}, got {answer!r}")
    return None


def _called(function: Callable, *args: Any) -> tuple[Any, CheckResult | None]:
    """Call the student's function; a stub (returns None or ...) reads as not answered, an exception as a hint."""
    try:
        result = function(*args)
    except Exception as err:  # noqa: BLE001 — the student's code: say what went wrong, never raise
        return None, _marked(False, f"your function raised {type(err).__name__}: {err}")
    if _unanswered(result):
        return None, _marked(False, "not answered yet — write the function body and run the cell again")
    return result, None


def _outcome(candidate, baseline) -> str:
    """The course's rule on paired rounds, in the four words of the graded decision tasks."""
    from .stats import ABOVE, BELOW, INSIDE, median_interval, paired_ratios

    side = median_interval(paired_ratios(list(candidate), list(baseline))).vs(1.0).where
    return {BELOW: "faster", ABOVE: "slower", INSIDE: "no clear difference"}.get(side, "too few rounds to decide")


def _formula(name: str, cases: list[tuple], expected: Callable[..., Any], hint: str) -> Callable:
    """A "write the formula" exercise: the student's function must equal effedu's count on each shown case."""
    def checker(answer):
        wrong = _function_answer(answer, name)
        if wrong is not None:
            return wrong
        for case in cases:
            result, wrong = _called(answer, *case)
            if wrong is not None:
                return wrong
            right = expected(*case)
            if not (isinstance(result, (int, float)) and math.isclose(result, right, rel_tol=1e-9)):
                return _marked(False, f"not quite: {name}{case} gave {result!r}. Hint: {hint}")
        return _marked(True, f"correct on {_cases_words(cases)} (graded versions try others)")
    return checker


def _cases_words(cases: list) -> str:
    return "the example" if len(cases) == 1 else f"the {len(cases)} examples"


DECIDE_EXAMPLES = [  # (candidate ms, baseline ms) per round: clearly faster; too few rounds; no clear difference
    ([9.1, 9.0, 9.3, 8.9, 9.2, 9.0, 9.1, 8.8, 9.2, 9.0, 9.1, 8.9], [10.0, 10.1, 10.2, 9.9, 10.0, 10.1, 10.0, 9.8, 10.1,
                                                                 10.0, 10.2, 9.9]),
    ([9.0, 9.1, 8.9, 9.2], [10.0, 10.1, 9.9, 10.2]),
    ([10.1, 9.8, 10.3, 9.9, 10.0, 10.2, 9.7, 10.1], [10.0, 10.0, 10.0, 10.1, 9.9, 10.0, 10.0, 10.0]),
]


@exercise("00.4", "Write decide(candidate_ms, baseline_ms) → 'faster', 'slower', 'no clear difference' or 'too few "
                  "rounds to decide': the course's rule on paired rounds (the sign test's 95 % interval of the "
                  "median per-round ratio). Checked on effedu.check.DECIDE_EXAMPLES.")
def _decide(answer):
    wrong = _function_answer(answer, "decide")
    if wrong is not None:
        return wrong
    for candidate, baseline in DECIDE_EXAMPLES:
        result, wrong = _called(answer, list(candidate), list(baseline))
        if wrong is not None:
            return wrong
        if result != _outcome(candidate, baseline):
            return _marked(False, f"not quite: on {len(candidate)} rounds you said {result!r}. Hint: "
                                  "k = the largest rank with P(Binomial(n, ½) ≤ k − 1) ≤ 0.025 (no k "
                                  "below 6 rounds); the interval is the k-th smallest to the k-th largest "
                                  "ratio")
    return _marked(True, "correct on the three examples (graded versions try other round counts)")


PROTOCOLS_00_5 = {  # two identical networks on a machine that slows as it warms (ms)
    "one after the other": {"A": [5.0798, 5.1112, 5.2252, 5.4684, 5.2932, 5.288, 5.6911, 5.7508, 5.8674, 5.9007],
                            "B": [5.956, 6.0811, 6.2372, 6.4538, 6.2913, 6.4501, 6.3742, 6.5442, 7.02, 6.8791]},
    "interleaved": {"A": [4.9709, 5.3448, 5.3689, 5.7711, 5.6224, 5.9648, 6.3004, 6.154, 6.3843, 6.5862],
                    "B": [5.011, 5.5201, 5.5334, 5.8159, 5.7572, 5.9343, 6.2582, 6.3977, 6.4947, 6.7695]},
}


@exercise("00.5", "effedu.check.PROTOCOLS_00_5 holds two identical networks A and B timed twice on a machine that "
                  "slows down as it warms: all of A then all of B, and interleaved. Which protocol can decide, and "
                  "what does it say about B against A? Answer (protocol, outcome).")
def _protocols(answer):
    expected = ("interleaved", _outcome(PROTOCOLS_00_5["interleaved"]["B"], PROTOCOLS_00_5["interleaved"]["A"]))
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        return _marked(False, f"expected a pair (protocol, outcome), got {answer!r}")
    answer = tuple(str(part).strip().lower() for part in answer)
    return _compare(answer, expected, "drift hits everything timed later: only rounds that alternate A and B "
                                              "share it (§2d); then apply the rule to the interleaved rounds")


@exercise("01.5", "Write separable_macs(h, w, c_in, c_out, k): the MACs of a depthwise k×k conv (stride 1, 'same' "
                  "padding) followed by a 1×1 conv c_in → c_out, on an h×w map. Checked on (14, 14, 32, 64, 3).")
def _separable_formula(answer):
    from torch import nn as torch_nn

    def counted(h, w, c_in, c_out, k):
        return count_macs(torch_nn.Sequential(torch_nn.Conv2d(c_in, c_in, k, padding=k // 2, groups=c_in),
                                              torch_nn.Conv2d(c_in, c_out, 1)), (1, c_in, h, w))
    return _formula("separable_macs", [(14, 14, 32, 64, 3)], counted,
                    "h·w·c_in·k² for the depthwise conv, plus h·w·c_in·c_out for the pointwise one")(answer)


@exercise("02.4", "Write low_rank_macs(h, w, c_in, c_out, k, rank): the MACs of effedu.blocks.LowRankConv (a k×k "
                  "conv c_in → rank, then a 1×1 conv rank → c_out) on an h×w map. Checked on (14, 14, 32, 48, 5, 8).")
def _low_rank_formula(answer):
    return _formula("low_rank_macs", [(14, 14, 32, 48, 5, 8)],
                    lambda h, w, c_in, c_out, k, rank: count_macs(LowRankConv(c_in, c_out, kernel_size=k, rank=rank),
                                                                  (1, c_in, h, w)),
                    "h·w·rank·(c_in·k² + c_out)")(answer)


@exercise("03.4", "Write channel_shuffle(x, groups): x of shape (n, c, h, w) with its channels interleaved across "
                  "the groups (ShuffleNet's shuffle), same shape. Checked on 6 channels in 3 groups.")
def _shuffle_block(answer):
    import torch

    wrong = _function_answer(answer, "channel_shuffle")
    if wrong is not None:
        return wrong
    x = torch.arange(6.0).reshape(1, 6, 1, 1).expand(2, 6, 2, 2).contiguous()
    result, wrong = _called(answer, x, 3)
    if wrong is not None:
        return wrong
    expected = ChannelShuffle(3)(x)
    if isinstance(result, torch.Tensor) and result.shape == expected.shape and torch.equal(result, expected):
        return _marked(True, "correct: channel order 0, 2, 4, 1, 3, 5 — each group's first, then their "
                             "second …")
    return _marked(False, "not quite. Hint: view (n, groups, c/groups, h, w), swap the two channel axes, "
                          "flatten them back")


@exercise("04.3", "Write grouped_conv_traffic(h, w, c_in, c_out, groups): the elements a bias-free 1×1 conv in "
                  "groups reads and writes (input, output, weights) on an h×w map. Checked on (28, 28, 128, 256, 4).")
def _grouped_traffic_formula(answer):
    return _formula("grouped_conv_traffic", [(28, 28, 128, 256, 4)],
                    lambda h, w, c_in, c_out, g: memory_traffic(nn.Conv2d(c_in, c_out, 1, groups=g, bias=False),
                                                                (1, c_in, h, w)) // 4,
                    "h·w·(c_in + c_out) + c_in·c_out / groups")(answer)


FOLD_RECORDED_05_3 = {  # a network and its BatchNorm-folded copy, paired round by round (ms)
    "original": [8.3095, 7.8975, 8.5873, 8.1794, 8.3591, 8.2394, 8.1898, 7.8813, 8.2908, 8.1731, 8.0238, 8.4147,
                 8.3944, 8.1514],
    "BatchNorm folded": [8.0436, 7.2445, 7.9123, 7.5663, 7.7103, 7.6252, 7.6694, 7.6107, 7.8737, 7.7795, 7.1856,
                         7.7488, 7.4842, 7.4546],
}


@exercise("05.3", "effedu.check.FOLD_RECORDED_05_3 holds a recorded comparison of a network and its BatchNorm-folded "
                  "copy. Which claim does it support about the folded copy: 'faster', 'slower', 'no clear "
                  "difference' or 'too few rounds to decide'?")
def _fold_judgement(answer):
    expected = _outcome(FOLD_RECORDED_05_3["BatchNorm folded"], FOLD_RECORDED_05_3["original"])
    return _compare(str(answer).strip().lower(), expected, "per-round ratios folded / original, then the "
                                                                   "95 % interval of their median (lesson 00)")


@exercise("06.3", "Write bottleneck_macs(h, w, c_in, mid, c_out, groups): the MACs of a ResNeXt-style bottleneck — "
                  "1×1 c_in → mid, 3×3 mid → mid in groups (stride 1), 1×1 mid → c_out — on an h×w map. Checked on "
                  "(14, 14, 256, 128, 256, 8).")
def _bottleneck_formula(answer):
    def counted(h, w, c_in, mid, c_out, groups):
        return count_macs(nn.Sequential(nn.Conv2d(c_in, mid, 1, bias=False),
                                        nn.Conv2d(mid, mid, 3, padding=1, groups=groups, bias=False),
                                        nn.Conv2d(mid, c_out, 1, bias=False)), (1, c_in, h, w))
    return _formula("bottleneck_macs", [(14, 14, 256, 128, 256, 8)], counted,
                    "h·w·(c_in·mid + 9·mid·mid/groups + mid·c_out)")(answer)


@exercise("07.3", "Write receptive_field(layers): the receptive field, in input pixels, of a chain of convs or pools "
                  "given as [(kernel, stride), …] in order. Checked on FaceBoxes' RDCL, [(7, 4), (3, 2), (5, 2), "
                  "(3, 2)].")
def _field_formula(answer):
    def counted(layers):
        return receptive_field(nn.Sequential(*[nn.Conv2d(1, 1, k, s) for k, s in layers]))[0]
    return _formula("receptive_field", [([(7, 4), (3, 2), (5, 2), (3, 2)],)], counted,
                    "each layer adds (k − 1) × the product of the strides before it")(answer)


@exercise("09.3", "Write mnas_reward(accuracy, latency_ms, target_ms, alpha, beta): MnasNet's reward in its general "
                  "form (Tan et al. 2019, Eq. 2), ACC · (LAT/T)^w with w = alpha within the target and w = beta "
                  "beyond it. Checked on MnasNet's soft (α = β = −0.07) and hard (α = 0, β = −1) settings.")
def _reward_formula(answer):
    def soft_or_hard(a, lat, t, alpha, beta):  # the two settings nas.reward implements
        return nas.reward(a, lat, t, w=alpha, hard=False) if alpha == beta else nas.reward(a, lat, t, hard=True)
    return _formula("mnas_reward", [(0.7, 15.0, 20.0, 0.0, -1.0), (0.7, 30.0, 20.0, -0.07, -0.07),
                                    (0.7, 30.0, 20.0, 0.0, -1.0)], soft_or_hard,
                    "w = alpha where latency_ms ≤ target_ms, else beta; then accuracy · (latency_ms / target_ms)^w"
                    )(answer)


FOLD_EXAMPLE = {"weight": [[[[1.0]], [[2.0]]], [[[-1.0]], [[0.5]]]], "bias": [0.5, -1.0], "mean": [1.0, -2.0],
                "var": [4.0, 0.25], "gamma": [2.0, 1.0], "beta": [0.0, 3.0], "eps": 0.0}


@exercise("11.3", "Write fold_batchnorm(weight, bias, mean, var, gamma, beta, eps) → (weight, bias): the conv that "
                  "equals a conv (weight, bias) followed by an inference BatchNorm (mean, var, gamma, beta, eps). "
                  "Checked on effedu.check.FOLD_EXAMPLE.")
def _fold_formula(answer):
    import torch
    from torch.nn.utils.fusion import fuse_conv_bn_weights

    wrong = _function_answer(answer, "fold_batchnorm")
    if wrong is not None:  # a CheckResult is falsy when it failed: test for its presence
        return wrong
    t = {name: torch.tensor(value) if name != "eps" else value for name, value in FOLD_EXAMPLE.items()}
    result, wrong = _called(answer, t["weight"], t["bias"], t["mean"], t["var"], t["gamma"], t["beta"],
                            t["eps"])
    if wrong is not None:  # a CheckResult is falsy when it failed: test for its presence
        return wrong
    expected = fuse_conv_bn_weights(t["weight"], t["bias"], t["mean"], t["var"], t["eps"], t["gamma"], t["beta"])
    try:
        ok = all(torch.allclose(torch.as_tensor(mine, dtype=torch.float32), theirs.detach(), atol=1e-6)
                 for mine, theirs in zip(result, expected)) and len(result) == 2
    except (TypeError, RuntimeError, ValueError):
        return _marked(False, f"expected a pair (weight, bias) of tensors, got {result!r}")
    if ok:
        return _marked(True, "correct: W' = W·γ/σ per output channel, b' = (b − μ)·γ/σ + β, "
                             "σ = √(var + eps)")
    return _marked(False, "not quite. Hint: scale each output channel's weights by γ/σ with "
                          "σ = √(var + eps); the bias becomes (b − μ)·γ/σ + β")


@exercise("11.4", "Write identity_kernel(channels) → a (channels, channels, 3, 3) tensor: the 3×3 conv kernel that "
                  "passes its input through unchanged (RepVGG's identity branch as a conv). Checked at 4 channels.")
def _identity_kernel(answer):
    import torch

    wrong = _function_answer(answer, "identity_kernel")
    if wrong is not None:  # a CheckResult is falsy when it failed: test for its presence
        return wrong
    kernel, wrong = _called(answer, 4)
    if wrong is not None:  # a CheckResult is falsy when it failed: test for its presence
        return wrong
    x = torch.randn(1, 4, 5, 5, generator=torch.Generator().manual_seed(0))
    try:
        same = torch.allclose(torch.nn.functional.conv2d(x, torch.as_tensor(kernel, dtype=x.dtype), padding=1), x)
    except (TypeError, RuntimeError, ValueError) as err:
        return _marked(False, f"expected a (4, 4, 3, 3) tensor, got {getattr(kernel, 'shape', kernel)!r}"
                              f" ({type(err).__name__})")
    if same:
        return _marked(True, "correct: a 1 at the centre of kernel [c, c], zero elsewhere")
    return _marked(False, "not quite: convolved with padding 1 it must return its input. Hint: output "
                          "channel c copies input channel c from the centre tap only")


# --- guesses: a prediction written before a measurement, compared with it afterwards ----------------------

@dataclasses.dataclass
class GuessResult:
    """How a guess compares with what was measured; shows as one sentence in a notebook."""
    text: str
    value: Any = None
    off_by: float | None = None

    def __str__(self) -> str:
        return self.text

    def _repr_markdown_(self) -> str:
        return self.text


def _as_number(answer: Any, argument: str) -> float:
    """A number from what people type: 0.2, 20, "20", "20%", "3x", "3×" (a trailing % or ×/x is dropped)."""
    if isinstance(answer, bool):
        raise ValueError(f"{argument} must be a number, got {answer!r}")
    if isinstance(answer, (int, float)):
        return float(answer)
    if isinstance(answer, str):
        text = answer.strip().rstrip("%×xX").strip().replace(",", ".")
        try:
            return float(text)
        except ValueError:
            pass
    raise ValueError(f"{argument} must be a number such as 0.2, 20 or '20%', got {answer!r}")


def guess(answer: Any, measured: float, *, kind: str = "fraction", options: list | None = None) -> GuessResult:
    """Compare a student's guess with the measurement. ``kind``:

    * ``"fraction"`` — a share (0 to 1): accepts 0.2, "20%", "20" or 20 (numbers above 1 read as percent);
      says how many percentage points off it was;
    * ``"ratio"`` — a time ratio (candidate ÷ baseline), which may be above 1 (a slow-down): 0.5, 1.5, "1.5×";
      read as a percentage only when a "%" is typed ("50%" → 0.5); says by what factor it was off;
    * ``"factor"`` — a speed-up or ratio such as 3 or "3×"; says by what factor it was off;
    * ``"count"`` — a whole number (a rank, a channel count); says how far off it was;
    * ``"choice"`` — one of ``options`` (case-insensitive; "1", "2" … pick by position); right or not.
    """
    if _unanswered(answer):
        return GuessResult("no guess yet — write one in the guess cell above and run both cells again")
    try:
        if kind == "choice":
            names = [str(o) for o in (options or [])]
            text = str(answer).strip()
            chosen = names[int(text) - 1] if text.isdigit() and 0 < int(text) <= len(names) else text
            match = next((n for n in names if n.lower() == chosen.lower()), None)
            if match is None:
                return GuessResult(f"your guess {answer!r} is not one of {names}")
            right = match == str(measured)
            return GuessResult(f"your guess: **{match}** — {'right' if right else f'measured: {measured}'}", match)
        value = _as_number(answer, "your guess")
        if kind == "ratio":
            if isinstance(answer, str) and answer.strip().endswith("%"):
                value /= 100
            if not value > 0:
                raise ValueError(f"your guess must be a positive time ratio, got {answer!r}")
            factor = value / measured
            off = ("within 10 %" if abs(factor - 1) < 0.1 else
                   f"{factor:.1f}× too high" if factor > 1 else f"{1 / factor:.1f}× too low")
            return GuessResult(f"your guess: time ×{value:.3g} — measured ×{measured:.3g} ({off})", value, factor)
        if kind == "fraction":
            value = value / 100 if value > 1 else value
            points = (value - measured) * 100
            side = "too high" if points > 0 else "too low"
            off = "spot on" if abs(points) < 0.5 else f"{abs(points):.0f} percentage points {side}"
            return GuessResult(f"your guess {value:.0%} — measured {measured:.0%} ({off})", value, points / 100)
        if kind == "count":
            difference = value - measured
            off = "spot on" if difference == 0 else f"{abs(difference):g} too {'high' if difference > 0 else 'low'}"
            return GuessResult(f"your guess {value:g} — measured {measured:g} ({off})", value, difference)
        if kind == "factor":
            if not value > 0:
                raise ValueError(f"your guess must be a positive factor, got {answer!r}")
            factor = value / measured
            off = ("within 10 %" if abs(factor - 1) < 0.1 else
                   f"{factor:.1f}× too high" if factor > 1 else f"{1 / factor:.1f}× too low")
            return GuessResult(f"your guess {value:g}× — measured {measured:.2f}× ({off})", value, factor)
    except ValueError as err:
        return GuessResult(f"could not read the guess: {err}")
    raise ValueError(f"kind must be 'fraction', 'ratio', 'factor', 'count' or 'choice', got {kind!r}")
