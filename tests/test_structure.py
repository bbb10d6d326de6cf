import pytest
from torch import nn

from effedu import blocks
from effedu.structure import connectivity, receptive_field, unread_pixels


def test_connectivity_of_grouped_and_shuffled_stacks():
    grouped = nn.Sequential(nn.Conv2d(12, 12, 1, groups=3), nn.BatchNorm2d(12), nn.ReLU(),
                            nn.Conv2d(12, 12, 1, groups=3))
    reach = connectivity(grouped, 12)
    assert reach.shape == (12, 12) and int(reach.sum()) == 3 * 4 * 4  # biases must not connect everything
    shuffled = nn.Sequential(nn.Conv2d(12, 12, 1, groups=3), blocks.ChannelShuffle(3), nn.Conv2d(12, 12, 1, groups=3))
    assert bool(connectivity(shuffled, 12).all())


def test_receptive_field_of_stems():
    assert receptive_field(blocks.RDCL()) == (79, 32)  # 1 + 6·1 + 2·4 + 4·8 + 2·16
    three = nn.Sequential(*[nn.Conv2d(3, 3, 3, stride=2, padding=1) for _ in range(5)])
    assert receptive_field(three) == (63, 32)
    assert receptive_field(nn.Conv2d(3, 3, 3, dilation=2)) == (5, 1)


def test_unread_pixels_when_the_kernel_is_smaller_than_the_stride():
    assert unread_pixels(nn.Conv2d(3, 8, 3, stride=4, padding=1), size=64) == pytest.approx(7 / 16, abs=0.03)  # edges
    assert unread_pixels(blocks.RDCL()) == 0.0  # 7×7 at stride 4 reads every pixel
    assert unread_pixels(nn.Conv2d(3, 8, 1, stride=2), size=64) == pytest.approx(3 / 4)
    with pytest.raises(ValueError, match="no Conv2d"):
        unread_pixels(nn.ReLU())
