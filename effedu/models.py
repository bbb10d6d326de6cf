"""Reference networks assembled from ``effedu.blocks``, with their papers' width and resolution knobs, the small
networks of the redesign lessons (``TinyNet``, ``digits_cnn``) and the published figures each must reproduce.

Architecture tables are literal rows copied from the papers (as torchvision's ``inverted_residual_setting``),
so a reader can check them by eye. Every model takes any input resolution (global pooling before the head).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ._runtime import positive_number, seeded
from .blocks import (RDCL, BasicBlock, Bottleneck, Classifier, ConvBNAct, ConvNeXtBlock, DepthwiseSeparable,
                     FaceBoxesInception, FasterNetBlock, InvertedResidual, LayerNorm2d, MobileOneBlock, RepVGGBlock,
                     ShuffleNetV1Unit, ShuffleNetV2Unit, UniversalInvertedBottleneck, fuse_branches, make_block,
                     make_divisible)
from .guidelines import FragmentBlock


class MobileNetV1(nn.Module):
    """MobileNetV1 (Howard et al. 2017, Table 1): a 3×3 conv, then 13 depthwise separable blocks.
    Width multiplier α scales every layer's channels (Sec. 3.3); the paper rounds by truncation."""

    # out_channels, stride of each depthwise separable block (Table 1, read top to bottom)
    setting = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
               (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)]

    def __init__(self, width_mult: float = 1.0, num_classes: int = 1000):
        super().__init__()
        positive_number(width_mult, "width_mult")
        channels = max(1, int(32 * width_mult))
        layers: list[nn.Module] = [ConvBNAct(3, channels, 3, 2)]
        for out_channels, stride in self.setting:
            out_channels = max(1, int(out_channels * width_mult))
            layers.append(DepthwiseSeparable(channels, out_channels, stride))
            channels = out_channels
        self.features = nn.Sequential(*layers)
        self.classifier = Classifier(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class MobileNetV2(nn.Module):
    """MobileNetV2 (Sandler et al. 2018, Table 2), as torchvision builds it (same parameter count)."""

    # t (expansion), c (channels), n (repeats), s (first stride) — Table 2
    inverted_residual_setting = [
        (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
    ]

    def __init__(self, width_mult: float = 1.0, num_classes: int = 1000):
        super().__init__()
        positive_number(width_mult, "width_mult")
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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class ShuffleNetV1(nn.Module):
    """ShuffleNet v1 (Zhang et al. 2018, Table 1): 3×3 conv (24) s2, max-pool, stages of 4/8/4 units (the
    first of each with stride 2). ``scale`` is the paper's "ShuffleNet s×" channel multiplier (Sec. 4.1.1): it
    scales every layer, the 24-channel stem included (as the authors' released models do), which gives the paper's
    complexities — 0.5× g=3: 37.6 M MACs (Table 8: 38 M), 2× g=3: 524.0 M (the paper: 524 M)."""

    # groups → output channels of stages 2, 3, 4 (Table 1)
    stage_channels = {1: (144, 288, 576), 2: (200, 400, 800), 3: (240, 480, 960), 4: (272, 544, 1088),
                      8: (384, 768, 1536)}
    stage_repeats = (4, 8, 4)

    def __init__(self, groups: int = 3, scale: float = 1.0, num_classes: int = 1000):
        super().__init__()
        if groups not in self.stage_channels:
            raise ValueError(f"groups must be one of {sorted(self.stage_channels)} (Table 1), got {groups!r}")
        positive_number(scale, "scale")
        # Channels stay divisible by 4·groups so that every bottleneck (C_out/4) splits into the groups.
        widths = [int(round(c * scale / (4 * groups))) * 4 * groups for c in self.stage_channels[groups]]
        # The stem scales too, rounded to a multiple of g so that the first stride-2 unit's branch (width − stem)
        # still splits into the groups: 24 at 1× for every g, 12 at 0.5× g=3.
        channels = max(1, round(24 * scale / groups)) * groups
        layers: list[nn.Module] = [ConvBNAct(3, channels, 3, 2), nn.MaxPool2d(3, 2, 1)]
        for stage, (width, repeats) in enumerate(zip(widths, self.stage_repeats)):
            for i in range(repeats):
                first_groups = 1 if stage == 0 and i == 0 else groups  # stage 2's first 1×1 is not grouped
                layers.append(ShuffleNetV1Unit(channels, width, 2 if i == 0 else 1, groups=groups,
                                               first_groups=first_groups))
                channels = width
        self.features = nn.Sequential(*layers)
        self.classifier = Classifier(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
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
    with seeded(seed):
        return nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1), nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (N, 2w, 4, 4)
            nn.Conv2d(2 * width, 2 * width, 3, padding=1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2 * width, num_classes))


class TinyNet(nn.Module):
    """A small configurable backbone for the redesign lesson: a 3×3 stem, three stages of one block type from
    ``blocks.BLOCKS`` (each stage starts with stride 2), global pooling and a classifier. ``width_mult`` and
    ``depth_mult`` are MobileNet's width multiplier and EfficientNet-style depth scaling (a depth is rounded up,
    at least 1 block per stage); ``block`` swaps the building block. ``seed`` fixes the initial weights without
    touching torch's global random state (``None``: unseeded). Any ``nn.Module`` can take its place in the
    lessons: ``TinyNet`` only saves writing one."""

    def __init__(self, block: str = "separable", widths: tuple = (16, 32, 64), depths: tuple = (1, 2, 2), *,
                 width_mult: float = 1.0, depth_mult: float = 1.0, in_channels: int = 1, num_classes: int = 10,
                 seed: int | None = 0):
        super().__init__()
        positive_number(width_mult, "width_mult")
        positive_number(depth_mult, "depth_mult")
        if len(widths) != len(depths):
            raise ValueError(f"widths and depths must have the same length, got {len(widths)} and {len(depths)}")
        with seeded(seed):
            stem = make_divisible(widths[0] * width_mult, 8)
            layers: list[nn.Module] = [ConvBNAct(in_channels, stem, 3)]
            channels = stem
            for width, depth in zip(widths, depths):
                out_channels = make_divisible(width * width_mult, 8)
                for i in range(max(1, math.ceil(depth * depth_mult))):
                    layers.append(make_block(block, channels, out_channels, 2 if i == 0 else 1))
                    channels = out_channels
            self.features = nn.Sequential(*layers)
            self.classifier = Classifier(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class Network(nn.Sequential):
    """Design from scratch (the essay's level 3) with any modules: a ``stem``, a list of ``stages`` (any blocks —
    a large-kernel stride-2 stem from lesson 07, ``blocks.ShuffleNetV1Unit`` with group convs from lesson 03, …)
    and a classifier on ``channels`` features. A template, not a rule: any ``nn.Module`` works in the lessons.

        Network(blocks.ConvBNAct(1, 24, 5, 2), [blocks.ShuffleNetV1Unit(24, 72, 2, groups=3, first_groups=1),
                                                blocks.InvertedResidual(72, 96, 2)], channels=96)
    """

    def __init__(self, stem: nn.Module, stages: list, channels: int, num_classes: int = 10):
        super().__init__(stem, *stages, Classifier(channels, num_classes))


def slow_digits_net(*, stem_stride: int = 1, balanced: bool = False, groups: int = 8, fragments: int = 4,
                    inplace: bool = False, seed: int | None = 0) -> nn.Sequential:
    """Lesson 10's deliberately slow network for the 16×16 digits: each part breaks one guideline the course
    measured, and each keyword switches one fix on —
    ``stem_stride=2`` (lessons 07/08: small kernels on the full-size map), ``balanced=True`` (G1: a 32→256→32 pair of
    1×1 convs), ``groups=1`` (G2: 1×1 convs in 8 groups), ``fragments=1`` (G3: four parallel branches, concatenated),
    ``inplace=True`` (lesson 05: out-of-place ReLUs). Its BatchNorms train the network; after training
    ``transforms.fold_batchnorm`` removes them (G4). Only ``fragments`` and ``inplace`` keep the MACs: the stride-2
    stem leaves ¼ of the MACs after it, ``balanced`` (32→64→32) gives the pair ¼ of its MACs, and ``groups=1`` gives
    the two 96-wide 1×1 convs 8× theirs — each fix is its guideline *and* a change of MACs."""
    if groups not in (1, 2, 4, 8) or fragments not in (1, 2, 4) or stem_stride not in (1, 2):
        raise ValueError(f"groups must be 1, 2, 4 or 8, fragments 1, 2 or 4 and stem_stride 1 or 2, got groups="
                         f"{groups!r}, fragments={fragments!r}, stem_stride={stem_stride!r}")
    wide = 64 if balanced else 256

    def unit(c_in: int, c_out: int, kernel: int = 1, stride: int = 1, g: int = 1) -> list[nn.Module]:
        return [nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=g, bias=False), nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=inplace)]

    with seeded(seed):
        return nn.Sequential(
            *unit(1, 32, 3, stem_stride), *unit(32, 32, 3),  # early: 3×3 kernels on the full-size map
            *unit(32, wide, 1), *unit(wide, 32, 1),  # G1: unequal 1×1 widths
            *unit(32, 96, 3, 2),  # down to a quarter of the pixels
            *unit(96, 96, 1, 1, groups), *unit(96, 96, 1, 1, groups),  # G2: many groups
            FragmentBlock(96, fragments, parallel=True), nn.ReLU(inplace=inplace),  # G3: parallel branches
            Classifier(96, 10))


# --- after the essay (lesson 11): reference networks of 2021–2024, from the papers' architecture tables ---------

class RepVGG(nn.Module):
    """RepVGG (Ding et al. 2021, Sec. 3.4, Table 2): five stages of ``RepVGGBlock``s, the first block of each with
    stride 2, then global pooling and a classifier. Channels: min(64, 64a), 64a, 128a, 256a, 512b. At training time
    every block has three branches; ``transforms.reparameterize`` turns the network into a plain stack of 3×3
    convs (the deploy form, which the paper times)."""

    def __init__(self, depths: tuple[int, int, int, int], a: float, b: float, num_classes: int = 1000):
        super().__init__()
        widths = (min(64, int(64 * a)), int(64 * a), int(128 * a), int(256 * a), int(512 * b))
        layers: list[nn.Module] = [RepVGGBlock(3, widths[0], 2)]
        channels = widths[0]
        for width, depth in zip(widths[1:], depths):
            for i in range(depth):
                layers.append(RepVGGBlock(channels, width, 2 if i == 0 else 1))
                channels = width
        self.features = nn.Sequential(*layers)
        self.classifier = Classifier(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def repvgg_a0(num_classes: int = 1000, *, deploy: bool = False) -> nn.Module:
    """RepVGG-A0: 1, 2, 4, 14, 1 blocks; a = 0.75, b = 2.5 (Table 2). ``deploy=True``: re-parameterized."""
    model = RepVGG((2, 4, 14, 1), a=0.75, b=2.5, num_classes=num_classes)
    return fuse_branches(model) if deploy else model


class MobileOne(nn.Module):
    """MobileOne (Vasu et al. 2022, Table 6): a 3×3 stride-2 block, then four stages whose blocks are each a
    depthwise 3×3 ``MobileOneBlock`` followed by a pointwise 1×1 one (the first depthwise of a stage with stride 2),
    then global pooling and a classifier. Channels 64·w₁ (at most 64), 64·w₁, 128·w₂, 256·w₃, 512·w₄. At training
    time each conv has ``branches`` over-parameterised copies; ``transforms.reparameterize`` folds them."""

    def __init__(self, widths: tuple[float, float, float, float], branches: int, num_classes: int = 1000):
        super().__init__()
        channels = min(64, int(64 * widths[0]))
        layers: list[nn.Module] = [MobileOneBlock(3, channels, 2)]
        # stage channels before the width multipliers, and blocks per stage (Table 6)
        for base, multiplier, depth in zip((64, 128, 256, 512), widths, (2, 8, 10, 1)):
            width = int(base * multiplier)
            for i in range(depth):
                layers.append(MobileOneBlock(channels, channels, 2 if i == 0 else 1, groups=channels,
                                             branches=branches))
                layers.append(MobileOneBlock(channels, width, kernel_size=1, branches=branches))
                channels = width
        self.features = nn.Sequential(*layers)
        self.classifier = Classifier(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def mobileone_s0(num_classes: int = 1000, *, deploy: bool = False) -> nn.Module:
    """MobileOne-S0: widths (0.75, 1, 1, 2), four over-parameterised branches (Table 6). ``deploy=True``:
    re-parameterized."""
    model = MobileOne((0.75, 1.0, 1.0, 2.0), branches=4, num_classes=num_classes)
    return fuse_branches(model) if deploy else model


class FasterNet(nn.Module):
    """FasterNet (Chen et al. 2023, Fig. 5, Table 7): a 4×4 stride-4 patch embedding, four stages of
    ``FasterNetBlock``s separated by 2×2 stride-2 merging convs that double the channels, then global pooling, a
    1×1 conv to 1280 features, the activation and a classifier."""

    def __init__(self, embed: int, depths: tuple[int, int, int, int], act: type[nn.Module] = nn.GELU,
                 num_classes: int = 1000):
        super().__init__()
        layers: list[nn.Module] = [ConvBNAct(3, embed, 4, 4, act=None)]
        channels = embed
        for stage, depth in enumerate(depths):
            if stage:
                layers.append(ConvBNAct(channels, 2 * channels, 2, 2, act=None))  # merging: H/2, 2C
                channels *= 2
            layers.extend(FasterNetBlock(channels, act=act) for _ in range(depth))
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(channels, 1280, 1, bias=False), act(),
                                  nn.Flatten(), nn.Linear(1280, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def fasternet_t0(num_classes: int = 1000) -> FasterNet:
    """FasterNet-T0: 40 channels after the embedding, 1, 2, 8, 2 blocks, GELU (Table 7)."""
    return FasterNet(40, (1, 2, 8, 2), nn.GELU, num_classes)


class MobileNetV4ConvSmall(nn.Module):
    """MobileNetV4-Conv-S (Qin et al. 2024, Table 11): plain convs in the first stages (a 3×3 s2 stem, then pairs of a
    3×3 s2 conv and a 1×1 conv), Universal Inverted Bottlenecks after, a 1×1 conv to 960, global pooling, a 1×1 conv
    to 1280 with BN and ReLU, and a classifier. ReLU throughout, no squeeze-excitation."""

    # UIB rows: start kernel, mid kernel, stride, expansion, out channels, repeats (Table 11; 0: no such conv)
    uib_setting = [(5, 5, 2, 3.0, 96, 1), (0, 3, 1, 2.0, 96, 4), (3, 0, 1, 4.0, 96, 1),  # 28×28 → 14×14
                   (3, 3, 2, 6.0, 128, 1), (5, 5, 1, 4.0, 128, 1), (0, 5, 1, 4.0, 128, 1),  # 14×14 → 7×7
                   (0, 5, 1, 3.0, 128, 1), (0, 3, 1, 4.0, 128, 2)]

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        layers: list[nn.Module] = [ConvBNAct(3, 32, 3, 2),  # 224 → 112
                                   ConvBNAct(32, 32, 3, 2), ConvBNAct(32, 32, 1),  # → 56
                                   ConvBNAct(32, 96, 3, 2), ConvBNAct(96, 64, 1)]  # → 28
        channels = 64
        for start, mid, stride, expand, width, repeats in self.uib_setting:
            for i in range(repeats):
                layers.append(UniversalInvertedBottleneck(channels, width, stride if i == 0 else 1,
                                                          start_kernel=start, mid_kernel=mid,
                                                          expand_ratio=expand))
                channels = width
        layers.append(ConvBNAct(channels, 960, 1))
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), ConvBNAct(960, 1280, 1), nn.Flatten(),
                                  nn.Linear(1280, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def mobilenetv4_conv_small(num_classes: int = 1000) -> MobileNetV4ConvSmall:
    return MobileNetV4ConvSmall(num_classes)


class ConvNeXt(nn.Module):
    """ConvNeXt (Liu et al. 2022, Sec. 2, Fig. 2): a 4×4 stride-4 "patchify" conv with LayerNorm, four stages of
    ``ConvNeXtBlock``s separated by LayerNorm + 2×2 stride-2 convs, then global pooling, LayerNorm and a classifier."""

    def __init__(self, depths: tuple[int, ...], widths: tuple[int, ...], num_classes: int = 1000):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, widths[0], 4, 4), LayerNorm2d(widths[0], eps=1e-6)]
        for stage, (depth, width) in enumerate(zip(depths, widths)):
            if stage:
                layers += [LayerNorm2d(widths[stage - 1], eps=1e-6), nn.Conv2d(widths[stage - 1], width, 2, 2)]
            layers.extend(ConvNeXtBlock(width) for _ in range(depth))
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.LayerNorm(widths[-1], eps=1e-6),
                                  nn.Linear(widths[-1], num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def convnext_tiny(num_classes: int = 1000) -> ConvNeXt:
    """ConvNeXt-T: 3, 3, 9, 3 blocks of 96, 192, 384, 768 channels (Sec. 2.6)."""
    return ConvNeXt((3, 3, 9, 3), (96, 192, 384, 768), num_classes)


REFERENCE_MODELS = {
    "MobileNetV1 1.0": mobilenet_v1, "MobileNetV2 1.0": mobilenet_v2, "ShuffleNet v1 g=3": shufflenet_v1,
    "ShuffleNetV2 1.0": shufflenet_v2, "ResNet-18": resnet18, "ResNet-50": resnet50,
}

# What the papers print (MACs in millions at 224×224, params in millions), for side-by-side tables only
# (effedu.profiling.zoo puts them beside the counted and measured numbers).
PUBLISHED = {
    "MobileNetV1 1.0": (569, 4.2, "Howard et al. 2017, Table 6"),
    "MobileNetV2 1.0": (300, 3.4, "Sandler et al. 2018, Table 4"),
    "ShuffleNet v1 g=3": (137, 1.9, "Zhang et al. 2018, Table 1; params as counted"),  # Table 2's "1×" row: 140
    "ShuffleNetV2 1.0": (146, 2.3, "Ma et al. 2018, Table 5"),
    "ResNet-18": (1814, 11.7, "torchvision"),
    "ResNet-50": (4089, 25.6, "torchvision"),
}

# After the essay (lesson 11), deploy forms where training and inference differ: MACs in millions at 224×224,
# params in millions, as the papers print them — each checked against the paper text in the course's research
# note ([V]: read there) or only from the authors' README ([R]). effedu's counts equal timm 1.0's implementations,
# and each rounds to the paper's figure (tests/test_models.py): no paper and timm disagreed on these five; where
# a table is silent (MobileNetV4's BatchNorm placement, ConvNeXt's LayerNorm eps) effedu follows timm, the
# implementation the papers' authors released or endorsed.
RECENT_MODELS = {
    "RepVGG-A0": lambda: repvgg_a0(deploy=True), "MobileOne-S0": lambda: mobileone_s0(deploy=True),
    "FasterNet-T0": fasternet_t0, "MobileNetV4-Conv-S": mobilenetv4_conv_small, "ConvNeXt-T": convnext_tiny,
}
PUBLISHED.update({
    "RepVGG-A0": (1400, 8.30, "Ding et al. 2021, Table 4 (1.4 G, 8.30 M) [R]"),
    "MobileOne-S0": (275, 2.1, "Vasu et al. 2022, Table 7 (275 M, 2.1 M) [R]"),
    "FasterNet-T0": (340, 3.9, "Chen et al. 2023, Table 3 (0.34 G) [V], params [R]"),
    "MobileNetV4-Conv-S": (200, 3.8, "Qin et al. 2024, Table 6 (0.2 G, 3.8 M) [V]"),
    "ConvNeXt-T": (4500, 29, "Liu et al. 2022, Table 1 (4.5 G, 29 M) [V]"),
})
# What the papers time: RepVGG-A0 33 % faster than ResNet-18 on a 1080Ti at batch 128 (Sec. 4.1) [V]; MobileOne-S0
# 0.79 ms on an iPhone 12 (Core ML) [R]; FasterNet-T0 9.2 ms on one i9-9900X thread (Table 3) [V]; MobileNetV4-Conv-S
# 2.4 ms on a Pixel 6 CPU (Table 6) [V]; ConvNeXt-T 774.7 images/s on a V100 (Table 1) [V].
RECENT_PAPER_SPEED = {"RepVGG-A0 vs ResNet-18": (1 / 1.33, "a 1080Ti GPU, batch 128 (Ding et al. 2021, Sec. 4.1)")}

# ShuffleNet v1's benefit side (Zhang et al. 2018), for the lesson that measures the cost side here: top-1 error
# (%) on ImageNet at equal complexity, and its Sec. 4.5 rule of thumb for speed on an ARM phone.
SHUFFLENET_V1_PAPER = {
    "error by groups, 0.25× (Table 2)": {1: 57.1, 8: 52.7},  # more groups, lower error at ~13 MFLOPs
    "error with and without shuffle, 1× g=8 (Table 3)": {"without shuffle": 37.6, "with shuffle": 32.4},
    "actual speed-up per 4× fewer MACs (Sec. 4.5)": 2.6,  # "g = 3 … a proper trade-off between accuracy and speed"
    "MFLOPs and ms, g=3 at 224×224, one thread of an ARM phone (Table 8)": {"0.5×": (38, 15.2), "1×": (140, 37.8)},
}
# The same Table 8 pair keyed as lesson 03 names its rows, (MACs, ms), for verdict.scaling_exponent.
SHUFFLENET_V1_TABLE8 = {"ShuffleNet 1× g=3": (140e6, 37.8), "ShuffleNet 0.5× g=3": (38e6, 15.2)}

# FaceBoxes' own speed at VGA (Zhang et al. 2017, Sec. 4.1): compare a measurement only with the same kind of device.
FACEBOXES_PAPER_FPS = {"cpu": (20, "one core of an Intel E5-2660v3 CPU"), "cuda": (125, "an NVIDIA Titan X GPU")}
