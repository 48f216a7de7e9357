"""ResNet-18 DFG (deepFogGuard) model: the Vanilla network plus weighted skip hyperconnections."""
import keras

from cnn_Vanilla_ResNet import PARTITION_SETING, build_resnet_model
from resilinet.builder import ModelKind
from resilinet.dataset import ModelOptions


def define_deepFogGuard_ResNet(
    partition_setting: int = PARTITION_SETING, options: ModelOptions = ModelOptions(), **architecture,
) -> keras.Model:
    return build_resnet_model(ModelKind.DFG, partition_setting, options, **architecture)
