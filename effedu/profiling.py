"""Where a network's MACs, bytes and time go: per layer (``profile_layers``), per kind of layer or class of operator
(``time_shares``, ``count_by_kind``), against the machine's roofline (``roofline_table``), and per network — the
reference models side by side with their published figures (``zoo``).

Per-layer time uses the same protocol as ``effedu.timing`` (warm-up, garbage collector off, device synchronised)
and a clock chosen for the device: on the CPU the host clock around each layer; on a CUDA GPU, CUDA events recorded
on the stream and read after the run, so that no layer waits for the host (a synchronisation per layer would
charge each small layer a launch-and-wait of its own and flatten the shares).
"""
from __future__ import annotations

import statistics
import time
from typing import Callable, NamedTuple

import pandas as pd
import torch
from torch import nn

from . import models
from ._runtime import Device, InputLike, ModuleStack, guarded_run, positive_int, run_model, synchronize
from .counting import count_fast, counts_frame, record_ops
from .stats import Range, median_interval
from .timing import compare_latency, garbage_collector_off

CLOCK_METHODS = {
    "cpu": "host clock around each layer",
    "cuda": "CUDA events on the stream, read once per run (no host synchronisation per layer)",
    "mps": "host clock with a device synchronisation around each layer (distorts small layers)",
}


class LayerClock:
    """Start and end marks around every module call; exclusive time = inclusive minus the direct children's."""

    def __init__(self, device: torch.device):
        self.device = device
        self.events = device.type == "cuda"
        self.open: list[list] = []  # [name, start mark, children]
        self.closed: list[list] = []
        self.clamped = 0  # exclusive times below zero: timer jitter, counted as zero

    def _mark(self):
        if self.events:
            event = torch.cuda.Event(enable_timing=True)
            event.record()
            return event
        synchronize(self.device)  # a no-op on the CPU
        return time.perf_counter()

    def _elapsed_ms(self, start, end) -> float:
        return start.elapsed_time(end) if self.events else (end - start) * 1e3

    def enter(self, name: str) -> None:
        self.open.append([name, self._mark(), []])

    def leave(self, name: str) -> None:
        _, start, children = self.open.pop()
        record = [name, start, self._mark(), children]
        if self.open:
            self.open[-1][2].append(record)
        self.closed.append(record)

    def take_round(self) -> dict[str, float]:
        """Each layer's exclusive milliseconds in the run just finished (summed over its calls)."""
        synchronize(self.device)
        totals: dict[str, float] = {}
        for name, start, end, children in self.closed:
            own = self._elapsed_ms(start, end) - sum(self._elapsed_ms(c[1], c[2]) for c in children)
            if own < 0:
                self.clamped += 1
            totals[name] = totals.get(name, 0.0) + max(own, 0.0)
        self.closed = []
        return totals


def profile_layers(model: nn.Module, x: InputLike, *, threads: int | None = 1, device: Device = None,
                   repeats: int = 20, warmup: int = 3) -> pd.DataFrame:
    """One row per layer that runs ops: counts, measured time and its share of the total.

    A layer is a leaf module, or a container's own ops (the ``x + identity`` and ReLU in a ResNet block's
    ``forward`` are rows of their own, type ``Bottleneck`` etc. — they are real time at 0 MACs). Columns:
    ``layer, type, kind`` (``layer_kind``), ``op_class`` (``op_class``), ``ops, out_shape, params, macs, bytes,
    intensity`` (FLOPs per byte moved, for the roofline), ``median_ms`` (median over ``repeats`` runs of the
    layer's own time) and ``share`` of the summed layer time.

    ``frame.attrs``: ``model_latency_ms`` — the median end-to-end time of runs with the hooks switched off,
    alternated with the hooked runs (compare it with ``median_ms.sum()`` to see the hooks' overhead);
    ``rounds`` — a frame of every run's per-layer times (for share ranges, ``time_shares``); ``method`` — the
    clock used; ``clamped`` — how many layer times fell below zero (timer jitter) and were counted as zero;
    ``threads`` and ``device``.
    """
    positive_int(repeats, "repeats")
    records = record_ops(model, x, device=device)
    modules = dict(model.named_modules())
    rows: dict[str, dict] = {}
    for r in records:
        module = modules[r.module]
        row = rows.setdefault(r.module, {"layer": r.module or "(model)", "type": type(module).__name__,
                                         "kind": layer_kind(module), "ops": [], "out_shape": (), "macs": 0,
                                         "bytes": 0})
        short = r.op.split(".")[1]
        if (r.bytes or r.macs) and short not in row["ops"]:
            row["ops"].append(short)
        row["out_shape"] = r.out_shape
        row["macs"] += r.macs
        row["bytes"] += r.bytes
    leaves = {name for name, m in modules.items() if not list(m.children())}
    rows = {name: row for name, row in rows.items() if name in leaves or row["bytes"] or row["macs"]}

    with guarded_run(model, x, device=device, threads=threads) as (model, tensor, used_threads):
        clock = LayerClock(tensor.device)
        for _ in range(warmup):
            run_model(model, tensor)
        per_round, end_to_end = [], []
        with ModuleStack(model, clock.enter, clock.leave) as stack, garbage_collector_off():
            for _ in range(repeats):  # alternate, so that drift hits the layer times and the total alike
                stack.enabled = True
                run_model(model, tensor)
                per_round.append(clock.take_round())
                stack.enabled = False
                synchronize(tensor.device)
                start = time.perf_counter()
                run_model(model, tensor)
                synchronize(tensor.device)
                end_to_end.append((time.perf_counter() - start) * 1e3)
    rounds = pd.DataFrame(per_round).reindex(columns=list(rows)).fillna(0.0)
    for name, row in rows.items():
        own = modules[name]
        row["params"] = sum(p.numel() for p in own.parameters(recurse=name in leaves))
        row["median_ms"] = float(rounds[name].median())
        row["ops"] = ", ".join(row["ops"])
        row["op_class"] = op_class(row["ops"], row["kind"])
        row["intensity"] = 2 * row["macs"] / row["bytes"] if row["bytes"] else float("nan")
    frame = pd.DataFrame(list(rows.values()), columns=[
        "layer", "type", "kind", "op_class", "ops", "out_shape", "params", "macs", "bytes", "intensity",
        "median_ms"])
    total = frame["median_ms"].sum()
    frame["share"] = frame["median_ms"] / total if total > 0 else 0.0
    rounds.columns = list(frame["layer"])
    frame.attrs.update(model_latency_ms=statistics.median(end_to_end), rounds=rounds,
                       method=CLOCK_METHODS[tensor.device.type], clamped=clock.clamped, threads=used_threads,
                       device=str(tensor.device))
    return frame


def layer_kind(module: nn.Module) -> str:
    """'pointwise 1×1', 'grouped 1×1', 'depthwise k×k', 'grouped k×k', 'conv k×k', 'fully connected' or
    'other'."""
    if isinstance(module, nn.Linear):
        return "fully connected"
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        if (kh, kw) == (1, 1):
            return "pointwise 1×1" if module.groups == 1 else "grouped 1×1"
        if module.groups == module.in_channels and module.groups > 1:
            return f"depthwise {kh}×{kw}"
        return f"grouped {kh}×{kw}" if module.groups > 1 else f"conv {kh}×{kw}"
    return "other"


OP_CLASSES = [  # (class, ATen op names) — how profile_layers rows are grouped by what they do
    ("conv / linear", ("convolution", "addmm", "mm")),
    ("BatchNorm", ("native_batch_norm", "_native_batch_norm_legit_no_training", "batch_norm")),
    ("activation", ("relu", "relu_", "hardtanh", "hardtanh_", "clamp", "clamp_", "sigmoid", "gelu")),
    ("add / cat / copy", ("add", "add_", "cat", "clone", "copy_", "mul", "neg")),
    ("pooling", ("max_pool2d", "max_pool2d_with_indices", "avg_pool2d", "mean")),
]
ELEMENTWISE_CLASSES = ("BatchNorm", "activation", "add / cat / copy")


def op_class(ops: str, kind: str = "") -> str:
    """The class of a ``profile_layers`` row from its ``ops`` (and ``kind``): 'conv / linear', 'depthwise conv'
    (ShuffleNetV2's G4 counts it with the elementwise ops: much memory access per FLOP), 'BatchNorm', …"""
    names = [op.strip() for op in ops.split(",") if op.strip()]
    for label, members in OP_CLASSES:
        if any(name in members for name in names):
            return "depthwise conv" if label == "conv / linear" and kind.startswith("depthwise") else label
    return "other" if names else "views only"


def time_shares(layers: pd.DataFrame, by: str | Callable[[str], str] = "kind") -> pd.DataFrame:
    """MACs, bytes and measured time per group of layers, with shares — the time that MAC counts miss.

    ``by``: a column of ``layers`` ("kind", "op_class", "type") or a function of the layer name (e.g. its stage,
    ``lambda name: name.split(".")[0]``). ``time_share`` is the median over the profiled runs of the group's share
    of that run's time, and ``time_share_lo`` / ``time_share_hi`` that median's 95 % interval (sign test over the
    runs in ``attrs["rounds"]``; NaN with fewer than 6 runs), so the share comes with its own uncertainty and always
    lies inside it."""
    groups = layers[by] if isinstance(by, str) else layers["layer"].map(by)
    label = by if isinstance(by, str) else "group"
    grouped = layers.assign(**{label: groups}).groupby(label, sort=False)[["macs", "bytes", "median_ms"]].sum()
    grouped["macs_share"] = grouped["macs"] / grouped["macs"].sum() if grouped["macs"].sum() else 0.0
    rounds = layers.attrs.get("rounds")
    if rounds is not None and len(rounds):
        group_of = dict(zip(layers["layer"], groups))
        runs = rounds[[name for name in rounds.columns if name in group_of]]
        per_group = runs.T.groupby(runs.columns.map(group_of)).sum().T  # runs × groups
        per_run_share = per_group.div(per_group.sum(axis=1).where(lambda s: s > 0), axis=0).fillna(0.0)
        shares = [median_interval(list(per_run_share[g])) for g in grouped.index]
        grouped["time_share"] = [r.value for r in shares]
        grouped["time_share_lo"] = [r.lo for r in shares]
        grouped["time_share_hi"] = [r.hi for r in shares]
    else:  # a frame without its runs (e.g. rebuilt by hand): the share of the medians, no interval
        total = grouped["median_ms"].sum()
        grouped["time_share"] = grouped["median_ms"] / total if total else 0.0
        grouped["time_share_lo"] = grouped["time_share_hi"] = float("nan")
    grouped.attrs.update({key: layers.attrs[key] for key in ("model_latency_ms", "method", "clamped", "device",
                                                              "threads") if key in layers.attrs})
    return grouped.sort_values("time_share", ascending=False)


class Share(NamedTuple):
    """What one group of layers costs: its share of the time (median over the profiled runs, a ``Range`` with its
    95 % interval) and its share of the MACs."""
    time: Range
    macs: float


def share_of(layers: pd.DataFrame, selected: pd.Series) -> Share:
    """The ``Share`` of the rows of ``layers`` that ``selected`` (a boolean mask over them) picks; all zero when it
    picks none."""
    shares = time_shares(layers.assign(selected=pd.Series(selected).to_numpy()), by="selected")
    if True not in shares.index:
        return Share(Range(0.0, 0.0, 0.0), 0.0)
    row = shares.loc[True]
    return Share(Range.of(row, "time_share"), float(row.macs_share))


def count_by_kind(model: nn.Module, x: InputLike, *, device: Device = None) -> pd.DataFrame:
    """MACs and weights per kind of layer, with shares over the conv and FC layers only — the convention of
    MobileNetV1's Table 2 (BatchNorm and other layers are listed but not in the shares)."""
    modules = dict(model.named_modules())
    macs: dict[str, int] = {}
    for r in record_ops(model, x, device=device):
        kind = layer_kind(modules[r.module])
        macs[kind] = macs.get(kind, 0) + r.macs
    params: dict[str, int] = {}
    for module in modules.values():
        if not list(module.children()):
            kind = layer_kind(module)
            params[kind] = params.get(kind, 0) + sum(p.numel() for p in module.parameters(recurse=False))
    kinds = sorted(set(macs) | set(params), key=lambda k: (k == "other", k))
    frame = pd.DataFrame({"macs": [macs.get(k, 0) for k in kinds], "params": [params.get(k, 0) for k in kinds]},
                         index=pd.Index(kinds, name="kind"))
    counted = frame.drop(index="other", errors="ignore")
    frame["macs_share"] = (counted["macs"] / counted["macs"].sum()).reindex(frame.index)
    frame["params_share"] = (counted["params"] / counted["params"].sum()).reindex(frame.index)
    return frame


def roofline_table(layers: pd.DataFrame, peaks: dict, by: str = "kind") -> pd.DataFrame:
    """Per group of layers that do MACs: median arithmetic intensity, median achieved GFLOP/s, median share of
    the roof (min(peak, bandwidth × intensity)) and which limit the roof is at their intensity ('memory' left of
    the ridge point, 'compute' right of it)."""
    ridge = peaks["peak_gflops"] / peaks["bandwidth_gbs"]
    rows = layers[(layers["macs"] > 0) & (layers["median_ms"] > 0)]
    achieved = achieved_gflops(rows)
    roof = rows["intensity"].clip(upper=ridge) * peaks["bandwidth_gbs"]
    table = pd.DataFrame({"median intensity": rows.groupby(by)["intensity"].median(),
                          "median GFLOP/s": achieved.groupby(rows[by]).median(),
                          "median share of its roof": (achieved / roof).groupby(rows[by]).median(),
                          "layers above their roof": (achieved > roof).groupby(rows[by]).sum()})
    table["bound by"] = ["memory" if i < ridge else "compute" for i in table["median intensity"]]
    table.attrs["ridge"] = ridge
    return table


def achieved_gflops(layers: pd.DataFrame) -> pd.Series:
    """FLOPs (2 per MAC) per second each layer achieved, in GFLOP/s."""
    return 2 * layers["macs"] / layers["median_ms"] / 1e6


def throughput(frame: pd.DataFrame) -> pd.DataFrame:
    """A ``compare_latency`` frame (with counts) as operators on a roofline: each candidate's achieved GMAC/s with
    the 95 % interval of its median time turned into one of its rate (``gmacs``, ``gmacs_lo``, ``gmacs_hi``), its
    arithmetic ``intensity`` (FLOPs per byte moved) and ``kind`` (its name) — what ``plots.roofline`` draws.
    FasterNet's "FLOPS" (Chen et al. 2023) counts multiply-adds, so GMAC/s is their unit."""
    rows = {}
    for name in frame.index:
        samples_ms = frame.attrs["results"][name].samples
        rate = float(frame.loc[name, "macs"]) / 1e6 / median_interval(samples_ms)  # MACs / ms / 1e6 = GMAC/s
        rows[name] = {"gmacs": rate.value, "gmacs_lo": rate.lo, "gmacs_hi": rate.hi,
                      "intensity": 2 * frame.loc[name, "macs"] / frame.loc[name, "bytes"], "kind": name}
    return frame.join(pd.DataFrame(rows).T.astype({"gmacs": float, "gmacs_lo": float, "gmacs_hi": float,
                                                   "intensity": float}))


def roofline_ms(model: nn.Module, x: InputLike, peaks: dict, *, device: Device = None) -> float:
    """MobileNetV4's hardware-independent latency model (Qin et al. 2024, Sec. 3, Eq. 1) on this machine's measured
    roofline: the sum over operators of max(MACs / peak MAC rate, bytes moved / bandwidth), in ms. "Using total
    MACs to proxy latency is the same as a roofline with ridge point 0" — this one has this machine's ridge."""
    return _roofline_ms(record_ops(model, x, device=device), peaks)


def _roofline_ms(records, peaks: dict, limit: str | None = None) -> float:
    """``roofline_ms`` of recorded operators; ``limit`` ("memory" or "compute"): only the operators at that roof."""
    peak_macs_per_ms = peaks["peak_gflops"] / 2 * 1e6  # GFLOP/s → MACs per ms
    bytes_per_ms = peaks["bandwidth_gbs"] * 1e6
    total = 0.0
    for r in records:
        compute_ms, memory_ms = r.macs / peak_macs_per_ms, r.bytes / bytes_per_ms
        at = "memory" if memory_ms > compute_ms else "compute"
        total += max(compute_ms, memory_ms) if limit in (None, at) else 0.0
    return float(total)


def roofline_speeds(candidates: dict, rooflines: dict, *, device: Device = None) -> pd.DataFrame:
    """MobileNetV4's roofline model (``roofline_ms``) for several candidates (name → (model, input)) on several
    machines' rooflines (label → {"peak_gflops", "bandwidth_gbs"}: ``machine.machine_peaks`` or a paper device's
    vendor figures): each candidate's arithmetic intensity (``FLOP per byte``, the whole model's) and, per machine,
    its predicted speed relative to the first candidate. ``attrs``: ``ridge`` (FLOP/byte per machine), ``ms``
    (predicted ms, per machine and candidate), ``bound`` ('memory', 'compute' or 'mixed': where the predicted time
    of the candidate's operators sits, per machine and candidate) and ``bytes`` (bytes moved per candidate). Counted on
    the meta device (no arithmetic), or on ``device`` when one is given."""
    if not candidates or not rooflines:
        raise ValueError("candidates and rooflines must each name at least one entry")
    records = {name: record_ops(model, x, device=device) if device is not None else count_fast(model, x)
               for name, (model, x) in candidates.items()}  # counting alone: the meta device, no arithmetic
    moved = {name: sum(r.bytes for r in ops) for name, ops in records.items()}
    intensity = {name: 2 * sum(r.macs for r in ops) / moved[name] for name, ops in records.items()}
    first = next(iter(records))
    ms = {label: {name: _roofline_ms(ops, peaks) for name, ops in records.items()}
          for label, peaks in rooflines.items()}

    def bound(ops, peaks) -> str:
        memory = _roofline_ms(ops, peaks, "memory")
        return "memory" if memory == _roofline_ms(ops, peaks) else "compute" if memory == 0 else "mixed"

    table = pd.DataFrame({"FLOP per byte": intensity,
                          **{label: {name: ms[label][first] / ms[label][name] for name in records}
                             for label in rooflines}})
    table.attrs.update({"ridge": {label: p["peak_gflops"] / p["bandwidth_gbs"] for label, p in rooflines.items()},
                        "ms": ms, "bytes": moved,
                        "bound": {label: {name: bound(ops, peaks) for name, ops in records.items()}
                                  for label, peaks in rooflines.items()}})
    return table


def zoo(resolution: int = 224, *, latency: bool = False, threads: int = 1, device: Device = None,
        budget_s: float = 1.0, progress: bool = True, networks: dict | None = None) -> pd.DataFrame:
    """The reference models (``networks``: name → builder, default ``models.REFERENCE_MODELS``) at ``resolution``:
    params, MACs, memory traffic, the published figures beside them (``published_macs_M``,
    ``published_params_M``, ``source``), and (``latency=True``) median latency measured interleaved on ``device``
    — the "fewer MACs, yet slower" data."""
    positive_int(resolution, "resolution")
    shape = (1, 3, resolution, resolution)
    networks = {name: build() for name, build in (networks or models.REFERENCE_MODELS).items()}
    if latency:
        frame = compare_latency(networks, shape, threads=threads, device=device, budget_s=budget_s,
                                progress=progress)
    else:
        frame = counts_frame({name: (model, shape) for name, model in networks.items()})
        frame.index.name = "candidate"
    frame["published_macs_M"] = [models.PUBLISHED[n][0] for n in frame.index]
    frame["published_params_M"] = [models.PUBLISHED[n][1] for n in frame.index]
    frame["source"] = [models.PUBLISHED[n][2] for n in frame.index]
    return frame


__all__ = ["CLOCK_METHODS", "ELEMENTWISE_CLASSES", "OP_CLASSES", "achieved_gflops", "count_by_kind", "layer_kind",
           "op_class", "profile_layers", "roofline_ms", "roofline_table", "throughput", "time_shares", "zoo"]
