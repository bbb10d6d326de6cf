import time

import pytest
import torch
from conftest import small_cnn
from torch import nn

import effedu


class Logger(nn.Module):
    """Appends its name to a shared log at every forward: shows the order the timer ran things in."""

    def __init__(self, name, log):
        super().__init__()
        self.name, self.log = name, log

    def forward(self, x):
        self.log.append(self.name)
        return x


def test_measure_latency_result_fields():
    result = effedu.measure_latency(small_cnn(), (1, 3, 16, 16), threads=1, repeats=7, number=3)
    assert len(result.samples) == 7 and result.number == 3
    assert result.threads == 1 and result.device == "cpu"
    assert result.median_ms > 0 and result.iqr_ms >= 0 and result.cv >= 0
    assert "median" in repr(result) and "1 thread" in repr(result)


@pytest.mark.parametrize("threads", [1, 2])
def test_thread_count_is_fixed_reported_and_restored(threads):
    before = torch.get_num_threads()
    seen = []

    class Spy(nn.Module):
        def forward(self, x):
            seen.append(torch.get_num_threads())
            return x

    result = effedu.measure_latency(Spy(), (1, 4), threads=threads, repeats=3, number=2)
    assert result.threads == threads and set(seen) == {threads}
    assert torch.get_num_threads() == before


def test_compare_latency_interleaves_round_robin():
    log = []
    a, b = Logger("a", log), Logger("b", log)
    effedu.compare_latency({"a": a, "b": b}, (1, 4), warmup=0, repeats=4, number=2, counts=False)
    timed = log[-16:]  # 4 rounds × 2 candidates × 2 runs
    blocks = [timed[i] for i in range(0, 16, 2)]
    assert blocks == ["a", "b", "b", "a", "a", "b", "b", "a"]  # rotating who goes first


def test_sequential_mode_runs_each_candidate_to_the_end():
    log = []
    effedu.compare_latency({"a": Logger("a", log), "b": Logger("b", log)}, (1, 4), warmup=0, repeats=3,
                           number=1, counts=False, interleave=False)
    assert log[-6:] == ["a", "a", "a", "b", "b", "b"]


def test_compare_latency_frame():
    frame = effedu.compare_latency({"small": small_cnn(), "wide": nn.Conv2d(3, 64, 3)}, (1, 3, 16, 16),
                                   repeats=3, budget_s=0.05)
    assert list(frame.index) == ["small", "wide"]
    for column in ["median_ms", "iqr_ms", "cv", "ratio", "params", "macs", "bytes"]:
        assert column in frame.columns
    assert frame.loc["small", "ratio"] == 1.0
    assert frame.loc["wide", "macs"] == 14 * 14 * 64 * 27
    assert set(frame.attrs["results"]) == {"small", "wide"}


def test_per_candidate_inputs():
    conv = nn.Conv2d(3, 8, 3)
    frame = effedu.compare_latency({"small": (conv, (1, 3, 8, 8)), "big": (conv, (1, 3, 16, 16))},
                                   repeats=3, budget_s=0.05)
    assert frame.loc["big", "macs"] == 14 * 14 * 8 * 27 and frame.loc["small", "macs"] == 6 * 6 * 8 * 27


def test_noisy_measurement_warns():
    class Jittery(nn.Module):
        def __init__(self):
            super().__init__()
            self.calls = 0

        def forward(self, x):
            self.calls += 1
            time.sleep(0.004 if self.calls % 2 else 0.0)
            return x

    with pytest.warns(effedu.NoisyMeasurementWarning, match="noisy"):
        result = effedu.measure_latency(Jittery(), (1, 4), warmup=0, repeats=8, number=1)
    assert result.noisy


def test_hardware_describes_the_machine():
    info = effedu.hardware()
    for key in ["cpu", "logical cores", "torch threads", "torch", "backends", "gpu", "python", "os"]:
        assert key in info
    assert info["torch"] == torch.__version__
    assert "<table>" in info._repr_html_()
