"""ShuffleNetV2's G1–G4 micro-benchmarks: equal MACs, the memory traffic the paper's Eq. 1 predicts, the paper's
own numbers carried beside them."""
import pytest
import torch

import effedu
from effedu import guidelines as G


def test_g1_memory_traffic_numbers():
    hw = 56 * 56
    for (c1, c2), elements in zip(G.G1_SETTINGS, [819_200, None, None, 1_483_200]):
        per_conv = hw * (c1 + c2) + c1 * c2
        if elements is not None:
            assert per_conv == elements
        stack = G.g1_pointwise_stack(c1, c2)
        assert effedu.memory_traffic(stack, (1, c1, 56, 56)) == 10 * 2 * per_conv * 4
        assert effedu.count_macs(stack, (1, c1, 56, 56)) == pytest.approx(20 * hw * 128 * 128, rel=0.06)


@pytest.mark.parametrize("width_ratio,c1,c2", [(1, 128, 128), (2, 91, 181), (12, 37, 443)])
def test_g1_candidate_widths_and_shapes(width_ratio, c1, c2):
    stack, shape = G.g1_candidate(width_ratio, blocks=2)
    assert shape == (1, c1, 56, 56) and len(stack) == 4
    assert (stack[0].in_channels, stack[0].out_channels) == (c1, c2)
    assert effedu.count_macs(stack, shape) == pytest.approx(4 * 56 * 56 * 128 * 128, rel=0.03)
    with pytest.raises(ValueError, match="width_ratio"):
        G.g1_candidate(0)


def test_g2_memory_traffic_numbers_over_the_papers_ten_layers():
    for (g, c), elements in zip(G.G2_SETTINGS, [819_200, 1_145_160, 1_622_016, 2_274_120]):
        stack = G.g2_group_stack(g, c)
        assert len(stack) == 10
        assert effedu.memory_traffic(stack, (1, c, 56, 56)) == 10 * elements * 4
        assert effedu.count_macs(stack, (1, c, 56, 56)) == pytest.approx(10 * 56 * 56 * 128 * 128, rel=0.02)


def test_g3_fragments_at_equal_macs_and_equal_to_g2():
    reference = effedu.count_macs(*G.g2_candidate(1, layers=10))
    for fragments, parallel in G.G3_SETTINGS:
        stack, shape = G.g3_candidate(fragments, parallel)
        assert effedu.count_macs(stack, shape) == pytest.approx(reference, rel=0.03)
        assert len(stack[0].fragments) == fragments and stack.in_channels == shape[1]
    assert G.g3_label(1, True) == "1-fragment" and G.g3_label(4, True) == "4-fragment-parallel"


def test_g2_g3_candidates_carry_their_input_shapes():
    stack, shape = G.g2_candidate(8, layers=4)
    assert shape == (1, 360, 56, 56) and len(stack) == 4 and stack[0].groups == 8
    stack, shape = G.g3_candidate(2, parallel=False, blocks=1)
    assert shape == (1, 90, 56, 56)
    with pytest.raises(ValueError, match="groups must be one of"):
        G.g2_candidate(3)
    with pytest.raises(ValueError, match=r"groups \(3\) must divide channels \(128\)"):
        G.g2_group_stack(3, 128)
    with pytest.raises(ValueError, match="c1 must be a positive integer"):
        G.g1_pointwise_stack(0, 128)


def test_parallel_fragments_concatenate_a_copy():
    block = G.FragmentBlock(128, 4, parallel=True)
    cats = [r for r in effedu.record_ops(block, (1, 128, 8, 8)) if r.op.startswith("aten.cat")]
    assert len(cats) == 1 and cats[0].bytes == 2 * 128 * 64 * 4  # read four quarters, write the whole
    with torch.no_grad():
        assert block(torch.randn(1, 128, 8, 8)).shape == (1, 128, 8, 8)


def test_g4_stack_switches():
    on, off = G.g4_bottleneck_stack(64), G.g4_bottleneck_stack(64, relu=False, shortcut=False)
    assert effedu.count_macs(on, (1, 64, 14, 14)) == effedu.count_macs(off, (1, 64, 14, 14))
    assert effedu.memory_traffic(on, (1, 64, 14, 14)) > effedu.memory_traffic(off, (1, 64, 14, 14))


def test_paper_numbers_from_the_tables():
    assert G.PAPER_G2_SPEED["1080Ti GPU"][2] == pytest.approx(0.70, abs=0.01)
    assert G.PAPER_G2_SPEED["1080Ti GPU"][4] == pytest.approx(0.42, abs=0.01)
    assert G.PAPER_G2_SPEED["ARM Snapdragon 810"][2] == pytest.approx(0.875)
    assert set(G.PAPER_G3_SPEED["ARM Snapdragon 810"]) == set(G.G3_SETTINGS[1:])


def test_g1_equal_macs_widths_are_the_papers_ratios_within_a_twentieth_of_a_percent():
    hw = 56 * 56
    for (c1, c2), ratio in zip(G.G1_EQUAL_MACS, (1, 2, 6, 12)):
        assert round(c2 / c1) == ratio
        assert c1 * c2 == pytest.approx(128 * 128, rel=5e-4)
        stack = G.g1_pointwise_stack(c1, c2, blocks=1)
        assert effedu.count_macs(stack, (1, c1, 56, 56)) == pytest.approx(2 * hw * 128 * 128, rel=5e-4)
    assert effedu.memory_traffic(G.g1_pointwise_stack(37, 443, blocks=1)[0], (1, 37, 56, 56)) // 4 == \
        hw * (37 + 443) + 37 * 443


def test_g3_width_control_is_the_two_series_block_at_96_channels():
    stack, shape = G.g3_width_control()
    assert shape == (1, 96, 56, 56) and stack.in_channels == 96 and len(stack) == 10
    assert [c.out_channels for c in stack[0].fragments] == [96, 96]
    one, one_shape = G.g3_candidate(1, False)
    assert effedu.count_macs(stack, shape) / effedu.count_macs(one, one_shape) == pytest.approx(1.125)
    assert G.g3_candidate(2, False)[1][1] == 90  # the equal-MACs width it controls for


def test_paper_rooflines_put_g2s_stacks_where_review_r27_says():
    ridge = {device: p["peak_gflops"] / p["bandwidth_gbs"] for device, p in G.PAPER_ROOFLINES.items()}
    assert set(ridge) == set(G.PAPER_DEVICES)
    assert 11.2 < ridge["1080Ti GPU"] < 31.4  # g=8 (11 FLOP/byte) left of it, g=1 (31) right
    assert ridge["ARM Snapdragon 810"] * 4 < 11.2  # even at a quarter of the bandwidth, both right of it
