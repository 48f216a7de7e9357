"""Layer stacks of the multilayer-perceptron networks (health, camera)."""
from __future__ import annotations

from collections.abc import Mapping

import keras

from resilinet.core.topology import Connection


class DenseStacks:
    """Each node is a stack of ReLU Dense layers; the output node ends in a softmax classifier. A skip hyperconnection
    whose width differs from the tensor it meets is projected by a linear Dense layer (health: the IoT node's
    Dense(250) on the raw input)."""

    def __init__(self, input_shapes: Mapping[str, tuple[int, ...]], layers_per_node: Mapping[str, int], units: int,
                 num_classes: int, output_node: str = "cloud", flatten_before_classifier: bool = False):
        self.input_shapes = dict(input_shapes)
        self.layers_per_node = dict(layers_per_node)
        self.units = units
        self.num_classes = num_classes
        self.output_node = output_node
        self.flatten_before_classifier = flatten_before_classifier

    def node(self, name, x):
        for i in range(self.layers_per_node.get(name, 0)):
            x = keras.layers.Dense(self.units, activation="relu", name=f"{name}_dense{i + 1}")(x)
        if name == self.output_node:
            if self.flatten_before_classifier:
                x = keras.layers.Flatten(name=f"{name}_flatten")(x)
            x = keras.layers.Dense(self.num_classes, activation="softmax", name="output")(x)
        return x

    def align_skip(self, skip: Connection, skip_tensor, below_tensor):
        width = below_tensor.shape[-1]
        if skip_tensor.shape[-1] != width:
            source, target = skip
            skip_tensor = keras.layers.Dense(width, name=f"{source}_projection_to_{target}")(skip_tensor)
        return skip_tensor, below_tensor
