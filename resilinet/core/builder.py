"""One builder for every distributed network (Vanilla, DFG, ResiliNet, ResiliNet+): the topology says which node
feeds which, an architecture what layers each node runs and how a skip's tensor is made to fit the one it meets."""
from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import keras

from resilinet.core.kinds import ModelKind, ModelOptions
from resilinet.core.layers import Failout, FailureGate, InputMultiplexer
from resilinet.core.topology import Connection, Topology


class Architecture(Protocol):
    """What a dataset supplies: input shapes, each node's layers, and skip alignment."""

    input_shapes: Mapping[str, tuple[int, ...]]

    def node(self, name: str, x):
        """Apply node `name`'s layer stack to its input tensor (the output node ends in softmax)."""

    def align_skip(self, skip: Connection, skip_tensor, below_tensor):
        """Return (skip_tensor, below_tensor) reshaped so the two can be summed or multiplexed."""


@dataclass(frozen=True)
class Wiring:
    """How the nodes of one model meet: the connections of its kind on the topology, with their weights."""

    topology: Topology
    architecture: Architecture
    kind: ModelKind
    skips: tuple[Connection, ...]  # the skip hyperconnections switched on
    weights: Mapping[Connection, float]  # missing connections weigh 1

    def weigh(self, tensor, connection: Connection):
        scale = float(self.weights.get(connection, 1.0))
        if scale == 1.0:
            return tensor
        source, target = connection
        return keras.layers.Rescaling(scale, name=f"weight_{source}_to_{target}")(tensor)

    def check_shapes(self, tensors, node: str) -> None:
        shapes = [tuple(t.shape[1:]) for t in tensors]
        if len(set(shapes)) > 1:
            raise ValueError(f"{self.topology.name}: the tensors that meet at {node} have shapes "
                             f"{', '.join(map(str, shapes))}; give them one shape (the nodes' layer stacks, or the "
                             f"architecture's align_skip)")

    def merge(self, tensors, layer_name: str, node: str):
        self.check_shapes(tensors, node)
        return tensors[0] if len(tensors) == 1 else keras.layers.Add(name=layer_name)(tensors)

    def node_input(self, node: str, outputs: Mapping[str, object]):
        """What `node` receives: per node below it, its output (weighted), and the skip hyperconnections over it
        summed with it (DFG, ResiliNet+) or multiplexed with it (ResiliNet)."""
        parts = []
        for below_node in self.topology.chain_sources(node):
            below = self.weigh(outputs[below_node], (below_node, node))
            skip_parts = []
            for skip in [s for s in self.skips if s[1] == node and self.topology.bypassed_node(s) == below_node]:
                carried, below = self.architecture.align_skip(skip, outputs[skip[0]], below)
                skip_parts.append(self.weigh(carried, skip))
            if not skip_parts:
                parts.append(below)
            elif self.kind is ModelKind.RESILINET:
                carried = self.merge(skip_parts, f"skips_over_{below_node}_to_{node}", node)
                self.check_shapes([below, carried], node)
                parts.append(InputMultiplexer(name=f"mux_{below_node}_to_{node}")([below, carried]))
            else:
                parts.extend([below, *skip_parts])
        return self.merge(parts, f"{node}_input", node)


def build_model(topology: Topology, architecture: Architecture, kind: ModelKind | str,
                options: ModelOptions = ModelOptions(), *, default_survival_rate: float = 1.0,
                name: str | None = None) -> keras.Model:
    """Build the Keras model of `kind` on `topology`, as `options` vary it (`ModelOptions`: which skip
    hyperconnections exist, the weight of each connection, the failout survival rates; a missing connection weighs
    1, and the weights are ignored for Vanilla, which has no hyperconnections). Failout (ResiliNet and ResiliNet+
    only) keeps each node with `default_survival_rate` where the options set no rate of their own.
    """
    kind = ModelKind(kind)
    wiring = Wiring(topology, architecture, kind, topology.active_skips(options.skip_mask) if kind.has_skips else (),
                    dict(options.weights or {}) if kind.has_skips else {})
    survival_rates = options.survival_rates_or(default_survival_rate)
    if not isinstance(survival_rates, Mapping):
        survival_rates = {node: float(survival_rates) for node in topology.failable}
    inputs = {node: keras.Input(shape=architecture.input_shapes[node], name=node) for node in topology.inputs}
    outputs = {}
    for node in topology.nodes:
        x = inputs[node] if node in inputs else wiring.node_input(node, outputs)
        try:
            y = architecture.node(node, x)
        except ValueError as error:
            raise ValueError(f"{topology.name}: the layers of {node} do not take its input of shape "
                             f"{tuple(x.shape[1:])}: {error}") from error
        if node in topology.failable:
            if kind.has_failout:
                y = Failout(survival_rates[node], name=f"{node}_failout")(y)
            y = FailureGate(name=f"{node}_gate")(y)
        outputs[node] = y
    model_inputs = [inputs[node] for node in topology.inputs]
    model = keras.Model(inputs=model_inputs[0] if len(model_inputs) == 1 else model_inputs,
                        outputs=outputs[topology.output], name=name or f"{kind.file_name}_{topology.name}")
    _NODE_OUTPUTS[model] = dict(outputs)
    return model


_NODE_OUTPUTS: weakref.WeakKeyDictionary[keras.Model, dict[str, object]] = weakref.WeakKeyDictionary()


def node_outputs(model: keras.Model) -> dict[str, object]:
    """The output tensor of every node of a model made by `build_model` (for failable nodes, the
    gated output): the tensors one physical node sends to the others."""
    if model not in _NODE_OUTPUTS:
        raise ValueError(f"{model.name} was not made by resilinet.core.builder.build_model")
    return _NODE_OUTPUTS[model]


def set_alive(model: keras.Model, topology: Topology, alive: Sequence[bool]) -> None:
    """Simulate a failure combination: dead nodes output zeros until the next call."""
    for node, up in zip(topology.failable, alive, strict=True):
        model.get_layer(f"{node}_gate").set_alive(up)
