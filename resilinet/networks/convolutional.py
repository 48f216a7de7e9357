"""What the convolutional networks (MobileNet v1, ResNet-18) share: partitioning, augmentation, skips."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import keras

from resilinet.core.topology import Connection

ROTATION_DEGREES = 30.0
SHIFT_FRACTION = 0.2


def augmentation(x, prefix: str):
    """The original's training augmentation as layers, identity at inference: rotation up to 30 degrees, width and
    height shift up to 20 %, horizontal flip; pixels moved in from outside take the nearest edge pixel
    (ImageDataGenerator's fill_mode "nearest")."""
    rotation = keras.layers.RandomRotation(ROTATION_DEGREES / 360.0, fill_mode="nearest",
                                           name=f"{prefix}_augment_rotation")
    shift = keras.layers.RandomTranslation(SHIFT_FRACTION, SHIFT_FRACTION, fill_mode="nearest",
                                           name=f"{prefix}_augment_shift")
    x = compiled_whole_on_jax(shift)(compiled_whole_on_jax(rotation)(x))
    return keras.layers.RandomFlip("horizontal", name=f"{prefix}_augment_flip")(x)


def compiled_whole_on_jax(layer: keras.layers.Layer) -> keras.layers.Layer:
    """`layer`, marked fit for XLA on the JAX backend. Keras marks RandomRotation and RandomTranslation unfit for
    every backend (TensorFlow's image transform has no XLA kernel), and one such layer makes the JAX backend run the
    whole model op by op, many times slower; their JAX code compiles, so there they are marked fit."""
    if keras.backend.backend() == "jax":
        layer.supports_jit = True
    return layer


def batch_norm_relu(x, name: str, max_value: float | None = None):
    """Batch normalisation `{name}_bn`, then ReLU `{name}_relu` (capped at `max_value`: ReLU6 for MobileNet)."""
    x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
    return keras.layers.ReLU(max_value, name=f"{name}_relu")(x)


def align_skip_by_convolution(skip: Connection, skip_tensor, below_tensor):
    """A skip hyperconnection as a 1x1 convolution without bias that takes the channel count of `below_tensor` and
    strides down to its spatial size; where the two then differ by one pixel, the smaller one is zero-padded at the
    bottom and right (in the paper's networks, the fog output). Returns (skip_tensor, below_tensor)."""
    source, target = skip
    name = f"{source}_skip_to_{target}"
    skip_size, below_size = skip_tensor.shape[1:3], below_tensor.shape[1:3]
    strides = tuple(max(1, round(s / b)) for s, b in zip(skip_size, below_size))
    carried = keras.layers.Conv2D(below_tensor.shape[-1], 1, strides=strides, use_bias=False, name=name)(skip_tensor)
    differences = [c - b for c, b in zip(carried.shape[1:3], below_size)]
    if any(abs(d) > 1 for d in differences):
        raise ValueError(f"{name}: a {tuple(skip_size)} tensor cannot be aligned with a {tuple(below_size)} one")
    if any(d > 0 for d in differences):
        padding = tuple((0, max(d, 0)) for d in differences)
        below_tensor = keras.layers.ZeroPadding2D(padding, name=f"{name}_pad_below")(below_tensor)
    if any(d < 0 for d in differences):
        padding = tuple((0, max(-d, 0)) for d in differences)
        carried = keras.layers.ZeroPadding2D(padding, name=f"{name}_pad_skip")(carried)
    return carried, below_tensor


class PartitionedCNN:
    """A convolutional network cut into consecutive units, each physical node running some of them.

    Subclasses declare `partitions` (partition setting -> node -> unit indices) and implement
    `unit(index, node, x)` and `head(node, x)`, the head up to the logits. The input node starts with
    the training augmentation when `augment` is set; the output node ends with the head and a softmax.
    """

    partitions: Mapping[int, Mapping[str, Sequence[int]]] = {}

    def __init__(self, partition_setting: int, input_shape: Sequence[int], num_classes: int, augment: bool,
                 input_node: str = "iot", output_node: str = "cloud"):
        if partition_setting not in self.partitions:
            raise ValueError(f"{type(self).__name__}: partition setting must be one of {sorted(self.partitions)}, "
                             f"got {partition_setting!r}")
        if len(input_shape) != 3:
            raise ValueError(f"input shape must be (height, width, channels), got {tuple(input_shape)}")
        if num_classes < 2:
            raise ValueError(f"a classifier needs at least 2 classes, got {num_classes}")
        self.partition_setting = partition_setting
        self.units_per_node = self.partitions[partition_setting]
        self.input_shapes = {input_node: tuple(input_shape)}
        self.num_classes = num_classes
        self.augment = augment
        self.input_node = input_node
        self.output_node = output_node

    def node(self, name: str, x):
        if name not in self.units_per_node:
            raise ValueError(f"{type(self).__name__} has no layers for node {name!r}; "
                             f"nodes: {', '.join(self.units_per_node)}")
        if name == self.input_node and self.augment:
            x = augmentation(x, name)
        for index in self.units_per_node[name]:
            x = self.unit(index, name, x)
        if name == self.output_node:
            x = keras.layers.Activation("softmax", dtype="float32", name=f"{name}_predictions")(self.head(name, x))
        return x

    def align_skip(self, skip: Connection, skip_tensor, below_tensor):
        return align_skip_by_convolution(skip, skip_tensor, below_tensor)
