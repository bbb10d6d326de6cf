"""Which lesson comparisons the 95 % interval decides differently from the old rule, on the same recorded samples.

Runs every lesson (or the ones named) top to bottom with one extra first cell that records the samples of every
interleaved comparison the lesson makes, then decides each candidate against its baseline twice:

* the **old rule** (effedu ≤ 0.2): "faster" when the middle half (quartiles) of the paired per-round ratios lies wholly
  below 1, "slower" wholly above, else "no clear difference" — at any number of rounds;
* the **new rule**: ``verdict.outcome_of`` on the sign-test interval of the median paired ratio (too few rounds to
  decide; faster; slower; the same within 2 %; no clear difference).

    .venv/bin/python benchmarks/rule_change.py [LESSON …]   (e.g. 00 07; default: every lesson)

A benchmark, not a test: it times real networks, so its table depends on the machine and the moment. It prints every
comparison whose outcome changed and a count per lesson.
"""
from __future__ import annotations

import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from effedu import verdict
from effedu.stats import comparison_stats, paired_ratios, quartiles

ROOT = Path(__file__).resolve().parent.parent
RECORDER = """import json as _json, effedu.timing as _timing
_original_stats = _timing.comparison_stats
def _recording_stats(samples):
    with open({path!r}, "a") as _log:
        _log.write(_json.dumps({{name: list(map(float, values)) for name, values in samples.items()}}) + "\\n")
    return _original_stats(samples)
_timing.comparison_stats = _recording_stats"""


def old_rule(samples: list[float], baseline: list[float]) -> str:
    """effedu 0.2's rule: the quartiles of the paired per-round ratios wholly below or above 1."""
    low, high = quartiles(paired_ratios(samples, baseline))
    return verdict.FASTER if high < 1 else verdict.SLOWER if low > 1 else verdict.SAME


def record(notebook: Path, log: Path) -> None:
    nb = nbformat.read(notebook, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(RECORDER.format(path=str(log))))
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(notebook.parent)}}).execute()


def main() -> None:
    wanted = sys.argv[1:]
    notebooks = [p for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
                 if not wanted or p.name[:2] in wanted]
    changed: list[tuple[str, str, str, str, str]] = []
    totals: Counter = Counter()
    with tempfile.TemporaryDirectory() as folder:
        for notebook in notebooks:
            log = Path(folder) / f"{notebook.stem}.jsonl"
            try:
                record(notebook, log)
            except Exception as err:  # noqa: BLE001 — one failing lesson must not lose the others' comparisons
                print(f"{notebook.name}: failed ({type(err).__name__}); its comparisons up to the failure are kept",
                      file=sys.stderr)
            for line in log.read_text().splitlines() if log.exists() else []:
                samples = json.loads(line)
                names = list(samples)
                frame = comparison_stats(samples)
                for name in names[1:]:
                    totals[notebook.name[:2]] += 1
                    old = old_rule(samples[name], samples[names[0]])
                    new = verdict.outcome_of(verdict.Range.of(frame.loc[name]))
                    if old != new:
                        changed.append((notebook.name[:2], f"{name} vs {names[0]}", f"{len(samples[name])}", old, new))
    print(f"{'lesson':<7}{'comparison':<70}{'rounds':>7}  {'old rule':<22}new rule")
    for lesson, what, rounds, old, new in changed:
        print(f"{lesson:<7}{what[:69]:<70}{rounds:>7}  {old:<22}{new}")
    per_lesson = Counter(lesson for lesson, *_ in changed)
    print("changed / compared: " + ", ".join(f"{lesson} {per_lesson[lesson]}/{n}" for lesson, n in totals.items())
          + f"; all {len(changed)}/{sum(totals.values())}")


if __name__ == "__main__":
    main()
