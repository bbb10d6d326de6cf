import math

from conftest import small_cnn
from torch import nn

import effedu


class TinyResidual(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 3, padding=1, bias=False)

    def forward(self, x):
        return (self.conv(x) + x).relu()  # the add and the ReLU are the container's own ops


def test_profile_layers_rows_add_up_to_the_model():
    model = small_cnn()
    frame = effedu.profile_layers(model, (1, 3, 16, 16), repeats=3)
    assert list(frame["layer"]) == ["0", "1", "2", "3", "4", "5"]
    assert list(frame["type"]) == ["Conv2d", "BatchNorm2d", "ReLU", "AdaptiveAvgPool2d", "Flatten", "Linear"]
    assert frame["macs"].sum() == effedu.count_macs(model, (1, 3, 16, 16))
    assert frame["bytes"].sum() == effedu.memory_traffic(model, (1, 3, 16, 16))
    assert frame["params"].sum() == effedu.count_params(model)
    assert math.isclose(frame["share"].sum(), 1.0)
    assert frame.loc[0, "out_shape"] == (1, 16, 16, 16)
    assert frame.attrs["model_latency_ms"] > 0


def test_container_own_ops_get_their_own_row():
    frame = effedu.profile_layers(TinyResidual(), (1, 8, 10, 10), repeats=3)
    own = frame[frame["layer"] == "(model)"]
    assert len(own) == 1
    assert own.iloc[0]["macs"] == 0 and own.iloc[0]["bytes"] > 0
    assert "add" in own.iloc[0]["ops"] and "relu" in own.iloc[0]["ops"]
