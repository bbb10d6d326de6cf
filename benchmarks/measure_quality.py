"""How trustworthy are effedu's own measurements on this machine? (A benchmark, not a test: it prints ratios.)

    .venv/bin/python benchmarks/measure_quality.py

1. CV of 5 repeated ``measure_latency`` medians on MobileNetV2 (goal ≤ 5 %).
2. CV of a ``compare_latency`` ratio (ShuffleNetV2 / MobileNetV2) over 5 repeats (goal ≤ 3 %).
3. ``measure_latency`` against ``torch.utils.benchmark`` on the same model, alternated (goal: within 10 %).
4. effedu's ``mobilenet_v2()`` against an independent plain implementation written below (goal: ratio ≤ 1.05).
All on one thread, so the numbers are comparable between runs.
"""
from __future__ import annotations

import statistics
import warnings

import torch
import torch.utils.benchmark as torch_benchmark
from torch import nn

import effedu
from effedu import models

SHAPE = (1, 3, 224, 224)
THREADS = 1


def cv(values: list[float]) -> float:
    return statistics.stdev(values) / statistics.fmean(values)


class PlainInvertedResidual(nn.Module):
    """MobileNetV2's block written out by hand, independent of effedu.blocks."""

    def __init__(self, inp: int, oup: int, stride: int, t: int):
        super().__init__()
        hidden = inp * t
        layers = []
        if t != 1:
            layers += [nn.Conv2d(inp, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True)]
        layers += [nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden),
                   nn.ReLU6(inplace=True), nn.Conv2d(hidden, oup, 1, bias=False), nn.BatchNorm2d(oup)]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and inp == oup

    def forward(self, x):
        return x + self.body(x) if self.residual else self.body(x)


class PlainMobileNetV2(nn.Module):
    def __init__(self):
        super().__init__()
        layers = [nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU6(inplace=True)]
        inp = 32
        for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                           (6, 160, 3, 2), (6, 320, 1, 1)]:
            for i in range(n):
                layers.append(PlainInvertedResidual(inp, c, s if i == 0 else 1, t))
                inp = c
        layers += [nn.Conv2d(inp, 1280, 1, bias=False), nn.BatchNorm2d(1280), nn.ReLU6(inplace=True)]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, 1000))

    def forward(self, x):
        x = self.features(x)
        return self.classifier(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def benchmark_median_ms(model: nn.Module, x: torch.Tensor) -> float:
    with torch.inference_mode():
        timer = torch_benchmark.Timer("model(x)", globals={"model": model.eval(), "x": x}, num_threads=THREADS)
        return timer.blocked_autorange(min_run_time=1.0).median * 1e3


def main() -> None:
    warnings.simplefilter("ignore", effedu.NoisyMeasurementWarning)
    print("hardware:", dict(effedu.hardware()))
    print(f"threads: {THREADS}, input {SHAPE}\n")
    v2, shuffle = models.mobilenet_v2(), models.shufflenet_v2()

    medians = [effedu.measure_latency(v2, SHAPE, threads=THREADS).median_ms for _ in range(5)]
    print(f"1. measure_latency medians (ms): {[round(m, 2) for m in medians]}  CV {cv(medians):.1%} (goal ≤ 5 %)")

    ratios = [effedu.compare_latency({"MobileNetV2": v2, "ShuffleNetV2": shuffle}, SHAPE, threads=THREADS,
                                     counts=False).loc["ShuffleNetV2", "ratio"] for _ in range(5)]
    print(f"2. compare_latency ratio ShuffleNetV2/MobileNetV2: {[round(float(r), 3) for r in ratios]}  "
          f"CV {cv(ratios):.1%} (goal ≤ 3 %)")

    x = torch.randn(SHAPE)
    agreement = []
    for _ in range(3):  # alternate the two timers so drift hits both
        ours = effedu.measure_latency(v2, x, threads=THREADS).median_ms
        theirs = benchmark_median_ms(v2, x)
        agreement.append(ours / theirs)
    print(f"3. measure_latency / torch.utils.benchmark: {[round(a, 3) for a in agreement]}  "
          f"median {statistics.median(agreement):.3f} (goal within 10 %: 0.90–1.10)")

    plain = PlainMobileNetV2()
    assert effedu.count_params(plain) == effedu.count_params(v2), "the plain model must be the same architecture"
    assert effedu.count_macs(plain, SHAPE) == effedu.count_macs(v2, SHAPE)
    speed = [effedu.compare_latency({"plain": plain, "effedu": v2}, SHAPE, threads=THREADS,
                                    counts=False).loc["effedu", "ratio"] for _ in range(3)]
    print(f"4. effedu mobilenet_v2 / plain implementation: {[round(float(s), 3) for s in speed]}  "
          f"median {statistics.median(speed):.3f} (goal ≤ 1.05)")


if __name__ == "__main__":
    main()
