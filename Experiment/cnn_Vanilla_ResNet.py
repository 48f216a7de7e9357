"""Pre-activation ResNet-18 networks (CIFAR-10): node stacks and the Vanilla model.

Edit PARTITION_SETING to choose how ResNet-18's stages are split across IoT, edge, fog and cloud:
1: IoT initial conv | edge max-pool + stage 1 | fog stage 2 | cloud stages 3-4 + head;
2: IoT initial conv | edge max-pool + stages 1-2 | fog stage 3 | cloud stage 4 + head.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from resilinet.base.errors import UserError
from resilinet.core.kinds import ModelKind, ModelOptions
from resilinet.core.paper_topologies import CNN
from resilinet.networks.partitions import RESNET as PARTITIONS

if TYPE_CHECKING:  # Keras loads only when a model is built, so that the flags are checked at once
    import keras

    from resilinet.networks.resnet import ResNet18

PARTITION_SETING = 1  # 1 or 2 (spelling as in the original code)

INPUT_SHAPE = (32, 32, 3)
STRIDES = (2, 2)  # of the initial 7x7 convolution and the 3x3 max-pool
NUM_CLASSES = 10


def check_partition_setting(partition_setting: int = PARTITION_SETING) -> None:
    """Stop with a message naming the constant and its flag if it is not a partition setting (no Keras needed)."""
    if partition_setting not in PARTITIONS:
        raise UserError(f"PARTITION_SETING = {partition_setting!r} (Experiment/cnn_Vanilla_ResNet.py or "
                        f"--partition_setting) must be one of {sorted(PARTITIONS)}")


def resnet_architecture(
    partition_setting: int = PARTITION_SETING, *, input_shape: Sequence[int] = INPUT_SHAPE,
    num_classes: int = NUM_CLASSES, strides: Sequence[int] = STRIDES, augment: bool = True,
) -> ResNet18:
    from resilinet.networks.resnet import ResNet18

    check_partition_setting(partition_setting)
    return ResNet18(partition_setting, input_shape, num_classes, strides, augment=augment)


def build_resnet_model(
    kind: ModelKind, partition_setting: int = PARTITION_SETING, options: ModelOptions = ModelOptions(),
    default_survival_rate: float = 0.9, **architecture,
) -> keras.Model:
    """`architecture`: keyword arguments of `resnet_architecture` (input_shape, num_classes, ...)."""
    from resilinet.core.builder import build_model

    return build_model(CNN, resnet_architecture(partition_setting, **architecture), kind, options,
                       default_survival_rate=default_survival_rate, name=f"{ModelKind(kind).file_name}_ResNet18")


def define_vanilla_model_ResNet(partition_setting: int = PARTITION_SETING, **architecture) -> keras.Model:
    return build_resnet_model(ModelKind.VANILLA, partition_setting, **architecture)
