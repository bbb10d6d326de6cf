"""Interleaved timing and the statistics of a comparison (pure functions of the sample lists, tested on scripted
samples); no test asserts a time."""
import os
import statistics
import subprocess
import sys
import time
import warnings

import pytest
import torch
from helpers import Logger, small_cnn
from torch import nn

import effedu
from effedu import timing
from effedu.timing import sweep


def test_measure_latency_result_fields():
    result = effedu.measure_latency(small_cnn(), (1, 3, 16, 16), threads=1, repeats=7, number=3)
    assert len(result.samples) == 7 and result.number == 3
    assert result.threads == 1 and result.device == "cpu"
    assert "median" in repr(result) and "1 thread" in repr(result)


def test_latency_result_statistics():
    result = effedu.LatencyResult([1.0, 2.0, 3.0, 4.0, 100.0], 1, "cpu", 1, 0)
    assert result.median_ms == 3.0 and result.mean_ms == 22.0
    assert result.iqr_ms == 2.0  # inclusive quartiles 2 and 4
    assert result.cv == pytest.approx(statistics.stdev(result.samples) / 22.0)
    assert result.noisy
    assert effedu.LatencyResult([5.0], 1, "cpu", 1, 0).cv == 0.0


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
    effedu.compare_latency({"a": Logger("a", log), "b": Logger("b", log)}, (1, 4), warmup=0, repeats=4, number=2,
                           counts=False)
    timed = log[-16:]  # 4 rounds × 2 candidates × 2 runs
    assert [timed[i] for i in range(0, 16, 2)] == ["a", "b", "b", "a", "a", "b", "b", "a"]  # who goes first rotates


def test_sequential_mode_runs_each_candidate_to_the_end():
    log = []
    effedu.compare_latency({"a": Logger("a", log), "b": Logger("b", log)}, (1, 4), warmup=0, repeats=3,
                           number=1, counts=False, interleave=False)
    assert log[-6:] == ["a", "a", "a", "b", "b", "b"]


def test_compare_latency_frame():
    frame = effedu.compare_latency({"small": small_cnn(), "wide": nn.Conv2d(3, 64, 3)}, (1, 3, 16, 16),
                                   repeats=3, budget_s=0.05)
    assert list(frame.index) == ["small", "wide"]
    for column in ["median_ms", "min_ms", "iqr_ms", "cv", "ratio", "ratio_lo", "ratio_hi", "params", "macs",
                   "bytes", "macs_ratio"]:
        assert column in frame.columns
    assert frame.loc["wide", "macs"] == 14 * 14 * 64 * 27
    assert frame.loc["wide", "macs_ratio"] == frame.loc["wide", "macs"] / frame.loc["small", "macs"]
    assert set(frame.attrs["results"]) == {"small", "wide"} and frame.attrs["rounds"] == 3


def test_per_candidate_inputs():
    conv = nn.Conv2d(3, 8, 3)
    frame = effedu.compare_latency({"small": (conv, (1, 3, 8, 8)), "big": (conv, (1, 3, 16, 16))},
                                   repeats=3, budget_s=0.05)
    assert frame.loc["big", "macs"] == 14 * 14 * 8 * 27 and frame.loc["small", "macs"] == 6 * 6 * 8 * 27


def test_many_short_real_comparisons_keep_the_headline_inside_its_interval():
    for _ in range(15):
        frame = effedu.compare_latency({"a": nn.Conv2d(8, 8, 3), "b": nn.Conv2d(8, 16, 3), "c": nn.Identity()},
                                       (1, 8, 12, 12), repeats=7, budget_s=0.01, counts=False)
        assert ((frame["ratio_lo"] <= frame["ratio"]) & (frame["ratio"] <= frame["ratio_hi"])).all()


def test_noisy_measurement_warns_with_advice():
    class Jittery(nn.Module):
        def __init__(self):
            super().__init__()
            self.calls = 0

        def forward(self, x):
            self.calls += 1
            time.sleep(0.004 if self.calls % 2 else 0.0)
            return x

    with pytest.warns(effedu.NoisyMeasurementWarning, match="close other programs"):
        result = effedu.measure_latency(Jittery(), (1, 4), warmup=0, repeats=8, number=1)
    assert result.noisy


def neighbours_on(cpu: int, bursty: bool, count: int = 3) -> list:
    """Busy processes pinned to ``cpu``, like other users' kernels on an oversubscribed hub node: always busy, or
    busy and idle in random bursts of 5–80 ms."""
    loop = ("while True:\n    end = time.perf_counter() + random.uniform(0.005, 0.08)\n"
            "    while time.perf_counter() < end: pass\n    time.sleep(random.uniform(0.005, 0.08))"
            if bursty else "while True: pass")
    code = f"import os, random, time\nos.sched_setaffinity(0, {{{cpu}}})\nrandom.seed(os.getpid())\n{loop}"
    return [subprocess.Popen([sys.executable, "-c", code]) for _ in range(count)]


@pytest.mark.slow
@pytest.mark.serial  # it pins busy neighbours to a core: it would starve a test running beside it
@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="pinning to one core needs Linux")
@pytest.mark.parametrize("bursty", [True, False])
def test_a_starved_kernel_is_warned_about(bursty):
    # The kernel shares its one core with three busy neighbours, as on an oversubscribed hub node. Bursty
    # neighbours make the samples spread; steady ones slow every sample alike, so the spread stays small (and twin
    # networks were once measured x0.24 apart): the CPU time against the wall time gives that away.
    cpu, saved = min(os.sched_getaffinity(0)), os.sched_getaffinity(0)
    neighbours = neighbours_on(cpu, bursty)
    os.sched_setaffinity(0, {cpu})
    try:
        time.sleep(0.5)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            frame = effedu.compare_latency({"a": small_cnn(), "b": small_cnn()}, (1, 3, 64, 64), threads=1,
                                           repeats=15, counts=False)
    finally:
        os.sched_setaffinity(0, saved)
        for neighbour in neighbours:
            neighbour.kill()
            neighbour.wait()
    said = [str(w.message) for w in caught
            if issubclass(w.category, (effedu.NoisyMeasurementWarning, effedu.StarvedMeasurementWarning))]
    assert said, "no noise or starvation warning on a starved kernel"
    if not bursty:
        assert frame.attrs["cpu_share"] < 0.6 and any("starved measurement" in text for text in said)


def test_starved_warning_names_the_cpu_share_and_stays_quiet_on_a_core_of_its_own():
    with pytest.warns(effedu.StarvedMeasurementWarning, match="got 25% of one CPU"):
        timing._warn_if_starved(0.25)
    with pytest.warns(effedu.StarvedMeasurementWarning), effedu.quiet():  # quiet() silences noise, not starvation
        timing._warn_if_starved(0.25)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        timing._warn_if_starved(0.95)
    frame = effedu.compare_latency({"a": nn.Identity()}, (1, 4), repeats=3, counts=False)
    assert 0 < frame.attrs["cpu_share"]


def test_fit_rounds_takes_the_rounds_that_fit_the_budget_decided_before_sampling(monkeypatch):
    monkeypatch.delenv("EFFEDU_BUDGET_SCALE", raising=False)  # the budget below is the one meant

    class Slow(nn.Module):
        def forward(self, x):
            time.sleep(0.02)
            return x

    frame = effedu.compare_latency({"a": Slow(), "b": Slow()}, (1, 4), warmup=1, repeats=50, budget_s=0.1,
                                   counts=False, fit_rounds=True)
    assert 2 <= frame.attrs["rounds"] <= 6  # 0.2 s of budget at 2 × 20 ms per round: about 5 rounds, not 50
    cheap = effedu.compare_latency({"a": nn.Identity(), "b": nn.Identity()}, (1, 4), warmup=1, repeats=12,
                                   budget_s=0.05, counts=False, fit_rounds=True)
    assert cheap.attrs["rounds"] == 12  # a cheap forward gets every round


def test_without_warm_up_the_first_sample_is_the_first_forward_ever_run():
    class ColdStart(nn.Module):
        def __init__(self):
            super().__init__()
            self.calls = 0

        def forward(self, x):
            self.calls += 1
            if self.calls == 1:
                time.sleep(0.05)  # the one-off cost of a first run
            return x

    cold = effedu.measure_latency(ColdStart(), (1, 4), warmup=0, repeats=5)
    assert cold.number == 1 and cold.samples[0] >= 50 and max(cold.samples[1:]) < 25
    warm = effedu.measure_latency(ColdStart(), (1, 4), warmup=1, repeats=5, budget_s=0.01)
    assert max(warm.samples) < 25  # the warm-up run paid it


def test_progress_callback_sees_every_round():
    seen = []
    effedu.compare_latency({"a": nn.Identity()}, (1, 4), repeats=4, number=1, counts=False,
                           progress=lambda done, planned: seen.append((done, planned)))
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_compare_threads_alternates_the_thread_count():
    seen = []

    class Spy(nn.Module):
        def forward(self, x):
            seen.append(torch.get_num_threads())
            return x

    before = torch.get_num_threads()
    frame = effedu.compare_threads(Spy(), (1, 4), [1, 2], warmup=0, repeats=4, budget_s=0.01)
    assert list(frame.index) == ["1 thread", "2 threads"]
    assert frame.attrs["results"]["2 threads"].threads == 2
    switches = sum(a != b for a, b in zip(seen, seen[1:]))
    assert switches >= 4  # interleaved: the count changes between blocks, not once
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="distinct"):
        effedu.compare_threads(Spy(), (1, 4), [2, 2])


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


@pytest.mark.parametrize("kwargs,name", [({"threads": 0}, "threads"), ({"threads": -1}, "threads"),
                                         ({"repeats": 0}, "repeats"), ({"budget_s": 0}, "budget_s"),
                                         ({"warmup": -1}, "warmup"), ({"number": 0}, "number")])
def test_bad_timing_settings_are_named(kwargs, name):
    with pytest.raises(ValueError, match=name):
        effedu.measure_latency(small_cnn(), (1, 3, 8, 8), **kwargs)


def test_bad_candidates_are_named():
    with pytest.raises(ValueError, match="at least one"):
        effedu.compare_latency({}, (1, 3, 8, 8))
    with pytest.raises(TypeError, match=r"candidates\['b'\] must be a torch.nn.Module"):
        effedu.compare_latency({"a": small_cnn(), "b": "resnet"}, (1, 3, 8, 8))
    with pytest.raises(ValueError, match="x is missing"):
        effedu.compare_latency({"a": small_cnn()})


def test_the_test_budget_scales_every_budget_and_a_wrong_value_is_named(monkeypatch):
    model, shape = nn.Conv2d(8, 8, 3), (1, 8, 16, 16)
    monkeypatch.delenv("EFFEDU_BUDGET_SCALE", raising=False)
    assert timing.budget_scale() == 1.0
    effedu.measure_latency(model, shape, budget_s=0.02, repeats=2)  # a first call: the process's one-off costs
    full = effedu.measure_latency(model, shape, budget_s=0.2, repeats=4).number
    monkeypatch.setenv("EFFEDU_BUDGET_SCALE", "0.01")
    assert timing.budget_scale() == 0.01
    scaled = effedu.measure_latency(model, shape, budget_s=0.2, repeats=4)
    # the same rounds, far fewer runs per round: 100× fewer by the budgets; 5× leaves room for a noisy calibration
    assert len(scaled.samples) == 4 and scaled.number * 5 < full
    for wrong in ("2", "0", "fast"):
        monkeypatch.setenv("EFFEDU_BUDGET_SCALE", wrong)
        with pytest.raises(ValueError, match="EFFEDU_BUDGET_SCALE must be a number in"):
            effedu.measure_latency(model, shape, budget_s=0.2, repeats=4)


class FreshPages(nn.Module):
    """Allocates 64 MiB afresh on every forward and writes it: glibc maps a block that large straight from the OS
    (above its 32 MiB ceiling), so every forward page-faults about 16,000 times."""

    def forward(self, x):
        block = torch.empty(16 * 1024 * 1024)
        block.fill_(1.0)
        return x + block[:x.numel()].view_as(x)


class KeptPages(nn.Module):
    """The same work on a block allocated once: no fresh pages after the first forward."""

    def __init__(self):
        super().__init__()
        self.block = torch.empty(16 * 1024 * 1024)

    def forward(self, x):
        self.block.fill_(1.0)
        return x + self.block[:x.numel()].view_as(x)


@pytest.mark.skipif(timing.resource is None, reason="no page-fault counts on this OS")
def test_page_faults_per_forward_are_counted_and_named_beside_the_verdict():
    frame = effedu.compare_latency({"kept": KeptPages(), "fresh": FreshPages()}, (1, 8), repeats=7, budget_s=0.2,
                                   counts=False)
    assert frame.loc["fresh", "faults"] > 10_000 and frame.loc["kept", "faults"] < 100
    assert frame.attrs["results"]["fresh"].faults_per_forward == frame.loc["fresh", "faults"]
    said = effedu.verdict.speed(frame, "fresh")
    if said.outcome == effedu.verdict.SLOWER:  # (not a timing assertion: the sentence follows whatever was decided)
        assert "page-faults" in said.text and "allocator" in said.text and "probably" in said.text
    assert "page-faults" not in effedu.verdict.speed(frame.assign(faults=[5.0, 6.0]), "fresh").text
