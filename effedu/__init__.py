"""effedu — efficient CNN design, taught by measurement.

Parameters, compute (MACs) and speed are three different goals; the only fair judge of speed is a
measurement on the hardware in front of you. This package holds the measuring tools, the blocks, the
reference models, the verdicts, the widgets and the plots that the lessons in ``notebooks/`` call.
"""
__version__ = "0.3.0"  # the one version number (pyproject reads it; CHANGELOG.md); first: the tools record it

from . import (advisor, blocks, check, data, explorers, guidelines, machine, models, nas, plots, profiling, stats,
               structure, training, transforms, verdict, widgets)
from ._runtime import ThreadSettingWarning
from .advisor import advise
from .counting import count_macs, count_params, memory_traffic, record_ops
from .machine import default_device, hardware
from .profiling import profile_layers
from .timing import (LatencyResult, NoisyMeasurementWarning, StarvedMeasurementWarning, compare_latency,
                     compare_threads, measure_latency, notebook, quiet)


__all__ = [
    "advisor",
    "blocks",
    "check",
    "counting",
    "data",
    "explorers",
    "guidelines",
    "machine",
    "models",
    "nas",
    "plots",
    "profiling",
    "stats",
    "structure",
    "timing",
    "training",
    "transforms",
    "verdict",
    "widgets",
    "LatencyResult",
    "NoisyMeasurementWarning",
    "StarvedMeasurementWarning",
    "ThreadSettingWarning",
    "advise",
    "compare_latency",
    "compare_threads",
    "count_macs",
    "count_params",
    "default_device",
    "hardware",
    "measure_latency",
    "memory_traffic",
    "notebook",
    "profile_layers",
    "quiet",
    "record_ops",
]
