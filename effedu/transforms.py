"""Remedies for the time that MAC counts do not see: fold BatchNorm into convolutions, switch ReLUs to
in-place, let ``torch.compile`` fuse elementwise operators. Each returns a new model; the input is untouched."""
from __future__ import annotations

import copy

import pandas as pd
import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from ._runtime import Device, InputLike, check_model, make_input, resolve_device
from .timing import compare_latency


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """A copy of ``model`` (in eval mode) where every BatchNorm2d that directly follows a Conv2d inside an
    ``nn.Sequential`` is folded into the conv's weights and bias and replaced by ``nn.Identity``.

    In inference BatchNorm is an affine map y = γ(x − μ)/σ + β, so conv-then-BN is one conv with
    W' = W·γ/σ and b' = (b − μ)·γ/σ + β: a whole read and write of the feature map disappears, at 0 MACs saved.
    Outputs agree with the original to float rounding (``tests/test_transforms.py``).
    """
    check_model(model)
    folded = copy.deepcopy(model).eval()
    for module in folded.modules():
        if not isinstance(module, nn.Sequential):
            continue
        names = list(module._modules)
        for first, second in zip(names, names[1:]):
            conv, norm = module._modules[first], module._modules[second]
            if isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d) and norm.track_running_stats:
                module._modules[first] = fuse_conv_bn_eval(conv, norm)
                module._modules[second] = nn.Identity()
    return folded


def inplace_activations(model: nn.Module, inplace: bool = True) -> nn.Module:
    """A copy of ``model`` with every ReLU / ReLU6 switched to ``inplace``: it writes over its input instead of
    allocating a new tensor. The same bytes are read and written, but into memory that is already in cache and
    without an allocation — whether that is faster is for the stopwatch to say."""
    check_model(model)
    changed = copy.deepcopy(model)
    for module in changed.modules():
        if isinstance(module, (nn.ReLU, nn.ReLU6, nn.Hardtanh)):
            module.inplace = inplace
    return changed


def try_compile(model: nn.Module, x: InputLike, *, device: Device = None) -> tuple[nn.Module | None, str]:
    """``torch.compile`` of a copy of ``model`` *for the device it will be timed on* (``device``, default where the
    model is), run once on ``x`` there to build it (compiling takes seconds to minutes). Returns (compiled model,
    "") or (None, the reason) where this machine cannot compile (no C++ compiler, no Triton for this GPU, an
    unsupported platform …) — lessons then skip that step and say why."""
    check_model(model)
    target = resolve_device(device, model)
    try:
        compiled = torch.compile(copy.deepcopy(model).to(target).eval())
        with torch.inference_mode():
            compiled(make_input(x, target))
        return compiled, ""
    except Exception as err:  # noqa: BLE001 — any failure means "not on this machine", reported, never hidden
        return None, _reason(err)


def compile_comparison(model: nn.Module, x: InputLike, *, device: Device = None, threads: int | None = 1,
                       budget_s: float = 0.8) -> tuple[pd.DataFrame | None, str]:
    """Eager against compiled ``model``, timed interleaved on ``device`` — compiling, the first compiled run and
    the timing all inside one guard, so a machine that cannot compile gets (None, the reason), never an
    exception half-way through a lesson."""
    target = resolve_device(device, model)
    compiled, reason = try_compile(model, x, device=target)
    if compiled is None:
        return None, reason
    eager = copy.deepcopy(model).to(target).eval()
    try:
        frame = compare_latency({"eager": eager, "compiled": compiled}, x, threads=threads, device=target,
                                budget_s=budget_s, counts=False)
    except Exception as err:  # noqa: BLE001 — as above: reported in the lesson, not raised
        return None, _reason(err)
    return frame, ""


def _reason(err: Exception) -> str:
    first = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {first}"
