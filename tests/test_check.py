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
    assert check("00.2", {"more_params": "Linear ", "more_macs": "CONV"})
    assert "expected a dict" in repr(check("00.2", "linear"))


def test_mean_median_exercise():
    assert check("00.3", (sum(NOISY_SAMPLES_MS) / len(NOISY_SAMPLES_MS), statistics.median(NOISY_SAMPLES_MS)))
    assert not check("00.3", (statistics.median(NOISY_SAMPLES_MS),) * 2)
    assert not check("00.3", "ten")


def test_unanswered_and_unknown():
    assert "not answered" in repr(check("00.1", ...))
    with pytest.raises(ValueError, match="exercise must be one of"):
        check("99.9", 1)
    assert "Conv2d" in question("00.1")


@pytest.mark.parametrize("key,right,wrong", [
    ("01.1", 1 / 256 + 1 / 25, 1 / 256 + 1 / 9),
    ("01.2", 32 * 9 + 32 * 64 + 2 * 32 + 2 * 64, 32 * 9 + 32 * 64),
    ("01.3", 2 * 56 * 56 * 128 * 128 / (4 * (56 * 56 * 256 + 128 * 128)), 56 * 56 * 128 * 128 / (56 * 56 * 256)),
    ("02.1", 18 / 25, 9 / 25),
    ("02.2", 28 * 28 * 16 * (64 * 9 + 64), 28 * 28 * 16 * 64 * 9),
    ("02.3", 57, 64),
    ("03.1", 28 * 28 * 240 * 240 // 3, 28 * 28 * 240 * 240),
    ("03.2", {"without": 4, "with": 12}, {"without": 12, "with": 12}),
    ("03.3", 2 * 240 * 28 * 28 * 4, 240 * 28 * 28 * 4),
    ("04.1", 56 * 56 * 2 * 360 + 360 * 360 // 8, 56 * 56 * 2 * 360),
    ("04.2", 90, 64),
])
def test_lesson_exercises(key, right, wrong):
    assert check(key, right), repr(check(key, right))
    assert not check(key, wrong)


@pytest.mark.parametrize("key,right,wrong", [
    ("05.1", 3 * 256 * 56 * 56 * 4, 2 * 256 * 56 * 56 * 4),
    ("05.2", 2 * 64 * 56 * 56 * 4 + 4 * 64 * 4, 2 * 64 * 56 * 56 * 4),
])
def test_lesson_05_exercises(key, right, wrong):
    assert check(key, right), repr(check(key, right))
    assert not check(key, wrong)


@pytest.mark.parametrize("key,right,wrong", [
    ("06.1", 128 / 137, 0.5),
    ("06.2", 56 * 56 * 270 + 90 * 180, 56 * 56 * 270),
])
def test_lesson_06_exercises(key, right, wrong):
    assert check(key, right), repr(check(key, right))
    assert not check(key, wrong)


@pytest.mark.parametrize("key,right,wrong", [
    ("07.1", 79, 63),
    ("07.2", 120 * 160 * 24 * 3 * 49, 480 * 640 * 24 * 3 * 49),
])
def test_lesson_07_exercises(key, right, wrong):
    assert check(key, right), repr(check(key, right))
    assert not check(key, wrong)


def test_lesson_08_exercises():
    from effedu import count_macs
    from effedu.models import TinyNet

    assert check("08.1", count_macs(TinyNet("separable", width_mult=0.5), (1, 1, 16, 16)))
    assert not check("08.1", count_macs(TinyNet("separable"), (1, 1, 16, 16)))
    assert check("08.2", 10) and not check("08.2", 5)


def test_lesson_09_exercises():
    assert check("09.1", 0.75 * 1.5 ** -0.07) and not check("09.1", 0.75)
    assert check("09.2", 8) and not check("09.2", 6)
