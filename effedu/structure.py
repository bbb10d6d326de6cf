"""What a block's wiring allows, found from the block itself: which input channels can reach which outputs
(``connectivity``), how far one output position can see (``receptive_field``) and which input pixels a strided
stem never reads (``unread_pixels``)."""
from __future__ import annotations

import copy

import torch
from torch import nn


def connectivity(model: nn.Module, in_channels: int) -> torch.Tensor:
    """Boolean matrix [output channel, input channel]: can input channel i influence output channel o?
    Found structurally: every weight set to 1, a one-hot input per channel on a 1×1 image (so groups that never
    mix stay visibly apart)."""
    probe = copy.deepcopy(model).eval()
    with torch.no_grad():
        for name, parameter in probe.named_parameters():
            parameter.fill_(0.0 if name.endswith("bias") else 1.0)  # a bias would reach every channel
        eye = torch.eye(in_channels).view(in_channels, in_channels, 1, 1)
        reach = probe(eye).abs().flatten(2).sum(-1) > 0  # [input one-hot, output channel]
    return reach.T


def _first(value) -> int:
    return value if isinstance(value, int) else value[0]


def _spatial_layers(model: nn.Module) -> list[tuple[int, int, int, int]]:
    """(kernel, stride, dilation, padding) of each conv and pool, in registration order (height axis)."""
    return [(_first(m.kernel_size), _first(m.stride), _first(getattr(m, "dilation", 1)), _first(m.padding))
            for m in model.modules() if isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d))]


def receptive_field(model: nn.Module) -> tuple[int, int]:
    """(receptive field, total stride) of a chain of convs and pools, taken in the order they are registered —
    exact for sequential stems such as FaceBoxes' RDCL or a stack of 3×3 convs. Each layer adds
    (k − 1)·dilation × (the product of the strides before it)."""
    field, jump = 1, 1
    for kernel, stride, dilation, _ in _spatial_layers(model):
        field += (kernel - 1) * dilation * jump
        jump *= stride
    return field, jump


def unread_pixels(model: nn.Module, size: int = 64) -> float:
    """Fraction of the pixels of a ``size``×``size`` input that no output of the *first* conv or pool reads —
    positive when its kernel is smaller than its stride (a 3×3 conv with stride 4 never reads 7 of every 16
    pixels). Found by tracing which input positions each output window covers."""
    layers = _spatial_layers(model)
    if not layers:
        raise ValueError("model has no Conv2d or pooling layer")
    kernel, stride, dilation, padding = layers[0]
    read = torch.zeros(size, dtype=torch.bool)
    outputs = (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
    for o in range(max(outputs, 0)):
        for k in range(kernel):
            position = o * stride - padding + k * dilation
            if 0 <= position < size:
                read[position] = True
    covered = read.float().mean().item()
    return 1 - covered * covered  # rows and columns alike: a pixel is read iff its row and its column are
