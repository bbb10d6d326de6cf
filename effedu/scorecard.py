"""The class scorecard: the course's headline experiments on one machine in about two minutes, saved as a small
JSON file — and a page that puts a whole room's files side by side, with the papers' devices beside them. Speed
depends on the hardware: the room's own spread shows it.

    python -m effedu scorecard [--out FILE]        # measure here, print the table, save FILE
    python -m effedu class FILE [FILE …] [--out PAGE]  # merge scorecards into one HTML page

A scorecard holds the machine description (``effedu.hardware()``: CPU, cores, OS, torch — no user names), the
versions, the memory allocator in effect, and each experiment measured in ``PROCESSES`` fresh processes: one process
is one sample of the allocator's state (pyperf runs every benchmark in many worker processes for the same reason),
so each process's paired ratio with its 95 % interval is kept, with its CPU share and its page faults per forward.
An experiment whose processes disagree by more than the widest of their own intervals is **unstable** and is
reported as such, with the page-fault evidence — never as one number. Nothing is sent anywhere. The table and the
class page decide every outcome again from the stored intervals, through the course's one rule (``Range.vs``).
"""
from __future__ import annotations

import datetime
import html
import json
import secrets
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Callable

import pandas as pd
from matplotlib.lines import Line2D
from torch import nn

from . import __version__, blocks, guidelines, models, plots, profiling, transforms, verdict
from ._runtime import Device, positive_int
from ._text import num, pct, pct_range, plural, ratio_range, times
from . import stats
from .stats import Range
from .machine import allocator, available_cores, default_device, hardware, pin_allocator
from .timing import STARVED_CPU_SHARE, NoisyMeasurementWarning, compare_latency, measure_latency

FORMAT = "effedu scorecard 3"  # 3: every experiment in several processes; lo–hi: 95 % intervals (sign test)
OLD_FORMATS = {"effedu scorecard 1": "format 1: its range is the middle half of the rounds, not a 95 % interval",
               "effedu scorecard 2": "format 2: one process only — it may have met one state of the allocator"}
BUDGET_S = 0.5
PROCESSES = 5  # fresh processes per experiment (the allocator's state differs between processes)
UNSTABLE = "unstable: the processes disagree"


def _stored(r: Range) -> dict:
    """A Range as JSON: no interval (too few rounds) is stored as null ends, not NaN."""
    return {"value": r.value, "lo": r.lo if r.decidable else None, "hi": r.hi if r.decidable else None}


def _paired(frame: pd.DataFrame, name: str, baseline: str | None = None) -> dict:
    """One process's measurement of one experiment: the paired ratio and its 95 % interval, the rounds, the CPU
    share while sampling and each candidate's page faults per forward."""
    faults = {str(n): float(frame.loc[n, "faults"]) for n in frame.index} if "faults" in frame.columns else None
    return {**_stored(verdict.paired(frame, name, baseline)), "rounds": verdict.rounds(frame),
            "cpu_share": frame.attrs.get("cpu_share"), "faults": faults}


def measured_range(e: dict) -> Range:
    """An experiment's value and interval as a Range (null ends: none). Over several processes: the median of their
    values, and an interval from the lowest to the highest end of their intervals (what all of them allow)."""
    return Range(float(e["value"]), *(math.nan if e.get(end) is None else float(e[end]) for end in ("lo", "hi")))


def combined(processes: list[dict]) -> dict:
    """One experiment measured in several processes → its value (the median of the processes'), an interval
    holding every process's interval, the processes' own values (``between``), and whether they agree: an
    experiment is **unstable** when its processes' values spread wider than the widest of their own intervals —
    one run's interval then says nothing about the next process's."""
    values = [p["value"] for p in processes]
    ends = [(p["lo"], p["hi"]) for p in processes if p.get("lo") is not None]
    spread = max(values) - min(values)
    widest = max((hi - lo for lo, hi in ends), default=math.nan)
    stable = len(ends) == len(processes) and (len(processes) == 1 or spread <= widest)
    return {"value": statistics.median(values), "lo": min((lo for lo, _ in ends), default=None) if ends else None,
            "hi": max((hi for _, hi in ends), default=None) if ends else None, "between": [min(values), max(values)],
            "stable": stable, "processes": processes}


def outcome(e: dict, card_format: str = FORMAT) -> str:
    """An experiment's outcome, decided again from its stored intervals by the course's one rule — never read from
    the file: "unstable" when its processes disagree, "share" for a share of the time, else the speed outcome. A
    card of an older format is not decided (its range was not such an interval)."""
    if card_format != FORMAT:
        return "not decided (older format)"
    if not e.get("stable", True):
        return UNSTABLE
    if e["unit"] == "time share":
        return "share"
    return verdict.outcome_of(measured_range(e))


def starved(e: dict, card: dict) -> float | None:
    """The lowest CPU share of an experiment's processes when it is below ``STARVED_CPU_SHARE`` on a one-thread
    card (the core was shared: a busy hub node, another program) — else None. Marked on the page, never hidden."""
    if card.get("threads", 1) != 1:
        return None
    shares = [p["cpu_share"] for p in e.get("processes", []) if p.get("cpu_share") is not None]
    return min(shares) if shares and min(shares) < STARVED_CPU_SHARE else None


def shown_outcome(e: dict, card: dict) -> str:
    """The outcome as the table and the page say it: decided again, with a starved run marked."""
    decided = OLD_FORMATS.get(card.get("format"), outcome(e, card.get("format")))
    share = starved(e, card)
    return decided if share is None else f"{decided} — starved (CPU share {pct(share)})"


def fault_evidence(e: dict) -> str:
    """For an unstable experiment, what the page faults say: each process's value with the candidates' page faults
    per forward where they differ between processes (the allocator's fresh pages in some processes and not in
    others), or that they do not (then something else differs between processes)."""
    processes = e.get("processes", [])
    counts = [process.get("faults") or {} for process in processes]
    values = ", ".join(num(process["value"]) for process in processes)
    if not any(counts):
        return f"processes: {values}; page faults were not counted on this system"
    if len({tuple(round(c) for c in count.values()) for count in counts}) == 1:
        return (f"processes: {values}, each with the same page faults per forward — not the allocator's fresh pages; "
                "probably something else that differs from one process to the next: where weights land in memory, or "
                "the machine's own state (other load taking memory bandwidth slows a memory-bound candidate more)")
    parts = [f"{num(process['value'])} ({', '.join(f'{n} {num(c)}' for n, c in count.items())} page faults per "
             "forward)" for process, count in zip(processes, counts)]
    return "processes: " + "; ".join(parts) + " — the allocator handed out fresh pages in some processes only"


def _separable(device, threads):
    shape = (1, 512, 14, 14)
    frame = compare_latency({"standard": blocks.ConvBNAct(512, 512, 3),
                             "separable": blocks.DepthwiseSeparable(512, 512)},
                            shape, device=device, threads=threads, budget_s=BUDGET_S)
    return {**_paired(frame, "separable"), "macs_ratio": float(frame.loc["separable", "macs_ratio"])}


def _g1(device, threads):
    frame = compare_latency({"1:1": guidelines.g1_candidate(1), "1:12": guidelines.g1_candidate(12)},
                            device=device, threads=threads, budget_s=BUDGET_S)
    return {**_paired(frame, "1:12"), "macs_ratio": float(frame.loc["1:12", "macs_ratio"])}


def _g2(device, threads):
    frame = compare_latency({"g=1": guidelines.g2_candidate(1), "g=8": guidelines.g2_candidate(8)},
                            device=device, threads=threads, budget_s=BUDGET_S)
    return _paired(frame, "g=8")


def _g3(threads_of: Callable[[], int]):
    def run(device, threads):
        frame = compare_latency({"1-fragment": guidelines.g3_candidate(1, False),
                                 "4-fragment-parallel": guidelines.g3_candidate(4, True)},
                                device="cpu", threads=threads_of(), budget_s=BUDGET_S)
        return {**_paired(frame, "4-fragment-parallel"), "threads": threads_of()}
    return run


def _g4(device, threads):
    frame = compare_latency({"on": guidelines.g4_bottleneck_stack(128),
                             "off": guidelines.g4_bottleneck_stack(128, relu=False, shortcut=False)},
                            (1, 128, 56, 56), device=device, threads=threads, budget_s=BUDGET_S)
    return _paired(frame, "off")


def _elementwise(device, threads):
    layers = profiling.profile_layers(models.mobilenet_v2(), (1, 3, 224, 224), device=device, threads=threads,
                                      repeats=6)
    share = profiling.share_of(layers, layers["op_class"].isin(profiling.ELEMENTWISE_CLASSES))
    return {**_stored(share.time), "rounds": len(layers.attrs["rounds"])}


def _large_kernel(device, threads):
    frame = compare_latency({"default layout": guidelines.depthwise_stack(17, layers=4),
                             "channels-last": transforms.ChannelsLast(guidelines.depthwise_stack(17, layers=4))},
                            (1, 384, 16, 16), device=device, threads=threads, budget_s=BUDGET_S)
    return _paired(frame, "channels-last")


def _reparam(device, threads):
    frame = compare_latency({"training form": models.repvgg_a0(), "fused": models.repvgg_a0(deploy=True)},
                            (1, 3, 160, 160), device=device, threads=threads, budget_s=BUDGET_S)
    return {**_paired(frame, "fused"), "macs_ratio": float(frame.loc["fused", "macs_ratio"])}


def _five_convs() -> nn.Sequential:
    """The 3×3 stride-2 stack the RDCL replaces (lesson 07): its first conv writes a 7.4 MB map at VGA."""
    stack = [(3, 24), (24, 48), (48, 64), (64, 128), (128, 128)]
    return nn.Sequential(*[blocks.ConvBNAct(a, b, 3, 2) for a, b in stack])


def _rdcl(device, threads):
    frame = compare_latency({"five 3×3 s2": _five_convs(), "RDCL": blocks.RDCL()}, (1, 3, 480, 640),
                            device=device, threads=threads, budget_s=BUDGET_S)
    return {**_paired(frame, "RDCL"), "macs_ratio": float(frame.loc["RDCL", "macs_ratio"])}


def _stem_alone(device, threads):
    """Not on the card: one network (the five convs at VGA) timed alone — its median ms with the 95 % interval over
    its samples, and its page faults per forward. For lesson 00's processes with other allocator settings."""
    result = measure_latency(_five_convs(), (1, 3, 480, 640), device=device, threads=threads, budget_s=BUDGET_S)
    r = stats.median_interval(result.samples)
    return {**_stored(r), "rounds": len(result.samples), "cpu_share": result.cpu_share,
            "faults": {"five 3×3 s2": result.faults_per_forward}}


# key: (title, what the value is, runner, the paper's values as the same kind of number, a note)
EXPERIMENTS = {
    "separable": ("Depthwise separable vs standard 3×3 conv (14×14×512)", "time ratio", _separable,
                  {}, "MobileNet Table 3: MACs ×0.113"),
    "g1": ("G1: 1:12 vs 1:1 widths (equal MACs)", "time ratio", _g1, {}, "ShuffleNetV2: 1:1 fastest on GPU and ARM"),
    "g2": ("G2: 8 groups vs 1 (equal MACs)", "time ratio", _g2,
           {d: 1 / v[8] for d, v in guidelines.PAPER_G2_SPEED.items()}, "ShuffleNetV2 Table 2"),
    "g3_one": ("G3: 4 parallel fragments vs 1, one CPU thread", "time ratio", _g3(lambda: 1),
               {d: 1 / v[(4, True)] for d, v in guidelines.PAPER_G3_SPEED.items()}, "ShuffleNetV2 Table 3"),
    "g3_all": ("G3: 4 parallel fragments vs 1, all CPU cores", "time ratio", _g3(available_cores),
               {d: 1 / v[(4, True)] for d, v in guidelines.PAPER_G3_SPEED.items()}, "ShuffleNetV2 Table 3"),
    "g4": ("G4: ReLU and shortcut off vs on (10 bottlenecks)", "time ratio", _g4,
           {"paper (GPU and ARM)": 1 / (1 + guidelines.PAPER_G4_GAIN[2])}, "ShuffleNetV2 Table 4: 8–24 % faster"),
    "elementwise": ("Elementwise share of MobileNetV2's time", "time share", _elementwise, {}, ""),
    "rdcl": ("FaceBoxes RDCL vs five 3×3 s2 convs (VGA)", "time ratio", _rdcl, {}, "MACs ×0.311"),
    "large_kernel": ("Depthwise 17×17 (4 layers, 384 ch, 16×16): channels-last vs default", "time ratio",
                     _large_kernel, {}, "RepLKNet Remark 1: the implementation decides"),
    "reparam": ("RepVGG-A0 fused vs its training form (160×160)", "time ratio", _reparam, {},
                "RepVGG: MACs ×0.9; the paper times the fused form"),
}
PROBES = {  # measured in fresh processes for the lessons, not on the card
    "stem": ("Five 3×3 s2 convs at VGA, alone", "ms", _stem_alone, {}, ""),
}


def measure_here(keys: list[str], device: Device, threads: int, progress: bool = False) -> dict:
    """Each experiment of ``keys`` measured once, in this process: {key: one process's measurement}."""
    results = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoisyMeasurementWarning)  # the intervals carry the noise; starvation is said
        for key in keys:
            title, unit, runner, *_ = {**EXPERIMENTS, **PROBES}[key]
            if progress:
                print(f"  {title} …", flush=True)
            results[key] = runner(device, threads)
    return results


def in_processes(keys: list[str], *, processes: int = PROCESSES, device: Device = "cpu", threads: int = 1,
                 env: dict | None = None, pin: bool = True, progress: bool = False) -> list[dict]:
    """Each experiment of ``keys`` measured in ``processes`` fresh Python processes, one after another (each one a
    sample of the allocator's state); ``env`` adds environment variables to them (``MALLOC_MMAP_THRESHOLD_`` …),
    ``pin`` pins glibc's allocator in them (``machine.pin_allocator``). Returns one dict per process: its
    measurements and the allocator it ran with."""
    unknown = sorted(set(keys) - set(EXPERIMENTS) - set(PROBES))
    if unknown:
        raise ValueError(f"keys must name experiments of {sorted(EXPERIMENTS) + sorted(PROBES)}, got {unknown}")
    positive_int(processes, "processes")
    found = []
    for index in range(processes):
        if progress:
            print(f"  process {index + 1} of {processes} …", flush=True)
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / "one.json"
            command = [sys.executable, "-m", "effedu", "scorecard", "--one-process", "--out", str(out),
                       "--device", str(device), "--threads", str(threads), "--keys", *keys]
            done = subprocess.run(command + ([] if pin else ["--no-pin"]), capture_output=True, text=True,
                                  env={**os.environ, **(env or {})}, timeout=600)
            if done.returncode != 0:
                raise RuntimeError(f"a measuring process failed: {done.stderr.strip().splitlines()[-1:]}")
            found.append(json.loads(out.read_text(encoding="utf-8")))
    return found


def run(*, device: Device = None, threads: int = 1, progress: bool = True, processes: int = PROCESSES,
        pin: bool = True) -> dict:
    """Measure every experiment in ``processes`` fresh processes; returns the scorecard (a JSON-ready dict). Each
    experiment stores every process's value, 95 % interval, rounds, CPU share and page faults, and their
    combination (``combined``); its outcome is decided when the card is read (``outcome``). ``pin``: glibc's
    allocator pinned in the measuring processes (the course's default; the card says which)."""
    device = str(device or default_device())
    started = time.perf_counter()
    runs = in_processes(list(EXPERIMENTS), processes=processes, device=device, threads=threads, pin=pin,
                        progress=progress)
    results = {}
    for key, (title, unit, _, paper, note) in EXPERIMENTS.items():
        results[key] = {"title": title, "unit": unit, **combined([r["results"][key] for r in runs]),
                        "paper": paper, "note": note}
        results[key]["outcome"] = outcome(results[key])  # for people reading the file; re-decided on reading
    return {"format": FORMAT, "effedu": __version__, "created": datetime.datetime.now().isoformat(timespec="seconds"),
            "seconds": round(time.perf_counter() - started, 1), "device": device, "threads": threads,
            "processes": processes, "allocator": runs[0]["allocator"],
            "machine": {k: str(v) for k, v in hardware().items()}, "python": platform.python_version(),
            "experiments": results}


def one_process(keys: list[str], device: Device, threads: int, pin: bool) -> dict:
    """What one measuring process of ``in_processes`` writes: its allocator and its measurements."""
    if pin:
        pin_allocator()
    return {"allocator": allocator(), "results": measure_here(keys, device, threads)}


def table(card: dict) -> pd.DataFrame:
    """One row per experiment: value, its 95 % interval, the outcome (decided again) and the paper's devices."""
    rows = {}
    for key, e in card["experiments"].items():
        paper = ", ".join(f"{d} ×{num(v)}" for d, v in e.get("paper", {}).items())
        shown, spread = _shown(e)
        note = e.get("note", "")
        rows[e["title"]] = {"here": shown, "95 % interval": spread, "between processes": _between(e),
                            "outcome": shown_outcome(e, card),
                            "paper": "; ".join(part for part in (paper, note) if part)}
    return pd.DataFrame(rows).T


def unstable_notes(card: dict) -> list[str]:
    """One line per unstable experiment of ``card``: its title and what its processes' page faults say."""
    return [f"{e['title']}: {fault_evidence(e)}." for e in card["experiments"].values()
            if outcome(e, card.get("format")) == UNSTABLE]


def _between(e: dict) -> str:
    """The processes' own values, lowest to highest: "×0.55–0.83 (5 processes)"."""
    if "between" not in e:
        return "one process"
    low, high = e["between"]
    count = len(e.get("processes", []))
    shown = f"{pct(low)}–{pct(high)}" if e["unit"] == "time share" else f"×{num(low)}–{num(high)}"
    return f"{shown} ({plural(count, 'process', 'processes')})"


def _shown(e: dict) -> tuple[str, str]:
    """An experiment's value and its interval as people read them: "×1.72", "×1.68–1.75" or "21 %", "21 %–22 %"."""
    r = measured_range(e)
    if e["unit"] == "time share":
        return pct(r.value), pct_range(r)
    return times(r.value), ratio_range(r)


def machine_label(card: dict) -> str:
    m = card.get("machine", {})
    device = card.get("device", "cpu")
    where = m.get("gpu", "GPU") if device.startswith("cuda") else f"{m.get('cpu', '?')}, {card.get('threads', 1)} thr"
    return f"{where} ({m.get('os', '?')})"


def card_files(paths: list[str | Path]) -> list[Path]:
    """The files to read: each path given, and every ``*.json`` file in (and below) each folder given — how a room's
    cards arrive (a shared folder, an LMS download)."""
    found = []
    for path in map(Path, paths):
        found += sorted(path.rglob("*.json")) if path.is_dir() else [path]
    return found


def load(paths: list[str | Path]) -> tuple[list[tuple[str, dict]], list[str]]:
    """The readable scorecards (label, card) of ``paths`` (files or folders) and a message for each file that is not
    one (wrong format, an older version, unreadable) — never an exception for a classmate's bad file."""
    cards, problems, labels = [], [], {}
    for path in card_files(paths):
        try:
            card = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            problems.append(f"{path.name}: not readable as a scorecard ({type(err).__name__}: {err})")
            continue
        if not isinstance(card, dict) or card.get("format") not in (FORMAT, *OLD_FORMATS):
            found = card.get("format", "no format field") if isinstance(card, dict) else type(card).__name__
            problems.append(f"{path.name}: made by another version of effedu ({found}; this one reads {FORMAT}) — "
                            "re-run `python3 course.py scorecard` on that machine")
            continue
        label = machine_label(card)
        labels[label] = labels.get(label, 0) + 1
        cards.append((label if labels[label] == 1 else f"{label} #{labels[label]}", card))
    return cards, problems


MAX_KINDS_PLOTTED = 12  # kinds of machine drawn one row each; the rest share a row: a figure stays a screen high


def machine_kind(card: dict) -> str:
    """Machines that should measure alike: the same CPU (or GPU), thread count and OS."""
    return machine_label(card)


def kinds(cards: list[tuple[str, dict]]) -> dict[str, list[tuple[str, dict]]]:
    """The cards grouped by kind of machine, the most common kind first."""
    grouped: dict[str, list] = {}
    for label, card in cards:
        grouped.setdefault(machine_kind(card), []).append((label, card))
    return dict(sorted(grouped.items(), key=lambda item: (-len(item[1]), item[0])))


def _plot(key: str, cards: list[tuple[str, dict]]) -> str:
    """One compact figure per experiment, whatever the room's size: a row per kind of machine (at most
    ``MAX_KINDS_PLOTTED``, the rest in one row), a dot per machine (hollow: starved; ×: unstable), a bar at the kind's
    median, the papers' devices as lines in their own colour and style."""
    grouped = kinds([(label, card) for label, card in cards if key in card.get("experiments", {})])
    if not grouped:
        return ""
    rows = list(grouped.items())
    if len(rows) > MAX_KINDS_PLOTTED:
        rest = [member for _, members in rows[MAX_KINDS_PLOTTED - 1:] for member in members]
        rows = rows[:MAX_KINDS_PLOTTED - 1] + [(f"{len(grouped) - MAX_KINDS_PLOTTED + 1} other kinds", rest)]
    first = rows[0][1][0][1]["experiments"][key]
    title, unit = first["title"], first["unit"]
    fig = plots.DescribedFigure(figsize=(9, figure_height(len(rows))))
    ax = fig.subplots()
    for y, (kind, members) in enumerate(rows):
        values = []
        for j, (label, card) in enumerate(members):
            e = card["experiments"][key]
            value = measured_range(e).value
            values.append(value)
            jitter = y + 0.3 * (((j * 7) % 11) / 10 - 0.5)  # spread a kind's dots a little, deterministically
            marker = "x" if outcome(e, card.get("format")) == UNSTABLE else "o"
            ax.plot([value], [jitter], marker, color=plots.PALETTE[0], ms=4, alpha=0.8,
                    fillstyle="none" if starved(e, card) is not None else "full")
        ax.plot([statistics.median(values)] * 2, [y - 0.35, y + 0.35], color="black", lw=2)
    for i, (device, value) in enumerate(first.get("paper", {}).items()):
        style = plots.series_style(i + 1)
        ax.axvline(value, color=style["color"], ls=style["linestyle"], lw=1.2, label=f"paper: {device}")
    if unit == "time ratio":
        ax.axvline(1.0, color="grey", lw=0.8)
    ax.set_yticks(range(len(rows)), [f"{kind[:45]} ({len(members)})" for kind, members in rows])
    ax.invert_yaxis()
    ax.set_xlabel(unit)
    ax.set_title(title, fontsize=10)
    key_entries = [Line2D([], [], marker="o", ls="", color=plots.PALETTE[0], label="one machine"),
                   Line2D([], [], marker="o", ls="", fillstyle="none", color=plots.PALETTE[0], label="starved"),
                   Line2D([], [], marker="x", ls="", color=plots.PALETTE[0], label="unstable"),
                   Line2D([], [], marker="|", ls="", ms=10, mew=2, color="black", label="median of the kind")]
    ax.legend(handles=key_entries + ax.get_legend_handles_labels()[0], fontsize=7, loc="center left",
              bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return plots.html_image(plots.png_bytes(fig), plots.describe(fig))


def figure_height(rows: int) -> float:
    """Inches: grows with the rows drawn, which are at most ``MAX_KINDS_PLOTTED`` — 60 or 200 machines alike."""
    return 1.2 + 0.4 * min(rows, MAX_KINDS_PLOTTED)


def _cell(e: dict | None, card: dict) -> str:
    if e is None:
        return "<td>—</td>"
    value, interval = _shown(e)
    return f"<td>{value}<br><small>{interval}<br>{html.escape(shown_outcome(e, card))}</small></td>"


def _kind_summary(key: str, members: list[tuple[str, dict]]) -> str:
    """A kind of machine in one cell: the median of its machines' values, their range, and how many were unstable or
    starved."""
    found = [(card["experiments"][key], card) for _, card in members if key in card.get("experiments", {})]
    if not found:
        return "<td>—</td>"
    values = [measured_range(e).value for e, _ in found]
    is_share = found[0][0]["unit"] == "time share"
    shown = (lambda v: pct(v)) if is_share else times
    marks = [f"{n} {word}" for n, word in ((sum(outcome(e, c.get("format")) == UNSTABLE for e, c in found), "unstable"),
                                           (sum(starved(e, c) is not None for e, c in found), "starved")) if n]
    spread = f"{shown(min(values))}–{shown(max(values)).lstrip('×')}" if len(values) > 1 else "one machine"
    return (f"<td>{shown(statistics.median(values))}<br><small>{spread}"
            + (f"<br>{', '.join(marks)}" if marks else "") + "</small></td>")


def class_page(paths: list[str | Path]) -> str:
    """One HTML page for a room of any size: per kind of machine (the most common first) the median of its machines
    and their range per experiment; one compact figure per experiment; every machine's own row (value, 95 % interval,
    outcome decided again, starved runs marked) folded below; files that could not be read listed, never fatal."""
    cards, problems = load(paths)
    keys = list(dict.fromkeys(k for _, card in cards for k in card.get("experiments", {})))
    header = "".join(f"<th>{html.escape(card_title(k, cards))}</th>" for k in keys)
    grouped = kinds(cards)
    summary = "".join(f"<tr><th>{html.escape(kind)} <small>({plural(len(members), 'machine')})</small></th>"
                      + "".join(_kind_summary(k, members) for k in keys) + "</tr>" for kind, members in grouped.items())
    every = "".join(f"<tr><th>{html.escape(label)}</th>"
                    + "".join(_cell(card.get("experiments", {}).get(k), card) for k in keys) + "</tr>"
                    for members in grouped.values()
                    for label, card in sorted(members, key=lambda m: m[0]))
    figures = "".join(f"<h2>{html.escape(card_title(k, cards))}</h2>{_plot(k, cards)}" for k in keys)
    skipped = "".join(f"<li>{html.escape(p)}</li>" for p in problems)
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>effedu — the class scorecard</title>"
            "<style>body{font-family:sans-serif;max-width:1200px;margin:2em auto}td,th{padding:4px 8px;"
            "border-bottom:1px solid #ddd;text-align:left;vertical-align:top}</style></head><body>"
            f"<h1>The class scorecard: {plural(len(cards), 'machine')} of {plural(len(grouped), 'kind')}</h1>"
            "<p>Each number is a paired ratio measured on a machine (the median of interleaved rounds, in five fresh "
            "processes). Below 1: the candidate took less time than its baseline. Per kind of machine: the median of "
            "its machines, and the lowest–highest machine in small print; every machine's own value, 95 % interval "
            "and outcome (decided again from the file) are in the table folded below. <b>Starved</b>: the measurement "
            "got less than 60 % of its CPU core (a busy node) — do not trust it. <b>Unstable</b>: its five processes "
            "disagreed. The dashed lines in the figures are the papers' own devices.</p>"
            f"<table><tr><th>kind of machine</th>{header}</tr>{summary}</table>"
            f"<details><summary>Every machine ({len(cards)})</summary><table><tr><th>machine</th>{header}</tr>"
            f"{every}</table></details>"
            + (f"<h2>Files not included</h2><ul>{skipped}</ul>" if skipped else "") + figures + "</body></html>")


def latest_outcomes(folders: list[Path] | None = None) -> dict[str, str] | None:
    """The newest scorecard saved in the course folder (or ``folders``; a lesson runs in student/, the card sits
    one level up): {experiment title: its outcome, decided again}. None where there is none, or it cannot be
    read."""
    folders = folders or [Path.cwd(), Path.cwd().parent]
    found = sorted((p for folder in folders for p in folder.glob("scorecard-*.json")), key=lambda p: p.stat().st_mtime)
    if not found:
        return None
    cards, _ = load([found[-1]])
    if not cards:
        return None
    card = cards[0][1]
    return {e["title"]: outcome(e, card.get("format")) for e in card["experiments"].values()}


def card_title(key: str, cards: list[tuple[str, dict]]) -> str:
    for _, card in cards:
        if key in card.get("experiments", {}):
            return card["experiments"][key]["title"]
    return key


def default_name(card: dict) -> str:
    """A file name no other machine (or run) in the room picks: the machine, the time to the second and a random
    suffix — identical laptops saving into one shared folder never overwrite each other."""
    stem = "".join(c if c.isalnum() else "-" for c in machine_label(card).lower()).strip("-")
    when = "".join(c if c.isalnum() else "-" for c in str(card["created"]))
    return f"scorecard-{stem[:60]}-{when}-{secrets.token_hex(3)}.json"


def save(card: dict, path: Path | None = None) -> Path:
    """Write ``card`` to ``path`` (default: a new unique name here); never overwrites an existing file."""
    for _ in range(10):
        target = path or Path(default_name(card))
        try:
            with open(target, "x", encoding="utf-8") as out:
                json.dump(card, out, indent=1)
            return target
        except FileExistsError:
            if path is not None:
                raise FileExistsError(f"out: {path} exists already — choose another name (nothing was overwritten)")
    raise FileExistsError("could not find a free scorecard file name")
