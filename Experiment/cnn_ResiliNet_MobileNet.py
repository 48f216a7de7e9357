"""MobileNet v1 ResiliNet model: skip hyperconnections, input multiplexers and failout.

Edit ResiliNetPlus to replace the multiplexers by sums (ResiliNet+; failout kept).
"""
import keras

from cnn_Vanilla_MobileNet import PARTITION_SETING, build_mobilenet_model
from resilinet.builder import ModelKind
from resilinet.dataset import ModelOptions

ResiliNetPlus = False


def define_ResiliNet_MobileNet(
    partition_setting: int = PARTITION_SETING, options: ModelOptions = ModelOptions(),
    resilinet_plus: bool = ResiliNetPlus, failout_survival_rate: float = 0.9, **architecture,
) -> keras.Model:
    kind = ModelKind.RESILINET_PLUS if resilinet_plus else ModelKind.RESILINET
    return build_mobilenet_model(kind, partition_setting, options, failout_survival_rate, **architecture)
