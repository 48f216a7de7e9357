"""An architecture given as each node's own list of Keras layers (a network brought by its user)."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import keras

from resilinet.core.topology import Connection


class LayerStacks:
    """Each node applies the layers its function returns, in order; the function is called once per model, so that
    every model gets layers of its own. A node without a function passes its input on. A skip hyperconnection meets
    the tensor from the node it jumps over: where both are vectors of different widths, a linear Dense layer projects
    the skip's; any other difference of shape is an error that names the skip."""

    def __init__(self, input_shapes: Mapping[str, Sequence[int]],
                 layers: Mapping[str, Callable[[], Sequence[keras.layers.Layer]]]):
        self.input_shapes = {node: tuple(shape) for node, shape in input_shapes.items()}
        self.layers = dict(layers)

    def node(self, name, x):
        for layer in self.layers[name]() if name in self.layers else ():
            x = layer(x)
        return x

    def align_skip(self, skip: Connection, skip_tensor, below_tensor):
        source, target = skip
        skip_shape, below_shape = tuple(skip_tensor.shape[1:]), tuple(below_tensor.shape[1:])
        if skip_shape == below_shape:
            return skip_tensor, below_tensor
        if len(skip_shape) == len(below_shape) == 1:
            projection = keras.layers.Dense(below_shape[0], name=f"{source}_projection_to_{target}")
            return projection(skip_tensor), below_tensor
        raise ValueError(f"skip {source}->{target}: {source}'s output has shape {skip_shape}, the tensor it meets at "
                         f"{target} {below_shape}; give them one shape or both one dimension")
