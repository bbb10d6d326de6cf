import statistics

import pytest

from effedu.check import NOISY_SAMPLES_MS, check, guess, question


def test_macs_per_weight_exercise():
    assert check("00.1", 56 * 56)  # every weight meets every output position once
    assert not check("00.1", 56 * 56 * 128 * 64 * 9)  # the MACs themselves are not the question
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


@pytest.mark.parametrize("stub", [..., None, {"more_params": ..., "more_macs": ...}, (..., ...), [...]])
def test_stubs_read_as_not_answered(stub):
    result = check("00.2", stub)
    assert not result and "not answered yet" in repr(result) and "Ellipsis" not in repr(result)


def test_unknown_exercise_and_questions():
    with pytest.raises(ValueError, match="exercise must be one of"):
        check("99.9", 1)
    assert "Conv2d" in question("00.1")


LESSON_EXERCISES = [
    ("01.1", 1 / 256 + 1 / 25, 1 / 256 + 1 / 9),
    ("01.2", 81, 80),  # N / (N + 9) ≥ 0.9 first at N = 81
    ("01.3", 2 * 56 * 56 * 128 * 128 / (4 * (56 * 56 * 256 + 128 * 128)), 56 * 56 * 128 * 128 / (56 * 56 * 256)),
    ("02.1", 27 / 49, 18 / 25),
    ("02.2", 28 * 28 * 16 * (64 * 9 + 64), 28 * 28 * 16 * 64 * 9),
    ("02.3", 57, 64),
    ("03.1", 14 * 14 * 384 * 384 // 8, 14 * 14 * 384 * 384 // 4),
    ("03.2", {"without": 6, "with": 24}, {"without": 24, "with": 24}),
    ("03.3", 2 * 116 * 28 * 28 * 4, 116 * 28 * 28 * 4),
    ("04.1", 56 * 56 * 2 * 512 + 512 * 512 // 16, 56 * 56 * 2 * 512),
    ("04.2", 128, 64),
    ("05.1", 3 * 512 * 28 * 28 * 4, 3 * 256 * 56 * 56 * 4),
    ("05.2", 2 * 64 * 56 * 56 * 4 + 4 * 64 * 4, 2 * 64 * 56 * 56 * 4),
    ("06.1", 65536 / (65536 + 18432), 128 / 137),
    ("06.2", 28 * 28 * (74 + 222) + 74 * 222, 56 * 56 * (74 + 222) + 74 * 222),
    ("07.1", 79 + 2 * 32 + 2 * 32, 79),
    ("07.2", 120 * 160 * 24 * 3 * 49, 480 * 640 * 24 * 3 * 49),
    ("08.1", (0.75, 0.5), (0.5, 1.0)),
    ("08.2", 2.5, 3),
    ("09.1", 299, 300),  # ⌈ln 0.05 / ln 0.99⌉ = ⌈298.07⌉
    ("09.2", {"hard": "B", "soft": "A"}, {"hard": "B", "soft": "C"}),  # soft: A 0.928 > C 0.924 > B 0.907
    ("11.1", 9 * 64 * 64 + 64, 9 * 64 * 64 + 64 * 64 + 4 * 64),
    ("11.2", 28 * 28 * 9 * 32 * 32, 28 * 28 * 9 * 128 * 128),
]


@pytest.mark.parametrize("key,right,wrong", LESSON_EXERCISES, ids=[e[0] for e in LESSON_EXERCISES])
def test_lesson_exercises(key, right, wrong):
    assert check(key, right), repr(check(key, right))
    assert not check(key, wrong)


@pytest.mark.parametrize("typed", [0.2, "20", "20%", "20 %", 20, "0.2"])
def test_guess_reads_what_people_type(typed):
    result = guess(typed, 0.25)
    assert "your guess 20%" in result.text and "5 percentage points too low" in result.text
    assert result.off_by == pytest.approx(-0.05)


def test_guess_kinds_and_unreadable_input():
    assert "no guess yet" in guess(..., 0.3).text
    assert "2.0× too high" in guess("6x", 3.0, kind="factor").text
    assert "within 10 %" in guess(3, 3.1, kind="factor").text
    assert "8 too high" in guess("16", 8, kind="count").text and "spot on" in guess(8, 8, kind="count").text
    assert "right" in guess("GPU", "GPU", kind="choice", options=["GPU", "ARM"]).text
    assert "measured: ARM" in guess("1", "ARM", kind="choice", options=["GPU", "ARM"]).text
    assert "not one of" in guess("TPU", "ARM", kind="choice", options=["GPU", "ARM"]).text
    assert "could not read" in guess("lots", 0.3).text
    with pytest.raises(ValueError, match="kind"):
        guess(1, 1, kind="vibes")


def capstone_frame(ratio, hi, accuracy, split="validation", first="slow (reference)"):
    import pandas as pd

    frame = pd.DataFrame({"ratio": [1.0, ratio], "ratio_lo": [1.0, ratio - 0.02], "ratio_hi": [1.0, hi],
                          "accuracy": [0.97, accuracy]}, index=[first, "my design"])
    frame.attrs.update(accuracy_n=224, accuracy_split=split)  # as effedu.training.with_accuracy records them
    return frame


@pytest.mark.parametrize("ratio,hi,accuracy,passed,says", [
    (0.40, 0.45, 0.95, True, "within the budget"), (0.58, 0.59, 0.96, True, "within the budget"),
    (0.58, 0.62, 0.95, False, "at the budget"), (0.58, 0.6, 0.95, False, "at the budget"),
    (0.40, 0.45, 0.89, False, "accurate enough"),  # below the 90 % floor
    (0.40, 0.45, 0.91, False, "accurate enough"),  # above 90 %, but clearly below the slow network's 97 %
    (0.9, 1.0, 0.5, False, "clearly within the budget and accurate enough")])
def test_capstone_checker_on_both_sides_of_the_margin(ratio, hi, accuracy, passed, says):
    result = check("10.1", capstone_frame(ratio, hi, accuracy))
    assert bool(result) == passed and says in result.message
    assert "expected the frame" in check("10.1", {"my design": 0.5}).message


def test_capstone_checker_wants_the_slow_network_first_and_the_validation_split():
    assert "first row must be the slow network" in check("10.1", capstone_frame(0.4, 0.45, 0.95, first="x")).message
    on_test = check("10.1", capstone_frame(0.4, 0.45, 0.95, split="test"))
    assert not on_test and "validation split" in on_test.message
    assert "on 224 validation images" in check("10.1", capstone_frame(0.4, 0.45, 0.95)).message


def test_capstone_count_exercise():
    assert check("10.2", 16 * 16 * (32 + 256) + 32 * 256) and not check("10.2", 16 * 16 * 288)


def test_ratio_guess_reads_slow_downs_as_ratios_and_percent_only_when_typed():
    # a student who expects the separable block to be *slower* types 1.5: that is ×1.5, not 1.5 %
    assert "time ×1.5 — measured ×0.142 (10.6× too high)" in guess(1.5, 0.142, kind="ratio").text
    assert guess("1.5×", 1.5, kind="ratio").off_by == pytest.approx(1.0)
    assert guess("50%", 0.5, kind="ratio").value == pytest.approx(0.5)
    assert "within 10 %" in guess(0.15, 0.142, kind="ratio").text
    assert "3.0× too low" in guess(0.5, 1.5, kind="ratio").text
    assert "could not read" in guess(0, 1.0, kind="ratio").text


# --- write-it-yourself exercises: right, wrong, a stub, a crash ---------------------------------------------------

def _decide(candidate, baseline):
    import math as m

    ratios = sorted(c / b for c, b in zip(candidate, baseline))
    n, k, total = len(ratios), 0, 0.0
    for j in range(n + 1):
        total += m.comb(n, j) / 2 ** n
        if total > 0.025:
            break
        k = j + 1
    k = min(k, n // 2)
    if k == 0:
        return "too few rounds to decide"
    low, high = ratios[k - 1], ratios[n - k]
    return "faster" if high < 1 else "slower" if low > 1 else "no clear difference"


def _shuffle(x, groups):
    n, c, h, w = x.shape
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


def _field(layers):
    field, jump = 1, 1
    for k, s in layers:
        field, jump = field + (k - 1) * jump, jump * s
    return field


WRITTEN = [  # key, a right function, a plausible wrong one
    ("00.4", _decide, lambda c, b: "faster" if sum(c) < sum(b) else "slower"),
    ("01.5", lambda h, w, ci, co, k: h * w * ci * (k * k + co), lambda h, w, ci, co, k: h * w * ci * co * k * k),
    ("02.4", lambda h, w, ci, co, k, r: h * w * r * (ci * k * k + co), lambda h, w, ci, co, k, r: h * w * ci * co * k),
    ("03.4", _shuffle, lambda x, groups: x.flip(1)),
    ("04.3", lambda h, w, ci, co, g: h * w * (ci + co) + ci * co // g, lambda h, w, ci, co, g: h * w * (ci + co)),
    ("06.3", lambda h, w, ci, m, co, g: h * w * (ci * m + 9 * m * m // g + m * co),
     lambda h, w, ci, m, co, g: h * w * (ci * m + 9 * m * m + m * co)),
    ("07.3", _field, lambda layers: sum(k for k, _ in layers)),
    ("09.3", lambda a, lat, t, alpha, beta: a * (lat / t) ** (alpha if lat <= t else beta),
     lambda a, lat, t, alpha, beta: a * (lat / t) ** beta),
]


@pytest.mark.parametrize("key,right,wrong", WRITTEN, ids=[w[0] for w in WRITTEN])
def test_write_it_yourself_exercises(key, right, wrong):
    assert check(key, right).passed
    assert not check(key, wrong).passed and "not quite" in check(key, wrong).message
    assert "not answered yet" in check(key, lambda *args: None).message
    assert "raised ZeroDivisionError" in check(key, lambda *args: 1 / 0).message
    assert not check(key, 42).passed


def test_judgement_exercises_read_their_recorded_measurement():
    assert check("00.5", ("interleaved", "no clear difference")).passed
    assert not check("00.5", ("one after the other", "slower")).passed
    assert check("05.3", " Faster ").passed and not check("05.3", "no clear difference").passed
