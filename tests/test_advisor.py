"""The design advisor: each finding detected on a network built to break exactly that guideline and not on one
built to respect it; the model left untouched; clear errors; the command and its HTML report."""
import copy
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from helpers import BatchNormAct2d, Raising, small_cnn
from torch import nn

import effedu
from effedu import advisor, blocks, guidelines, transforms

pytestmark = pytest.mark.slow  # each case profiles a network and times the changes: seconds each
ROOT = Path(__file__).resolve().parents[1]


def guidelines_found(model, shape, **kwargs):
    return set(effedu.advise(model, shape, progress=False, measure=False, **kwargs)["guideline"])


def conv(c_in, c_out, k=1, groups=1, stride=1):
    return nn.Conv2d(c_in, c_out, k, stride, k // 2, groups=groups, bias=False)


BREAK_AND_RESPECT = {
    "bottleneck cost: 1×1 convs hold most of the time": (
        nn.Sequential(*[conv(256, 256) for _ in range(4)]), nn.Sequential(*[conv(64, 64, 3) for _ in range(4)]),
        (1, 256, 14, 14), (1, 64, 14, 14)),
    "G1: unequal 1×1 widths": (
        nn.Sequential(conv(16, 256), conv(256, 16), conv(16, 16, 3)), nn.Sequential(conv(64, 64), conv(64, 64),
                                                                                   conv(64, 64, 3)),
        (1, 16, 28, 28), (1, 64, 28, 28)),
    "G2: many groups in 1×1 convs": (
        guidelines.g2_group_stack(8, 360, layers=4), guidelines.g2_group_stack(1, 128, layers=4),
        (1, 360, 28, 28), (1, 128, 28, 28)),
    "G3: fragmented blocks": (
        guidelines.g3_fragment_stack(4, True, blocks=4), guidelines.g3_fragment_stack(1, False, blocks=4),
        (1, 128, 28, 28), (1, 128, 28, 28)),
    "depthwise convs far slower than their MACs": (
        nn.Sequential(conv(256, 256, 3, groups=256), conv(256, 256), conv(256, 256, 3, groups=256), conv(256, 256)),
        nn.Sequential(*[conv(128, 128, 3) for _ in range(3)]), (1, 256, 28, 28), (1, 128, 28, 28)),
    "large early maps with small kernels": (
        nn.Sequential(conv(3, 32, 3), conv(32, 32, 3), conv(32, 64, 3, stride=4), conv(64, 64, 3, stride=2)),
        nn.Sequential(conv(3, 32, 7, stride=4), conv(32, 64, 3), conv(64, 64, 3), conv(64, 64, 3, stride=2)),
        (1, 3, 96, 96), (1, 3, 96, 96)),
    "unfolded BatchNorm": (blocks.ConvBNAct(32, 32, 3), nn.Sequential(conv(32, 32, 3), nn.ReLU()),
                           (1, 32, 28, 28), (1, 32, 28, 28)),
}


@pytest.mark.parametrize("guideline", BREAK_AND_RESPECT)
def test_each_guideline_found_where_broken_and_not_where_respected(guideline):
    breaking, respecting, broken_shape, fine_shape = BREAK_AND_RESPECT[guideline]
    assert guideline in guidelines_found(breaking, broken_shape)
    assert guideline not in guidelines_found(respecting, fine_shape)


def test_a_clean_network_gets_nothing_stands_out():
    clean = nn.Sequential(conv(3, 64, 7, stride=4), nn.ReLU(inplace=True), conv(64, 64, 3), nn.ReLU(inplace=True))
    frame = effedu.advise(clean, (1, 3, 64, 64), progress=False, measure=False)
    assert len(frame) == 0 and frame.attrs["summary"].startswith("Sequential: **nothing stands out**")
    assert list(frame.columns) == advisor.COLUMNS


@pytest.mark.serial  # needs a change that is clearly faster: no other test may share the cores
def test_measured_and_estimated_gains_never_share_a_column_or_a_sentence():
    frame = effedu.advise(effedu.models.mobilenet_v2(0.5), (1, 3, 96, 96), progress=False)
    measured = frame[frame["measured_gain"].notna()]
    assert not measured.empty and (measured["measured_gain"] > 0).all()
    checked = measured[measured["change"] == advisor.OUTPUTS_CHECKED]
    assert all("faster" in s for s in checked["sentence"])  # an output-preserving fix is advice only when faster
    estimated = frame[frame["estimated_gain"].notna()]
    assert all("estimate, not a measurement" in s for s in estimated["sentence"])
    assert not (frame["measured_gain"].notna() & frame["estimated_gain"].notna()).any()
    assert all("estimate" not in s for s in measured["sentence"])
    assert frame.equals(advisor.ordered(frame))  # measured gains first, largest first (10m)


class RootBranches(nn.Module):
    """Four parallel branches kept in a ModuleList and concatenated in the model's own forward (not in a block)."""

    def __init__(self):
        super().__init__()
        self.stem = conv(32, 128)
        self.branches = nn.ModuleList(conv(128, 32) for _ in range(4))
        self.head = conv(128, 128)

    def forward(self, x):
        x = self.stem(x)
        return self.head(torch.cat([branch(x) for branch in self.branches], 1))


def test_fragmentation_in_the_models_own_forward_is_found():
    frame = effedu.advise(RootBranches(), (1, 32, 28, 28), progress=False, measure=False)
    row = frame[frame["guideline"] == "G3: fragmented blocks"]
    assert len(row) == 1 and "the network's own forward" in row["where"].iloc[0]


@pytest.mark.parametrize("groups", [3, 8])
def test_grouped_pointwise_convs_of_shufflenet_v1_are_found(groups):
    found = guidelines_found(effedu.models.shufflenet_v1(groups=groups), (1, 3, 96, 96))
    assert "G2: many groups in 1×1 convs" in found


def spy_on_timing(monkeypatch) -> list[str]:
    """Every candidate name the advisor times, in order."""
    timed, real = [], advisor.compare_latency

    def recording(candidates, *args, **kwargs):
        timed.extend(candidates)
        return real(candidates, *args, **kwargs)
    monkeypatch.setattr(advisor, "compare_latency", recording)
    return timed


def test_a_change_that_alters_the_outputs_is_skipped_not_timed(monkeypatch):
    def loses_the_activation(model):  # what a naive fold did to timm's BatchNormAct2d
        changed = copy.deepcopy(model).eval()
        changed[1] = nn.Identity()
        return changed

    monkeypatch.setattr(transforms, "fold_batchnorm", loses_the_activation)
    timed = spy_on_timing(monkeypatch)
    model = nn.Sequential(conv(16, 32, 3), BatchNormAct2d(32), conv(32, 32, 3))
    frame = effedu.advise(model, (1, 16, 28, 28), progress=False)
    assert "BatchNorm folded" not in timed and "unfolded BatchNorm" not in set(frame["guideline"])
    assert any(reason.startswith("BatchNorm folded changed the outputs") for reason in frame.attrs["skipped"])
    assert "Not timed: BatchNorm folded changed the outputs" in frame.attrs["summary"]


def test_every_timed_copy_was_checked_or_is_labelled_a_different_network(monkeypatch):
    timed = spy_on_timing(monkeypatch)
    passed, real_checked = [], transforms.checked

    def recording(change, model, x, **kwargs):
        built, reason = real_checked(change, model, x, **kwargs)
        if built is not None:
            passed.append(kwargs.get("what"))
        return built, reason
    monkeypatch.setattr(transforms, "checked", recording)
    frame = effedu.advise(effedu.models.slow_digits_net(), (1, 1, 16, 16), progress=False)
    preserving = {"BatchNorm folded", "in-place ReLUs", "channels-last", "re-parameterized"}
    assert {name for name in timed if name in preserving} <= set(passed) and passed
    copies = frame[frame["measured_gain"].notna()]
    assert set(copies["change"]) <= {advisor.OUTPUTS_CHECKED, advisor.DIFFERENT_NETWORK}
    different = frame[frame["change"] == advisor.DIFFERENT_NETWORK]
    assert not different.empty  # the slow network's 8-group 1×1 convs are tried dense on a copy
    assert all(advisor.DIFFERENT_NETWORK in s for s in different["sentence"])


def test_the_model_is_left_exactly_as_it_was():
    model = effedu.models.mobilenet_v2(0.5).train()
    model.features[0].register_forward_hook(lambda *args: None)
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    buffers, threads = sorted(dict(model.named_buffers())), torch.get_num_threads()
    hooks = [(dict(m._forward_hooks), dict(m._forward_pre_hooks)) for m in model.modules()]
    effedu.advise(model, (1, 3, 64, 64), progress=False)
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())
    assert sorted(dict(model.named_buffers())) == buffers and torch.get_num_threads() == threads
    assert [(dict(m._forward_hooks), dict(m._forward_pre_hooks)) for m in model.modules()] == hooks
    assert model.training and all(m.training for m in model.modules())
    assert all(m.inplace for m in model.modules() if isinstance(m, nn.ReLU6))


def test_clear_errors():
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        effedu.advise("resnet", (1, 3, 64, 64), progress=False)
    with pytest.raises(ValueError, match=r"x of shape \(1, 5, 16, 16\)"):
        effedu.advise(small_cnn(), (1, 5, 16, 16), progress=False)
    with pytest.raises(RuntimeError, match="model raised KeyError on x of shape"):
        effedu.advise(Raising(), (1, 3, 16, 16), progress=False)
    with pytest.raises(ValueError, match="--input"):
        advisor.parse_shape("one,two")
    with pytest.raises(ValueError, match="package.module:function"):
        advisor.build_from("resnet50")


def test_the_command_writes_its_html_report(tmp_path):
    report = tmp_path / "report.html"
    done = subprocess.run([sys.executable, "-m", "effedu", "advise", "effedu.models:shufflenet_v2", "--input",
                           "1,3,64,64", "--html", str(report)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "effedu.models:shufflenet_v2: " in done.stdout  # the summary names the network
    assert "finding" in done.stdout or "nothing stands out" in done.stdout
    page = report.read_text()
    assert "Design advice: effedu.models:shufflenet_v2" in page and "data:image/png;base64" in page


def test_the_command_names_a_wrong_model_in_one_line(capsys):
    from effedu.__main__ import main  # in-process: the error path needs no second interpreter

    assert main(["advise", "effedu.models:nothing", "--input", "1,3,8,8"]) == 2
    assert "has no 'nothing'" in capsys.readouterr().err


def test_findings_are_ordered_by_evidence_then_gain():
    import pandas as pd

    nan = float("nan")
    rows = [("none, large share", 0.9, nan, nan), ("estimate", 0.3, nan, 0.20), ("small measured", 0.2, 0.05, nan),
            ("large measured", 0.1, 0.30, nan), ("none, small share", 0.1, nan, nan)]
    frame = pd.DataFrame([{**dict.fromkeys(advisor.COLUMNS, nan), "guideline": g, "time_share": share,
                           "measured_gain": measured, "estimated_gain": estimated}
                          for g, share, measured, estimated in rows], columns=advisor.COLUMNS)
    assert list(advisor.ordered(frame)["guideline"]) == ["large measured", "small measured", "estimate",
                                                         "none, large share", "none, small share"]
    words = advisor.summary(2, ["G1"], "Net", not_applicable=["depthwise"], gains=2)
    assert "do not add up" in words and "Not applicable (no such layers): depthwise" in words
    assert "do not add up" not in advisor.summary(1, ["G1"], "Net", gains=1)


def test_the_first_stage_is_only_the_layers_before_the_first_downsampling():
    from effedu import profiling

    slow = effedu.models.slow_digits_net()
    layers = profiling.profile_layers(slow, (1, 1, 16, 16), repeats=3)
    rows, side = advisor._first_stage(layers, dict(slow.named_modules()), (1, 1, 16, 16))
    assert side == 16 and rows.any()
    assert all(out[-1] == 16 for out in layers.loc[rows, "out_shape"])  # the 8×8 layers are not "early" (10g)
    assert set(layers.loc[rows, "layer"]) >= {"0", "3", "6", "9"}
    # a network whose only shrinking is a global pool has no early stage: its 1×1 output is no stage
    pooled = nn.Sequential(conv(3, 32, 3), conv(32, 32, 3), nn.AdaptiveAvgPool2d(1))
    profile = profiling.profile_layers(pooled, (1, 3, 32, 32), repeats=3)
    assert advisor._first_stage(profile, dict(pooled.named_modules()), (1, 3, 32, 32))[1] == 0
    assert "early resolution" in effedu.advise(pooled, (1, 3, 32, 32), progress=False,
                                               measure=False).attrs["not_applicable"]


def test_small_inputs_are_told_a_stride_2_stem_not_faceboxes_rdcl():
    frame = effedu.advise(effedu.models.slow_digits_net(), (1, 1, 16, 16), progress=False, measure=False)
    early = frame[frame["guideline"] == "large early maps with small kernels"]
    assert len(early) == 1 and "a stride-2 stem" in early["suggestion"].iloc[0]
    assert "16×16 maps, before the first downsampling" in early["measured"].iloc[0]
    large = BREAK_AND_RESPECT["large early maps with small kernels"][0]
    big = effedu.advise(large, (1, 3, 160, 160), progress=False, measure=False)
    assert "FaceBoxes' RDCL, lesson 07" in big.set_index("guideline").loc["large early maps with small kernels",
                                                                          "suggestion"]


def test_locations_are_readable_and_absent_layers_are_not_called_fine():
    assert advisor.located("6", nn.Conv2d(32, 256, 1), (1, 256, 16, 16)) == "6 (Conv2d 1×1 32→256, 16×16)"
    assert advisor.located("15", nn.Conv2d(96, 96, 1, groups=8), (1, 96, 8, 8)) == \
        "15 (Conv2d 1×1 96→96, 8 groups, 8×8)"
    assert advisor.located("(model)", None) == "(model)"
    frame = effedu.advise(effedu.models.slow_digits_net(), (1, 1, 16, 16), progress=False, measure=False)
    assert "depthwise" in frame.attrs["not_applicable"] and "depthwise" not in frame.attrs["checked"]
    assert "Not applicable (no such layers): depthwise" in frame.attrs["summary"]
    g2 = frame.set_index("guideline").loc["G2: many groups in 1×1 convs", "where"]
    assert "(Conv2d 1×1 96→96, 8 groups, 8×8)" in g2
    mobile = effedu.advise(effedu.models.mobilenet_v2(0.5), (1, 3, 64, 64), progress=False, measure=False)
    assert "G2" in mobile.attrs["not_applicable"]  # no grouped 1×1 convs: nothing to check, not "fine" (10i)


def test_the_summary_shows_the_per_layer_clocks_overhead():
    frame = effedu.advise(small_cnn(), (1, 3, 16, 16), progress=False, measure=False)
    assert frame.attrs["overhead"].outcome in {"close", "inflated", "below"}
    assert frame.attrs["summary"].endswith(frame.attrs["overhead"].text)  # 10h
    assert "end to end" in frame.attrs["summary"]


def test_a_different_network_that_is_not_clearly_faster_is_no_finding(monkeypatch):
    from effedu import verdict

    real = verdict.speed

    def never_faster(frame, name, *args, **kwargs):
        judged = real(frame, name, *args, **kwargs)
        return verdict.Verdict(verdict.SAME, judged.text, judged.numbers)
    monkeypatch.setattr(verdict, "speed", never_faster)
    frame = effedu.advise(effedu.models.slow_digits_net(), (1, 1, 16, 16), progress=False)
    assert (frame["change"] != advisor.DIFFERENT_NETWORK).all()
    assert {"G2", "early resolution"} <= set(frame.attrs["checked"])  # its remedy gave no clear gain here
