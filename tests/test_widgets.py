import ipywidgets as widgets
from torch import nn

from effedu.widgets import Explorer


def grouped_conv_explorer():
    return Explorer({"groups": widgets.IntSlider(value=1, min=1, max=8), "threads": widgets.IntSlider(value=1, min=1, max=2)},
                    lambda groups: {"dense": nn.Conv2d(24, 24, 1), "grouped": nn.Conv2d(24, 24, 1, groups=groups)},
                    x=(1, 24, 8, 8), budget_s=0.02, repeats=3)


def test_slider_change_remeasures():
    explorer = grouped_conv_explorer()
    assert explorer.result.loc["grouped", "macs"] == 24 * 24 * 64
    assert not explorer.controls["groups"].continuous_update
    explorer.controls["groups"].value = 4
    assert explorer.result.loc["grouped", "macs"] == 24 * 24 * 64 // 4
    assert "groups=4" in explorer.status.value
    explorer.controls["threads"].value = 2
    assert explorer.result.attrs["threads"] == 2


def test_impossible_combination_shows_error_in_widget():
    explorer = grouped_conv_explorer()
    explorer.controls["groups"].value = 5  # 24 channels cannot split into 5 groups
    assert explorer.result is None
    assert "groups" in explorer.error
    assert "Cannot build" in explorer.status.value
    explorer.controls["groups"].value = 3
    assert explorer.error is None and explorer.result.loc["grouped", "macs"] == 24 * 24 * 64 // 3


def test_distribution_plot_and_display_bundle():
    explorer = Explorer({"c": widgets.IntSlider(value=8, min=8, max=16)}, lambda c: {"conv": nn.Conv2d(c, c, 3)},
                        x=None, budget_s=0.02, repeats=3, plot="distribution")
    assert explorer.error and "x is missing" in explorer.error
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
