"""Pre-activation (v2) ResNet-18 split across IoT, edge, fog and cloud."""
from __future__ import annotations

from collections.abc import Sequence

import keras

from resilinet.networks.convolutional import PartitionedCNN, batch_norm_relu
from resilinet.networks.partitions import RESNET as PARTITIONS

REPETITIONS = (2, 2, 2, 2)
INITIAL_FILTERS = 64
WEIGHT_DECAY = 1e-4
INITIALIZER = "he_normal"


def conv(filters: int, kernel_size: int, strides, name: str, padding: str = "same"):
    return keras.layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, kernel_initializer=INITIALIZER,
                               kernel_regularizer=keras.regularizers.L2(WEIGHT_DECAY), name=name)


class ResNet18(PartitionedCNN):
    """ResNet-18 of pre-activation basic blocks, with projection shortcuts where the shape changes; `strides` are
    those of the initial convolution and of the max-pool that follows it."""

    partitions = PARTITIONS

    def __init__(self, partition_setting: int = 1, input_shape: Sequence[int] = (32, 32, 3), num_classes: int = 10,
                 strides: Sequence[int] = (2, 2), augment: bool = True):
        super().__init__(partition_setting, input_shape, num_classes, augment)
        self.strides = tuple(strides)

    def unit(self, index: int, node: str, x):
        if index == 0:
            return batch_norm_relu(conv(INITIAL_FILTERS, 7, self.strides, f"{node}_conv1")(x), f"{node}_conv1")
        if index == 1:
            x = keras.layers.MaxPooling2D(3, strides=self.strides, padding="same", name=f"{node}_maxpool")(x)
        filters = INITIAL_FILTERS * 2 ** (index - 1)
        for block in range(1, REPETITIONS[index - 1] + 1):
            strides = (2, 2) if block == 1 and index > 1 else (1, 1)
            preactivate = not (block == 1 and index == 1)  # conv1 already ends in batch norm and ReLU
            x = basic_block(x, filters, strides, preactivate, f"{node}_stage{index}_block{block}")
        return x

    def head(self, node: str, x):
        x = keras.layers.GlobalAveragePooling2D(name=f"{node}_global_pool")(batch_norm_relu(x, f"{node}_final"))
        return keras.layers.Dense(self.num_classes, kernel_initializer=INITIALIZER, name=f"{node}_logits")(x)


def basic_block(x, filters: int, strides, preactivate: bool, name: str):
    residual = batch_norm_relu(x, f"{name}_pre") if preactivate else x
    residual = batch_norm_relu(conv(filters, 3, strides, f"{name}_conv1")(residual), f"{name}_mid")
    residual = conv(filters, 3, (1, 1), f"{name}_conv2")(residual)
    shortcut = x
    if strides != (1, 1) or x.shape[-1] != filters:
        shortcut = conv(filters, 1, strides, f"{name}_shortcut", padding="valid")(x)
    return keras.layers.Add(name=f"{name}_add")([shortcut, residual])
