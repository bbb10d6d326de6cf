"""Remedies for the time that MAC counts do not see — fold BatchNorm into convolutions, switch ReLUs to in-place,
let ``torch.compile`` fuse elementwise operators — and the same network under other software (``software_variants``).
Each returns a new model (or a wrapper); the input model is untouched."""
from __future__ import annotations

import contextlib
import copy
import os
import re
import warnings
from typing import Callable, ContextManager

import pandas as pd
import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from . import blocks
from ._runtime import Device, InputLike, cache_dir, check_model, make_input, resolve_device
from .timing import compare_latency


SAME_OUTPUTS = 1e-4  # an output-preserving change may move the outputs by at most this, relative to their size
SAME_OUTPUTS_REPARAMETERIZED = 1e-5  # re-parameterization: one sum of kernels per block, tighter


def _folded_norm(norm: nn.Module) -> nn.Module | None:
    """What replaces a BatchNorm folded into the conv before it: nothing for a plain ``nn.BatchNorm2d``; for a
    subclass that carries more behaviour as child modules (timm's ``BatchNormAct2d`` holds its activation), those
    children, in order; ``None`` where that cannot be exact (a subclass without such children, or without running
    statistics) — it is then not folded."""
    if not isinstance(norm, nn.BatchNorm2d) or not norm.track_running_stats or norm.running_mean is None:
        return None
    if type(norm) is nn.BatchNorm2d:
        return nn.Identity()
    extra = list(norm.children())
    return nn.Sequential(*extra) if extra else None


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """A copy of ``model`` (in eval mode) where every BatchNorm2d that directly follows a Conv2d inside an
    ``nn.Sequential`` is folded into the conv's weights and bias (a subclass's extra modules — an activation — take
    its place; one that carries behaviour another way is left alone).

    In inference BatchNorm is an affine map y = γ(x − μ)/σ + β, so conv-then-BN is one conv with
    W' = W·γ/σ and b' = (b − μ)·γ/σ + β: a whole read and write of the feature map disappears, at 0 MACs saved.
    ``checked(fold_batchnorm, model, x)`` proves the outputs unchanged before anything is timed.
    """
    check_model(model)
    folded = copy.deepcopy(model).eval()
    for module in folded.modules():
        if not isinstance(module, nn.Sequential):
            continue
        names = list(module._modules)
        for first, second in zip(names, names[1:]):
            conv, norm = module._modules[first], module._modules[second]
            replacement = _folded_norm(norm)
            if isinstance(conv, nn.Conv2d) and replacement is not None:
                module._modules[first] = fuse_conv_bn_eval(conv, norm)
                module._modules[second] = replacement
    return folded


def reparameterize(model: nn.Module, x: InputLike | None = None) -> nn.Module:
    """The deploy copy of a structurally re-parameterizable network (RepVGG, MobileOne): every block with training-
    time branches becomes the one conv it equals in inference (``blocks.fuse_branches``). With ``x``, the copy's
    outputs are checked against the original's — on randomized BatchNorm statistics, so a wrong fold cannot hide —
    and a copy that differs by more than ``SAME_OUTPUTS_REPARAMETERIZED`` raises instead of being returned. The check
    runs in double precision on a CPU: float32 rounding, summed over a deep stack of convs, would otherwise look like
    a difference of 1e-5 to 1e-4 (or hide a small one)."""
    check_model(model)
    if x is None:
        return blocks.fuse_branches(copy.deepcopy(model))
    fused, reason = checked(lambda m: blocks.fuse_branches(copy.deepcopy(m)), model, x,
                            tolerance=SAME_OUTPUTS_REPARAMETERIZED, what="re-parameterizing")
    if fused is None:
        raise ValueError(f"model: {reason}")
    return fused


def checked(change: Callable[[nn.Module], nn.Module], model: nn.Module, x: InputLike, *,
            tolerance: float = SAME_OUTPUTS, what: str = "the change", dtype: torch.dtype | str | None = "exact"
            ) -> tuple[nn.Module | None, str]:
    """Apply an output-preserving ``change`` to ``model`` — only if it really preserves the outputs. The change is
    first tried on a copy whose BatchNorms hold random, realistic statistics (``calibrate_batchnorm``: a fresh
    network's are the identity, on which a wrong fold passes), with TF32 off on a GPU; if that copy's outputs move by
    more than ``tolerance`` (relative), the change is refused: (None, "<what> changed the outputs …"). Otherwise
    (``change(model)``, "") — the copy to time. ``model`` itself is never modified. ``dtype``: the precision of the
    comparison — by default float64 on a CPU (exact up to rounding far below any tolerance: float32 rounding summed
    over 50 layers reaches 1e-4 by itself) and the model's own on a GPU; ``None``: the model's own."""
    device = resolve_device(None, model)
    if dtype == "exact":
        dtype = torch.float64 if device.type == "cpu" else None
    probe = copy.deepcopy(model) if dtype is None else copy.deepcopy(model).to(dtype)
    batch = make_input(x, device) if dtype is None else make_input(x, device).to(dtype)
    calibrate_batchnorm(probe, batch.expand(max(2, batch.shape[0]), *batch.shape[1:]).contiguous()
                        if batch.dim() == 4 else batch)
    with _exact_arithmetic(device):
        try:
            difference = relative_difference(probe, change(probe), batch)
        except Exception as err:  # noqa: BLE001 — a change that breaks the model is refused, and said why
            return None, f"{what} failed on this network ({_reason(err)}): skipped"
    if not difference <= tolerance:
        return None, (f"{what} changed the outputs (relative difference {difference:.1e}, more than {tolerance:g}): "
                      "skipped — it would time a different network")
    return change(model), ""


@contextlib.contextmanager
def _exact_arithmetic(device: torch.device):
    """TF32 off on CUDA while outputs are compared: its 10-bit mantissas would look like a changed network."""
    if device.type != "cuda":
        yield
        return
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def calibrate_batchnorm(model: nn.Module, x: InputLike, *, seed: int = 0) -> nn.Module:
    """Give every BatchNorm of ``model`` (in place) the statistics a trained network has — the mean and variance
    its input really has on ``x`` (a batch), so that the signal survives every layer — and random affine terms γ, β.
    A fresh network's BatchNorms (mean 0, variance 1, γ 1, β 0) are nearly the identity, and its deep features
    nearly vanish: a BatchNorm fold checked on it would pass even when wrong."""
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    generator = torch.Generator().manual_seed(seed)
    momenta = [m.momentum for m in norms]
    was_training = model.training
    with torch.no_grad():
        for norm in norms:
            norm.reset_running_stats()
            norm.momentum = None  # a cumulative average: one batch sets the statistics exactly
            if norm.affine:
                norm.weight.copy_(torch.rand(norm.weight.shape, generator=generator) + 0.5)
                norm.bias.copy_(torch.rand(norm.bias.shape, generator=generator) * 0.4 - 0.2)
        model.train()
        model(make_input(x, resolve_device(None, model)))
    for norm, momentum in zip(norms, momenta):
        norm.momentum = momentum
    model.train(was_training)
    return model


def relative_difference(a: nn.Module, b: nn.Module, x: InputLike) -> float:
    """max |a(x) − b(x)| / max |a(x)| on the same input: how far two models' outputs are apart, independent of
    the outputs' scale (an absolute tolerance passes anything when the outputs are tiny)."""
    device = resolve_device(None, a)
    tensor = make_input(x, device)
    with torch.inference_mode():
        first, second = _flat(a.eval()(tensor)), _flat(b.eval()(tensor))
    if first.shape != second.shape:
        return float("inf")  # not even the same shape: a different network
    return float((first - second).abs().max() / first.abs().max().clamp_min(1e-30))


def _flat(output) -> torch.Tensor:
    """Every tensor of a model's output (a tensor, or a tuple / list / dict of them, as a detector returns) as one
    flat float tensor."""
    if isinstance(output, torch.Tensor):
        return output.double().flatten()  # double: the difference of two float64 models must not round to 0
    parts = output.values() if isinstance(output, dict) else output
    return torch.cat([_flat(part) for part in parts])


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
    from torch._inductor.utils import run_and_get_code  # the compiled code, to say what was fused (slow import)

    check_model(model)
    target = resolve_device(device, model)
    # Inductor's generated code goes to effedu's cache folder, not /tmp (a setting the user made is kept)
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(cache_dir() / "torchinductor"))
    try:
        compiled = torch.compile(copy.deepcopy(model).to(target).eval())
        with torch.inference_mode():
            _, code = run_and_get_code(compiled, make_input(x, target))
        compiled.effedu_kernels = generated_kernels("\n".join(code))  # what the compiler made of it
        return compiled, ""
    except Exception as err:  # noqa: BLE001 — any failure means "not on this machine", reported, never hidden
        return None, _reason(err)


def compile_comparison(model: nn.Module, x: InputLike, *, device: Device = None, threads: int | None = 1,
                       budget_s: float = 0.8, check: bool = False) -> tuple[pd.DataFrame | None, str]:
    """Eager against compiled ``model``, timed interleaved on ``device`` — compiling, the first compiled run and
    the timing all inside one guard, so a machine that cannot compile gets (None, the reason), never an
    exception half-way through a lesson. ``check``: the compiled copy's outputs are first compared with the eager
    model's (relative difference ≤ ``SAME_OUTPUTS``, TF32 off, in the model's own precision: the compiler runs the
    same graph with the same weights, so only rounding may differ) and a copy that fails is not timed."""
    target = resolve_device(device, model)
    compiled, reason = try_compile(model, x, device=target)
    if compiled is None:
        return None, reason
    eager = copy.deepcopy(model).to(target).eval()
    if check:
        with _exact_arithmetic(target):
            difference = relative_difference(eager, compiled, make_input(x, target))
        if not difference <= SAME_OUTPUTS:
            return None, (f"torch.compile changed the outputs (relative difference {difference:.1e}, more than "
                          f"{SAME_OUTPUTS:g}): skipped — it would time a different network")
    try:
        frame = compare_latency({"eager": eager, "compiled": compiled}, x, threads=threads, device=target,
                                budget_s=budget_s, counts=False)
    except Exception as err:  # noqa: BLE001 — as above: reported in the lesson, not raised
        return None, _reason(err)
    frame.attrs["kernels"] = getattr(compiled, "effedu_kernels", {})
    return frame, ""


def generated_kernels(code: str) -> dict[str, list[str]]:
    """From Inductor's output code: the kernels it generated (``cpp_fused_…`` on a CPU, ``triton_…`` on a GPU —
    each one pass over memory for the operators in its name) and the library calls it kept (convolutions go to
    oneDNN or cuDNN), in the order the compiled model runs them."""
    call = code[code.find("def call("):] if "def call(" in code else code
    return {"generated": re.findall(r"^\s+((?:cpp|triton)_\w*fused\w*)(?:\.run)?\(", call, re.M),
            "library": re.findall(r"extern_kernels\.(\w+)\(", call)}


def _reason(err: Exception) -> str:
    first = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {first}"


# --- the essay's fifth factor of speed: the same network under different software --------------------------

TF32_NOTE = "TF32 acceleration on top of oneDNN"  # what torch says on every oneDNN switch (about Intel GPUs)


class UnderFlags(nn.Module):
    """Runs ``model`` with a backend switched off (``torch.backends.mkldnn.flags(enabled=False)`` …) during its
    own forward pass only, so it can be timed interleaved with the unchanged model."""

    def __init__(self, model: nn.Module, flags: Callable[[], ContextManager]):
        super().__init__()
        self.model, self.flags = model, flags

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=TF32_NOTE)
            with self.flags():
                return self.model(x)


class ChannelsLast(nn.Module):
    """A copy of ``model`` whose weights and input are stored channels-last (NHWC): the same arithmetic, another
    memory layout — which kernels run, and how fast, is the library's choice."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = copy.deepcopy(model).to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x.contiguous(memory_format=torch.channels_last))


def software_variants(model: nn.Module, device: Device = None) -> dict[str, nn.Module]:
    """The same network under different software on one device: as shipped, with the vendor's convolution library
    switched off (oneDNN on a CPU, cuDNN on an NVIDIA GPU) and with channels-last memory. Same weights, same MACs."""
    check_model(model)
    kind = resolve_device(device, model).type
    variants: dict[str, nn.Module] = {"default": model}
    if kind == "cpu" and torch.backends.mkldnn.is_available():
        variants["oneDNN off"] = UnderFlags(model, lambda: torch.backends.mkldnn.flags(enabled=False))
    if kind == "cuda":
        variants["cuDNN off"] = UnderFlags(model, lambda: torch.backends.cudnn.flags(enabled=False))
    variants["channels_last"] = ChannelsLast(model)
    return variants
