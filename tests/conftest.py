import pytest
import torch
from torch import nn


class AddModule(nn.Module):
    """x + y: zero MACs, yet it reads two tensors and writes one."""

    def forward(self, x):
        y = x * 1.0  # an independent tensor: x + x would read x only once
        return x + y


class ChannelShuffleModule(nn.Module):
    def __init__(self, groups: int = 2):
        super().__init__()
        self.groups = groups

    def forward(self, x):
        n, c, h, w = x.shape
        return x.view(n, self.groups, c // self.groups, h, w).transpose(1, 2).contiguous().view(n, c, h, w)


class Raising(nn.Module):
    """Runs a conv, then raises: profilers must still clean up."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.bn = nn.BatchNorm2d(8)

    def forward(self, x):
        self.bn(self.conv(x))
        raise KeyError("boom")


def small_cnn() -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))


@pytest.fixture
def rng():
    return torch.Generator().manual_seed(1234)
