"""Per-layer tables: where the MACs, the bytes and the time of a network go."""
from __future__ import annotations

import statistics
import time

import pandas as pd
from torch import nn

from ._runtime import InputLike, ModuleStack, check_positive_int, prepared, run_model, synchronize
from .counting import record_ops
from .timing import measure_latency


def profile_layers(model: nn.Module, x: InputLike, *, threads: int | None = 1, device=None,
                   repeats: int = 20, warmup: int = 3) -> pd.DataFrame:
    """One row per layer that runs ops: counts, measured time and its share of the total.

    A layer is a leaf module, or a container's own ops (the ``x + identity`` and ReLU in a ResNet block's
    ``forward`` are rows of their own, type ``Bottleneck`` etc. — they are real time at 0 MACs). Columns:
    ``layer, type, ops, out_shape, params, macs, bytes, intensity`` (FLOPs per byte moved, for the roofline),
    ``latency_ms`` (median over ``repeats`` runs of the layer's own time, measured with forward hooks) and
    ``share`` of the summed layer time. ``frame.attrs["model_latency_ms"]`` is the hook-free end-to-end
    median, so the hooks' overhead is visible: compare it with ``frame.latency_ms.sum()``.
    """
    check_positive_int(repeats, "repeats")
    records = record_ops(model, x, device=device)
    modules = dict(model.named_modules())
    rows: dict[str, dict] = {}
    for r in records:
        row = rows.setdefault(r.module, {"layer": r.module or "(model)", "type": type(modules[r.module]).__name__,
                                         "ops": [], "out_shape": (), "macs": 0, "bytes": 0})
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
        try:
            for _ in range(repeats):
                model(tensor)
        finally:
            stack.remove()
    for name, row in rows.items():
        own = modules[name]
        row["params"] = sum(p.numel() for p in own.parameters(recurse=name in leaves))
        row["latency_ms"] = statistics.median(stack.exclusive_s.get(name, [0.0])) * 1e3
        row["ops"] = ", ".join(row["ops"])
        row["intensity"] = 2 * row["macs"] / row["bytes"] if row["bytes"] else float("nan")
    frame = pd.DataFrame(list(rows.values()), columns=[
        "layer", "type", "ops", "out_shape", "params", "macs", "bytes", "intensity", "latency_ms"])
    total = frame["latency_ms"].sum()
    frame["share"] = frame["latency_ms"] / total if total > 0 else 0.0
    frame.attrs["model_latency_ms"] = measure_latency(model, x, threads=threads, device=device,
                                                      repeats=repeats, budget_s=0.5).median_ms
    return frame
