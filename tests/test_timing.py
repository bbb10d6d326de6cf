"""Interleaved timing and the statistics of a comparison (pure functions of the sample lists, tested on scripted
samples); no test asserts a time."""
import os
import random
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
from effedu.timing import comparison_stats, paired_ratio, quartiles, sweep


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


# --- the statistics of a comparison, on scripted samples --------------------------------------------------

def test_quartiles_bracket_the_median_and_handle_one_value():
    assert quartiles([1.0, 2.0, 3.0, 4.0]) == (1.75, 3.25)
    assert quartiles([7.0]) == (7.0, 7.0)


def test_headline_is_the_paired_median_not_the_ratio_of_medians():
    # The review's case: a two-speed machine where the ratio of medians says 1.9 and every round says 0.95.
    base, candidate = [1, 1, 1, 2, 2], [0.95, 0.95, 1.9, 1.9, 1.9]
    assert statistics.median(candidate) / statistics.median(base) == pytest.approx(1.9)
    ratio, low, high = paired_ratio(candidate, base)
    assert ratio == low == high == pytest.approx(0.95)


def test_drift_cancels_in_the_paired_ratio():
    base = [10 * (1 + 0.05 * i) for i in range(20)]  # the machine slows down by 95 % over the run
    candidate = [0.8 * b for b in base]
    ratio, low, high = paired_ratio(candidate, base)
    assert ratio == low == high == pytest.approx(0.8)


def test_outliers_and_identical_samples():
    base = [10.0] * 9
    candidate = [5.0] * 8 + [500.0]  # one round hit by a pause
    assert paired_ratio(candidate, base)[0] == pytest.approx(0.5)
    assert paired_ratio(base, base) == (1.0, 1.0, 1.0)
    assert paired_ratio([3.0], [6.0]) == (0.5, 0.5, 0.5)  # a single round: no spread to show
    with pytest.raises(ValueError, match="equally long"):
        paired_ratio([1.0, 2.0], [1.0])


def test_comparison_stats_rows():
    frame = comparison_stats({"a": [2.0, 4.0, 6.0], "b": [1.0, 1.0, 9.0]})
    assert frame.loc["a", "ratio"] == 1.0 and frame.loc["b", "median_ms"] == 1.0
    assert frame.loc["b", "ratio"] == pytest.approx(0.5) and frame.loc["b", "min_ms"] == 1.0
    assert frame.loc["a", "iqr_ms"] == 2.0  # inclusive quartiles 3 and 5
    with pytest.raises(ValueError, match="at least one"):
        comparison_stats({})


def test_headline_lies_inside_its_range_on_scripted_machines():
    rng = random.Random(0)
    for _ in range(500):
        rounds = rng.randint(1, 30)
        speeds = [rng.choice([1.0, 1.0, 2.2]) * (1 + 0.02 * i) for i in range(rounds)]  # P/E cores + drift
        samples = {name: [s * effect * (1 + rng.gauss(0, 0.05)) for s in speeds]
                   for name, effect in (("a", 1.0), ("b", rng.uniform(0.5, 1.5)), ("c", 1.0))}
        frame = comparison_stats(samples)
        assert ((frame["ratio_lo"] <= frame["ratio"]) & (frame["ratio"] <= frame["ratio_hi"])).all()


def test_many_short_real_comparisons_keep_the_headline_inside_its_range():
    for _ in range(15):
        frame = effedu.compare_latency({"a": nn.Conv2d(8, 8, 3), "b": nn.Conv2d(8, 16, 3), "c": nn.Identity()},
                                       (1, 8, 12, 12), repeats=5, budget_s=0.01, counts=False)
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
    said = [str(w.message) for w in caught if issubclass(w.category, effedu.NoisyMeasurementWarning)]
    assert said, "no noise warning on a starved kernel"
    if not bursty:
        assert frame.attrs["cpu_share"] < 0.6 and any("starved measurement" in text for text in said)


def test_starved_warning_names_the_cpu_share_and_stays_quiet_on_a_core_of_its_own():
    with pytest.warns(effedu.NoisyMeasurementWarning, match="got 25% of one CPU"):
        timing._warn_if_starved(0.25)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        timing._warn_if_starved(0.95)
    frame = effedu.compare_latency({"a": nn.Identity()}, (1, 4), repeats=3, counts=False)
    assert 0 < frame.attrs["cpu_share"]


def test_min_repeats_stops_a_slow_comparison_early():
    class Slow(nn.Module):
        def forward(self, x):
            time.sleep(0.02)
            return x

    frame = effedu.compare_latency({"a": Slow(), "b": Slow()}, (1, 4), warmup=0, repeats=50, number=1,
                                   budget_s=0.01, counts=False, min_repeats=3)
    assert frame.attrs["rounds"] == 3


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
