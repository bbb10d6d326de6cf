"""The explorer: re-measures on a change, shows every error in the widget, merges changes that arrive while it
measures, and stays within a bound on forward passes at every lesson's most expensive setting."""
import time

import ipywidgets as widgets
import pytest
import torch
from helpers import small_cnn
from torch import nn

import effedu
from effedu import explorers
from effedu.widgets import Explorer


def grouped_conv_explorer(**kwargs):
    return Explorer({"groups": widgets.IntSlider(value=1, min=1, max=8),
                     "threads": widgets.IntSlider(value=1, min=1, max=2)},
                    lambda groups: {"dense": nn.Conv2d(24, 24, 1), "grouped": nn.Conv2d(24, 24, 1, groups=groups)},
                    x=(1, 24, 8, 8), budget_s=0.05, repeats=3, **kwargs)


def test_slider_change_remeasures():
    explorer = grouped_conv_explorer()
    assert explorer.result.loc["grouped", "macs"] == 24 * 24 * 64
    assert not explorer.controls["groups"].continuous_update
    explorer.controls["groups"].value = 4
    assert explorer.result.loc["grouped", "macs"] == 24 * 24 * 64 // 4
    assert "groups=4" in explorer.status.value and "<table" in explorer.table.value
    assert bytes(explorer.figure.value).startswith(b"\x89PNG")
    explorer.controls["threads"].value = 2
    assert explorer.result.attrs["threads"] == 2


def test_impossible_combination_shows_error_in_widget():
    explorer = grouped_conv_explorer()
    explorer.controls["groups"].value = 5  # 24 channels cannot split into 5 groups
    assert explorer.result is None and "groups" in explorer.error
    assert "Cannot measure" in explorer.status.value and explorer.table.value == ""
    explorer.controls["groups"].value = 3
    assert explorer.error is None and explorer.result.loc["grouped", "macs"] == 24 * 24 * 64 // 3


@pytest.mark.parametrize("stage", ["build", "measure", "describe", "plot"])
def test_an_error_in_any_stage_shows_in_the_widget(stage, monkeypatch):
    class Broken(nn.Module):
        def forward(self, x):
            raise ZeroDivisionError("inside the model")

    def build(c):
        if stage == "build":
            raise KeyError("no such block")
        return {"a": nn.Conv2d(c, c, 1), "b": Broken() if stage == "measure" else nn.Conv2d(c, c, 1)}

    def describe(result, candidates, c):
        if stage == "describe":
            raise IndexError("describe failed")
        return "fine"

    if stage == "plot":
        monkeypatch.setitem(effedu.widgets.PLOTS, "bars", lambda *a, **k: 1 / 0)
    explorer = Explorer({"c": widgets.IntSlider(value=8, min=8, max=16)}, build, x=(1, 8, 4, 4), budget_s=0.02,
                        repeats=3, describe=describe)
    assert explorer.error is not None and "measuring" not in explorer.status.value
    assert "Cannot measure c=8" in explorer.status.value
    assert not explorer.result_box._dom_classes or "effedu-stale" not in explorer.result_box._dom_classes


def test_missing_x_and_bad_plot_name():
    explorer = Explorer({"c": widgets.IntSlider(value=8, min=8, max=16)}, lambda c: {"conv": nn.Conv2d(c, c, 3)},
                        x=None, budget_s=0.02, repeats=3, plot="distribution")
    assert explorer.error and "x is missing" in explorer.error
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle and "text/html" in bundle
    with pytest.raises(ValueError, match="plot must be one of"):
        Explorer({}, lambda: {}, plot="pie")


def test_summary_formats_values_for_people():
    explorer = Explorer({"target": widgets.FloatSlider(value=0.76, min=0.1, max=1.0, step=0.03)},
                        lambda target: {"conv": nn.Conv2d(3, 3, 1)}, x=(1, 3, 4, 4), budget_s=0.02, repeats=3)
    explorer.controls["target"].value = 0.1 + 0.03 * 22  # 0.7600000000000001 in floating point
    assert "target=0.76 " in explorer.status.value and "0.7600000000000001" not in explorer.status.value


def test_changes_arriving_while_it_measures_are_merged():
    class Slow(nn.Module):
        def forward(self, x):
            time.sleep(0.01)
            return x

    explorer = Explorer({"c": widgets.IntSlider(value=1, min=1, max=9)}, lambda c: {f"c={c}": Slow()},
                        x=(1, 4), budget_s=0.3, repeats=9, background=True)
    slider = explorer.controls["c"]
    slider.value = 2  # starts the worker …
    time.sleep(0.05)
    slider.value, slider.value, slider.value = 3, 4, 5  # … three key presses while it measures c=2
    explorer.wait()
    measured = [setting["c"] for setting in explorer.measured]
    assert measured == [1, 2, 5]  # the initial setting, the first change, then only the latest
    assert "c=5" in explorer.status.value


def count_forwards(explorer: Explorer, setting: dict) -> dict:
    """Forward passes per candidate for one update at ``setting``: a global hook counts the calls of each
    candidate's model on that candidate's input shape."""
    built = {}
    original = explorer.build

    def recording(**values):
        candidates = original(**values)
        for name, entry in candidates.items():
            model, x, *_ = entry if isinstance(entry, tuple) else (entry, explorer.x)  # (model, x[, threads])
            built[(id(model), tuple(x))] = name
        return candidates

    calls = {}
    explorer.build = recording

    def hook(module, args):
        name = built.get((id(module), tuple(args[0].shape))) if args and hasattr(args[0], "shape") else None
        if name is not None:
            calls[name] = calls.get(name, 0) + 1

    handle = torch.nn.modules.module.register_module_forward_pre_hook(hook)
    try:
        explorer.update({**explorer.values(), **setting})
    finally:
        handle.remove()
        explorer.build = original
    return calls


@pytest.mark.slow
@pytest.mark.parametrize("lesson", sorted(explorers.LESSON_EXPLORERS))
def test_every_lesson_explorer_bounds_its_forward_passes_at_its_most_expensive_setting(lesson):
    explorer = explorers.demo(lesson)
    assert explorer.error is None, explorer.error
    calls = count_forwards(explorer, explorers.MOST_EXPENSIVE[lesson])
    assert explorer.error is None, explorer.error
    rounds = explorer.result.attrs["rounds"]
    assert 1 <= rounds <= explorer.repeats  # fixed before sampling: fewer for a slow setting, never more
    for name, forwards in calls.items():
        number = explorer.result.attrs["results"][name].number
        assert forwards <= 1 + rounds * number, (name, forwards)  # one warm-up run, then the rounds
        if number > 1:
            continue  # a cheap candidate: many runs per sample
        assert forwards <= 1 + explorer.repeats  # an expensive one: never more than one run per round
    assert not any(isinstance(v, float) and len(repr(v)) > 12 for v in explorer.values().values())


@pytest.mark.slow
@pytest.mark.parametrize("lesson", sorted(explorers.LESSON_EXPLORERS))
def test_every_lesson_explorer_answers_every_option_of_every_control(lesson):
    # a student who picks groups=1 must get a ranking, not "Cannot measure" (a bug the browser test once found)
    explorer = explorers.demo(lesson)
    explorer.background, explorer.budget_s = False, 0.05  # few rounds: this checks answers, not timings
    for setting in list(explorer.single_changes()):
        explorer.update(setting)
        assert explorer.error is None, (setting, explorer.error)
        assert "effedu-summary" in explorer.status.value, setting


def test_meta_counts_match_real_counts():
    from effedu.counting import count_fast, record_ops
    for model, shape in ((small_cnn(), (1, 3, 16, 16)), (effedu.models.mobilenet_v2(0.5), (1, 3, 64, 64)),
                         (effedu.blocks.ShuffleNetV2Unit(24, 24), (1, 24, 8, 8))):
        meta, real = count_fast(model, shape), record_ops(model, shape)
        assert [(r.op, r.macs, r.bytes) for r in meta] == [(r.op, r.macs, r.bytes) for r in real]


def test_capstone_explorer_labels_the_switches_that_change_the_macs():
    # lesson 10: "1 group, not 8" is G2 at 8× those convs' MACs, "balanced widths" G1 at ¼ — the labels must say so
    explorer = explorers.capstone()
    labels = {name: control.description for name, control in explorer.controls.items()}
    assert "¼ their MACs" in labels["balanced"] and "8× their MACs" in labels["one_group"]
    assert "MACs" not in labels["one_branch"]  # G3's switch is at equal MACs

    def macs(net, layers, shapes):
        return sum(effedu.count_macs(net[i], shape) for i, shape in zip(layers, shapes))
    slow = effedu.models.slow_digits_net()
    pair_shapes = [(1, 32, 16, 16), (1, 256, 16, 16)]
    narrowed = macs(effedu.models.slow_digits_net(balanced=True), (6, 9), [(1, 32, 16, 16), (1, 64, 16, 16)])
    assert narrowed * 4 == macs(slow, (6, 9), pair_shapes)
    grouped_shapes = [(1, 96, 8, 8)] * 2
    assert macs(effedu.models.slow_digits_net(groups=1), (15, 18), grouped_shapes) == 8 * macs(slow, (15, 18),
                                                                                                grouped_shapes)
    explorer.background, explorer.budget_s = False, 0.05
    explorer.update({**explorer.values(), "one_group": True})
    assert explorer.error is None and "MACs: ×1.11 the slow network" in explorer.status.value


def test_a_thread_comparison_is_interleaved_and_named_in_the_settings_line():
    explorer = Explorer({"n": widgets.IntSlider(value=2, min=2, max=2)},
                        lambda n: {"1 thread": (nn.Conv2d(8, 8, 3), (1, 8, 16, 16), 1),
                                   f"{n} threads": (nn.Conv2d(8, 8, 3), (1, 8, 16, 16), n)},
                        budget_s=0.05, repeats=6)
    assert explorer.error is None, explorer.error
    results = explorer.result.attrs["results"]
    assert results["1 thread"].threads == 1 and results["2 threads"].threads == 2
    assert "n=2 · 1 against 2 CPU threads" in explorer.status.value


@pytest.mark.slow
def test_lesson_00_explorer_compares_threads_only_where_they_matter(monkeypatch):
    monkeypatch.setattr(explorers, "available_cores", lambda: 2)
    explorer = explorers.three_goals()
    explorer.budget_s = 0.05
    assert "cpu_threads" in explorer.controls and "one CPU thread" in explorer.status.value
    assert [value for _, value in explorer.controls["compare"].options] == ["batch", "threads"]
    explorer.update({**explorer.values(), "compare": "threads", "resolution": 96, "batch": 1})
    assert explorer.error is None, explorer.error
    assert list(explorer.result.index) == ["1 thread", "2 threads"]  # the slider at 1: all usable cores
    monkeypatch.setattr(explorers, "available_cores", lambda: 1)
    alone = explorers.three_goals()
    assert "cpu_threads" not in alone.controls and alone.controls["compare"].disabled


def test_lesson_00_explorer_has_no_threads_control_on_a_gpu(monkeypatch):
    monkeypatch.setattr(explorers, "available_cores", lambda: 8)
    words = {}
    monkeypatch.setattr(effedu.widgets, "device_words", lambda device, threads=1: words.setdefault(
        "said", "the GPU (Fake)"))

    class NoMeasure(Explorer):  # the GPU is not here: check the controls and the settings line only
        def update(self, values=None):
            values = dict(self.values() if values is None else values)
            self.status.value = self._settings(values, values.pop("threads", self.threads), self.device)

    monkeypatch.setattr(explorers, "Explorer", NoMeasure)
    explorer = explorers.three_goals(device="cuda")
    assert "cpu_threads" not in explorer.controls and explorer.controls["compare"].disabled
    assert explorer.status.value.endswith("· the GPU (Fake)")


def test_an_explorer_shows_the_code_that_builds_its_networks():
    def build(width):
        return {"narrow": torch.nn.Conv2d(3, width, 3)}  # the line a student changes

    code = effedu.widgets.source_block(build)
    assert code.startswith("<details") and "def build(width):" in code and "the line a student changes" in code
    assert effedu.widgets.source_block(len) == ""  # a built-in: no Python source to show
    explorer = Explorer({"width": widgets.IntSlider(value=4, min=4, max=8)}, build, x=(1, 3, 8, 8), budget_s=0.02,
                        repeats=2, background=False)
    assert explorer.code in explorer.widget.children and "def build(width):" in explorer.code.value
