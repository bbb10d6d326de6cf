import pytest
import torch
from torch import nn

import effedu
from effedu import models


def test_digits_and_holdout_splits():
    train, test = effedu.data.digits()
    assert len(train) + len(test) == 1797 and train[0][0].shape == (1, 8, 8)
    assert 0.0 <= float(train.tensors[0].min()) and float(train.tensors[0].max()) <= 1.0
    rest, held = effedu.data.holdout(train, 0.25)
    assert len(rest) + len(held) == len(train) and len(held) == round(0.25 * len(train))
    with pytest.raises(ValueError, match="test_fraction"):
        effedu.data.digits(test_fraction=1.5)
    with pytest.raises(ValueError, match="size"):
        effedu.data.digits(size=4)
    with pytest.raises(ValueError, match="fraction"):
        effedu.data.holdout(train, 0)


@pytest.mark.slow
def test_seeded_training_repeats_and_leaves_the_global_generator_alone(monkeypatch):
    monkeypatch.delenv(effedu.timing.BUDGET_SCALE_VARIABLE, raising=False)  # every batch: the accuracy is asserted
    train, test = effedu.data.digits()
    torch.manual_seed(7)
    expected = torch.rand(1)
    torch.manual_seed(7)
    first = effedu.training.fit(models.digits_cnn(seed=0), train, epochs=4, seed=0, progress=False)
    assert torch.equal(torch.rand(1), expected)
    second = effedu.training.fit(models.digits_cnn(seed=0), train, epochs=4, seed=0, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), second.state_dict().values()))
    assert effedu.training.accuracy(first, test) > 0.4  # far above chance (0.1); about 0.75 after 4 epochs
    with pytest.raises(ValueError, match="epochs"):
        effedu.training.fit(models.digits_cnn(), train, epochs=0)


@pytest.mark.slow
def test_train_and_measure_far_above_chance(monkeypatch):
    monkeypatch.delenv(effedu.timing.BUDGET_SCALE_VARIABLE, raising=False)  # every batch: the accuracy is asserted
    train, test = effedu.data.digits(size=16)
    frame = effedu.training.train_and_measure({"plain": models.TinyNet("plain 3×3", widths=(8, 16, 16)),
                                               "separable": models.TinyNet("separable", widths=(8, 16, 16))},
                                              train, test, epochs=3, budget_s=0.02)
    assert set(frame.index) == {"plain", "separable"}
    assert (frame["accuracy"] > 0.4).all()  # chance is 0.1; seeded, but never asserted exactly
    assert {"median_ms", "macs", "params"} <= set(frame.columns)
    with pytest.raises(ValueError, match="at least one"):
        effedu.training.train_and_measure({}, train, test)


def test_with_accuracy_records_the_split_and_its_size():
    import pandas as pd

    train, held_out = effedu.data.digits(size=8)
    validation, test = effedu.data.holdout(held_out, fraction=0.5)
    assert len(validation) + len(test) == len(held_out) and abs(len(validation) - len(test)) <= 1
    net = models.digits_cnn(seed=0)
    frame = pd.DataFrame({"ratio": [1.0, 1.0]}, index=["a", "b"])
    frame.attrs["results"] = "kept"
    measured = effedu.training.with_accuracy(frame, {"a": net, "b": net}, validation)
    assert measured.attrs == {"results": "kept", "accuracy_n": len(validation), "accuracy_split": "validation"}
    assert measured.loc["a", "accuracy"] == effedu.training.accuracy(net, validation)
    assert "accuracy" not in frame.columns  # the frame passed in is not changed
    with pytest.raises(ValueError, match="missing"):
        effedu.training.with_accuracy(frame, {"a": net}, validation)


def test_train_and_measure_trains_on_the_threads_it_is_given(monkeypatch):
    train, test = effedu.data.digits(size=16)
    small = torch.utils.data.TensorDataset(train.tensors[0][:32], train.tensors[1][:32])
    seen = []

    def recording_fit(model, data, **kwargs):
        seen.append(torch.get_num_threads())
        return model.eval()

    monkeypatch.setattr(effedu.training, "fit", recording_fit)
    before = torch.get_num_threads()
    effedu.training.train_and_measure({"plain": models.TinyNet("plain 3×3", widths=(8, 8, 8))}, small, small,
                                      budget_s=0.01, train_threads=1)
    assert seen == [1] and torch.get_num_threads() == before  # restored afterwards


def test_under_a_budget_scale_each_epoch_trains_on_that_share_of_its_batches(monkeypatch):
    data = torch.utils.data.TensorDataset(torch.randn(100, 1, 4, 4), torch.randint(0, 2, (100,)))
    seen = []
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    model.register_forward_hook(lambda module, args, out: seen.append(len(args[0])))
    monkeypatch.setenv(effedu.timing.BUDGET_SCALE_VARIABLE, "0.3")
    effedu.training.fit(model, data, epochs=2, batch_size=10, progress=False)
    assert len(seen) == 2 * 3  # ceil(10 batches × 0.3) per epoch
    seen.clear()
    monkeypatch.delenv(effedu.timing.BUDGET_SCALE_VARIABLE)
    effedu.training.fit(model, data, epochs=2, batch_size=10, progress=False)
    assert len(seen) == 2 * 10
