"""MobileNet v1 DFG (deepFogGuard) model: the Vanilla network plus weighted skip hyperconnections."""
from __future__ import annotations

from typing import TYPE_CHECKING

from cnn_Vanilla_MobileNet import PARTITION_SETING, build_mobilenet_model

from resilinet.core.kinds import ModelKind, ModelOptions

if TYPE_CHECKING:
    import keras


def define_deepFogGuard_MobileNet(
    partition_setting: int = PARTITION_SETING, options: ModelOptions = ModelOptions(), **architecture,
) -> keras.Model:
    return build_mobilenet_model(ModelKind.DFG, partition_setting, options, **architecture)
