"""The class scorecard: its file schema, merging a room's files (missing experiments, an older version, a broken
file) and the page. A real measurement runs once, on a fast subset."""
import json
import sys

import pytest

import effedu
from effedu import scorecard


def fake_card(cpu="AMD EPYC", gpu="none", device="cpu", experiments=None, fmt=scorecard.FORMAT):
    experiments = experiments if experiments is not None else {
        "g2": {"title": "G2: 8 groups vs 1 (equal MACs)", "unit": "time ratio", "value": 1.6, "lo": 1.55, "hi": 1.7,
               "outcome": "slower", "paper": {"1080Ti GPU": 3.85, "ARM Snapdragon 810": 1.43}, "note": ""},
        "elementwise": {"title": "Elementwise share of MobileNetV2's time", "unit": "time share", "value": 0.21,
                        "lo": 0.2, "hi": 0.22, "outcome": "share", "paper": {}, "note": ""}}
    return {"format": fmt, "effedu": "0.2.0", "created": "2026-11-28", "seconds": 70.0, "device": device,
            "threads": 1, "machine": {"cpu": cpu, "gpu": gpu, "os": "Linux 6"}, "python": "3.11.7",
            "experiments": experiments}


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def test_merging_machines_with_missing_experiments_and_bad_files(tmp_path):
    laptop = write(tmp_path, "laptop.json", fake_card())
    gpu_card = fake_card(gpu="NVIDIA H100", device="cuda", experiments={
        "g2": {**fake_card()["experiments"]["g2"], "value": 3.1, "lo": 3.0, "hi": 3.2}})
    gpu = write(tmp_path, "gpu.json", gpu_card)
    twin = write(tmp_path, "twin.json", fake_card())
    old = write(tmp_path, "old.json", fake_card(fmt="effedu scorecard 0"))
    broken = write(tmp_path, "broken.json", "{ not json")
    cards, problems = scorecard.load([laptop, gpu, twin, old, broken])
    assert [label for label, _ in cards] == ["AMD EPYC, 1 thr (Linux 6)", "NVIDIA H100 (Linux 6)",
                                             "AMD EPYC, 1 thr (Linux 6) #2"]
    assert any("old.json" in p and "another version" in p and "re-run" in p for p in problems)
    assert any("broken.json" in p and "not readable" in p for p in problems)
    page = scorecard.class_page([laptop, gpu, twin, old, broken])
    assert "3 machines" in page and "NVIDIA H100" in page and "×3.1" in page and "21 %" in page
    assert page.count("<img") == 2 and "Files not included" in page and "old.json" in page
    assert "<td>—</td>" in page  # the GPU card has no elementwise share


def test_table_names_the_papers_devices():
    table = scorecard.table(fake_card())
    assert table.loc["G2: 8 groups vs 1 (equal MACs)", "here"] == "×1.6"
    assert "1080Ti GPU ×3.85" in table.loc["G2: 8 groups vs 1 (equal MACs)", "paper"]
    assert table.loc["Elementwise share of MobileNetV2's time", "here"] == "21 %"


@pytest.mark.slow
def test_a_real_scorecard_has_the_schema(monkeypatch):
    subset = {key: scorecard.EXPERIMENTS[key] for key in ("g2", "g4")}
    monkeypatch.setattr(scorecard, "EXPERIMENTS", subset)
    monkeypatch.setattr(scorecard, "BUDGET_S", 0.05)
    card = scorecard.run(device="cpu", progress=False)
    json.dumps(card)  # JSON-ready
    assert card["format"] == scorecard.FORMAT and set(card["experiments"]) == {"g2", "g4"}
    assert {"cpu", "usable cores", "torch", "gpu", "os"} <= set(card["machine"])
    for e in card["experiments"].values():
        assert e["lo"] is None or e["lo"] <= e["value"] <= e["hi"]
        assert e["outcome"] == scorecard.outcome(e) and all(p["rounds"] >= 1 for p in e["processes"])
    assert "user" not in json.dumps(card).lower()
    assert scorecard.default_name(card).startswith("scorecard-") and scorecard.default_name(card).endswith(".json")


def process(value, lo, hi, faults=None):
    return {"value": value, "lo": lo, "hi": hi, "rounds": 20, "cpu_share": 0.99, "faults": faults}


def test_processes_that_disagree_beyond_their_own_intervals_are_unstable():
    agreeing = scorecard.combined([process(0.75, 0.74, 0.76), process(0.752, 0.745, 0.76), process(0.748, 0.74, 0.755)])
    assert agreeing["stable"] and agreeing["value"] == 0.75 and (agreeing["lo"], agreeing["hi"]) == (0.74, 0.76)
    assert scorecard.outcome({**agreeing, "unit": "time ratio"}) == "faster"
    two_modes = [process(0.83, 0.82, 0.84, {"stack": 0, "RDCL": 0}),
                 process(0.57, 0.56, 0.58, {"stack": 2852, "RDCL": 564}),
                 process(0.82, 0.81, 0.83, {"stack": 0, "RDCL": 0})]
    unstable = {**scorecard.combined(two_modes), "unit": "time ratio", "title": "RDCL"}
    assert not unstable["stable"] and scorecard.outcome(unstable) == scorecard.UNSTABLE
    evidence = scorecard.fault_evidence(unstable)
    assert "2,852" in evidence and "fresh pages in some processes only" in evidence
    same_faults = {**scorecard.combined([process(1.6, 1.58, 1.62, {"a": 0}), process(1.8, 1.78, 1.82, {"a": 0})]),
                   "unit": "time ratio"}
    assert "not the allocator" in scorecard.fault_evidence(same_faults)
    card = {"format": scorecard.FORMAT, "experiments": {"rdcl": unstable}}
    assert scorecard.unstable_notes(card) == [f"RDCL: {evidence}."]


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator settings")
def test_two_allocator_modes_in_child_processes_are_told_apart_by_their_page_faults():
    runs = {"every large block fresh": scorecard.in_processes(["stem"], processes=1, pin=False,
                                                              env={"MALLOC_MMAP_THRESHOLD_": "131072"}),
            "large blocks kept": scorecard.in_processes(["stem"], processes=1, pin=False,
                                                        env={"MALLOC_MMAP_THRESHOLD_": "4000000000",
                                                             "MALLOC_TRIM_THRESHOLD_": "4000000000"})}
    fresh = runs["every large block fresh"][0]["results"]["stem"]["faults"]["five 3×3 s2"]
    kept = runs["large blocks kept"][0]["results"]["stem"]["faults"]["five 3×3 s2"]
    assert fresh > 1000 and kept < 100  # counts, not timings: the fresh mode maps every activation anew
    assert "MALLOC_MMAP_THRESHOLD_=131072" in runs["every large block fresh"][0]["allocator"]["settings"]
    said = effedu.verdict.allocator_effect(runs, "stem", what="the median ms")
    assert f"page faults per forward (five 3×3 s2): {effedu.verdict.num(fresh)}" in said.text
    assert said.outcome in ("the allocator moved it", "no clear allocator effect")


def test_latest_outcomes_decides_the_newest_card_again(tmp_path):
    assert scorecard.latest_outcomes([tmp_path]) is None
    write(tmp_path, "scorecard-old.json", fake_card(fmt="effedu scorecard 1"))
    import os
    os.utime(tmp_path / "scorecard-old.json", (1, 1))  # older than the next one
    write(tmp_path, "scorecard-new.json", fake_card())
    assert scorecard.latest_outcomes([tmp_path]) == {"G2: 8 groups vs 1 (equal MACs)": "slower",
                                                     "Elementwise share of MobileNetV2's time": "share"}


def room_card(kind: int, machine: int, *, starved_share: float | None = None, unstable: bool = False) -> dict:
    """One of a room's cards: three kinds of machine, values that differ a little per machine."""
    cpus = ["Intel Core i5-1135G7", "Apple M2", "AMD Ryzen 7 5800U"]
    value = (1.3, 1.6, 1.9)[kind] + 0.01 * machine
    process = {"value": value, "lo": value - 0.05, "hi": value + 0.05, "rounds": 12,
               "cpu_share": starved_share if starved_share is not None else 0.97, "faults": None}
    g2 = {"title": "G2: 8 groups vs 1 (equal MACs)", "unit": "time ratio", "value": value, "lo": value - 0.05,
          "hi": value + 0.05, "between": [value, value + (0.5 if unstable else 0.0)], "stable": not unstable,
          "processes": [process] * 5, "paper": {"1080Ti GPU": 3.85, "ARM Snapdragon 810": 1.43}, "note": ""}
    card = fake_card(cpu=cpus[kind], experiments={"g2": g2})
    card["created"] = "2026-11-30T10:15:00"  # a room that ran the scorecard in the same second
    return card


def test_a_room_of_sixty_on_one_page_nothing_overwritten(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    saved = {scorecard.save(room_card(i % 3, i, starved_share=0.3 if i == 7 else None, unstable=i == 8))
             for i in range(60)}
    assert len(saved) == 60 and len(list(tmp_path.glob("scorecard-*.json"))) == 60  # same machines, same second
    with pytest.raises(FileExistsError, match="nothing was overwritten"):
        scorecard.save(room_card(0, 0), next(iter(saved)))
    page = scorecard.class_page([tmp_path])  # a folder: every card in it
    assert "60 machines of 3 kinds" in page and page.count("<img") == 1
    assert "starved (CPU share 30 %)" in page and "1 starved" in page and "1 unstable" in page
    assert scorecard.figure_height(3) == pytest.approx(scorecard.figure_height(2) + 0.4)
    assert scorecard.figure_height(200) == scorecard.figure_height(scorecard.MAX_KINDS_PLOTTED)  # bounded
    assert "alt='Figure: G2: 8 groups vs 1" in page


def test_the_table_marks_a_starved_measurement():
    card = room_card(0, 0, starved_share=0.41)
    card["experiments"]["g2"].update(scorecard.combined(card["experiments"]["g2"]["processes"]))
    assert scorecard.table(card).iloc[0]["outcome"].endswith("starved (CPU share 41 %)")


def test_every_site_that_decides_calls_the_one_rule(monkeypatch, tmp_path):
    """Verdicts, the advisor, the exercise checkers, the scorecard and the class page all decide through
    ``stats.Range.vs``: with it patched to record, each site records a call."""
    import pandas as pd

    from effedu import advisor, check, profiling, verdict
    from effedu.stats import Range

    calls = []
    original = Range.vs
    monkeypatch.setattr(Range, "vs", lambda self, *args, **kwargs: calls.append(1) or original(self, *args, **kwargs))

    def decides(site) -> bool:
        calls.clear()
        site()
        return bool(calls)

    frame = pd.DataFrame({"ratio": [1.0, 0.8], "ratio_lo": [1.0, 0.78], "ratio_hi": [1.0, 0.82]}, index=["a", "b"])
    frame.attrs["rounds"] = 20
    card = write(tmp_path, "card.json", fake_card())
    assert decides(lambda: verdict.speed(frame, "b"))
    assert decides(lambda: advisor._stands_out(profiling.Share(Range(0.3, 0.25, 0.35), 0.1), 0.2))
    assert decides(lambda: check.check("05.3", "faster"))
    assert decides(lambda: scorecard.outcome({**fake_card()["experiments"]["g2"], "stable": True}))
    assert decides(lambda: scorecard.class_page([card]))
