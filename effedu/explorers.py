"""Every lesson's explorer, configured in one place: its controls (ranges chosen so that any setting answers within
about a second on a 2-core laptop — ``benchmarks/explorer_latency.py`` checks), what it builds and the line it
adds under the summary. A lesson calls one function; the tests drive each explorer at its most expensive setting.
"""
from __future__ import annotations

from typing import Callable

import ipywidgets as widgets
import torch
from torch import nn

from . import blocks, guidelines, models, nas, transforms, verdict
from ._runtime import Device
from ._text import pct
from .check import CAPSTONE_BUDGET
from .machine import available_cores
from .structure import receptive_field, unread_pixels
from .training import accuracy
from .widgets import Explorer


def _slider(values: list, value, description: str) -> widgets.SelectionSlider:
    return widgets.SelectionSlider(options=values, value=value, description=description)


def three_goals(device: Device = None) -> Explorer:
    """Lesson 00: one reference network, compared in one of two ways, always interleaved — at a batch size against
    itself at batch 1 (latency, spread, time per image), or on N CPU threads against 1 thread (the thread count
    switches between blocks, as ``compare_threads`` does: moving a threads slider and comparing two settings would
    be mistake 2d). The CPU threads control and the thread comparison exist only on a CPU with more than one usable
    core: on a GPU the CPU thread count changes nothing that is measured."""
    networks = {name: build() for name, build in models.REFERENCE_MODELS.items() if name != "ResNet-50"}
    cores = available_cores()
    on_cpu = device is None or torch.device(device).type == "cpu"
    threads_matter = on_cpu and cores > 1

    def build(model, compare, batch, resolution, cpu_threads=1):
        shape = (1, 3, resolution, resolution)
        batched = (batch, *shape[1:])
        if compare == "threads":
            many = cpu_threads if cpu_threads > 1 else max(cores, 2)  # the slider at 1: all usable cores
            return {"1 thread": (networks[model], batched, 1), f"{many} threads": (networks[model], batched, many)}
        if not threads_matter:
            return {"batch 1": (networks[model], shape), f"batch {batch}": (networks[model], batched)}
        return {"batch 1": (networks[model], shape, cpu_threads),
                f"batch {batch}": (networks[model], batched, cpu_threads)}

    def describe(result, candidates, model, compare, batch, resolution, cpu_threads=1):
        if compare == "threads":
            return verdict.thread_speedup(result).text
        one, many = result["median_ms"].iloc[0], result["median_ms"].iloc[-1] / batch
        return (f"median time per image: {one:.2f} ms at batch 1, {many:.2f} ms at batch {batch} — " +
                (verdict.per_unit(result, f"batch {batch}", batch, "image").text if batch > 1
                 else "choose a batch above 1 to compare."))

    comparisons = [("batch N against batch 1", "batch")]
    if threads_matter:
        comparisons.append(("N CPU threads against 1", "threads"))
    controls = {"model": widgets.Dropdown(options=list(networks), value="MobileNetV2 1.0", description="model"),
                "compare": widgets.Dropdown(options=comparisons, value="batch", description="compare",
                                            disabled=len(comparisons) == 1),
                "batch": _slider([1, 2, 4], 2, "batch"),
                "resolution": _slider([96, 128, 160, 192, 224], 160, "resolution")}
    if threads_matter:
        controls["cpu_threads"] = widgets.IntSlider(value=1, min=1, max=cores, description="CPU threads")
    return Explorer(controls, build, device=device, plot="distribution", title="Latency distribution",
                    describe=describe)


def separable_pair(channels: int, resolution: int, kernel_size: int = 3) -> dict:
    """Lesson 01's two candidates at one setting (for its sweep and its explorer): a standard conv block and a
    depthwise separable one, ``channels`` → ``channels`` on a ``resolution``² map."""
    shape = (1, channels, resolution, resolution)
    return {"standard": (blocks.ConvBNAct(channels, channels, kernel_size), shape),
            "separable": (blocks.DepthwiseSeparable(channels, channels, kernel_size=kernel_size), shape)}


def separable(device: Device = None) -> Explorer:
    """Lesson 01: a standard conv block against a depthwise separable one, time ratio beside MAC ratio."""
    def build(channels, kernel_size, resolution):
        return separable_pair(channels, resolution, kernel_size)

    return Explorer({"channels": _slider([8, 16, 32, 64, 128, 256], 64, "channels"),
                     "kernel_size": _slider([3, 5, 7], 3, "kernel"),
                     "resolution": _slider([7, 14, 28, 56], 28, "resolution")},
                    build, device=device, title="Standard vs depthwise separable",
                    describe=lambda result, candidates, **_: verdict.promise(result, "separable").text)


def low_rank(net: nn.Sequential, index: int, test, device: Device = None) -> Explorer:
    """Lesson 02: the *trained* conv ``net[index]`` against its rank-r SVD factorization, timed on a 56×56 map;
    the line below gives the test accuracy of the network with the factorised layer swapped in."""
    layer = net[index]
    full_accuracy = accuracy(net, test)

    def build(rank):
        return {f"full {layer.in_channels}→{layer.out_channels}": layer,
                f"rank {rank}": blocks.LowRankConv.from_conv(layer, rank)}

    def describe(result, candidates, rank):
        factorised = candidates[f"rank {rank}"]
        swapped = nn.Sequential(*net[:index], factorised, *net[index + 1:])
        return (f"test accuracy with rank {rank}: {accuracy(swapped, test):.1%} (full layer: {full_accuracy:.1%}); "
                f"relative weight error {factorised.relative_error(layer):.3f}")

    return Explorer({"rank": widgets.IntSlider(value=16, min=1, max=min(layer.out_channels, 64), description="rank")},
                    build, x=(1, layer.in_channels, 56, 56), device=device, title="Trained conv vs its rank-r SVD",
                    describe=describe)


def group_shuffle(device: Device = None) -> Explorer:
    """Lesson 03: a dense 1×1 conv-BN-ReLU against a grouped one, and the grouped one followed by its shuffle."""
    def build(channels, groups, resolution):
        shape = (1, channels, resolution, resolution)
        return {"dense 1×1": (blocks.PointwiseGroupConv(channels, channels), shape),
                "group 1×1": (blocks.PointwiseGroupConv(channels, channels, groups=groups), shape),
                "group 1×1 + shuffle": (nn.Sequential(blocks.PointwiseGroupConv(channels, channels, groups=groups),
                                                      blocks.ChannelShuffle(groups)), shape)}

    return Explorer({"channels": widgets.IntSlider(value=240, min=24, max=480, step=24, description="channels"),
                     "groups": widgets.IntSlider(value=3, min=1, max=8, description="groups"),
                     "resolution": _slider([7, 14, 28, 56], 28, "resolution")},
                    build, device=device, title="Pointwise group conv and shuffle",
                    describe=lambda result, candidates, **_: verdict.removal(result, "group 1×1", "group 1×1 + shuffle",
                                                                 part="the shuffle", whole="the grouped conv").text)


def groups_and_fragments(device: Device = None) -> Explorer:
    """Lesson 04: G2 (groups, width following √g) and G3 (fragments) against the plain 1×1 stack, all at equal
    MACs — four 1×1 layers of 128 channels' worth each (a G3 block costs one such layer)."""
    def build(groups, fragments, parallel):
        layout = "" if fragments == 1 else (", parallel" if parallel else ", series")
        # groups=1 names the baseline itself: the dict keeps one row for it
        return {"g=1, c=128": guidelines.g2_candidate(1, layers=4),
                f"g={groups}, c={dict(guidelines.G2_SETTINGS)[groups]}": guidelines.g2_candidate(groups, layers=4),
                f"{fragments} fragment{'s' if fragments > 1 else ''}{layout}":
                    guidelines.g3_candidate(fragments, parallel, blocks=4)}

    return Explorer({"groups": widgets.Dropdown(options=[1, 2, 4, 8], value=4, description="groups"),
                     "fragments": widgets.Dropdown(options=[1, 2, 4], value=4, description="fragments"),
                     "parallel": widgets.Checkbox(value=False, description="parallel branches")},
                    build, device=device, title="Groups and fragments at equal MACs",
                    describe=lambda result, candidates, **_: verdict.ranking(result, among=list(result.index)).text)


def elementwise_pair(channels: int, resolution: int) -> dict:
    """Lesson 05's two candidates at one setting (its sweep and its explorer): a bottleneck with and without its
    ReLUs and shortcut add."""
    shape = (1, channels, resolution, resolution)
    return {"with ReLU + add": (blocks.Bottleneck(channels, channels), shape),
            "without": (blocks.Bottleneck(channels, channels, relu=False, shortcut=False), shape)}


def elementwise(device: Device = None) -> Explorer:
    """Lesson 05: one bottleneck with and without its ReLUs and shortcut add; the line below gives their share."""
    def build(channels, resolution):
        return elementwise_pair(channels, resolution)

    return Explorer({"channels": _slider([32, 64, 128, 256, 512], 128, "channels"),
                     "resolution": _slider([7, 14, 28, 56], 28, "resolution")},
                    build, device=device, title="One bottleneck, with and without its elementwise work",
                    describe=lambda result, candidates, **_: verdict.removal(result, "without", part="ReLU + add",
                                                                 whole="the bottleneck").text)


def width_ratio(device: Device = None) -> Explorer:
    """Lesson 06: G1 with any width ratio c2/c1 at (about) the MACs of a 128×128 conv, against 1:1, per MAC."""
    def build(width_ratio):
        return {"baseline 1:1": guidelines.g1_candidate(1, blocks=5),
                f"candidate 1:{width_ratio}": guidelines.g1_candidate(width_ratio, blocks=5)}

    def describe(result, candidates, width_ratio):
        return verdict.per_mac(result, f"candidate 1:{width_ratio}").text if width_ratio != 1 else \
            "1:1 against itself: the two should agree — any difference is this machine's noise."

    return Explorer({"width_ratio": _slider([1, 2, 3, 4, 6, 8, 12], 6, "c2 / c1")}, build, device=device,
                    title="G1: width ratio at equal MACs", describe=describe)


def stem(device: Device = None, shape: tuple = (1, 3, 480, 640)) -> Explorer:
    """Lesson 07: your own fast-shrinking stem — kernel sizes and strides of the RDCL's two convs — against the
    original at VGA; the line below gives its receptive field, total stride and the input pixels it never reads."""
    def build(k1, s1, k2, s2):
        return {"RDCL (7/4, 5/2)": blocks.RDCL(),
                f"yours ({k1}/{s1}, {k2}/{s2})": blocks.RDCL(kernels=(k1, k2), strides=(s1, s2))}

    def describe(result, candidates, k1, s1, k2, s2):
        yours = candidates[f"yours ({k1}/{s1}, {k2}/{s2})"]
        field, stride = receptive_field(yours)
        return (f"yours: receptive field {field} px, total stride {stride}, input pixels never read by conv1: "
                f"{pct(unread_pixels(yours))}. " + verdict.speed(result, f"yours ({k1}/{s1}, {k2}/{s2})").text)

    return Explorer({"k1": widgets.Dropdown(options=[3, 5, 7, 9], value=7, description="conv1 kernel"),
                     "s1": widgets.Dropdown(options=[2, 4], value=4, description="conv1 stride"),
                     "k2": widgets.Dropdown(options=[3, 5, 7], value=5, description="conv2 kernel"),
                     "s2": widgets.Dropdown(options=[1, 2], value=2, description="conv2 stride")},
                    build, x=shape, device=device, title="Stem at 640×480", describe=describe)


def redesign(device: Device = None) -> Explorer:
    """Lesson 08: a TinyNet of any registered block and multipliers against the level-0 separable network."""
    def build(block, width_mult, depth_mult):
        return {"level-0 separable": models.TinyNet("separable"),
                f"{block} w×{width_mult} d×{depth_mult}": models.TinyNet(block, width_mult=width_mult,
                                                                         depth_mult=depth_mult)}

    return Explorer({"block": widgets.Dropdown(options=list(blocks.BLOCKS), value="ShuffleNetV2 unit",
                                               description="block"),
                     "width_mult": _slider([0.25, 0.5, 0.75, 1.0, 1.5, 2.0], 1.0, "width ×"),
                     "depth_mult": _slider([0.5, 1.0, 2.0, 3.0], 1.0, "depth ×")},
                    build, x=(1, 1, 16, 16), device=device, title="TinyNet variants at batch 1",
                    describe=lambda result, candidates, **_: verdict.promise(result, result.index[-1]).text)


def reward(history: list, reference: nn.Module, target_ms: float, device: Device = "cpu") -> Explorer:
    """Lesson 09: every network the search evaluated, re-scored for another target T, weight w, soft or hard
    reward — the hand-made reference first, then the pick for these settings, timed. The accuracies shown are the
    search's proxy (a short training, scored on the validation split), not test accuracies."""
    step = max(round(target_ms / 40, 4), 1e-4)

    def build(target_ms, w, hard):
        pick = nas.rescore(history, target_ms=target_ms, w=w, hard=hard)[0]
        return {"reference (level-0 separable)": reference, f"pick: {nas.short_name(pick.arch)}": nas.build(pick.arch)}

    def describe(result, candidates, target_ms, w, hard):
        top = nas.rescore(history, target_ms=target_ms, w=w, hard=hard)[:3]
        return "top three for this reward: " + "; ".join(
            f"{nas.short_name(e.arch)} (proxy accuracy {e.accuracy:.1%} on the validation split, predicted "
            f"{e.latency_ms:.2f} ms)" for e in top)

    return Explorer({"target_ms": widgets.FloatSlider(value=round(target_ms, 4), min=step, max=round(2 * target_ms, 4),
                                                      step=step, readout_format=".3f", description="target T (ms)"),
                     "w": widgets.FloatSlider(value=-0.07, min=-1.0, max=0.0, step=0.01, readout_format=".2f",
                                              description="w"),
                     "hard": widgets.Checkbox(value=False, description="hard constraint")},
                    build, x=nas.INPUT, device=device, title="The search's pick for this reward, timed",
                    describe=describe)


def capstone(device: Device = None, budget: float = CAPSTONE_BUDGET) -> Explorer:
    """Lesson 10: the deliberately slow digits network against itself with the fixes you tick — latency only (no
    training), judged against the capstone's budget. Only G3's switch is at equal MACs, and the labels say so: the
    stride-2 stem leaves ¼ of the MACs after it, G1's balanced widths narrow the 1×1 pair to ¼ of its MACs, G2's
    dense convs do 8× the MACs of the grouped ones; the sentence under the table gives the network's MAC ratio."""
    def build(stem_stride_2, balanced, one_group, one_branch, inplace, fold):
        changed = models.slow_digits_net(stem_stride=2 if stem_stride_2 else 1, balanced=balanced,
                                         groups=1 if one_group else 8, fragments=1 if one_branch else 4,
                                         inplace=inplace)
        return {"slow network": models.slow_digits_net(),
                "with your fixes": transforms.fold_batchnorm(changed) if fold else changed}

    def describe(result, candidates, **_):
        macs = result["macs"]
        return (verdict.budget(result, "with your fixes", fraction=budget).text
                + f" MACs: ×{macs['with your fixes'] / macs['slow network']:.2f} the slow network's (a switch that "
                "changes the MACs tests more than its guideline).")

    return Explorer({"stem_stride_2": widgets.Checkbox(value=False,
                                                       description="stride-2 stem (07; ¼ the MACs after it)"),
                     "balanced": widgets.Checkbox(value=False, description="balanced 1×1 widths (G1; ¼ their MACs)"),
                     "one_group": widgets.Checkbox(value=False, description="1 group, not 8 (G2; 8× their MACs)"),
                     "one_branch": widgets.Checkbox(value=False, description="1 branch, not 4 (G3)"),
                     "inplace": widgets.Checkbox(value=False, description="in-place ReLUs (05)"),
                     "fold": widgets.Checkbox(value=False, description="fold BatchNorm (05)")},
                    build, x=(1, 1, 16, 16), device=device, title="The slow network and your fixes",
                    describe=describe)


def large_kernel(device: Device = None, shape: tuple = (1, 96, 16, 16)) -> Explorer:
    """Lesson 11: four depthwise k×k layers in a memory layout, against the same four at k = 3 in the default layout —
    where the time stops following the MACs, and which layout keeps large kernels cheap."""
    def build(kernel_size, layout):
        def stack(k):
            return guidelines.depthwise_stack(k, shape[1], layers=4)
        mine = stack(kernel_size)
        return {"k=3, default layout": stack(3),
                f"k={kernel_size}, {layout}": transforms.ChannelsLast(mine) if layout == "channels-last" else mine}

    def describe(result, candidates, kernel_size, layout):
        return verdict.promise(result, f"k={kernel_size}, {layout}").text

    return Explorer({"kernel_size": widgets.Dropdown(options=[3, 5, 7, 9, 13, 15, 17, 21, 31], value=13,
                                                     description="kernel"),
                     "layout": widgets.Dropdown(options=["default layout", "channels-last"], value="default layout",
                                                description="memory layout")},
                    build, x=shape, device=device, title="Depthwise k×k, four layers", describe=describe)


LESSON_EXPLORERS: dict[str, Callable[..., Explorer]] = {
    "00": three_goals, "01": separable, "02": low_rank, "03": group_shuffle, "04": groups_and_fragments,
    "05": elementwise, "06": width_ratio, "07": stem, "08": redesign, "09": reward, "10": capstone,
    "11": large_kernel,
}

def demo(lesson: str, device: Device = None) -> Explorer:
    """Lesson ``lesson``'s explorer with stand-in data where the lesson passes its own (02: a seeded, untrained
    digits network; 09: a two-entry search history) — what the tests and ``benchmarks/explorer_latency.py`` drive."""
    if lesson == "02":
        from . import data  # scikit-learn's digits: loaded only here

        return low_rank(models.digits_cnn(seed=0), 5, data.digits()[1], device=device)
    if lesson == "09":
        small, wide = (nas.Stage("separable", 3, 3, 16, 1),) * 3, (nas.Stage("inverted residual", 5, 6, 64, 3),) * 3
        history = [nas.Evaluation(small, 0.9, 0.5, 0.9), nas.Evaluation(wide, 0.97, 2.0, 0.9)]
        return reward(history, models.TinyNet("separable"), 0.6, device=device or "cpu")
    return LESSON_EXPLORERS[lesson](device=device)


# The setting of each explorer that costs the most forward-pass time (tests and the benchmark drive it).
MOST_EXPENSIVE = {
    "00": {"model": "ResNet-18", "batch": 4, "resolution": 224}, "01": {"channels": 256, "kernel_size": 7,
                                                                          "resolution": 56},
    "02": {"rank": 64}, "03": {"channels": 480, "groups": 1, "resolution": 56}, "04": {"groups": 8, "fragments": 4},
    "05": {"channels": 512, "resolution": 56}, "06": {"width_ratio": 12},
    "07": {"k1": 9, "s1": 2, "k2": 7, "s2": 1}, "08": {"block": "bottleneck", "width_mult": 2.0, "depth_mult": 3.0},
    "09": {"w": 0.0}, "10": {"stem_stride_2": False, "balanced": False, "one_group": False, "one_branch": False},
    "11": {"kernel_size": 31, "layout": "default layout"},
}
