"""One explorer, configured by every lesson: sliders → build candidates → count + time interleaved → redraw.

A lesson gives the controls and a ``build(**values)`` function returning ``{name: model}`` or
``{name: (model, x)}``; the explorer does the rest and shows an impossible combination's error message in
place instead of a traceback. A control named ``threads`` sets the thread count of the measurement.

    explorer = Explorer({"groups": IntSlider(value=1, min=1, max=8)},
                        lambda groups: {"grouped": nn.Conv2d(64, 64, 1, groups=groups)}, x=(1, 64, 28, 28))
    explorer  # in a notebook: displays the controls, the table and the plot

Tests drive it without a browser: set ``explorer.controls["groups"].value = 4`` and read ``explorer.result``.
"""
from __future__ import annotations

import html
import warnings
from typing import Callable, Mapping

import ipywidgets as widgets
import pandas as pd
from IPython.display import display

from . import plots
from .timing import compare_latency

PLOTS = {"bars": plots.latency_bars, "distribution": plots.latency_distribution}
TABLE_COLUMNS = ["median_ms", "iqr_ms", "ratio", "macs_ratio", "params", "macs", "bytes"]


class Explorer:
    """Controls + a builder → a table and a plot that re-measure whenever a control is released."""

    def __init__(self, controls: Mapping[str, widgets.ValueWidget], build: Callable[..., Mapping],
                 *, x=None, threads: int = 1, device=None, budget_s: float = 0.15, repeats: int = 9,
                 plot: str = "bars", title: str = "", describe: Callable[..., str] | None = None):
        if plot not in PLOTS:
            raise ValueError(f"plot must be one of {sorted(PLOTS)}, got {plot!r}")
        self.controls = dict(controls)
        self.build, self.x, self.threads, self.device = build, x, threads, device
        self.budget_s, self.repeats, self.plot, self.title = budget_s, repeats, plot, title
        self.describe = describe  # (result, **values) -> an extra line of HTML under the summary
        self.result: pd.DataFrame | None = None
        self.error: str | None = None
        self.status = widgets.HTML()
        self.output = widgets.Output()
        for control in self.controls.values():
            if hasattr(control, "continuous_update"):
                control.continuous_update = False  # measure on release, not on every pixel of a drag
            control.observe(self._on_change, names="value")
        self.widget = widgets.VBox([widgets.HBox(list(self.controls.values()),
                                                 layout=widgets.Layout(flex_flow="row wrap")),
                                    self.status, self.output])
        self.update()

    def values(self) -> dict:
        return {name: control.value for name, control in self.controls.items()}

    def _on_change(self, change) -> None:
        self.update()

    def update(self) -> pd.DataFrame | None:
        """Rebuild the candidates from the controls, measure them, redraw. Errors show in the widget."""
        values = self.values()
        threads = values.pop("threads", self.threads)
        self.status.value = "<i>measuring…</i>"
        try:
            candidates = self.build(**values)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a short budget is noisy by design; the table shows the IQR
                result = compare_latency(candidates, self.x, threads=threads, device=self.device,
                                         budget_s=self.budget_s, repeats=self.repeats, warmup=2)
        except (ValueError, TypeError, RuntimeError) as err:
            self.result, self.error = None, str(err)
            self.status.value = (f"<span style='color:#b00'><b>Cannot build this combination:</b> "
                                 f"{html.escape(str(err))}</span>")
            self.output.clear_output()
            return None
        self.result, self.error = result, None
        extra = f"<br>{self.describe(result, **values)}" if self.describe else ""
        self.status.value = self._summary(result, values, threads) + extra
        self._redraw(result)
        return result

    @staticmethod
    def _summary(result: pd.DataFrame, values: dict, threads: int) -> str:
        settings = ", ".join(f"{k}={v}" for k, v in values.items())
        parts = [f"<b>{html.escape(str(name))}</b>: {row.median_ms:.3f} ms (time ×{row.ratio:.2f}"
                 + (f", MACs ×{row.macs_ratio:.2f})" if "macs_ratio" in result.columns else ")")
                 for name, row in result.iterrows()]
        return (f"<span class='effedu-summary'>{html.escape(settings)} · {threads} thread(s) — "
                + "; ".join(parts) + "</span>")

    def _redraw(self, result: pd.DataFrame) -> None:
        figure = PLOTS[self.plot](result, title=self.title)
        table = result[[c for c in TABLE_COLUMNS if c in result.columns]]
        with self.output:
            self.output.clear_output(wait=True)
            display(table.style.format({"median_ms": "{:.3f}", "iqr_ms": "{:.3f}", "ratio": "{:.2f}",
                                        "macs_ratio": "{:.2f}",
                                        "params": "{:,}", "macs": "{:,}", "bytes": "{:,}"}))
            display(figure)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
