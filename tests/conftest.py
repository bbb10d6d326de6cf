"""Fixtures and markers. Shared helpers live in tests/helpers.py."""
import pytest
import torch


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: heavy tests (ImageNet-size counts, training, compile, browser); "
                                       "skip them with -m 'not slow'")


@pytest.fixture
def rng():
    return torch.Generator().manual_seed(1234)
