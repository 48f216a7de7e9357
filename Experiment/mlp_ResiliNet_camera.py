"""Camera ResiliNet model: skip hyperconnections, input multiplexers and failout.

Edit ResiliNetPlus to replace the multiplexers by sums (ResiliNet+; failout kept).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from mlp_Vanilla_camera import build_camera_model

from resilinet.core.kinds import ModelKind, ModelOptions

if TYPE_CHECKING:
    import keras

ResiliNetPlus = False


def define_ResiliNet_MLP(options: ModelOptions = ModelOptions(), resilinet_plus: bool = ResiliNetPlus,
                         failout_survival_rate: float = 0.8) -> keras.Model:
    kind = ModelKind.RESILINET_PLUS if resilinet_plus else ModelKind.RESILINET
    return build_camera_model(kind, options, failout_survival_rate)
