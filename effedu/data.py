"""Tiny data sets that ship with the installed packages — nothing is downloaded at run time."""
from __future__ import annotations

import torch
from torch.utils.data import TensorDataset


def digits(*, size: int = 8, test_fraction: float = 0.25, seed: int = 0) -> tuple[TensorDataset, TensorDataset]:
    """scikit-learn's bundled handwritten digits: 1,797 grey 8×8 images of 0–9, as (N, 1, size, size) floats in
    [0, 1] (bilinearly upsampled when ``size`` > 8, so that networks with several strides have room). Returns
    (train, test), split by a seeded shuffle."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction!r}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 8:
        raise ValueError(f"size must be an integer of at least 8 (the images are 8×8), got {size!r}")
    from sklearn.datasets import load_digits  # heavy: scikit-learn is needed for this data set only

    bunch = load_digits()
    images = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    if size > 8:
        images = torch.nn.functional.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)
    labels = torch.tensor(bunch.target, dtype=torch.long)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    n_test = int(round(test_fraction * len(labels)))
    test, train = order[:n_test], order[n_test:]
    return TensorDataset(images[train], labels[train]), TensorDataset(images[test], labels[test])


def holdout(dataset: TensorDataset, fraction: float = 0.2, *, seed: int = 0) -> tuple[TensorDataset, TensorDataset]:
    """Split ``dataset`` into (rest, held out) by a seeded shuffle — e.g. a validation split carved from the
    training data, so that a search never looks at the test split."""
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be between 0 and 1, got {fraction!r}")
    images, labels = dataset.tensors
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    n_held = int(round(fraction * len(labels)))
    held, rest = order[:n_held], order[n_held:]
    return TensorDataset(images[rest], labels[rest]), TensorDataset(images[held], labels[held])
