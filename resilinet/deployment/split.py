"""One sub-model per physical node, cut from the model the experiments build (no second definition):
it takes the outputs of the node's chain sources and of the skip hyperconnections that end there, in
that order (an input node: the raw input), and returns the node's output, gated as in the full model."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import keras
import numpy as np

from resilinet.core.shared_outputs import node_models
from resilinet.core.topology import Topology


@dataclass(frozen=True)
class NodeSpec:
    """Everything an actor needs to run one node: its layers (as a Keras config) and their weights."""

    name: str
    senders: tuple[str, ...]  # in the sub-model's input order; empty for an input node (raw request)
    input_shapes: tuple[tuple[int, ...], ...]  # per arriving tensor, without batch: a dead sender's zeros
    input_dtypes: tuple[str, ...]
    config: str
    weights: tuple[np.ndarray, ...]

    def build(self) -> keras.Model:
        import resilinet.core.layers  # noqa: F401  (registers the custom layers for deserialisation)

        model = keras.models.model_from_json(self.config)
        model.set_weights(list(self.weights))
        return model


def split_model(model: keras.Model, topology: Topology, skip_mask: Sequence[bool] | None,
                has_skips: bool) -> dict[str, NodeSpec]:
    """Cut a model made by `resilinet.core.builder.build_model` into one NodeSpec per node."""
    mask = topology.skip_mask_of(has_skips, skip_mask)
    return {node: NodeSpec(name=node, senders=senders, input_shapes=tuple(tuple(t.shape[1:]) for t in sub.inputs),
                           input_dtypes=tuple(str(t.dtype) for t in sub.inputs), config=sub.to_json(),
                           weights=tuple(np.asarray(w) for w in sub.get_weights()))
            for node, senders, sub in node_models(model, topology, mask)}
