"""MobileNet v1 split across IoT, edge, fog and cloud (CIFAR-10 and ImageNet)."""
from __future__ import annotations

from typing import Sequence

import keras

from resilinet.networks.convolutional import PartitionedCNN
from resilinet.networks.partitions import MOBILENET as PARTITIONS

CONV1_FILTERS = 32
BLOCK_FILTERS = (64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024)
STRIDED_BLOCKS = (4, 6, 12)  # stride 2 always; block 2 takes the input-size strides like conv1
INPUT_STRIDED_BLOCK = 2


class MobileNetV1(PartitionedCNN):
    """MobileNet v1 (width `alpha`, `depth_multiplier`) whose blocks are spread over the nodes.

    `strides` are those of conv1 and block 2: (1, 1) for 32x32 inputs, (2, 2) for ImageNet.
    """

    partitions = PARTITIONS

    def __init__(
        self,
        partition_setting: int = 1,
        input_shape: Sequence[int] = (32, 32, 3),
        num_classes: int = 10,
        alpha: float = 0.75,
        strides: Sequence[int] = (1, 1),
        depth_multiplier: int = 1,
        dropout: float = 1e-3,
        augment: bool = True,
    ):
        super().__init__(partition_setting, input_shape, num_classes, augment)
        if alpha <= 0:
            raise ValueError(f"MobileNet width alpha must be positive, got {alpha}")
        self.alpha = alpha
        self.strides = tuple(strides)
        self.depth_multiplier = depth_multiplier
        self.dropout = dropout

    def width(self, filters: int) -> int:
        return int(filters * self.alpha)

    def block_strides(self, block: int) -> tuple[int, int]:
        if block == INPUT_STRIDED_BLOCK:
            return self.strides
        return (2, 2) if block in STRIDED_BLOCKS else (1, 1)

    def unit(self, index: int, node: str, x):
        if index == 0:
            return self.conv1(node, x)
        return self.depthwise_separable_block(index, node, x)

    def conv1(self, node: str, x):
        name = f"{node}_conv1"
        x = keras.layers.Conv2D(self.width(CONV1_FILTERS), 3, strides=self.strides, padding="same", use_bias=False,
                                name=name)(x)
        x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
        return keras.layers.ReLU(6.0, name=f"{name}_relu")(x)

    def depthwise_separable_block(self, block: int, node: str, x):
        name = f"{node}_block{block}"
        strides = self.block_strides(block)
        if strides != (1, 1):
            x = keras.layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"{name}_pad")(x)
        x = keras.layers.DepthwiseConv2D(3, strides=strides, padding="same" if strides == (1, 1) else "valid",
                                         depth_multiplier=self.depth_multiplier, use_bias=False,
                                         name=f"{name}_depthwise")(x)
        x = keras.layers.BatchNormalization(name=f"{name}_depthwise_bn")(x)
        x = keras.layers.ReLU(6.0, name=f"{name}_depthwise_relu")(x)
        x = keras.layers.Conv2D(self.width(BLOCK_FILTERS[block - 1]), 1, use_bias=False, name=f"{name}_pointwise")(x)
        x = keras.layers.BatchNormalization(name=f"{name}_pointwise_bn")(x)
        return keras.layers.ReLU(6.0, name=f"{name}_pointwise_relu")(x)

    def head(self, node: str, x):
        x = keras.layers.GlobalAveragePooling2D(keepdims=True, name=f"{node}_global_pool")(x)
        x = keras.layers.Dropout(self.dropout, name=f"{node}_dropout")(x)
        x = keras.layers.Conv2D(self.num_classes, 1, name=f"{node}_logits")(x)
        x = keras.layers.Flatten(name=f"{node}_flatten")(x)
        return keras.layers.Activation("softmax", dtype="float32", name=f"{node}_predictions")(x)
