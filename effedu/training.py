"""Just enough training for the lessons: seeded, CPU-friendly, with a progress bar."""
from __future__ import annotations

import math

import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm, trange

from ._runtime import Device, check_model, positive_int, seeded, threads_fixed
from .timing import budget_scale, compare_latency


def fit(model: nn.Module, train: Dataset, *, epochs: int = 5, lr: float = 3e-3, batch_size: int = 64,
        seed: int = 0, progress: bool = True) -> nn.Module:
    """Train ``model`` with Adam and cross-entropy; the same ``seed`` gives the same weights on the same machine.
    The shuffling and any dropout draw from a generator seeded with ``seed``; torch's global random state is
    left as it was. Under ``course.py test`` (``timing.budget_scale`` below 1) each epoch takes that share of its
    batches: the same code on fewer steps — the tests never assert how well a lesson's network learned."""
    check_model(model)
    positive_int(epochs, "epochs")
    positive_int(batch_size, "batch_size")
    with seeded(seed):
        loader = DataLoader(train, batch_size=batch_size, shuffle=True,
                            generator=torch.Generator().manual_seed(seed))
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        model.train()
        steps = max(1, math.ceil(len(loader) * budget_scale()))  # every batch, except under test
        for _ in trange(epochs, desc="training", disable=not progress, leave=False):
            for _, (images, labels) in zip(range(steps), loader):
                optimizer.zero_grad()
                nn.functional.cross_entropy(model(images), labels).backward()
                optimizer.step()
    return model.eval()


def accuracy(model: nn.Module, data: Dataset, *, batch_size: int = 256) -> float:
    """Fraction of ``data`` classified correctly (the model's train/eval flag is restored)."""
    check_model(model)
    was_training = model.training
    model.eval()
    correct = total = 0
    try:
        with torch.inference_mode():
            for images, labels in DataLoader(data, batch_size=batch_size):
                correct += (model(images).argmax(1) == labels).sum().item()
                total += len(labels)
    finally:
        model.train(was_training)
    return correct / total


def train_and_measure(designs: dict, train: Dataset, test: Dataset, *, epochs: int = 6, seed: int = 0,
                      threads: int | None = 1, device: Device = None, budget_s: float = 0.3,
                      train_threads: int | None = None) -> pd.DataFrame:
    """Train every design (seeded, with a progress bar), then time them all interleaved at batch 1.
    One row per design: accuracy, params, MACs, bytes, median latency and its ratio to the first. ``threads`` is
    the timing's thread count; ``train_threads`` the training's (None: torch's current setting) — 1 keeps small
    networks from waiting on a second thread when another program holds a core."""
    if not designs:
        raise ValueError("designs must hold at least one model")
    accuracies = {}
    with threads_fixed(train_threads):
        for name, model in tqdm(list(designs.items()), desc="training designs"):
            fit(model, train, epochs=epochs, seed=seed, progress=False)
            accuracies[name] = accuracy(model, test)
    shape = (1, *train[0][0].shape)
    frame = compare_latency(designs, shape, threads=threads, device=device, budget_s=budget_s)
    return frame.assign(accuracy=pd.Series(accuracies))


def with_accuracy(frame: pd.DataFrame, models: dict, data: Dataset, split: str = "validation") -> pd.DataFrame:
    """``frame`` (one row per model, as ``compare_latency`` returns it) with an ``accuracy`` column measured on
    ``data``; ``attrs`` record how many examples (``accuracy_n``) and which ``split`` — what an accuracy verdict
    needs to know its noise, and what lesson 10's capstone checker reads. Select on the validation split while
    designing; measure the test split once, at the end."""
    missing = [name for name in frame.index if name not in models]
    if missing:
        raise ValueError(f"models must hold every row of frame; missing {missing}")
    measured = frame.assign(accuracy=[accuracy(models[name], data) for name in frame.index])
    measured.attrs.update(frame.attrs, accuracy_n=len(data), accuracy_split=split)
    return measured
