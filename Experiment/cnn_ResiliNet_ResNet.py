"""ResNet-18 ResiliNet model: skip hyperconnections, input multiplexers and failout.

Edit ResiliNetPlus to replace the multiplexers by sums (ResiliNet+; failout kept).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from cnn_Vanilla_ResNet import PARTITION_SETING, build_resnet_model

from resilinet.core.kinds import ModelKind, ModelOptions

if TYPE_CHECKING:
    import keras

ResiliNetPlus = False


def define_ResiliNet_ResNet(
    partition_setting: int = PARTITION_SETING, options: ModelOptions = ModelOptions(),
    resilinet_plus: bool = ResiliNetPlus, failout_survival_rate: float = 0.9, **architecture,
) -> keras.Model:
    kind = ModelKind.RESILINET_PLUS if resilinet_plus else ModelKind.RESILINET
    return build_resnet_model(kind, partition_setting, options, failout_survival_rate, **architecture)
