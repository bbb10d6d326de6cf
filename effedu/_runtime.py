"""Shared plumbing of the profilers: argument checks and a guard that puts everything back.

Every profiler in effedu runs a model the same way (``guarded_run``): check the arguments (naming the one that is
wrong), put the model in ``eval()`` under ``torch.inference_mode()`` on the requested device and thread count, and
on the way out restore the train/eval flags, hooks, buffers, device and thread count — also when the model
raises. The small validators every module uses live here too, once.
"""
from __future__ import annotations

import contextlib
import os
import sys
import warnings
from pathlib import Path
from typing import Callable, Iterator, Sequence, Union

import torch
from torch import nn

from ._text import plural

InputLike = Union[torch.Tensor, Sequence[int]]
Device = Union[str, torch.device, None]


class ThreadSettingWarning(UserWarning):
    """torch did not take the requested thread count (macOS' native thread pool can be set only once)."""


def in_kernel() -> bool:
    """True inside a Jupyter kernel (a notebook), False in scripts and tests."""
    try:
        from IPython import get_ipython  # IPython comes with Jupyter; a bare script may lack it
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def cache_dir() -> Path:
    """effedu's own cache folder — lesson 09's latency table, torch.compile's generated code: $EFFEDU_CACHE, else
    the platform's user cache folder. effedu writes nowhere else outside the course folder."""
    if os.environ.get("EFFEDU_CACHE"):
        return Path(os.environ["EFFEDU_CACHE"])
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "effedu" / "cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "effedu"
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "effedu"


def check_model(model: object, argument: str = "model") -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"{argument} must be a torch.nn.Module, got {type(model).__name__}")
    return model


def positive_int(value: object, argument: str) -> int:
    """``value`` if it is a positive integer (not a bool), else a ValueError naming ``argument``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{argument} must be a positive integer, got {value!r}")
    return value


def positive_number(value: object, argument: str) -> float:
    """``value`` if it is a positive int or float (not a bool), else a ValueError naming ``argument``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{argument} must be a positive number, got {value!r}")
    return value


@contextlib.contextmanager
def seeded(seed: int | None) -> Iterator[None]:
    """Build under a fixed seed without touching torch's global random state (``None``: leave it unseeded).
    The same design then starts from the same weights wherever a lesson builds it."""
    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):  # the CPU generator only: model init happens there
        torch.manual_seed(seed)
        yield


def resolve_device(device: Device, model: nn.Module | None = None) -> torch.device:
    """``None`` means: where the model's parameters already are (CPU for a parameter-free model)."""
    if device is None:
        found = model_device(model) if model is not None else None
        return found if found is not None else torch.device("cpu")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device must be 'cpu', 'cuda' or a torch.device, got {device!r}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={str(device)!r} was requested, but this machine has no CUDA GPU "
                         "(torch.cuda.is_available() is False); use device='cpu'")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device='mps' was requested, but the MPS backend is not available here")
    return device


def make_input(x: InputLike, device: torch.device, argument: str = "x") -> torch.Tensor:
    """A tensor from ``x``: the tensor itself (moved to ``device``) or random data of shape ``x``."""
    if isinstance(x, torch.Tensor):
        if x.numel() == 0:
            raise ValueError(f"{argument} must not be empty, got a tensor of shape {tuple(x.shape)}")
        return x.to(device)
    if isinstance(x, (tuple, list, torch.Size)) and len(x) > 0:
        if not all(isinstance(s, int) and not isinstance(s, bool) for s in x):
            raise TypeError(f"{argument} as a shape must hold integers, got {tuple(x)!r}")
        if any(s < 1 for s in x):
            raise ValueError(f"{argument} must have positive sizes, got shape {tuple(x)}")
        if device.type == "meta":
            return torch.empty(tuple(x), device=device)
        generator = torch.Generator().manual_seed(0)  # same data every call: counts never depend on luck
        return torch.randn(tuple(x), generator=generator).to(device)
    raise TypeError(f"{argument} must be a tensor or a shape tuple such as (1, 3, 224, 224), got {x!r}")


def model_device(model: nn.Module) -> torch.device | None:
    first = next(model.parameters(), None)
    if first is None:
        first = next(model.buffers(), None)
    return first.device if first is not None else None


@contextlib.contextmanager
def threads_fixed(threads: int | None) -> Iterator[int]:
    """Fix torch's intra-op thread count for the block and restore it afterwards. Warns (``ThreadSettingWarning``)
    when torch did not take the count — then every "N threads" label would be a lie."""
    before = torch.get_num_threads()
    if threads is not None:
        positive_int(threads, "threads")
        set_threads(threads)
    try:
        yield torch.get_num_threads()
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def set_threads(threads: int) -> None:
    """``torch.set_num_threads`` that says so when the setting did not take effect."""
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    if torch.get_num_threads() != threads:
        running = plural(torch.get_num_threads(), 'thread')
        warnings.warn(f"threads={threads} was requested, but torch runs {running}: its "
                      "thread pool may be settable only once per process (macOS); restart the kernel and set the "
                      "thread count first", ThreadSettingWarning, stacklevel=3)


# nn.Module keeps its hooks in these private dicts; restoring them depends on torch's internals (checked with
# hasattr, so a torch release that renames one leaves that dict alone rather than failing).
_HOOK_DICTS = ("_forward_hooks", "_forward_pre_hooks", "_forward_hooks_with_kwargs",
               "_forward_pre_hooks_with_kwargs", "_forward_hooks_always_called")


@contextlib.contextmanager
def model_restored(model: nn.Module, device: torch.device | None = None) -> Iterator[nn.Module]:
    """Run ``model`` in eval mode (optionally on ``device``); restore flags, hooks, buffers and device."""
    modules = list(model.modules())
    training = [m.training for m in modules]
    hooks = [{name: dict(getattr(m, name)) for name in _HOOK_DICTS if hasattr(m, name)} for m in modules]
    buffers = [set(m._buffers) for m in modules]
    original_device = model_device(model)
    moved = device is not None and original_device is not None and original_device != device
    try:
        if moved:
            model.to(device)
        model.eval()
        yield model
    finally:
        for m, flag, saved_hooks, saved_buffers in zip(modules, training, hooks, buffers):
            m.training = flag
            for name, saved in saved_hooks.items():
                live = getattr(m, name)
                for key in [k for k in live if k not in saved]:
                    del live[key]
            for key in [k for k in m._buffers if k not in saved_buffers]:
                del m._buffers[key]  # e.g. thop's total_ops / total_params when the model raised
        if moved:
            model.to(original_device)


_SHAPE_WORDS = ("channels", "size", "shape", "dimension", "Expected", "expected")


def run_model(model: nn.Module, x: torch.Tensor, argument: str = "x") -> object:
    """One forward pass; a shape error from inside the model becomes a ValueError naming ``x``. (Which
    RuntimeErrors are shape errors is guessed from torch's wording — a heuristic, kept in ``_SHAPE_WORDS``.)"""
    try:
        return model(x)
    except RuntimeError as err:
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        if any(word in message for word in _SHAPE_WORDS):
            raise ValueError(f"{argument} of shape {tuple(x.shape)} does not fit "
                             f"{type(model).__name__}: {message}") from None
        raise


@contextlib.contextmanager
def guarded_run(model: object, x: InputLike, *, device: Device = None, threads: int | None = None,
                argument: str = "x", decompose: bool = False) -> Iterator[tuple[nn.Module, torch.Tensor, int]]:
    """Checks + eval + inference_mode + device + threads, all undone on exit. Yields (model, input, threads).

    ``decompose=True`` runs under ``no_grad`` instead of ``inference_mode``: composite ops (conv2d, linear,
    contiguous) then reach a dispatch mode as the kernels they run (convolution, addmm, clone).
    """
    model = check_model(model)
    device = resolve_device(device, model)
    tensor = make_input(x, device, argument)
    grad_mode = torch.no_grad() if decompose else torch.inference_mode()
    with threads_fixed(threads) as used_threads, model_restored(model, device), grad_mode:
        yield model, tensor, used_threads


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


class ModuleStack:
    """Forward hooks that keep the name of the module being run on ``stack``; a context manager that removes
    them on exit. ``on_enter(name)`` / ``on_leave(name)`` are called around every module (the per-layer
    profiler hangs its clock there); ``enabled = False`` makes the hooks do nothing."""

    def __init__(self, model: nn.Module, on_enter: Callable[[str], None] | None = None,
                 on_leave: Callable[[str], None] | None = None):
        self.stack = [""]
        self.on_enter, self.on_leave = on_enter, on_leave
        self.enabled = True
        self.handles = []
        for name, module in model.named_modules():
            self.handles.append(module.register_forward_pre_hook(self._enter_hook(name)))
            self.handles.append(module.register_forward_hook(self._leave, always_call=True))

    def _enter_hook(self, name: str):
        def hook(module, args):
            if self.enabled:
                self.stack.append(name)
                if self.on_enter is not None:
                    self.on_enter(name)
        return hook

    def _leave(self, module, args, output):
        if self.enabled and len(self.stack) > 1:
            name = self.stack.pop()
            if self.on_leave is not None:
                self.on_leave(name)

    def __enter__(self) -> "ModuleStack":
        return self

    def __exit__(self, *exc) -> None:
        for handle in self.handles:
            handle.remove()
