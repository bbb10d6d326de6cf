"""The design advisor: any CNN in, the course's guidelines checked on it, measured gains first.

    effedu.advise(model, (1, 3, 224, 224))      # a DataFrame, one row per finding
    python -m effedu advise effedu.models:resnet50 --input 1,3,224,224 [--html report.html]

Profilers give per-layer times without design advice; the guideline papers give advice without looking at your
network. ``advise`` profiles the network on this machine (``profile_layers``), checks each rule of ``RULES`` (one
per guideline the lessons teach) on the measured profile and the operator records, and reports only what the
measurements support. Every gain it quotes is one of three kinds, never confused:

* **measured, outputs checked** — a change that must not alter the network (BatchNorm folding, in-place
  activations, channels-last, re-parameterization, ``torch.compile``) is first checked against the original
  (``transforms.checked``: randomized BatchNorm statistics, double precision, relative difference ≤
  ``transforms.SAME_OUTPUTS``); a copy that fails is *not timed* and the summary says why. A copy that passes is
  timed interleaved against the original and reported only when the 95 % interval says it is faster.
* **measured, a different network** — a change to the architecture (fewer groups, grouped 1×1 convs, a strided
  stem) is built on a copy, shape-checked (same output shape), timed interleaved and labelled "a different
  network: accuracy unknown until retrained".
* **estimated, calibrated here** — where no copy can be built (widths, merged branches), lesson 04's or 06's own
  micro-benchmark is timed on this machine at the layers' size, and the layers' time share is scaled by what it
  measured — never by a MAC or byte ratio alone. Otherwise the gain is "not estimated", and says why.

Decisions go through the course's one rule (``stats.Range.vs``). Findings come in ``ORDER`` (measured gains first,
largest first); each gain is against the original alone, so gains do not add. A rule whose layers the network does
not have is "not applicable", not "fine"; the summary ends with the per-layer clock's overhead
(``verdict.hook_overhead``). A network where nothing stands out is told so. The model is left exactly as it was
found.
"""
from __future__ import annotations

import copy
import dataclasses
import html
import importlib
import math
import time
import warnings
from typing import Callable

import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from . import blocks, guidelines, plots, profiling, transforms, verdict
from ._runtime import Device, InputLike, check_model, guarded_run, make_input, resolve_device, run_model
from ._text import pct, pct_range, plural, ratio_range, times
from .counting import record_ops
from .machine import device_words
from .stats import ABOVE, MIN_ROUNDS, Range
from .timing import NoisyMeasurementWarning, compare_latency

# --- when a finding stands out: every threshold in one place ------------------------------------------------
POINTWISE_SHARE = 0.5  # 1×1 convs holding more than half the time (95 % interval): the bottleneck cost (06)
LAYER_SHARE = 0.02  # a single layer below 2 % of the time is not worth a finding
G1_RATIO = 4.0  # a 1×1 conv whose output/input width ratio is 4 or more (or 1/4 or less): G1
G2_GROUPS = 2  # grouped 1×1 convs (any grouping: ShuffleNet v1 uses g = 3 and 8): G2
GROUP_SHARE = 0.05  # … holding 5 % of the time or more
FRAGMENT_BRANCHES = 4  # a block that concatenates or adds 4 or more branches: G3 (parallel)
FRAGMENT_CONVS = 6  # a block that runs 6 or more convs: G3 (many small operators)
ELEMENTWISE_SHARE = 0.15  # elementwise ops (BatchNorm, activations, adds, copies) above 15 % of the time: G4
DEPTHWISE_SHARE = 0.10  # depthwise layers above 10 % of the time …
DEPTHWISE_FACTOR = 3.0  # … and 3× their share of the MACs: lesson 01
EARLY_SHARE = 0.25  # the first stage (before the first downsampling, above 1/4 of the input's side), kernels ≤ 3,
#                     above 25 % of the time: lessons 07/08
RDCL_SIDE = 128  # inputs this large or larger may take FaceBoxes' RDCL (stride 32); smaller: a stride-2 stem
BOTTLENECK_GROUPS = 2  # the bottleneck remedy tried on a copy: dense 1×1 convs in 2 groups, then a shuffle
CALIBRATION_BLOCKS = 4  # blocks in the lesson micro-benchmark an estimate is calibrated on
PROFILE_BUDGET_S = 6.0  # the per-layer profile's time budget (the repeats follow from one forward's time)
FIX_BUDGET_S = 0.5  # timing budget per candidate when a change is measured

OUTPUTS_CHECKED = "output-preserving: outputs checked equal"
DIFFERENT_NETWORK = "a different network: accuracy unknown until retrained"
NOT_BUILT = "not built"

COLUMNS = ["guideline", "lesson", "where", "time_share", "time_share_lo", "time_share_hi", "macs_share",
           "measured", "suggestion", "change", "measured_gain", "measured_gain_lo", "measured_gain_hi",
           "estimated_gain", "estimated_gain_lo", "estimated_gain_hi", "basis", "sentence"]


@dataclasses.dataclass(frozen=True)
class Gain:
    """What a suggested change would save, as a share of the whole network's time — and how that is known:
    ``kind`` "measured" (a copy timed here), "estimate" (calibrated on this machine) or "none"; ``change`` says
    whether the copy computes the same function (``OUTPUTS_CHECKED``) or not (``DIFFERENT_NETWORK``); ``basis`` is
    the sentence that says how the number was obtained."""
    kind: str
    saved: Range | None
    change: str
    basis: str


def _not_estimated(reason: str) -> Gain:
    return Gain("none", None, NOT_BUILT, f"gain not estimated: {reason}")


@dataclasses.dataclass
class Context:
    """What every rule may read: the model and its input, the measured profile (``layers``), the operator records,
    the modules by name — and the settings to time a change with."""
    model: nn.Module
    x: InputLike
    device: Device
    threads: int | None
    measure: bool
    layers: pd.DataFrame
    records: list
    shape: tuple
    steps: tqdm

    def __post_init__(self):
        self.modules = dict(self.model.named_modules())
        self.convs = {name: m for name, m in self.modules.items() if isinstance(m, nn.Conv2d)}
        self.conv_rows = self.layers[self.layers["layer"].isin(self.convs)]

    def share(self, mask) -> profiling.Share:
        return profiling.share_of(self.layers, mask)

    def rows_of(self, names) -> pd.Series:
        return self.layers["layer"].isin(list(names))


@dataclasses.dataclass(frozen=True)
class Rule:
    """One guideline the lessons teach, as the advisor checks it: ``check`` returns a finding (a row) or None —
    respected, or its remedy measured no gain here. ``name`` is how the summary lists it when fine. ``applies``
    (None: always) says whether the network has the layers the rule looks at at all; where it has none the summary
    says "not applicable", never "fine"."""
    name: str
    lesson: str
    check: Callable[[Context], dict | None]
    applies: Callable[[Context], bool] | None = None


def advise(model: nn.Module, x: InputLike, *, device: Device = None, threads: int | None = 1,
           measure: bool = True, compile: bool = False, progress: bool = True, name: str | None = None
           ) -> pd.DataFrame:
    """Check the course's guidelines (``RULES``, then the output-preserving fixes) on ``model`` at input ``x`` (a
    tensor or a shape such as (1, 3, 224, 224)), measured on ``device`` with ``threads``. One row per finding in
    ``ORDER``: measured gains first (largest first), then estimates, then the rest by time share; columns
    ``COLUMNS`` (measured and estimated gains in columns of their own). Each gain is against the original network
    alone: gains do not add.
    ``measure=False`` times nothing but the profile (findings then rest on the structure, gains "not estimated");
    ``compile=True`` also times ``torch.compile`` (tens of seconds). ``frame.attrs``: ``summary`` (a sentence),
    ``model_latency_ms``, ``method``, ``device``, ``threads``, ``seconds``, ``checked`` (the guidelines checked and
    found fine), ``not_applicable`` (the rules whose layers the network does not have), ``skipped``
    (output-preserving changes refused, with why), ``overhead`` (``verdict.hook_overhead`` of the profile: how far
    the per-layer clock inflates the shares; its sentence ends the summary), ``layers`` (the profile). ``name``
    names the network in the summary (default: its class name)."""
    started = time.perf_counter()
    model = check_model(model)
    forward_ms, shape = _first_run(model, x, device, threads)
    steps = tqdm(total=2 + len(RULES) + len(_output_preserving(model, compile)) if measure else 2 + len(RULES),
                 desc="advise", disable=not progress)
    repeats = max(MIN_ROUNDS, min(20, int(PROFILE_BUDGET_S * 1e3 / max(2 * forward_ms, 1e-3))))
    findings, checked, skipped, not_applicable = [], [], [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoisyMeasurementWarning)
        layers = profiling.profile_layers(model, x, threads=threads, device=device, repeats=repeats)
        steps.update()
        records = record_ops(model, x, device=device)
        steps.update()
        context = Context(model, x, device, threads, measure, layers, records, shape, steps)
        for rule in RULES:
            if rule.applies is not None and not rule.applies(context):
                not_applicable.append(rule.name)
                steps.update()
                continue
            found = rule.check(context)
            steps.update()
            (findings.append(found) if found else checked.append(rule.name))
        fixes = _measured_fixes(context, compile)
    findings += fixes["findings"]
    checked += fixes["checked"]
    skipped += fixes["skipped"]
    if _stands_out(context.share(_elementwise(layers)), ELEMENTWISE_SHARE) \
            and not any(f["lesson"] == "05" for f in findings):
        share = context.share(_elementwise(layers))
        findings.append(_finding("G4: elementwise operators", "05", _names(layers[_elementwise(layers)],
                                                                           context.modules), share,
                                 f"{pct(share.time.value)} of the time at 0 MACs", "fuse or remove elementwise work "
                                 "(fold BatchNorm, fewer activations and adds on small maps)",
                                 _not_estimated("the output-preserving remedies gave no clear gain here")))
    steps.close()
    frame = ordered(pd.DataFrame(findings, columns=COLUMNS))
    overhead = verdict.hook_overhead(layers)
    frame.attrs.update(summary=summary(len(frame), checked, name or type(model).__name__, skipped, not_applicable,
                                       gains=int(frame["measured_gain"].notna().sum()
                                                 + frame["estimated_gain"].notna().sum()))
                       + " " + overhead.text,
                       model_latency_ms=layers.attrs["model_latency_ms"], method=layers.attrs["method"],
                       device=layers.attrs["device"], threads=layers.attrs["threads"],
                       seconds=time.perf_counter() - started, checked=checked, not_applicable=not_applicable,
                       skipped=skipped, overhead=overhead, layers=layers)
    return frame


ORDER = "measured gains first (largest first), then estimates (largest first), then the rest by time share"


def ordered(findings: pd.DataFrame) -> pd.DataFrame:
    """The findings in ``ORDER``: a measured gain outranks an estimate however large (an estimate transfers a
    micro-benchmark's ratio; a measurement timed the network itself), and both outrank a finding with no gain. Gains
    are each against the original network alone — they do not add, so the order ranks single changes."""
    tier = pd.Series(2, index=findings.index)  # no gain
    tier[findings["estimated_gain"].notna()] = 1
    tier[findings["measured_gain"].notna()] = 0
    gain = findings["measured_gain"].fillna(findings["estimated_gain"]).fillna(0.0)
    keyed = findings.assign(_tier=tier, _gain=gain)
    keyed = keyed.sort_values(["_tier", "_gain", "time_share"], ascending=[True, False, False], kind="stable")
    return keyed.drop(columns=["_tier", "_gain"]).reset_index(drop=True)


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


def _finding(guideline, lesson, where, share: profiling.Share, measured: str, suggestion: str, gain: Gain) -> dict:
    """One finding as a row, with its sentence: what, where, its measured share of the time (with the 95 %
    interval over the profiled runs), the numbers that break the guideline, the change the lessons suggest, and
    the gain — in the column and the words of its kind (measured / estimated / not estimated)."""
    time_share = share.time
    nan = float("nan")
    measured_gain = estimated_gain = Range(nan, nan, nan)
    if gain.kind == "measured":
        measured_gain = gain.saved
        gain_words = f"measured on a copy ({gain.change}): {gain.basis}"
    elif gain.kind == "estimate":
        estimated_gain = gain.saved
        gain_words = (f"**estimate, not a measurement**: about {pct(gain.saved.value, True)} of the time "
                      f"({pct_range(gain.saved)}), {gain.basis}")
    else:
        gain_words = gain.basis
    sentence = (f"**{guideline}** — {where}: {pct(time_share.value)} of the time (95 % interval "
                f"{pct_range(time_share)}); {measured.rstrip('.')}. Suggested: {suggestion}; {gain_words.rstrip('.')}.")
    return {"guideline": guideline, "lesson": lesson, "where": where, "time_share": time_share.value,
            "time_share_lo": time_share.lo, "time_share_hi": time_share.hi, "macs_share": share.macs,
            "measured": measured, "suggestion": suggestion, "change": gain.change,
            "measured_gain": measured_gain.value, "measured_gain_lo": measured_gain.lo,
            "measured_gain_hi": measured_gain.hi, "estimated_gain": estimated_gain.value,
            "estimated_gain_lo": estimated_gain.lo, "estimated_gain_hi": estimated_gain.hi, "basis": gain.basis,
            "sentence": sentence}


def _stands_out(share: profiling.Share, threshold: float) -> bool:
    """The whole 95 % interval of the time share is above ``threshold``: the course's one rule."""
    return share.time.vs(threshold).where == ABOVE


def summary(findings: int, checked: list[str], name: str = "The network", skipped: list[str] | None = None,
            not_applicable: list[str] | None = None, gains: int = 0) -> str:
    """The advisor's one-line summary for the network ``name``: **nothing stands out** when no guideline was broken
    measurably; the guidelines whose layers the network lacks are "not applicable", never "fine"; the
    output-preserving changes that were refused (``skipped``) are said, with why; with two or more ``gains``, that
    they do not add."""
    refused = (" Not timed: " + "; ".join(skipped) + ".") if skipped else ""
    absent = (" Not applicable (no such layers): " + ", ".join(not_applicable) + ".") if not_applicable else ""
    if findings == 0:
        return (f"{name}: **nothing stands out** — every guideline checked (" + (", ".join(checked) or "none")
                + ") is respected or its remedy gave no clear gain on this machine." + absent + refused)
    apart = (" Each gain is against the original network alone: they do not add up." if gains >= 2 else "")
    return (f"{name}: **{plural(findings, 'finding')}**, {ORDER}; checked and fine (or its remedy gave no clear "
            "gain here): "
            + (", ".join(checked) or "none") + "." + absent + apart + refused)


def _listed(names: list[str], limit: int = 3) -> str:
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _names(rows: pd.DataFrame, modules: dict | None = None) -> str:
    """The layers of ``rows``, slowest first, each with what it is and its output map — "6 (Conv2d 1×1 32→256,
    16×16)" — so that a bare ``nn.Sequential`` index can be found in the network."""
    ordered_rows = rows.sort_values("median_ms", ascending=False)
    return _listed([located(row["layer"], (modules or {}).get(row["layer"]), row["out_shape"])
                    for _, row in ordered_rows.iterrows()])


def located(name: str, module: nn.Module | None, out_shape: tuple = ()) -> str:
    """A layer's name with its type, its kernel and widths (convs, linear layers) and its output map:
    ``located("6", nn.Conv2d(32, 256, 1), (1, 256, 16, 16))`` → "6 (Conv2d 1×1 32→256, 16×16)"."""
    if module is None:
        return name
    what = type(module).__name__
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        groups = f", {module.groups} groups" if module.groups > 1 else ""
        stride = f", stride {module.stride[0]}" if max(module.stride) > 1 else ""
        what += f" {kh}×{kw} {module.in_channels}→{module.out_channels}{groups}{stride}"
    elif isinstance(module, nn.Linear):
        what += f" {module.in_features}→{module.out_features}"
    out_shape = tuple(out_shape or ())
    where = f", {out_shape[-2]}×{out_shape[-1]}" if len(out_shape) == 4 else ""
    return f"{name} ({what}{where})"


def _elementwise(layers: pd.DataFrame) -> pd.Series:
    return layers["op_class"].isin(profiling.ELEMENTWISE_CLASSES)


# --- measuring a suggestion: a copy of the network, or the lesson's micro-benchmark --------------------------

def _timed(context: Context, candidates: dict, x: InputLike) -> pd.DataFrame:
    context.steps.update(0)  # keeps a notebook's progress bar alive during a long comparison
    return compare_latency(candidates, x, device=context.device, threads=context.threads, budget_s=FIX_BUDGET_S,
                           counts=False)


def _replaced(model: nn.Module, replacements: dict[str, Callable[[nn.Module], nn.Module]]) -> nn.Module:
    """A copy of ``model`` with each named submodule replaced by ``make(old)``."""
    changed = copy.deepcopy(model)
    for name, make in replacements.items():
        parent_name, _, leaf = name.rpartition(".")
        parent = changed.get_submodule(parent_name) if parent_name else changed
        parent._modules[leaf] = make(parent._modules[leaf])
    return changed


def _conv_like(conv: nn.Conv2d, **changes) -> nn.Conv2d:
    """A fresh conv with ``conv``'s settings, some changed (groups, stride): new weights, for timing only."""
    settings = dict(in_channels=conv.in_channels, out_channels=conv.out_channels, kernel_size=conv.kernel_size,
                    stride=conv.stride, padding=conv.padding, dilation=conv.dilation, groups=conv.groups,
                    bias=conv.bias is not None, padding_mode=conv.padding_mode)
    return nn.Conv2d(**{**settings, **changes}).to(conv.weight.device, conv.weight.dtype)


def _different_network(context: Context, replacements: dict, what: str) -> Gain | None:
    """Build the suggested architecture on a copy, check that its output has the original's shape, time it
    interleaved against the original: a measured gain, labelled a different network. None when the copy was not
    clearly faster — like an output-preserving change, a remedy that gave no clear gain here is no advice (the rule
    then lists the guideline as checked)."""
    if not context.measure:
        return _not_estimated("not measured (measure=False)")
    changed = _replaced(context.model, replacements)
    try:
        with torch.inference_mode():
            tensor = make_input(context.x, resolve_device(context.device, context.model))
            same_shape = _out_shape(changed.eval(), tensor) == _out_shape(copy.deepcopy(context.model).eval(),
                                                                          tensor)
    except Exception as err:  # noqa: BLE001 — a copy that does not run is not timed, and says why
        return _not_estimated(f"{what} does not run on this network ({type(err).__name__})")
    if not same_shape:
        return _not_estimated(f"{what} changes the network's output shape")
    judged = verdict.speed(_timed(context, {"original": context.model, what: changed}, context.x), what)
    if judged.outcome != verdict.FASTER:
        return None
    return Gain("measured", 1 - judged.numbers["range"], DIFFERENT_NETWORK, judged.text)


def _out_shape(model: nn.Module, tensor: torch.Tensor) -> tuple:
    out = model(tensor)
    return tuple(out.shape) if isinstance(out, torch.Tensor) else tuple(tuple(o.shape) for o in out)


def _calibrated(context: Context, share: profiling.Share, pair: dict, costly: str, lesson: str) -> Gain | None:
    """The lesson's micro-benchmark ``pair`` ({cheap: (model, shape), costly: (model, shape)}) timed here at the
    layers' size: the
    share of the time these layers would lose if they ran at the cheap form's speed, share × (1 − 1/r) with r the
    measured time ratio costly / cheap (and its 95 % interval). None when r is not clearly above 1: this machine
    does not charge for the pattern, and the rule finds nothing."""
    cheap = next(name for name in pair if name != costly)
    r = verdict.paired(_timed(context, pair, None), costly, cheap)
    if r.vs(1.0).where != ABOVE:
        return None
    s = share.time.value
    saved = Range(s * (1 - 1 / r.value), s * (1 - 1 / r.lo), s * (1 - 1 / r.hi))  # 1 − 1/r grows with r
    return Gain("estimate", saved, NOT_BUILT,
                f"calibrated here on lesson {lesson}'s micro-benchmark: {costly} ran {times(r.value)} the time of "
                f"{cheap} (95 % interval {ratio_range(r)}), applied to these layers' {pct(s)} of the time")


# --- the rules: one per guideline the lessons teach -------------------------------------------------------------

def _bottleneck(context: Context) -> dict | None:
    """Lesson 06: the dense 1×1 convs hold most of the time. Tried on a copy: the same convs in 2 groups with a
    channel shuffle after each (ShuffleNet's remedy) — a different network."""
    pointwise = context.layers["kind"] == "pointwise 1×1"
    share = context.share(pointwise)
    if not _stands_out(share, POINTWISE_SHARE):
        return None
    names = [n for n in context.layers.loc[pointwise, "layer"] if n in context.convs and context.convs[n].groups == 1
             and not (context.convs[n].in_channels % 2 or context.convs[n].out_channels % 2)]
    gain = _different_network(context, {n: lambda c: nn.Sequential(_conv_like(c, groups=BOTTLENECK_GROUPS),
                                                                   blocks.ChannelShuffle(BOTTLENECK_GROUPS))
                                        for n in names},
                              f"1×1 convs in {BOTTLENECK_GROUPS} groups + shuffle") if names else \
        _not_estimated("no 1×1 conv with widths divisible by 2")
    if gain is None:
        return None  # the grouped copy was not clearly faster here
    return _finding("bottleneck cost: 1×1 convs hold most of the time", "06",
                    _names(context.layers[pointwise], context.modules), share,
                    f"{pct(share.time.value)} of the time for {pct(share.macs)} of the MACs",
                    "narrow the bottlenecks, or group the 1×1 convs (g = 2) with a channel shuffle (ShuffleNet) — "
                    "more groups run into G2", gain)


def _width_ratio(conv: nn.Conv2d) -> float:
    return max(conv.out_channels / conv.in_channels, conv.in_channels / conv.out_channels)


def _g1(context: Context) -> dict | None:
    """G1: 1×1 convs far from equal input and output widths — judged by lesson 06's own pair on this machine
    (the worst layer's widths against equal widths at the same MACs, at its map size)."""
    unbalanced = [n for n, m in context.convs.items() if m.kernel_size == (1, 1) and m.groups == 1
                  and _width_ratio(m) >= G1_RATIO]
    rows = context.conv_rows[context.conv_rows["layer"].isin(unbalanced) & (context.conv_rows["share"] >= LAYER_SHARE)]
    if not len(rows):
        return None
    share = context.share(context.rows_of(rows["layer"]))
    worst = max(rows["layer"], key=lambda n: _width_ratio(context.convs[n]))
    conv, side = context.convs[worst], rows.set_index("layer").loc[worst, "out_shape"][-1]
    ratio = _width_ratio(conv)
    gain = _not_estimated("not measured (measure=False)")
    if context.measure:
        width = round(math.sqrt(conv.in_channels * conv.out_channels))
        pair = {"1:1 widths": guidelines.g1_candidate(1, CALIBRATION_BLOCKS, side, width),
                f"1:{ratio:.0f} widths": guidelines.g1_candidate(ratio, CALIBRATION_BLOCKS, side, width)}
        gain = _calibrated(context, share, pair, f"1:{ratio:.0f} widths", "06")
        if gain is None:
            return None  # this machine's G1 pair ran no clearly slower: the guideline holds no cost here
    return _finding("G1: unequal 1×1 widths", "06", _names(rows, context.modules), share,
                    f"width ratios up to 1:{ratio:.0f}",
                    "bring each 1×1 conv's input and output widths closer at the same MACs", gain)


def _g2(context: Context) -> dict | None:
    """G2: grouped 1×1 convs. Tried on a copy: the same convs dense (groups = 1) — more MACs, fewer passes over
    memory per MAC; a different network."""
    grouped = [n for n, m in context.convs.items() if m.kernel_size == (1, 1) and m.groups >= G2_GROUPS]
    rows = context.conv_rows[context.conv_rows["layer"].isin(grouped)]
    share = context.share(context.rows_of(rows["layer"]))
    if not (len(rows) and _stands_out(share, GROUP_SHARE)):
        return None
    groups = max(context.convs[n].groups for n in rows["layer"])
    gain = _different_network(context, {n: lambda c: _conv_like(c, groups=1) for n in rows["layer"]},
                              "the grouped 1×1 convs dense (groups 1)")
    if gain is None:
        return None  # dense was not clearly faster here (it also does groups× the MACs)
    return _finding("G2: many groups in 1×1 convs", "04", _names(rows, context.modules), share,
                    f"up to {groups} groups", "fewer groups, chosen for the platform (measure g = 1, 2, 4)", gain)


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


def _fragmented(modules: dict, records: list) -> dict[str, int]:
    """Blocks — the root's own ``forward`` included — that join FRAGMENT_BRANCHES+ branches (one cat or stack of
    that many tensors), or run FRAGMENT_CONVS+ convs of their own: {block name ("" for the root): branches}."""
    found: dict[str, int] = {}
    for r in records:
        if r.op.startswith(("aten.cat", "aten.stack")) and r.inputs >= FRAGMENT_BRANCHES:
            found[r.module] = max(found.get(r.module, 0), r.inputs)
    for name, m in modules.items():
        if name and not isinstance(m, (nn.Sequential, nn.ModuleList)) and _own_convs(m) >= FRAGMENT_CONVS:
            found.setdefault(name, FRAGMENT_BRANCHES)
    return found


def _fragment_mask(context: Context, block: str) -> pd.Series:
    """The profile rows of a fragmented block; for the root, its own ops and the branch lists it holds."""
    if block:
        return context.layers["layer"].map(lambda layer: layer == block or layer.startswith(block + "."))
    lists = [n for n, m in context.model.named_children() if isinstance(m, (nn.ModuleList, nn.ModuleDict))]
    return context.layers["layer"].map(lambda layer: layer == "(model)"
                                       or any(layer.startswith(n + ".") for n in lists))


def _g3(context: Context) -> dict | None:
    """G3: fragmented blocks, anywhere in the graph — judged by lesson 04's own pair on this machine (4 parallel
    fragments against one conv, at the blocks' map size)."""
    fragmented = _fragmented(context.modules, context.records)
    if not fragmented:
        return None
    mask = pd.Series(False, index=context.layers.index)
    for block in fragmented:
        mask |= _fragment_mask(context, block)
    share = context.share(mask)
    if not _stands_out(share, GROUP_SHARE):
        return None
    names = [located(b, context.modules[b]) if b else "the network's own forward" for b in fragmented]
    gain = _not_estimated("not measured (measure=False)")
    if context.measure:
        sides = [s[-1] for s in context.layers.loc[mask, "out_shape"] if len(s) == 4]
        side = max(1, int(sorted(sides)[len(sides) // 2])) if sides else 28
        pair = {"one conv": guidelines.g3_candidate(1, False, CALIBRATION_BLOCKS, side),
                "4 parallel fragments": guidelines.g3_candidate(4, True, CALIBRATION_BLOCKS, side)}
        gain = _calibrated(context, share, pair, "4 parallel fragments", "04")
        if gain is None:
            return None  # fragments cost no clear extra time here
    return _finding("G3: fragmented blocks", "04", _listed(names), share,
                    f"{plural(len(names), 'block')} with {FRAGMENT_BRANCHES}+ branches or {FRAGMENT_CONVS}+ convs",
                    "fewer, larger operators per block (merge branches)", gain)


def _depthwise(context: Context) -> dict | None:
    """Lesson 01: depthwise convs holding far more of the time than of the MACs."""
    depthwise = context.layers["kind"].str.startswith("depthwise")
    share = context.share(depthwise)
    slow_for_its_macs = share.macs > 0 and share.time.value >= DEPTHWISE_FACTOR * share.macs
    if not (_stands_out(share, DEPTHWISE_SHARE) and slow_for_its_macs):
        return None
    return _finding("depthwise convs far slower than their MACs", "01",
                    _names(context.layers[depthwise], context.modules), share,
                    f"{pct(share.time.value)} of the time for {pct(share.macs)} of the MACs "
                    f"({share.time.value / share.macs:.1f}×)", "wider depthwise stages, fewer of them, or plain "
                    "convs where the maps are small (lessons 01, 08)",
                    _not_estimated("which redesign fits is the designer's choice; time each one (lesson 08)"))


def _first_stage(layers: pd.DataFrame, modules: dict, shape: tuple) -> tuple[pd.Series, int]:
    """The network's first stage, where FaceBoxes' advice applies: the rows whose output map is the largest any conv
    produces (the layers before the first downsampling), when that map is larger than 1/4 of the input's side and a
    later layer shrinks it — a global pool's 1×1 output is no stage and does not count; convs there only with
    kernels ≤ 3. Returns (the rows, the stage's side), or (no rows, 0) when the network has no such stage."""
    nothing = pd.Series(False, index=layers.index), 0
    sides = [out[-1] for layer, out in zip(layers["layer"], layers["out_shape"])
             if isinstance(modules.get(layer), nn.Conv2d) and len(out) == 4]
    if len(shape) != 4 or not sides:
        return nothing
    stage = max(sides)
    shrinks = any(len(out) == 4 and 1 < out[-1] < stage for out in layers["out_shape"])
    if stage * 4 <= shape[-1] or not shrinks:
        return nothing

    def early(row) -> bool:
        out = row["out_shape"]
        if len(out) != 4 or out[-1] != stage:
            return False
        module = modules.get(row["layer"])
        return not isinstance(module, nn.Conv2d) or max(module.kernel_size) <= 3
    return layers.apply(early, axis=1).astype(bool), stage


def _early(context: Context) -> dict | None:
    """Lessons 07/08: small kernels on the first stage's large maps. Tried on a copy: the stage's first conv with
    twice its stride (a quarter of the positions after it) — a different network, timed if its output keeps its
    shape. FaceBoxes' RDCL (stride 32 in four steps) is suggested only for inputs of ``RDCL_SIDE`` pixels or more;
    on smaller ones it would shrink the map to almost nothing, and the suggestion is a stride-2 stem."""
    early, stage = _first_stage(context.layers, context.modules, context.shape)
    share = context.share(early)
    if not _stands_out(share, EARLY_SHARE):
        return None
    first = next((n for n in context.layers.loc[early, "layer"] if n in context.convs), None)
    gain = (_different_network(context, {first: lambda c: _conv_like(c, stride=tuple(2 * s for s in c.stride))},
                               f"conv {first} at twice its stride") if first else _not_estimated("no conv to stride"))
    if gain is None:
        return None  # the strided copy was not clearly faster here
    side = context.shape[-1]
    suggestion = ("shrink the map faster: a strided or large-kernel stem (FaceBoxes' RDCL, lesson 07)"
                  if side >= RDCL_SIDE else
                  f"shrink the map sooner: a stride-2 stem (FaceBoxes' RDCL shrinks by 32, made for 1024×1024 "
                  f"inputs: far too much for {side}×{side})")
    return _finding("large early maps with small kernels", "07", _names(context.layers[early], context.modules),
                    share, f"{pct(share.time.value)} of the time in the first stage ({stage}×{stage} maps, before "
                    "the first downsampling)", suggestion, gain)


def _has_kind(prefix: str) -> Callable[[Context], bool]:
    return lambda context: bool(context.layers["kind"].str.startswith(prefix).any())


def _has_grouped_pointwise(context: Context) -> bool:
    return any(m.kernel_size == (1, 1) and m.groups >= G2_GROUPS for m in context.convs.values())


RULES = [Rule("bottleneck cost", "06", _bottleneck, _has_kind("pointwise 1×1")),
         Rule("G1", "06", _g1, _has_kind("pointwise 1×1")),
         Rule("G2", "04", _g2, _has_grouped_pointwise),
         Rule("G3", "04", _g3, lambda context: bool(_fragmented(context.modules, context.records))),
         Rule("depthwise", "01", _depthwise, _has_kind("depthwise")),
         Rule("early resolution", "07", _early,
              lambda context: _first_stage(context.layers, context.modules, context.shape)[1] > 0)]


# --- output-preserving changes: checked equal, then timed ---------------------------------------------------------

def _output_preserving(model: nn.Module, compile: bool) -> list[tuple]:
    """(guideline, lesson, where, op classes it changes, name, suggestion, change) for each output-preserving
    change that applies to ``model``."""
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    out_of_place = [m for m in model.modules() if isinstance(m, (nn.ReLU, nn.ReLU6)) and not m.inplace]
    branched = [m for m in model.modules() if hasattr(m, "reparameterized")]
    changes = []
    if norms:
        changes.append(("unfolded BatchNorm", "05", plural(len(norms), "BatchNorm layer"), ["BatchNorm"],
                        "BatchNorm folded", "fold BatchNorm into the convolutions (transforms.fold_batchnorm)",
                        transforms.fold_batchnorm))
    if out_of_place:
        changes.append(("out-of-place activations", "05", plural(len(out_of_place), "ReLU layer"), ["activation"],
                        "in-place ReLUs", "in-place activations (transforms.inplace_activations)",
                        transforms.inplace_activations))
    if branched:
        changes.append(("training-time branches at inference", "11", plural(len(branched), "re-parameterizable block"),
                        None, "re-parameterized", "fold the branches (transforms.reparameterize)",
                        lambda m: blocks.fuse_branches(copy.deepcopy(m))))
    changes.append(("memory layout", "00", "the convolutions", ["conv / linear", "depthwise conv"], "channels-last",
                    "channels-last memory (transforms.ChannelsLast)", transforms.ChannelsLast))
    if compile:
        changes.append(("operator fusion", "05", "the whole network", None, "compiled",
                        "torch.compile the model for deployment", None))
    return changes


def _measured_fixes(context: Context, compile: bool) -> dict:
    """The output-preserving changes effedu can make itself: each checked equal on a copy first (refused and not
    timed if its outputs move), then timed interleaved against the original; advice only where clearly faster."""
    found, fine, skipped = [], [], []
    for guideline, lesson, where, classes, name, suggestion, change in _output_preserving(context.model, compile):
        concerned = context.share(context.layers["op_class"].isin(classes) if classes
                                  else pd.Series(True, index=context.layers.index))
        if not context.measure:
            if guideline != "memory layout":
                found.append(_finding(guideline, lesson, where, concerned, "the change was not timed", suggestion,
                                      _not_estimated("not measured (measure=False)")))
            continue
        context.steps.update()
        if change is None:  # torch.compile: compiled once, its outputs checked, then timed
            frame, reason = transforms.compile_comparison(copy.deepcopy(context.model), context.x,
                                                          device=context.device, threads=context.threads,
                                                          check=True)
            if frame is None:
                (skipped if "changed the outputs" in reason else fine).append(f"{guideline} ({reason})")
                continue
            name = "compiled"
        else:
            built, reason = transforms.checked(change, context.model, context.x, what=name)
            if built is None:
                skipped.append(reason)
                continue
            frame = _timed(context, {"original": context.model, name: built}, context.x)
        judged = verdict.speed(frame, name)
        if judged.outcome != verdict.FASTER:  # only a change that clearly helped is advice
            fine.append(guideline)
            continue
        found.append(_finding(guideline, lesson, where, concerned, judged.text, suggestion,
                              Gain("measured", 1 - judged.numbers["range"], OUTPUTS_CHECKED,
                                   f"saves {pct_range(1 - judged.numbers['range'])} of the time (95 % interval)")))
    return {"findings": found, "checked": fine, "skipped": skipped}


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
