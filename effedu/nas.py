"""Latency-aware neural architecture search on your own machine, in the style of MnasNet (Tan et al. 2019).

* A small MobileNetV2/ShuffleNet-style **search space**: three stages, each with a block type, kernel size,
  expansion, width and depth, for the 16×16 digits task of lesson 08.
* A **latency lookup table**: every (block, shape) a network can contain, measured once on this machine and
  saved to a JSON file; the **predictor** sums a network's entries (blocks are the unit, so the operators fused
  inside a block are measured together, as nn-Meter's kernels are).
* MnasNet's **reward** ACC·(LAT/T)^w and an **evolutionary search** (regularized evolution, Real et al. 2019)
  that maximises it, with accuracy from a cheap proxy supplied by the caller.
"""
from __future__ import annotations

import dataclasses
import json
import os
import random
import sys
from pathlib import Path
from typing import Callable, Iterable, Sequence

import torch
from torch import nn
from tqdm.auto import tqdm

from .blocks import ConvBNAct, DepthwiseSeparable, InvertedResidual, ShuffleNetV2Unit
from .models import Classifier

BLOCK_TYPES = ("separable", "inverted", "shufflev2")
KERNELS = (3, 5)
EXPANSIONS = (3, 6)  # inverted residuals only
WIDTHS = (16, 24, 32, 48, 64)
DEPTHS = (1, 2, 3)
STEM_WIDTH = 16
TABLE_FORMAT = "effedu latency table 2: fastest sample per entry, ms"
INPUT = (1, 1, 16, 16)  # the digits of lesson 08, upsampled


@dataclasses.dataclass(frozen=True)
class Stage:
    """One stage of the search space; its first block has stride 2."""
    block: str
    kernel: int
    expansion: int
    width: int
    depth: int

    def __post_init__(self):
        if self.block not in BLOCK_TYPES:
            raise ValueError(f"block must be one of {BLOCK_TYPES}, got {self.block!r}")
        if self.kernel not in KERNELS:
            raise ValueError(f"kernel must be one of {KERNELS}, got {self.kernel!r}")
        if self.width % 2 or self.width < 2:
            raise ValueError(f"width must be a positive even number, got {self.width!r}")
        if self.depth < 1:
            raise ValueError(f"depth must be at least 1, got {self.depth!r}")
        # Choices a block does not have are fixed, so that one network has one name (and one cache entry).
        if self.block == "shufflev2":
            object.__setattr__(self, "kernel", 3)
        if self.block != "inverted":
            object.__setattr__(self, "expansion", EXPANSIONS[0])


Architecture = tuple  # of Stage


def describe(arch: Architecture) -> str:
    """A short readable name: 'sep3-24×2 | inv5t6-32×1 | shuf3-48×2'."""
    short = {"separable": "sep", "inverted": "inv", "shufflev2": "shuf"}
    return " | ".join(f"{short[s.block]}{s.kernel}{f't{s.expansion}' if s.block == 'inverted' else ''}-{s.width}×{s.depth}"
                      for s in arch)


def make_block(block: str, kernel: int, expansion: int, in_channels: int, out_channels: int,
               stride: int) -> nn.Module:
    if block == "separable":
        return DepthwiseSeparable(in_channels, out_channels, stride, kernel_size=kernel)
    if block == "inverted":
        return InvertedResidual(in_channels, out_channels, stride, expand_ratio=expansion, kernel_size=kernel)
    return ShuffleNetV2Unit(in_channels, out_channels, stride)  # kernel 3 only, as in the paper


def _layout(arch: Architecture, input_shape=INPUT) -> list[tuple]:
    """Every table entry of ``arch`` in order: ('stem', …), ('block', …), ('head', …) keys."""
    _, channels_in, size, _ = input_shape
    entries = [("stem", channels_in, STEM_WIDTH, size)]
    channels = STEM_WIDTH
    for stage in arch:
        for i in range(stage.depth):
            stride = 2 if i == 0 else 1
            entries.append(("block", stage.block, stage.kernel, stage.expansion, channels, stage.width, stride, size))
            size = (size + 1) // 2 if stride == 2 else size
            channels = stage.width
    entries.append(("head", channels, 10, size))
    return entries


def _module_for(entry: tuple) -> tuple[nn.Module, tuple]:
    """The module an entry stands for, and its input shape."""
    if entry[0] == "stem":
        _, channels_in, width, size = entry
        return ConvBNAct(channels_in, width, 3), (1, channels_in, size, size)
    if entry[0] == "head":
        _, channels, classes, size = entry
        return Classifier(channels, classes), (1, channels, size, size)
    _, block, kernel, expansion, c_in, c_out, stride, size = entry
    return make_block(block, kernel, expansion, c_in, c_out, stride), (1, c_in, size, size)


def build(arch: Architecture, *, seed: int | None = 0) -> nn.Sequential:
    """The network for ``arch``: exactly the modules of its table entries, in order (seeded weights)."""
    def assemble():
        return nn.Sequential(*[_module_for(entry)[0] for entry in _layout(arch)])

    if seed is None:
        return assemble()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return assemble()


def sample(rng: random.Random) -> Architecture:
    """A uniformly random architecture of the space (widths never shrink from stage to stage)."""
    widths = sorted(rng.choice(WIDTHS) for _ in range(3))
    return tuple(Stage(rng.choice(BLOCK_TYPES), rng.choice(KERNELS), rng.choice(EXPANSIONS), width,
                       rng.choice(DEPTHS)) for width in widths)


def mutate(arch: Architecture, rng: random.Random) -> Architecture:
    """Change one choice of one stage (block, kernel, expansion, width or depth — those the block has)."""
    stages = list(arch)
    index = rng.randrange(len(stages))
    block = stages[index].block
    field = rng.choice(["block", "width", "depth"] + (["kernel"] if block != "shufflev2" else [])
                       + (["expansion"] if block == "inverted" else []))
    options = {"block": BLOCK_TYPES, "kernel": KERNELS, "expansion": EXPANSIONS, "width": WIDTHS,
               "depth": DEPTHS}[field]
    current = getattr(stages[index], field)
    stages[index] = dataclasses.replace(stages[index], **{field: rng.choice([o for o in options if o != current])})
    widths = sorted(s.width for s in stages)  # keep widths non-decreasing
    return tuple(dataclasses.replace(s, width=w) for s, w in zip(stages, widths))


def default_cache_dir() -> Path:
    """Where the latency table lives: $EFFEDU_CACHE, else the platform's user cache folder."""
    if os.environ.get("EFFEDU_CACHE"):
        return Path(os.environ["EFFEDU_CACHE"])
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "effedu" / "cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "effedu"
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "effedu"


class LatencyTable:
    """Measured latency (ms) of every (block, shape) entry on this machine, saved to and loaded from JSON.

    Each entry is the *fastest* of its samples: other programs on a busy machine only ever add time, so the
    minimum is the most repeatable estimate of what a block costs — compare it with a network's minimum."""

    def __init__(self, path: str | Path | None = None, *, threads: int = 1, budget_s: float = 0.1):
        from .timing import hardware

        info = hardware()
        self.machine = f"{info['cpu']} | {info['gpu']} | torch {info['torch']} | {threads} thread(s)"
        self.format = TABLE_FORMAT
        self.path = Path(path) if path is not None else default_cache_dir() / "latency_table.json"
        self.threads, self.budget_s = threads, budget_s
        self.entries: dict[str, float] = {}
        self.scale = 1.0  # from calibrate(): measured / summed, fitted on networks the check does not use
        if self.path.exists():
            saved = json.loads(self.path.read_text())
            # Another machine's (or an older format's) table would predict something else: start afresh.
            if saved.get("machine") == self.machine and saved.get("format") == self.format:
                self.entries = saved["entries"]

    @staticmethod
    def key(entry: tuple) -> str:
        return "/".join(map(str, entry))

    def missing(self, archs: Iterable[Architecture]) -> list[tuple]:
        seen, todo = set(self.entries), []
        for arch in archs:
            for entry in _layout(arch):
                if self.key(entry) not in seen:
                    seen.add(self.key(entry))
                    todo.append(entry)
        return todo

    def ensure(self, archs: Iterable[Architecture], *, progress: bool = True) -> int:
        """Measure every entry of ``archs`` not yet in the table (one at a time, with a progress bar), then save.
        Returns how many entries were measured."""
        from .timing import measure_latency
        import warnings

        todo = self.missing(archs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # single tiny modules are noisy; the predictor check shows the effect
            for entry in tqdm(todo, desc="latency table", disable=not progress or not todo):
                module, shape = _module_for(entry)
                result = measure_latency(module, shape, threads=self.threads, budget_s=self.budget_s, repeats=9)
                self.entries[self.key(entry)] = min(result.samples)
        if todo:
            self.save()
        return len(todo)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps({"format": self.format, "machine": self.machine, "entries": self.entries},
                                        indent=0))

    def summed(self, arch: Architecture) -> float:
        """The plain sum of the table entries of ``arch`` (ms)."""
        try:
            return sum(self.entries[self.key(entry)] for entry in _layout(arch))
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
        """Fit one scale factor, the median of measured / summed over ``archs``: blocks timed alone miss what
        running inside a network adds (the container's calls, data leaving the cache between blocks)."""
        import statistics

        if len(archs) != len(measured_ms) or not archs:
            raise ValueError("archs and measured_ms must be equally long and not empty")
        self.scale = statistics.median(m / self.summed(a) for a, m in zip(archs, measured_ms))
        return self.scale


def reward(accuracy: float, latency: float, target: float, *, w: float = -0.07, hard: bool = False) -> float:
    """MnasNet's objective ACC · (LAT / T)^w (Tan et al. 2019, Eq. 2). Soft (default): w = −0.07 everywhere —
    twice as slow must be ~5 % more accurate to tie. ``hard=True``: w = 0 within the target, −1 beyond it."""
    if not target > 0 or not latency > 0:
        raise ValueError(f"latency and target must be positive, got latency={latency!r}, target={target!r}")
    exponent = (0.0 if latency <= target else -1.0) if hard else w
    return accuracy * (latency / target) ** exponent


class TrainingProxy:
    """Accuracy proxy: train ``build(arch)`` for a few seeded epochs and return its test accuracy, cached per
    architecture. Cheap enough for a CPU (seconds per network on the digits), and on a task this small it ranks
    networks much as full training does — training-free proxies rank poorly here."""

    def __init__(self, train, test, *, epochs: int = 3, seed: int = 0):
        self.train, self.test, self.epochs, self.seed = train, test, epochs, seed
        self.cache: dict = {}

    def __call__(self, arch: Architecture) -> float:
        from .training import accuracy, fit

        if arch not in self.cache:
            model = fit(build(arch, seed=self.seed), self.train, epochs=self.epochs, seed=self.seed, progress=False)
            self.cache[arch] = accuracy(model, self.test)
        return self.cache[arch]


@dataclasses.dataclass
class Candidate:
    arch: Architecture
    accuracy: float
    latency: float
    reward: float


def evolve(accuracy_of: Callable[[Architecture], float], latency_of: Callable[[Architecture], float], *,
           target: float, w: float = -0.07, hard: bool = False, population: int = 6, cycles: int = 10,
           sample_size: int = 3, seed: int = 0, progress: bool = True) -> list[Candidate]:
    """Regularized evolution: start from ``population`` random architectures; each cycle, the best of a random
    ``sample_size`` is mutated, the child evaluated, the oldest member dropped. Returns every evaluated candidate
    (in order), so that their rewards can be recomputed for another target or w without retraining."""
    rng = random.Random(seed)
    history: list[Candidate] = []

    def evaluate(arch):
        accuracy, latency = accuracy_of(arch), latency_of(arch)
        candidate = Candidate(arch, accuracy, latency, reward(accuracy, latency, target, w=w, hard=hard))
        history.append(candidate)
        return candidate

    steps = tqdm(total=population + cycles, desc="search", disable=not progress)
    alive = []
    for _ in range(population):
        alive.append(evaluate(sample(rng)))
        steps.update()
    for _ in range(cycles):
        parent = max(rng.sample(alive, min(sample_size, len(alive))), key=lambda c: c.reward)
        alive.append(evaluate(mutate(parent.arch, rng)))
        alive.pop(0)  # the oldest dies: regularized evolution favours architectures that stay good when retrained
        steps.update()
    steps.close()
    return history


def rescore(history: Sequence[Candidate], *, target: float, w: float = -0.07, hard: bool = False) -> list[Candidate]:
    """The same candidates ranked by the reward for another ``target`` / ``w`` (best first) — no retraining."""
    rescored = [dataclasses.replace(c, reward=reward(c.accuracy, c.latency, target, w=w, hard=hard)) for c in history]
    return sorted(rescored, key=lambda c: c.reward, reverse=True)
