"""effedu.verdict: every branch on scripted numbers, and random frames whose sentences must never contradict their
outcome or their own numbers."""
import random
import re

import pandas as pd
import pytest
from helpers import frame_from

from effedu import machine
from effedu import verdict as V
from effedu.stats import Range
from effedu.timing import LatencyResult

NEGATIVE_PERCENT = re.compile(r"[-−]\s?\d[\d.,]*\s?%")


def steady(value, rounds=9, wobble=0.01, phase=0):
    """Samples around ``value`` with a small deterministic wobble (no two rounds alike); candidates with another
    ``phase`` or ``wobble`` wobble differently, so their paired ratios spread."""
    return [value * (1 + wobble * (((i + phase) * 7) % 5 - 2) / 2) for i in range(rounds)]


# --- speed ---------------------------------------------------------------------------------------------------

def test_speed_three_outcomes_and_the_numbers_they_quote():
    frame = frame_from({"base": steady(10), "fast": steady(5), "slow": steady(15), "same": steady(10.02, wobble=0.1)})
    fast, slow, same = (V.speed(frame, n) for n in ("fast", "slow", "same"))
    assert (fast.outcome, slow.outcome, same.outcome) == (V.FASTER, V.SLOWER, V.SAME)
    assert "**faster**" in fast.text and "2× as fast" in fast.text and "time ×0.5" in fast.text
    assert "95 % interval ×0." in fast.text and "over 9 rounds" in fast.text
    assert "**slower**" in slow.text and "time ×1.5" in slow.text
    assert "no clear difference" in same.text and "holds ×1" in same.text
    assert fast.numbers["ratio_lo"] <= fast.numbers["ratio"] <= fast.numbers["ratio_hi"]
    assert fast._repr_markdown_() == str(fast) == fast.text


def test_too_few_rounds_and_the_same_within_the_band():
    few = frame_from({"base": steady(10, rounds=5), "fast": steady(5, rounds=5)})
    verdict = V.speed(few, "fast")  # half the time, but five rounds: no 95 % interval exists
    assert verdict.outcome == V.TOO_FEW and "**too few rounds to decide**" in verdict.text
    assert "faster" not in verdict.text and "needs at least 6 rounds" in verdict.text
    twins = frame_from({"base": steady(10), "twin": steady(10.01, phase=1)})
    same = V.speed(twins, "twin")
    assert same.outcome == V.EQUIVALENT and "**the same within 2 %**" in same.text
    close = frame_from({"base": [10.0] * 9, "close": [9.9] * 9})
    assert "faster** than base — by less than 2 %" in V.speed(close, "close").text


def test_speed_against_another_row_uses_the_paired_samples():
    frame = frame_from({"base": steady(10), "a": steady(6), "b": steady(3)})
    verdict = V.speed(frame, "b", baseline="a")
    assert verdict.outcome == V.FASTER and verdict.numbers["ratio"] == pytest.approx(0.5)
    assert "than a" in verdict.text
    with pytest.raises(ValueError, match="both 'a'"):
        V.speed(frame, "a", baseline="a")
    with pytest.raises(ValueError, match="name must be one of"):
        V.speed(frame, "c")
    bare = frame.copy()
    bare.attrs = {}
    with pytest.raises(ValueError, match="baseline: comparing two rows"):
        V.speed(bare, "b", baseline="a")


def test_a_decided_ratio_never_prints_as_one():
    frame = frame_from({"base": [10.0] * 9, "hair": [9.996] * 9})
    verdict = V.speed(frame, "hair")
    assert verdict.outcome == V.FASTER
    assert "×1.00," not in verdict.text and "time ×0.9996" in verdict.text
    frame = frame_from({"base": [10.0] * 9, "hair": [9.8] * 4 + [9.9996] * 5})
    assert "95 % interval ×0.98–0.99996" in V.speed(frame, "hair").text  # not "×0.98–1"


# --- promise, per MAC ------------------------------------------------------------------------------------------

def test_promise_kept_fell_short_beat():
    frame = frame_from({"base": steady(10), "short": steady(2), "kept": steady(5, wobble=0.1), "beat": steady(1)},
                       macs={"base": 100, "short": 10, "kept": 50, "beat": 50})
    assert V.promise(frame, "short").outcome == V.SHORT and "2× the time" in V.promise(frame, "short").text
    assert V.promise(frame, "kept").outcome == V.KEPT
    beat = V.promise(frame, "beat")
    assert beat.outcome == V.BEAT and "0.2× the time the MAC count predicts" in beat.text
    without_macs = frame_from({"base": steady(10), "x": steady(5)})
    with pytest.raises(ValueError, match="macs"):
        V.promise(without_macs, "x")


def test_per_mac_corrects_for_unequal_macs():
    # 5 % fewer MACs and 5 % less time: the same speed per MAC, although "faster" overall
    frame = frame_from({"1:1": steady(10), "1:12": steady(9.5)}, macs={"1:1": 1000, "1:12": 950})
    assert V.speed(frame, "1:12").outcome == V.FASTER
    assert V.per_mac(frame, "1:12").outcome == V.EQUIVALENT
    frame = frame_from({"1:1": steady(10), "1:12": steady(12)}, macs={"1:1": 1000, "1:12": 950})
    assert V.per_mac(frame, "1:12").outcome == V.SLOWER


def test_per_unit_judges_the_time_per_image_not_per_batch():
    # batch 4 takes 1.95x the time of batch 1: slower per forward, but faster per image (the explorer of lesson 00)
    frame = frame_from({"batch 1": steady(20), "batch 4": steady(39)})
    assert V.speed(frame, "batch 4").outcome == V.SLOWER
    per_image = V.per_unit(frame, "batch 4", 4, "image")
    assert per_image.outcome == V.FASTER and "faster** per image" in per_image.text
    assert per_image.numbers["hi"] < 0.5
    frame = frame_from({"batch 1": steady(20), "batch 4": steady(100)})
    assert V.per_unit(frame, "batch 4", 4, "image").outcome == V.SLOWER
    wobble = [0.9, 1.1, 0.95, 1.05, 1.0, 0.9, 1.1, 0.95, 1.05]  # per-round ratios around exactly 4x the time
    frame = frame_from({"batch 1": steady(20, wobble=0), "batch 4": [80 * w for w in wobble]})
    assert V.per_unit(frame, "batch 4", 4, "image").outcome == V.SAME
    with pytest.raises(ValueError, match="units"):
        V.per_unit(frame, "batch 4", 0, "image")


@pytest.mark.parametrize("times_,outcome", [
    ({"a": 12, "b": 13}, "holds"), ({"a": 12, "b": 10.0}, "partly holds"), ({"a": 8, "b": 12}, "contradicted"),
    ({"a": 10.01, "b": 9.99}, "cannot tell")])
def test_guideline_four_outcomes(times_, outcome):
    samples = {"base": steady(10), **{n: steady(t, wobble=0.2 if outcome == "cannot tell" else 0.01)
                                      for n, t in times_.items()}}
    frame = frame_from(samples, macs={"base": 100, "a": 100, "b": 100})
    verdict = V.guideline(frame)
    assert verdict.outcome == outcome
    assert verdict.text.startswith(f"**{outcome[0].upper()}{outcome[1:]}**")


# --- removal and shares ------------------------------------------------------------------------------------

def test_removal_never_prints_a_negative_share():
    saving = frame_from({"with": steady(10), "without": steady(9)})
    assert V.removal(saving, "without", part="the shuffle").outcome == "costs time"
    assert "saved **10 %**" in V.removal(saving, "without", part="the shuffle").text
    slower = frame_from({"with": steady(10), "without": steady(10.2)})
    verdict = V.removal(slower, "without")
    assert verdict.outcome == "removing it was slower" and "clamped" in verdict.text
    assert not NEGATIVE_PERCENT.search(verdict.text)
    noise = frame_from({"with": steady(10), "without": steady(10, wobble=0.2)})
    assert V.removal(noise, "without").outcome == "no clear cost"


def shares_table():
    return pd.DataFrame({"macs_share": [0.03, 0.95, 0.02], "time_share": [0.20, 0.70, 0.10],
                         "time_share_lo": [0.18, 0.66, 0.08], "time_share_hi": [0.22, 0.74, 0.12]},
                        index=["depthwise 3×3", "pointwise 1×1", "other"])


def test_time_share_against_macs_and_against_a_claim():
    table = shares_table()
    dw = V.time_share(table, "depthwise 3×3")
    assert dw.outcome == "above" and "**more** than its 3 % of the MACs" in dw.text
    pw = V.time_share(table, "pointwise 1×1", claim=0.95, claim_source="MobileNet, Sec. 3.2")
    assert pw.outcome == "below" and "clearly the largest" in pw.text and "MobileNet" in pw.text
    assert V.time_share(table, "pointwise 1×1", claim=0.7).outcome == "about"
    assert "takes a clearly larger share" in V.time_share(table, "other").text


def test_compare_ranges():
    larger = V.compare_ranges({"MobileNetV2": (0.3, 0.28, 0.32), "ResNet-18": (0.1, 0.09, 0.11)})
    assert larger.outcome == "larger"
    assert V.compare_ranges({"a": (0.1, 0.09, 0.11), "b": (0.3, 0.28, 0.32)}).outcome == "smaller"
    assert V.compare_ranges({"a": (0.3, 0.2, 0.4), "b": (0.31, 0.28, 0.32)}).outcome == V.SAME
    with pytest.raises(ValueError, match="exactly two"):
        V.compare_ranges({"a": (1, 1, 1)})


def test_hook_overhead_three_outcomes():
    layers = pd.DataFrame({"median_ms": [1.0, 1.0]})
    for end_to_end, outcome in ((2.0, "close"), (1.0, "inflated"), (4.0, "below")):
        layers.attrs.update(model_latency_ms=end_to_end, method="host clock", clamped=1)
        verdict = V.hook_overhead(layers)
        assert verdict.outcome == outcome and "host clock" in verdict.text and "1 layer time" in verdict.text


# --- orderings, rankings, fronts ---------------------------------------------------------------------------

def test_ranking_marks_ties_and_names_clear_ends():
    frame = frame_from({"base": steady(10), "a": steady(5), "b": steady(7), "c": steady(7.01, wobble=0.2)})
    verdict = V.ranking(frame)
    assert verdict.numbers["order"][0] == "a" and verdict.outcome == "clear"
    assert "**a** < **b** ≈ **c**" in verdict.text
    assert verdict.numbers["slowest"] is None  # b and c cannot be told apart
    tied = frame_from({"base": steady(10), "a": steady(5, wobble=0.3), "b": steady(5.1, wobble=0.3, phase=2)})
    assert V.ranking(tied).outcome == "tied" and V.ranking(tied).numbers["fastest"] is None
    with pytest.raises(ValueError, match="at least two"):
        V.ranking(frame, among=["a"])


def test_rankings_list_only_clear_disagreements_and_score_a_guess():
    frame = frame_from({"big": steady(10), "small": steady(20), "mid": steady(10.05, wobble=0.2)},
                       macs={"big": 300, "small": 100, "mid": 200})
    frame["params"] = [3, 1, 2]
    frame["bytes"] = [30, 10, 20]
    verdict = V.rankings(frame, guess=["big", "mid", "small", "Small"])
    assert verdict.outcome == "MACs disagree"
    assert verdict.numbers["pairs"] == [("small", "big"), ("small", "mid")]
    assert "**small** has ×0.333 the MACs of **big**" in verdict.text
    assert "rank correlation" in verdict.text and "'Small'" in verdict.text
    agree = frame_from({"a": steady(1), "b": steady(2)}, macs={"a": 1, "b": 2})
    agree["params"], agree["bytes"] = [1, 2], [1, 2]
    assert V.rankings(agree).outcome == "MACs agree"


def test_rankings_list_at_most_the_largest_few():
    names = [f"m{i}" for i in range(6)]
    samples = {n: steady(10 * (6 - i)) for i, n in enumerate(names)}  # fewer MACs, yet slower, pair after pair
    frame = frame_from(samples, macs={n: i + 1 for i, n in enumerate(names)})
    frame["params"], frame["bytes"] = 1, 1
    text = V.rankings(frame).text
    assert text.count("yet took") == V.MAX_LISTED and "more such pair" in text


def test_pareto_front_keeps_ties_and_drops_the_beaten():
    frame = pd.DataFrame({"median_ms": [1.0, 2.0, 3.0, 2.5, 1.0], "accuracy": [0.8, 0.9, 0.85, 0.95, 0.8]},
                         index=["fast", "mid", "dominated", "best", "fast twin"])
    assert V.pareto_front(frame) == ["fast", "mid", "best", "fast twin"]
    verdict = V.pareto(frame, n_test=449)
    assert "fast twin" in verdict.text and verdict.numbers["noise"] == pytest.approx(V.accuracy_noise(0.95, 449))


def test_beats_needs_both_axes_beyond_the_noise():
    frame = frame_from({"hand": steady(10), "nas fast": steady(5), "nas slow": steady(20)})
    frame["accuracy"] = [0.90, 0.97, 0.99]
    assert V.beats(frame, ["nas fast", "nas slow"], ["hand"], n_test=449).outcome == "beats"
    frame["accuracy"] = [0.90, 0.905, 0.99]
    assert V.beats(frame, ["nas fast", "nas slow"], ["hand"], n_test=449).outcome == "does not beat"


# --- machines ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("speedup,outcome", [(1.5, "sub-linear"), (2.0, "near-linear"), (2.6, "super-linear"),
                                             (0.8, V.SLOWER), (1.0, V.SAME)])
def test_thread_speedup_classes(speedup, outcome):
    wobble = 0.05 if speedup == 1 else 0.01
    frame = frame_from({"1 thread": steady(10), "2 threads": steady(10 / speedup, wobble=wobble)},
                       threads={"1 thread": 1, "2 threads": 2})
    verdict = V.thread_speedup(frame)
    assert verdict.outcome == outcome
    if outcome in ("sub-linear", "super-linear"):
        assert "probably" in verdict.text  # the cause was not measured: a hypothesis


PAPER = {"1080Ti GPU": 0.26, "ARM Snapdragon 810": 0.70}


@pytest.mark.parametrize("value,lo,hi,outcome", [
    (0.25, 0.22, 0.30, "1080Ti GPU"), (0.68, 0.60, 0.75, "ARM Snapdragon 810"), (0.43, 0.41, 0.45, "neither"),
    (1.0, 0.95, 1.05, "neither"), (1.2, 1.1, 1.3, "neither"), (0.8, 0.78, 0.82, "ARM Snapdragon 810"),
    (0.97, 0.96, 0.98, "neither")])  # 0.97 is 36 % from ARM's 0.70: nearer to it, yet like neither
def test_paper_device_outcomes(value, lo, hi, outcome):
    verdict = V.paper_device(Range(value, lo, hi), PAPER)
    assert verdict.outcome == outcome
    if outcome == "neither" and value < 1:
        assert "neither" in verdict.text


def test_budget_three_outcomes():
    frame = frame_from({"budget": steady(10), "in": steady(8), "over": steady(12), "at": steady(10, wobble=0.2)})
    assert [V.budget(frame, n).outcome for n in ("in", "over", "at")] == \
        ["within the budget", "over the budget", "at the budget"]


def test_fps_against_the_paper_device():
    fast = V.fps(steady(20.0), 20, "one CPU core", "cpu")  # 50 FPS against 20
    assert fast.outcome == V.FASTER and "one CPU thread" in fast.text and "one CPU core" in fast.text
    assert V.fps(steady(100.0), 20, "one CPU core", "cpu").outcome == V.SLOWER
    assert V.fps(steady(50.0, wobble=0.3), 20, "one CPU core", "cpu").outcome == V.SAME


# --- measuring well ---------------------------------------------------------------------------------------

def test_warmup_outliers_interleaving():
    assert V.warmup([30.0] + steady(10, 14)).outcome == "cold start"
    quiet = V.warmup([10.8] + steady(10, 14))
    assert quiet.outcome == "no visible cold start" and "10 %" in quiet.text
    pulled = LatencyResult([10.0] * 9 + [40.0], 1, "cpu", 1, 0)
    assert V.outliers(pulled).outcome == "pulled up"
    assert V.outliers(LatencyResult([10.0] * 9 + [9.0] * 1, 1, "cpu", 1, 0)).outcome == "close"
    assert V.outliers(LatencyResult([10.0] * 5 + [1.0] * 4, 1, "cpu", 1, 0)).outcome == "pulled down"
    assert V.interleaving({"one after another": [1.01, 0.99], "interleaved": [1.0, 1.01]}).outcome == "calm"
    assert V.interleaving({"one after another": [1.08], "interleaved": [1.02]}).outcome == "interleaved closer"
    assert V.interleaving({"one after another": [1.02], "interleaved": [1.08]}).outcome == "no help this time"


def test_roofline_spectrum_rank_predictor():
    table = pd.DataFrame({"median GFLOP/s": [2.0, 20.0], "layers above their roof": [0, 3]},
                         index=["depthwise 3×3", "pointwise 1×1"])
    roof = V.roofline(table, "depthwise 3×3", "pointwise 1×1", "cpu")
    assert roof.outcome == "slower per FLOP" and "**10× fewer**" in roof.text and "3 layers ran" in roof.text
    table["layers above their roof"] = 0
    assert "above their roof" not in V.roofline(table, "pointwise 1×1", "depthwise 3×3", "cpu").text
    assert V.spectrum(20, 50, 64).outcome == "trained compresses better"
    assert V.spectrum(48, 50, 64).outcome == V.SAME
    assert V.spectrum(50, 20, 64).outcome == "random compresses better"
    rank = V.smallest_good_rank({2: 0.5, 8: 0.96, 16: 0.97, 32: 0.96, 64: 0.97}, 0.97, 449)
    assert rank.outcome == "found" and rank.numbers["rank"] == 8
    gap = V.smallest_good_rank({2: 0.96, 8: 0.5, 64: 0.97}, 0.97, 449)  # rank 2 passes, but rank 8 fails
    assert gap.numbers["rank"] == 64
    assert V.smallest_good_rank({64: 0.5}, 0.97, 449).outcome == "none"
    under = V.predictor([0.01, -0.02, 0.05] * 20, [-0.2, -0.15, -0.1] * 20, 0.03)
    assert under.outcome == "goal met" and "under-predicts" in under.text and "60 of 60" in under.text
    thin = V.predictor([0.01] * 13 + [0.3], [-0.1] * 14, 0.03)  # 13 of 14: 66–99.8 % at 95 %, the goal inside
    assert thin.outcome == "cannot tell" and "13 of 14" in thin.text and "with 14 networks" in thin.text
    over = V.predictor([0.3, -0.2, 0.05], [0.2, 0.15, 0.1], 0.03)
    assert over.outcome == "goal not met" and "over-predicts" in over.text and "stale" not in over.text.lower() \
        or "busier" in over.text


# --- formatting ----------------------------------------------------------------------------------------------

def test_number_formatting():
    assert V.num(0.14812) == "0.148" and V.num(12.345) == "12.3" and V.num(2345.6) == "2,346"
    assert V.num(0.99996, "below") == "0.99996" and V.num(1.00004, "above") == "1.00004"
    assert V.pct(0.043) == "4.3 %" and V.pct(-0.2) == "0 %" and V.pct(0.00001, positive=True) == "0.001 %"


# --- random frames: no sentence contradicts its outcome or its numbers --------------------------------------

def random_frame(rng: random.Random):
    rounds = rng.randint(1, 25)
    names = ["base"] + [f"c{i}" for i in range(rng.randint(1, 3))]
    drift = [1 + rng.uniform(-0.3, 0.3) * i / rounds for i in range(rounds)]
    two_speed = [rng.choice([1.0, 1.0, 1.8]) for _ in range(rounds)] if rng.random() < 0.3 else [1.0] * rounds
    samples = {}
    for name in names:
        effect = 1.0 if name == "base" else rng.choice([rng.uniform(0.3, 3), rng.uniform(0.97, 1.03), 1.0])
        noise = rng.choice([0.0, 0.01, 0.1, 0.5])
        samples[name] = [max(1e-3, 5 * effect * d * s * (1 + rng.gauss(0, noise)) * (3 if rng.random() < 0.05 else 1))
                         for d, s in zip(drift, two_speed)]
    macs = {name: rng.choice([1000, rng.randint(100, 5000)]) for name in names}
    return frame_from(samples, macs=macs, threads={"base": 1, **{n: 2 for n in names[1:]}}), names


WORDS = {V.FASTER: "**faster**", V.SLOWER: "**slower**", V.SAME: "**no clear difference**",
         V.EQUIVALENT: "**the same within 2 %**", V.TOO_FEW: "**too few rounds to decide**"}


def check_sentence(text: str, outcome: str, words: dict) -> None:
    assert not NEGATIVE_PERCENT.search(text), text
    for other, word in words.items():
        assert (word in text) == (other == outcome), (outcome, text)


def printed_interval(text: str) -> tuple[float, float] | None:
    found = re.search(r"95 % interval ×([0-9][0-9,]*(?:\.[0-9]+)?)–([0-9][0-9,]*(?:\.[0-9]+)?)", text)
    return None if found is None else tuple(float(v.replace(",", "")) for v in found.groups())


def test_random_frames_never_contradict_themselves():
    rng = random.Random(2026)
    for _ in range(2000):
        frame, names = random_frame(rng)
        decided = frame["ratio_lo"].notna()
        assert decided.all() == (frame.attrs["rounds"] >= 6)
        assert ((frame["ratio_lo"] <= frame["ratio"]) & (frame["ratio"] <= frame["ratio_hi"]))[decided].all()
        for name in names[1:]:
            speed = V.speed(frame, name)
            check_sentence(speed.text, speed.outcome, WORDS)
            shown = float(re.search(r"time ×([0-9][0-9,]*(?:\.[0-9]+)?)", speed.text).group(1).replace(",", ""))
            printed = printed_interval(speed.text)
            if speed.outcome == V.TOO_FEW:
                assert printed is None and "needs at least 6 rounds" in speed.text
                continue
            low, high = printed
            # the printed interval sits on the side of 1 its outcome says, never with an end printed as 1
            assert (high < 1) if speed.outcome == V.FASTER else (low > 1) if speed.outcome == V.SLOWER \
                else (low <= 1 <= high)
            if speed.outcome == V.EQUIVALENT:
                assert 0.98 <= low and high <= 1.02
            if speed.outcome == V.FASTER:
                assert shown < 1 and float(re.search(r"([0-9.]+)× as fast", speed.text).group(1)) > 1
                assert "slower" not in speed.text
            elif speed.outcome == V.SLOWER:
                assert shown > 1 and "faster" not in speed.text and "as fast" not in speed.text
            else:
                assert "faster" not in speed.text and "slower" not in speed.text
            promise = V.promise(frame, name)
            check_sentence(promise.text, promise.outcome,
                           {V.KEPT: "**kept**", V.SHORT: "**fell short**", V.BEAT: "**beat the MACs**"})
            if promise.outcome == V.SHORT and speed.outcome != V.FASTER:
                assert "not clearly faster" in promise.text or "even slower" in promise.text
            budget = V.budget(frame, name)
            check_sentence(budget.text, budget.outcome, {o: f"**{o}**" for o in
                                                         ("within the budget", "over the budget", "at the budget")})
            removal = V.removal(frame, name)
            check_sentence(removal.text, removal.outcome, {o: f"**{o}**" for o in
                                                           ("costs time", "no clear cost", "removing it was slower")})
            per_mac = V.per_mac(frame, name)
            check_sentence(per_mac.text, per_mac.outcome, {o: f"{w} per MAC" for o, w in WORDS.items()})
            if len(names) > 2:
                other = names[1] if name != names[1] else names[2]
                assert V.speed(frame, name, baseline=other).outcome in WORDS
        threads = V.thread_speedup(frame.iloc[[0, -1]].copy().__finalize__(frame))
        assert not NEGATIVE_PERCENT.search(threads.text)
        if threads.outcome == V.SLOWER:
            assert "slower" in threads.text and "as fast" not in threads.text
        elif threads.outcome in (V.SAME, V.EQUIVALENT, V.TOO_FEW):
            assert "as fast" not in threads.text and WORDS[threads.outcome] in threads.text
        else:
            assert float(re.search(r"\*\*([0-9.]+)× as fast", threads.text).group(1)) > 1


@pytest.mark.parametrize("facts,outcome,phrase", [
    ({"usable cores": 1, "cpu quota": 1.5, "thread variables": {}, "torch threads": 1}, "one core", "quota of 1.5"),
    ({"usable cores": 1, "cpu quota": None, "thread variables": {}, "torch threads": 1}, "one core", "**1 core**"),
    ({"usable cores": 4, "cpu quota": None, "thread variables": {"OMP_NUM_THREADS": "1"}, "torch threads": 1},
     "several cores", "because OMP_NUM_THREADS=1 is set"),
    ({"usable cores": 4, "cpu quota": None, "thread variables": {}, "torch threads": 4}, "several cores", "4 cores")])
def test_cores_tells_a_quota_from_a_thread_variable(facts, outcome, phrase):
    verdict = machine.cores(facts)
    assert verdict.outcome == outcome and phrase in verdict.text
    if facts["thread variables"]:
        assert "has one core" not in verdict.text


def test_setup_wording_follows_the_device(monkeypatch):
    assert "one CPU thread" in machine.describe("cpu").text
    monkeypatch.setattr(machine, "device_words", lambda device, threads=1: "the GPU (Fake)")
    text = machine.describe("cuda").text
    assert "the GPU (Fake)" in text and "on the CPU" in text and "one CPU thread" not in text


def test_sweep_summary_counts_each_setting_on_its_own_range():
    swept = pd.DataFrame({"candidate": ["sep"] * 4, "channels": [16, 256, 16, 256], "resolution": [14, 14, 56, 56],
                          "ratio": [1.5, 0.2, 0.99, 0.15], "ratio_lo": [1.4, 0.19, 0.9, 0.14],
                          "ratio_hi": [1.6, 0.21, 1.1, 0.16], "macs_ratio": [0.17, 0.115, 0.17, 0.115]})
    verdict = V.sweep_summary(swept, "sep", x="channels", series="resolution")
    assert verdict.numbers == {V.FASTER: 2, V.SLOWER: 1, V.EQUIVALENT: 0, V.SAME: 1, V.TOO_FEW: 0}
    assert verdict.outcome == V.FASTER
    assert "channels=16: **slower** (time ×1.5" in verdict.text and "5× as fast" in verdict.text
    assert "channels=16: **no clear difference**" in verdict.text


def test_promises_rank_replacements_and_name_only_clear_ends():
    frame = frame_from({"3×3": steady(10), "3×1": steady(8), "5×5": steady(20), "two 3×3": steady(15)},
                       macs={"3×3": 90, "3×1": 60, "5×5": 250, "two 3×3": 180})
    verdict = V.promises(frame, [("3×1", "3×3"), ("two 3×3", "5×5")])
    assert verdict.outcome == "clear" and verdict.numbers["best"] == "two 3×3 for 5×5"
    assert verdict.numbers["kept"]["3×1 for 3×3"][0] == pytest.approx(0.8 / (60 / 90))
    assert "Kept its promise best: **two 3×3 for 5×5**" in verdict.text


def test_paper_devices_vote_and_essay_advice():
    frame = frame_from({"1": steady(10), "a": steady(30), "b": steady(35), "c": steady(10.5)})
    paper = {"GPU": {"a": 0.3, "b": 0.3, "c": 0.6}, "ARM": {"a": 0.9, "b": 0.9, "c": 0.95}}
    votes = V.paper_devices(frame, paper)
    assert votes.outcome == "GPU" and votes.numbers["GPU"] == 2
    with pytest.raises(ValueError, match="at least one candidate"):
        V.paper_devices(frame, {"GPU": {"zzz": 0.3}})
    slower, same = V.speed(frame, "a"), V.speed(frame_from({"x": steady(10), "y": steady(10, wobble=0.2)}), "y")
    assert V.essay_advice(slower, {"1 thread": same, "2 threads": slower}).outcome == "holds for both"
    assert V.essay_advice(same, {"1 thread": same}).outcome == "holds for neither"
    assert V.essay_advice(slower, {"1 thread": same}).outcome == "holds for groups"
    assert "on 2 threads" in V.essay_advice(same, {"1 thread": same, "2 threads": slower}).text


def test_fusion_reads_the_generated_code():
    kernels = {"generated": ["cpp_fused_convolution_0", "cpp_fused__native_batch_norm_legit_no_training_add_relu_3"],
               "library": ["convolution", "convolution"]}
    verdict = V.fusion(kernels)
    assert verdict.outcome == "fused" and "**2 library calls** (convolution)" in verdict.text
    assert "BatchNorm + add + ReLU" in verdict.text
    assert V.fusion({"generated": ["triton_poi_fused_relu_0"], "library": []}).outcome == "not fused"
    assert V.fusion({}).outcome == "unknown"


def test_removal_sweep_trend_and_clamping():
    swept = pd.DataFrame({"candidate": ["without"] * 3, "channels": [32, 128, 512], "ratio": [0.7, 0.85, 1.01],
                          "ratio_lo": [0.68, 0.83, 0.99], "ratio_hi": [0.72, 0.87, 1.03]})
    verdict = V.removal_sweep(swept, "without", "channels", part="ReLU + add")
    assert verdict.outcome == "shrinks" and "30 %" in verdict.text and "shown as 0 %" in verdict.text
    assert not NEGATIVE_PERCENT.search(verdict.text)
    swept["ratio_lo"], swept["ratio_hi"] = 0.5, 1.2
    assert V.removal_sweep(swept, "without", "channels").outcome == "no clear trend"


def test_paper_gain_in_factors():
    frame = frame_from({"on": steady(10), "off": steady(8.5), "slower": steady(11)})
    like = V.paper_gain(frame, "off", (0.08, 0.24, 0.20))
    assert like.outcome == "like the paper" and "1.08–1.24×" in like.text
    less = V.paper_gain(frame, "slower", (0.08, 0.24, 0.20))
    assert less.outcome == "less than the paper" and not NEGATIVE_PERCENT.search(less.text)
    fast = frame_from({"on": steady(10), "off": steady(5)})
    assert V.paper_gain(fast, "off", (0.08, 0.24, 0.20)).outcome == "more than the paper"


def test_accuracy_difference_and_ranking_change():
    frame = pd.DataFrame({"accuracy": [0.97, 0.93, 0.965]}, index=["a", "b", "c"])
    more = V.accuracy_difference(frame, "a", "b", 449)
    assert more.outcome == "more accurate" and "+4.0 points" in more.text and "95 % interval" in more.text
    assert V.accuracy_difference(frame, "b", "a", 449).outcome == "less accurate"
    assert not NEGATIVE_PERCENT.search(V.accuracy_difference(frame, "b", "a", 449).text)
    assert V.accuracy_difference(frame, "a", "c", 449).outcome == "within the noise"
    times_ = {"plain": Range(1.0, 0.9, 1.1), "sep": Range(2.0, 1.9, 2.1), "bottleneck": Range(3.0, 2.9, 3.1)}
    assert V.ranking_change(times_, {n: r / 0.5 for n, r in times_.items()}).outcome == "same order"
    reversed_ = {"plain": Range(3.0, 2.9, 3.1), "sep": Range(2.0, 1.9, 2.1), "bottleneck": Range(1.0, 0.9, 1.1)}
    changed = V.ranking_change(times_, reversed_)
    assert changed.outcome == "changed beyond the noise" and changed.numbers["rho"] == pytest.approx(-1.0)
    assert "The winner changed (plain → bottleneck)" in changed.text and "1 → 3" in changed.text
    overlapping = {"plain": Range(1.1, 0.8, 1.4), "sep": Range(1.0, 0.7, 1.3), "bottleneck": Range(3.0, 2.9, 3.1)}
    noisy = V.ranking_change(times_, overlapping)
    assert noisy.outcome == "changed within the noise" and "did not change" not in noisy.text
    accuracies = V.accuracy_ranges({"a": 0.97, "b": 0.965}, 449)
    swapped = V.ranking_change(accuracies, V.accuracy_ranges({"a": 0.965, "b": 0.97}, 449), better="higher")
    assert swapped.outcome == "changed within the noise" and "not evidence either way" in swapped.text


def test_predictions_say_over_and_under_without_signs():
    verdict = V.predictions({"a": 1.05, "b": 0.8}, {"a": 1.0, "b": 1.0})
    assert "5 % over" in verdict.text and "20 % under" in verdict.text and verdict.outcome == "outside the band"
    assert not NEGATIVE_PERCENT.search(verdict.text)
    assert V.predictions({"a": 1.05}, {"a": 1.0}).outcome == "within the band"


def test_budget_with_a_fraction():
    frame = frame_from({"slow": steady(10), "mine": steady(5), "close": steady(6, wobble=0.2)})
    assert V.budget(frame, "mine", fraction=0.6).outcome == "within the budget"
    assert "the budget is ×0.6" in V.budget(frame, "mine", fraction=0.6).text
    assert V.budget(frame, "mine", fraction=0.4).outcome == "over the budget"
    assert V.budget(frame, "close", fraction=0.6).outcome == "at the budget"


# --- lesson 11: FLOPS, large kernels, the principles ------------------------------------------------------------

def rate_table(rates: dict) -> pd.DataFrame:
    """A ``profiling.throughput`` table from (value, lo, hi) GMAC/s per operator."""
    return pd.DataFrame({name: {"gmacs": v, "gmacs_lo": lo, "gmacs_hi": hi} for name, (v, lo, hi) in rates.items()}).T


def test_flops_ranks_operators_by_their_rate_and_compares_the_papers_order():
    table = rate_table({"conv": (50, 48, 52), "dwconv": (10, 9, 11), "pconv": (40, 38, 42)})
    same = V.flops(table, {"conv": 70, "pconv": 40, "dwconv": 6}, "an i9")
    assert same.outcome == "conv fastest per MAC, dwconv slowest"
    assert same.numbers["order"] == ["conv", "pconv", "dwconv"] and same.numbers["against the paper"] == "same order"
    assert "5× the multiply-adds per second" in same.text and "on the paper's an i9" in same.text
    flipped = V.flops(table, {"conv": 10, "pconv": 40, "dwconv": 70}, "a GPU")
    assert flipped.numbers["against the paper"] == "changed beyond the noise"


def kernel_frame(default_ms: dict, last_ms: dict, rounds: int = 9) -> pd.DataFrame:
    samples = {f"k={k}, default layout": steady(ms, rounds, phase=k) for k, ms in default_ms.items()}
    samples |= {f"k={k}, channels-last": steady(ms, rounds, phase=k + 1) for k, ms in last_ms.items()}
    return frame_from(samples)


def test_large_kernels_find_the_cliff_where_time_outgrows_the_macs():
    kernels, layouts = (3, 13, 17), ("default layout", "channels-last")
    # 13 → 17 is ×1.71 the MACs; ×40 the time is a cliff (more than 3× the MACs' growth), ×2 is not
    cliff = V.large_kernels(kernel_frame({3: 1.0, 13: 2.5, 17: 100.0}, {3: 1.0, 13: 7.0, 17: 9.0}), kernels, layouts)
    assert cliff.outcome == "cliff in default layout"
    cliffs = [(layout, small, large) for layout, small, large, _ in cliff.numbers["cliffs"]]
    assert cliffs == [("default layout", 13, 17)]
    assert re.search(r"k=17 ×(99|100) \(×\d+–\d+\) for MACs ×32.1", cliff.text)
    smooth = V.large_kernels(kernel_frame({3: 1.0, 13: 2.5, 17: 5.0}, {3: 1.0, 13: 7.0, 17: 9.0}), kernels, layouts)
    assert smooth.outcome == "no cliff" and "No cliff" in smooth.text


def test_large_kernels_need_rounds_enough_to_call_a_cliff():
    few = kernel_frame({3: 1.0, 13: 2.5, 17: 100.0}, {3: 1.0, 13: 7.0, 17: 9.0}, rounds=4)
    assert V.large_kernels(few, (3, 13, 17), ("default layout", "channels-last")).outcome == "no cliff"


def test_principles_table_has_one_row_per_principle_and_the_scorecard_beside_it():
    measured = {"avoid many branches (G3)": ("fused against training form", V.Verdict("faster", "", {}))}
    table = V.principles(measured, {"G2: 8 groups vs 1": "slower"})
    rows = [line for line in table.text.splitlines() if line.startswith("| ") and "principle" not in line]
    assert len(rows) == len(V.PRINCIPLES)
    assert "fused against training form: **faster**" in table.text
    assert table.text.count("not measured here") == len(V.PRINCIPLES) - 1
    assert "G2: 8 groups vs 1: **slower**" in table.text and table.numbers == {"avoid many branches (G3)": "faster"}
    assert "scorecard" not in V.principles(measured).text


# --- lessons 06 and 07: G1 on raw time and per MAC; a device the paper never measured ---------------------------

def test_guideline_never_makes_a_loss_or_a_win_out_of_a_mac_difference():
    # equal times, 5 % fewer MACs: per MAC alone it reads "slower"; raw and per-MAC disagree, so it stays undecided
    tie = frame_from({"1:1": steady(10), "1:12": steady(10, phase=1)}, macs={"1:1": 100, "1:12": 95})
    assert V.per_mac(tie, "1:12").outcome == V.SLOWER
    verdict = V.guideline(tie)
    assert verdict.outcome == "cannot tell" and verdict.numbers["judged"]["1:12"] != V.SLOWER
    assert "not decided" in verdict.text and "MAC difference" in verdict.text
    # a raw win bought by 10 % fewer MACs is slower per MAC: not a win for the widths either
    bought = frame_from({"1:1": steady(10), "1:12": steady(9.5)}, macs={"1:1": 100, "1:12": 90})
    assert V.speed(bought, "1:12").outcome == V.FASTER
    assert V.guideline(bought).outcome == "cannot tell"
    # where raw and per-MAC agree, it decides as before
    clear = frame_from({"1:1": steady(10), "1:12": steady(12)}, macs={"1:1": 100, "1:12": 99})
    assert V.guideline(clear).outcome == "holds" and "**slower**" in V.guideline(clear).text


def test_guideline_checks_whether_the_order_follows_the_traffic():
    samples = {"1:1": steady(10), "1:2": steady(11), "1:6": steady(12)}
    macs = {"1:1": 100, "1:2": 100, "1:6": 100}
    follows = frame_from(samples, macs=macs).assign(bytes=[100, 120, 150])
    verdict = V.guideline(follows)
    assert verdict.numbers["traffic"] == "follows" and "**The order follows the traffic**" in verdict.text
    assert "3 clearly ordered pairs" in verdict.text and verdict.numbers["traffic_rho"] == pytest.approx(1.0)
    against = frame_from(samples, macs=macs).assign(bytes=[100, 150, 120])  # 1:6 moves less than 1:2, runs slower
    verdict = V.guideline(against)
    assert verdict.numbers["traffic"] == "does not follow" and verdict.numbers["against"] == [("1:6", "1:2")]
    assert "**1:6** moves" in verdict.text and "probably" in verdict.text
    noise = frame_from({"1:1": steady(10, wobble=0.3), "1:2": steady(10, wobble=0.3, phase=2)},
                       macs={"1:1": 100, "1:2": 100}).assign(bytes=[100, 120])
    assert V.guideline(noise).numbers["traffic"] == "untested"
    assert "traffic" not in V.guideline(frame_from(samples, macs=macs)).numbers  # no bytes column: no claim


def test_fps_without_a_paper_figure_for_this_kind_of_device():
    verdict = V.fps(steady(20.0), None, "one Intel CPU core and an NVIDIA GPU", "mps")
    assert verdict.outcome == "no paper figure" and "nothing like for like" in verdict.text
    assert "50 FPS" in verdict.text and "faster" not in verdict.text and "slower" not in verdict.text


def test_promises_from_one_frame_per_pair():
    # each replacement timed against its own baseline (two candidates interleaved), as lesson 02 §1 does
    frames = {("3×1", "3×3"): frame_from({"3×3": steady(10), "3×1": steady(8)}, macs={"3×3": 90, "3×1": 60}),
              ("two 3×3", "5×5"): frame_from({"5×5": steady(20), "two 3×3": steady(15)},
                                             macs={"5×5": 250, "two 3×3": 180})}
    verdict = V.promises(frames, [("3×1", "3×3"), ("two 3×3", "5×5")])
    assert verdict.outcome == "clear" and verdict.numbers["best"] == "two 3×3 for 5×5"
    assert verdict.numbers["kept"]["3×1 for 3×3"][0] == pytest.approx(0.8 / (60 / 90))
    with pytest.raises(ValueError, match="no frame for the pair"):
        V.promises(frames, [("7×1", "7×7")])


def test_compare_ranges_quotes_ratios_as_ratios():
    smaller = V.compare_ranges({"14×14": (1.24, 1.23, 1.25), "56×56": (1.39, 1.28, 1.65)}, "kept ratio", ratio=True)
    assert smaller.outcome == "smaller" and "×1.24 (×1.23–1.25)" in smaller.text and "%" not in smaller.text
    overlap = V.compare_ranges({"a": (1.3, 1.2, 1.4), "b": (1.35, 1.3, 1.5)}, "kept ratio", ratio=True)
    assert overlap.outcome == V.SAME and "no clear difference" in overlap.text
    few = V.compare_ranges({"a": (1.3, float("nan"), float("nan")), "b": (1.35, 1.3, 1.5)}, ratio=True)
    assert few.outcome == V.TOO_FEW and "no interval" in few.text


def test_scaling_exponent_against_the_paper():
    paper = {"1×": (140e6, 37.8), "0.5×": (38e6, 15.2)}  # ShuffleNet Table 8: e = log(15.2/37.8)/log(38/140) ≈ 0.70
    macs = {"1×": 140, "0.5×": 38}
    less = V.scaling_exponent(frame_from({"1×": steady(10), "0.5×": steady(7)}, macs=macs), "0.5×", paper,
                              paper_source="Table 8")
    low, high = less.numbers["exponent"][1:]
    assert less.outcome == "less than the paper" and low <= less.numbers["exponent"][0] <= high
    assert less.numbers["paper_exponent"] == pytest.approx(0.699, abs=1e-3)
    assert "e = **0.27**" in less.text and "e = **0.7**" in less.text and "Table 8" in less.text
    like = V.scaling_exponent(frame_from({"1×": steady(10), "0.5×": steady(4.02, phase=1)}, macs=macs), "0.5×", paper)
    assert like.outcome == "like the paper"
    more = V.scaling_exponent(frame_from({"1×": steady(10), "0.5×": steady(2.9)}, macs=macs), "0.5×", paper)
    assert more.outcome == "more than the paper" and "**more**" in more.text
    slower = V.scaling_exponent(frame_from({"1×": steady(10), "0.5×": steady(11)}, macs=macs), "0.5×", paper)
    assert slower.outcome == "less than the paper" and slower.numbers["exponent"][0] < 0
    few = V.scaling_exponent(frame_from({"1×": steady(10, rounds=4), "0.5×": steady(7, rounds=4)}, macs=macs),
                             "0.5×", paper)
    assert few.outcome == V.TOO_FEW and "no interval" in few.text
    with pytest.raises(ValueError, match="paper must give"):
        V.scaling_exponent(frame_from({"1×": steady(10), "0.5×": steady(7)}, macs=macs), "0.5×", {"1×": (1, 1)})
    with pytest.raises(ValueError, match="MAC ratio other than 1"):
        V.scaling_exponent(frame_from({"1×": steady(10), "0.5×": steady(7)}, macs={"1×": 5, "0.5×": 5}), "0.5×",
                           paper)


# --- lesson 04: the roofline behind G2, the width behind G3, the copy in the extra time ------------------------

def g2_predicted(here_speed=1.0):
    """A roofline_speeds table as G2 makes it: here both compute-bound; the GPU puts g=8 left of its ridge."""
    table = pd.DataFrame({"FLOP per byte": {"g=1": 31.4, "g=8": 11.2}, "here": {"g=1": 1.0, "g=8": here_speed},
                          "GPU": {"g=1": 1.0, "g=8": 0.48}, "ARM": {"g=1": 1.0, "g=8": 1.01}})
    table.attrs.update(ridge={"here": 3.4, "GPU": 23.4, "ARM": 0.6}, bytes={"g=1": 100, "g=8": 278},
                       ms={"here": {"g=1": 4.0, "g=8": 4.0 / here_speed}, "GPU": {}, "ARM": {}},
                       bound={"here": {"g=1": "compute", "g=8": "compute"}, "GPU": {"g=1": "compute", "g=8": "memory"},
                              "ARM": {"g=1": "compute", "g=8": "compute"}})
    return table


def test_roofline_explains_g2_compute_bound_here_and_the_papers_devices():
    frame = frame_from({"g=1": steady(10, rounds=20), "g=8": steady(16, rounds=20)})
    verdict = V.roofline_explains(frame, "g=8", g2_predicted(), {"GPU": 0.26, "ARM": 0.70})
    assert verdict.outcome == V.ROOFLINE_SLOWER
    assert "both compute-bound" in verdict.text and "the extra traffic cannot explain" in verdict.text
    assert "×2.78 the bytes" in verdict.text and "probably" in verdict.text
    assert verdict.numbers["efficiency"] == {"g=1": pytest.approx(0.4), "g=8": pytest.approx(0.25)}
    assert "**48 %**" in verdict.text and "**26 %**" in verdict.text  # the GPU's prediction beside its measurement
    assert "predicts the **GPU** to lose more, as the paper measured" in verdict.text
    assert "moves it left of that device's ridge" in verdict.text
    same = V.roofline_explains(frame_from({"g=1": steady(10), "g=8": steady(10.1, phase=1)}), "g=8", g2_predicted())
    assert same.outcome == V.ROOFLINE_AS and "- The paper's" not in same.text
    fast = V.roofline_explains(frame_from({"g=1": steady(10), "g=8": steady(7)}), "g=8", g2_predicted())
    assert fast.outcome == V.ROOFLINE_FASTER and "caches" in fast.text
    few = V.roofline_explains(frame_from({"g=1": steady(10, rounds=4), "g=8": steady(16, rounds=4)}), "g=8",
                              g2_predicted())
    assert few.outcome == V.TOO_FEW
    other = V.roofline_explains(frame, "g=8", g2_predicted(), {"GPU": 0.9, "ARM": 0.5})
    assert "does not explain the paper's devices" in other.text


def test_width_control_separates_the_width_from_the_fragments():
    macs = {"1-fragment": 16384, "2-series": 16200, "4-series": 16384, "96": 18432}
    odd = frame_from({"1-fragment": steady(10), "2-series": steady(18.5), "4-series": steady(14.5),
                      "96": steady(13, phase=1)}, macs=macs)
    verdict = V.width_control(odd, "2-series", "96", "4-series")
    assert verdict.outcome == "width" and "**not what fragmentation predicts**" in verdict.text
    assert "part of **2-series**'s slow-down is its width" in verdict.text and "probably" in verdict.text
    plain = frame_from({"1-fragment": steady(10), "2-series": steady(11), "4-series": steady(12),
                        "96": steady(12.5, phase=1)}, macs=macs)
    fine = V.width_control(plain, "2-series", "96", "4-series")
    assert fine.outcome == "not the width" and "not what fragmentation predicts" not in fine.text
    tiny = frame_from({"1-fragment": steady(10), "2-series": steady(11), "96": [11 * 18432 / 16200 * 0.995] * 9},
                      macs=macs)
    assert V.width_control(tiny, "2-series", "96").outcome == "not the width"  # faster by under 2 % per MAC
    few = frame_from({"1-fragment": steady(10, rounds=4), "2-series": steady(11, rounds=4),
                      "96": steady(12, rounds=4)}, macs=macs)
    assert V.width_control(few, "2-series", "96").outcome == V.TOO_FEW


def test_copy_in_extra_says_how_much_of_the_slow_down_the_copy_is():
    shares = pd.DataFrame({"time_share": [0.081, 0.9], "time_share_lo": [0.078, 0.88],
                           "time_share_hi": [0.083, 0.92]}, index=["add / cat / copy", "conv"])
    slow = frame_from({"1": steady(10, rounds=20), "4p": steady(12.2, rounds=20)})
    part = V.copy_in_extra(shares, "add / cat / copy", slow, "4p")
    assert part.outcome == "part of it"
    assert part.numbers["explained"].value == pytest.approx(0.081 * 1.22 / 0.22, rel=0.01)  # the guide's "about half"
    assert "about **0.988 ms** of 4p" in part.text and "of the **2.2 ms**" in part.text and "estimate" in part.text
    lo, hi = part.numbers["explained"].lo, part.numbers["explained"].hi
    assert sorted([lo, part.numbers["explained"].value, hi]) == [lo, part.numbers["explained"].value, hi]
    assert V.copy_in_extra(shares, "add / cat / copy", frame_from({"1": steady(10), "4p": steady(10.5)}),
                           "4p").outcome == "all of it"
    assert V.copy_in_extra(shares, "add / cat / copy", frame_from({"1": steady(10), "4p": steady(10, wobble=0.1)}),
                           "4p").outcome == "no clear extra"
    few = frame_from({"1": steady(10, rounds=4), "4p": steady(12, rounds=4)})
    assert V.copy_in_extra(shares, "add / cat / copy", few, "4p").outcome == V.TOO_FEW
    assert not NEGATIVE_PERCENT.search(part.text)


def test_compiled_skips_the_fusion_sentence_when_nothing_was_compiled():
    skipped = V.compiled(None, "TRY_COMPILE is False")
    assert skipped.outcome == "skipped" and "TRY_COMPILE is False" in skipped.text
    assert "compiled code could not be read" not in skipped.text and "fused" not in skipped.text
    frame = frame_from({"eager": steady(10), "compiled": steady(8)})
    frame.attrs["kernels"] = {"generated": ["cpp_fused_add_relu_0"], "library": ["convolution"]}
    timed = V.compiled(frame)
    assert timed.outcome == V.FASTER and "**compiled** was **faster**" in timed.text
    assert "add + ReLU" in timed.text and timed.numbers["fusion"] == "fused"


def reference_like_zoo():
    """Lesson 00's six networks as the reference machine ordered them (times in ms), with their real counts:
    parameters ranked the time better than MACs (0.94 against 0.77) — the case the lesson must not over-read."""
    rows = {"MobileNetV1 0.5": (15, 1.33e6, 149e6), "ShuffleNetV2 1.0": (25, 2.28e6, 146e6),
            "ShuffleNet v1 g=3": (27, 1.87e6, 137e6), "MobileNetV2 1.0": (30, 3.50e6, 300e6),
            "MobileNetV1 1.0": (40, 4.23e6, 569e6), "ResNet-18": (51, 11.7e6, 1814e6)}
    frame = frame_from({name: steady(ms, rounds=20) for name, (ms, _, _) in rows.items()},
                       macs={name: macs for name, (_, _, macs) in rows.items()})
    frame["params"] = [int(params) for _, params, _ in rows.values()]
    frame["bytes"] = frame["macs"] // 10
    return frame


def test_rankings_say_when_the_best_count_rests_on_single_networks():
    verdict = V.rankings(reference_like_zoo())
    assert verdict.numbers["best"] == "params" and not verdict.numbers["robust"]
    assert "**parameters** followed the measured order most closely (0.94" in verdict.text
    assert "not a rule to design by" in verdict.text and "**MobileNetV1 0.5** alone ends it" in verdict.text
    judged = V.proxy_robustness(reference_like_zoo())
    assert judged.outcome == "rests on single networks" and "MobileNetV1 0.5" in judged.numbers["breaking"]


def test_proxy_robustness_robust_tied_and_too_few():
    frame = reference_like_zoo()
    frame["bytes"] = frame["median_ms"] * 1000  # a count that orders the time perfectly, whoever is left out …
    frame["params"] = -frame["bytes"]  # … against one that reverses it (MACs are one or more swaps off throughout)
    assert V.proxy_robustness(frame).outcome == "robust"
    assert "stays ahead whichever one of the 6" in V.proxy_robustness(frame).text
    frame["params"] = frame["bytes"]
    assert V.proxy_robustness(frame).outcome == "tied"
    few = V.proxy_robustness(frame.iloc[:3])
    assert few.outcome == "too few networks" and not few.text


def test_rankings_name_equal_parameters_with_different_times_and_count_undecided_pairs():
    frame = frame_from({"net": steady(20, rounds=20), "net at 160 px": steady(10, rounds=20),
                        "other": steady(20.01, rounds=20, wobble=0.2, phase=2)},
                       macs={"net": 300, "net at 160 px": 150, "other": 310})
    frame["params"], frame["bytes"] = [3_500_000, 3_500_000, 4_000_000], [30, 15, 31]
    verdict = V.rankings(frame)
    assert "**net at 160 px** and **net** have the same parameters (3,500,000), yet **net at 160 px** took ×0.5" \
        in verdict.text
    assert verdict.numbers["undecided"] == [("net", "other")]
    assert "1 of the 3 pairs of networks were not clearly apart" in verdict.text


def test_roofline_peaks_say_what_was_timed():
    peaks = {"peak_gflops": 96.0, "bandwidth_gbs": 28.4, "matrix_size": 1024, "copy_megabytes": 128,
             "cache_megabytes": 32.0}
    verdict = V.roofline_peaks(peaks)
    assert verdict.numbers["ridge"] == pytest.approx(96 / 28.4)
    assert "n = 1,024" in verdict.text and "a 128 MB copy, 4× the 32 MB last-level cache" in verdict.text
    assert "**3.4 FLOP/byte**" in verdict.text
    bare = V.roofline_peaks({"peak_gflops": 10.0, "bandwidth_gbs": 5.0, "copy_megabytes": 64, "cache_megabytes": None})
    assert "cache size is not known" in bare.text and "n =" not in bare.text


def test_accuracy_difference_names_the_split_it_was_measured_on():
    frame = pd.DataFrame({"accuracy": [0.97, 0.93]}, index=["a", "b"])
    assert "on 449 test images" in V.accuracy_difference(frame, "a", "b", 449).text
    frame.attrs["accuracy_split"] = "validation"  # as effedu.training.with_accuracy records it
    assert "on 224 validation images" in V.accuracy_difference(frame, "a", "b", 224).text


def test_reward_noise_states_the_spread_and_what_latency_it_is_worth():
    noise = V.reward_noise([0.85, 0.87, 0.89, 0.88, 0.86], 270, name="Level 0")
    assert noise.numbers["noise"] == pytest.approx(0.02 / 0.87)  # half the range over the median
    assert noise.numbers["latency_factor"] == pytest.approx((1 + 0.02 / 0.87) ** (1 / 0.07))  # ≈ 1.38×
    assert "Level 0" in noise.text and "5 seeds" in noise.text and "±2.3 %" in noise.text
    assert "270 validation images" in noise.text and not NEGATIVE_PERCENT.search(noise.text)
    with pytest.raises(ValueError, match="at least 2"):
        V.reward_noise([0.9], 270)


@pytest.mark.parametrize("evolution,random_search,noise,outcome", [
    ([0.90, 0.91, 0.92, 0.93, 0.90, 0.95], [0.80, 0.82, 0.81, 0.85, 0.84, 0.83], None, "evolution ahead"),
    ([0.80, 0.82, 0.81, 0.85, 0.84, 0.83], [0.90, 0.91, 0.92, 0.93, 0.90, 0.95], None, "random search ahead"),
    ([0.90, 0.80, 0.92, 0.83, 0.90, 0.85], [0.85, 0.86, 0.88, 0.85, 0.84, 0.86], None, "no clear difference"),
    ([0.90, 0.89, 0.92, 0.86, 0.90, 0.85], [0.89, 0.90, 0.91, 0.87, 0.89, 0.86], 0.03,
     "the same within the reward's noise"),
    ([0.95, 0.96, 0.97], [0.80, 0.81, 0.82], 0.03, "too few seeds to decide"),  # 3 wins out of 3 decide nothing
])
def test_search_comparison_decides_on_the_paired_seeds_interval(evolution, random_search, noise, outcome):
    judged = V.search_comparison(evolution, random_search, noise=noise, evaluations=8)
    assert judged.outcome == outcome
    assert "8 evaluations each" in judged.text and f"{len(evolution)} paired seeds" in judged.text
    assert (noise is not None) == ("re-training one network" in judged.text)
    if outcome == "too few seeds to decide":
        assert "cannot decide" in judged.text and not judged.numbers["ratio"].decidable


def test_search_comparison_counts_ties_and_calls_the_one_rule(monkeypatch):
    calls = []
    original = Range.vs
    monkeypatch.setattr(Range, "vs", lambda self, *a, **k: calls.append(a) or original(self, *a, **k))
    judged = V.search_comparison([0.9] * 6, [0.9] * 3 + [0.8] * 3, noise=0.02)
    assert calls and judged.numbers["higher"] == 3 and judged.numbers["lower"] == 0
    assert "equal in 3" in judged.text
    with pytest.raises(ValueError, match="one best reward per seed"):
        V.search_comparison([0.9, 0.8], [0.9])


def test_search_finds_judges_the_two_finds_on_test_or_says_they_are_one():
    frame = frame_from({"hand": steady(10), "NAS: evolution's find": steady(5), "NAS: random search's find": steady(8)})
    frame["accuracy"] = [0.95, 0.97, 0.90]
    judged = V.search_finds(frame, ["NAS: evolution's find", "NAS: random search's find"], 449)
    assert judged.outcome == "more accurate; faster" and "neither search selected on" in judged.text
    same = V.search_finds(frame, ["NAS: both searches' find"], 449)
    assert same.outcome == "same find" and "same network" in same.text
    with pytest.raises(ValueError, match="one or two"):
        V.search_finds(frame, [], 449)


def test_kernel_names_say_where_the_layout_decided_the_implementation():
    here = {3: {"default layout": "jit_dw:avx512_core", "channels-last": "brdgmm_dw:avx512_core"},
            17: {"default layout": "x64:gemm:jit", "channels-last": "brdgmm_dw:avx512_core"},
            31: {"default layout": "x64:gemm:jit", "channels-last": "brdgmm_dw:avx512_core"}}
    judged = V.kernel_names(here)
    assert judged.outcome == "layouts differ" and judged.numbers["differ"] == [3, 17, 31]
    assert judged.numbers["other_kind"] == [17, 31]
    assert "k=3 the layouts ran different kernels of the same kind" in judged.text
    assert judged.numbers["switches"] == {"default layout": [(3, 17)], "channels-last": []}
    assert "`x64:gemm:jit` for k=17–31" in judged.text and "`brdgmm_dw:avx512_core` at every k" in judged.text
    same = {k: {"default layout": names, "channels-last": names} for k, names in
            ((3, "jit_dw"), (17, "gemm"))}
    assert V.kernel_names(same).outcome == "same in both layouts"
    steady = {k: {"default layout": "jit_dw", "channels-last": "jit_dw"} for k in (3, 17)}
    assert V.kernel_names(steady).outcome == "one implementation"
    silent = {k: {"default layout": "", "channels-last": ""} for k in (3, 17)}
    assert V.kernel_names(silent).outcome == "not reported" and "cannot say" in V.kernel_names(silent).text
