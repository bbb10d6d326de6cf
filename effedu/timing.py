"""Latency, measured honestly — the only fair judge of speed.

The protocol (as nanoGPT's ``bench.py`` and ``torch.utils.benchmark`` do it): ``eval()`` and
``inference_mode``, a fixed and reported thread count, warm-up runs that are thrown away, the device
synchronised on both sides of every timed block, and robust statistics (median and IQR, not the mean). Several
candidates are timed *interleaved* — one block of each in turn — so that the machine's drift (another program,
the CPU clocking down) hits all of them alike and their ratio stays honest.

``torch.utils.benchmark`` times one statement at a time and runs a warm-up inside every call, so it cannot
interleave candidates on a fixed budget; the benchmark script (``benchmarks/measure_quality.py``) checks that
``measure_latency`` agrees with it.
"""
from __future__ import annotations

import dataclasses
import gc
import os
import platform
import statistics
import time
import warnings
from typing import Mapping, Sequence, Union

import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm, trange

from ._runtime import (InputLike, check_model, check_positive_int, make_input, model_restored,
                       resolve_device, run_model, synchronize, threads_fixed)

NOISY_IQR_FRACTION = 0.10  # warn when the IQR exceeds 10 % of the median


class NoisyMeasurementWarning(UserWarning):
    """The spread of the samples is too large to trust small differences."""


@dataclasses.dataclass
class LatencyResult:
    """Per-forward latencies of one model: ``samples`` holds one value (ms) per timed block of ``number`` runs."""
    samples: list[float]
    threads: int
    device: str
    number: int
    warmup: int
    name: str = ""

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples)

    @property
    def iqr_ms(self) -> float:
        if len(self.samples) < 2:
            return 0.0
        q1, _, q3 = statistics.quantiles(self.samples, n=4, method="inclusive")
        return q3 - q1

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
        thread_word = "thread" if self.threads == 1 else "threads"
        label = f"{self.name}: " if self.name else ""
        return (f"{label}{self.median_ms:.3f} ms median, IQR {self.iqr_ms:.3f} ms, CV {self.cv:.1%} "
                f"({len(self.samples)} samples × {self.number} runs, {self.device}, {self.threads} {thread_word})")

    def __repr__(self) -> str:
        return f"LatencyResult({self._summary()})"

    def _repr_html_(self) -> str:
        flag = " <b style='color:#b00'>noisy</b>" if self.noisy else ""
        return f"<code>{self._summary()}</code>{flag}"


def _time_block(c: "_Candidate", number: int, device: torch.device) -> float:
    """Milliseconds per forward over ``number`` back-to-back runs, device synchronised on both sides.
    ``run_model`` turns a shape error into one naming the input (a ``try`` costs nothing when nothing raises)."""
    synchronize(device)
    start = time.perf_counter()
    for _ in range(number):
        run_model(c.model, c.x, c.argument)
    synchronize(device)
    return (time.perf_counter() - start) * 1e3 / number


class _Candidate:
    def __init__(self, name: str, model: nn.Module, x: torch.Tensor, argument: str):
        self.name, self.model, self.x, self.argument = name, model, x, argument
        self.number = 1
        self.samples: list[float] = []


def _check_budget(warmup: int, repeats: int, budget_s: float, number: int | None) -> None:
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup must be a non-negative integer, got {warmup!r}")
    check_positive_int(repeats, "repeats")
    if not isinstance(budget_s, (int, float)) or not budget_s > 0:
        raise ValueError(f"budget_s must be a positive number of seconds, got {budget_s!r}")
    if number is not None:
        check_positive_int(number, "number")


def _run_interleaved(candidates: list[_Candidate], device: torch.device, *, warmup: int, repeats: int,
                     budget_s: float, number: int | None, interleave: bool, progress: bool) -> None:
    """Warm up, calibrate ``number`` so each block takes budget_s / repeats, then sample round-robin."""
    for c in candidates:
        for _ in range(warmup):
            run_model(c.model, c.x, c.argument)
        if number is None:
            one_run_ms = _time_block(c, 1, device)  # calibration run: with warmup=0 it is the cold one
            c.number = max(1, min(10_000, round(budget_s * 1e3 / repeats / max(one_run_ms, 1e-3))))
        else:
            c.number = number
    gc_was_enabled = gc.isenabled()
    gc.disable()  # a collection inside one block would be charged to whichever candidate was running
    try:
        if interleave:
            for round_index in trange(repeats, desc="timing (round-robin)", disable=not progress, leave=False):
                shift = round_index % len(candidates)  # rotate who goes first: no candidate always follows another
                for c in candidates[shift:] + candidates[:shift]:
                    c.samples.append(_time_block(c, c.number, device))
        else:
            for c in tqdm(candidates, desc="timing (one after another)", disable=not progress, leave=False):
                c.samples.extend(_time_block(c, c.number, device) for _ in range(repeats))
    finally:
        if gc_was_enabled:
            gc.enable()


def measure_latency(model: nn.Module, x: InputLike, *, threads: int | None = 1, device=None, warmup: int = 5,
                    repeats: int = 20, budget_s: float = 1.0, number: int | None = None,
                    name: str = "") -> LatencyResult:
    """Time one forward pass of ``model`` on ``x`` (a tensor or a shape tuple such as ``(1, 3, 224, 224)``).

    ``threads`` — torch's intra-op threads during the measurement (default 1: stable, and comparable with the
    papers' single-core phone numbers; ``None`` keeps the current setting). Restored afterwards.
    ``repeats`` samples are taken; each times ``number`` back-to-back runs (chosen so that all samples together
    take about ``budget_s`` unless given). Warns with ``NoisyMeasurementWarning`` when IQR > 10 % of the median.
    """
    frame = _compare({name or type(check_model(model)).__name__: model}, x, threads=threads, device=device,
                     warmup=warmup, repeats=repeats, budget_s=budget_s, number=number, interleave=True,
                     counts=False, progress=False)
    return frame.attrs["results"][frame.index[0]]


Candidates = Union[Mapping[str, Union[nn.Module, tuple]], Sequence[nn.Module]]


def _named_candidates(candidates: Candidates,
                      x: InputLike | None) -> list[tuple[str, nn.Module, InputLike, str]]:
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
                    device=None, warmup: int = 5, repeats: int = 20, budget_s: float = 1.0,
                    number: int | None = None, interleave: bool = True, counts: bool = True,
                    progress: bool = False) -> pd.DataFrame:
    """Time several models interleaved (round-robin) and return one row per candidate.

    ``candidates`` — ``{name: model}``, ``{name: (model, x)}`` for per-candidate inputs, or a list of models.
    Columns: ``median_ms``, ``min_ms`` (the fastest sample), ``iqr_ms``, ``cv``, ``ratio`` (median / the first candidate's median), ``ratio_lo``
    and ``ratio_hi`` (quartiles of the per-round ratios: interleaving pairs the samples, so this is the ratio's
    own noise — a difference inside [ratio_lo, ratio_hi] of 1.0 is not a difference) and, with
    ``counts=True``, ``params``, ``macs``, ``bytes`` and ``macs_ratio`` (MACs / the first's: the promise that
    ``ratio`` checks). ``budget_s`` is the timing budget per candidate.
    ``interleave=False`` times each candidate to the end before the next — only to show why not to.
    ``progress=True`` shows a progress bar over the rounds (for long sweeps).
    ``frame.attrs["results"]`` holds each candidate's ``LatencyResult`` (all samples), for plots.
    """
    return _compare(candidates, x, threads=threads, device=device, warmup=warmup, repeats=repeats,
                    budget_s=budget_s, number=number, interleave=interleave, counts=counts, progress=progress)


def _compare(candidates, x, *, threads, device, warmup, repeats, budget_s, number, interleave, counts,
             progress) -> pd.DataFrame:
    from .counting import count_params, record_ops

    _check_budget(warmup, repeats, budget_s, number)
    named = _named_candidates(candidates, x)
    devices = {resolve_device(device, model) for _, model, _, _ in named}
    if len(devices) > 1:
        raise ValueError(f"device: the candidates live on different devices {sorted(map(str, devices))}; "
                         "pass device= to measure them all on one")
    run_device = devices.pop()
    with threads_fixed(threads) as used_threads, torch.inference_mode():
        restorers = [model_restored(model, run_device) for _, model, _, _ in named]
        entered = []
        try:
            for restorer in restorers:
                restorer.__enter__()
                entered.append(restorer)
            runs = [_Candidate(name, model, make_input(cx, run_device, argument), argument)
                    for name, model, cx, argument in named]
            _run_interleaved(runs, run_device, warmup=warmup, repeats=repeats, budget_s=budget_s,
                             number=number, interleave=interleave, progress=progress)
        finally:
            for restorer in reversed(entered):
                restorer.__exit__(None, None, None)
    results = {c.name: LatencyResult(c.samples, used_threads, str(run_device), c.number, warmup, c.name)
               for c in runs}
    baseline = results[runs[0].name].median_ms
    rows = []
    for (name, model, cx, _), c in zip(named, runs):
        r = results[name]
        # Interleaved rounds pair the samples: the spread of the per-round ratios is the ratio's own noise.
        paired = [mine / base for mine, base in zip(c.samples, runs[0].samples)]
        low, _, high = statistics.quantiles(paired, n=4, method="inclusive") if len(paired) > 1 else (1.0,) * 3
        row = {"candidate": name, "median_ms": r.median_ms, "min_ms": min(r.samples), "iqr_ms": r.iqr_ms, "cv": r.cv,
               "ratio": r.median_ms / baseline, "ratio_lo": low, "ratio_hi": high}
        if counts:
            records = record_ops(model, cx, device=run_device)
            row.update(params=count_params(model), macs=sum(r.macs for r in records),
                       bytes=sum(r.bytes for r in records))
        rows.append(row)
    frame = pd.DataFrame(rows).set_index("candidate")
    if counts and frame["macs"].iloc[0] > 0:
        frame["macs_ratio"] = frame["macs"] / frame["macs"].iloc[0]  # beside "ratio": promised vs measured
    frame.attrs.update(results=results, threads=used_threads, device=str(run_device))
    noisy = [r.name for r in results.values() if r.noisy]
    if noisy:
        advice = "close other programs" + (", use threads=1" if used_threads != 1 else "")
        warnings.warn(f"noisy measurement for {', '.join(noisy)}: the IQR exceeds {NOISY_IQR_FRACTION:.0%} of "
                      f"the median — {advice}, or raise budget_s / repeats before trusting small differences "
                      "(ratio_lo / ratio_hi show how far the ratios can be trusted)", NoisyMeasurementWarning,
                      stacklevel=3)  # point at the notebook line that called measure_ / compare_latency
    return frame


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


def available_cores() -> int:
    """Logical CPUs this process may use (respects CPU affinity, as containers and Binder set it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    if platform.system() == "Darwin":
        import subprocess

        try:
            return subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True,
                                  text=True, timeout=5).stdout.strip() or platform.machine()
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or platform.machine()


class Hardware(dict):
    """``hardware()``'s answer: a dict that shows as a small table in a notebook."""

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><th style='text-align:left'>{k}</th><td style='text-align:left'>{v}</td></tr>"
                       for k, v in self.items())
        return f"<table>{rows}</table>"


def hardware() -> Hardware:
    """The machine the numbers come from: CPU, cores, torch threads, torch version and backends, GPU."""
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    backends = [name for name, available in (
        ("MKL", torch.backends.mkl.is_available()), ("oneDNN", torch.backends.mkldnn.is_available()),
        ("OpenMP", torch.backends.openmp.is_available()), ("CUDA", torch.cuda.is_available()),
        ("MPS", torch.backends.mps.is_available())) if available]
    return Hardware({
        "cpu": _cpu_name(),
        "logical cores": os.cpu_count(),
        "usable cores": available_cores(),
        "torch threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "backends": ", ".join(backends) or "none",
        "gpu": gpu,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
    })
