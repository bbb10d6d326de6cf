"""Building blocks of efficient CNNs, one small ``nn.Module`` each, built from ``ConvBNAct`` (``LowRankConv`` uses
raw convs: its factors carry no BatchNorm of their own).

Conventions (as torchvision's ``ops/misc.py``): ``in_channels, out_channels, stride`` positionally, options as
keywords; sub-modules named by role (``pw``, ``dw``, ``pw_linear``, ``shortcut``); ``nn.Identity()`` where a
part is switched off, so ``print(block)`` shows the truth. Costs below are for one image: H'·W' is the
output's spatial size, BatchNorm adds 2·C parameters per normalised layer (its running statistics are buffers,
not parameters). ``tests/test_blocks.py`` checks every formula against ``count_macs`` / ``count_params``.
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn

from ._runtime import positive_int

Activation = Callable[..., nn.Module] | None


def _positive(**values: int) -> None:
    for name, value in values.items():
        positive_int(value, name)


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round channels to a multiple of ``divisor``, never more than 10 % down (MobileNetV2 / torchvision)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def _divides(groups: int, groups_name: str, **channels: int) -> None:
    for name, value in channels.items():
        if value % groups:
            raise ValueError(f"{groups_name} ({groups}) must divide {name} ({value})")


def _stride(stride: int, allowed: Sequence[int] = (1, 2)) -> None:
    if stride not in allowed:
        raise ValueError(f"stride must be one of {tuple(allowed)} for this block, got {stride!r}")


class ConvBNAct(nn.Sequential):
    """Conv → BatchNorm → activation, the unit every other block is made of (torchvision's Conv2dNormActivation).

    MACs = H'·W'·C_out·(C_in/g)·k_h·k_w.  Params = C_out·(C_in/g)·k_h·k_w + 2·C_out (BN; no conv bias).
    ``act=None`` leaves the activation out (a linear layer, as MobileNetV2's projection).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int] = 3,
                 stride: int | tuple[int, int] = 1, *, groups: int = 1, act: Activation = nn.ReLU):
        _positive(in_channels=in_channels, out_channels=out_channels, groups=groups)
        _divides(groups, "groups", in_channels=in_channels, out_channels=out_channels)
        kernel = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
        _positive(kernel_size=kernel[0], kernel_width=kernel[1])
        # odd kernels keep the map's centre ("same" padding); even ones (a 4×4 stride-4 patchify, a 2×2 stride-2
        # merge) tile it without overlap and need none
        padding = tuple(k // 2 if k % 2 else 0 for k in kernel)
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel, stride, padding, groups=groups, bias=False),
            nn.BatchNorm2d(out_channels),
            act(inplace=True) if act in (nn.ReLU, nn.ReLU6) else (act() if act else nn.Identity()),
        )


class DepthwiseSeparable(nn.Module):
    """Depthwise k×k conv, then pointwise 1×1 conv (MobileNetV1, Howard et al. 2017, Sec. 3.1, Fig. 3).

    MACs = H'·W'·C_in·(k² + C_out) — the standard conv's H'·W'·C_in·k²·C_out times 1/C_out + 1/k² (Eq. 5).
    Params = C_in·k² + C_in·C_out + 2·C_in + 2·C_out.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, *, kernel_size: int = 3):
        super().__init__()
        _stride(stride)
        self.dw = ConvBNAct(in_channels, in_channels, kernel_size, stride, groups=in_channels)
        self.pw = ConvBNAct(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pw(self.dw(x))


class FactorizedConv(nn.Module):
    """A k×k conv replaced by k×1 then 1×k (Inception v3, Szegedy et al. 2016, Sec. 3.2, Fig. 3).

    MACs = H·W·k·C_out·(C_in + C_out) — for C_in = C_out that is 2k/k² of the k×k conv (3×3: 6/9).
    Params = k·C_out·(C_in + C_out) + 4·C_out. Stride 1 only.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, *, kernel_size: int = 3):
        super().__init__()
        _stride(stride, (1,))
        self.vertical = ConvBNAct(in_channels, out_channels, (kernel_size, 1))
        self.horizontal = ConvBNAct(out_channels, out_channels, (1, kernel_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.horizontal(self.vertical(x))


class LowRankConv(nn.Module):
    """A k×k conv whose filter bank W (C_out × C_in·k²) is factorised as U·V of rank r: a k×k conv to r
    channels, then a 1×1 conv to C_out (Denton et al. 2014; Zhang et al. 2016, "Accelerating very deep CNNs").

    MACs = H'·W'·r·(C_in·k² + C_out), against H'·W'·C_out·C_in·k² for the full conv.
    Params = r·(C_in·k² + C_out) (+ C_out for a bias). ``LowRankConv.from_conv`` fills it from a trained
    conv by truncated SVD, the best rank-r approximation in the Frobenius norm (Eckart–Young).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, *, kernel_size: int = 3,
                 rank: int = 8, bias: bool = False):
        super().__init__()
        _positive(in_channels=in_channels, out_channels=out_channels, kernel_size=kernel_size, rank=rank)
        _stride(stride)
        self.spatial = nn.Conv2d(in_channels, rank, kernel_size, stride, kernel_size // 2, bias=False)  # V
        self.combine = nn.Conv2d(rank, out_channels, 1, bias=bias)  # U

    @classmethod
    def from_conv(cls, conv: nn.Conv2d, rank: int) -> "LowRankConv":
        """The rank-``rank`` truncated SVD of ``conv``'s filters (stride, padding k//2, groups=1 convs only)."""
        if conv.groups != 1 or conv.kernel_size[0] != conv.kernel_size[1]:
            raise ValueError("conv must be a square, ungrouped conv to be factorised")
        out_channels, in_channels, k, _ = conv.weight.shape
        if rank > min(out_channels, in_channels * k * k):
            raise ValueError(f"rank must be at most min(C_out, C_in·k²) = {min(out_channels, in_channels * k * k)}, "
                             f"got {rank}")
        low = cls(in_channels, out_channels, conv.stride[0], kernel_size=k, rank=rank, bias=conv.bias is not None)
        u, s, vh = torch.linalg.svd(conv.weight.detach().reshape(out_channels, -1), full_matrices=False)
        root = s[:rank].sqrt()  # split the singular values evenly between the two factors
        with torch.no_grad():
            low.spatial.weight.copy_((root[:, None] * vh[:rank]).reshape(rank, in_channels, k, k))
            low.combine.weight.copy_((u[:, :rank] * root).reshape(out_channels, rank, 1, 1))
            if conv.bias is not None:
                low.combine.bias.copy_(conv.bias)
        return low

    @staticmethod
    def rank_for_energy(conv: nn.Conv2d, energy: float = 0.9) -> int:
        """The smallest rank whose truncated SVD keeps ``energy`` of ``conv``'s ‖W‖² (the squared singular values
        summed): how compressible its filter bank is."""
        values = torch.linalg.svdvals(conv.weight.detach().reshape(conv.weight.shape[0], -1)) ** 2
        kept = torch.cumsum(values, 0) / values.sum()
        return min(int(torch.searchsorted(kept, torch.tensor(energy)).item()) + 1, len(values))

    def relative_error(self, conv: nn.Conv2d) -> float:
        """‖W − U·V‖ / ‖W‖ (Frobenius norms): how much of ``conv``'s filter bank this factorization misses."""
        weight = conv.weight.detach()
        return float((self.full_weight().detach() - weight).norm() / weight.norm())

    def full_weight(self) -> torch.Tensor:
        """The C_out × C_in × k × k filter bank this factorization stands for (U·V)."""
        rank, in_channels, k, _ = self.spatial.weight.shape
        product = self.combine.weight.flatten(1) @ self.spatial.weight.flatten(1)  # (C_out, C_in·k²)
        return product.reshape(-1, in_channels, k, k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.combine(self.spatial(x))


class PointwiseGroupConv(ConvBNAct):
    """1×1 conv in g groups (ShuffleNet, Zhang et al. 2018, Sec. 3.1): each output sees C_in/g inputs.

    MACs = H·W·C_in·C_out/g.  Params = C_in·C_out/g + 2·C_out.
    """

    def __init__(self, in_channels: int, out_channels: int, *, groups: int = 1, act: Activation = nn.ReLU):
        super().__init__(in_channels, out_channels, 1, groups=groups, act=act)


class ChannelShuffle(nn.Module):
    """Interleave the channels of g groups: view (g, C/g) → transpose → flatten (ShuffleNet, Sec. 3.1, Fig. 1).

    0 MACs, 0 params — but the transpose makes the tensor non-contiguous, so the final reshape is one full
    copy: 2·N·C·H·W·4 bytes of memory traffic in float32.
    """

    def __init__(self, groups: int):
        super().__init__()
        _positive(groups=groups)
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        _divides(self.groups, "groups", channels=c)
        return x.view(n, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class ShuffleNetV1Unit(nn.Module):
    """ShuffleNet unit (Zhang et al. 2018, Fig. 2 b/c): 1×1 group conv → shuffle → 3×3 depthwise → 1×1 group
    conv, added to the input (stride 1) or concatenated with a 3×3 average pool of it (stride 2).

    With m = C_out/4 bottleneck channels and b = C_out − C_in (stride 2) or C_out (stride 1) branch outputs:
    MACs = H·W·C_in·m/g₁ + H'·W'·(9·m + m·b/g), with g₁ = 1 for the first unit of stage 2, else g.
    Params = C_in·m/g₁ + 9·m + m·b/g + 2·(2m + b).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, *, groups: int = 3,
                 first_groups: int | None = None):
        super().__init__()
        _stride(stride)
        _positive(in_channels=in_channels, out_channels=out_channels, groups=groups)
        if stride == 1 and in_channels != out_channels:
            raise ValueError(f"a stride-1 unit adds its input: in_channels ({in_channels}) must equal "
                             f"out_channels ({out_channels})")
        branch_out = out_channels - in_channels if stride == 2 else out_channels
        if branch_out < 1:
            raise ValueError(f"a stride-2 unit concatenates: out_channels ({out_channels}) must exceed "
                             f"in_channels ({in_channels})")
        mid = out_channels // 4
        first_groups = groups if first_groups is None else first_groups
        self.stride = stride
        self.pw = PointwiseGroupConv(in_channels, mid, groups=first_groups)
        self.shuffle = ChannelShuffle(first_groups)
        self.dw = ConvBNAct(mid, mid, 3, stride, groups=mid, act=None)
        self.pw_linear = PointwiseGroupConv(mid, branch_out, groups=groups, act=None)
        self.shortcut = nn.AvgPool2d(3, 2, 1) if stride == 2 else nn.Identity()
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.pw_linear(self.dw(self.shuffle(self.pw(x))))
        if self.stride == 2:
            return self.relu(torch.cat([self.shortcut(x), out], 1))  # C_in + (C_out − C_in) channels
        return self.relu(x + out)


class ShuffleNetV2Unit(nn.Module):
    """ShuffleNetV2 unit (Ma et al. 2018, Fig. 3 c/d; torchvision's ``InvertedResidual``).

    Basic (stride 1): split C in half; one half passes, the other runs 1×1 → 3×3 dw → 1×1 (b = C/2 each);
    concat, shuffle. MACs = H·W·(2b² + 9b). Params = 2b² + 9b + 6b.
    Down-sampling (stride 2), b = C_out/2: left 3×3 dw (s2) → 1×1 (C_in→b); right 1×1 (C_in→b) → 3×3 dw (s2)
    → 1×1 (b→b). MACs = H'·W'·(9·C_in + C_in·b + 9b + b²) + H·W·C_in·b.
    Params = 9·C_in + 2·C_in + C_in·b + 2b + C_in·b + 2b + 9b + 2b + b² + 2b.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        _stride(stride)
        _positive(in_channels=in_channels, out_channels=out_channels)
        if out_channels % 2:
            raise ValueError(f"out_channels must be even (the unit splits channels in two), got {out_channels}")
        if stride == 1 and in_channels != out_channels:
            raise ValueError(f"a basic (stride-1) unit keeps its width: in_channels ({in_channels}) must equal "
                             f"out_channels ({out_channels})")
        branch = out_channels // 2
        self.stride = stride
        if stride == 2:
            self.left = nn.Sequential(ConvBNAct(in_channels, in_channels, 3, 2, groups=in_channels, act=None),
                                      ConvBNAct(in_channels, branch, 1))
        else:
            self.left = nn.Identity()
        right_in = in_channels if stride == 2 else branch
        self.right = nn.Sequential(ConvBNAct(right_in, branch, 1),
                                   ConvBNAct(branch, branch, 3, stride, groups=branch, act=None),
                                   ConvBNAct(branch, branch, 1))
        self.shuffle = ChannelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            passed, x = x.chunk(2, dim=1)  # channel split: a view, no copy
            out = torch.cat([passed, self.right(x)], 1)
        else:
            out = torch.cat([self.left(x), self.right(x)], 1)
        return self.shuffle(out)


class InvertedResidual(nn.Module):
    """MobileNetV2 inverted residual with linear bottleneck (Sandler et al. 2018, Table 1, Fig. 4).

    1×1 expand to t·C_in (ReLU6) → 3×3 depthwise (ReLU6) → 1×1 linear projection; the input is added when
    stride = 1 and C_in = C_out. With e = t·C_in (no expansion layer when t = 1):
    MACs = H·W·C_in·e·[t≠1] + H'·W'·(9e + e·C_out).  Params = C_in·e·[t≠1] + 9e + e·C_out + 2e·(1 + [t≠1]) + 2·C_out.
    ``kernel_size`` k replaces the 9 (= 3²) by k² (MnasNet searches k ∈ {3, 5}).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, *, expand_ratio: int = 6,
                 kernel_size: int = 3):
        super().__init__()
        _stride(stride)
        _positive(in_channels=in_channels, out_channels=out_channels, expand_ratio=expand_ratio)
        hidden = in_channels * expand_ratio
        self.use_residual = stride == 1 and in_channels == out_channels
        self.pw = ConvBNAct(in_channels, hidden, 1, act=nn.ReLU6) if expand_ratio != 1 else nn.Identity()
        self.dw = ConvBNAct(hidden, hidden, kernel_size, stride, groups=hidden, act=nn.ReLU6)
        self.pw_linear = ConvBNAct(hidden, out_channels, 1, act=None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.pw_linear(self.dw(self.pw(x)))
        return x + out if self.use_residual else out


def _projection(in_channels: int, out_channels: int, stride: int) -> nn.Module:
    """ResNet's shortcut: identity, or a 1×1 conv + BN where the shape changes (option B, He et al. 2016)."""
    if stride == 1 and in_channels == out_channels:
        return nn.Identity()
    return ConvBNAct(in_channels, out_channels, 1, stride, act=None)


class BasicBlock(nn.Module):
    """ResNet basic block: two 3×3 convs + shortcut (He et al. 2016, Fig. 5 left).

    MACs = H'·W'·9·C_out·(C_in + C_out) [+ H'·W'·C_in·C_out for a projection shortcut].
    Params = 9·C_out·(C_in + C_out) + 4·C_out [+ C_in·C_out + 2·C_out].
    ``relu=False`` / ``shortcut=False`` switch the ReLUs / the shortcut add off (ShuffleNetV2's G4).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, *, relu: bool = True,
                 shortcut: bool = True):
        super().__init__()
        _stride(stride)
        act = nn.ReLU if relu else None
        self.conv1 = ConvBNAct(in_channels, out_channels, 3, stride, act=act)
        self.conv2 = ConvBNAct(out_channels, out_channels, 3, act=None)
        self.shortcut = _projection(in_channels, out_channels, stride) if shortcut else None
        self.relu = nn.ReLU(inplace=True) if relu else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(self.conv1(x))
        if self.shortcut is not None:
            out = out + self.shortcut(x)
        return self.relu(out)


class Bottleneck(nn.Module):
    """ResNet bottleneck: 1×1 reduce → 3×3 (stride here: torchvision's "ResNet V1.5") → 1×1 expand + shortcut
    (He et al. 2016, Fig. 5 right). With m mid channels (default C_out/4) in g groups:
    MACs = H·W·C_in·m + H'·W'·(9·m²/g + m·C_out) [+ H'·W'·C_in·C_out for a projection shortcut].
    Params = C_in·m + 9·m²/g + m·C_out + 4m + 2·C_out [+ C_in·C_out + 2·C_out].
    ``relu=False`` / ``shortcut=False`` switch the ReLUs / the shortcut add off (ShuffleNetV2's G4).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, *, mid_channels: int | None = None,
                 groups: int = 1, relu: bool = True, shortcut: bool = True):
        super().__init__()
        _stride(stride)
        _positive(out_channels=out_channels)
        mid = out_channels // 4 if mid_channels is None else mid_channels
        act = nn.ReLU if relu else None
        self.reduce = ConvBNAct(in_channels, mid, 1, act=act)
        self.conv = ConvBNAct(mid, mid, 3, stride, groups=groups, act=act)
        self.expand = ConvBNAct(mid, out_channels, 1, act=None)
        self.shortcut = _projection(in_channels, out_channels, stride) if shortcut else None
        self.relu = nn.ReLU(inplace=True) if relu else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.expand(self.conv(self.reduce(x)))
        if self.shortcut is not None:
            out = out + self.shortcut(x)
        return self.relu(out)


class ResNeXtUnit(Bottleneck):
    """ResNeXt unit (Xie et al. 2017, Fig. 3c): a bottleneck whose 3×3 conv has ``cardinality`` groups and
    m = C_out/2 mid channels — ResNeXt-50 32×4d: 256 → 1×1 128 → 3×3 g=32 128 → 1×1 256.
    MACs and params as ``Bottleneck`` with g = cardinality. The pointwise convs hold
    2·C·m / (2·C·m + 9·m²/g) of the MACs: 128/137 = 93.43 % here (ShuffleNet, Sec. 3.1).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, *, cardinality: int = 32,
                 mid_channels: int | None = None, relu: bool = True, shortcut: bool = True):
        mid = out_channels // 2 if mid_channels is None else mid_channels
        super().__init__(in_channels, out_channels, stride, mid_channels=mid, groups=cardinality, relu=relu,
                         shortcut=shortcut)


class CReLU(nn.Module):
    """Concatenated ReLU: [ReLU(x), ReLU(−x)] (Shang et al. 2016; FaceBoxes' RDCL, Zhang et al. 2017).

    Early filters come in opposite-phase pairs, so the conv computes half of them and negation makes the rest:
    C output channels cost the MACs of C/2. 0 MACs, 0 params here; one copy (the cat).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(torch.cat([x, -x], 1))


class RDCL(nn.Module):
    """FaceBoxes' Rapidly Digested Convolutional Layers (Zhang et al. 2017, Sec. 3.1, Fig. 1): stride 32 in
    four layers — conv 7×7 s4 (24 filters, C.ReLU → 48), max-pool 3×3 s2, conv 5×5 s2 (64, C.ReLU → 128),
    max-pool 3×3 s2. MACs = (H/4)(W/4)·24·C_in·49 + (H/16)(W/16)·64·48·25.
    Params = 24·49·C_in + 2·24 + 64·48·25 + 2·64. ``crelu=False`` computes the same output widths with plain
    convs + ReLU, to measure what C.ReLU saves.
    """

    def __init__(self, in_channels: int = 3, *, widths: tuple[int, int] = (24, 64),
                 kernels: tuple[int, int] = (7, 5), strides: tuple[int, int] = (4, 2), crelu: bool = True):
        super().__init__()
        # crelu=False: the convs compute all 2·width channels themselves, then a plain ReLU — twice the MACs
        conv_widths = widths if crelu else (2 * widths[0], 2 * widths[1])
        self.conv1 = ConvBNAct(in_channels, conv_widths[0], kernels[0], strides[0], act=None)
        self.crelu1 = CReLU() if crelu else nn.ReLU(inplace=True)
        self.pool1 = nn.MaxPool2d(3, 2, 1)
        self.conv2 = ConvBNAct(2 * widths[0], conv_widths[1], kernels[1], strides[1], act=None)
        self.crelu2 = CReLU() if crelu else nn.ReLU(inplace=True)
        self.pool2 = nn.MaxPool2d(3, 2, 1)
        self.out_channels = 2 * widths[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(self.crelu1(self.conv1(x)))  # (N, 48, H/8, W/8)
        return self.pool2(self.crelu2(self.conv2(x)))  # (N, 128, H/32, W/32)


class FaceBoxesInception(nn.Module):
    """FaceBoxes' Inception module (Zhang et al. 2017, Fig. 2): four 32-channel branches, concatenated —
    1×1 | 3×3 max-pool → 1×1 | 1×1 (24) → 3×3 | 1×1 (24) → 3×3 → 3×3. With C_in = C, per position:
    MACs = 32·C + 32·C + (24·C + 9·24·32) + (24·C + 9·24·32 + 9·32·32).
    """

    def __init__(self, in_channels: int = 128):
        super().__init__()
        self.branch1 = ConvBNAct(in_channels, 32, 1)
        self.branch_pool = nn.Sequential(nn.MaxPool2d(3, 1, 1), ConvBNAct(in_channels, 32, 1))
        self.branch3 = nn.Sequential(ConvBNAct(in_channels, 24, 1), ConvBNAct(24, 32, 3))
        self.branch33 = nn.Sequential(ConvBNAct(in_channels, 24, 1), ConvBNAct(24, 32, 3), ConvBNAct(32, 32, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch_pool(x), self.branch3(x), self.branch33(x)], 1)


# --- after the essay (lesson 11): branches at training time, plain convs at inference; FLOPS, not FLOPs --------

def _fold(branch: ConvBNAct) -> tuple[torch.Tensor, torch.Tensor]:
    """(kernel, bias) of a conv followed by its eval-mode BatchNorm: W·γ/σ and β − μ·γ/σ, σ = √(var + ε)."""
    conv, norm = branch[0], branch[1]
    scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
    return conv.weight * scale.reshape(-1, 1, 1, 1), norm.bias - norm.running_mean * scale


def _fold_identity(norm: nn.BatchNorm2d, groups: int, kernel_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The identity branch (a BatchNorm of the input) as a k×k kernel: a 1 in the centre of each channel's own
    input, then the BatchNorm folded in."""
    channels = norm.num_features
    kernel = torch.zeros(channels, channels // groups, kernel_size, kernel_size, dtype=norm.weight.dtype,
                         device=norm.weight.device)
    kernel[torch.arange(channels), torch.arange(channels) % (channels // groups), kernel_size // 2,
           kernel_size // 2] = 1
    scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
    return kernel * scale.reshape(-1, 1, 1, 1), norm.bias - norm.running_mean * scale


def _fused_conv(template: nn.Conv2d, kernel: torch.Tensor, bias: torch.Tensor) -> nn.Sequential:
    """One conv with ``template``'s shape (and a bias) holding ``kernel`` and ``bias``, then ReLU."""
    conv = nn.Conv2d(template.in_channels, template.out_channels, template.kernel_size, template.stride,
                     template.padding, groups=template.groups, bias=True, dtype=kernel.dtype, device=kernel.device)
    with torch.no_grad():
        conv.weight.copy_(kernel)
        conv.bias.copy_(bias)
    return nn.Sequential(conv, nn.ReLU(inplace=True))


class RepVGGBlock(nn.Module):
    """RepVGG's training-time block (Ding et al. 2021, Sec. 3.3, Fig. 4): a 3×3 conv-BN, a 1×1 conv-BN and — where
    C_in = C_out and stride 1 — a BatchNorm of the input, added, then ReLU. ``reparameterized()`` is the one 3×3
    conv (with bias) + ReLU that computes the same function in inference: each branch's BN folded into its kernel,
    the 1×1 kernel zero-padded to 3×3, the identity written as a 3×3 kernel with a 1 in the centre, all added.

    Train: MACs = H'·W'·C_out·(C_in/g)·(9 + 1); Params = 10·C_out·C_in/g + 4·C_out (+ 2·C_in with the identity).
    Deploy: MACs = 9·H'·W'·C_out·C_in/g; Params = 9·C_out·C_in/g + C_out.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, *, groups: int = 1):
        super().__init__()
        _stride(stride)
        self.dense = ConvBNAct(in_channels, out_channels, 3, stride, groups=groups, act=None)
        self.pointwise = ConvBNAct(in_channels, out_channels, 1, stride, groups=groups, act=None)
        self.identity = nn.BatchNorm2d(in_channels) if in_channels == out_channels and stride == 1 else None
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.dense(x) + self.pointwise(x)  # the three branches run separately: three reads of x
        if self.identity is not None:
            out = out + self.identity(x)
        return self.relu(out)

    def reparameterized(self) -> nn.Sequential:
        """The deploy form: conv 3×3 (bias) → ReLU, equal to this block in eval mode to float rounding."""
        kernel, bias = _fold(self.dense)
        small, small_bias = _fold(self.pointwise)
        kernel, bias = kernel + nn.functional.pad(small, [1, 1, 1, 1]), bias + small_bias
        if self.identity is not None:
            same, same_bias = _fold_identity(self.identity, self.dense[0].groups, 3)
            kernel, bias = kernel + same, bias + same_bias
        return _fused_conv(self.dense[0], kernel, bias)


class MobileOneBlock(nn.Module):
    """MobileOne's training-time block (Vasu et al. 2022, Sec. 3.2, Fig. 3): ``branches`` parallel k×k conv-BNs
    (over-parameterisation), a 1×1 conv-BN "scale" branch where k > 1, and a BatchNorm of the input where C_in = C_out
    and stride 1 — added, then ReLU. MobileOne's stages alternate a depthwise 3×3 block (``groups=C_in``) and a
    pointwise 1×1 block. ``reparameterized()`` sums all branches into one k×k conv (with bias) + ReLU.

    Train: MACs = H'·W'·C_out·(C_in/g)·(branches·k² + [k > 1]); deploy: H'·W'·C_out·(C_in/g)·k².
    Params train = C_out·(C_in/g)·(branches·k² + [k > 1]) + 2·C_out·(branches + [k > 1]) (+ 2·C_in identity);
    deploy = C_out·(C_in/g)·k² + C_out.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, *, kernel_size: int = 3,
                 groups: int = 1, branches: int = 1):
        super().__init__()
        _stride(stride)
        _positive(branches=branches)
        self.kernels = nn.ModuleList(ConvBNAct(in_channels, out_channels, kernel_size, stride, groups=groups,
                                               act=None) for _ in range(branches))
        self.scale = ConvBNAct(in_channels, out_channels, 1, stride, groups=groups, act=None) \
            if kernel_size > 1 else None
        self.identity = nn.BatchNorm2d(in_channels) if in_channels == out_channels and stride == 1 else None
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = sum(branch(x) for branch in self.kernels)
        if self.scale is not None:
            out = out + self.scale(x)
        if self.identity is not None:
            out = out + self.identity(x)
        return self.relu(out)

    def reparameterized(self) -> nn.Sequential:
        """The deploy form: one k×k conv (bias) → ReLU, equal to this block in eval mode to float rounding."""
        template = self.kernels[0][0]
        folded = [_fold(branch) for branch in self.kernels]
        kernel, bias = sum(k for k, _ in folded), sum(b for _, b in folded)
        pad = template.kernel_size[0] // 2
        if self.scale is not None:
            small, small_bias = _fold(self.scale)
            kernel, bias = kernel + nn.functional.pad(small, [pad] * 4), bias + small_bias
        if self.identity is not None:
            same, same_bias = _fold_identity(self.identity, template.groups, template.kernel_size[0])
            kernel, bias = kernel + same, bias + same_bias
        return _fused_conv(template, kernel, bias)


def fuse_branches(model: nn.Module) -> nn.Module:
    """Replace, in place, every block of ``model`` that has a ``reparameterized()`` deploy form (``RepVGGBlock``,
    ``MobileOneBlock``) by that form; returns ``model`` (in eval mode: the fold uses the BatchNorms' running
    statistics). ``transforms.reparameterize`` does this on a copy and checks the outputs."""
    model.eval()
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if hasattr(child, "reparameterized"):
                setattr(module, name, child.reparameterized().eval())
    return model


class PartialConv(nn.Module):
    """FasterNet's partial convolution (Chen et al. 2023, Sec. 3.1, Fig. 4): a 3×3 conv on the first C/``ratio``
    channels; the rest pass untouched (split, conv, concatenate).

    MACs = 9·H·W·(C/r)² — 1/16 of a full 3×3 conv at r = 4; Params = 9·(C/r)². Memory access ≈ 2·H·W·C/r
    (FasterNet Eq. 3–5): far less than a full conv, more FLOPs per byte than a depthwise conv.
    """

    def __init__(self, channels: int, *, ratio: int = 4):
        super().__init__()
        _positive(channels=channels, ratio=ratio)
        _divides(ratio, "ratio", channels=channels)
        self.conv_channels = channels // ratio
        self.conv = nn.Conv2d(self.conv_channels, self.conv_channels, 3, 1, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        touched, untouched = x.split([self.conv_channels, x.shape[1] - self.conv_channels], dim=1)
        return torch.cat([self.conv(touched), untouched], 1)


class FasterNetBlock(nn.Module):
    """FasterNet block (Chen et al. 2023, Fig. 5): PConv 3×3 → 1×1 conv to 2C, BN, activation → 1×1 conv back to C,
    added to the input — a T-shaped receptive field at few FLOPs, and no depthwise conv.

    MACs = H·W·(9·(C/4)² + 4·C²); Params = 9·(C/4)² + 4·C² + 2·2C.
    """

    def __init__(self, channels: int, *, ratio: int = 4, expand: int = 2, act: Activation = nn.ReLU):
        super().__init__()
        self.spatial = PartialConv(channels, ratio=ratio)
        self.expand = ConvBNAct(channels, expand * channels, 1, act=act)
        self.project = nn.Conv2d(expand * channels, channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.project(self.expand(self.spatial(x)))


class UniversalInvertedBottleneck(nn.Module):
    """MobileNetV4's Universal Inverted Bottleneck (Qin et al. 2024, Sec. 4.1, Fig. 4): an inverted bottleneck
    with two optional depthwise convs — ``start_kernel`` before the expansion, ``mid_kernel`` between expansion and
    projection (0: absent). Four instantiations: IB (0, k) = MobileNetV2's block; ConvNeXt-like (k, 0); ExtraDW
    (k, k); FFN (0, 0). The input is added where C_in = C_out and stride 1. With e = make_divisible(t·C_in):
    MACs = H·W·C_in·(s² [start] + e) + H'·W'·(m²·e [mid] + e·C_out) (the stride sits on the mid conv, else on the
    start conv). Params = C_in·(s² + e) + m²·e + e·C_out + 2·(C_in [start] + e + e [mid] + C_out).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, *, start_kernel: int = 0,
                 mid_kernel: int = 3, expand_ratio: float = 4.0):
        super().__init__()
        _stride(stride)
        if stride > 1 and not (start_kernel or mid_kernel):
            raise ValueError("stride 2 needs a depthwise conv to carry it: start_kernel or mid_kernel must be > 0")
        hidden = make_divisible(in_channels * expand_ratio)
        self.use_residual = stride == 1 and in_channels == out_channels
        self.dw_start = ConvBNAct(in_channels, in_channels, start_kernel, 1 if mid_kernel else stride,
                                  groups=in_channels, act=None) if start_kernel else nn.Identity()
        self.pw = ConvBNAct(in_channels, hidden, 1)
        self.dw_mid = ConvBNAct(hidden, hidden, mid_kernel, stride, groups=hidden) if mid_kernel else nn.Identity()
        self.pw_linear = ConvBNAct(hidden, out_channels, 1, act=None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.pw_linear(self.dw_mid(self.pw(self.dw_start(x))))
        return x + out if self.use_residual else out


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an (N, C, H, W) tensor, as ConvNeXt uses it (Liu et al. 2022, Sec. 2.6)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class ConvNeXtBlock(nn.Module):
    """ConvNeXt block (Liu et al. 2022, Fig. 4): depthwise 7×7 (with bias) → LayerNorm → Linear to 4C → GELU →
    Linear back to C → layer scale γ → added to the input. The linear layers act on channels-last tensors, as in
    the authors' code (two 1×1 convs compute the same).

    MACs = H·W·C·(k² + 8C); Params = C·(k² + 1) + 2C + 8C² + 5C + C (layer scale).
    """

    def __init__(self, channels: int, *, kernel_size: int = 7, expand: int = 4, layer_scale: float = 1e-6):
        super().__init__()
        self.dw = nn.Conv2d(channels, channels, kernel_size, padding=kernel_size // 2, groups=channels)
        self.norm = nn.LayerNorm(channels, eps=1e-6)
        self.pw = nn.Linear(channels, expand * channels)
        self.act = nn.GELU()
        self.pw_linear = nn.Linear(expand * channels, channels)
        self.gamma = nn.Parameter(torch.full((channels,), layer_scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.dw(x).permute(0, 2, 3, 1)  # (N, H, W, C): the linear layers mix channels
        out = self.gamma * self.pw_linear(self.act(self.pw(self.norm(out))))
        return x + out.permute(0, 3, 1, 2)


class Classifier(nn.Sequential):
    """Global average pool → flatten → (dropout) → fully connected. MACs = Params − C_out = C_in·C_out."""

    def __init__(self, in_features: int, num_classes: int, dropout: float = 0.0):
        super().__init__(nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Dropout(dropout) if dropout else nn.Identity(), nn.Linear(in_features, num_classes))


def _plain(in_channels: int, out_channels: int, stride: int = 1, *, kernel_size: int = 3) -> nn.Module:
    return ConvBNAct(in_channels, out_channels, kernel_size, stride)


BLOCKS: dict[str, Callable[..., nn.Module]] = {  # name → block (in_channels, out_channels, stride, **options)
    "plain 3×3": _plain, "separable": DepthwiseSeparable, "bottleneck": Bottleneck,
    "inverted residual": InvertedResidual, "ShuffleNetV2 unit": ShuffleNetV2Unit,
}
BLOCK_OPTIONS = {  # which of kernel_size / expand_ratio each block has (the others are fixed)
    "plain 3×3": ("kernel_size",), "separable": ("kernel_size",), "bottleneck": (),
    "inverted residual": ("kernel_size", "expand_ratio"), "ShuffleNetV2 unit": (),
}


def make_block(name: str, in_channels: int, out_channels: int, stride: int = 1, **options: int) -> nn.Module:
    """The block registered as ``name`` in ``BLOCKS`` — the one registry the redesign lesson and the NAS search
    share. ``options`` (kernel_size, expand_ratio) a block does not have are ignored."""
    if name not in BLOCKS:
        raise ValueError(f"block must be one of {sorted(BLOCKS)}, got {name!r}")
    kept = {key: value for key, value in options.items() if key in BLOCK_OPTIONS[name]}
    return BLOCKS[name](in_channels, out_channels, stride, **kept)
