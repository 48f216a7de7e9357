"""Health DFG (deepFogGuard) model: the Vanilla network plus weighted skip hyperconnections."""
from __future__ import annotations

from typing import TYPE_CHECKING

from mlp_Vanilla_health import PARTITION_SETING, build_health_model

from resilinet.core.kinds import ModelKind, ModelOptions

if TYPE_CHECKING:
    import keras


def define_deepFogGuard_MLP(partition_setting: int = PARTITION_SETING,
                            options: ModelOptions = ModelOptions()) -> keras.Model:
    return build_health_model(ModelKind.DFG, partition_setting, options)
