"""Counting: parameters, multiply-accumulates (MACs) and memory traffic.

Three different numbers, on purpose — the thesis of the course is that they disagree with each other and
with the stopwatch:

* ``count_params`` — weights stored (parameters, BatchNorm affine terms and biases included).
* ``count_macs`` — multiply-accumulates of conv and linear layers, the papers' "mult-adds" convention. Counted
  at the ATen level with ``torch.utils.flop_counter``'s formulas (FLOPs / 2), so functional convs count too.
* ``memory_traffic`` — bytes read plus bytes written by every ATen operator that runs. Views (reshape,
  transpose, flatten …) are free; elementwise adds, ReLU, cat and the copy inside a channel shuffle are not.
  For a bias-free 1×1 conv c1→c2 on h×w this is 4·(hw·(c1+c2) + c1·c2) bytes in float32: the "memory access
  cost" of ShuffleNetV2 (Ma et al. 2018, Sec. 2, G1).

One recorder (a ``TorchDispatchMode``) sees every operator and charges it to the innermost module running,
so the per-layer table of ``effedu.profiling`` reads the same numbers.
"""
from __future__ import annotations

import copy
import dataclasses
import warnings
from typing import Mapping, Sequence

import pandas as pd
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.flop_counter import flop_registry

from ._runtime import Device, InputLike, ModuleStack, check_model, guarded_run, run_model


def count_params(model: nn.Module) -> int:
    """All parameters of ``model`` (each shared tensor once)."""
    check_model(model)
    return sum(p.numel() for p in model.parameters())


@dataclasses.dataclass
class OpRecord:
    """One ATen operator call, charged to the innermost module that was running."""
    module: str  # dotted module name, "" for the top-level model
    op: str  # e.g. "aten.convolution.default"
    macs: int
    bytes: int
    out_shape: tuple
    inputs: int = 0  # tensors read (a cat of four branches reads four)


def _tensors(tree) -> list[torch.Tensor]:
    return [t for t in tree_flatten(tree)[0] if isinstance(t, torch.Tensor)]


def _unique_bytes(tensors: list[torch.Tensor]) -> int:
    seen, total = set(), 0
    for t in tensors:
        address = id(t) if t.is_meta else t.data_ptr()  # meta tensors have no memory: tell them apart by object
        key = (address, tuple(t.shape), tuple(t.stride()), t.dtype)
        if key not in seen:  # x + x reads x once
            seen.add(key)
            total += t.numel() * t.element_size()
    return total


def _aliases_input(func, args, out) -> bool:
    """True for ops that return a view without saying so in their schema (aten._unsafe_view)."""
    if func._schema.is_mutable:
        return False  # in-place ops (relu_) return their input, but they did read and write it
    if any(t.is_meta for t in _tensors(args)):
        return str(func.overloadpacket) in _HIDDEN_VIEW_OPS  # no storage to compare on the meta device
    inputs = {t.untyped_storage().data_ptr() for t in _tensors(args)}
    outputs = _tensors(out)
    return bool(outputs) and all(t.untyped_storage().data_ptr() in inputs for t in outputs)


_HIDDEN_VIEW_OPS = {"aten._unsafe_view"}  # views whose schema does not say so
# Batch norm also returns its saved statistics: empty in inference on the CPU, not on every device, and never
# real traffic at inference — only the first output counts.
_FIRST_OUTPUT_OPS = {"aten.native_batch_norm", "aten._native_batch_norm_legit_no_training"}
_OVERWRITE_OPS = {"aten.copy_", "aten.fill_", "aten.zero_"}  # write their first argument without reading it
_FREE_OPS = {"aten.detach", "aten.lift_fresh", "aten.alias", "aten.empty", "aten.empty_like",
             "aten.empty_strided", "aten.set_", "aten.resize_"}


class _OpRecorder(TorchDispatchMode):
    """Records every ATen op with its MACs and bytes moved; a module stack kept by hooks names the owner."""

    def __init__(self, module_stack: list[str]):
        super().__init__()
        self.module_stack = module_stack
        self.records: list[OpRecord] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        packet = func.overloadpacket
        name = str(packet)  # "aten.add"
        if func.is_view or name in _FREE_OPS or _aliases_input(func, args, out):
            moved = 0  # a view only rewrites metadata
        elif name in _OVERWRITE_OPS:
            moved = _unique_bytes(_tensors((args[1:], kwargs))) + _unique_bytes(_tensors(out))  # dst not read
        else:
            written = _tensors(out)[:1] if name in _FIRST_OUTPUT_OPS else _tensors(out)
            moved = _unique_bytes(_tensors((args, kwargs))) + _unique_bytes(written)
        macs = 0
        if packet in flop_registry:
            macs = int(flop_registry[packet](*args, **kwargs, out_val=out)) // 2  # FLOPs = 2 · MACs
        outs = _tensors(out)
        self.records.append(OpRecord(self.module_stack[-1], f"{name}.{func._overloadname}", macs, moved,
                                     tuple(outs[0].shape) if outs else (), len(_tensors((args, kwargs)))))
        return out


def record_ops(model: nn.Module, x: InputLike, *, device: Device = None) -> list[OpRecord]:
    """Run ``model`` once on ``x`` and return one ``OpRecord`` per ATen operator, in execution order.
    ``device="meta"`` counts without computing anything (on a copy of the model moved to the meta device):
    the same MACs and bytes in a fraction of the time, for models whose ops all run on meta tensors."""
    if device is not None and torch.device(device).type == "meta":
        model = copy.deepcopy(check_model(model)).to("meta")
    with guarded_run(model, x, device=device, decompose=True) as (model, tensor, _), \
            ModuleStack(model) as modules, _OpRecorder(modules.stack) as recorder:
        run_model(model, tensor)
    return recorder.records


def count_fast(model: nn.Module, x: InputLike) -> list[OpRecord]:
    """``record_ops`` on the meta device (no arithmetic), falling back to the CPU for a model with an op that
    meta tensors cannot run (one that reads a value, such as ``.item()``)."""
    try:
        return record_ops(model, x if not isinstance(x, torch.Tensor) else tuple(x.shape), device="meta")
    except (NotImplementedError, RuntimeError):
        return record_ops(model, x, device="cpu")


def counts_frame(named: Mapping[str, tuple[nn.Module, InputLike]], *, device: Device = None,
                 fast: bool = False) -> pd.DataFrame:
    """The three counts of each ``name → (model, x)`` — params, MACs and bytes of memory traffic — as one frame
    indexed by name (the columns every comparison table shows beside the times). ``fast``: count on the meta
    device where the model allows it (``count_fast``)."""
    rows = {}
    for name, (model, x) in named.items():
        records = count_fast(model, x) if fast else record_ops(model, x, device=device)
        rows[name] = {"params": count_params(model), "macs": sum(r.macs for r in records),
                      "bytes": sum(r.bytes for r in records)}
    return pd.DataFrame.from_dict(rows, orient="index", columns=["params", "macs", "bytes"])


def count_macs(model: nn.Module, x: InputLike, *, method: str = "aten", device: Device = None) -> int:
    """Multiply-accumulates of one forward pass on ``x`` (a tensor or a shape tuple).

    ``method="aten"`` (default) counts conv and linear MACs as the papers do (MobileNetV2-1.0 at 224×224:
    300,774,272), seeing every op, functional ones included. ``method="thop"`` returns what the ``thop``
    package counts with its module hooks: it also charges BatchNorm, ReLU-free pooling and more, and misses
    functional ops — a lesson in why published counts disagree.
    """
    if method == "aten":
        return sum(r.macs for r in record_ops(model, x, device=device))
    if method == "thop":
        with guarded_run(model, x, device=device) as (model, tensor, _), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # thop 0.1.1 uses distutils' LooseVersion
            import thop  # optional and slow to import: only this comparison needs it

            run_model(model, tensor)  # a shape error names x here, before thop's hooks are in
            macs, _ = thop.profile(model, inputs=(tensor,), verbose=False)
        return int(macs)
    raise ValueError(f"method must be 'aten' or 'thop', got {method!r}")


def mac_ratios(candidates: Mapping[str, nn.Module], x: InputLike, pairs: Sequence[tuple[str, str]]) -> pd.Series:
    """The MAC ratio of each (replacement, original) pair in ``pairs``, counted on ``x``: the saving a redesign
    promises before anything is timed. Indexed "replacement / original"."""
    for name in {name for pair in pairs for name in pair}:
        if name not in candidates:
            raise ValueError(f"pairs must name candidates {list(candidates)}, got {name!r}")
    macs = {name: count_macs(model, x) for name, model in candidates.items()}
    return pd.Series({f"{small} / {big}": macs[small] / macs[big] for small, big in pairs}, name="MAC ratio")


def memory_traffic(model: nn.Module, x: InputLike, *, device: Device = None) -> int:
    """Bytes read + written by every operator of one forward pass on ``x``; views are free.

    A lower bound on what the memory system must move (each operator reads its inputs and writes its
    output once — caches only help across operators).
    """
    return sum(r.bytes for r in record_ops(model, x, device=device))
