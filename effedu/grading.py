"""Grading a "write it yourself" exercise: call the student's function with effedu's own version out of reach.

The course ships ``effedu`` to students, and effedu can count MACs, shuffle channels and decide a comparison. A graded
task asks the student to *write* one of those things, so the hidden tests of an nbgrader assignment
(``python3 course.py release``) call the student's function through ``graded_call``:

* the function's code may not name what it must write (``forbid``: e.g. ``count_macs``, ``ChannelShuffle``) — read
  from its compiled code, nested functions included;
* while it runs, effedu's counters, blocks and rules that answer the task raise instead of answering (in case the
  student reached them another way).

Nothing here holds an answer: the expected values live in the hidden tests, as literals written at release time.
"""
from __future__ import annotations

import contextlib
import importlib
import types
from typing import Any, Callable, Iterable, Iterator

# What each kind of task may not use: the package's own answers to it, by module and attribute.
COUNTERS = ("effedu.count_macs", "effedu.count_params", "effedu.memory_traffic", "effedu.record_ops",
            "effedu.counting.count_macs", "effedu.counting.count_params", "effedu.counting.memory_traffic",
            "effedu.counting.record_ops", "effedu.counting.count_fast", "effedu.structure.receptive_field",
            "torch.utils.flop_counter.FlopCounterMode")
BLOCKS = ("effedu.blocks.ChannelShuffle", "effedu.blocks.RepVGGBlock", "effedu.blocks.fuse_branches",
          "effedu.transforms.fold_batchnorm", "torch.nn.utils.fusion.fuse_conv_bn_eval",
          "torch.nn.utils.fusion.fuse_conv_bn_weights", "torch.nn.ChannelShuffle", "torch.channel_shuffle",
          "torch.nn.functional.channel_shuffle")
RULES = ("effedu.stats.median_interval", "effedu.stats.paired_ratio", "effedu.stats.comparison_stats",
         "effedu.stats.sign_test_rank", "effedu.verdict.outcome_of", "effedu.verdict.speed", "effedu.nas.reward")


class ForbiddenHelper(RuntimeError):
    """Raised when a graded function reaches effedu's own answer to the task."""


def names_used(function: Callable) -> set[str]:
    """Every global, attribute and method name ``function``'s code refers to, nested functions and lambdas
    included."""
    found: set[str] = set()
    stack = [getattr(function, "__code__", None)]
    while stack:
        code = stack.pop()
        if code is None:
            continue
        found.update(code.co_names)
        stack.extend(const for const in code.co_consts if isinstance(const, types.CodeType))
    return found


@contextlib.contextmanager
def switched_off(targets: Iterable[str]) -> Iterator[None]:
    """Within the block, each ``module.attribute`` of ``targets`` raises ``ForbiddenHelper`` when called."""
    saved = []
    for target in targets:
        module_name, _, attribute = target.rpartition(".")
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        if not hasattr(module, attribute):
            continue

        def refuse(*_args, _name=target, **_kwargs):
            raise ForbiddenHelper(f"{_name} is switched off while this task is graded: write it yourself")
        saved.append((module, attribute, getattr(module, attribute)))
        setattr(module, attribute, refuse)
    try:
        yield
    finally:
        for module, attribute, original in reversed(saved):
            setattr(module, attribute, original)


def graded_call(function: Callable, *args: Any, forbid: Iterable[str] = (), **kwargs: Any) -> Any:
    """``function(*args, **kwargs)`` for a hidden test: fails if the function names any of ``forbid`` (the last
    part of each dotted name) and runs it with those helpers switched off."""
    forbid = tuple(forbid)
    if not callable(function):
        raise AssertionError(f"expected a function, got {function!r}")
    named = names_used(function) & {name.rpartition(".")[2] for name in forbid}
    if named:
        raise AssertionError(f"{function.__name__} uses {', '.join(sorted(named))}: this task asks you to write it "
                             "yourself")
    with switched_off(forbid):
        return function(*args, **kwargs)
