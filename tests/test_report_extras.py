"""Sweeps, roofline peaks, connectivity, rank comparisons, low-rank reconstruction, data and training helpers."""
import math

import pandas as pd
import pytest
import torch
from torch import nn

import effedu
from effedu import blocks, models, plots, report
from effedu.timing import sweep


def test_sweep_rows_carry_settings_and_ratios():
    frame = sweep(
        [{"c": 8}, {"c": 16}],
        lambda c: {"dense": (nn.Conv2d(c, c, 1, bias=False), (1, c, 6, 6)),
                   "grouped": (nn.Conv2d(c, c, 1, groups=4, bias=False), (1, c, 6, 6))},
        progress=False, repeats=3, budget_s=0.01)
    assert list(frame["c"]) == [8, 8, 16, 16]
    assert list(frame["candidate"]) == ["dense", "grouped"] * 2
    assert frame[frame["candidate"] == "grouped"]["macs_ratio"].tolist() == [0.25, 0.25]
    with pytest.raises(ValueError, match="settings"):
        sweep([], lambda: {})


def test_machine_peaks_are_positive_and_counted():
    peaks = report.machine_peaks(matrix_size=128, copy_megabytes=1)
    assert peaks["peak_gflops"] > 0 and peaks["bandwidth_gbs"] > 0 and peaks["threads"] == 1


def test_connectivity_of_grouped_and_shuffled_stacks():
    grouped = nn.Sequential(nn.Conv2d(12, 12, 1, groups=3), nn.BatchNorm2d(12), nn.ReLU(), nn.Conv2d(12, 12, 1, groups=3))
    reach = report.connectivity(grouped, 12)
    assert reach.shape == (12, 12) and int(reach.sum()) == 3 * 4 * 4  # biases must not connect everything
    shuffled = nn.Sequential(nn.Conv2d(12, 12, 1, groups=3), blocks.ChannelShuffle(3), nn.Conv2d(12, 12, 1, groups=3))
    assert bool(report.connectivity(shuffled, 12).all())


def test_layer_kinds():
    assert report.layer_kind(nn.Conv2d(8, 8, 3, groups=8)) == "depthwise 3×3"
    assert report.layer_kind(nn.Conv2d(8, 16, 1)) == "pointwise 1×1"
    assert report.layer_kind(nn.Conv2d(8, 16, 1, groups=2)) == "grouped 1×1"
    assert report.layer_kind(nn.Conv2d(8, 16, 3, groups=2)) == "grouped 3×3"
    assert report.layer_kind(nn.Linear(3, 4)) == "fully connected" and report.layer_kind(nn.ReLU()) == "other"


def fake_frame():
    return pd.DataFrame({"params": [10, 20, 30], "macs": [100, 50, 300], "bytes": [5, 9, 7],
                         "median_ms": [1.0, 2.0, 3.0]}, index=["a", "b", "c"])


def test_rank_disagreements_find_fewer_macs_yet_slower():
    assert report.rank_disagreements(fake_frame(), "macs") == [("b", "a")]
    assert report.rank_disagreements(fake_frame(), "params") == []
    with pytest.raises(ValueError, match="proxy"):
        report.rank_disagreements(fake_frame(), "flops")


def test_describe_rankings_says_what_the_numbers_say():
    text = report.describe_rankings(fake_frame())
    assert "**b** has 0.50× the MACs of **a**, yet takes 2.00× its time" in text
    assert "fewer parameters was also faster" in text
    assert "Time per billion MACs ranges from" in text


def test_profile_layers_kind_column():
    frame = effedu.profile_layers(blocks.DepthwiseSeparable(8, 16), (1, 8, 8, 8), repeats=2)
    assert set(frame["kind"]) == {"depthwise 3×3", "pointwise 1×1", "other"}


def test_low_rank_full_weight_round_trip():
    torch.manual_seed(0)
    conv = nn.Conv2d(4, 6, 3, padding=1, bias=False)
    low = blocks.LowRankConv.from_conv(conv, rank=6)
    assert torch.allclose(low.full_weight(), conv.weight, atol=1e-5)


def test_digits_data_and_seeded_training():
    train, test = effedu.data.digits()
    assert len(train) + len(test) == 1797 and train[0][0].shape == (1, 8, 8)
    assert 0.0 <= float(train.tensors[0].min()) and float(train.tensors[0].max()) <= 1.0
    first = effedu.training.fit(models.digits_cnn(seed=0), train, epochs=4, seed=0, progress=False)
    second = effedu.training.fit(models.digits_cnn(seed=0), train, epochs=4, seed=0, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), second.state_dict().values()))
    assert effedu.training.accuracy(first, test) > 0.4  # far above chance (0.1); about 0.75 after 4 epochs
    with pytest.raises(ValueError, match="test_fraction"):
        effedu.data.digits(test_fraction=1.5)
    with pytest.raises(ValueError, match="epochs"):
        effedu.training.fit(models.digits_cnn(), train, epochs=0)


def test_digits_cnn_seed_leaves_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    models.digits_cnn(seed=5)
    assert torch.equal(torch.rand(1), expected)


def test_plots_return_figures():
    frame = effedu.compare_latency({"a": nn.Conv2d(3, 4, 3), "b": nn.Conv2d(3, 8, 3)}, (1, 3, 8, 8), repeats=3,
                                   budget_s=0.01)
    for figure in (plots.latency_bars(frame), plots.latency_distribution(frame), plots.three_goals(frame),
                   plots.macs_vs_latency(frame), plots.sample_trace(frame),
                   plots.singular_values({"w": torch.randn(4, 3, 3, 3)}),
                   plots.connectivity_maps({"x": torch.ones(3, 3, dtype=torch.bool), "y": torch.eye(3).bool()}),
                   plots.relative_speed(pd.DataFrame({"here": [1.0, 0.5]}, index=["g=1", "g=8"]))):
        assert figure.axes
    layers = effedu.profile_layers(blocks.DepthwiseSeparable(8, 16), (1, 8, 8, 8), repeats=2)
    assert plots.roofline(layers, {"peak_gflops": 50.0, "bandwidth_gbs": 5.0, "threads": 1}).axes
    swept = sweep([{"c": 8}], lambda c: {"x": (nn.Conv2d(c, c, 1), (1, c, 4, 4)), "y": (nn.Conv2d(c, c, 1, groups=2), (1, c, 4, 4))},
                  progress=False, repeats=3, budget_s=0.01)
    assert plots.ratio_sweep(swept, x="c", series="c", candidate="y").axes
    assert not math.isnan(swept["ratio"].iloc[1])


def test_g2_g3_candidates_carry_their_input_shapes():
    stack, shape = models.g2_candidate(8, blocks=2)
    assert shape == (1, 360, 56, 56) and len(stack) == 4 and stack[0].groups == 8
    stack, shape = models.g3_candidate(2, parallel=False, blocks=1)
    assert shape == (1, 90, 56, 56)
    with pytest.raises(ValueError, match="groups must be one of"):
        models.g2_candidate(3)


def test_low_rank_relative_error_falls_to_zero_at_full_rank():
    torch.manual_seed(0)
    conv = nn.Conv2d(4, 6, 3, padding=1, bias=False)
    errors = [blocks.LowRankConv.from_conv(conv, r).relative_error(conv) for r in (1, 3, 6)]
    assert errors[0] > errors[1] > errors[2] and errors[2] < 1e-5


def test_paired_ratio_interval_brackets_the_ratio():
    frame = effedu.compare_latency({"a": nn.Conv2d(8, 8, 3), "b": nn.Conv2d(8, 32, 3)}, (1, 8, 16, 16), repeats=7,
                                   budget_s=0.05)
    assert frame.loc["a", "ratio_lo"] == frame.loc["a", "ratio_hi"] == 1.0
    assert frame.loc["b", "ratio_lo"] <= frame.loc["b", "ratio_hi"]


def test_copy_into_a_buffer_counts_one_read_and_one_write():
    class CopyInto(nn.Module):
        def forward(self, x):
            return torch.empty_like(x).copy_(x)

    assert effedu.memory_traffic(CopyInto(), (10, 10)) == 2 * 100 * 4


def test_available_cores_is_positive():
    assert 1 <= effedu.timing.available_cores() <= (__import__("os").cpu_count() or 1)


def test_train_and_measure_far_above_chance():
    train, test = effedu.data.digits(size=16)
    frame = effedu.training.train_and_measure({"plain": models.TinyNet("plain 3×3", widths=(8, 16, 16)),
                                               "separable": models.TinyNet("separable", widths=(8, 16, 16))},
                                              train, test, epochs=3, budget_s=0.02)
    assert set(frame.index) == {"plain", "separable"}
    assert (frame["accuracy"] > 0.4).all()  # chance is 0.1; seeded, but never asserted exactly
    assert {"median_ms", "macs", "params"} <= set(frame.columns)
    with pytest.raises(ValueError, match="size"):
        effedu.data.digits(size=4)


def test_pareto_front():
    frame = pd.DataFrame({"median_ms": [1.0, 2.0, 3.0, 2.5], "accuracy": [0.8, 0.9, 0.85, 0.95]},
                         index=["fast", "mid", "dominated", "best"])
    assert plots.pareto_front(frame) == ["fast", "mid", "best"]
    assert plots.accuracy_latency({"all": frame}).axes


def test_predicted_vs_measured_plot():
    figure = plots.predicted_vs_measured([1.0, 2.1, 2.9], [1.0, 2.0, 3.5])
    assert len(figure.axes) == 2 and "67%" in figure._suptitle.get_text()
