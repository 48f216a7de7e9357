"""Health ResiliNet model: skip hyperconnections, input multiplexers and failout.

Edit ResiliNetPlus to replace the multiplexers by sums (ResiliNet+; failout kept).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from mlp_Vanilla_health import PARTITION_SETING, build_health_model

from resilinet.core.kinds import ModelKind, ModelOptions

if TYPE_CHECKING:
    import keras

ResiliNetPlus = False


def define_ResiliNet_MLP(
    partition_setting: int = PARTITION_SETING, options: ModelOptions = ModelOptions(),
    resilinet_plus: bool = ResiliNetPlus, failout_survival_rate: float = 0.9,
) -> keras.Model:
    kind = ModelKind.RESILINET_PLUS if resilinet_plus else ModelKind.RESILINET
    return build_health_model(kind, partition_setting, options, failout_survival_rate)
