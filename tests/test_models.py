"""The reference models against the published numbers (REFERENCE figures copied here: tests own their data)."""
import pytest
import torch

import effedu
from effedu import blocks, profiling
from effedu import models as M

IMAGENET = (1, 3, 224, 224)

# name, builder, published MACs, exact params (torchvision) or None, approximate params (millions)
PUBLISHED = [
    ("MobileNetV1 1.0", lambda: M.mobilenet_v1(1.0), 568.7e6, None, 4.2),
    ("MobileNetV2 1.0", lambda: M.mobilenet_v2(1.0), 300_774_272, 3_504_872, 3.5),
    ("ShuffleNetV2 1.0", lambda: M.shufflenet_v2(1.0), 144.9e6, 2_278_604, 2.3),
    ("ShuffleNetV2 0.5", lambda: M.shufflenet_v2(0.5), 40.5e6, None, 1.4),
    ("ShuffleNetV2 1.5", lambda: M.shufflenet_v2(1.5), 295.8e6, None, 3.5),
    ("ShuffleNetV2 2.0", lambda: M.shufflenet_v2(2.0), 583.3e6, None, 7.4),
    ("ShuffleNet v1 1x g=3", lambda: M.shufflenet_v1(3, 1.0), 137.5e6, None, 1.9),
    ("ResNet-18", M.resnet18, 1.814e9, 11_689_512, 11.7),
    ("ResNet-50", M.resnet50, 4.089e9, 25_557_032, 25.6),
]


@pytest.mark.slow
@pytest.mark.parametrize("name,build,macs,params,params_m", PUBLISHED, ids=[p[0] for p in PUBLISHED])
def test_counts_match_published(name, build, macs, params, params_m):
    model = build()
    assert effedu.count_macs(model, IMAGENET) == pytest.approx(macs, rel=0.005)
    if params is not None:
        assert effedu.count_params(model) == params
    assert effedu.count_params(model) / 1e6 == pytest.approx(params_m, abs=0.05)


def test_mobilenet_v2_macs_exact():
    assert effedu.count_macs(M.mobilenet_v2(), IMAGENET) == 300_774_272


# MobileNetV1, Table 6 (width multiplier) and Table 7 (resolution): MACs in millions, params in millions
@pytest.mark.parametrize("alpha,macs_m,params_m", [(1.0, 569, 4.2), (0.75, 325, 2.6), (0.5, 149, 1.3), (0.25, 41, 0.5)])
def test_mobilenet_v1_width_multiplier(alpha, macs_m, params_m):
    model = M.mobilenet_v1(alpha)
    assert effedu.count_macs(model, IMAGENET) / 1e6 == pytest.approx(macs_m, rel=0.005)
    assert effedu.count_params(model) / 1e6 == pytest.approx(params_m, abs=0.05)


@pytest.mark.parametrize("resolution,macs_m", [(224, 569), (192, 418), (160, 290), (128, 186)])
def test_mobilenet_v1_resolution_multiplier(resolution, macs_m):
    assert effedu.count_macs(M.mobilenet_v1(), (1, 3, resolution, resolution)) / 1e6 == pytest.approx(macs_m, rel=0.005)


def test_mobilenet_v1_layer_type_shares_table_2():
    shares = profiling.count_by_kind(M.mobilenet_v1(), IMAGENET)
    expected = {"pointwise 1×1": (94.86, 74.59), "depthwise 3×3": (3.06, 1.06), "fully connected": (0.18, 24.33),
                "conv 3×3": (1.91, 0.02)}  # the paper prints 1.19 % for the first conv: a misprint of 1.91 %
    for kind, (macs_pct, params_pct) in expected.items():
        assert shares.loc[kind, "macs_share"] * 100 == pytest.approx(macs_pct, abs=0.01)
        assert shares.loc[kind, "params_share"] * 100 == pytest.approx(params_pct, abs=0.05)


@pytest.mark.slow
@pytest.mark.parametrize("build", [M.mobilenet_v1, M.mobilenet_v2, M.shufflenet_v1, M.shufflenet_v2, M.resnet18,
                                   M.resnet50])
@pytest.mark.parametrize("resolution", [96, 161])
def test_any_resolution_forward(build, resolution):
    with torch.no_grad():
        assert build().eval()(torch.randn(2, 3, resolution, resolution)).shape == (2, 1000)


@pytest.mark.slow
def test_faceboxes_outputs_one_box_per_anchor():
    with torch.no_grad():
        boxes, scores = M.faceboxes().eval()(torch.randn(1, 3, 1024, 1024))
    anchors = 32 * 32 * 21 + 16 * 16 + 8 * 8  # 21,824 anchors at 1024×1024, as the paper's prototxt
    assert boxes.shape == (1, anchors, 4) and scores.shape == (1, anchors, 2)


@pytest.mark.parametrize("make,message", [
    (lambda: M.mobilenet_v2(0), "width_mult must be a positive number"),
    (lambda: M.mobilenet_v1(-1), "width_mult must be a positive number"),
    (lambda: M.shufflenet_v1(groups=5), "groups must be one of"),
    (lambda: M.shufflenet_v2(scale=0.7), "scale must be one of"),
    (lambda: M.TinyNet(width_mult=-1), "width_mult must be a positive number"),
])
def test_bad_model_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("block", list(blocks.BLOCKS))
def test_tiny_net_every_block(block):
    model = M.TinyNet(block, width_mult=0.5)
    with torch.no_grad():
        assert model.eval()(torch.randn(2, 1, 16, 16)).shape == (2, 10)
    assert len(M.TinyNet(block, depths=(1, 2, 2), depth_mult=2).features) == 1 + 10


def test_tiny_net_errors():
    with pytest.raises(ValueError, match="block must be one of"):
        M.TinyNet("transformer")
    with pytest.raises(ValueError, match="widths and depths"):
        M.TinyNet(widths=(8, 16), depths=(1,))
    with pytest.raises(ValueError, match="depth_mult"):
        M.TinyNet(depth_mult=0)


def test_published_figures_sit_beside_the_counts():
    assert set(M.PUBLISHED) == set(M.REFERENCE_MODELS) | set(M.RECENT_MODELS)
    for name, (macs_m, params_m, source) in M.PUBLISHED.items():
        assert macs_m > 0 and params_m > 0 and source


def test_digits_cnn_is_seeded_without_touching_the_global_generator():
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    first = M.digits_cnn(seed=5)
    assert torch.equal(torch.rand(1), expected)
    assert torch.equal(M.digits_cnn(seed=5)[0].weight, first[0].weight)
    assert not torch.equal(M.digits_cnn(seed=6)[0].weight, first[0].weight)


def test_tiny_net_same_seed_same_weights():
    a, b = M.TinyNet("bottleneck", seed=3), M.TinyNet("bottleneck", seed=3)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_network_template_takes_any_modules():
    net = M.Network(blocks.ConvBNAct(1, 24, 5, 2), [blocks.ShuffleNetV1Unit(24, 72, 2, groups=3, first_groups=1),
                                                    blocks.InvertedResidual(72, 96, 2)], channels=96)
    with torch.no_grad():
        assert net.eval()(torch.randn(2, 1, 16, 16)).shape == (2, 10)


# --- after the essay (lesson 11): exact counts at 224×224 (equal to timm 1.0's implementations, compared when
# these were written) and every stage's output shape, pinned as literals; the papers' printed figures beside them.
# MobileOne's blocks are a depthwise then a pointwise unit, so each stage first halves the side (depthwise,
# stride 2) and then widens (pointwise): two boundaries per stage.
MOBILEONE_STAGES = [(48, 112), (48, 56), (48, 28), (128, 28), (128, 14), (256, 14), (256, 7), (1024, 7)]
RECENT = {  # name: (builder, params, MACs, stage outputs (channels, side) in order)
    "RepVGG-A0 training form": (M.repvgg_a0, 9_108_968, 1_512_581_120,
                                [(48, 112), (48, 56), (96, 28), (192, 14), (1280, 7)]),
    "RepVGG-A0 fused": (lambda: M.repvgg_a0(deploy=True), 8_309_384, 1_361_451_008,
                        [(48, 112), (48, 56), (96, 28), (192, 14), (1280, 7)]),
    "MobileOne-S0 training form": (M.mobileone_s0, 5_293_272, 1_051_935_232,
                                   MOBILEONE_STAGES),
    "MobileOne-S0 fused": (lambda: M.mobileone_s0(deploy=True), 2_078_504, 275_110_400,
                           MOBILEONE_STAGES),
    "FasterNet-T0": (M.fasternet_t0, 3_905_500, 335_422_720, [(40, 56), (80, 28), (160, 14), (320, 7)]),
    "MobileNetV4-Conv-S": (M.mobilenetv4_conv_small, 3_774_024, 186_005_568,
                           [(32, 112), (32, 56), (96, 28), (64, 28), (96, 14), (128, 7), (960, 7)]),
    "ConvNeXt-T": (M.convnext_tiny, 28_589_128, 4_455_531_264, [(96, 56), (192, 28), (384, 14), (768, 7)]),
}
PRINTED = {  # what the papers print (MACs in millions, params in millions) and the unit of the last digit
    "RepVGG-A0 fused": (1400, 100, 8.30, 0.01), "MobileOne-S0 fused": (275, 1, 2.1, 0.1),
    "FasterNet-T0": (340, 10, 3.9, 0.1), "MobileNetV4-Conv-S": (200, 100, 3.8, 0.1), "ConvNeXt-T": (4500, 100, 29, 1),
}


def stage_outputs(model) -> list[tuple[int, int]]:
    """(channels, side) after every layer of ``features`` that changes either: the stage boundaries."""
    shapes, x = [], torch.zeros(IMAGENET)
    with torch.no_grad():
        for layer in model.eval().features:
            y = layer(x)
            if y.shape[1:3] != x.shape[1:3]:
                shapes.append((y.shape[1], y.shape[2]))
            x = y
    return shapes


@pytest.mark.parametrize("name", list(RECENT))
def test_recent_networks_have_their_exact_counts_and_stage_shapes(name):
    build, params, macs, stages = RECENT[name]
    model = build()
    assert effedu.count_params(model) == params
    assert sum(r.macs for r in effedu.counting.count_fast(model, IMAGENET)) == macs
    assert stage_outputs(model)[-len(stages):] == stages
    with torch.no_grad():
        assert model.eval()(torch.randn(1, 3, 96, 96)).shape == (1, 1000)
    if name in PRINTED:  # the paper's rounded figure, to its printed precision (one unit of its last digit)
        macs_m, macs_unit, params_m, params_unit = PRINTED[name]
        assert abs(macs / 1e6 - macs_m) <= macs_unit and abs(params / 1e6 - params_m) <= params_unit
        published = M.PUBLISHED[name.replace(" fused", "")]
        assert (published[0], published[1]) == (macs_m, params_m)


@pytest.mark.parametrize("scale,paper_mflops", [(0.5, 38), (2.0, 524)])
def test_shufflenet_v1_width_scales_the_stem_to_the_papers_complexity(scale, paper_mflops):
    # Table 8: ShuffleNet 0.5× (g=3) 38 MFLOPs, 2× 524 MFLOPs; the stem scales with the rest (12 channels at 0.5×)
    net = M.shufflenet_v1(3, scale)
    assert net.features[0][0].out_channels == round(24 * scale)
    assert effedu.count_macs(net, (1, 3, 224, 224)) / 1e6 == pytest.approx(paper_mflops, rel=0.02)
    assert M.shufflenet_v1(8, 0.5)(torch.zeros(1, 3, 64, 64)).shape == (1, 1000)  # g=8: stem 16, groups still split


def test_shufflenet_v1_g3_is_quoted_from_table_1_where_the_count_matches():
    # ShuffleNet Table 1 lists 137 MFLOPs for g = 3; Table 2's "1×" row rounds the family to 140
    counted = effedu.count_macs(M.shufflenet_v1(3), (1, 3, 224, 224))
    assert M.PUBLISHED["ShuffleNet v1 g=3"][0] == round(counted / 1e6) == 137
    assert "Table 1" in M.PUBLISHED["ShuffleNet v1 g=3"][2]
