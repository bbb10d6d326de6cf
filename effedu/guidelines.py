"""ShuffleNetV2's guideline experiments G1–G4 (Ma et al. 2018, Sec. 2): the micro-benchmarks at equal MACs, the
block G3 needs, and the paper's own results beside which a lesson puts this machine's.

The paper's setting: input 56×56; G1 and G2 stack 10 pointwise conv layers, G3 10 fragment blocks, G4 10 ResNet
bottlenecks. Its GPU is a GTX 1080Ti (batch 8, probably: Tables 1–4 do not say), its "ARM" one core of a
Snapdragon 810 (batch 1).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ._runtime import positive_int, positive_number
from .blocks import Bottleneck, PartialConv

G1_SETTINGS = [(128, 128), (90, 180), (52, 312), (36, 432)]  # c1, c2 at equal MACs: 1:1, 1:2, 1:6, 1:12
# The paper's widths differ by up to 5 % in c1·c2 (36·432 = 15,552 against 128² = 16,384). These are within 0.05 %
# of 128², so raw times compare the widths alone, with no per-MAC correction (lesson 06).
G1_EQUAL_MACS = [(128, 128), (91, 180), (52, 315), (37, 443)]
G2_SETTINGS = [(1, 128), (2, 180), (4, 256), (8, 360)]  # groups, channels at equal MACs
G3_SETTINGS = [(1, False), (2, False), (4, False), (2, True), (4, True)]  # fragments, parallel

PAPER_DEVICES = ("1080Ti GPU", "ARM Snapdragon 810")
# Speed relative to the first setting, from the paper's tables (its numbers: batches/s on GPU, images/s on ARM).
# Table 2's "×1" columns. The paper gives each device its own widths: c = 128 … 360 on the GPU (as here), c = 64 … 180
# on the ARM core, as the course reads the table — so the ARM ratios come from narrower layers than these.
PAPER_G2_SPEED = {"1080Ti GPU": {1: 1.0, 2: 1725 / 2451, 4: 1026 / 2451, 8: 0.26},
                  "ARM Snapdragon 810": {1: 1.0, 2: 35.0 / 40.0, 4: 32.9 / 40.0, 8: 0.70}}
PAPER_G3_SPEED = {  # Table 3: 2-series, 4-series, 2-parallel, 4-parallel against 1-fragment (GPU c=128, ARM c=64)
    "1080Ti GPU": {(2, False): 0.73, (4, False): 0.31, (2, True): 0.63, (4, True): 0.28},
    "ARM Snapdragon 810": {(2, False): 0.96, (4, False): 0.96, (2, True): 0.83, (4, True): 0.87}}
PAPER_G4_GAIN = (0.08, 0.24, 0.20)  # Table 4: ReLU and shortcut off run 8–24 % faster, "around 20 %"
# The paper's two devices on a roofline, from their vendors' figures (not measured by the course): fp32 peak, memory
# bandwidth. GTX 1080Ti: 3584 CUDA cores × 2 FLOP × 1.582 GHz = 11.3 TFLOP/s; 11 Gbit/s × 352 bit = 484 GB/s. One
# Cortex-A57 core of the Snapdragon 810: a 4-wide NEON FMA per cycle (8 FLOP) × 2.0 GHz = 16 GFLOP/s, on the chip's
# LPDDR4-1600, 2 × 32 bit = 25.6 GB/s. One core reaches less of that bandwidth, which moves its ridge to the right —
# a quarter of it would still put the ridge (2.5 FLOP/byte) left of every G2 stack's intensity (11–31).
PAPER_ROOFLINES = {"1080Ti GPU": {"peak_gflops": 11340.0, "bandwidth_gbs": 484.0},
                   "ARM Snapdragon 810": {"peak_gflops": 16.0, "bandwidth_gbs": 25.6}}
G3_WIDTH_CONTROL = "2-fragment-series, 96 channels"  # g3_width_control's label


def g3_label(fragments: int, parallel: bool) -> str:
    """'1-fragment', '2-fragment-series', '4-fragment-parallel' …"""
    return "1-fragment" if fragments == 1 else f"{fragments}-fragment-{'parallel' if parallel else 'series'}"


def g1_pointwise_stack(c1: int, c2: int, blocks: int = 10) -> nn.Sequential:
    """G1: ``blocks`` × [1×1 conv c1→c2, 1×1 conv c2→c1], bias-free, no BN or ReLU (Sec. 2, Table 1).
    Per conv at h×w: MACs = hw·c1·c2, memory traffic ≥ hw·(c1 + c2) + c1·c2 elements, least at c1 = c2."""
    for name, value in (("c1", c1), ("c2", c2), ("blocks", blocks)):
        positive_int(value, name)
    layers = []
    for _ in range(blocks):
        layers += [nn.Conv2d(c1, c2, 1, bias=False), nn.Conv2d(c2, c1, 1, bias=False)]
    return nn.Sequential(*layers)


def g2_group_stack(groups: int, channels: int, layers: int = 10) -> nn.Sequential:
    """G2: ``layers`` 1×1 group convs c→c in ``groups`` groups — the paper's "10 pointwise group convolution
    layers" (Sec. 2, Table 2). Per conv at h×w: MACs = hw·c²/g, memory traffic = hw·2c + c²/g elements — rising
    with g at equal MACs."""
    positive_int(groups, "groups")
    positive_int(layers, "layers")
    if channels % groups:
        raise ValueError(f"groups ({groups}) must divide channels ({channels})")
    return nn.Sequential(*[nn.Conv2d(channels, channels, 1, groups=groups, bias=False) for _ in range(layers)])


class FragmentBlock(nn.Module):
    """G3: one block split into ``fragments`` 1×1 convs (Appendix Fig. 1). In series: ``fragments`` convs
    c→c one after another. In parallel: ``fragments`` branches c→c/n on the same input, concatenated — the
    ``torch.cat`` is a full extra copy of the output (G4's memory traffic, not fragmentation; ``profile_layers``
    shows it as the block's own row). MACs per position: series n·c², parallel c² — ``g3_fragment_stack`` narrows
    series blocks to c/√n."""

    def __init__(self, channels: int, fragments: int = 1, parallel: bool = False):
        super().__init__()
        if fragments not in (1, 2, 4):
            raise ValueError(f"fragments must be 1, 2 or 4, got {fragments!r}")
        if channels % fragments:
            raise ValueError(f"fragments ({fragments}) must divide channels ({channels})")
        self.parallel = parallel
        self.in_channels = self.out_channels = channels
        width = channels // fragments if parallel else channels
        self.fragments = nn.ModuleList(nn.Conv2d(channels, width, 1, bias=False) for _ in range(fragments))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.parallel:
            return torch.cat([conv(x) for conv in self.fragments], 1)  # eager PyTorch runs the branches in turn
        for conv in self.fragments:
            x = conv(x)
        return x


def g3_fragment_stack(fragments: int, parallel: bool, channels: int = 128, blocks: int = 10) -> nn.Sequential:
    """G3: ``blocks`` fragment blocks at equal MACs (Sec. 2, Table 3): parallel blocks keep c channels, series
    blocks use c/√n (rounded to a multiple of n) so that n·(c/√n)² = c². The stack's ``in_channels`` is its
    input width."""
    positive_int(blocks, "blocks")
    width = channels if parallel else int(round(channels / math.sqrt(fragments) / fragments)) * fragments
    stack = nn.Sequential(*[FragmentBlock(width, fragments, parallel) for _ in range(blocks)])
    stack.in_channels = width
    return stack


def g1_candidate(width_ratio: float, blocks: int = 10, resolution: int = 56,
                 channels: int = 128) -> tuple[nn.Sequential, tuple]:
    """(G1 stack, its input shape) with c2 / c1 = ``width_ratio`` at (about) the MACs of a ``channels`` ×
    ``channels`` conv: c1 = channels/√ratio, c2 = channels·√ratio, rounded — so the MACs differ by a few %."""
    positive_number(width_ratio, "width_ratio")
    c1, c2 = max(1, round(channels / math.sqrt(width_ratio))), max(1, round(channels * math.sqrt(width_ratio)))
    return g1_pointwise_stack(c1, c2, blocks), (1, c1, resolution, resolution)


def g2_candidate(groups: int, layers: int = 10, resolution: int = 56) -> tuple[nn.Sequential, tuple]:
    """(G2 stack, its input shape) for ``groups`` at G2's equal-MACs width (``G2_SETTINGS``)."""
    widths = dict(G2_SETTINGS)
    if groups not in widths:
        raise ValueError(f"groups must be one of {sorted(widths)} (G2's settings), got {groups!r}")
    return g2_group_stack(groups, widths[groups], layers), (1, widths[groups], resolution, resolution)


def g3_candidate(fragments: int, parallel: bool, blocks: int = 10, resolution: int = 56) -> tuple[nn.Sequential, tuple]:
    """(G3 stack, its input shape) — series stacks are narrower, so the shape comes with the stack. A G3 block
    costs one 128×128 conv, so ``blocks`` G3 blocks match the MACs of a ``layers=blocks`` G2 stack at g=1."""
    stack = g3_fragment_stack(fragments, parallel, blocks=blocks)
    return stack, (1, stack.in_channels, resolution, resolution)


def g3_width_control(width: int = 96, fragments: int = 2, blocks: int = 10,
                     resolution: int = 56) -> tuple[nn.Sequential, tuple]:
    """(stack, input shape): G3's series blocks at a chosen ``width`` — a control for the equal-MACs width
    ``g3_candidate`` picks (2 series fragments: 128/√2 → 90 channels, a width vectorised kernels may handle worse than
    a multiple of 8 or 16). 96 channels cost 2·96² = 1.125 × 128² MACs: judge it per MAC (``verdict.width_control``)."""
    positive_int(width, "width")
    positive_int(blocks, "blocks")
    stack = nn.Sequential(*[FragmentBlock(width, fragments, parallel=False) for _ in range(blocks)])
    stack.in_channels = width
    return stack, (1, width, resolution, resolution)


def g4_bottleneck_stack(channels: int = 256, *, relu: bool = True, shortcut: bool = True,
                        blocks: int = 10) -> nn.Sequential:
    """G4: ``blocks`` ResNet bottlenecks (c → c/4 → c/4 → c) with ReLU and shortcut switchable (Table 4)."""
    return nn.Sequential(*[Bottleneck(channels, channels, relu=relu, shortcut=shortcut) for _ in range(blocks)])


# --- after the essay (lesson 11): the 2022–2024 papers' micro-benchmarks ---------------------------------------

def depthwise_stack(kernel_size: int, channels: int = 384, layers: int = 8) -> nn.Sequential:
    """RepLKNet's Table 1 (Ding et al. 2022, Sec. 3): ``layers`` depthwise k×k convs of ``channels`` channels,
    bias-free. Per layer at h×w: MACs = hw·C·k² — 31×31 does 107× the MACs of 3×3 at the same memory traffic, so its
    arithmetic intensity grows with k² ("large depth-wise convolutions can be efficient in practice", Guideline 1)."""
    positive_int(kernel_size, "kernel_size")
    positive_int(channels, "channels")
    positive_int(layers, "layers")
    return nn.Sequential(*[nn.Conv2d(channels, channels, kernel_size, padding=kernel_size // 2, groups=channels,
                                     bias=False) for _ in range(layers)])


# RepLKNet Table 1: 24 depthwise layers on (64, 384, R, R), GTX 2080Ti, PyTorch 1.9 + cuDNN 7.6.5, FP32 (ms):
# PyTorch's own kernels and the authors' block-wise implicit-GEMM kernel, k = 3 … 31 (R = 16).
PAPER_LARGE_KERNEL_MS = {"PyTorch (cuDNN)": {3: 5.6, 5: 11.0, 7: 14.4, 9: 17.6, 13: 36.0, 17: 57.2, 21: 83.4,
                                             27: 133.5, 29: 150.7, 31: 171.4},
                         "the authors' kernel": {3: 5.6, 5: 6.5, 7: 6.4, 9: 6.9, 13: 7.5, 17: 8.4, 21: 8.4,
                                                 27: 8.4, 29: 8.3, 31: 8.4}}


def operator_stack(operator: str, channels: int, layers: int = 10) -> nn.Sequential:
    """FasterNet's Table 1 (Chen et al. 2023, Sec. 3.1): ``layers`` of one 3×3 operator on ``channels`` channels,
    bias-free — "conv" (dense), "gconv" (16 groups), "dwconv" (depthwise) or "pconv" (partial, on a quarter of the
    channels). Per layer at h×w: MACs = 9hw·C² (conv), 9hw·C²/16 (gconv), 9hw·C (dwconv), 9hw·C²/16 (pconv)."""
    positive_int(channels, "channels")
    make = {"conv": lambda: nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            "gconv": lambda: nn.Conv2d(channels, channels, 3, padding=1, groups=16, bias=False),
            "dwconv": lambda: nn.Conv2d(channels, channels, 3, padding=1, groups=channels, bias=False),
            "pconv": lambda: PartialConv(channels)}
    if operator not in make:
        raise ValueError(f"operator must be one of {sorted(make)}, got {operator!r}")
    return nn.Sequential(*[make[operator]() for _ in range(layers)])


FASTERNET_SHAPES = [(96, 56), (192, 28), (384, 14), (768, 7)]  # channels, side (Table 1's four columns)
# FasterNet Table 1: achieved throughput averaged over the four shapes (FLOPs per second, their "FLOPs" being
# multiply-adds: so GMAC/s here), on a GTX 2080Ti GPU (batch 32), an Intel i9-9900X CPU and a Cortex-A72 ARM core
# (single thread, batch 1).
PAPER_FASTERNET_GMACS = {"2080Ti GPU": {"conv": 10151, "gconv": 1833, "dwconv": 313, "pconv": 3274},
                         "i9-9900X CPU, 1 thread": {"conv": 71.89, "gconv": 25.93, "dwconv": 6.42, "pconv": 39.91},
                         "Cortex-A72, 1 thread": {"conv": 3.95, "gconv": 1.92, "dwconv": 0.12, "pconv": 2.73}}
