"""Latency-aware neural architecture search on your own machine, in the style of MnasNet (Tan et al. 2019).

* A small MobileNetV2/ShuffleNet-style **search space**: three stages, each with a block type, kernel size,
  expansion, width and depth, for the 16×16 digits task of lesson 08 (every block of ``blocks.BLOCKS``, so lesson
  08's hand designs — the plain 3×3 network included — are members of the space).
* A **latency lookup table** in the manner of FBNet and ProxylessNAS: each (block, input shape) a network
  contains, measured once on this machine's CPU (one thread, on purpose: the table is a CPU table wherever the
  lesson runs) and saved to a JSON file; the **predictor** sums a network's entries (blocks are the unit, so the
  operators fused inside a block are measured together, as nn-Meter's kernels are). MnasNet itself timed every
  sampled model on a phone instead.
* MnasNet's **reward** ACC·(LAT/T)^w, an **evolutionary search** (regularized evolution, Real et al. 2019) and a
  **random search** from the same start with the same budget, run in pairs over several seeds
  (``compare_searches``); accuracy from a cheap proxy that trains on the training split and scores on a validation
  split carved from it — the test split judges only the finds. ``TrainingProxy.reseeded`` re-trains one network
  with other seeds: the proxy's own noise, to set beside the reward gaps it decides.
"""
from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os
import random
import statistics
import sys
import warnings
from pathlib import Path
from typing import Callable, Iterable, Sequence

import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from . import blocks
from ._runtime import cache_dir, positive_int, seeded, threads_fixed
from .blocks import Classifier, ConvBNAct, make_block
from ._text import plural
from .machine import cpu_name
from .timing import (STARVED_CPU_SHARE, NoisyMeasurementWarning, StarvedMeasurementWarning,
                     measure_latency)
from .training import accuracy, fit

BLOCK_TYPES = tuple(blocks.BLOCKS)  # plain conv, separable, bottleneck, inverted residual, ShuffleNetV2 unit
SHORT_NAMES = {"plain 3×3": "conv", "separable": "sep", "bottleneck": "bot", "inverted residual": "inv",
               "ShuffleNetV2 unit": "shuf"}
KERNEL_SIZES = (3, 5)
EXPAND_RATIOS = (3, 6)  # inverted residuals only
WIDTHS = (16, 24, 32, 48, 64)
DEPTHS = (1, 2, 3)
STAGES = 3
STEM_WIDTH = 16
TABLE_FORMAT = "effedu latency table 3: fastest sample per entry, ms, CPU"
INPUT = (1, 1, 16, 16)  # the digits of lesson 08, upsampled
_WIDTH_CHOICES = list(itertools.combinations_with_replacement(WIDTHS, STAGES))  # non-decreasing widths
# Every (block, kernel, expansion) a stage can choose, each once: choices a block lacks are fixed to the first value.
_STAGE_OPTIONS = [(block, k, t) for block in BLOCK_TYPES
                  for k in (KERNEL_SIZES if "kernel_size" in blocks.BLOCK_OPTIONS[block] else KERNEL_SIZES[:1])
                  for t in (EXPAND_RATIOS if "expand_ratio" in blocks.BLOCK_OPTIONS[block] else EXPAND_RATIOS[:1])]


@dataclasses.dataclass(frozen=True)
class Stage:
    """One stage of the search space; its first block has stride 2. Choices a block does not have (a
    ShuffleNetV2 unit's kernel, any expansion but an inverted residual's) are fixed, so one network has one
    name and one cache entry."""
    block: str
    kernel_size: int
    expand_ratio: int
    out_channels: int
    depth: int

    def __post_init__(self):
        if self.block not in BLOCK_TYPES:
            raise ValueError(f"block must be one of {BLOCK_TYPES}, got {self.block!r}")
        if self.kernel_size not in KERNEL_SIZES:
            raise ValueError(f"kernel_size must be one of {KERNEL_SIZES}, got {self.kernel_size!r}")
        if self.out_channels % 2 or self.out_channels < 2:
            raise ValueError(f"out_channels must be a positive even number, got {self.out_channels!r}")
        positive_int(self.depth, "depth")
        options = blocks.BLOCK_OPTIONS[self.block]
        if "kernel_size" not in options:
            object.__setattr__(self, "kernel_size", KERNEL_SIZES[0])
        if "expand_ratio" not in options:
            object.__setattr__(self, "expand_ratio", EXPAND_RATIOS[0])


Architecture = tuple[Stage, ...]


def short_name(arch: Architecture) -> str:
    """A short readable name: 'sep3-24×2 | inv5t6-32×1 | shuf3-48×2' (block, kernel, expansion, width × depth;
    'conv' is a plain convolution, 'bot' a ResNet bottleneck)."""
    return " | ".join(f"{SHORT_NAMES[s.block]}{s.kernel_size}"
                      f"{f't{s.expand_ratio}' if s.block == 'inverted residual' else ''}-{s.out_channels}×{s.depth}"
                      for s in arch)


def choices_per_stage() -> int:
    """Distinct (block, kernel, expansion, width, depth) choices one stage can make."""
    return len(_STAGE_OPTIONS) * len(WIDTHS) * len(DEPTHS)


def space_size() -> int:
    """How many distinct architectures the space holds (widths never shrink from stage to stage)."""
    return len(_WIDTH_CHOICES) * (choices_per_stage() // len(WIDTHS)) ** STAGES


def table_entries(arch: Architecture, input_shape: tuple = INPUT) -> list[tuple]:
    """Every lookup-table entry of ``arch`` in order: ('stem', …), ('block', …) and ('head', …) keys."""
    _, in_channels, size, _ = input_shape
    entries = [("stem", in_channels, STEM_WIDTH, size)]
    channels = STEM_WIDTH
    for stage in arch:
        for i in range(stage.depth):
            stride = 2 if i == 0 else 1
            entries.append(("block", stage.block, stage.kernel_size, stage.expand_ratio, channels,
                            stage.out_channels, stride, size))
            size = (size + 1) // 2 if stride == 2 else size
            channels = stage.out_channels
    entries.append(("head", channels, 10, size))
    return entries


def module_for(entry: tuple) -> tuple[nn.Module, tuple]:
    """The module a table entry stands for, and its input shape."""
    if entry[0] == "stem":
        _, in_channels, width, size = entry
        return ConvBNAct(in_channels, width, 3), (1, in_channels, size, size)
    if entry[0] == "head":
        _, channels, classes, size = entry
        return Classifier(channels, classes), (1, channels, size, size)
    _, block, kernel_size, expand_ratio, c_in, c_out, stride, size = entry
    module = make_block(block, c_in, c_out, stride, kernel_size=kernel_size, expand_ratio=expand_ratio)
    return module, (1, c_in, size, size)


def build(arch: Architecture, *, seed: int | None = 0) -> nn.Sequential:
    """The network for ``arch``: exactly the modules of its table entries, in order (seeded weights)."""
    with seeded(seed):
        return nn.Sequential(*[module_for(entry)[0] for entry in table_entries(arch)])


def sample(rng: random.Random) -> Architecture:
    """A uniformly random architecture of the space: the non-decreasing widths drawn as one choice, then each
    stage's (block, kernel, expansion) as one choice among the distinct ones (a block with more options is not
    drawn less often per option), and its depth."""
    widths = rng.choice(_WIDTH_CHOICES)
    return tuple(Stage(*rng.choice(_STAGE_OPTIONS), width, rng.choice(DEPTHS)) for width in widths)


def hand_design(block: str, widths: Sequence[int] = (16, 32, 64), depths: Sequence[int] = (1, 2, 2)) -> Architecture:
    """Lesson 08's ``models.TinyNet(block)`` as a member of this space (3×3 kernels, expansion 6): the same stem,
    blocks and head, so the proxy and the table can score a hand design like any candidate."""
    return tuple(Stage(block, 3, 6, width, depth) for width, depth in zip(widths, depths))


def mutate(arch: Architecture, rng: random.Random) -> Architecture:
    """Change one choice of one stage (block, kernel, expansion, width or depth — those the block has)."""
    stages = list(arch)
    index = rng.randrange(len(stages))
    options = blocks.BLOCK_OPTIONS[stages[index].block]
    field = rng.choice(["block", "out_channels", "depth"] + [o for o in ("kernel_size", "expand_ratio")
                                                             if o in options])
    values = {"block": BLOCK_TYPES, "kernel_size": KERNEL_SIZES, "expand_ratio": EXPAND_RATIOS,
              "out_channels": WIDTHS, "depth": DEPTHS}[field]
    current = getattr(stages[index], field)
    stages[index] = dataclasses.replace(stages[index], **{field: rng.choice([v for v in values if v != current])})
    widths = sorted(s.out_channels for s in stages)  # keep widths non-decreasing
    return tuple(dataclasses.replace(s, out_channels=w) for s, w in zip(stages, widths))


def code_version() -> str:
    """A hash of the code that decides what an entry measures (the blocks and this module): a table measured
    by other code is not reused."""
    digest = hashlib.sha256()
    for module in (blocks, sys.modules[__name__]):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:12]


class LatencyTable:
    """Measured latency (ms) of every (block, shape) entry on this machine's CPU, saved to and loaded from JSON.

    Each entry is the *fastest* of its samples: other programs on a busy machine only ever add time, so the
    minimum is the most repeatable estimate of what a block costs — compare it with a network's minimum. The saved
    table is reused only by the same CPU, torch version, thread count, table format and code (``code_version``).
    """

    def __init__(self, path: str | Path | None = None, *, threads: int = 1, budget_s: float = 0.1):
        self.machine = (f"{cpu_name()} | torch {torch.__version__} | {plural(threads, 'thread')} | "
                        f"effedu code {code_version()}")
        self.format = TABLE_FORMAT
        self.path = Path(path) if path is not None else cache_dir() / "latency_table.json"
        self.threads, self.budget_s = threads, budget_s
        self.entries: dict[str, float] = {}
        self.scale = 1.0  # from calibrate(): measured / summed, fitted on networks the check does not use
        if self.path.exists():
            saved = json.loads(self.path.read_text())
            # Another machine's (or an older format's, or other code's) table would predict something else.
            if saved.get("machine") == self.machine and saved.get("format") == self.format:
                self.entries = saved["entries"]

    @staticmethod
    def key(entry: tuple) -> str:
        return "/".join(map(str, entry))

    def missing(self, archs: Iterable[Architecture]) -> list[tuple]:
        seen, todo = set(self.entries), []
        for arch in archs:
            for entry in table_entries(arch):
                if self.key(entry) not in seen:
                    seen.add(self.key(entry))
                    todo.append(entry)
        return todo

    def ensure(self, archs: Iterable[Architecture], *, progress: bool = True) -> int:
        """Measure every entry of ``archs`` not yet in the table (one at a time, with a progress bar), then save —
        unless a measurement was starved (its core shared with other programs): such a table is kept for this
        session but not saved for reuse, and the starvation warning says so. Returns how many entries were
        measured."""
        todo = self.missing(archs)
        starved = False
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NoisyMeasurementWarning)  # single tiny modules are noisy; see the check
            for entry in tqdm(todo, desc="latency table", disable=not progress or not todo):
                module, shape = module_for(entry)
                result = measure_latency(module, shape, threads=self.threads, device="cpu",
                                         budget_s=self.budget_s, repeats=9)
                self.entries[self.key(entry)] = min(result.samples)
                starved |= result.cpu_share is not None and result.cpu_share < STARVED_CPU_SHARE
        if starved:
            warnings.warn("the latency table was measured on a shared core (a starved measurement): it is used now "
                          "but not saved — run the cell again when the machine is quiet", StarvedMeasurementWarning,
                          stacklevel=2)
        elif todo:
            self.save()
        return len(todo)

    def save(self) -> None:
        """Write the table atomically (a temporary file, then a rename): a second kernel reading it meanwhile sees
        the old table or the new one, never half of one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(f"{self.path.name}.{os.getpid()}.partial")
        partial.write_text(json.dumps({"format": self.format, "machine": self.machine, "entries": self.entries},
                                      indent=0))
        os.replace(partial, self.path)

    def summed(self, arch: Architecture) -> float:
        """The plain sum of the table entries of ``arch`` (ms)."""
        try:
            return sum(self.entries[self.key(entry)] for entry in table_entries(arch))
        except KeyError as missing:
            raise KeyError(f"entry {missing} is not in the table: call table.ensure([arch]) first") from None

    def predict(self, arch: Architecture) -> float:
        """Predicted latency (ms): the summed entries times the calibration scale (1.0 until calibrated)."""
        return self.scale * self.summed(arch)

    def lookup(self, arch: Architecture) -> float:
        """``predict``, measuring the entries of ``arch`` first if the table lacks them (a search's latency_of)."""
        self.ensure([arch], progress=False)
        return self.predict(arch)

    def calibrate(self, archs: Sequence[Architecture], measured_ms: Sequence[float]) -> float:
        """Fit one scale factor, the median of measured / summed over ``archs``: blocks timed alone miss (or add)
        what running inside a network changes — data leaving the cache between blocks, the container's calls."""
        if len(archs) != len(measured_ms) or not archs:
            raise ValueError("archs and measured_ms must be equally long and not empty")
        self.scale = statistics.median(m / self.summed(a) for a, m in zip(archs, measured_ms))
        return self.scale

    def errors(self, archs: Sequence[Architecture], measured_ms: Sequence[float], *,
               calibrated: bool = True) -> list[float]:
        """predicted / measured − 1 for each network (``calibrated=False``: the plain sum)."""
        predict = self.predict if calibrated else self.summed
        return [predict(a) / m - 1 for a, m in zip(archs, measured_ms)]


def reward(accuracy: float, latency_ms: float, target_ms: float, *, w: float = -0.07,
           hard: bool = False) -> float:
    """MnasNet's objective ACC · (LAT / T)^w (Tan et al. 2019, Eq. 2). Soft (default): w = −0.07 on both sides of
    the target (α = β = w) — twice as slow must be ~5 % more accurate to tie, and T does not change the ranking
    (T^−w is a common factor). ``hard=True``: α = 0 within the target, β = −1 beyond it — a hard latency
    constraint, so the winner changes as T crosses the candidates' latencies."""
    if not target_ms > 0 or not latency_ms > 0:
        raise ValueError(f"latency_ms and target_ms must be positive, got latency_ms={latency_ms!r}, "
                         f"target_ms={target_ms!r}")
    exponent = (0.0 if latency_ms <= target_ms else -1.0) if hard else w
    return accuracy * (latency_ms / target_ms) ** exponent


class TrainingProxy:
    """Accuracy proxy: train ``build(arch)`` for a few seeded epochs on ``train`` and return its accuracy on
    ``validation`` — a split carved from the training data (``data.holdout``), never the test split, which must
    stay untouched to judge the finds. Cached per architecture, so every search (and every seed of one) that meets
    an architecture again gets the same number at no cost.

    The defaults — 1 epoch at batch 16 with Adam at 0.005, about 70 steps on lesson 08's digits — cost about half of
    2 epochs at lesson 08's batch 64 and 0.003 (34 steps), which left most networks near chance and made the proxy
    rank how fast a network starts to learn; with twice the steps most networks get well past it. ``reseeded`` shows
    what is left: the same network trained with other seeds scores differently.

    It trains on ``threads`` threads (1 by default): networks this small give a second thread little to share, and
    where another program holds a core, the threads wait for each other — on a busy 2-core machine two threads made
    these trainings many times slower than one."""

    def __init__(self, train, validation, *, epochs: int = 1, batch_size: int = 16, lr: float = 0.005,
                 seed: int = 0, threads: int | None = 1):
        self.train, self.validation, self.epochs, self.seed = train, validation, epochs, seed
        self.batch_size, self.lr, self.threads = batch_size, lr, threads
        self.cache: dict = {}
        self.other_seeds: dict = {}  # (arch, seed) → accuracy, for reseeded

    def _train_and_score(self, arch: Architecture, seed: int) -> float:
        with threads_fixed(self.threads):
            model = fit(build(arch, seed=seed), self.train, epochs=self.epochs, batch_size=self.batch_size,
                        lr=self.lr, seed=seed, progress=False)
            return accuracy(model, self.validation)

    def __call__(self, arch: Architecture) -> float:
        if arch not in self.cache:
            self.cache[arch] = self._train_and_score(arch, self.seed)
        return self.cache[arch]

    def reseeded(self, arch: Architecture, seeds: Iterable[int]) -> list[float]:
        """The proxy accuracy of ``arch`` trained with each of ``seeds`` (initial weights and batch order; the
        proxy's own seed gives exactly what the search saw): how much of a reward is the luck of one training run."""
        scores = []
        for seed in seeds:
            if seed == self.seed:
                scores.append(self(arch))
                continue
            if (arch, seed) not in self.other_seeds:
                self.other_seeds[(arch, seed)] = self._train_and_score(arch, seed)
            scores.append(self.other_seeds[(arch, seed)])
        return scores


@dataclasses.dataclass
class Evaluation:
    """One architecture the search evaluated: its proxy accuracy, predicted latency and reward."""
    arch: Architecture
    accuracy: float
    latency_ms: float
    reward: float


def _evaluator(accuracy_of, latency_of, target_ms, w, hard, history):
    def evaluate(arch: Architecture) -> Evaluation:
        accuracy_, latency = accuracy_of(arch), latency_of(arch)
        evaluation = Evaluation(arch, accuracy_, latency, reward(accuracy_, latency, target_ms, w=w, hard=hard))
        history.append(evaluation)
        return evaluation
    return evaluate


def evolve(accuracy_of: Callable[[Architecture], float], latency_of: Callable[[Architecture], float], *,
           target_ms: float, w: float = -0.07, hard: bool = False, population: int = 6, cycles: int = 10,
           sample_size: int = 3, seed: int = 0, start: Sequence[Architecture] = (),
           progress: bool = True) -> list[Evaluation]:
    """Regularized evolution: start from ``start`` plus random architectures (``population`` in all); each cycle,
    the best of a random ``sample_size`` is mutated, the child evaluated, the oldest member dropped. Returns every
    evaluation in order (an architecture met twice appears twice: ``unique`` removes repeats). ``population +
    cycles`` evaluations in all: the budget ``random_search`` gets as ``evaluations``."""
    rng = random.Random(seed)
    history: list[Evaluation] = []
    evaluate = _evaluator(accuracy_of, latency_of, target_ms, w, hard, history)
    steps = tqdm(total=population + cycles, desc="evolution", disable=not progress)
    alive = []
    for i in range(population):
        alive.append(evaluate(start[i] if i < len(start) else sample(rng)))
        steps.update()
    for _ in range(cycles):
        parent = max(rng.sample(alive, min(sample_size, len(alive))), key=lambda e: e.reward)
        alive.append(evaluate(mutate(parent.arch, rng)))
        # The oldest dies (aging). Real et al. credit it with favouring architectures that stay good when retrained;
        # that needs re-training noise, and the cached, seeded proxy gives a rediscovered architecture its old
        # score — here aging only keeps the population moving (and the start is the first to go).
        alive.pop(0)
        steps.update()
    steps.close()
    return history


def random_search(accuracy_of: Callable[[Architecture], float], latency_of: Callable[[Architecture], float], *,
                  target_ms: float, w: float = -0.07, hard: bool = False, evaluations: int = 16, seed: int = 0,
                  start: Sequence[Architecture] = (), progress: bool = True) -> list[Evaluation]:
    """The baseline every search must beat: ``start``, then architectures sampled uniformly, ``evaluations`` in
    all, scored alike. With the ``seed`` and ``start`` of an ``evolve`` run its first draws are that run's initial
    population: the two searches start alike, and differ only in what they do next."""
    rng = random.Random(seed)
    history: list[Evaluation] = []
    evaluate = _evaluator(accuracy_of, latency_of, target_ms, w, hard, history)
    for i in tqdm(range(evaluations), desc="random search", disable=not progress):
        evaluate(start[i] if i < len(start) else sample(rng))
    return history


def unique(history: Sequence[Evaluation]) -> list[Evaluation]:
    """The history with each architecture once (its first evaluation)."""
    seen, kept = set(), []
    for evaluation in history:
        if evaluation.arch not in seen:
            seen.add(evaluation.arch)
            kept.append(evaluation)
    return kept


def best_so_far(history: Sequence[Evaluation]) -> list[float]:
    """The best reward after each evaluation — a search's progress curve."""
    return list(itertools.accumulate((e.reward for e in history), max))


def rescore(history: Sequence[Evaluation], *, target_ms: float, w: float = -0.07,
            hard: bool = False) -> list[Evaluation]:
    """The distinct architectures of ``history`` ranked by the reward for another ``target_ms`` / ``w`` (best
    first) — no retraining: accuracy and latency stay, only what the reward prefers changes."""
    rescored = [dataclasses.replace(e, reward=reward(e.accuracy, e.latency_ms, target_ms, w=w, hard=hard))
                for e in unique(history)]
    return sorted(rescored, key=lambda e: e.reward, reverse=True)


@dataclasses.dataclass
class PairedSearches:
    """Regularized evolution and random search run in pairs: for each seed both start from the same architectures
    (``start`` plus the same random draws) with the same budget of evaluations and the same proxy, so per seed
    the two best rewards differ only by what each search did with that budget. ``verdict.search_comparison``
    decides the paired comparison."""
    seeds: list[int]
    evolution: list[list[Evaluation]]
    random: list[list[Evaluation]]
    evaluations: int

    def best(self, search: str) -> list[Evaluation]:
        """Each seed's best evaluation of ``search`` ('evolution' or 'random search')."""
        histories = {"evolution": self.evolution, "random search": self.random}[search]
        return [max(history, key=lambda e: e.reward) for history in histories]

    def frame(self) -> pd.DataFrame:
        """One row per seed: both searches' best reward and the architecture that scored it."""
        evolved, sampled = self.best("evolution"), self.best("random search")
        return pd.DataFrame({"evolution": [e.reward for e in evolved],
                             "evolution's best": [short_name(e.arch) for e in evolved],
                             "random search": [e.reward for e in sampled],
                             "random search's best": [short_name(e.arch) for e in sampled]},
                            index=pd.Index(self.seeds, name="seed"))

    def everything(self) -> list[Evaluation]:
        """Every evaluation of both searches over all seeds (the reward explorer re-scores them)."""
        return [e for history in self.evolution + self.random for e in history]

    def finds(self) -> dict[str, Architecture]:
        """The best architecture each search found over all its seeds, by the reward it searched on; one entry when
        both found the same."""
        evolved = max(self.best("evolution"), key=lambda e: e.reward).arch
        sampled = max(self.best("random search"), key=lambda e: e.reward).arch
        if evolved == sampled:
            return {"NAS: both searches' find": evolved}
        return {"NAS: evolution's find": evolved, "NAS: random search's find": sampled}


def compare_searches(accuracy_of: Callable[[Architecture], float], latency_of: Callable[[Architecture], float], *,
                     target_ms: float, seeds: Iterable[int], evaluations: int, population: int,
                     start: Sequence[Architecture] = (), sample_size: int = 3, w: float = -0.07, hard: bool = False,
                     progress: bool = True) -> PairedSearches:
    """Evolution (``population`` members, then ``evaluations − population`` cycles) and random search
    (``evaluations`` architectures), both from ``start`` and the same seed, once per seed. The proxy
    (``accuracy_of``) is shared, so an architecture met again costs nothing."""
    seeds = list(seeds)
    if not population < evaluations:
        raise ValueError(f"evaluations must exceed population (evolution needs a cycle), got {evaluations} and "
                         f"{population}")
    runs = PairedSearches(seeds, [], [], evaluations)
    for seed in tqdm(seeds, desc="paired searches", disable=not progress):
        runs.evolution.append(evolve(accuracy_of, latency_of, target_ms=target_ms, w=w, hard=hard,
                                     population=population, cycles=evaluations - population, sample_size=sample_size,
                                     seed=seed, start=start, progress=False))
        runs.random.append(random_search(accuracy_of, latency_of, target_ms=target_ms, w=w, hard=hard,
                                         evaluations=evaluations, seed=seed, start=start, progress=False))
    return runs


def remeasured_spread(frame: pd.DataFrame) -> float:
    """The timing noise ``verdict.predictor`` sets beside the predictor's scatter, as the same statistic: each
    network of a ``compare_latency`` frame measured twice — the fastest of its even rounds against the fastest of its
    odd rounds (two interleaved runs of the same networks), as a ratio − 1 — and the median distance of those from
    their median."""
    results = frame.attrs["results"]
    changes = []
    for name in frame.index:
        samples = list(results[name].samples)
        if len(samples) < 2:
            raise ValueError(f"{name}: two measurements need at least 2 rounds, got {len(samples)}")
        changes.append(min(samples[1::2]) / min(samples[0::2]) - 1)
    middle = statistics.median(changes)
    return statistics.median(abs(c - middle) for c in changes)


def history_frame(history: Sequence[Evaluation]) -> pd.DataFrame:
    """The distinct evaluations as a table, best reward first."""
    rows = [{"architecture": short_name(e.arch), "accuracy": e.accuracy, "predicted_ms": e.latency_ms,
             "reward": e.reward} for e in unique(history)]
    return pd.DataFrame(rows).sort_values("reward", ascending=False).set_index("architecture")
