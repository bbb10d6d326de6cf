"""Reference networks assembled from ``effedu.blocks``, with their papers' width and resolution knobs, and the
micro-benchmarks of ShuffleNetV2's guideline experiments G1–G4 (Ma et al. 2018, Sec. 2).

Architecture tables are literal rows copied from the papers (as torchvision's ``inverted_residual_setting``),
so a reader can check them by eye. Every model takes any input resolution (global pooling before the head).
"""
from __future__ import annotations

import math

import pandas as pd
import torch
from torch import nn

from .blocks import (RDCL, Bottleneck, BasicBlock, ConvBNAct, DepthwiseSeparable, FaceBoxesInception,
                     InvertedResidual, ShuffleNetV1Unit, ShuffleNetV2Unit)


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round channels to a multiple of ``divisor``, never more than 10 % down (MobileNetV2 / torchvision)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def _check_multiplier(value: float, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")


class Classifier(nn.Sequential):
    """Global average pool → flatten → (dropout) → fully connected."""

    def __init__(self, in_features: int, num_classes: int, dropout: float = 0.0):
        super().__init__(nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Dropout(dropout) if dropout else nn.Identity(), nn.Linear(in_features, num_classes))


class MobileNetV1(nn.Module):
    """MobileNetV1 (Howard et al. 2017, Table 1): a 3×3 conv, then 13 depthwise separable blocks.
    Width multiplier α scales every layer's channels (Sec. 3.3); the paper rounds by truncation."""

    # out_channels, stride of each depthwise separable block (Table 1, read top to bottom)
    setting = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
               (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)]

    def __init__(self, width_mult: float = 1.0, num_classes: int = 1000):
        super().__init__()
        _check_multiplier(width_mult, "width_mult")
        channels = max(1, int(32 * width_mult))
        layers: list[nn.Module] = [ConvBNAct(3, channels, 3, 2)]
        for out_channels, stride in self.setting:
            out_channels = max(1, int(out_channels * width_mult))
            layers.append(DepthwiseSeparable(channels, out_channels, stride))
            channels = out_channels
        self.features = nn.Sequential(*layers)
        self.classifier = Classifier(channels, num_classes)

    def forward(self, x):
        return self.classifier(self.features(x))


class MobileNetV2(nn.Module):
    """MobileNetV2 (Sandler et al. 2018, Table 2), as torchvision builds it (same parameter count)."""

    # t (expansion), c (channels), n (repeats), s (first stride) — Table 2
    inverted_residual_setting = [
        (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
    ]

    def __init__(self, width_mult: float = 1.0, num_classes: int = 1000):
        super().__init__()
        _check_multiplier(width_mult, "width_mult")
        channels = make_divisible(32 * width_mult)
        last_channels = make_divisible(1280 * max(1.0, width_mult))
        layers: list[nn.Module] = [ConvBNAct(3, channels, 3, 2, act=nn.ReLU6)]
        for t, c, n, s in self.inverted_residual_setting:
            out_channels = make_divisible(c * width_mult)
            for i in range(n):
                layers.append(InvertedResidual(channels, out_channels, s if i == 0 else 1, expand_ratio=t))
                channels = out_channels
        layers.append(ConvBNAct(channels, last_channels, 1, act=nn.ReLU6))
        self.features = nn.Sequential(*layers)
        self.classifier = Classifier(last_channels, num_classes, dropout=0.2)

    def forward(self, x):
        return self.classifier(self.features(x))


class ShuffleNetV1(nn.Module):
    """ShuffleNet v1 (Zhang et al. 2018, Table 1): 3×3 conv (24) s2, max-pool, stages of 4/8/4 units (the
    first of each with stride 2). ``scale`` is the paper's "ShuffleNet s×" channel multiplier (Sec. 4.1.1)."""

    # groups → output channels of stages 2, 3, 4 (Table 1)
    stage_channels = {1: (144, 288, 576), 2: (200, 400, 800), 3: (240, 480, 960), 4: (272, 544, 1088),
                      8: (384, 768, 1536)}
    stage_repeats = (4, 8, 4)

    def __init__(self, groups: int = 3, scale: float = 1.0, num_classes: int = 1000):
        super().__init__()
        if groups not in self.stage_channels:
            raise ValueError(f"groups must be one of {sorted(self.stage_channels)} (Table 1), got {groups!r}")
        _check_multiplier(scale, "scale")
        # Channels stay divisible by 4·groups so that every bottleneck (C_out/4) splits into the groups.
        widths = [int(round(c * scale / (4 * groups))) * 4 * groups for c in self.stage_channels[groups]]
        channels = 24
        layers: list[nn.Module] = [ConvBNAct(3, channels, 3, 2), nn.MaxPool2d(3, 2, 1)]
        for stage, (width, repeats) in enumerate(zip(widths, self.stage_repeats)):
            for i in range(repeats):
                first_groups = 1 if stage == 0 and i == 0 else groups  # stage 2's first 1×1 is not grouped
                layers.append(ShuffleNetV1Unit(channels, width, 2 if i == 0 else 1, groups=groups,
                                               first_groups=first_groups))
                channels = width
        self.features = nn.Sequential(*layers)
        self.classifier = Classifier(channels, num_classes)

    def forward(self, x):
        return self.classifier(self.features(x))


class ShuffleNetV2(nn.Module):
    """ShuffleNetV2 (Ma et al. 2018, Table 5), as torchvision builds it (same parameter count)."""

    # scale → output channels of conv1, stages 2–4 and conv5 (Table 5)
    stage_channels = {0.5: (24, 48, 96, 192, 1024), 1.0: (24, 116, 232, 464, 1024),
                      1.5: (24, 176, 352, 704, 1024), 2.0: (24, 244, 488, 976, 2048)}
    stage_repeats = (4, 8, 4)

    def __init__(self, scale: float = 1.0, num_classes: int = 1000):
        super().__init__()
        if scale not in self.stage_channels:
            raise ValueError(f"scale must be one of {sorted(self.stage_channels)} (Table 5), got {scale!r}")
        conv1, *stages, conv5 = self.stage_channels[scale]
        layers: list[nn.Module] = [ConvBNAct(3, conv1, 3, 2), nn.MaxPool2d(3, 2, 1)]
        channels = conv1
        for width, repeats in zip(stages, self.stage_repeats):
            for i in range(repeats):
                layers.append(ShuffleNetV2Unit(channels, width, 2 if i == 0 else 1))
                channels = width
        layers.append(ConvBNAct(channels, conv5, 1))
        self.features = nn.Sequential(*layers)
        self.classifier = Classifier(conv5, num_classes)

    def forward(self, x):
        return self.classifier(self.features(x))


class ResNet(nn.Module):
    """ResNet (He et al. 2016, Table 1) with torchvision's V1.5 bottleneck (stride on the 3×3)."""

    def __init__(self, block: type[nn.Module], layers: list[int], num_classes: int = 1000):
        super().__init__()
        expansion = 4 if block is Bottleneck else 1
        self.stem = nn.Sequential(ConvBNAct(3, 64, 7, 2), nn.MaxPool2d(3, 2, 1))
        stages, channels = [], 64
        for stage, repeats in enumerate(layers):
            width = 64 * 2 ** stage * expansion
            blocks = []
            for i in range(repeats):
                blocks.append(block(channels, width, 2 if i == 0 and stage > 0 else 1))
                channels = width
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.classifier = Classifier(channels, num_classes)

    def forward(self, x):
        x = self.stem(x)  # (N, 64, H/4, W/4)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))  # (N, C, H/32, W/32)
        return self.classifier(x)


class FaceBoxes(nn.Module):
    """FaceBoxes detector (Zhang et al. 2017, Fig. 1): RDCL, then MSCL — three Inception modules, conv3_1/3_2,
    conv4_1/4_2 — and 3×3 heads on three scales (21, 1 and 1 anchors per position after densification).
    ``forward`` returns (boxes: N×A×4, scores: N×A×num_classes) over all A anchors."""

    anchors_per_position = (21, 1, 1)  # 32² ×4-densified (16) + 64² ×2 (4) + 128² (1); 256²; 512²

    def __init__(self, num_classes: int = 2):
        super().__init__()
        self.num_classes = num_classes
        self.rdcl = RDCL(3)
        self.inception = nn.Sequential(FaceBoxesInception(128), FaceBoxesInception(128), FaceBoxesInception(128))
        self.conv3 = nn.Sequential(ConvBNAct(128, 128, 1), ConvBNAct(128, 256, 3, 2))
        self.conv4 = nn.Sequential(ConvBNAct(256, 128, 1), ConvBNAct(128, 256, 3, 2))
        scales = (128, 256, 256)
        self.loc_heads = nn.ModuleList(nn.Conv2d(c, a * 4, 3, padding=1)
                                       for c, a in zip(scales, self.anchors_per_position))
        self.conf_heads = nn.ModuleList(nn.Conv2d(c, a * num_classes, 3, padding=1)
                                        for c, a in zip(scales, self.anchors_per_position))

    def forward(self, x):
        s1 = self.inception(self.rdcl(x))  # (N, 128, H/32, W/32)
        s2 = self.conv3(s1)  # (N, 256, H/64, W/64)
        s3 = self.conv4(s2)  # (N, 256, H/128, W/128)
        n = x.shape[0]
        boxes = [head(s).permute(0, 2, 3, 1).reshape(n, -1, 4) for head, s in zip(self.loc_heads, (s1, s2, s3))]
        scores = [head(s).permute(0, 2, 3, 1).reshape(n, -1, self.num_classes)
                  for head, s in zip(self.conf_heads, (s1, s2, s3))]
        return torch.cat(boxes, 1), torch.cat(scores, 1)


# --- builders: one per published variant ---------------------------------------------------------------

def mobilenet_v1(width_mult: float = 1.0, num_classes: int = 1000) -> MobileNetV1:
    return MobileNetV1(width_mult, num_classes)


def mobilenet_v2(width_mult: float = 1.0, num_classes: int = 1000) -> MobileNetV2:
    return MobileNetV2(width_mult, num_classes)


def shufflenet_v1(groups: int = 3, scale: float = 1.0, num_classes: int = 1000) -> ShuffleNetV1:
    return ShuffleNetV1(groups, scale, num_classes)


def shufflenet_v2(scale: float = 1.0, num_classes: int = 1000) -> ShuffleNetV2:
    return ShuffleNetV2(scale, num_classes)


def resnet18(num_classes: int = 1000) -> ResNet:
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes)


def resnet50(num_classes: int = 1000) -> ResNet:
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes)


def faceboxes(num_classes: int = 2) -> FaceBoxes:
    return FaceBoxes(num_classes)


def digits_cnn(width: int = 32, num_classes: int = 10, *, seed: int | None = 0) -> nn.Sequential:
    """A small plain CNN for 8×8 digit images (``effedu.data.digits``): trains in seconds on a CPU. ``seed``
    fixes the initial weights without touching torch's global random state (``None``: unseeded)."""
    if seed is None:
        return _digits_layers(width, num_classes)
    with torch.random.fork_rng(devices=[]):  # the CPU generator only: model init happens there
        torch.manual_seed(seed)
        return _digits_layers(width, num_classes)


def _digits_layers(width: int, num_classes: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, width, 3, padding=1), nn.ReLU(),
        nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (N, 2w, 4, 4)
        nn.Conv2d(2 * width, 2 * width, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2 * width, num_classes))


def _plain(in_channels: int, out_channels: int, stride: int) -> nn.Module:
    return ConvBNAct(in_channels, out_channels, 3, stride)


TINY_BLOCKS = {  # block name → constructor (in_channels, out_channels, stride), for TinyNet
    "plain 3×3": _plain, "separable": DepthwiseSeparable, "bottleneck": Bottleneck,
    "inverted residual": InvertedResidual, "ShuffleNetV2 unit": ShuffleNetV2Unit,
}


class TinyNet(nn.Module):
    """A small configurable backbone for the redesign lesson: a 3×3 stem, three stages of one block type (each
    stage starts with stride 2), global pooling and a classifier. ``width_mult`` and ``depth_mult`` are
    MobileNet's width multiplier and EfficientNet-style depth scaling; ``block`` swaps the building block.
    ``seed`` fixes the initial weights without touching torch's global random state (``None``: unseeded)."""

    def __init__(self, block: str = "separable", widths: tuple = (16, 32, 64), depths: tuple = (1, 2, 2), *,
                 width_mult: float = 1.0, depth_mult: float = 1.0, in_channels: int = 1, num_classes: int = 10,
                 seed: int | None = 0):
        super().__init__()
        if seed is not None:  # the same design starts from the same weights, wherever a lesson builds it
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                self._build(block, widths, depths, width_mult, depth_mult, in_channels, num_classes)
        else:
            self._build(block, widths, depths, width_mult, depth_mult, in_channels, num_classes)

    def _build(self, block, widths, depths, width_mult, depth_mult, in_channels, num_classes) -> None:
        if block not in TINY_BLOCKS:
            raise ValueError(f"block must be one of {sorted(TINY_BLOCKS)}, got {block!r}")
        _check_multiplier(width_mult, "width_mult")
        _check_multiplier(depth_mult, "depth_mult")
        if len(widths) != len(depths):
            raise ValueError(f"widths and depths must have the same length, got {len(widths)} and {len(depths)}")
        stem = make_divisible(widths[0] * width_mult, 8)
        layers: list[nn.Module] = [ConvBNAct(in_channels, stem, 3)]
        channels = stem
        for width, depth in zip(widths, depths):
            out_channels = make_divisible(width * width_mult, 8)
            for i in range(max(1, math.ceil(depth * depth_mult))):
                layers.append(TINY_BLOCKS[block](channels, out_channels, 2 if i == 0 else 1))
                channels = out_channels
        self.features = nn.Sequential(*layers)
        self.classifier = Classifier(channels, num_classes)

    def forward(self, x):
        return self.classifier(self.features(x))


REFERENCE_MODELS = {
    "MobileNetV1 1.0": mobilenet_v1, "MobileNetV2 1.0": mobilenet_v2, "ShuffleNet v1 g=3": shufflenet_v1,
    "ShuffleNetV2 1.0": shufflenet_v2, "ResNet-18": resnet18, "ResNet-50": resnet50,
}

# What the papers print (MACs in millions at 224×224, params in millions), for side-by-side tables only.
PUBLISHED = {
    "MobileNetV1 1.0": (569, 4.2, "Howard et al. 2017, Table 6"),
    "MobileNetV2 1.0": (300, 3.4, "Sandler et al. 2018, Table 4"),
    "ShuffleNet v1 g=3": (140, 1.9, "Zhang et al. 2018, Table 2 (MACs); params as counted"),
    "ShuffleNetV2 1.0": (146, 2.3, "Ma et al. 2018, Table 5"),
    "ResNet-18": (1814, 11.7, "torchvision"),
    "ResNet-50": (4089, 25.6, "torchvision"),
}


def zoo(resolution: int = 224, *, latency: bool = False, threads: int = 1, budget_s: float = 1.0,
        progress: bool = True) -> pd.DataFrame:
    """The reference models at ``resolution``: params, MACs, memory traffic, the published figures beside
    them, and (``latency=True``) median latency measured interleaved — the "fewer MACs, yet slower" data."""
    from .counting import count_macs, count_params, memory_traffic
    from .timing import compare_latency

    _check_multiplier(resolution, "resolution")
    shape = (1, 3, resolution, resolution)
    models = {name: build() for name, build in REFERENCE_MODELS.items()}
    if latency:
        frame = compare_latency(models, shape, threads=threads, budget_s=budget_s, progress=progress)
    else:
        frame = pd.DataFrame({"params": {n: count_params(m) for n, m in models.items()},
                              "macs": {n: count_macs(m, shape) for n, m in models.items()},
                              "bytes": {n: memory_traffic(m, shape) for n, m in models.items()}})
        frame.index.name = "candidate"
    frame["paper_macs_M"] = [PUBLISHED[n][0] for n in frame.index]
    frame["paper_params_M"] = [PUBLISHED[n][1] for n in frame.index]
    frame["source"] = [PUBLISHED[n][2] for n in frame.index]
    return frame


# --- ShuffleNetV2's guideline experiments (Ma et al. 2018, Sec. 2; input 56×56, 10 stacked blocks) ----------

G1_SETTINGS = [(128, 128), (90, 180), (52, 312), (36, 432)]  # c1, c2 at equal MACs: 1:1, 1:2, 1:6, 1:12
G2_SETTINGS = [(1, 128), (2, 180), (4, 256), (8, 360)]  # groups, channels at equal MACs
G3_SETTINGS = [(1, False), (2, False), (4, False), (2, True), (4, True)]  # fragments, parallel


def g1_pointwise_stack(c1: int, c2: int, blocks: int = 10) -> nn.Sequential:
    """G1: ``blocks`` × [1×1 conv c1→c2, 1×1 conv c2→c1], bias-free, no BN or ReLU (Sec. 2, Table 1).
    Per conv at h×w: MACs = hw·c1·c2, memory traffic ≥ hw·(c1 + c2) + c1·c2 elements, least at c1 = c2."""
    for name, value in (("c1", c1), ("c2", c2), ("blocks", blocks)):
        _check_multiplier(value, name)
    layers = []
    for _ in range(blocks):
        layers += [nn.Conv2d(c1, c2, 1, bias=False), nn.Conv2d(c2, c1, 1, bias=False)]
    return nn.Sequential(*layers)


def g2_group_stack(groups: int, channels: int, blocks: int = 10) -> nn.Sequential:
    """G2: ``blocks`` × two 1×1 group convs c→c in ``groups`` groups (Sec. 2, Table 2). Per conv at h×w:
    MACs = hw·c²/g, memory traffic = hw·2c + c²/g elements — rising with g at equal MACs."""
    if channels % groups:
        raise ValueError(f"groups ({groups}) must divide channels ({channels})")
    return nn.Sequential(*[nn.Conv2d(channels, channels, 1, groups=groups, bias=False) for _ in range(2 * blocks)])


class FragmentBlock(nn.Module):
    """G3: one block split into ``fragments`` 1×1 convs (Appendix Fig. 1). In series: ``fragments`` convs
    c→c one after another. In parallel: ``fragments`` branches c→c/n on the same input, concatenated.
    MACs per position: series n·c², parallel c² — ``g3_fragment_stack`` narrows series blocks to c/√n."""

    def __init__(self, channels: int, fragments: int = 1, parallel: bool = False):
        super().__init__()
        if fragments not in (1, 2, 4):
            raise ValueError(f"fragments must be 1, 2 or 4, got {fragments!r}")
        if channels % fragments:
            raise ValueError(f"fragments ({fragments}) must divide channels ({channels})")
        self.parallel = parallel
        out_channels = channels // fragments if parallel else channels
        self.fragments = nn.ModuleList(nn.Conv2d(channels, out_channels, 1, bias=False) for _ in range(fragments))

    def forward(self, x):
        if self.parallel:
            return torch.cat([conv(x) for conv in self.fragments], 1)
        for conv in self.fragments:
            x = conv(x)
        return x


def g3_fragment_stack(fragments: int, parallel: bool, channels: int = 128, blocks: int = 10) -> nn.Sequential:
    """G3: ``blocks`` fragment blocks at equal MACs (Sec. 2, Table 3): parallel blocks keep c channels, series
    blocks use c/√n (rounded to a multiple of n) so that n·(c/√n)² = c². Returns the stack; its input has
    ``stack[0].fragments[0].in_channels`` channels."""
    width = channels if parallel else int(round(channels / math.sqrt(fragments) / fragments)) * fragments
    return nn.Sequential(*[FragmentBlock(width, fragments, parallel) for _ in range(blocks)])


def g1_candidate(ratio: float, blocks: int = 10, resolution: int = 56,
                 channels: int = 128) -> tuple[nn.Sequential, tuple]:
    """(G1 stack, its input shape) with c2 / c1 = ``ratio`` at the MACs of a ``channels``×``channels`` conv:
    c1 = channels/√ratio, c2 = channels·√ratio (rounded)."""
    _check_multiplier(ratio, "ratio")
    c1, c2 = max(1, round(channels / math.sqrt(ratio))), max(1, round(channels * math.sqrt(ratio)))
    return g1_pointwise_stack(c1, c2, blocks), (1, c1, resolution, resolution)


def g2_candidate(groups: int, blocks: int = 10, resolution: int = 56) -> tuple[nn.Sequential, tuple]:
    """(G2 stack, its input shape) for ``groups`` at G2's equal-MACs width (``G2_SETTINGS``)."""
    widths = dict(G2_SETTINGS)
    if groups not in widths:
        raise ValueError(f"groups must be one of {sorted(widths)} (G2's settings), got {groups!r}")
    return g2_group_stack(groups, widths[groups], blocks), (1, widths[groups], resolution, resolution)


def g3_candidate(fragments: int, parallel: bool, blocks: int = 10,
                 resolution: int = 56) -> tuple[nn.Sequential, tuple]:
    """(G3 stack, its input shape) — series stacks are narrower, so the shape comes with the stack."""
    stack = g3_fragment_stack(fragments, parallel, blocks=blocks)
    return stack, (1, stack[0].fragments[0].in_channels, resolution, resolution)


def g4_bottleneck_stack(channels: int = 256, *, relu: bool = True, shortcut: bool = True,
                        blocks: int = 10) -> nn.Sequential:
    """G4: ``blocks`` ResNet bottlenecks (c → c/4 → c/4 → c) with ReLU and shortcut switchable (Table 4)."""
    return nn.Sequential(*[Bottleneck(channels, channels, relu=relu, shortcut=shortcut) for _ in range(blocks)])
