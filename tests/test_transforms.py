import pytest
import torch
from torch import nn

import effedu
from effedu import blocks, models, transforms


@pytest.mark.parametrize("build,shape", [(lambda: models.mobilenet_v2(0.5), (2, 3, 64, 64)),
                                         (models.resnet18, (1, 3, 64, 64)),
                                         (lambda: blocks.ShuffleNetV2Unit(24, 48, 2), (1, 24, 16, 16))])
def test_folded_batchnorm_gives_the_same_outputs(build, shape):
    torch.manual_seed(0)
    model = build().eval()
    for module in model.modules():  # non-trivial statistics, or folding would be checked against identity BNs
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.2, 0.2)
    folded = transforms.fold_batchnorm(model)
    x = torch.randn(shape)
    with torch.no_grad():
        assert torch.allclose(folded(x), model(x), atol=1e-4, rtol=1e-4)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())  # the original is untouched
    assert effedu.count_macs(folded, shape) == effedu.count_macs(model, shape)
    assert effedu.memory_traffic(folded, shape) < effedu.memory_traffic(model, shape)


def test_inplace_activations_switch_without_changing_the_bytes_counted():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())
    out_of_place = transforms.inplace_activations(model, inplace=False)
    in_place = transforms.inplace_activations(model, inplace=True)
    relu_bytes = [sum(r.bytes for r in effedu.record_ops(m, (1, 3, 10, 10)) if "relu" in r.op)
                  for m in (out_of_place, in_place)]
    assert relu_bytes[0] == relu_bytes[1] == 2 * 8 * 8 * 8 * 4  # read + write either way, but no new tensor
    assert in_place[1].inplace and not out_of_place[1].inplace and not model[1].inplace


@pytest.mark.slow
def test_try_compile_builds_a_model_that_computes_the_same():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
    compiled, reason = transforms.try_compile(model, (1, 3, 8, 8))
    assert reason == "" and compiled is not None  # this machine has a C++ compiler (CI installs gcc with Python)
    x = torch.randn(1, 3, 8, 8)
    with torch.no_grad():
        assert torch.allclose(compiled(x), model(x), atol=1e-5)


def test_try_compile_reports_a_failure_instead_of_raising(monkeypatch):
    def broken(model, **kwargs):
        raise RuntimeError("no C++ compiler found\nsecond line")

    monkeypatch.setattr(torch, "compile", broken)
    assert transforms.try_compile(nn.Identity(), (1, 3)) == (None, "RuntimeError: no C++ compiler found")
    frame, reason = transforms.compile_comparison(nn.Identity(), (1, 3))
    assert frame is None and "no C++ compiler" in reason
    with pytest.raises(TypeError, match="must be a torch.nn.Module"):
        transforms.try_compile("model", (1, 3))


def test_compile_targets_the_timing_device(monkeypatch):
    seen = []

    def spy(model, **kwargs):
        seen.append(next(model.parameters()).device.type)
        return model

    monkeypatch.setattr(torch, "compile", spy)
    frame, reason = transforms.compile_comparison(nn.Conv2d(3, 4, 1), (1, 3, 4, 4), device="cpu", budget_s=0.02)
    assert reason == "" and seen == ["cpu"] and list(frame.index) == ["eager", "compiled"]
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device='cuda'"):
            transforms.compile_comparison(nn.Conv2d(3, 4, 1), (1, 3, 4, 4), device="cuda")
