"""Latency, measured honestly — the only fair judge of speed.

The protocol (as nanoGPT's ``bench.py`` and ``torch.utils.benchmark`` do it): ``eval()`` and
``inference_mode``, a fixed and reported thread count, warm-up runs that are thrown away, the device
synchronised on both sides of every timed block, the garbage collector off while timing, and robust statistics
(median and IQR, not the mean). Several candidates are timed *interleaved* — one block of each in turn — so that
the machine's drift (another program, the CPU clocking down) hits all of them alike. Interleaving pairs the
samples: round r of every candidate ran at nearly the same moment, so the ratio of two candidates is taken
round by round; its median and that median's 95 % confidence interval (``ratio``, ``ratio_lo``, ``ratio_hi``,
from ``effedu.stats``) are the comparison's headline and its uncertainty — ``ratio_lo ≤ ratio ≤ ratio_hi``, and
no interval (NaN ends) below 6 rounds.

``torch.utils.benchmark`` times one statement at a time and runs a warm-up inside every call, so it cannot
interleave candidates on a fixed budget; ``benchmarks/measure_quality.py`` checks that ``measure_latency``
agrees with it.
"""
from __future__ import annotations

import contextlib
import dataclasses
import gc
import os
import statistics
import time
import warnings

try:
    import resource  # Unix: page-fault counts
except ImportError:  # Windows has no getrusage
    resource = None
from typing import Callable, Mapping, Sequence, Union

import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from ._runtime import (Device, InputLike, check_model, in_kernel, make_input, model_restored, positive_int,
                       positive_number, resolve_device, run_model, set_threads, synchronize, threads_fixed)
from .counting import counts_frame
from ._text import plural
from .stats import comparison_stats, quartiles

NOISY_IQR_FRACTION = 0.10  # warn when the IQR exceeds 10 % of the median
BUDGET_SCALE_VARIABLE = "EFFEDU_BUDGET_SCALE"  # the test suite's short budgets and trainings (course.py test)
STARVED_CPU_SHARE = 0.6  # at one CPU thread, CPU time under 60 % of the wall time: the core was shared


class NoisyMeasurementWarning(UserWarning):
    """The spread of the samples is too large to trust small differences."""


class StarvedMeasurementWarning(UserWarning):
    """The kernel got far less CPU time than wall time while it measured: its core was shared. Not a kind of
    noise: ``quiet()`` never silences it, nor do the explorers, the advisor or the latency table."""


@dataclasses.dataclass
class LatencyResult:
    """Per-forward latencies of one model: ``samples`` holds one value (ms) per timed block of ``number`` runs."""
    samples: list[float]
    threads: int
    device: str
    number: int
    warmup: int
    name: str = ""
    cpu_share: float | None = None  # CPU time over wall time while sampling (the whole comparison's)
    faults_per_forward: float | None = None  # median page faults per forward over the samples (None: not counted)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples)

    @property
    def iqr_ms(self) -> float:
        low, high = quartiles(self.samples)
        return high - low

    @property
    def mean_ms(self) -> float:
        return statistics.fmean(self.samples)

    @property
    def cv(self) -> float:
        """Coefficient of variation of the samples: standard deviation / mean."""
        return statistics.stdev(self.samples) / self.mean_ms if len(self.samples) > 1 else 0.0

    @property
    def noisy(self) -> bool:
        return self.iqr_ms > NOISY_IQR_FRACTION * self.median_ms

    def _summary(self) -> str:
        label = f"{self.name}: " if self.name else ""
        return (f"{label}{self.median_ms:.3f} ms median, IQR {self.iqr_ms:.3f} ms, CV {self.cv:.1%} "
                f"({len(self.samples)} samples × {plural(self.number, 'run')}, {self.device}, "
                f"{plural(self.threads, 'thread')})")

    def __repr__(self) -> str:
        return f"LatencyResult({self._summary()})"

    def _repr_html_(self) -> str:
        flag = " <b style='color:#b00'>noisy</b>" if self.noisy else ""
        return f"<code>{self._summary()}</code>{flag}"


# --- the timing engine ------------------------------------------------------------------------------------

def page_faults() -> int | None:
    """Minor page faults of this process so far (``getrusage``; None where the OS has no such count, as on
    Windows). A fault is the OS handing the process a fresh page of memory: an allocator that maps a large
    activation anew on every forward pays one per 4 KiB, every time."""
    if resource is None:
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _time_block(c: "_Run", number: int, device: torch.device) -> float:
    """Milliseconds per forward over ``number`` back-to-back runs, device synchronised on both sides; the page faults
    per forward of the block go to ``c.faults``."""
    if c.threads is not None and torch.get_num_threads() != c.threads:
        set_threads(c.threads)
    synchronize(device)
    faults = page_faults()
    start = time.perf_counter()
    for _ in range(number):
        run_model(c.model, c.x, c.argument)
    synchronize(device)
    elapsed = (time.perf_counter() - start) * 1e3 / number
    if faults is not None:
        c.faults.append((page_faults() - faults) / number)
    return elapsed


@dataclasses.dataclass
class _Run:
    """The timing state of one candidate (``threads``: its own thread count, for thread comparisons)."""
    name: str
    model: nn.Module
    x: torch.Tensor
    argument: str
    threads: int | None = None
    number: int = 1
    calibration_ms: float = 0.0
    samples: list = dataclasses.field(default_factory=list)
    faults: list = dataclasses.field(default_factory=list)  # page faults per forward, per timed block


@contextlib.contextmanager
def garbage_collector_off():
    """A collection inside a timed block would be charged to whichever candidate was running."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def budget_scale() -> float:
    """What every timing budget — and every training's share of batches (``training.fit``) — is multiplied by:
    ``$EFFEDU_BUDGET_SCALE``, else 1. ``course.py test`` sets it below 1 so that the lessons run faster under test
    (the rounds stay, each round times fewer runs; each epoch trains on fewer batches). The tests never assert a
    timing outcome or a lesson's accuracy, so nothing they check depends on it."""
    text = os.environ.get(BUDGET_SCALE_VARIABLE, "").strip()
    if not text:
        return 1.0
    try:
        scale = float(text)
    except ValueError:
        scale = 0.0
    if not 0 < scale <= 1:
        raise ValueError(f"{BUDGET_SCALE_VARIABLE} must be a number in (0, 1], got {text!r}")
    return scale


def _check_budget(warmup: int, repeats: int, budget_s: float, number: int | None) -> None:
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup must be a non-negative integer, got {warmup!r}")
    positive_int(repeats, "repeats")
    positive_number(budget_s, "budget_s")
    if number is not None:
        positive_int(number, "number")


Progress = Callable[[int, int], None]  # (rounds done, rounds planned)


def _run_interleaved(runs: list[_Run], device: torch.device, *, warmup: int, repeats: int, budget_s: float,
                     number: int | None, interleave: bool, progress: bool | Progress,
                     fit_rounds: bool) -> float:
    """Warm up, choose ``number`` so each block takes budget_s / repeats (from the last warm-up run, timed), then
    sample round-robin. With ``warmup=0`` and no ``number`` every sample is one run and the first sample is the
    first forward pass ever run: the cold start stays visible. ``fit_rounds``: take only as many of the ``repeats``
    rounds as fit in ``budget_s`` per candidate, decided from the warm-up before any sample is taken — never from
    the samples themselves, so the round count cannot favour an outcome. Returns the process's CPU time over the
    wall time while sampling: about 1 for a CPU-bound model at one thread on a core of its own."""
    for c in runs:
        if c.threads is not None:
            set_threads(c.threads)
        for _ in range(warmup - 1):
            run_model(c.model, c.x, c.argument)
        if warmup and number is None:
            c.calibration_ms = _time_block(c, 1, device)  # the last warm-up run, timed
        if number is not None or not warmup:
            c.number = number or 1
        else:
            c.number = max(1, min(10_000, round(budget_s * 1e3 / repeats / max(c.calibration_ms, 1e-3))))
    if fit_rounds and warmup:
        per_round_ms = sum(c.number * c.calibration_ms for c in runs)
        repeats = max(1, min(repeats, round(budget_s * 1e3 * len(runs) / max(per_round_ms, 1e-3))))
    callback = progress if callable(progress) else None
    bar = tqdm(total=repeats, desc="timing (round-robin)" if interleave else "timing (one after another)",
               disable=progress is not True, leave=False)
    wall_start, cpu_start = time.perf_counter(), time.process_time()
    with garbage_collector_off(), bar:
        if interleave:
            for round_index in range(repeats):
                shift = round_index % len(runs)  # rotate who goes first: no candidate always follows another
                for c in runs[shift:] + runs[:shift]:
                    c.samples.append(_time_block(c, c.number, device))
                bar.update()
                if callback:
                    callback(round_index + 1, repeats)
        else:
            for c in runs:
                c.samples.extend(_time_block(c, c.number, device) for _ in range(repeats))
                bar.update(repeats / len(runs))
    return (time.process_time() - cpu_start) / max(time.perf_counter() - wall_start, 1e-9)


def measure_latency(model: nn.Module, x: InputLike, *, threads: int | None = 1, device: Device = None,
                    warmup: int = 5, repeats: int = 20, budget_s: float = 1.0, number: int | None = None,
                    name: str = "") -> LatencyResult:
    """Time one forward pass of ``model`` on ``x`` (a tensor or a shape tuple such as ``(1, 3, 224, 224)``).

    ``threads`` — torch's intra-op threads during the measurement (default 1: stable, and comparable with the
    papers' single-core phone numbers; ``None`` keeps the current setting). Restored afterwards.
    ``repeats`` samples are taken; each times ``number`` back-to-back runs (chosen so that all samples together
    take about ``budget_s`` unless given; with ``warmup=0`` it is 1, and ``samples[0]`` is the first forward pass
    ever run). Warns with ``NoisyMeasurementWarning`` when IQR > 10 % of the median.
    """
    frame = _compare({name or type(check_model(model)).__name__: model}, x, threads=threads, device=device,
                     warmup=warmup, repeats=repeats, budget_s=budget_s, number=number, interleave=True,
                     counts=False, progress=False)
    return frame.attrs["results"][frame.index[0]]


Candidates = Union[Mapping[str, Union[nn.Module, tuple]], Sequence[nn.Module]]


def _named_candidates(candidates: Candidates, x: InputLike | None) -> list[tuple[str, nn.Module, InputLike, str]]:
    """(name, model, input, the input's name for error messages) per candidate."""
    if isinstance(candidates, nn.Module) or not isinstance(candidates, (Mapping, Sequence)):
        raise TypeError("candidates must be a dict {name: model or (model, x)} or a list of models, "
                        f"got {type(candidates).__name__}")
    items = (list(candidates.items()) if isinstance(candidates, Mapping)
             else [(f"{i}: {type(m).__name__}", m) for i, m in enumerate(candidates)])
    if not items:
        raise ValueError("candidates must hold at least one model")
    named = []
    for name, entry in items:
        model, own_x = entry if isinstance(entry, tuple) else (entry, x)
        check_model(model, f"candidates[{name!r}]")
        if own_x is None:
            raise ValueError(f"x is missing: give x, or give candidate {name!r} as (model, x)")
        named.append((str(name), model, own_x, "x" if own_x is x else f"the input of candidate {name!r}"))
    return named


def compare_latency(candidates: Candidates, x: InputLike | None = None, *, threads: int | None = 1,
                    device: Device = None, warmup: int = 5, repeats: int = 20, budget_s: float = 1.0,
                    number: int | None = None, interleave: bool = True, counts: bool = True,
                    progress: bool | Progress = False, fit_rounds: bool = False,
                    candidate_threads: Sequence[int] | None = None) -> pd.DataFrame:
    """Time several models interleaved (round-robin) and return one row per candidate.

    ``candidates``: ``{name: model}``, ``{name: (model, x)}`` for per-candidate inputs, or a list of models.
    ``budget_s``: the timing budget per candidate. Columns:

    * ``median_ms``, ``min_ms`` (the fastest sample), ``iqr_ms``, ``cv`` — each candidate's own samples;
    * ``ratio`` — the median of the per-round ratios to the first candidate (the baseline), and ``ratio_lo`` /
      ``ratio_hi`` — its 95 % confidence interval (sign test; NaN below 6 rounds): ``effedu.verdict`` decides on it;
    * with ``counts=True``: ``params``, ``macs``, ``bytes`` and ``macs_ratio`` (MACs / the first's: what the
      MAC count promised ``ratio`` would be).

    ``interleave=False`` times each candidate to the end before the next — only to show why not to.
    ``progress=True`` shows a progress bar (a function ``(done, planned)`` is called after every round instead).
    ``fit_rounds=True`` takes only as many rounds as fit in the budget, decided from the warm-up before sampling
    (explorers: a slow setting gets fewer rounds, and "too few rounds to decide" below 6).
    ``candidate_threads``: each candidate's own CPU thread count, switched between blocks (a thread comparison
    with other candidates, as ``compare_threads`` does for one model); ``threads`` is then only the starting value.
    * ``faults`` — page faults per forward (median over the rounds; absent where the OS does not count them): a
      candidate whose activations the allocator maps afresh on every forward shows thousands.

    ``frame.attrs``: ``results`` ({name: LatencyResult}, every sample), ``threads``, ``device``, ``rounds``,
    ``cpu_share`` (CPU time over wall time while sampling).
    """
    if candidate_threads is not None:
        candidate_threads = [positive_int(n, "candidate_threads") for n in candidate_threads]
        if len(candidate_threads) != len(candidates):
            raise ValueError(f"candidate_threads must give one thread count per candidate ({len(candidates)}), "
                             f"got {len(candidate_threads)}")
    return _compare(candidates, x, threads=threads, device=device, warmup=warmup, repeats=repeats,
                    budget_s=budget_s, number=number, interleave=interleave, counts=counts, progress=progress,
                    fit_rounds=fit_rounds, per_candidate_threads=candidate_threads)


def compare_threads(model: nn.Module, x: InputLike, thread_counts: Sequence[int], *, device: Device = "cpu",
                    warmup: int = 3, repeats: int = 20, budget_s: float = 1.0,
                    progress: bool | Progress = False) -> pd.DataFrame:
    """The same model at several thread counts, timed interleaved (the thread count switches between blocks),
    so that drift cannot pose as a speed-up. Rows are named "1 thread", "2 threads", …; ``ratio`` is relative to
    the first count. Threads are a CPU matter: ``device`` defaults to the CPU even where a GPU is present."""
    counts = [positive_int(n, "thread_counts") for n in thread_counts]
    if not counts or len(set(counts)) != len(counts):
        raise ValueError(f"thread_counts must hold distinct positive integers, got {list(thread_counts)!r}")
    candidates = {thread_label(n): model for n in counts}
    return _compare(candidates, x, threads=None, device=device, warmup=warmup, repeats=repeats, budget_s=budget_s,
                    number=None, interleave=True, counts=False, progress=progress, fit_rounds=False,
                    per_candidate_threads=counts)


def thread_label(threads: int) -> str:
    return "1 thread" if threads == 1 else f"{threads} threads"


def _compare(candidates, x, *, threads, device, warmup, repeats, budget_s, number, interleave, counts, progress,
             fit_rounds=False, per_candidate_threads: Sequence[int] | None = None) -> pd.DataFrame:
    _check_budget(warmup, repeats, budget_s, number)
    budget_s *= budget_scale()
    named = _named_candidates(candidates, x)
    devices = {resolve_device(device, model) for _, model, _, _ in named}
    if len(devices) > 1:
        raise ValueError(f"device: the candidates live on different devices {sorted(map(str, devices))}; "
                         "pass device= to measure them all on one")
    run_device = devices.pop()
    own_threads = list(per_candidate_threads or [None] * len(named))
    with threads_fixed(threads) as used_threads, torch.inference_mode(), contextlib.ExitStack() as restorers:
        for _, model, _, _ in named:
            restorers.enter_context(model_restored(model, run_device))
        runs = [_Run(name, model, make_input(cx, run_device, argument), argument, own)
                for (name, model, cx, argument), own in zip(named, own_threads)]
        cpu_share = _run_interleaved(runs, run_device, warmup=warmup, repeats=repeats, budget_s=budget_s,
                                     number=number, interleave=interleave, progress=progress,
                                     fit_rounds=fit_rounds)
    results = {c.name: LatencyResult(c.samples, c.threads or used_threads, str(run_device), c.number, warmup,
                                     c.name, cpu_share, _median_faults(c)) for c in runs}
    frame = comparison_stats({c.name: c.samples for c in runs})
    if all(r.faults_per_forward is not None for r in results.values()):
        frame["faults"] = [results[name].faults_per_forward for name in frame.index]
    if counts:
        counted = counts_frame({name: (model, cx) for name, model, cx, _ in named}, device=run_device)
        frame = frame.assign(**counted)  # aligned by name; the frame keeps its attrs
        if frame["macs"].iloc[0] > 0:
            frame["macs_ratio"] = frame["macs"] / frame["macs"].iloc[0]  # beside "ratio": promised vs measured
    frame.attrs.update(results=results, threads=used_threads, device=str(run_device),
                       rounds=len(runs[0].samples), cpu_share=cpu_share)
    _warn_if_noisy(results.values(), used_threads)
    if run_device.type == "cpu" and all((c.threads or used_threads) == 1 for c in runs):
        _warn_if_starved(cpu_share)
    return frame


def _median_faults(c: _Run) -> float | None:
    """The median page faults per forward over the timed blocks (the warm-up's calibration block left out)."""
    timed = c.faults[-len(c.samples):] if c.samples else []
    return statistics.median(timed) if timed and len(c.faults) >= len(c.samples) else None


@contextlib.contextmanager
def quiet():
    """Silence ``NoisyMeasurementWarning`` inside the block — for demos that are noisy on purpose. A starved
    measurement (``StarvedMeasurementWarning``) is still said: it is not noise, it is another program's load."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoisyMeasurementWarning)
        yield


def _warn_if_noisy(results, threads: int) -> None:
    noisy = [r for r in results if r.noisy]
    if not noisy:
        return
    spread = max(r.iqr_ms / r.median_ms for r in noisy)
    advice = ["close other programs (a browser tab playing video, a running download) and run the cell again"]
    if threads != 1:
        advice.append("use threads=1")
    if len(noisy[0].samples) < 10:
        advice.append("raise repeats (only a few samples were taken)")
    else:
        advice.append("raise budget_s")
    warnings.warn(f"noisy measurement for {', '.join(r.name for r in noisy)}: the middle half of the samples "
                  f"spans up to {spread:.0%} of the median (limit {NOISY_IQR_FRACTION:.0%}) — "
                  f"{'; '.join(advice)}. The 95 % interval ratio_lo–ratio_hi already accounts for this noise.",
                  NoisyMeasurementWarning, stacklevel=4)


def _warn_if_starved(cpu_share: float) -> None:
    """One thread on a core of its own keeps that core busy while it measures. Far less CPU time than wall time
    means the core was shared — other users' kernels on a hub, another program — which the spread of the samples
    cannot show when the sharing is steady (every sample slows alike, and comparisons can still be off)."""
    if cpu_share >= STARVED_CPU_SHARE:
        return
    warnings.warn(f"starved measurement: this kernel got {cpu_share:.0%} of one CPU while it measured (CPU time "
                  "against wall time; a core of its own gives about 100 %) — other programs or users share its "
                  "core (on a hub: ask for a CPU guarantee), or the model waits (sleep, I/O). Times are inflated and "
                  "even paired ratios can be off; close other programs and run the cell again.",
                  StarvedMeasurementWarning, stacklevel=4)


def sweep(settings: Sequence[Mapping], build, x: InputLike | None = None, *, progress: bool = True,
          **compare_options) -> pd.DataFrame:
    """``compare_latency`` once per setting: ``build(**setting)`` returns the candidates. One row per
    (setting, candidate), the setting's values as columns — ready for a line plot of ``ratio`` against them."""
    frames = []
    for setting in tqdm(list(settings), desc="sweep", disable=not progress):
        frame = compare_latency(build(**setting), x, **compare_options).reset_index()
        frames.append(frame.assign(**setting))
    if not frames:
        raise ValueError("settings must hold at least one setting")
    return pd.concat(frames, ignore_index=True)


# --- in a notebook: a noisy measurement is one readable line, not a stderr box with a temporary file path ----

def _show_noise_as_a_note(message, category, filename, lineno, file=None, line=None):
    if issubclass(category, (NoisyMeasurementWarning, StarvedMeasurementWarning)):
        from IPython.display import HTML, display

        display(HTML(f"<div style='color:#8a5a00'>⚠ {str(message)}</div>"))
    else:
        _standard_showwarning(message, category, filename, lineno, file, line)


_standard_showwarning = warnings.showwarning


def notebook() -> None:
    """Set a lesson's kernel up for measuring, once, in its first cell: effedu's measurement warnings (noisy,
    starved) show as one orange line each, instead of a stderr box with a temporary file path; and glibc's memory
    allocator is pinned (``machine.pin_allocator``), so that every process of the course measures with the same
    allocator behaviour — the lesson's setup line says so. Outside a notebook (scripts, tests) it does nothing."""
    if in_kernel():
        from .machine import pin_allocator  # machine imports timing: a module-level import would be circular

        warnings.showwarning = _show_noise_as_a_note
        pin_allocator()
