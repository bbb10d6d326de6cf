import random

import pytest
import torch

import effedu
from effedu import nas


def test_reward_twice_as_slow_needs_five_percent_more_accuracy():
    base = nas.reward(0.80, 10.0, target=10.0)
    slower = nas.reward(0.80 * 1.05, 20.0, target=10.0)
    assert base == pytest.approx(0.80)
    assert slower == pytest.approx(base, rel=1e-3)
    assert nas.reward(0.9, 5.0, target=10.0, hard=True) == 0.9  # within the target: accuracy alone
    assert nas.reward(0.9, 20.0, target=10.0, hard=True) == pytest.approx(0.45)  # beyond: w = −1
    with pytest.raises(ValueError, match="target"):
        nas.reward(0.9, 1.0, target=0)


def test_build_matches_the_layout_and_runs():
    arch = nas.sample(random.Random(3))
    model = nas.build(arch)
    assert len(model) == len(nas._layout(arch))
    with torch.no_grad():
        assert model.eval()(torch.randn(2, 1, 16, 16)).shape == (2, 10)
    assert all(torch.equal(a, b) for a, b in zip(nas.build(arch).state_dict().values(), model.state_dict().values()))


def test_mutate_changes_one_choice_and_keeps_widths_sorted():
    rng = random.Random(0)
    arch = nas.sample(rng)
    for _ in range(20):
        child = nas.mutate(arch, rng)
        assert child != arch
        assert [s.width for s in child] == sorted(s.width for s in child)
        arch = child


def test_table_round_trip_and_predictor_arithmetic(tmp_path):
    arch = (nas.Stage("separable", 3, 3, 16, 1), nas.Stage("inverted", 5, 6, 24, 2), nas.Stage("shufflev2", 3, 3, 32, 1))
    table = nas.LatencyTable(tmp_path / "table.json", budget_s=0.01)
    assert table.ensure([arch], progress=False) == len(nas._layout(arch))
    assert table.ensure([arch], progress=False) == 0  # nothing left to measure
    assert table.predict(arch) == pytest.approx(sum(table.entries[table.key(e)] for e in nas._layout(arch)))
    loaded = nas.LatencyTable(tmp_path / "table.json")
    assert loaded.entries == table.entries  # built once, loaded afterwards
    loaded.calibrate([arch], [2 * loaded.summed(arch)])
    assert loaded.predict(arch) == pytest.approx(2 * loaded.summed(arch))
    other = (nas.Stage("separable", 5, 3, 64, 3),) * 3
    with pytest.raises(KeyError, match="ensure"):
        table.predict(other)


def test_table_from_another_machine_is_not_used(tmp_path):
    path = tmp_path / "table.json"
    path.write_text('{"machine": "somebody else\'s laptop", "entries": {"stem/1/16/16": 0.01}}')
    assert nas.LatencyTable(path).entries == {}


def test_search_is_deterministic_under_a_seed():
    def fake_accuracy(arch):  # deterministic, wider is better
        return 0.5 + sum(s.width * s.depth for s in arch) / 1000

    def fake_latency(arch):
        return 0.1 + sum(s.width * s.depth * (2 if s.block == "inverted" else 1) for s in arch) / 100

    runs = [nas.evolve(fake_accuracy, fake_latency, target=1.0, cycles=8, seed=7, progress=False) for _ in range(2)]
    assert [c.arch for c in runs[0]] == [c.arch for c in runs[1]]
    assert len(runs[0]) == 6 + 8
    other = nas.evolve(fake_accuracy, fake_latency, target=1.0, cycles=8, seed=8, progress=False)
    assert [c.arch for c in other] != [c.arch for c in runs[0]]
    best = nas.rescore(runs[0], target=0.5, hard=True)
    assert best[0].reward == max(c.reward for c in best)


def test_stage_validation():
    with pytest.raises(ValueError, match="block must be one of"):
        nas.Stage("dense", 3, 3, 16, 1)
    with pytest.raises(ValueError, match="width must be a positive even number"):
        nas.Stage("separable", 3, 3, 15, 1)


def test_default_cache_dir_honours_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("EFFEDU_CACHE", str(tmp_path))
    assert nas.default_cache_dir() == tmp_path


def test_training_proxy_caches_and_is_far_above_chance():
    train, test = effedu.data.digits(size=16)
    proxy = nas.TrainingProxy(train, test, epochs=2)
    arch = (nas.Stage("separable", 3, 3, 16, 1), nas.Stage("separable", 3, 3, 24, 1), nas.Stage("separable", 3, 3, 32, 1))
    first = proxy(arch)
    assert first > 0.3 and proxy(arch) == first and len(proxy.cache) == 1


def test_choices_a_block_lacks_do_not_make_new_networks():
    assert nas.Stage("shufflev2", 5, 6, 32, 1) == nas.Stage("shufflev2", 3, 3, 32, 1)
    assert nas.Stage("separable", 5, 6, 32, 1) == nas.Stage("separable", 5, 3, 32, 1)
    assert nas.Stage("inverted", 5, 6, 32, 1) != nas.Stage("inverted", 5, 3, 32, 1)
