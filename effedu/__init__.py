"""effedu — efficient CNN design, taught by measurement.

Parameters, compute (MACs) and speed are three different goals; the only fair judge of speed is a
measurement on the hardware in front of you. This package holds the measuring tools, the blocks, the
reference models, the widgets and the plots that the lessons in ``notebooks/`` call.
"""
from . import blocks, check, data, models, nas, plots, report, training, widgets
from ._runtime import default_device
from .counting import count_macs, count_params, memory_traffic, record_ops
from .report import profile_layers
from .timing import LatencyResult, NoisyMeasurementWarning, compare_latency, hardware, measure_latency

__version__ = "0.1.0"

__all__ = [
    "blocks", "data", "models", "nas", "plots", "report", "training", "widgets",
    "LatencyResult", "NoisyMeasurementWarning", "check", "compare_latency", "count_macs", "count_params",
    "default_device", "hardware", "measure_latency", "memory_traffic", "profile_layers", "record_ops",
]
