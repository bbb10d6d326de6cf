"""One explorer, configured by every lesson: controls → build candidates → count + time interleaved → redraw.

A lesson gives the controls and a ``build(**values)`` function returning ``{name: model}`` or
``{name: (model, x)}``; the explorer does the rest:

* it answers every change within about a second: counts come from the meta device (no arithmetic); the round
  count is fixed before any sample is taken — as many of ``repeats`` interleaved rounds as fit in ``budget_s``,
  judged from its warm-up run (never "measure until decided", which would break the 95 % guarantee) — so a slow
  setting gets fewer rounds and, below 6, says "too few rounds to decide"; a setting whose single forward pass would
  take seconds is counted but not timed (it says so);
* while it measures, the old result is greyed out and a progress bar runs; changes that arrive meanwhile (three
  key presses on a slider, a drag) are merged, so only the latest setting is measured next;
* any error — an impossible combination, a failing build, measurement, description or plot — shows its message
  in the widget; it never stays on "measuring…"; a starved measurement or a thread count torch refused is said in
  the widget too (a short budget's noise is not: the 95 % interval carries it).

A control named ``threads`` is special: its value is the thread count of the measurement, not an argument of
``build``. A candidate given as ``(model, x, threads)`` runs at its own thread count, switched between the
interleaved blocks — a thread comparison (``compare_latency(candidate_threads=…)``), never two settings measured one
after the other.

    explorer = Explorer({"groups": IntSlider(value=1, min=1, max=8)},
                        lambda groups: {"grouped": nn.Conv2d(64, 64, 1, groups=groups)}, x=(1, 64, 28, 28))
    explorer  # in a notebook: displays the controls, the summary, the table and the plot

Tests drive it without a browser: ``explorer.controls["groups"].value = 4`` then read ``explorer.result``
(outside a Jupyter kernel the explorer measures in the caller's thread, ``background=False``).
"""
from __future__ import annotations

import html
import inspect
import re
import textwrap
import threading
import warnings
from typing import Callable, Mapping

import ipywidgets as widgets
import pandas as pd

from . import plots
from ._text import num
from ._runtime import Device, InputLike, ThreadSettingWarning, in_kernel, positive_int, positive_number
from .counting import counts_frame
from .machine import device_words
from .stats import MIN_ROUNDS
from .timing import NoisyMeasurementWarning, StarvedMeasurementWarning, compare_latency

PLOTS = {"bars": plots.latency_bars, "distribution": plots.latency_distribution}
TABLE_COLUMNS = ["median_ms", "iqr_ms", "ratio", "ratio_lo", "ratio_hi", "macs_ratio", "params", "macs", "bytes"]
FORMATS = {"median_ms": "{:.3f}", "iqr_ms": "{:.3f}", "ratio": "{:.3f}", "ratio_lo": "{:.3f}", "ratio_hi": "{:.3f}",
           "macs_ratio": "{:.2f}", "params": "{:,}", "macs": "{:,}", "bytes": "{:,}"}
SLOW_FORWARD_S = 2.0  # a setting whose forward pass is estimated above this is counted, not timed
PROGRESS_AFTER_S = 1.0  # show a progress bar when a measurement is expected to take longer than this
STYLE = ("<style>.effedu-stale{opacity:.35;transition:opacity .2s}"
         ".effedu-explorer .widget-label{min-width:max-content}</style>")


def _format_value(value) -> str:
    """A control's value for people: 0.7600000000000001 → 0.76, True → on."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _inline_html(text: str) -> str:
    """A describe line (plain text with Markdown **bold**, as verdicts write it) as safe HTML."""
    return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html.escape(text))


def source_block(build: Callable) -> str:
    """The build function's own code, folded under the explorer (HTML ``<details>``): the few lines that turn the
    controls into networks are what a student should read, copy into a cell and change. Empty where Python cannot
    find the source (a function typed at a prompt)."""
    try:
        code = textwrap.dedent(inspect.getsource(build))
    except (OSError, TypeError):
        return ""
    return ("<details class='effedu-code'><summary>The code that builds what this explorer measures</summary>"
            f"<pre>{html.escape(code)}</pre></details>")


class Explorer:
    """Controls + a builder → a summary, a table and a plot that re-measure whenever a control is released."""

    def __init__(self, controls: Mapping[str, widgets.ValueWidget], build: Callable[..., Mapping], *,
                 x: InputLike | None = None, threads: int = 1, device: Device = None, budget_s: float = 0.6,
                 repeats: int = 12, plot: str = "bars", title: str = "",
                 describe: Callable[..., str] | None = None, background: bool | None = None):
        if plot not in PLOTS:
            raise ValueError(f"plot must be one of {sorted(PLOTS)}, got {plot!r}")
        positive_number(budget_s, "budget_s")
        positive_int(repeats, "repeats")
        self.controls = dict(controls)
        self.build, self.x, self.threads, self.device = build, x, threads, device
        self.budget_s, self.repeats, self.plot, self.title = budget_s, repeats, plot, title
        self.describe = describe  # (result, candidates, **values) -> a line of Markdown under the summary
        self.background = in_kernel() if background is None else background
        self.result: pd.DataFrame | None = None
        self.error: str | None = None
        self.measured: list[dict] = []  # every setting measured, in order (tests read it)
        self._ms_per_mac: float | None = None  # learned from earlier settings: how long one MAC takes here
        self._pending: dict | None = None
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self.status = widgets.HTML()
        self.progress = widgets.FloatProgress(value=0, min=0, max=1, layout=widgets.Layout(display="none"))
        self.table = widgets.HTML()
        self.figure = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.result_box = widgets.VBox([self.table, self.figure])
        for name, control in self.controls.items():
            if hasattr(control, "continuous_update"):
                control.continuous_update = False  # measure on release, not on every pixel of a drag
            if hasattr(control, "style") and hasattr(control.style, "description_width"):
                control.style.description_width = "initial"  # never cut a description short
            control.observe(self._on_change, names="value")
        self.code = widgets.HTML(source_block(build))
        self.widget = widgets.VBox([widgets.HTML(STYLE),
                                    widgets.HBox(list(self.controls.values()),
                                                 layout=widgets.Layout(flex_flow="row wrap")),
                                    self.status, self.progress, self.result_box, self.code])
        self.widget.add_class("effedu-explorer")
        self.update()

    def values(self) -> dict:
        return {name: control.value for name, control in self.controls.items()}

    def single_changes(self):
        """Each control moved alone — to each of its options (dropdowns, selection sliders, check boxes) or to its
        two ends (number sliders) — the others at their current values; disabled controls are left alone."""
        current = self.values()
        for name, control in self.controls.items():
            if getattr(control, "disabled", False):
                continue
            if isinstance(control, widgets.Checkbox):
                options = [not control.value]
            elif hasattr(control, "options"):
                options = [o[1] if isinstance(o, tuple) else o for o in control.options]
            else:
                options = [control.min, control.max]
            for value in options:
                if value != current[name]:
                    yield {**current, name: value}

    # --- changes: measured at once (tests, scripts) or by one worker thread that always takes the latest ----

    def _on_change(self, change) -> None:
        if not self.background:
            self.update()
            return
        with self._lock:
            self._pending = self.values()
            if self._worker is not None and self._worker.is_alive():
                return  # the running worker picks the latest values up when it finishes
            self._worker = threading.Thread(target=self._drain, daemon=True)
            self._worker.start()

    def _drain(self) -> None:
        while True:
            with self._lock:
                values, self._pending = self._pending, None
                if values is None:
                    return
            self.update(values)

    def wait(self, timeout: float = 60.0) -> None:
        """Block until the background worker has measured the latest setting (for tests and scripts)."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)

    # --- one update -----------------------------------------------------------------------------------

    def update(self, values: dict | None = None) -> pd.DataFrame | None:
        """Build the candidates for ``values`` (default: the controls'), count and time them, redraw. Never
        raises: an error of any kind shows in the widget and in ``self.error``."""
        values = dict(self.values() if values is None else values)
        threads = values.pop("threads", self.threads)
        self.measured.append(dict(values))
        settings = self._settings(values, threads, self.device)
        self.result_box.add_class("effedu-stale")
        self._say(f"<i>measuring {html.escape(settings)} …</i>")
        try:
            candidates = self.build(**values)
            own = [entry[2] for entry in candidates.values() if isinstance(entry, tuple) and len(entry) > 2]
            if own:
                settings = self._settings(values, threads, self.device, own)
            result, note = self._measure(candidates, threads)
            extra = ""
            if self.describe is not None and "ratio" in result.columns:  # a count-only result has no verdict
                extra = f"<br>{_inline_html(str(self.describe(result, candidates, **values)))}"
            self._redraw(result)
        except Exception as err:  # noqa: BLE001 — every failure is the student's to see, in the widget
            self.result, self.error = None, f"{type(err).__name__}: {err}" if not isinstance(err, ValueError) \
                else str(err)
            self._say(f"<span style='color:#b00'><b>Cannot measure {html.escape(settings)}:</b> "
                      f"{html.escape(self.error)}</span>")
            self.table.value, self.figure.value = "", b""
            return None
        finally:
            self.progress.layout.display = "none"
            self.result_box.remove_class("effedu-stale")
        self.result, self.error = result, None
        self._say(self._summary(result, settings) + (f"<br><i>{html.escape(note)}</i>" if note else "") + extra)
        return result

    def _say(self, text: str) -> None:
        """The status line, as a polite live region: a screen reader announces each new result or error."""
        self.status.value = f"<div role='status' aria-live='polite'>{text}</div>"

    @staticmethod
    def _settings(values: dict, threads: int, device: Device = None, own_threads: list | None = None) -> str:
        """The settings line: the controls' values, then what ran them — "2 CPU threads", "the GPU (…)", or for a
        thread comparison "1 against 2 CPU threads"."""
        shown = ", ".join(f"{k}={_format_value(v)}" for k, v in values.items())
        if own_threads and len(set(own_threads)) > 1:
            return f"{shown} · {' against '.join(str(n) for n in own_threads)} CPU threads"
        return f"{shown} · {device_words(device, own_threads[0] if own_threads else threads)}"

    def _measure(self, candidates: Mapping, threads: int) -> tuple[pd.DataFrame, str]:
        """Count on the meta device, then time — or, for a setting too slow to time interactively, count only."""
        items, own_threads = {}, {}
        for name, entry in candidates.items():
            model, x, *own = entry if isinstance(entry, tuple) else (entry, self.x)
            items[name], own_threads[name] = (model, x), (own[0] if own else None)
        for name, (_, x) in items.items():
            if x is None:
                raise ValueError(f"x is missing: give x, or give candidate {name!r} as (model, x)")
        counted = counts_frame(items, fast=True)
        estimate_s = (self._ms_per_mac or 0.0) * counted["macs"].sum() / 1e3
        if estimate_s > SLOW_FORWARD_S:
            frame = counted
            frame.attrs.update(results={}, threads=threads, device=str(self.device or "cpu"), rounds=0)
            return frame, (f"Counted, not timed: one forward pass of these candidates would take about "
                           f"{estimate_s:.0f} s here — too slow to answer within a second.")
        if estimate_s * (1 + MIN_ROUNDS) > PROGRESS_AFTER_S:  # the warm-up run, then the rounds
            self.progress.value, self.progress.layout.display = 0, "flex"

        def advance(done: int, planned: int) -> None:
            self.progress.value = done / planned

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            warnings.simplefilter("ignore", NoisyMeasurementWarning)  # a short budget's spread: the interval has it
            per_candidate = ([own_threads[name] or threads for name in items]
                             if any(own_threads.values()) else None)
            frame = compare_latency(items, threads=threads, device=self.device, warmup=1, repeats=self.repeats,
                                    budget_s=self.budget_s / max(len(items), 1), counts=False, progress=advance,
                                    fit_rounds=True, candidate_threads=per_candidate)
        frame = frame.assign(**counted)  # aligned by name; the frame keeps its attrs
        if frame["macs"].iloc[0] > 0:
            frame["macs_ratio"] = frame["macs"] / frame["macs"].iloc[0]
        per_mac = [frame.loc[n, "median_ms"] / frame.loc[n, "macs"] for n in frame.index if frame.loc[n, "macs"]]
        if per_mac:
            self._ms_per_mac = max(per_mac)  # the slowest per MAC: a cautious estimate for the next setting
        rounds = frame.attrs["rounds"]
        notes = [f"⚠ {w.message}" for w in caught
                 if issubclass(w.category, (StarvedMeasurementWarning, ThreadSettingWarning))]
        if rounds < MIN_ROUNDS:
            notes.append(f"{rounds} rounds fit in this setting's time budget: too few for a 95 % interval "
                         f"(it needs {MIN_ROUNDS}), so nothing is decided here — a smaller setting decides.")
        elif rounds < self.repeats:
            notes.append(f"{rounds} rounds fit in this setting's time budget (a wider 95 % interval than "
                         f"{self.repeats} would give).")
        return frame, " ".join(notes)

    def _summary(self, result: pd.DataFrame, settings: str) -> str:
        if "ratio" not in result.columns:
            parts = [f"<b>{html.escape(str(name))}</b>: {row.macs:,} MACs" for name, row in result.iterrows()]
        else:
            parts = [f"<b>{html.escape(str(name))}</b>: {row.median_ms:.3f} ms (time ×{num(row.ratio)}"
                     + (f", MACs ×{num(row.macs_ratio)})" if "macs_ratio" in result.columns else ")")
                     for name, row in result.iterrows()]
        return f"<span class='effedu-summary'>{html.escape(settings)} — " + "; ".join(parts) + "</span>"

    def _redraw(self, result: pd.DataFrame) -> None:
        table = result[[c for c in TABLE_COLUMNS if c in result.columns]]
        self.table.value = table.style.format({k: v for k, v in FORMATS.items() if k in table.columns},
                                              na_rep="—").to_html()
        if "ratio" not in result.columns:
            self.figure.value = b""
            return
        self.figure.value = plots.png_bytes(PLOTS[self.plot](result, title=self.title))

    def snapshot_html(self) -> str:
        """The explorer's last state as plain HTML (summary, table, plot): what a page without a kernel shows."""
        image = plots.html_image(bytes(self.figure.value)) if self.figure.value else ""
        return (f"<div class='effedu-explorer-snapshot'><div>{self.status.value}</div>{self.table.value}{image}"
                "<p><i>(A live explorer: run the notebook to move its controls.)</i></p></div>")

    def _repr_mimebundle_(self, **kwargs):
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/html"] = self.snapshot_html()  # shown where no widget manager runs (static HTML, nbviewer)
        return bundle
