import json
import random

import pytest
import torch

import effedu
from effedu import nas

SEP, INV, SHUF = "separable", "inverted residual", "ShuffleNetV2 unit"


def test_reward_twice_as_slow_needs_five_percent_more_accuracy():
    base = nas.reward(0.80, 10.0, target_ms=10.0)
    slower = nas.reward(0.80 * 1.05, 20.0, target_ms=10.0)
    assert base == pytest.approx(0.80)
    assert slower == pytest.approx(base, rel=1e-3)
    assert nas.reward(0.9, 5.0, target_ms=10.0, hard=True) == 0.9  # within the target: accuracy alone
    assert nas.reward(0.9, 20.0, target_ms=10.0, hard=True) == pytest.approx(0.45)  # beyond: w = −1
    with pytest.raises(ValueError, match="target_ms"):
        nas.reward(0.9, 1.0, target_ms=0)


def evaluations():
    fast = (nas.Stage(SEP, 3, 3, 16, 1),) * 3
    slow = (nas.Stage(INV, 5, 6, 64, 3),) * 3
    return [nas.Evaluation(fast, 0.90, 1.0, 0.0), nas.Evaluation(slow, 0.97, 3.0, 0.0)]


def test_soft_reward_ignores_the_target_and_the_hard_one_does_not():
    history = evaluations()
    soft = {t: nas.rescore(history, target_ms=t)[0].arch for t in (0.5, 2.0, 5.0)}
    assert len(set(soft.values())) == 1  # T^-w is a common factor: the soft ranking never changes with T
    assert nas.rescore(history, target_ms=5.0, hard=True)[0].accuracy == 0.97  # both within: the accurate one
    assert nas.rescore(history, target_ms=2.0, hard=True)[0].accuracy == 0.90  # T crosses 3 ms: the fast one


def test_build_matches_the_table_entries_and_runs():
    arch = nas.sample(random.Random(3))
    model = nas.build(arch)
    assert len(model) == len(nas.table_entries(arch))
    with torch.no_grad():
        assert model.eval()(torch.randn(2, 1, 16, 16)).shape == (2, 10)
    assert all(torch.equal(a, b) for a, b in zip(nas.build(arch).state_dict().values(), model.state_dict().values()))


def test_short_name_names_every_choice_that_exists():
    arch = (nas.Stage(SEP, 5, 6, 24, 2), nas.Stage(INV, 5, 6, 32, 1), nas.Stage(SHUF, 5, 6, 48, 2))
    assert nas.short_name(arch) == "sep5-24×2 | inv5t6-32×1 | shuf3-48×2"


def test_the_search_space_size_is_counted_not_multiplied():
    # (conv k3/k5, sep k3/k5, bot, inv k×t 4, shuf) = 10 options × 5 widths × 3 depths
    assert nas.choices_per_stage() == 150
    assert nas.space_size() == 945_000  # 35 non-decreasing width triples × (10 options × 3 depths)³


def test_the_space_holds_lesson_08s_hand_designs():
    assert set(nas.BLOCK_TYPES) == set(effedu.blocks.BLOCKS)  # the plain 3×3 network is a member
    for block in nas.BLOCK_TYPES:
        arch = nas.hand_design(block)
        hand, found = effedu.models.TinyNet(block), nas.build(arch)
        assert effedu.count_params(hand) == effedu.count_params(found), block
        assert effedu.count_macs(hand, nas.INPUT) == effedu.count_macs(found, nas.INPUT), block
    assert nas.short_name(nas.hand_design("plain 3×3")) == "conv3-16×1 | conv3-32×2 | conv3-64×2"


def test_sample_draws_every_block_option_equally_often():
    rng = random.Random(1)
    counts = {}
    for _ in range(3000):
        for stage in nas.sample(rng):
            key = (stage.block, stage.kernel_size, stage.expand_ratio)
            counts[key] = counts.get(key, 0) + 1
    assert len(counts) == 10  # each (block, kernel, expansion) the space holds
    assert max(counts.values()) < 1.2 * min(counts.values())  # drawing the block first made shuf 2.5× likelier


def test_sample_is_uniform_over_width_triples():
    rng = random.Random(0)
    counts = {}
    for _ in range(7000):
        widths = tuple(s.out_channels for s in nas.sample(rng))
        counts[widths] = counts.get(widths, 0) + 1
    assert len(counts) == 35
    assert counts[(16, 16, 16)] == pytest.approx(counts[(16, 24, 32)], rel=0.5)  # sorting would make it 6×


def test_mutate_changes_one_choice_and_keeps_widths_sorted():
    rng = random.Random(0)
    arch = nas.sample(rng)
    for _ in range(20):
        child = nas.mutate(arch, rng)
        assert child != arch
        assert [s.out_channels for s in child] == sorted(s.out_channels for s in child)
        assert sum(a != b for a, b in zip(arch, child)) >= 1
        arch = child


def test_table_round_trip_lookup_and_predictor_arithmetic(tmp_path, monkeypatch):
    monkeypatch.setattr(nas, "STARVED_CPU_SHARE", 0.0)  # a busy test machine must not stop the save (next test)
    arch = (nas.Stage(SEP, 3, 3, 16, 1), nas.Stage(INV, 5, 6, 24, 2), nas.Stage(SHUF, 3, 3, 32, 1))
    table = nas.LatencyTable(tmp_path / "table.json", budget_s=0.01)
    assert table.ensure([arch], progress=False) == len(nas.table_entries(arch))
    assert table.ensure([arch], progress=False) == 0  # nothing left to measure
    assert table.predict(arch) == pytest.approx(sum(table.entries[table.key(e)] for e in nas.table_entries(arch)))
    loaded = nas.LatencyTable(tmp_path / "table.json")
    assert loaded.entries == table.entries  # built once, loaded afterwards
    loaded.calibrate([arch], [2 * loaded.summed(arch)])
    assert loaded.predict(arch) == pytest.approx(2 * loaded.summed(arch))
    assert loaded.errors([arch], [loaded.predict(arch)]) == [pytest.approx(0.0)]
    assert loaded.errors([arch], [loaded.summed(arch)], calibrated=False) == [pytest.approx(0.0)]
    other = (nas.Stage(SEP, 5, 3, 64, 3),) * 3
    with pytest.raises(KeyError, match="ensure"):
        table.predict(other)
    assert table.lookup(other) > 0 and table.key(nas.table_entries(other)[1]) in table.entries  # measured on demand


def test_a_starved_table_is_used_but_not_saved(tmp_path, monkeypatch):
    monkeypatch.setattr(nas, "STARVED_CPU_SHARE", 2.0)  # every measurement counts as starved
    table = nas.LatencyTable(tmp_path / "table.json", budget_s=0.01)
    arch = (nas.Stage(SEP, 3, 3, 16, 1),) * 3
    with pytest.warns(effedu.timing.StarvedMeasurementWarning, match="not saved"):
        assert table.ensure([arch], progress=False) == len(nas.table_entries(arch))
    assert table.predict(arch) > 0 and not (tmp_path / "table.json").exists()


@pytest.mark.parametrize("field,value", [("machine", "somebody else's laptop"), ("format", "effedu latency table 2")])
def test_table_from_another_machine_or_format_is_not_used(tmp_path, field, value):
    path = tmp_path / "table.json"
    table = nas.LatencyTable(path)
    saved = {"format": table.format, "machine": table.machine, "entries": {"stem/1/16/16": 0.01}}
    path.write_text(json.dumps(saved))
    assert nas.LatencyTable(path).entries == {"stem/1/16/16": 0.01}  # the same machine's table is used …
    path.write_text(json.dumps({**saved, field: value}))
    assert nas.LatencyTable(path).entries == {}  # … another's is not


def test_table_key_changes_with_the_code(tmp_path, monkeypatch):
    before = nas.LatencyTable(tmp_path / "t.json").machine
    monkeypatch.setattr(nas, "code_version", lambda: "changed")
    assert nas.LatencyTable(tmp_path / "t.json").machine != before


def fake_accuracy(arch):  # deterministic, wider is better
    return 0.5 + sum(s.out_channels * s.depth for s in arch) / 1000


def fake_latency(arch):
    return 0.1 + sum(s.out_channels * s.depth * (2 if s.block == INV else 1) for s in arch) / 100


def test_search_is_deterministic_under_a_seed():
    runs = [nas.evolve(fake_accuracy, fake_latency, target_ms=1.0, cycles=8, seed=7, progress=False) for _ in range(2)]
    assert [e.arch for e in runs[0]] == [e.arch for e in runs[1]]
    assert len(runs[0]) == 6 + 8
    other = nas.evolve(fake_accuracy, fake_latency, target_ms=1.0, cycles=8, seed=8, progress=False)
    assert [e.arch for e in other] != [e.arch for e in runs[0]]
    start = (nas.Stage(SEP, 3, 3, 16, 1),) * 3
    seeded = nas.evolve(fake_accuracy, fake_latency, target_ms=1.0, cycles=2, seed=7, start=[start], progress=False)
    assert seeded[0].arch == start


def test_random_search_is_seeded_and_deterministic():
    first = nas.random_search(fake_accuracy, fake_latency, target_ms=1.0, evaluations=10, seed=3, progress=False)
    again = nas.random_search(fake_accuracy, fake_latency, target_ms=1.0, evaluations=10, seed=3, progress=False)
    assert [e.arch for e in first] == [e.arch for e in again] and len(first) == 10
    curve = nas.best_so_far(first)
    assert curve == sorted(curve) and curve[-1] == max(e.reward for e in first)


def test_random_search_from_the_same_start_draws_evolutions_initial_population():
    start = (nas.Stage(SEP, 3, 3, 16, 1),) * 3
    evolved = nas.evolve(fake_accuracy, fake_latency, target_ms=1.0, population=4, cycles=3, seed=5, start=[start],
                         progress=False)
    sampled = nas.random_search(fake_accuracy, fake_latency, target_ms=1.0, evaluations=7, seed=5, start=[start],
                                progress=False)
    assert [e.arch for e in sampled[:4]] == [e.arch for e in evolved[:4]] and sampled[0].arch == start
    assert len(sampled) == len(evolved) == 7  # the same budget


def test_paired_searches_share_start_budget_and_proxy():
    calls = []

    def counting_accuracy(arch):
        calls.append(arch)
        return fake_accuracy(arch)

    start = (nas.Stage(SEP, 3, 3, 16, 1),) * 3
    runs = nas.compare_searches(counting_accuracy, fake_latency, target_ms=1.0, seeds=range(3), evaluations=6,
                                population=3, start=[start], progress=False)
    assert len(runs.evolution) == len(runs.random) == 3
    assert all(len(h) == 6 and h[0].arch == start for h in runs.evolution + runs.random)
    assert all(e[:3] == r[:3] for e, r in zip(runs.evolution, runs.random))  # the same start, seed by seed
    frame = runs.frame()
    assert list(frame.index) == [0, 1, 2]
    assert list(frame["evolution"]) == [max(e.reward for e in h) for h in runs.evolution]
    assert len(runs.everything()) == 36 and len(calls) == 36  # the caller's proxy caches, not compare_searches
    finds = runs.finds()
    assert 1 <= len(finds) <= 2 and all(a in {e.arch for e in runs.everything()} for a in finds.values())
    with pytest.raises(ValueError, match="evaluations must exceed population"):
        nas.compare_searches(fake_accuracy, fake_latency, target_ms=1.0, seeds=[0], evaluations=3, population=3)


def test_finds_name_one_network_when_both_searches_found_it():
    arch = (nas.Stage(SEP, 3, 3, 16, 2),) * 3
    best = nas.Evaluation(arch, 0.9, 1.0, 0.9)
    worse = nas.Evaluation((nas.Stage(SHUF, 3, 3, 16, 1),) * 3, 0.5, 1.0, 0.5)
    both = nas.PairedSearches([0], [[worse, best]], [[best, worse]], 2)
    assert both.finds() == {"NAS: both searches' find": arch}
    apart = nas.PairedSearches([0], [[worse, best]], [[worse]], 2)
    assert set(apart.finds()) == {"NAS: evolution's find", "NAS: random search's find"}


def test_remeasured_spread_is_the_scatter_of_two_interleaved_halves():
    import pandas as pd
    from effedu.timing import LatencyResult

    def result(samples):
        return LatencyResult(samples=samples, threads=1, device="cpu", number=1, warmup=0)

    # even rounds' minimum 1.0, odd rounds' 1.1 / 1.0 / 0.9: changes +10 %, 0 %, −10 % → median distance 10 %
    results = {"a": result([1.0, 1.1, 1.2, 1.3]), "b": result([1.0, 1.0, 1.1, 1.2]), "c": result([1.0, 0.9, 1.1, 1.0])}
    frame = pd.DataFrame(index=list(results))
    frame.attrs["results"] = results
    assert nas.remeasured_spread(frame) == pytest.approx(0.1)
    frame.attrs["results"] = {**results, "a": result([1.0])}
    with pytest.raises(ValueError, match="2 rounds"):
        nas.remeasured_spread(frame)


def test_reseeded_proxy_keeps_the_searchs_number_and_caches_the_others():
    generator = torch.Generator().manual_seed(0)
    data = torch.utils.data.TensorDataset(torch.randn(64, 1, 16, 16, generator=generator),
                                          torch.randint(0, 10, (64,), generator=generator))
    proxy = nas.TrainingProxy(data, data, epochs=1)
    arch = (nas.Stage(SEP, 3, 3, 16, 1),) * 3
    scores = proxy.reseeded(arch, [0, 1, 2])
    assert scores[0] == proxy(arch) and len(proxy.cache) == 1 and len(proxy.other_seeds) == 2
    assert proxy.reseeded(arch, [2]) == [scores[2]]  # cached: no second training


def test_ranked_history_holds_each_architecture_once():
    arch = (nas.Stage(SEP, 3, 3, 16, 2),) * 3
    history = [nas.Evaluation(arch, 0.9, 1.0, 0.9), nas.Evaluation(arch, 0.9, 1.0, 0.9)] + evaluations()
    ranked = nas.rescore(history, target_ms=1.0)
    assert len(ranked) == 3 and len({e.arch for e in ranked}) == 3
    assert list(nas.history_frame(history).index).count(nas.short_name(arch)) == 1


def test_stage_validation():
    with pytest.raises(ValueError, match="block must be one of"):
        nas.Stage("dense", 3, 3, 16, 1)
    with pytest.raises(ValueError, match="out_channels must be a positive even number"):
        nas.Stage(SEP, 3, 3, 15, 1)


def test_choices_a_block_lacks_do_not_make_new_networks():
    assert nas.Stage(SHUF, 5, 6, 32, 1) == nas.Stage(SHUF, 3, 3, 32, 1)
    assert nas.Stage(SEP, 5, 6, 32, 1) == nas.Stage(SEP, 5, 3, 32, 1)
    assert nas.Stage(INV, 5, 6, 32, 1) != nas.Stage(INV, 5, 3, 32, 1)


def test_the_table_lives_in_the_cache_folder_the_environment_names(monkeypatch, tmp_path):
    monkeypatch.setenv("EFFEDU_CACHE", str(tmp_path))
    assert nas.LatencyTable().path == tmp_path / "latency_table.json"


@pytest.mark.slow
def test_training_proxy_scores_on_validation_never_on_test():
    train, test = effedu.data.digits(size=16)
    fit_on, validation = effedu.data.holdout(train, 0.2)
    seen = []

    class Spy(nas.TrainingProxy):
        def __call__(self, arch):
            seen.append((id(self.train), id(self.validation)))
            return super().__call__(arch)

    proxy = Spy(fit_on, validation, epochs=2)
    arch = (nas.Stage(SEP, 3, 3, 16, 1), nas.Stage(SEP, 3, 3, 24, 1), nas.Stage(SEP, 3, 3, 32, 1))
    first = proxy(arch)
    assert first > 0.3 and proxy(arch) == first and len(proxy.cache) == 1
    assert {pair for pair in seen} == {(id(fit_on), id(validation))} and id(test) not in seen[0]
    images = lambda d: {tuple(x.flatten().tolist()) for x in d.tensors[0]}  # noqa: E731
    assert not images(fit_on) & images(validation) and not images(validation) & images(test)
