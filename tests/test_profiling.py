"""Per-layer profiles, layer kinds and operator classes, time shares with their ranges, the roofline table, the zoo."""
import math

import pandas as pd
import pytest
from helpers import small_cnn
from torch import nn

import effedu
from effedu import blocks, models, profiling


class TinyResidual(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 3, padding=1, bias=False)

    def forward(self, x):
        return (self.conv(x) + x).relu()  # the add and the ReLU are the container's own ops


def test_profile_layers_rows_add_up_to_the_model():
    model = small_cnn()
    frame = effedu.profile_layers(model, (1, 3, 16, 16), repeats=3)
    assert list(frame["layer"]) == ["0", "1", "2", "3", "4", "5"]
    assert list(frame["type"]) == ["Conv2d", "BatchNorm2d", "ReLU", "AdaptiveAvgPool2d", "Flatten", "Linear"]
    assert frame["macs"].sum() == effedu.count_macs(model, (1, 3, 16, 16))
    assert frame["bytes"].sum() == effedu.memory_traffic(model, (1, 3, 16, 16))
    assert frame["params"].sum() == effedu.count_params(model)
    assert math.isclose(frame["share"].sum(), 1.0) and (frame["median_ms"] >= 0).all()
    assert frame.loc[0, "out_shape"] == (1, 16, 16, 16)
    assert frame.attrs["method"] == profiling.CLOCK_METHODS["cpu"] and frame.attrs["threads"] == 1
    assert list(frame.attrs["rounds"].columns) == list(frame["layer"]) and len(frame.attrs["rounds"]) == 3


def test_container_own_ops_get_their_own_row():
    frame = effedu.profile_layers(TinyResidual(), (1, 8, 10, 10), repeats=3)
    own = frame[frame["layer"] == "(model)"]
    assert len(own) == 1
    assert own.iloc[0]["macs"] == 0 and own.iloc[0]["bytes"] > 0
    assert "add" in own.iloc[0]["ops"] and "relu" in own.iloc[0]["ops"]


def test_layer_kinds():
    assert profiling.layer_kind(nn.Conv2d(8, 8, 3, groups=8)) == "depthwise 3×3"
    assert profiling.layer_kind(nn.Conv2d(8, 16, 1)) == "pointwise 1×1"
    assert profiling.layer_kind(nn.Conv2d(8, 16, 1, groups=2)) == "grouped 1×1"
    assert profiling.layer_kind(nn.Conv2d(8, 16, 3, groups=2)) == "grouped 3×3"
    assert profiling.layer_kind(nn.Conv2d(8, 16, 5)) == "conv 5×5"
    assert profiling.layer_kind(nn.Linear(3, 4)) == "fully connected" and profiling.layer_kind(nn.ReLU()) == "other"


@pytest.mark.parametrize("ops,kind,expected", [
    ("convolution", "pointwise 1×1", "conv / linear"), ("convolution", "depthwise 3×3", "depthwise conv"),
    ("addmm", "fully connected", "conv / linear"), ("_native_batch_norm_legit_no_training", "other", "BatchNorm"),
    ("relu_", "other", "activation"), ("hardtanh_", "other", "activation"), ("add, relu_", "other", "activation"),
    ("add", "other", "add / cat / copy"), ("cat, neg", "other", "add / cat / copy"),
    ("max_pool2d_with_indices", "other", "pooling"), ("sort", "other", "other"), ("", "other", "views only")])
def test_op_class(ops, kind, expected):
    assert profiling.op_class(ops, kind) == expected


def test_time_shares_come_with_ranges_that_hold_them():
    layers = effedu.profile_layers(blocks.DepthwiseSeparable(16, 32), (1, 16, 16, 16), repeats=6)
    shares = profiling.time_shares(layers, by="kind")
    assert set(shares.index) == {"depthwise 3×3", "pointwise 1×1", "other"}
    assert ((shares["time_share_lo"] <= shares["time_share"]) & (shares["time_share"] <= shares["time_share_hi"])).all()
    assert shares["macs_share"].sum() == pytest.approx(1.0) and (shares["time_share"] >= 0).all()
    by_stage = profiling.time_shares(layers, by=lambda name: name.split(".")[0])
    assert set(by_stage.index) == {"dw", "pw"}
    assert by_stage.loc["dw", "macs"] == effedu.count_macs(blocks.DepthwiseSeparable(16, 32).dw, (1, 16, 16, 16))


def test_time_shares_from_scripted_runs():
    layers = pd.DataFrame({"layer": ["a", "b", "c"], "kind": ["x", "x", "y"], "macs": [1, 1, 2], "bytes": [1, 1, 1],
                           "median_ms": [1.0, 1.0, 2.0]})
    layers.attrs["rounds"] = pd.DataFrame({"a": [1.0, 1.0, 3.0, 1.0, 1.0, 2.0], "b": [1.0] * 6, "c": [2.0] * 6})
    shares = profiling.time_shares(layers, by="kind")
    assert shares.loc["x", "time_share"] == pytest.approx(0.5)  # the median run: 2 of 4 ms
    assert shares.loc["x", "time_share_hi"] == pytest.approx(4 / 6)  # six runs: the interval spans all of them
    assert shares.loc["x", "time_share_lo"] == pytest.approx(0.5)
    assert shares.loc["y", "macs_share"] == 0.5
    layers.attrs["rounds"] = layers.attrs["rounds"].head(5)  # five runs: no 95 % interval
    assert profiling.time_shares(layers, by="kind")["time_share_lo"].isna().all()


def test_count_by_kind_follows_table_2_convention():
    frame = profiling.count_by_kind(blocks.DepthwiseSeparable(8, 16), (1, 8, 8, 8))
    assert frame.loc["depthwise 3×3", "macs"] == 8 * 8 * 8 * 9 and pd.isna(frame.loc["other", "macs_share"])
    assert frame["macs_share"].sum() == pytest.approx(1.0)


def test_roofline_table_bounds():
    layers = effedu.profile_layers(blocks.DepthwiseSeparable(8, 16), (1, 8, 8, 8), repeats=2)
    table = profiling.roofline_table(layers, {"peak_gflops": 50.0, "bandwidth_gbs": 5.0})
    assert set(table.index) == {"depthwise 3×3", "pointwise 1×1"}
    assert table.attrs["ridge"] == 10.0 and set(table["bound by"]) <= {"memory", "compute"}
    assert (table["layers above their roof"] >= 0).all()


@pytest.mark.slow
def test_zoo_summary():
    frame = profiling.zoo(128)
    assert list(frame.index) == list(models.REFERENCE_MODELS)
    assert frame.loc["MobileNetV2 1.0", "params"] == 3_504_872
    assert frame.loc["ResNet-50", "macs"] > frame.loc["MobileNetV1 1.0", "macs"]
    assert frame.loc["MobileNetV2 1.0", "published_macs_M"] == 300
    with pytest.raises(ValueError, match="resolution must be a positive integer"):
        profiling.zoo(0)


@pytest.mark.slow
def test_zoo_with_latency_has_timing_and_published_columns():
    frame = profiling.zoo(64, latency=True, budget_s=0.03, progress=False)
    assert {"median_ms", "ratio", "params", "macs", "bytes", "published_macs_M", "source"} <= set(frame.columns)
    assert frame.attrs["device"] == "cpu"


def test_the_layer_clock_follows_the_device():
    import torch

    assert profiling.LayerClock(torch.device("cuda")).events  # CUDA events, read once per run
    assert not profiling.LayerClock(torch.device("cpu")).events
    cuda = profiling.CLOCK_METHODS["cuda"]
    assert "CUDA events" in cuda and "no host synchronisation" in cuda
    assert "distorts" in profiling.CLOCK_METHODS["mps"]


def test_throughput_turns_each_median_time_into_a_rate_with_its_interval():
    from helpers import frame_from
    samples = {"conv": [2.0, 2.1, 1.9, 2.0, 2.2, 1.8, 2.0], "dwconv": [1.0, 1.1, 0.9, 1.0, 1.2, 0.8, 1.0]}
    frame = frame_from(samples, macs={"conv": 8_000_000, "dwconv": 100_000})
    frame["bytes"] = [4_000_000, 1_000_000]
    rates = profiling.throughput(frame)
    assert rates.loc["conv", "gmacs"] == pytest.approx(8e6 / 1e6 / 2.0)  # MACs per ms / 1e6 = GMAC/s
    assert rates.loc["conv", "gmacs_lo"] == pytest.approx(8 / 2.2)
    assert rates.loc["conv", "gmacs_hi"] == pytest.approx(8 / 1.8)
    assert rates.loc["dwconv", "intensity"] == pytest.approx(2 * 100_000 / 1_000_000)
    assert list(rates["kind"]) == ["conv", "dwconv"]


def test_roofline_ms_charges_each_operator_its_slower_limit():
    conv = nn.Conv2d(16, 16, 3, padding=1, bias=False)
    shape = (1, 16, 32, 32)
    (record,) = [r for r in effedu.counting.record_ops(conv, shape)]
    compute_bound = {"peak_gflops": 2.0, "bandwidth_gbs": 1e6}  # 1 GMAC/s, memory for free
    memory_bound = {"peak_gflops": 1e9, "bandwidth_gbs": 1.0}  # 1 GB/s, arithmetic for free
    assert profiling.roofline_ms(conv, shape, compute_bound) == pytest.approx(record.macs / 1e6)
    assert profiling.roofline_ms(conv, shape, memory_bound) == pytest.approx(record.bytes / 1e6)


def test_roofline_speeds_places_g2_on_each_machines_roofline():
    from effedu import guidelines
    g2 = {f"g={g}": guidelines.g2_candidate(g, layers=2) for g in (1, 8)}
    here = {"peak_gflops": 60.0, "bandwidth_gbs": 17.6}  # ridge 3.4 FLOP/byte: both stacks right of it
    table = profiling.roofline_speeds(g2, {"here": here, **guidelines.PAPER_ROOFLINES})
    # G2's intensity is about c/(4g) FLOP per byte: 31 at g=1, c=128; 11 at g=8, c=360 (review R27's arithmetic)
    assert table.loc["g=1", "FLOP per byte"] == pytest.approx(31.36, rel=1e-3)
    assert table.loc["g=8", "FLOP per byte"] == pytest.approx(11.17, rel=1e-3)
    assert table.attrs["bound"]["here"] == {"g=1": "compute", "g=8": "compute"}
    assert table.attrs["bound"]["1080Ti GPU"] == {"g=1": "compute", "g=8": "memory"}  # ridge 23: g=8 left of it
    assert table.attrs["ridge"]["1080Ti GPU"] == pytest.approx(11340 / 484)
    assert table.loc["g=8", "1080Ti GPU"] == pytest.approx(0.48, abs=0.01)  # bytes-bound against compute-bound
    assert table.loc["g=8", "here"] == pytest.approx(1.011, abs=0.002)  # equal MACs (g=8 does 1 % fewer)
    assert table.loc["g=1", "here"] == 1.0
    stack, shape = g2["g=8"]
    assert table.attrs["ms"]["here"]["g=8"] == pytest.approx(profiling.roofline_ms(stack, shape, here))
    assert table.attrs["bytes"]["g=8"] == effedu.memory_traffic(stack, shape)
    with pytest.raises(ValueError, match="at least one"):
        profiling.roofline_speeds({}, {"here": here})
