"""MobileNet v1 split across IoT, edge, fog and cloud (CIFAR-10 and ImageNet)."""
from __future__ import annotations

from collections.abc import Sequence

import keras

from resilinet.networks.convolutional import PartitionedCNN, batch_norm_relu
from resilinet.networks.partitions import MOBILENET as PARTITIONS

CONV1_FILTERS = 32
BLOCK_FILTERS = (64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024)
STRIDED_BLOCKS = (4, 6, 12)  # stride 2 always; block 2 takes the input-size strides like conv1
INPUT_STRIDED_BLOCK = 2


class MobileNetV1(PartitionedCNN):
    """MobileNet v1 (width `alpha`, `depth_multiplier`) whose blocks are spread over the nodes; `strides` are those
    of conv1 and block 2: (1, 1) for 32x32 inputs, (2, 2) for ImageNet."""

    partitions = PARTITIONS

    def __init__(self, partition_setting: int = 1, input_shape: Sequence[int] = (32, 32, 3), num_classes: int = 10,
                 alpha: float = 0.75, strides: Sequence[int] = (1, 1), depth_multiplier: int = 1,
                 dropout: float = 1e-3, augment: bool = True):
        super().__init__(partition_setting, input_shape, num_classes, augment)
        if alpha <= 0:
            raise ValueError(f"MobileNet width alpha must be positive, got {alpha}")
        self.alpha = alpha
        self.strides = tuple(strides)
        self.depth_multiplier = depth_multiplier
        self.dropout = dropout

    def width(self, filters: int) -> int:
        return int(filters * self.alpha)

    def unit(self, index: int, node: str, x):
        """Unit 0 is conv1; unit i >= 1 is depthwise-separable block i."""
        if index == 0:
            x = keras.layers.Conv2D(self.width(CONV1_FILTERS), 3, strides=self.strides, padding="same",
                                    use_bias=False, name=f"{node}_conv1")(x)
            return batch_norm_relu(x, f"{node}_conv1", 6.0)
        name = f"{node}_block{index}"
        strides = self.strides if index == INPUT_STRIDED_BLOCK else (2, 2) if index in STRIDED_BLOCKS else (1, 1)
        if strides != (1, 1):
            x = keras.layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"{name}_pad")(x)
        x = keras.layers.DepthwiseConv2D(3, strides=strides, padding="same" if strides == (1, 1) else "valid",
                                         depth_multiplier=self.depth_multiplier, use_bias=False,
                                         name=f"{name}_depthwise")(x)
        x = batch_norm_relu(x, f"{name}_depthwise", 6.0)
        x = keras.layers.Conv2D(self.width(BLOCK_FILTERS[index - 1]), 1, use_bias=False, name=f"{name}_pointwise")(x)
        return batch_norm_relu(x, f"{name}_pointwise", 6.0)

    def head(self, node: str, x):
        x = keras.layers.GlobalAveragePooling2D(keepdims=True, name=f"{node}_global_pool")(x)
        x = keras.layers.Dropout(self.dropout, name=f"{node}_dropout")(x)
        x = keras.layers.Conv2D(self.num_classes, 1, name=f"{node}_logits")(x)
        return keras.layers.Flatten(name=f"{node}_flatten")(x)
