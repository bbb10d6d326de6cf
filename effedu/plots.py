"""The shared figures. Each function takes the data a profiler returned and an optional ``ax``; it returns
the matplotlib ``Figure``, made without pyplot (so a notebook shows it once — by displaying the return value — and
an explorer can draw one from its worker thread)."""
from __future__ import annotations

import base64
import html
import io

import numpy as np
import pandas as pd
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .machine import device_words
from .profiling import achieved_gflops
from .timing import LatencyResult
from ._text import num, pct
from .stats import median_interval, pareto_front, quartiles

# Okabe & Ito's colour-blind-safe palette (blue, orange, bluish green, vermillion, reddish purple, sky blue, yellow,
# black); every multi-series plot also tells its series apart by marker or line style, never by colour alone.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES = ("-", "--", "-.", ":")
_BAR = PALETTE[0]
_HIGHLIGHT = PALETTE[1]


def series_style(i: int) -> dict:
    """The i-th series' colour, marker and line style: distinct in all three, so that a reader who does not tell
    the colours apart still tells the series apart."""
    return {"color": PALETTE[i % len(PALETTE)], "marker": MARKERS[i % len(MARKERS)],
            "linestyle": LINESTYLES[i % len(LINESTYLES)]}


class DescribedFigure(Figure):
    """A matplotlib ``Figure`` whose text form describes it — its titles, axis labels and legend entries — instead of
    "<Figure size 640x480 with 1 Axes>": a notebook's plain-text output (what a screen reader reads) and the alt
    text of the HTML edition (``lessons.static_page``)."""

    def __repr__(self) -> str:
        return describe(self)


def describe(fig: Figure) -> str:
    """One sentence from a figure's own texts: 'Figure: <title>; x: <label>; y: <label>; series: a, b'."""
    parts = [fig._suptitle.get_text()] if getattr(fig, "_suptitle", None) is not None else []
    for ax in fig.axes:
        legend = ax.get_legend()
        parts += [text for text in (ax.get_title(), ax.get_xlabel() and f"x: {ax.get_xlabel()}",
                                    ax.get_ylabel() and f"y: {ax.get_ylabel()}") if text]
        if legend is not None:
            parts.append("series: " + ", ".join(t.get_text() for t in legend.get_texts()))
    return "Figure: " + ("; ".join(p for p in parts if p) or "a plot")


def _patterned(ax: Axes) -> None:
    """Grouped bars whose series differ in hatch pattern as well as colour (and a legend that shows both)."""
    for bars, hatch in zip(ax.containers, ("", "//", "..", "xx", "\\\\", "++")):
        for bar in bars:
            bar.set_hatch(hatch)
    if len(ax.containers) > 1:
        ax.legend()


def _figure(figsize, ncols: int = 1, **kwargs):
    """A figure with ``ncols`` axes side by side, outside pyplot's state machine."""
    fig = DescribedFigure(figsize=figsize)
    return fig, fig.subplots(1, ncols, **kwargs)


LABEL_CHARS = 32  # longer candidate names are shortened in plots (the tables keep them whole)


def short_label(name: object, limit: int = LABEL_CHARS) -> str:
    """A label that fits a plot: long names keep their start and end around an ellipsis."""
    text = str(name)
    if len(text) <= limit:
        return text
    head = (limit - 1) * 2 // 3
    return text[:head] + "…" + text[-(limit - 1 - head):]


def _width(names, base: float = 6.0) -> float:
    """Figure width that leaves the label area room for the (shortened) labels."""
    return base + 0.07 * max((len(short_label(n)) for n in names), default=0)


def _axes(ax, figsize):
    if ax is not None:
        return ax.figure, ax
    return _figure(figsize)


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG (90 dpi): for an explorer's image widget and for standalone HTML pages."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()


def html_image(png: bytes, alt: str = "") -> str:
    """An <img> tag that carries the PNG inside it, so the page needs no other file."""
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{base64.b64encode(png).decode()}'>"


def _finish(fig: Figure, ax: Axes, xlabel: str, ylabel: str, title: str, *, from_zero: bool = False,
            legend_size: int = 8) -> Figure:
    """Labels, a legend, a title and a tight layout; ``from_zero`` starts the y axis at 0 (so heights compare
    honestly)."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if from_zero:
        ax.set_ylim(bottom=0)
    ax.legend(fontsize=legend_size)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def _results(data) -> dict:
    """{name: LatencyResult} from a compare_latency frame, one LatencyResult, or a list of them."""
    if isinstance(data, pd.DataFrame):
        return data.attrs["results"]
    if isinstance(data, LatencyResult):
        data = [data]
    return {result.name or f"run {i + 1}": result for i, result in enumerate(data)}


def latency_bars(frame: pd.DataFrame, ax: Axes | None = None, title: str = "") -> Figure:
    """Median latency per candidate with IQR whiskers, each bar labelled with its ratio to the first."""
    fig, ax = _axes(ax, (_width(frame.index), 0.6 + 0.45 * len(frame)))
    names = [short_label(n) for n in list(frame.index)[::-1]]
    medians = frame["median_ms"].to_numpy()[::-1]
    half_iqr = frame["iqr_ms"].to_numpy()[::-1] / 2
    colors = [_BAR] * (len(names) - 1) + [_HIGHLIGHT]  # the baseline (first row) drawn at the top
    ax.barh(range(len(names)), medians, xerr=half_iqr, color=colors, capsize=3)
    ax.set_yticks(range(len(names)), names)
    for y, (median, half, ratio) in enumerate(zip(medians, half_iqr, frame["ratio"].to_numpy()[::-1])):
        ax.text(median + half, y, f"  {num(median)} ms  (×{num(ratio)})", va="center", fontsize=9)
    ax.set_xlim(0, (medians + half_iqr).max() * 1.5)
    measured_on = (f" — {device_words(frame.attrs['device'], frame.attrs.get('threads'))}"
                   if frame.attrs.get("device") else "")
    ax.set_xlabel(f"median latency, ms (whiskers: IQR){measured_on}")
    ax.set_title(title or "Measured latency (first = baseline)")
    fig.tight_layout()
    return fig


def latency_distribution(data, ax: Axes | None = None, title: str = "") -> Figure:
    """Every sample of every candidate (box plot + points): the spread a single number hides. ``data``: a
    ``compare_latency`` frame, a ``LatencyResult`` or a list of them."""
    results = _results(data)
    fig, ax = _axes(ax, (_width(results), 1.4 + 0.6 * len(results)))
    names = list(results)[::-1]
    samples = [results[name].samples for name in names]
    ax.boxplot(samples, orientation="horizontal", widths=0.5, showfliers=False)
    for y, values in enumerate(samples, start=1):
        jitter = [y + 0.12 * ((i * 7) % 5 - 2) / 2 for i in range(len(values))]  # fixed jitter: no RNG
        ax.plot(values, jitter, "o", ms=3, alpha=0.6, color=_BAR)
    ax.set_yticks(range(1, len(names) + 1), [short_label(n) for n in names])
    ax.set_xlabel("latency per forward, ms (one point per timed block)")
    ax.set_title(title or "Latency distribution")
    fig.tight_layout()
    return fig


def three_goals(frame: pd.DataFrame, title: str = "") -> Figure:
    """Params, MACs and measured latency side by side, each relative to the first candidate."""
    columns = [("params", "parameters"), ("macs", "MACs"), ("median_ms", "measured latency")]
    fig, axes = _figure((11, 0.9 + 0.45 * len(frame)), 3, sharey=True)
    names = [short_label(n) for n in list(frame.index)[::-1]]
    for ax, (column, label) in zip(axes, columns):
        relative = (frame[column] / frame[column].iloc[0]).to_numpy()[::-1]
        ax.barh(range(len(names)), relative, color=[_BAR] * (len(names) - 1) + [_HIGHLIGHT])
        ax.set_yticks(range(len(names)), names)
        for y, value in enumerate(relative):
            ax.text(value, y, f" ×{value:.2f}", va="center", fontsize=8)
        ax.set_xlim(0, relative.max() * 1.35)
        ax.set_title(label)
        ax.set_xlabel(f"relative to {frame.index[0]}")
    fig.suptitle(title or "Parameters, MACs and measured latency, relative to the first")
    fig.tight_layout()
    return fig


def macs_vs_latency(frame: pd.DataFrame, ax: Axes | None = None, title: str = "") -> Figure:
    """Scatter of MACs against measured latency, one labelled point per candidate."""
    fig, ax = _axes(ax, (6, 4.5))
    ax.scatter(frame["macs"] / 1e6, frame["median_ms"], color=_BAR)
    for name, row in frame.iterrows():
        ax.annotate(short_label(name, 24), (row["macs"] / 1e6, row["median_ms"]), fontsize=8,
                    xytext=(4, 4), textcoords="offset points")
    ax.set_xlabel("MACs (millions)")
    ax.set_ylabel("median latency, ms")
    ax.set_title(title or "Compute is not speed")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    fig.tight_layout()
    return fig


def sample_trace(data, ax: Axes | None = None, title: str = "") -> Figure:
    """Each candidate's samples in the order they were taken: warm-up effects and drift show as slopes.
    ``data``: a ``compare_latency`` frame, a ``LatencyResult`` or a list of them."""
    fig, ax = _axes(ax, (7, 3.5))
    for name, result in _results(data).items():
        ax.plot(range(1, len(result.samples) + 1), result.samples, "o-", ms=3, label=name)
    return _finish(fig, ax, "sample number (in time order)", "ms per forward",
                   title or "Samples in the order they were taken", from_zero=True)


def ratio_trace(ratios, group: int = 20, ax: Axes | None = None, title: str = "") -> Figure:
    """Per-round paired ratios in the order they were taken, and for each group of ``group`` rounds its quartile
    spread (thick) beside the 95 % interval of its median (thin): the spread stays as wide with more rounds, the
    interval narrows."""
    fig, ax = _axes(ax, (7, 3.5))
    values = np.asarray(list(ratios), dtype=float)
    ax.plot(range(1, len(values) + 1), values, "o", ms=2.5, color=_BAR, alpha=0.6, label="one round")
    ax.axhline(1.0, color="grey", lw=0.8)
    for start in range(0, len(values) - group + 1, group):
        chunk = values[start:start + group]
        middle = start + group / 2 + 0.5
        q1, q3 = quartiles(list(chunk))
        interval = median_interval(list(chunk))
        ax.plot([middle, middle], [q1, q3], color=_HIGHLIGHT, lw=6, alpha=0.35,
                label="middle half (spread)" if start == 0 else None)
        ax.plot([middle - 2, middle + 2], [interval.value] * 2, color="black", lw=1.5,
                label=f"median of {group} rounds" if start == 0 else None)
        if interval.decidable:
            ax.plot([middle, middle], [interval.lo, interval.hi], color="black", lw=1,
                    label="its 95 % interval" if start == 0 else None)
    return _finish(fig, ax, "round (in time order)", "time ratio", title or "Per-round ratios")


def ratio_sweep(frame: pd.DataFrame, x: str, series: str, candidate: str, ax: Axes | None = None,
                title: str = "") -> Figure:
    """Measured time ratio (solid) and MAC ratio (dashed) of ``candidate`` to the baseline, against ``x``, one
    line per value of ``series`` — where a promised saving becomes speed, and where it does not."""
    fig, ax = _axes(ax, (7, 4.2))
    rows = frame[frame["candidate"] == candidate]
    for i, (value, group) in enumerate(rows.groupby(series)):
        group = group.sort_values(x)
        style = series_style(i)
        ax.plot(group[x], group["ratio"], color=style["color"], marker=style["marker"], linestyle="-",
                label=f"measured, {series}={value}")
        ax.plot(group[x], group["macs_ratio"], color=style["color"], marker=style["marker"], linestyle="--",
                fillstyle="none", alpha=0.6, label=f"MACs, {series}={value}")
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")  # ratios: 0.1 and 10 are equally far from 1
    ax.set_xlabel(x)
    ax.set_ylabel(f"{candidate} / baseline (log scale)")
    ax.legend(fontsize=7, ncol=2)
    ax.set_title(title or f"{candidate}: promised (MACs) vs measured (time) ratio")
    fig.tight_layout()
    return fig


def roofline(layers: pd.DataFrame, peaks: dict, ax: Axes | None = None, title: str = "", color_by: str = "kind",
             ) -> Figure:
    """Each layer of a ``profile_layers`` frame on this machine's roofline: arithmetic intensity (FLOP/byte)
    against achieved GFLOP/s, under min(peak, bandwidth × intensity) from ``machine.machine_peaks``."""
    fig, ax = _axes(ax, (7, 4.5))
    rows = layers[(layers["macs"] > 0) & (layers["median_ms"] > 0)]
    achieved = achieved_gflops(rows)
    for i, (kind, group) in enumerate(rows.groupby(color_by)):
        style = series_style(i)
        ax.scatter(group["intensity"], achieved[group.index], s=18, color=style["color"], marker=style["marker"],
                   label=kind, alpha=0.8)
    ridge = peaks["peak_gflops"] / peaks["bandwidth_gbs"]
    intensity = np.logspace(-1, 3, 100)
    ax.plot(intensity, np.minimum(peaks["peak_gflops"], peaks["bandwidth_gbs"] * intensity), "k-", lw=1.2,
            label=f"roofline: {peaks['bandwidth_gbs']:.0f} GB/s, {peaks['peak_gflops']:.0f} GFLOP/s")
    ax.axvline(ridge, color="grey", ls=":", lw=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    return _finish(fig, ax, "arithmetic intensity, FLOP per byte moved", "achieved GFLOP/s",
                   title or "Roofline: left of the dotted line, memory bound", legend_size=7)


def connectivity_maps(maps: dict, title: str = "") -> Figure:
    """Side-by-side boolean maps (output channel × input channel) from ``structure.connectivity``."""
    fig, axes = _figure((3.4 * len(maps), 3.4), len(maps), squeeze=False)
    for ax, (name, reach) in zip(axes[0], maps.items()):
        ax.imshow(reach.numpy(), cmap="Blues", vmin=0, vmax=1)
        ax.set_title(f"{name}\n{int(reach.sum())} of {reach.numel()} paths", fontsize=9)
        ax.set_xlabel("input channel")
        ax.set_ylabel("output channel")
    fig.suptitle(title or "Which input channels can reach which outputs")
    fig.tight_layout()
    return fig


def singular_values(weights: dict, ax: Axes | None = None, title: str = "") -> Figure:
    """Normalised singular values of conv filter banks (each reshaped to C_out × C_in·k²): a fast decay means
    a low-rank factorization loses little."""
    fig, ax = _axes(ax, (6, 3.8))
    for name, weight in weights.items():
        values = torch.linalg.svdvals(weight.detach().reshape(weight.shape[0], -1))
        ax.plot(range(1, len(values) + 1), (values / values[0]).numpy(), "o-", ms=3, label=name)
    ax.set_xlabel("rank (singular value index)")
    ax.set_ylabel("σ_i / σ_1")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8)
    ax.set_title(title or "Singular values of the filter bank")
    fig.tight_layout()
    return fig


def relative_speed(table: pd.DataFrame, title: str = "", ylabel: str = "speed relative to the baseline",
                   ) -> Figure:
    """Grouped bars: one group per row (setting), one bar per column (this machine, a paper's devices).
    Missing values (settings a paper did not report) are left out."""
    fig, ax = _figure((6.5, 3.8))
    table.plot.bar(ax=ax, rot=0, color=list(PALETTE[:len(table.columns)]))
    _patterned(ax)
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def g1_memory(counted: pd.DataFrame, hw: int, macs_per_position: int, title: str = "") -> Figure:
    """ShuffleNetV2's G1: memory traffic of one 1×1 conv (elements) against c2/c1 at equal MACs. The curve is
    hw·(c1 + c2) + c1·c2 with c1·c2 fixed; the dashed line its minimum 2·hw·√(c1c2) + c1c2, reached at c1 = c2.
    ``counted`` holds the counted settings: columns ``width_ratio`` and ``elements``."""
    fig, ax = _axes(None, (6.5, 4))
    ratios = np.linspace(1, max(12, counted["width_ratio"].max()), 200)
    c1 = np.sqrt(macs_per_position / ratios)
    ax.plot(ratios, hw * (c1 + c1 * ratios) + macs_per_position, color=_BAR, label="hw·(c1 + c2) + c1·c2")
    bound = 2 * hw * np.sqrt(macs_per_position) + macs_per_position
    ax.axhline(bound, color="grey", ls="--", label=f"lower bound (c1 = c2): {bound:,.0f}")
    ax.scatter(counted["width_ratio"], counted["elements"], color=_HIGHLIGHT, zorder=3, label="counted by effedu")
    return _finish(fig, ax, "c2 / c1 at equal MACs", "elements moved per 1×1 conv",
                   title or "G1: equal channel widths minimise memory traffic", from_zero=True)


def share_bars(table: pd.DataFrame, columns: tuple = ("macs_share", "time_share"), title: str = "",
               ) -> Figure:
    """Side-by-side horizontal bars of shares per row (e.g. per stage: share of the MACs and of the time)."""
    fig, ax = _figure((6.5, 0.8 + 0.5 * len(table)))
    table[list(columns)][::-1].plot.barh(ax=ax, color=list(PALETTE[:len(columns)]))
    _patterned(ax)
    ax.set_xlabel("share")
    ax.set_xlim(0, 1)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def accuracy_latency(frames: dict, ax: Axes | None = None, title: str = "") -> Figure:
    """Accuracy against measured latency, one colour per group of designs (``{group: frame}``), with the
    Pareto front of all of them drawn as a line: the designs nothing else beats on both axes."""
    fig, ax = _axes(ax, (7, 4.5))
    everything = pd.concat(frames.values())
    for i, (group, frame) in enumerate(frames.items()):
        style = series_style(i)
        ax.scatter(frame["median_ms"], frame["accuracy"], color=style["color"], marker=style["marker"], label=group,
                   zorder=3)
        for name, row in frame.iterrows():
            ax.annotate(short_label(name, 24), (row["median_ms"], row["accuracy"]), fontsize=7, xytext=(3, 3),
                        textcoords="offset points")
    front = everything.loc[pareto_front(everything)].sort_values("median_ms")
    ax.step(front["median_ms"], front["accuracy"], where="post", color="grey", lw=1, label="Pareto front")
    return _finish(fig, ax, "median latency, ms (batch 1)", "test accuracy",
                   title or "Accuracy against measured latency", legend_size=7)


def predicted_vs_measured(predicted, measured, title: str = "") -> Figure:
    """Left: predicted against measured latency with the ±10 % band. Right: the distribution of the errors."""
    predicted, measured = np.asarray(predicted, float), np.asarray(measured, float)
    if len(predicted) != len(measured):
        raise ValueError(f"predicted and measured must be equally long, got {len(predicted)} and {len(measured)}")
    errors = predicted / measured - 1
    fig, (left, right) = _figure((10, 4), 2)
    top = max(predicted.max(), measured.max()) * 1.1
    line = np.linspace(0, top, 2)
    left.fill_between(line, 0.9 * line, 1.1 * line, color="grey", alpha=0.2, label="±10 %")
    left.plot(line, line, color="grey", lw=0.8)
    left.scatter(measured, predicted, color=_BAR, s=18)
    left.set_xlabel("measured latency, ms")
    left.set_ylabel("predicted latency, ms")
    left.set_xlim(0, top)
    left.set_ylim(0, top)
    left.legend(fontsize=8)
    right.hist(errors * 100, bins=12, color=_BAR)
    right.axvspan(-10, 10, color="grey", alpha=0.2)
    right.set_xlabel("prediction error, %")
    right.set_ylabel("networks")
    fig.suptitle(title or f"Latency predictor: {pct(float(np.mean(np.abs(errors) <= 0.1)))} of networks within ±10 %")
    fig.tight_layout()
    return fig


def search_progress(curves: dict, title: str = "", reference: tuple[str, float] | None = None) -> Figure:
    """Best reward so far against the number of networks evaluated (``nas.best_so_far``): per search one curve,
    or a list of curves (one per seed, drawn thin in the search's colour). ``reference`` = (label, reward): a
    dashed horizontal line, e.g. the start's reward that every curve begins at or above."""
    fig, ax = _axes(None, (6.5, 3.8))
    for i, (name, runs) in enumerate(curves.items()):
        several = bool(runs) and not isinstance(runs[0], (int, float))
        for j, curve in enumerate(runs if several else [runs]):
            ax.step(range(1, len(curve) + 1), curve, where="post", color=series_style(i)["color"],
                    linestyle=series_style(i)["linestyle"], alpha=0.6 if several else 1.0,
                    linewidth=1.0 if several else 1.5,
                    label=(f"{name} ({len(runs)} seeds)" if several else name) if j == 0 else None)
    if reference is not None:
        ax.axhline(reference[1], color="0.4", linestyle="--", linewidth=1, label=reference[0])
    ax.set_xlabel("networks evaluated")
    ax.set_ylabel("best reward so far")
    ax.legend(fontsize=8)
    ax.set_title(title or "Search progress")
    fig.tight_layout()
    return fig
