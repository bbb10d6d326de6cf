"""Per-layer tables: where the MACs, the bytes and the time of a network go."""
from __future__ import annotations

import statistics
import time

import pandas as pd
import torch
from torch import nn

from ._runtime import InputLike, ModuleStack, check_positive_int, prepared, run_model, synchronize
from .counting import record_ops


def profile_layers(model: nn.Module, x: InputLike, *, threads: int | None = 1, device=None,
                   repeats: int = 20, warmup: int = 3) -> pd.DataFrame:
    """One row per layer that runs ops: counts, measured time and its share of the total.

    A layer is a leaf module, or a container's own ops (the ``x + identity`` and ReLU in a ResNet block's
    ``forward`` are rows of their own, type ``Bottleneck`` etc. — they are real time at 0 MACs). Columns:
    ``layer, type, kind`` (see ``layer_kind``), ``ops, out_shape, params, macs, bytes, intensity`` (FLOPs per
    byte moved, for the roofline),
    ``latency_ms`` (median over ``repeats`` runs of the layer's own time, measured with forward hooks) and
    ``share`` of the summed layer time. ``frame.attrs["model_latency_ms"]`` is the median end-to-end time of
    runs with the hooks switched off, alternated with the hooked runs, so the hooks' overhead is visible:
    compare it with ``frame.latency_ms.sum()``.
    """
    check_positive_int(repeats, "repeats")
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

    with prepared(model, x, device=device, threads=threads) as (model, tensor, _):
        device_ = tensor.device
        for _ in range(warmup):
            run_model(model, tensor)

        def clock() -> float:
            synchronize(device_)
            return time.perf_counter()

        stack = ModuleStack(model, clock)
        end_to_end = []
        try:
            for _ in range(repeats):  # alternate, so that drift hits the layer times and the total alike
                stack.enabled = True
                model(tensor)
                stack.enabled = False
                start = clock()
                model(tensor)
                end_to_end.append(clock() - start)
        finally:
            stack.remove()
    for name, row in rows.items():
        own = modules[name]
        row["params"] = sum(p.numel() for p in own.parameters(recurse=name in leaves))
        row["latency_ms"] = statistics.median(stack.exclusive_s.get(name, [0.0])) * 1e3
        row["ops"] = ", ".join(row["ops"])
        row["intensity"] = 2 * row["macs"] / row["bytes"] if row["bytes"] else float("nan")
    frame = pd.DataFrame(list(rows.values()), columns=[
        "layer", "type", "kind", "ops", "out_shape", "params", "macs", "bytes", "intensity", "latency_ms"])
    total = frame["latency_ms"].sum()
    frame["share"] = frame["latency_ms"] / total if total > 0 else 0.0
    frame.attrs["model_latency_ms"] = statistics.median(end_to_end) * 1e3
    return frame


def layer_kind(module: nn.Module) -> str:
    """'pointwise 1×1', 'depthwise k×k', 'grouped k×k', 'conv k×k', 'fully connected' or 'other'."""
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


def count_by_kind(model: nn.Module, x: InputLike, *, device=None) -> pd.DataFrame:
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


GOALS = {"params": "parameters", "macs": "MACs", "median_ms": "measured latency"}


def rank_disagreements(frame: pd.DataFrame, proxy: str = "macs", margin: float = 0.05) -> list[tuple[str, str]]:
    """Pairs (a, b) where ``proxy`` says a is cheaper than b, yet a was measured slower by more than
    ``margin`` (5 %: well outside an interleaved ratio's run-to-run noise) — "fewer MACs, yet slower"."""
    if proxy not in ("params", "macs", "bytes"):
        raise ValueError(f"proxy must be 'params', 'macs' or 'bytes', got {proxy!r}")
    pairs = []
    for a in frame.index:
        for b in frame.index:
            if frame.loc[a, proxy] < frame.loc[b, proxy] and \
                    frame.loc[a, "median_ms"] > (1 + margin) * frame.loc[b, "median_ms"]:
                pairs.append((a, b))
    return pairs


def describe_rankings(frame: pd.DataFrame) -> str:
    """Markdown that says, from ``compare_latency``'s frame, how far params and MACs predict latency here."""
    columns = list(GOALS) + (["bytes"] if "bytes" in frame.columns else [])
    correlation = frame[columns].corr(method="spearman")["median_ms"]
    lines = [f"Spearman rank correlation with measured latency on this machine (1 = same order, 0 = unrelated): "
             f"parameters **{correlation['params']:.2f}**, MACs **{correlation['macs']:.2f}**"
             + (f", memory traffic **{correlation['bytes']:.2f}**." if "bytes" in columns else ".")]
    per_gmac = frame["median_ms"] / (frame["macs"] / 1e9)
    lines.append(f"- Time per billion MACs ranges from **{per_gmac.min():.0f} ms** ({per_gmac.idxmin()}) to "
                 f"**{per_gmac.max():.0f} ms** ({per_gmac.idxmax()}): {per_gmac.max() / per_gmac.min():.1f}× apart, "
                 "so a MAC is not a unit of time.")
    for proxy in ("params", "macs"):
        pairs = rank_disagreements(frame, proxy)
        if not pairs:
            lines.append(f"- Every model with fewer {GOALS[proxy]} was also faster (or within 5 %) here.")
        for a, b in pairs:
            lines.append(f"- **{a}** has {frame.loc[a, proxy] / frame.loc[b, proxy]:.2f}× the {GOALS[proxy]} of "
                         f"**{b}**, yet takes {frame.loc[a, 'median_ms'] / frame.loc[b, 'median_ms']:.2f}× "
                         f"its time.")
    return "\n".join(lines)


class _MatMul(nn.Module):
    def forward(self, x):
        return x @ x


class _Copy(nn.Module):
    """Copies into a buffer allocated once: a fresh allocation per run would time page faults, not memory."""

    def forward(self, x):
        if getattr(self, "out", None) is None or self.out.shape != x.shape:
            self.out = torch.empty_like(x)
        return self.out.copy_(x)


def machine_peaks(*, threads: int | None = 1, device=None, matrix_size: int = 1024,
                  copy_megabytes: int = 64) -> dict:
    """This machine's roofline: compute peak (GFLOP/s of a large matmul) and memory bandwidth (GB/s of a copy
    too large for the caches), both timed with ``measure_latency`` and counted with effedu's own counters. A peak
    is the best the machine can do, so the fastest sample counts, not the median."""
    from .counting import count_macs, memory_traffic
    from .timing import measure_latency

    square = (matrix_size, matrix_size)
    copy = (copy_megabytes * 2**20 // 4,)
    matmul_ms = min(measure_latency(_MatMul(), square, threads=threads, device=device, budget_s=0.5).samples)
    copier = _Copy()
    copy_ms = min(measure_latency(copier, copy, threads=threads, device=device, budget_s=0.5).samples)
    return {"peak_gflops": 2 * count_macs(_MatMul(), square) / matmul_ms / 1e6,
            "bandwidth_gbs": memory_traffic(_Copy(), copy) / copy_ms / 1e6,
            "threads": threads}


def connectivity(model: nn.Module, in_channels: int) -> "torch.Tensor":
    """Boolean matrix [output channel, input channel]: can input channel i influence output channel o?
    Found structurally: every weight set to 1, a one-hot input per channel on a 1×1 image (so groups that never
    mix stay visibly apart)."""
    import copy as copying

    import torch

    probe = copying.deepcopy(model).eval()
    with torch.no_grad():
        for name, parameter in probe.named_parameters():
            parameter.fill_(0.0 if name.endswith("bias") else 1.0)  # a bias would reach every channel
        eye = torch.eye(in_channels).view(in_channels, in_channels, 1, 1)
        reach = probe(eye).abs().flatten(2).sum(-1) > 0  # [input one-hot, output channel]
    return reach.T


OP_CLASSES = [  # (class, ATen op names) — how profile_layers rows are grouped by what they do
    ("conv / linear", ("convolution", "addmm", "mm")),
    ("BatchNorm", ("native_batch_norm", "_native_batch_norm_legit_no_training", "batch_norm")),
    ("activation", ("relu", "relu_", "hardtanh", "hardtanh_", "clamp", "clamp_", "sigmoid", "gelu")),
    ("add / cat / copy", ("add", "add_", "cat", "clone", "copy_", "mul", "neg")),
    ("pooling", ("max_pool2d", "max_pool2d_with_indices", "avg_pool2d", "mean")),
]


def op_class(ops: str) -> str:
    """The class of a ``profile_layers`` row from its ``ops`` column ('conv / linear', 'BatchNorm', …)."""
    names = [op.strip() for op in ops.split(",") if op.strip()]
    for label, members in OP_CLASSES:
        if any(name in members for name in names):
            return label
    return "other" if names else "views only"


def time_by_op_class(layers: pd.DataFrame) -> pd.DataFrame:
    """MACs, bytes and measured time per class of operator, with shares — the time that MAC counts miss."""
    grouped = layers.assign(op_class=layers["ops"].map(op_class)).groupby("op_class")[["macs", "bytes", "latency_ms"]].sum()
    grouped["macs_share"] = grouped["macs"] / grouped["macs"].sum()
    grouped["time_share"] = grouped["latency_ms"] / grouped["latency_ms"].sum()
    return grouped.sort_values("time_share", ascending=False)


def receptive_field(model: nn.Module) -> tuple[int, int]:
    """(receptive field, total stride) of a chain of convs and pools, taken in the order they are registered —
    exact for sequential stems such as FaceBoxes' RDCL or a stack of 3×3 convs."""
    field, jump = 1, 1
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            kernel = module.kernel_size if isinstance(module.kernel_size, int) else module.kernel_size[0]
            stride = module.stride if isinstance(module.stride, int) else module.stride[0]
            dilation = getattr(module, "dilation", 1)
            dilation = dilation if isinstance(dilation, int) else dilation[0]
            field += (kernel - 1) * dilation * jump
            jump *= stride
    return field, jump
