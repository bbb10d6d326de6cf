"""Every figure draws from what a profiler returns, without pyplot; the numbers a lesson reads off a plot are
the ones the plot draws."""
import pandas as pd
import pytest
import torch
from helpers import frame_from
from torch import nn

import effedu
from effedu import blocks, plots
from effedu.timing import sweep


def test_plots_return_figures():
    frame = effedu.compare_latency({"a": nn.Conv2d(3, 4, 3), "b": nn.Conv2d(3, 8, 3)}, (1, 3, 8, 8), repeats=3,
                                   budget_s=0.01)
    for figure in (plots.latency_bars(frame), plots.latency_distribution(frame), plots.three_goals(frame),
                   plots.macs_vs_latency(frame), plots.sample_trace(frame),
                   plots.singular_values({"w": torch.randn(4, 3, 3, 3)}),
                   plots.connectivity_maps({"x": torch.ones(3, 3, dtype=torch.bool), "y": torch.eye(3).bool()}),
                   plots.connectivity_maps({"only": torch.eye(3).bool()}),
                   plots.relative_speed(pd.DataFrame({"here": [1.0, 0.5]}, index=["g=1", "g=8"]))):
        assert figure.axes
    layers = effedu.profile_layers(blocks.DepthwiseSeparable(8, 16), (1, 8, 8, 8), repeats=2)
    assert plots.roofline(layers, {"peak_gflops": 50.0, "bandwidth_gbs": 5.0, "threads": 1}).axes
    swept = sweep([{"c": 8}], lambda c: {"x": (nn.Conv2d(c, c, 1), (1, c, 4, 4)),
                                        "y": (nn.Conv2d(c, c, 1, groups=2), (1, c, 4, 4))},
                  progress=False, repeats=3, budget_s=0.01)
    assert plots.ratio_sweep(swept, x="c", series="c", candidate="y").axes


def test_latency_bars_label_each_bar_with_its_paired_ratio():
    frame = frame_from({"base": [10.0] * 5, "half": [5.0] * 5})
    texts = [t.get_text() for t in plots.latency_bars(frame).axes[0].texts]
    assert any("×0.5" in t for t in texts) and any("×1" in t for t in texts)


def test_share_bars_and_g1_memory_draw_the_counted_points():
    table = pd.DataFrame({"macs_share": [0.6, 0.4], "time_share": [0.3, 0.7]}, index=["rdcl", "rest"])
    assert len(plots.share_bars(table).axes[0].patches) == 4
    counted = pd.DataFrame({"width_ratio": [1.0, 12.0], "elements": [819_200, 1_483_200], "c1": [128, 36],
                            "c2": [128, 432]})
    figure = plots.g1_memory(counted, 56 * 56, 128 * 128)
    offsets = figure.axes[0].collections[0].get_offsets()
    assert offsets[:, 1].tolist() == [819_200, 1_483_200]


def test_accuracy_latency_draws_the_front():
    frame = pd.DataFrame({"median_ms": [1.0, 2.0, 3.0, 2.5], "accuracy": [0.8, 0.9, 0.85, 0.95]},
                         index=["fast", "mid", "dominated", "best"])
    figure = plots.accuracy_latency({"all": frame})
    front_line = [line for line in figure.axes[0].lines if line.get_label() == "Pareto front"][0]
    assert list(front_line.get_xdata()) == [1.0, 2.0, 2.5]


def test_predicted_vs_measured_counts_the_band():
    figure = plots.predicted_vs_measured([1.0, 2.1, 2.9], [1.0, 2.0, 3.5])
    assert len(figure.axes) == 2 and "67 %" in figure.texts[0].get_text()
    with pytest.raises(ValueError, match="equally long"):
        plots.predicted_vs_measured([1.0], [1.0, 2.0])


def test_search_progress_draws_one_line_per_search():
    figure = plots.search_progress({"evolution": [0.5, 0.6, 0.6], "random": [0.4, 0.55, 0.58]})
    assert [line.get_label() for line in figure.axes[0].lines] == ["evolution", "random"]


def test_search_progress_draws_every_seed_and_the_start():
    figure = plots.search_progress({"evolution": [[0.5, 0.6], [0.5, 0.7], [0.5, 0.5]], "random": [[0.5, 0.55]] * 3},
                                   reference=("level 0", 0.5))
    lines = figure.axes[0].lines
    assert len(lines) == 3 + 3 + 1  # one thin line per seed, and the start's reward
    legend = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert legend == ["evolution (3 seeds)", "random (3 seeds)", "level 0"]


def test_long_names_are_shortened_in_plots_not_in_tables():
    long = "pick: inv5t6-64×3 | inv5t6-64×3 | shuf3-64×3 and something more"
    assert plots.short_label("short") == "short"
    short = plots.short_label(long)
    assert len(short) == plots.LABEL_CHARS and short.startswith("pick: inv5t6") and short.endswith("more")
    frame = frame_from({"reference": [1.0, 1.1, 1.0], long: [2.0, 2.1, 2.2]})
    labels = [t.get_text() for t in plots.latency_bars(frame).axes[0].get_yticklabels()]
    assert short in labels and long not in labels and long in frame.index


def test_series_differ_in_colour_marker_and_line_style():
    first_four = [plots.series_style(i) for i in range(4)]
    for attribute in ("color", "marker", "linestyle"):
        assert len({style[attribute] for style in first_four}) == 4
    assert plots.PALETTE[0] == "#0072B2"  # Okabe & Ito's blue


def test_package_plots_never_fall_back_to_default_colours():
    import pathlib
    import re

    for source in pathlib.Path(plots.__file__).parent.glob("*.py"):
        assert not re.search(r"color=f?[\"']C\{?\d", source.read_text(encoding="utf-8")), source.name


def test_a_figure_describes_itself_for_screen_readers_and_alt_text():
    fig = plots.relative_speed(pd.DataFrame({"speed": [1.0, 1.4]}, index=["a", "b"]), title="Two networks")
    text = repr(fig)
    assert text.startswith("Figure: ") and "Two networks" in text and "<Figure size" not in text


def test_the_static_edition_gives_every_figure_alt_text():
    import base64

    import nbformat

    from effedu import lessons
    fig = plots.relative_speed(pd.DataFrame({"speed": [1.0, 1.4]}, index=["a", "b"]), title="Two networks")
    output = nbformat.v4.new_output("display_data", data={
        "image/png": base64.b64encode(plots.png_bytes(fig)).decode(), "text/plain": repr(fig)})
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 99 · A test"),
                                               nbformat.v4.new_code_cell("fig", outputs=[output])])
    page = lessons.static_page(notebook, "a machine")
    assert 'alt="Figure: Two networks' in page
