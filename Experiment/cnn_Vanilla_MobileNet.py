"""MobileNet v1 networks (CIFAR-10, and ImageNet with other arguments): node stacks and the Vanilla model.

Edit PARTITION_SETING to choose how MobileNet's blocks are split across IoT, edge, fog and cloud:
1: IoT conv1 | edge blocks 1-3 | fog blocks 4-8 | cloud blocks 9-13 + head;
2: IoT conv1 + block 1 | edge blocks 2-3 | fog blocks 4-7 | cloud blocks 8-13 + head.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from resilinet.base.errors import UserError
from resilinet.core.kinds import ModelKind, ModelOptions
from resilinet.core.paper_topologies import CNN
from resilinet.networks.partitions import MOBILENET as PARTITIONS

if TYPE_CHECKING:  # Keras loads only when a model is built, so that the flags are checked at once
    import keras

    from resilinet.networks.mobilenet import MobileNetV1

PARTITION_SETING = 1  # 1 or 2 (spelling as in the original code)

ALPHA = 0.75
DEPTH_MULTIPLIER = 1
INPUT_SHAPE = (32, 32, 3)
STRIDES = (1, 1)  # (1, 1) for 32x32 inputs, (2, 2) for ImageNet
NUM_CLASSES = 10


def check_constants(partition_setting: int = PARTITION_SETING, alpha: float = ALPHA) -> None:
    """Stop with a message naming the constant and its flag if either is out of range (no Keras needed)."""
    if partition_setting not in PARTITIONS:
        raise UserError(f"PARTITION_SETING = {partition_setting!r} (Experiment/cnn_Vanilla_MobileNet.py or "
                        f"--partition_setting) must be one of {sorted(PARTITIONS)}")
    if alpha <= 0:
        raise UserError(f"MobileNet width alpha (--alpha) must be positive, got {alpha}")


def mobilenet_architecture(
    partition_setting: int = PARTITION_SETING, *, input_shape: Sequence[int] = INPUT_SHAPE,
    num_classes: int = NUM_CLASSES, alpha: float = ALPHA, strides: Sequence[int] = STRIDES, augment: bool = True,
) -> MobileNetV1:
    from resilinet.networks.mobilenet import MobileNetV1

    check_constants(partition_setting, alpha)
    return MobileNetV1(partition_setting, input_shape, num_classes, alpha, strides, DEPTH_MULTIPLIER, augment=augment)


def build_mobilenet_model(
    kind: ModelKind, partition_setting: int = PARTITION_SETING, options: ModelOptions = ModelOptions(),
    default_survival_rate: float = 0.9, **architecture,
) -> keras.Model:
    """`architecture`: keyword arguments of `mobilenet_architecture` (input_shape, num_classes, ...)."""
    from resilinet.core.builder import build_model

    return build_model(CNN, mobilenet_architecture(partition_setting, **architecture), kind, options,
                       default_survival_rate=default_survival_rate, name=f"{ModelKind(kind).file_name}_MobileNet")


def define_vanilla_model_MobileNet(partition_setting: int = PARTITION_SETING, **architecture) -> keras.Model:
    return build_mobilenet_model(ModelKind.VANILLA, partition_setting, **architecture)
