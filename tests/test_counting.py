import random

import pytest
import torch
import torch.nn.functional as F
from helpers import AddModule, ChannelShuffleModule, small_cnn
from torch import nn

import effedu
from effedu.counting import mac_ratios


def conv_macs_formula(n, c_in, c_out, k, groups, h_out, w_out):
    return n * h_out * w_out * c_out * (c_in // groups) * k * k


@pytest.mark.parametrize("seed", range(12))
def test_conv_macs_match_formula_on_random_configurations(seed):
    r = random.Random(seed)
    groups = r.choice([1, 1, 2, 4, "depthwise"])
    c_in = r.choice([4, 8, 12, 16, 32])
    c_out = c_in if groups == "depthwise" else r.choice([4, 8, 16, 24])
    groups = c_in if groups == "depthwise" else groups
    k, stride, n = r.choice([1, 3, 5, 7]), r.choice([1, 2]), r.choice([1, 2])
    h, w = r.randint(8, 20), r.randint(8, 20)
    conv = nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2, groups=groups, bias=r.random() < 0.5)
    h_out, w_out = (h + 2 * (k // 2) - k) // stride + 1, (w + 2 * (k // 2) - k) // stride + 1
    expected = conv_macs_formula(n, c_in, c_out, k, groups, h_out, w_out)
    assert effedu.count_macs(conv, (n, c_in, h, w)) == expected


@pytest.mark.parametrize("batch,features_in,features_out", [(1, 2048, 1000), (3, 7, 5), (8, 64, 64)])
def test_linear_macs(batch, features_in, features_out):
    assert effedu.count_macs(nn.Linear(features_in, features_out), (batch, features_in)) == \
        batch * features_in * features_out


def test_functional_conv_is_counted():
    class Functional(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.randn(16, 8, 3, 3))

        def forward(self, x):
            return F.conv2d(x, self.weight, padding=1)

    assert effedu.count_macs(Functional(), (1, 8, 10, 10)) == 10 * 10 * 16 * 8 * 9


def test_memory_traffic_of_pointwise_conv_is_shufflenet_v2_formula():
    for c1, c2, h, w in [(128, 128, 56, 56), (36, 432, 56, 56), (7, 3, 5, 9)]:
        conv = nn.Conv2d(c1, c2, 1, bias=False)
        assert effedu.memory_traffic(conv, (1, c1, h, w)) == 4 * (h * w * (c1 + c2) + c1 * c2)
    assert effedu.memory_traffic(nn.Conv2d(128, 128, 1, bias=False), (1, 128, 56, 56)) == 819_200 * 4


def test_add_costs_no_macs_but_three_tensors_of_traffic():
    shape = (2, 16, 9, 9)
    n = 2 * 16 * 9 * 9
    assert effedu.count_macs(AddModule(), shape) == 0
    add_records = [r for r in effedu.record_ops(AddModule(), shape) if r.op.startswith("aten.add")]
    assert len(add_records) == 1 and add_records[0].bytes == 3 * n * 4


def test_channel_shuffle_is_free_in_macs_but_copies():
    shape = (1, 24, 8, 8)
    assert effedu.count_macs(ChannelShuffleModule(3), shape) == 0
    traffic = effedu.memory_traffic(ChannelShuffleModule(3), shape)
    assert traffic == 2 * 24 * 8 * 8 * 4  # one read and one write of the tensor; the views are free


def test_views_cost_nothing():
    class Views(nn.Module):
        def forward(self, x):
            return x.flatten(1).transpose(0, 1).unsqueeze(0)  # views only: no data moves

    assert effedu.memory_traffic(Views(), (2, 3, 4, 4)) == 0


def test_thop_charges_batchnorm_and_count_macs_does_not():
    model = small_cnn()
    ours = effedu.count_macs(model, (1, 3, 32, 32))
    assert ours == 32 * 32 * 16 * 3 * 9 + 16 * 10
    theirs = effedu.count_macs(model, (1, 3, 32, 32), method="thop")
    assert theirs > ours  # thop also counts BatchNorm (and more)
    no_bn = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False))
    assert effedu.count_macs(no_bn, (1, 3, 32, 32), method="thop") == effedu.count_macs(no_bn, (1, 3, 32, 32))


def test_count_params_counts_batchnorm_and_bias():
    assert effedu.count_params(small_cnn()) == 3 * 16 * 9 + 2 * 16 + 16 * 10 + 10


def test_tensor_and_shape_inputs_agree():
    model = small_cnn()
    assert effedu.count_macs(model, torch.randn(1, 3, 20, 20)) == effedu.count_macs(model, (1, 3, 20, 20))


def test_unknown_method_is_named():
    with pytest.raises(ValueError, match="method"):
        effedu.count_macs(small_cnn(), (1, 3, 8, 8), method="fvcore")


def test_mac_ratios_of_replacement_pairs_and_a_wrong_name():
    candidates = {"3×3": nn.Conv2d(8, 8, 3, padding=1, bias=False), "1×1": nn.Conv2d(8, 8, 1, bias=False)}
    ratios = mac_ratios(candidates, (1, 8, 10, 10), [("1×1", "3×3")])
    assert ratios["1×1 / 3×3"] == pytest.approx(1 / 9)
    with pytest.raises(ValueError, match="pairs must name candidates"):
        mac_ratios(candidates, (1, 8, 10, 10), [("5×5", "3×3")])
