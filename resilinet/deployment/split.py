"""One sub-model per physical node, cut from the model the experiments build (no second definition):
it takes the outputs of the node's chain sources and of the skip hyperconnections that end there, in
that order (an input node: the raw input), and returns the node's output, gated as in the full model."""
from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from resilinet.core.shared_outputs import node_models
from resilinet.core.topology import Topology
from resilinet.deployment.node_spec import NodeSpec


def split_model(model: keras.Model, topology: Topology, skip_mask: Sequence[bool] | None,
                has_skips: bool) -> dict[str, NodeSpec]:
    """Cut a model made by `resilinet.core.builder.build_model` into one NodeSpec per node."""
    mask = topology.skip_mask_of(has_skips, skip_mask)
    return {node: NodeSpec(name=node, senders=senders, input_shapes=tuple(tuple(t.shape[1:]) for t in sub.inputs),
                           input_dtypes=tuple(str(t.dtype) for t in sub.inputs), config=sub.to_json(),
                           weights=tuple(np.asarray(w) for w in sub.get_weights()),
                           forwards_input=not senders and len(sub.layers) == 1)
            for node, senders, sub in node_models(model, topology, mask)}
