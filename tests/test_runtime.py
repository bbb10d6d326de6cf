"""Every profiler restores what it touched, also when the model raises; bad input gives one clear error; the
shared validators and the seeded-build helper."""
import pytest
import torch
from helpers import Raising, small_cnn
from torch import nn
from torch.utils._python_dispatch import _get_current_dispatch_mode

import effedu
from effedu import _runtime

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


def test_validators_name_the_argument():
    assert _runtime.positive_int(3, "n") == 3 and _runtime.positive_number(0.5, "x") == 0.5
    for bad in (0, -1, True, 1.5, "2"):
        with pytest.raises(ValueError, match="n must be a positive integer"):
            _runtime.positive_int(bad, "n")
    for bad in (0, -0.1, False, "1"):
        with pytest.raises(ValueError, match="x must be a positive number"):
            _runtime.positive_number(bad, "x")


def test_seeded_builds_repeat_and_leave_the_global_generator_alone():
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    with _runtime.seeded(5):
        first = nn.Linear(4, 4).weight.clone()
    assert torch.equal(torch.rand(1), expected)  # the global stream continues as if nothing happened
    with _runtime.seeded(5):
        assert torch.equal(nn.Linear(4, 4).weight, first)


def test_thread_count_that_does_not_take_effect_warns(monkeypatch):
    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)  # a thread pool that ignores the request
    wanted = torch.get_num_threads() + 1
    with pytest.warns(effedu.ThreadSettingWarning, match=f"threads={wanted} was requested"):
        with _runtime.threads_fixed(wanted):
            pass


def test_module_stack_is_a_context_manager_that_removes_its_hooks():
    model = small_cnn()
    entered = []
    with _runtime.ModuleStack(model, on_enter=entered.append) as stack:
        model(torch.randn(1, 3, 8, 8))
        assert stack.stack == [""]
    assert entered[:2] == ["", "0"]
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
