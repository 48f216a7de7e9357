"""One sub-model per physical node, cut from the model the experiments build (no second definition).

A node's sub-model takes the tensors arriving at the node (the outputs of its chain sources and of
the skip hyperconnections that end there, in that order; an input node takes the raw input) and
returns the node's output, gated for failable nodes, exactly as in the full model.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import keras
import numpy as np

from resilinet.core.builder import node_outputs
from resilinet.core.topology import Topology


@dataclass(frozen=True)
class NodeSpec:
    """Everything an actor needs to run one node: its layers (as a Keras config) and their weights.

    Attributes:
        senders: The nodes whose outputs arrive here, in the sub-model's input order (empty for
            an input node, whose single input is the raw request).
        input_shapes: Shape (without batch) and dtype of each arriving tensor, for the zeros that
            stand in for a dead sender.
    """

    name: str
    senders: tuple[str, ...]
    input_shapes: tuple[tuple[int, ...], ...]
    input_dtypes: tuple[str, ...]
    config: str
    weights: tuple[np.ndarray, ...]

    def build(self) -> keras.Model:
        import resilinet.core.layers  # noqa: F401  (registers the custom layers for deserialisation)

        model = keras.models.model_from_json(self.config)
        model.set_weights(list(self.weights))
        return model


def senders(topology: Topology, skip_mask: Sequence[bool] | None, has_skips: bool) -> dict[str, tuple[str, ...]]:
    """The nodes whose outputs arrive at each node: chain sources, then sources of active skips."""
    skips = topology.active_skips(skip_mask) if has_skips else ()
    return {
        node: topology.chain_sources(node) + tuple(source for source, target in skips if target == node)
        for node in topology.nodes
    }


def split_model(model: keras.Model, topology: Topology, skip_mask: Sequence[bool] | None,
                has_skips: bool) -> dict[str, NodeSpec]:
    """Cut a model made by `resilinet.core.builder.build_model` into one NodeSpec per node."""
    outputs = node_outputs(model)
    raw_inputs = dict(zip(topology.inputs, model.inputs))
    arriving = senders(topology, skip_mask, has_skips)
    specs = {}
    for node in topology.nodes:
        tensors = [raw_inputs[node]] if node in raw_inputs else [outputs[s] for s in arriving[node]]
        sub_model = keras.Model(tensors, outputs[node], name=f"{model.name}_{node}")
        specs[node] = NodeSpec(
            name=node,
            senders=() if node in raw_inputs else arriving[node],
            input_shapes=tuple(tuple(t.shape[1:]) for t in tensors),
            input_dtypes=tuple(str(t.dtype) for t in tensors),
            config=sub_model.to_json(),
            weights=tuple(np.asarray(w) for w in sub_model.get_weights()),
        )
    return specs
