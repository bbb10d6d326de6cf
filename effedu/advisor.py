"""The design advisor: any CNN in, the course's guidelines checked on it, ranked by measured time.

    effedu.advise(model, (1, 3, 224, 224))      # a DataFrame, one row per finding
    python -m effedu advise effedu.models:resnet50 --input 1,3,224,224 [--html report.html]

Profilers give per-layer times without design advice; the guideline papers give advice without looking at your
network. ``advise`` profiles the network on this machine (``profile_layers``), checks each guideline the lessons
teach on the measured profile, and reports only what the measurements support — each finding with where it is,
what was measured, the change the lessons suggest, and the expected gain: *measured* where effedu can apply the
change itself (fold BatchNorm, in-place activations, channels-last memory, ``torch.compile``: each timed
interleaved against the original, on a copy), otherwise *estimated* from the profile and said to be an estimate.
A network where nothing stands out is told so. The model is left exactly as it was found.
"""
from __future__ import annotations

import copy
import html
import importlib
import math
import time
import warnings

import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from . import plots, profiling, transforms, verdict
from ._runtime import Device, InputLike, check_model, guarded_run, run_model
from ._text import pct, pct_range, plural
from .counting import record_ops
from .machine import device_words
from .stats import ABOVE, MIN_ROUNDS
from .timing import NoisyMeasurementWarning, compare_latency

# --- when a finding stands out: every threshold in one place ------------------------------------------------
POINTWISE_SHARE = 0.5  # 1×1 convs holding more than half the time (per-run range): the bottleneck cost (06)
LAYER_SHARE = 0.02  # a single layer below 2 % of the time is not worth a finding
G1_RATIO = 4.0  # a 1×1 conv whose output/input width ratio is 4 or more (or 1/4 or less): G1
G2_GROUPS = 4  # grouped 1×1 convs with 4 or more groups: G2
GROUP_SHARE = 0.05  # … holding 5 % of the time or more
FRAGMENT_BRANCHES = 4  # a block that concatenates or adds 4 or more branches: G3 (parallel)
FRAGMENT_CONVS = 6  # a block that runs 6 or more convs: G3 (many small operators)
ELEMENTWISE_SHARE = 0.15  # elementwise ops (BatchNorm, activations, adds, copies) above 15 % of the time: G4
DEPTHWISE_SHARE = 0.10  # depthwise layers above 10 % of the time …
DEPTHWISE_FACTOR = 3.0  # … and 3× their share of the MACs: lesson 01
EARLY_SHARE = 0.25  # layers at more than 1/4 of the input's resolution with kernels ≤ 3 above 25 %: lessons 07/08
PROFILE_BUDGET_S = 6.0  # the per-layer profile's time budget (the repeats follow from one forward's time)
FIX_BUDGET_S = 0.5  # timing budget per candidate when a change is measured

COLUMNS = ["guideline", "lesson", "where", "time_share", "time_share_lo", "time_share_hi", "macs_share",
           "measured", "suggestion", "expected_gain", "gain_kind", "sentence"]


def advise(model: nn.Module, x: InputLike, *, device: Device = None, threads: int | None = 1,
           measure: bool = True, compile: bool = False, progress: bool = True, name: str | None = None
           ) -> pd.DataFrame:
    """Check the course's guidelines on ``model`` at input ``x`` (a tensor or a shape such as (1, 3, 224, 224)),
    measured on ``device`` with ``threads``. One row per finding, the largest time share first; columns
    ``COLUMNS``. ``measure=False`` skips timing the changes effedu can apply (their findings then rest on the
    structure alone, gain "not measured"); ``compile=True`` also times ``torch.compile`` (tens of seconds).
    ``frame.attrs``: ``summary`` (a sentence), ``model_latency_ms``, ``method``, ``device``, ``threads``,
    ``seconds``, ``checked`` (the guidelines checked and found fine). ``name`` names the network in the summary
    (default: its class name)."""
    started = time.perf_counter()
    model = check_model(model)
    forward_ms, shape = _first_run(model, x, device, threads)
    steps = tqdm(total=2 + (3 if measure else 0) + bool(compile and measure), desc="advise", disable=not progress)
    repeats = max(MIN_ROUNDS, min(20, int(PROFILE_BUDGET_S * 1e3 / max(2 * forward_ms, 1e-3))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoisyMeasurementWarning)
        layers = profiling.profile_layers(model, x, threads=threads, device=device, repeats=repeats)
        steps.update()
        records = record_ops(model, x, device=device)
        steps.update()
        findings, checked = _structural(model, layers, records, shape)
        fixes = _measured_fixes(model, x, device, threads, layers, measure, compile, steps)
    steps.close()
    findings += fixes["findings"]
    checked += fixes["checked"]
    frame = pd.DataFrame(findings, columns=COLUMNS)
    frame = frame.sort_values("time_share", ascending=False, ignore_index=True)
    frame.attrs.update(summary=summary(len(frame), checked, name or type(model).__name__), model_latency_ms=layers.attrs["model_latency_ms"],
                       method=layers.attrs["method"], device=layers.attrs["device"], threads=layers.attrs["threads"],
                       seconds=time.perf_counter() - started, checked=checked, layers=layers)
    return frame


def _first_run(model: nn.Module, x: InputLike, device: Device, threads: int | None) -> tuple[float, tuple]:
    """One forward pass, to say clearly why a model cannot be advised, and how long a forward takes."""
    try:
        with guarded_run(model, x, device=device, threads=threads) as (running, tensor, _):
            run_model(running, tensor)  # warm
            begin = time.perf_counter()
            run_model(running, tensor)
            return (time.perf_counter() - begin) * 1e3, tuple(tensor.shape)
    except (TypeError, ValueError):
        raise  # a bad argument, already named (x's shape, the device …)
    except Exception as err:  # noqa: BLE001 — any failure inside the model, said in one line
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise RuntimeError(f"model raised {type(err).__name__} on x of shape {_shape(x)}: {first} — advise needs a "
                           "model that runs on x") from err


def _shape(x: InputLike) -> tuple:
    return tuple(x.shape) if isinstance(x, torch.Tensor) else tuple(x)


def _finding(guideline, lesson, where, share: profiling.Share, measured, suggestion, gain, gain_kind) -> dict:
    """One finding as a row, with its sentence: what, where, its measured share of the time (with the 95 %
    interval over the profiled runs), the numbers that break the guideline, the change the lessons suggest, and the
    gain — measured or estimated, and said which."""
    time_share = share.time
    gain_text = "gain not estimated" if gain is None else f"expected gain about {pct(gain, True)} of the time"
    sentence = (f"**{guideline}** — {where}: {pct(time_share.value)} of the time (95 % interval "
                f"{pct_range(time_share)}); {measured.rstrip('.')}. Suggested: {suggestion}; {gain_text} ({gain_kind}).")
    return {"guideline": guideline, "lesson": lesson, "where": where, "time_share": time_share.value,
            "time_share_lo": time_share.lo, "time_share_hi": time_share.hi, "macs_share": share.macs,
            "measured": measured, "suggestion": suggestion, "expected_gain": gain, "gain_kind": gain_kind,
            "sentence": sentence}


def _stands_out(share: profiling.Share, threshold: float) -> bool:
    """The whole 95 % interval of the time share is above ``threshold``: the course's one rule."""
    return share.time.vs(threshold).where == ABOVE


def summary(findings: int, checked: list[str], name: str = "The network") -> str:
    """The advisor's one-line summary for the network ``name``: **nothing stands out** when no guideline was broken
    measurably."""
    if findings == 0:
        return (f"{name}: **nothing stands out** — every guideline checked (" + ", ".join(checked)
                + ") is respected or its remedy gave no clear gain on this machine.")
    return (f"{name}: **{plural(findings, 'finding')}**, largest share of the time first; checked and fine: "
            + (", ".join(checked) or "none") + ".")


def _listed(names: list[str], limit: int = 3) -> str:
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _names(rows: pd.DataFrame) -> str:
    """The layers of ``rows``, slowest first."""
    return _listed(list(rows.sort_values("median_ms", ascending=False)["layer"]))


def _structural(model: nn.Module, layers: pd.DataFrame, records: list, shape: tuple) -> tuple[list, list]:
    """The guidelines checked on the profile and the module structure (their gains are estimates)."""
    modules = dict(model.named_modules())
    found, fine = [], []
    convs = {name: m for name, m in modules.items() if isinstance(m, nn.Conv2d)}
    conv_rows = layers[layers["layer"].isin(convs)]

    # Bottleneck cost (lesson 06): the dense 1×1 convs hold most of the time.
    pointwise = layers["kind"] == "pointwise 1×1"
    share = profiling.share_of(layers, pointwise)
    if _stands_out(share, POINTWISE_SHARE):
        found.append(_finding(
            "bottleneck cost: 1×1 convs hold most of the time", "06", _names(layers[pointwise]), share,
            f"{pct(share.time.value)} of the time for {pct(share.macs)} of the MACs",
            "group the 1×1 convs with a channel shuffle (ShuffleNet) or narrow the bottlenecks", share.time.value * 0.75,
            "estimate: 1×1 convs in 4 groups, if their time fell with their MACs"))
    else:
        fine.append("bottleneck cost")

    # G1: 1×1 convs far from equal input and output widths.
    unbalanced = [name for name, m in convs.items() if m.kernel_size == (1, 1) and m.groups == 1
                  and max(m.out_channels / m.in_channels, m.in_channels / m.out_channels) >= G1_RATIO]
    rows = conv_rows[conv_rows["layer"].isin(unbalanced) & (conv_rows["share"] >= LAYER_SHARE)]
    if len(rows):
        share = profiling.share_of(layers, layers["layer"].isin(rows["layer"]))
        saving = _g1_saving([convs[n] for n in rows["layer"]], rows)
        worst = max(max(convs[n].out_channels / convs[n].in_channels, convs[n].in_channels / convs[n].out_channels)
                    for n in rows["layer"])
        found.append(_finding("G1: unequal 1×1 widths", "06", _names(rows), share,
                              f"width ratios up to 1:{worst:.0f}", "bring each 1×1 conv's input and output widths "
                              "closer at the same MACs", share.time.value * saving,
                              "estimate: memory traffic at equal widths, if time followed traffic"))
    else:
        fine.append("G1")

    # G2: grouped 1×1 convs with many groups.
    grouped = [name for name, m in convs.items() if m.kernel_size == (1, 1) and m.groups >= G2_GROUPS]
    rows = conv_rows[conv_rows["layer"].isin(grouped)]
    share = profiling.share_of(layers, layers["layer"].isin(rows["layer"]))
    if len(rows) and _stands_out(share, GROUP_SHARE):
        groups = max(convs[n].groups for n in rows["layer"])
        found.append(_finding("G2: many groups in 1×1 convs", "04", _names(rows), share,
                              f"up to {groups} groups", "fewer groups, chosen for the platform (measure g = 1, 2, 4)",
                              share.time.value * (1 - 1 / math.sqrt(groups)),
                              "estimate: from G2's memory traffic; how much shows in time depends on the machine"))
    else:
        fine.append("G2")

    # G3: fragmented blocks — many parallel branches, or many small convs in one block.
    fragmented = _fragmented(modules, records)
    if fragmented:
        mask = layers["layer"].map(lambda layer: any(layer == f or layer.startswith(f + ".") for f in fragmented))
        share = profiling.share_of(layers, mask)
        if _stands_out(share, GROUP_SHARE):
            found.append(_finding("G3: fragmented blocks", "04", _listed(fragmented), share,
                                  f"{plural(len(fragmented), 'block')} with {FRAGMENT_BRANCHES}+ branches or "
                                  f"{FRAGMENT_CONVS}+ convs", "fewer, larger operators per block (merge branches)",
                                  None, "not estimated: depends on how parallel this machine runs (lesson 04)"))
        else:
            fine.append("G3")
    else:
        fine.append("G3")

    # Depthwise convs far slower than their MACs (lesson 01).
    depthwise = layers["kind"].str.startswith("depthwise")
    share = profiling.share_of(layers, depthwise)
    if _stands_out(share, DEPTHWISE_SHARE) and share.macs > 0 and share.time.value >= DEPTHWISE_FACTOR * share.macs:
        found.append(_finding("depthwise convs far slower than their MACs", "01", _names(layers[depthwise]), share,
                              f"{pct(share.time.value)} of the time for {pct(share.macs)} of the MACs "
                              f"({share.time.value / share.macs:.1f}×)", "wider depthwise stages, fewer of them, or plain "
                              "convs where the maps are small (lessons 01, 08)", None,
                              "not estimated: memory-bound layers gain only from fewer bytes"))
    else:
        fine.append("depthwise")

    # An early stage at high resolution with small kernels (lessons 07, 08).
    early = _early_layers(layers, modules, shape)
    share = profiling.share_of(layers, early)
    if _stands_out(share, EARLY_SHARE):
        found.append(_finding("large early maps with small kernels", "07", _names(layers[early]), share,
                              f"{pct(share.time.value)} of the time above 1/4 of the input's resolution",
                              "shrink the map faster: a large-kernel stride-4 stem (FaceBoxes' RDCL)",
                              share.time.value * 2 / 3, "estimate: an RDCL-like stem does about 1/3 of the MACs of a 3×3 "
                              "stack reaching the same stride (lesson 07), if these layers' time fell with them"))
    else:
        fine.append("early resolution")
    return found, fine


def _g1_saving(convs: list[nn.Conv2d], rows: pd.DataFrame) -> float:
    """Fraction of these convs' memory traffic that equal widths at the same MACs would save."""
    now = balanced = 0.0
    for conv, (_, row) in zip(convs, rows.iterrows()):
        hw = row["out_shape"][-1] * row["out_shape"][-2]
        c1, c2 = conv.in_channels, conv.out_channels
        now += hw * (c1 + c2) + c1 * c2
        balanced += 2 * hw * math.sqrt(c1 * c2) + c1 * c2
    return 1 - balanced / now if now else 0.0


def _own_convs(module: nn.Module) -> int:
    """Convs a block runs itself: its subtree, not descending into nested blocks of their own (a stage of
    bottlenecks is not one block with many convs)."""
    count = 0
    for child in module.children():
        if isinstance(child, nn.Conv2d):
            count += 1
        elif isinstance(child, (nn.Sequential, nn.ModuleList, nn.ModuleDict)):
            count += _own_convs(child)
    return count


def _fragmented(modules: dict, records: list) -> list[str]:
    """Blocks that join FRAGMENT_BRANCHES+ branches (one cat of that many tensors) or run FRAGMENT_CONVS+ convs of
    their own."""
    joins = {r.module for r in records if r.op.startswith(("aten.cat", "aten.stack")) and r.inputs >= FRAGMENT_BRANCHES}
    many = {name for name, m in modules.items()
            if name and not isinstance(m, (nn.Sequential, nn.ModuleList)) and _own_convs(m) >= FRAGMENT_CONVS}
    return sorted(name for name in joins | many if name)


def _early_layers(layers: pd.DataFrame, modules: dict, shape: tuple) -> pd.Series:
    """Rows of convs with kernels ≤ 3 whose output is larger than 1/4 of the input's side, and the layers at those
    resolutions."""
    four_d = [out for out in layers["out_shape"] if len(out) == 4]
    if len(shape) != 4 or not four_d or min(out[-1] for out in four_d) * 8 > shape[-1]:
        return pd.Series(False, index=layers.index)  # a network that never shrinks its map has no "early stage"
    side = shape[-1]

    def early(row) -> bool:
        out = row["out_shape"]
        if len(out) != 4 or out[-1] * 4 <= side:
            return False
        module = modules.get(row["layer"])
        return not isinstance(module, nn.Conv2d) or max(module.kernel_size) <= 3
    return layers.apply(early, axis=1).astype(bool)


def _measured_fixes(model, x, device, threads, layers, measure, compile, steps) -> dict:
    """The changes effedu can make itself, each timed interleaved against the original on a copy."""
    found, fine = [], []
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    out_of_place = [m for m in model.modules() if isinstance(m, (nn.ReLU, nn.ReLU6)) and not m.inplace]
    elementwise = layers["op_class"].isin(profiling.ELEMENTWISE_CLASSES)
    share = profiling.share_of(layers, elementwise)
    by_class = layers["op_class"]
    candidates = []  # (guideline, lesson, where, the layers it changes, name, suggestion, build)
    if norms:
        candidates.append(("unfolded BatchNorm", "05", plural(len(norms), "BatchNorm layer"), by_class == "BatchNorm",
                           "BatchNorm folded", "fold BatchNorm into the convolutions (transforms.fold_batchnorm)",
                           lambda: transforms.fold_batchnorm(model)))
    if out_of_place:
        candidates.append(("out-of-place activations", "05", plural(len(out_of_place), "ReLU layer"),
                           by_class == "activation", "in-place ReLUs",
                           "in-place activations (transforms.inplace_activations)",
                           lambda: transforms.inplace_activations(model)))
    candidates.append(("memory layout", "00", "the convolutions", by_class.isin(["conv / linear", "depthwise conv"]),
                       "channels-last", "channels-last memory (transforms.ChannelsLast)",
                       lambda: transforms.ChannelsLast(model)))
    for guideline, lesson, where, rows, name, suggestion, build in candidates:
        concerned = profiling.share_of(layers, rows)
        if not measure:
            if guideline != "memory layout":
                found.append(_finding(guideline, lesson, where, concerned, "the change was not timed", suggestion,
                                      None, "not measured (measure=False)"))
            continue
        steps.update()
        frame = compare_latency({"original": model, name: build()}, x, device=device, threads=threads,
                                budget_s=FIX_BUDGET_S, counts=False)
        judged = verdict.speed(frame, name)
        if judged.outcome == verdict.FASTER:  # only a change that clearly helped is advice
            saved = 1 - judged.numbers["range"]
            found.append(_finding(guideline, lesson, where, concerned, judged.text, suggestion, saved.value,
                                  f"measured: {pct(saved.lo, True)}–{pct(saved.hi, True)} of the time saved"))
        else:
            fine.append(guideline)
    if compile and measure:
        steps.update()
        frame, reason = transforms.compile_comparison(copy.deepcopy(model), x, device=device, threads=threads)
        judged = verdict.speed(frame, "compiled") if frame is not None else None
        if judged is not None and judged.outcome == verdict.FASTER:
            saved = 1 - judged.numbers["range"]
            found.append(_finding("operator fusion", "05", "the whole network", share, judged.text,
                                  "torch.compile the model for deployment", saved.value,
                                  f"measured: {pct(saved.lo, True)}–{pct(saved.hi, True)}"))
        else:
            fine.append("operator fusion" + (f" ({reason})" if reason else ""))
    if _stands_out(share, ELEMENTWISE_SHARE) and not any(f["lesson"] == "05" for f in found):
        found.append(_finding("G4: elementwise operators", "05", _names(layers[elementwise]), share,
                              f"{pct(share.time.value)} of the time at 0 MACs", "fuse or remove elementwise work "
                              "(fold BatchNorm, fewer activations and adds on small maps)", None,
                              "not estimated: the measured remedies above did not clearly help"))
    return {"findings": found, "checked": fine}


def build_from(spec: str) -> nn.Module:
    """``"package.module:function"`` → the model that function returns (called without arguments)."""
    module_name, _, function = spec.partition(":")
    if not module_name or not function:
        raise ValueError(f"model must look like package.module:function (e.g. effedu.models:resnet50), got {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ValueError(f"model: cannot import {module_name!r} ({err})") from None
    if not hasattr(module, function):
        raise ValueError(f"model: {module_name!r} has no {function!r}")
    return check_model(getattr(module, function)(), f"the result of {spec}")


def parse_shape(text: str) -> tuple[int, ...]:
    """"1,3,224,224" → (1, 3, 224, 224), with an error naming --input."""
    try:
        shape = tuple(int(part) for part in text.replace("x", ",").split(",") if part.strip())
    except ValueError:
        raise ValueError(f"--input must be a shape such as 1,3,224,224, got {text!r}") from None
    if not shape or any(s < 1 for s in shape):
        raise ValueError(f"--input must be a shape of positive sizes such as 1,3,224,224, got {text!r}")
    return shape


def report_html(findings: pd.DataFrame, title: str) -> str:
    """The findings and a time-share plot per stage, as one standalone HTML page."""
    layers = findings.attrs["layers"]
    stages = profiling.time_shares(layers, by=lambda name: name.split(".")[0])
    figure = plots.share_bars(stages.head(12), title="share of the MACs and of the time, per top-level module")
    rows = "".join(f"<li>{html.escape(s).replace('**', '')}</li>" for s in findings["sentence"])
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
            "<body style='font-family:sans-serif;max-width:1000px;margin:2em auto'>"
            f"<h1>Design advice: {html.escape(title)}</h1><p>Measured on "
            f"{html.escape(device_words(findings.attrs['device'], findings.attrs['threads']))}, "
            f"{findings.attrs['model_latency_ms']:.2f} ms per forward; "
            f"{html.escape(findings.attrs['summary'].replace('**', ''))}</p><ol>{rows}</ol>"
            f"{plots.html_image(plots.png_bytes(figure), 'time shares')}</body></html>")
