import pytest
import torch
from helpers import BatchNormAct2d
from torch import nn

import effedu
from effedu import blocks, models, transforms


@pytest.mark.parametrize("build,shape", [(lambda: models.mobilenet_v2(0.5), (2, 3, 64, 64)),
                                         (models.resnet18, (1, 3, 64, 64)),
                                         (lambda: blocks.ShuffleNetV2Unit(24, 48, 2), (1, 24, 16, 16))])
def test_folded_batchnorm_gives_the_same_outputs(build, shape):
    torch.manual_seed(0)
    model = transforms.calibrate_batchnorm(build(), (4, *shape[1:])).eval()  # non-trivial statistics
    folded = transforms.fold_batchnorm(model)
    x = torch.randn(shape)
    assert transforms.relative_difference(model, folded, x) < 1e-4
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
    assert compiled is not model and hasattr(compiled, "_orig_mod")  # really compiled, not the model handed back
    assert compiled.effedu_kernels  # and the kernels Inductor generated were read
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


def test_software_variants_keep_the_arithmetic():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU()).eval()
    variants = transforms.software_variants(model, "cpu")
    assert list(variants) == ["default", "oneDNN off", "channels_last"]
    x = torch.randn(1, 3, 12, 12)
    with torch.no_grad():
        for name, variant in variants.items():
            assert torch.allclose(variant(x), model(x), atol=1e-5), name
    assert torch.backends.mkldnn.enabled  # the switch lasts only for the wrapped forward pass
    assert effedu.count_macs(variants["channels_last"], x) == effedu.count_macs(model, x)


def test_generated_kernels_are_read_from_the_call():
    code = """
def kernel(x): pass
class Runner:
    def call(self, args):
        buf0 = extern_kernels.convolution(arg0, arg1, stride=(1, 1))
        cpp_fused__native_batch_norm_legit_no_training_relu_0(buf0, arg2)
        triton_poi_fused_add_relu_1.run(buf0, buf1, 128, stream=stream0)
        return (buf1, )
"""
    assert transforms.generated_kernels(code) == {
        "generated": ["cpp_fused__native_batch_norm_legit_no_training_relu_0", "triton_poi_fused_add_relu_1"],
        "library": ["convolution"]}


def test_relative_difference_catches_a_wrong_fold():
    model = transforms.calibrate_batchnorm(models.mobilenet_v2(0.5), (4, 3, 64, 64), seed=3).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert (model(x) - model(2 * x)).abs().max() > 1e-3  # the output depends on the input: a real check
    folded = transforms.fold_batchnorm(model)
    assert transforms.relative_difference(model, folded, (1, 3, 64, 64)) < 1e-4
    broken = transforms.fold_batchnorm(model)
    first_conv = next(m for m in broken.modules() if isinstance(m, nn.Conv2d))
    with torch.no_grad():
        first_conv.bias.add_(0.05)  # a fold that got one shift wrong
    assert transforms.relative_difference(model, broken, (1, 3, 64, 64)) > 1e-3


class BatchNormThenRelu(nn.BatchNorm2d):
    """A subclass whose extra behaviour is code, not a child module: it cannot be carried over."""

    def forward(self, x):
        return super().forward(x).relu()


@pytest.mark.parametrize("norm", [BatchNormAct2d, BatchNormThenRelu])
def test_folding_a_batchnorm_subclass_keeps_its_behaviour(norm):
    model = nn.Sequential(nn.Conv2d(3, 8, 3, bias=False), norm(8), nn.Conv2d(8, 8, 3))
    folded, reason = transforms.checked(transforms.fold_batchnorm, model, (1, 3, 16, 16))
    assert folded is not None and reason == ""
    stem = folded[:2].eval()
    with torch.no_grad():
        assert stem(torch.randn(4, 3, 16, 16)).min() >= 0  # the activation survived the fold
    folded_norms = [m for m in folded.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(folded_norms) == (0 if norm is BatchNormAct2d else 1)  # code it cannot carry over stays unfolded


def test_checked_refuses_a_change_that_alters_the_outputs():
    def drops_every_norm(model):  # the bug the advisor once had on timm's BatchNormAct2d: the activation lost
        changed = transforms.fold_batchnorm(model)
        changed[1] = nn.Identity()
        return changed

    model = nn.Sequential(nn.Conv2d(3, 8, 3, bias=False), BatchNormAct2d(8), nn.Conv2d(8, 8, 3))
    built, reason = transforms.checked(drops_every_norm, model, (1, 3, 16, 16), what="BatchNorm folded")
    assert built is None and reason.startswith("BatchNorm folded changed the outputs") and "skipped" in reason
