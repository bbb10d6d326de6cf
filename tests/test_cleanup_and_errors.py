"""Every profiler restores what it touched, also when the model raises; bad input gives one clear error."""
import pytest
import torch
from conftest import Raising, small_cnn

from torch.utils._python_dispatch import _get_current_dispatch_mode

import effedu

PROFILERS = {
    "count_macs": lambda m, x: effedu.count_macs(m, x),
    "count_macs_thop": lambda m, x: effedu.count_macs(m, x, method="thop"),
    "memory_traffic": lambda m, x: effedu.memory_traffic(m, x),
    "measure_latency": lambda m, x: effedu.measure_latency(m, x, threads=1, repeats=3, budget_s=0.05),
    "compare_latency": lambda m, x: effedu.compare_latency({"m": m}, x, threads=1, repeats=3, budget_s=0.05),
    "profile_layers": lambda m, x: effedu.profile_layers(m, x, threads=1, repeats=2),
}


def snapshot(model):
    return [(m.training, dict(m._forward_hooks), dict(m._forward_pre_hooks), sorted(m._buffers))
            for m in model.modules()]


@pytest.mark.parametrize("profiler", PROFILERS)
def test_raising_model_leaves_nothing_behind(profiler):
    model = Raising()
    model.train()
    before, threads = snapshot(model), torch.get_num_threads()
    other_threads = 1 if threads != 1 else 2
    torch.set_num_threads(other_threads)
    try:
        with pytest.raises(KeyError, match="boom"):
            PROFILERS[profiler](model, (1, 3, 12, 12))
        assert snapshot(model) == before  # hooks, buffers (thop's total_ops) and train flags restored
        assert model.training and model.bn.training
        assert _get_current_dispatch_mode() is None
        assert torch.get_num_threads() == other_threads
        assert torch.is_grad_enabled() and not torch.is_inference_mode_enabled()
    finally:
        torch.set_num_threads(threads)


@pytest.mark.parametrize("profiler", PROFILERS)
def test_working_model_is_restored_too(profiler):
    model = small_cnn().train()
    before = snapshot(model)
    PROFILERS[profiler](model, (1, 3, 12, 12))
    assert snapshot(model) == before


@pytest.mark.parametrize("profiler", PROFILERS)
def test_non_module_is_refused_by_name(profiler):
    with pytest.raises(TypeError, match="must be a torch.nn.Module"):
        PROFILERS[profiler](lambda x: x, (1, 3, 8, 8))


@pytest.mark.parametrize("profiler", PROFILERS)
@pytest.mark.parametrize("x,message", [
    ((1, 5, 16, 16), r"x of shape \(1, 5, 16, 16\).*channels"),  # wrong channel count
    ((3, 16), r"x of shape \(3, 16\)"),  # wrong rank
    ((1, 3, 0, 16), "x must have positive sizes"),
    ((1, 3, -2, 16), "x must have positive sizes"),
    ("image", "x must be a tensor or a shape"),
])
def test_bad_input_names_x(profiler, x, message):
    with pytest.raises((ValueError, TypeError), match=message):
        PROFILERS[profiler](small_cnn(), x)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_gpu_names_device():
    for call in (lambda: effedu.measure_latency(small_cnn(), (1, 3, 8, 8), device="cuda"),
                 lambda: effedu.count_macs(small_cnn(), (1, 3, 8, 8), device="cuda")):
        with pytest.raises(ValueError, match="device='cuda'.*no CUDA GPU"):
            call()


@pytest.mark.parametrize("kwargs,name", [({"threads": 0}, "threads"), ({"threads": -1}, "threads"),
                                         ({"repeats": 0}, "repeats"), ({"budget_s": 0}, "budget_s"),
                                         ({"warmup": -1}, "warmup"), ({"number": 0}, "number")])
def test_bad_timing_settings_are_named(kwargs, name):
    with pytest.raises(ValueError, match=name):
        effedu.measure_latency(small_cnn(), (1, 3, 8, 8), **kwargs)


def test_bad_candidates_are_named():
    with pytest.raises(ValueError, match="at least one"):
        effedu.compare_latency({}, (1, 3, 8, 8))
    with pytest.raises(TypeError, match=r"candidates\['b'\] must be a torch.nn.Module"):
        effedu.compare_latency({"a": small_cnn(), "b": "resnet"}, (1, 3, 8, 8))
    with pytest.raises(ValueError, match="x is missing"):
        effedu.compare_latency({"a": small_cnn()})
