import statistics

import pytest

from effedu.check import NOISY_SAMPLES_MS, check, question


def test_conv_macs_exercise():
    assert check("00.1", 56 * 56 * 128 * 64 * 9)
    assert not check("00.1", 56 * 56 * 128 * 64 * 9 * 2)
    assert "Hint" in repr(check("00.1", 1))


def test_params_vs_macs_exercise():
    # linear: 2048·1000 + 1000 weights vs conv 32·64·9 + 64; MACs: 2,048,000 vs 112²·64·32·9
    assert check("00.2", {"more_params": "linear", "more_macs": "conv"})
    assert not check("00.2", {"more_params": "conv", "more_macs": "conv"})


def test_mean_median_exercise():
    assert check("00.3", (sum(NOISY_SAMPLES_MS) / len(NOISY_SAMPLES_MS), statistics.median(NOISY_SAMPLES_MS)))
    assert not check("00.3", (statistics.median(NOISY_SAMPLES_MS),) * 2)
    assert not check("00.3", "ten")


def test_unanswered_and_unknown():
    assert "not answered" in repr(check("00.1", ...))
    with pytest.raises(ValueError, match="exercise must be one of"):
        check("99.9", 1)
    assert "Conv2d" in question("00.1")
