"""Every block's docstring formula, checked against the counters on random configurations."""
import copy
import random

import pytest
import torch
from torch import nn

import effedu
from effedu import blocks as B

SEEDS = range(6)


def counts(block, shape):
    return effedu.count_macs(block, shape), effedu.count_params(block)


def out_size(size, stride, kernel=3):
    return (size + 2 * (kernel // 2) - kernel) // stride + 1


@pytest.mark.parametrize("seed", SEEDS)
def test_conv_bn_act(seed):
    r = random.Random(seed)
    g = r.choice([1, 2, 4])
    c_in, c_out = g * r.randint(1, 8), g * r.randint(1, 8)
    k, s, h = r.choice([1, 3, 5]), r.choice([1, 2]), r.randint(6, 15)
    ho = out_size(h, s, k)
    assert counts(B.ConvBNAct(c_in, c_out, k, s, groups=g), (1, c_in, h, h)) == (
        ho * ho * c_out * (c_in // g) * k * k, c_out * (c_in // g) * k * k + 2 * c_out)


@pytest.mark.parametrize("seed", SEEDS)
def test_depthwise_separable(seed):
    r = random.Random(seed)
    c_in, c_out, k, s, h = r.randint(2, 32), r.randint(2, 32), r.choice([3, 5]), r.choice([1, 2]), r.randint(6, 15)
    ho = out_size(h, s, k)
    assert counts(B.DepthwiseSeparable(c_in, c_out, s, kernel_size=k), (1, c_in, h, h)) == (
        ho * ho * c_in * (k * k + c_out), c_in * k * k + c_in * c_out + 2 * c_in + 2 * c_out)


def test_depthwise_separable_saving_matches_mobilenet_table_3():
    # 14×14×512 → 512, 3×3: 462 M vs 52.3 M MACs, 2.36 M vs 0.27 M weights (Table 3, conv weights only)
    standard = nn.Conv2d(512, 512, 3, padding=1, bias=False)
    separable = nn.Sequential(nn.Conv2d(512, 512, 3, padding=1, groups=512, bias=False),
                              nn.Conv2d(512, 512, 1, bias=False))
    assert round(effedu.count_macs(standard, (1, 512, 14, 14)) / 1e6) == 462
    assert round(effedu.count_macs(separable, (1, 512, 14, 14)) / 1e5) == 523
    assert round(effedu.count_params(standard) / 1e4) == 236 and round(effedu.count_params(separable) / 1e4) == 27
    ratio = effedu.count_macs(separable, (1, 512, 14, 14)) / effedu.count_macs(standard, (1, 512, 14, 14))
    assert ratio == pytest.approx(1 / 512 + 1 / 9)


@pytest.mark.parametrize("seed", SEEDS)
def test_factorized_conv(seed):
    r = random.Random(seed)
    c_in, c_out, k, h = r.randint(2, 24), r.randint(2, 24), r.choice([3, 5, 7]), r.randint(6, 15)
    assert counts(B.FactorizedConv(c_in, c_out, kernel_size=k), (1, c_in, h, h)) == (
        h * h * k * c_out * (c_in + c_out), k * c_out * (c_in + c_out) + 4 * c_out)


def test_factorized_costs_six_ninths():
    full = effedu.count_macs(nn.Conv2d(64, 64, 3, padding=1, bias=False), (1, 64, 16, 16))
    assert effedu.count_macs(B.FactorizedConv(64, 64), (1, 64, 16, 16)) / full == pytest.approx(6 / 9)


@pytest.mark.parametrize("seed", SEEDS)
def test_low_rank_conv(seed):
    r = random.Random(seed)
    c_in, c_out, k, rank, s, h = (r.randint(2, 24), r.randint(2, 24), r.choice([3, 5]), r.randint(1, 8),
                                  r.choice([1, 2]), r.randint(6, 15))
    ho = out_size(h, s, k)
    assert counts(B.LowRankConv(c_in, c_out, s, kernel_size=k, rank=rank), (1, c_in, h, h)) == (
        ho * ho * rank * (c_in * k * k + c_out), rank * (c_in * k * k + c_out))


def test_low_rank_from_conv_is_exact_at_full_rank_and_approximate_below():
    torch.manual_seed(0)
    conv = nn.Conv2d(6, 8, 3, padding=1, bias=True)
    x = torch.randn(1, 6, 9, 9)
    with torch.no_grad():
        full = B.LowRankConv.from_conv(conv, rank=8)
        assert torch.allclose(full(x), conv(x), atol=1e-5)
        errors = [(B.LowRankConv.from_conv(conv, r)(x) - conv(x)).norm().item() for r in (1, 4, 7)]
    assert errors[0] > errors[1] > errors[2] > 0
    with pytest.raises(ValueError, match="rank must be at most"):
        B.LowRankConv.from_conv(conv, rank=9)


@pytest.mark.parametrize("seed", SEEDS)
def test_pointwise_group_conv(seed):
    r = random.Random(seed)
    g = r.choice([1, 2, 3, 4, 8])
    c_in, c_out, h = g * r.randint(1, 6), g * r.randint(1, 6), r.randint(4, 12)
    assert counts(B.PointwiseGroupConv(c_in, c_out, groups=g), (1, c_in, h, h)) == (
        h * h * c_in * c_out // g, c_in * c_out // g + 2 * c_out)


def test_channel_shuffle_interleaves_groups():
    x = torch.arange(6.0).view(1, 6, 1, 1)
    assert B.ChannelShuffle(3)(x).flatten().tolist() == [0, 2, 4, 1, 3, 5]
    assert B.ChannelShuffle(2)(x).flatten().tolist() == [0, 3, 1, 4, 2, 5]
    assert effedu.count_macs(B.ChannelShuffle(3), (1, 6, 5, 5)) == 0
    assert effedu.memory_traffic(B.ChannelShuffle(3), (1, 6, 5, 5)) == 2 * 6 * 25 * 4
    with pytest.raises(ValueError, match=r"groups \(4\) must divide channels \(6\)"):
        B.ChannelShuffle(4)(x)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("stride", [1, 2])
def test_shufflenet_v1_unit(seed, stride):
    r = random.Random(seed)
    g = r.choice([1, 2, 3, 4, 8])
    first_groups = r.choice([1, g])
    c_out = 4 * g * r.randint(2, 4)  # the bottleneck C_out/4 must split into g groups
    c_in = c_out if stride == 1 else g * r.randint(1, 4 * 2 - 1)  # stride 2: fewer inputs than outputs
    h = r.randint(6, 14)
    ho = out_size(h, stride)
    m = c_out // 4
    b = c_out - c_in if stride == 2 else c_out
    block = B.ShuffleNetV1Unit(c_in, c_out, stride, groups=g, first_groups=first_groups)
    assert counts(block, (1, c_in, h, h)) == (
        h * h * c_in * m // first_groups + ho * ho * (9 * m + m * b // g),
        c_in * m // first_groups + 9 * m + m * b // g + 2 * (2 * m + b))
    assert block(torch.randn(1, c_in, h, h)).shape == (1, c_out, ho, ho)


@pytest.mark.parametrize("seed", SEEDS)
def test_shufflenet_v2_units(seed):
    r = random.Random(seed)
    c, h = 2 * r.randint(2, 20), r.randint(6, 14)
    b = c // 2
    assert counts(B.ShuffleNetV2Unit(c, c), (1, c, h, h)) == (h * h * (2 * b * b + 9 * b), 2 * b * b + 9 * b + 6 * b)
    c_in, c_out = r.randint(2, 20), 2 * r.randint(2, 20)
    b, ho = c_out // 2, out_size(h, 2)
    block = B.ShuffleNetV2Unit(c_in, c_out, 2)
    assert counts(block, (1, c_in, h, h)) == (
        ho * ho * (9 * c_in + c_in * b + 9 * b + b * b) + h * h * c_in * b,
        9 * c_in + 2 * c_in + c_in * b + 2 * b + c_in * b + 2 * b + 9 * b + 2 * b + b * b + 2 * b)
    assert block(torch.randn(1, c_in, h, h)).shape == (1, c_out, ho, ho)


@pytest.mark.parametrize("seed", SEEDS)
def test_inverted_residual(seed):
    r = random.Random(seed)
    c_in, c_out, t, s, h = r.randint(2, 16), r.randint(2, 16), r.choice([1, 3, 6]), r.choice([1, 2]), r.randint(6, 14)
    e, ho, expands = c_in * t, out_size(h, s), int(t != 1)
    block = B.InvertedResidual(c_in, c_out, s, expand_ratio=t)
    assert counts(block, (1, c_in, h, h)) == (
        h * h * c_in * e * expands + ho * ho * (9 * e + e * c_out),
        c_in * e * expands + 9 * e + e * c_out + 2 * e * (1 + expands) + 2 * c_out)
    assert block.use_residual == (s == 1 and c_in == c_out)


@pytest.mark.parametrize("seed", SEEDS)
def test_basic_block(seed):
    r = random.Random(seed)
    c_in, c_out, s, h = r.randint(2, 16), r.randint(2, 16), r.choice([1, 2]), r.randint(6, 14)
    ho, projects = out_size(h, s), int(s != 1 or c_in != c_out)
    assert counts(B.BasicBlock(c_in, c_out, s), (1, c_in, h, h)) == (
        ho * ho * 9 * c_out * (c_in + c_out) + projects * ho * ho * c_in * c_out,
        9 * c_out * (c_in + c_out) + 4 * c_out + projects * (c_in * c_out + 2 * c_out))


@pytest.mark.parametrize("seed", SEEDS)
def test_bottleneck_and_resnext(seed):
    r = random.Random(seed)
    g = r.choice([1, 2, 4])
    c_in, m, s, h = r.randint(4, 32), g * r.randint(1, 6), r.choice([1, 2]), r.randint(6, 14)
    c_out = r.choice([c_in, 4 * m])
    ho, projects = out_size(h, s), int(s != 1 or c_in != c_out)
    block = B.Bottleneck(c_in, c_out, s, mid_channels=m, groups=g)
    assert counts(block, (1, c_in, h, h)) == (
        h * h * c_in * m + ho * ho * (9 * m * m // g + m * c_out) + projects * ho * ho * c_in * c_out,
        c_in * m + 9 * m * m // g + m * c_out + 4 * m + 2 * c_out + projects * (c_in * c_out + 2 * c_out))


def test_resnext_unit_pointwise_share_is_93_43_percent():
    frame = effedu.profiling.count_by_kind(B.ResNeXtUnit(256, 256, cardinality=32), (1, 256, 14, 14))
    assert frame.loc["pointwise 1×1", "macs_share"] == pytest.approx(128 / 137)
    assert round(frame.loc["pointwise 1×1", "macs_share"] * 100, 2) == 93.43


def test_g4_switches_remove_relu_and_add():
    on = effedu.record_ops(B.Bottleneck(64, 64), (1, 64, 8, 8))
    off = effedu.record_ops(B.Bottleneck(64, 64, relu=False, shortcut=False), (1, 64, 8, 8))
    assert sum("relu" in r.op for r in on) == 3 and sum("add" in r.op for r in on) == 1
    assert not any("relu" in r.op or "add" in r.op for r in off)
    assert sum(r.macs for r in on) == sum(r.macs for r in off)


def test_rdcl_reaches_stride_32_and_crelu_doubles_channels():
    rdcl = B.RDCL(3)
    assert rdcl(torch.randn(1, 3, 640, 480)).shape == (1, 128, 20, 15)
    h, w = 640, 480
    assert counts(rdcl, (1, 3, h, w)) == (
        (h // 4) * (w // 4) * 24 * 3 * 49 + (h // 16) * (w // 16) * 64 * 48 * 25,
        24 * 49 * 3 + 2 * 24 + 64 * 48 * 25 + 2 * 64)
    x = torch.tensor([[[[1.0]], [[-2.0]]]])
    assert B.CReLU()(x).flatten().tolist() == [1.0, 0.0, 0.0, 2.0]


def test_faceboxes_inception():
    c, h = 128, 8
    per_position = 32 * c + 32 * c + (24 * c + 9 * 24 * 32) + (24 * c + 9 * 24 * 32 + 9 * 32 * 32)
    block = B.FaceBoxesInception(c)
    assert effedu.count_macs(block, (1, c, h, h)) == h * h * per_position
    assert block(torch.randn(1, c, h, h)).shape == (1, 128, h, h)


@pytest.mark.parametrize("make,message", [
    (lambda: B.ConvBNAct(10, 16, groups=4), r"groups \(4\) must divide in_channels \(10\)"),
    (lambda: B.ConvBNAct(0, 16), "in_channels must be a positive integer"),
    (lambda: B.ConvBNAct(8, -1), "out_channels must be a positive integer"),
    (lambda: B.PointwiseGroupConv(12, 10, groups=3), r"groups \(3\) must divide out_channels \(10\)"),
    (lambda: B.ShuffleNetV2Unit(24, 25, 2), "out_channels must be even"),
    (lambda: B.ShuffleNetV2Unit(24, 48, 1), "in_channels .* must equal out_channels"),
    (lambda: B.ShuffleNetV1Unit(24, 240, 1), "in_channels .* must equal out_channels"),
    (lambda: B.ShuffleNetV1Unit(240, 120, 2), "out_channels .* must exceed"),
    (lambda: B.DepthwiseSeparable(8, 8, 3), "stride must be one of"),
    (lambda: B.InvertedResidual(8, 8, 4), "stride must be one of"),
    (lambda: B.FactorizedConv(8, 8, 2), "stride must be one of"),
    (lambda: B.InvertedResidual(8, 8, expand_ratio=0), "expand_ratio must be a positive integer"),
    (lambda: B.LowRankConv(8, 8, rank=0), "rank must be a positive integer"),
    (lambda: B.ChannelShuffle(0), "groups must be a positive integer"),
])
def test_impossible_configurations_name_the_parameter(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("value,divisor,expected", [(32, 8, 32), (33, 8, 32), (36, 8, 40), (12, 8, 16), (4, 8, 8),
                                                    (91, 8, 88), (100, 16, 96), (70, 16, 64)])
def test_make_divisible_rounds_to_the_nearest_multiple_never_10_percent_down(value, divisor, expected):
    result = B.make_divisible(value, divisor)
    assert result == expected and result % divisor == 0 and result >= 0.9 * value


def test_classifier_counts():
    head = B.Classifier(64, 10)
    assert counts(head, (1, 64, 4, 4)) == (64 * 10, 64 * 10 + 10)


@pytest.mark.parametrize("name", list(B.BLOCKS))
def test_block_registry_builds_every_block(name):
    block = B.make_block(name, 16, 32, 2, kernel_size=5, expand_ratio=3)
    with torch.no_grad():
        assert block.eval()(torch.randn(1, 16, 8, 8)).shape == (1, 32, 4, 4)
    kernels = {m.kernel_size for m in block.modules() if isinstance(m, nn.Conv2d)} - {(1, 1)}
    assert kernels == ({(5, 5)} if "kernel_size" in B.BLOCK_OPTIONS[name] else {(3, 3)})
    with pytest.raises(ValueError, match="block must be one of"):
        B.make_block("transformer", 16, 32)


def test_rank_for_energy():
    conv = nn.Conv2d(4, 4, 1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.diag(torch.tensor([3.0, 1.0, 1.0, 1.0])).reshape(4, 4, 1, 1))
    assert B.LowRankConv.rank_for_energy(conv, 0.75) == 1  # 9 of 12 in the first singular value
    assert B.LowRankConv.rank_for_energy(conv, 0.8) == 2
    assert B.LowRankConv.rank_for_energy(conv, 1.0) == 4


# --- after the essay (lesson 11) ---------------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
def test_repvgg_block_counts_and_its_fused_form(seed):
    r = random.Random(seed)
    c_in, stride, h = r.randint(2, 16), r.choice([1, 2]), r.randint(6, 13)
    c_out = c_in if stride == 1 and r.random() < 0.5 else r.randint(2, 16)
    identity = 2 * c_in if c_in == c_out and stride == 1 else 0
    ho = out_size(h, stride)
    block = B.RepVGGBlock(c_in, c_out, stride)
    assert counts(block, (1, c_in, h, h)) == (ho * ho * c_out * c_in * 10, 10 * c_out * c_in + 4 * c_out + identity)
    assert counts(block.reparameterized(), (1, c_in, h, h)) == (ho * ho * c_out * c_in * 9, 9 * c_out * c_in + c_out)


@pytest.mark.parametrize("seed", SEEDS)
def test_mobileone_block_counts(seed):
    r = random.Random(seed)
    c, k, branches, stride, h = r.randint(2, 16), r.choice([1, 3]), r.randint(1, 4), r.choice([1, 2]), 9
    groups = c if k == 3 else 1
    c_out = c if k == 3 else r.randint(2, 16)
    block = B.MobileOneBlock(c, c_out, stride, kernel_size=k, groups=groups, branches=branches)
    scale = 1 if k > 1 else 0
    identity = 2 * c if c == c_out and stride == 1 else 0
    ho = out_size(h, stride, k)
    per = c_out * (c // groups)
    assert counts(block, (1, c, h, h)) == (ho * ho * per * (branches * k * k + scale),
                                           per * (branches * k * k + scale) + 2 * c_out * (branches + scale) + identity)


def randomized(block, shape, seed=0):
    """The block in eval mode with random, realistic BatchNorm statistics: a fresh block's are the identity."""
    return effedu.transforms.calibrate_batchnorm(block, (4, *shape[1:]), seed=seed).eval()


@pytest.mark.parametrize("make", [lambda: B.RepVGGBlock(16, 16), lambda: B.RepVGGBlock(8, 24, 2),
                                  lambda: B.MobileOneBlock(16, 16, groups=16, branches=4),
                                  lambda: B.MobileOneBlock(16, 16, 2, groups=16, branches=3),
                                  lambda: B.MobileOneBlock(16, 32, kernel_size=1, branches=4),
                                  lambda: B.MobileOneBlock(24, 24, kernel_size=1, branches=2)])
def test_reparameterized_blocks_compute_the_same_function(make):
    shape = (2, make().kernels[0][0].in_channels if hasattr(make(), "kernels") else make().dense[0].in_channels,
             12, 12)
    for seed in range(3):  # random inputs and randomized BatchNorm statistics
        block = randomized(make(), shape, seed)
        x = torch.randn(shape, generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():
            expected, fused = block(x), block.reparameterized()(x)
        assert (fused - expected).abs().max() / expected.abs().max() <= 1e-5


def test_a_wrong_fold_is_caught_by_the_check():
    model = nn.Sequential(B.RepVGGBlock(8, 8), B.RepVGGBlock(8, 8))
    assert effedu.transforms.reparameterize(model, (1, 8, 12, 12)) is not model  # equal: handed back

    def wrong(m):  # forgets the identity branch when fusing
        fused = B.fuse_branches(copy.deepcopy(m))
        with torch.no_grad():
            fused[0][0].weight[:, :, 1, 1] -= torch.eye(8) * 0.5
        return fused

    copy_, reason = effedu.transforms.checked(wrong, model, (1, 8, 12, 12), tolerance=1e-5)
    assert copy_ is None and "changed the outputs" in reason


@pytest.mark.parametrize("seed", SEEDS)
def test_partial_conv_and_fasternet_block(seed):
    r = random.Random(seed)
    c, h = 4 * r.randint(1, 12), r.randint(5, 12)
    assert counts(B.PartialConv(c), (1, c, h, h)) == (9 * h * h * (c // 4) ** 2, 9 * (c // 4) ** 2)
    assert counts(B.FasterNetBlock(c), (1, c, h, h)) == (h * h * (9 * (c // 4) ** 2 + 4 * c * c),
                                                         9 * (c // 4) ** 2 + 4 * c * c + 4 * c)
    x = torch.randn(1, c, h, h)
    assert torch.equal(B.PartialConv(c)(x)[:, c // 4:], x[:, c // 4:])  # the untouched channels pass as they are


@pytest.mark.parametrize("start,mid", [(0, 3), (3, 0), (3, 3), (0, 0), (5, 5)])
def test_universal_inverted_bottleneck_instantiations(start, mid):
    c, e, h = 16, 64, 10  # expansion 4
    block = B.UniversalInvertedBottleneck(c, c, start_kernel=start, mid_kernel=mid)
    macs = h * h * (c * start * start + c * e + mid * mid * e + e * c)
    params = c * start * start + c * e + mid * mid * e + e * c + 2 * (c * bool(start) + e + e * bool(mid) + c)
    assert counts(block, (1, c, h, h)) == (macs, params) and block.use_residual
    down = B.UniversalInvertedBottleneck(c, 24, 2, start_kernel=start or 3, mid_kernel=mid)
    assert down(torch.randn(1, c, h, h)).shape == (1, 24, 5, 5) and not down.use_residual
    with pytest.raises(ValueError, match="start_kernel or mid_kernel"):
        B.UniversalInvertedBottleneck(c, c, 2, start_kernel=0, mid_kernel=0)


def test_convnext_block_counts():
    c, h = 32, 8
    assert counts(B.ConvNeXtBlock(c), (1, c, h, h)) == (h * h * c * (49 + 8 * c),
                                                       c * 50 + 2 * c + 8 * c * c + 5 * c + c)
