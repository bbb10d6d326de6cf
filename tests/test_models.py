"""The reference models against the published numbers (REFERENCE figures copied here: tests own their data)."""
import pytest
import torch

import effedu
from effedu import models as M

IMAGENET = (1, 3, 224, 224)

# name, builder, published MACs, exact params (torchvision) or None, approximate params (millions), tolerance
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
    shares = effedu.report.count_by_kind(M.mobilenet_v1(), IMAGENET)
    expected = {"pointwise 1×1": (94.86, 74.59), "depthwise 3×3": (3.06, 1.06), "fully connected": (0.18, 24.33),
                "conv 3×3": (1.91, 0.02)}  # the paper prints 1.19 % for the first conv: a misprint of 1.91 %
    for kind, (macs_pct, params_pct) in expected.items():
        assert shares.loc[kind, "macs_share"] * 100 == pytest.approx(macs_pct, abs=0.01)
        assert shares.loc[kind, "params_share"] * 100 == pytest.approx(params_pct, abs=0.05)


def test_g1_memory_traffic_numbers():
    hw = 56 * 56
    for (c1, c2), elements in zip(M.G1_SETTINGS, [819_200, None, None, 1_483_200]):
        per_conv = hw * (c1 + c2) + c1 * c2
        if elements is not None:
            assert per_conv == elements
        stack = M.g1_pointwise_stack(c1, c2)
        assert effedu.memory_traffic(stack, (1, c1, 56, 56)) == 10 * 2 * per_conv * 4
        assert effedu.count_macs(stack, (1, c1, 56, 56)) == pytest.approx(20 * hw * 128 * 128, rel=0.06)  # 36·432 is 5 % under 128²


def test_g2_memory_traffic_numbers():
    for (g, c), elements in zip(M.G2_SETTINGS, [819_200, 1_145_160, 1_622_016, 2_274_120]):
        stack = M.g2_group_stack(g, c)
        assert effedu.memory_traffic(stack, (1, c, 56, 56)) == 20 * elements * 4
        assert effedu.count_macs(stack, (1, c, 56, 56)) == pytest.approx(20 * 56 * 56 * 128 * 128, rel=0.02)


def test_g3_fragments_at_equal_macs():
    reference = effedu.count_macs(M.g3_fragment_stack(1, False), (1, 128, 56, 56))
    for fragments, parallel in M.G3_SETTINGS:
        stack = M.g3_fragment_stack(fragments, parallel)
        c = stack[0].fragments[0].in_channels
        assert effedu.count_macs(stack, (1, c, 56, 56)) == pytest.approx(reference, rel=0.03)
        assert len(stack[0].fragments) == fragments


def test_g4_stack_switches():
    on, off = M.g4_bottleneck_stack(64), M.g4_bottleneck_stack(64, relu=False, shortcut=False)
    assert effedu.count_macs(on, (1, 64, 14, 14)) == effedu.count_macs(off, (1, 64, 14, 14))
    assert effedu.memory_traffic(on, (1, 64, 14, 14)) > effedu.memory_traffic(off, (1, 64, 14, 14))


@pytest.mark.parametrize("build", [M.mobilenet_v1, M.mobilenet_v2, M.shufflenet_v1, M.shufflenet_v2, M.resnet18,
                                   M.resnet50])
@pytest.mark.parametrize("resolution", [96, 161])
def test_any_resolution_forward(build, resolution):
    with torch.no_grad():
        assert build().eval()(torch.randn(2, 3, resolution, resolution)).shape == (2, 1000)


def test_faceboxes_outputs_one_box_per_anchor():
    with torch.no_grad():
        boxes, scores = M.faceboxes().eval()(torch.randn(1, 3, 1024, 1024))
    anchors = 32 * 32 * 21 + 16 * 16 + 8 * 8  # 21,824 anchors at 1024×1024, as the paper's prototxt
    assert boxes.shape == (1, anchors, 4) and scores.shape == (1, anchors, 2)


def test_zoo_summary():
    frame = M.zoo(128)
    assert list(frame.index) == list(M.REFERENCE_MODELS)
    assert frame.loc["MobileNetV2 1.0", "params"] == 3_504_872
    assert (frame["bytes"] > 0).all() and (frame["macs"] > 0).all()
    assert frame.loc["ResNet-50", "macs"] > frame.loc["MobileNetV1 1.0", "macs"]


@pytest.mark.parametrize("make,message", [
    (lambda: M.mobilenet_v2(0), "width_mult must be a positive number"),
    (lambda: M.mobilenet_v1(-1), "width_mult must be a positive number"),
    (lambda: M.shufflenet_v1(groups=5), "groups must be one of"),
    (lambda: M.shufflenet_v2(scale=0.7), "scale must be one of"),
    (lambda: M.g2_group_stack(3, 128), r"groups \(3\) must divide channels \(128\)"),
    (lambda: M.g1_pointwise_stack(0, 128), "c1 must be a positive number"),
    (lambda: M.zoo(0), "resolution must be a positive number"),
])
def test_bad_model_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_zoo_with_latency_has_timing_and_published_columns():
    frame = M.zoo(64, latency=True, budget_s=0.03, progress=False)
    assert {"median_ms", "ratio", "params", "macs", "bytes", "paper_macs_M", "source"} <= set(frame.columns)
    assert frame["ratio"].iloc[0] == 1.0 and (frame["median_ms"] > 0).all()


@pytest.mark.parametrize("block", list(M.TINY_BLOCKS))
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
