"""What an actor receives to run one node: its layers as a Keras config, their weights, and what arrives.

Importing this module does not import Keras: a node that only forwards its raw input (a sensing device that
holds no layers) runs without it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import keras


@dataclass(frozen=True)
class NodeSpec:
    """Everything an actor needs to run one node: its layers (as a Keras config) and their weights."""

    name: str
    senders: tuple[str, ...]  # in the sub-model's input order; empty for an input node (raw request)
    input_shapes: tuple[tuple[int, ...], ...]  # per arriving tensor, without batch: a dead sender's zeros
    input_dtypes: tuple[str, ...]
    config: str
    weights: tuple[np.ndarray, ...]
    forwards_input: bool = False  # an input node without layers: its output is its raw input

    def build(self) -> keras.Model:
        import keras

        import resilinet.core.layers  # noqa: F401  (registers the custom layers for deserialisation)

        model = keras.models.model_from_json(self.config)
        model.set_weights(list(self.weights))
        return model
