"""Failure combinations evaluated node by node: a node's output depends only on whether it and the failable nodes
above it are alive, so each node runs on the test set once per distinct alive state of those nodes (a dead node's
output is zeros and costs nothing). The model's own layers run on the same batches as in the whole model; the kernels
may round the last bit of a probability differently where the graph is cut at the nodes (measured: within 1e-7), so
a predicted class can differ only where two classes tie to that precision."""
from __future__ import annotations

import logging
from collections import Counter, OrderedDict
from collections.abc import Iterator, Sequence

import keras
import networkx as nx
import numpy as np

from resilinet.core.builder import node_outputs
from resilinet.core.splits import Split
from resilinet.core.topology import Topology

CACHE_BYTES = 2 ** 30  # node outputs kept for reuse, all nodes together; past it the least recently used go


def node_models(model: keras.Model, topology: Topology,
                skip_mask: Sequence[bool] | None) -> Iterator[tuple[str, tuple[str, ...], keras.Model]]:
    """Each node with its senders (the nodes whose outputs arrive there, chain sources first; none for an input node)
    and the sub-model, sharing the model's layers, that maps their outputs (an input node: the raw input) to the
    node's output, gated for failable nodes. One at a time: serialise a sub-model before the next is cut (Keras
    cannot serialise it afterwards)."""
    outputs = node_outputs(model)
    raw_inputs = dict(zip(topology.inputs, model.inputs))
    senders = topology.senders(skip_mask)
    for node in topology.nodes:
        tensors = [raw_inputs[node]] if node in raw_inputs else [outputs[s] for s in senders[node]]
        yield (node, () if node in raw_inputs else senders[node],
               keras.Model(tensors, outputs[node], name=f"{model.name}_{node}"))


def predict_on_batches(model: keras.Model, inputs: Sequence[np.ndarray], batch_size: int) -> np.ndarray:
    """`model.predict_on_batch` batch by batch over in-memory `inputs` (one array per model input), concatenated."""
    batches = ([x[start:start + batch_size] for x in inputs] for start in range(0, len(inputs[0]), batch_size))
    return np.concatenate([np.asarray(model.predict_on_batch(b if len(b) > 1 else b[0])) for b in batches])


class NodeByNode:
    """The model's class probabilities on `split` under alive/dead combinations, node by node. `evaluations` counts,
    per node, the times it ran on the test set (a plain evaluation runs every node once per combination with a path)."""

    def __init__(self, model: keras.Model, topology: Topology, skip_mask: Sequence[bool] | None, split: Split,
                 batch_size: int, cache_bytes: int = CACHE_BYTES):
        self.topology, self.batch_size, self.cache_bytes = topology, batch_size, cache_bytes
        self.models = {node: (senders, sub) for node, senders, sub in node_models(model, topology, skip_mask)}
        self.raw = dict(zip(topology.inputs, split.x if isinstance(split.x, (list, tuple)) else [split.x]))
        graph = topology.graph(skip_mask)
        index = {node: i for i, node in enumerate(topology.failable)}
        self.depends = {node: tuple(sorted(index[a] for a in nx.ancestors(graph, node) | {node} if a in index))
                        for node in topology.nodes}
        self.cache: OrderedDict[tuple[str, tuple[bool, ...]], np.ndarray] = OrderedDict()
        self.cached_bytes = 0
        self.zeros: dict[str, np.ndarray] = {}
        self.evaluations: Counter[str] = Counter()

    def upstream_first(self, alive: Sequence[bool]) -> tuple[bool, ...]:
        """A sort key of combinations under which the states of the nodes near the inputs change least often, so that
        the outputs that depend only on them are reused while they are kept."""
        return tuple(alive[self.topology.failable.index(node)] for node in self.topology.nodes
                     if node in self.topology.failable)

    def predict(self, alive: Sequence[bool]) -> np.ndarray:
        """Class probabilities of the output node with the failable nodes `alive` (in failable order)."""
        outputs, up = {}, dict(zip(self.topology.failable, alive))
        for node in self.topology.nodes:
            if not up.get(node, True):
                outputs[node] = self._zeros(node)
                continue
            key = (node, tuple(alive[i] for i in self.depends[node]))
            if key in self.cache:
                self.cache.move_to_end(key)
                outputs[node] = self.cache[key]
                continue
            senders, sub_model = self.models[node]
            inputs = [self.raw[node]] if not senders else [outputs[s] for s in senders]
            outputs[node] = self._run(sub_model, inputs)
            self.evaluations[node] += 1
            if node != self.topology.output:
                self.cache[key] = outputs[node]
                self.cached_bytes += outputs[node].nbytes
                while self.cached_bytes > self.cache_bytes and self.cache:
                    self.cached_bytes -= self.cache.popitem(last=False)[1].nbytes
        return outputs[self.topology.output]

    def _run(self, sub_model: keras.Model, inputs: list[np.ndarray]) -> np.ndarray:
        # Each sub-model traces its own predict function once: TensorFlow would warn of retracing.
        tensorflow_log = logging.getLogger("tensorflow")
        level, tensorflow_log.level = tensorflow_log.level, logging.ERROR
        try:
            return predict_on_batches(sub_model, inputs, self.batch_size)
        finally:
            tensorflow_log.level = level

    def _zeros(self, node: str) -> np.ndarray:
        if node not in self.zeros:
            output = self.models[node][1].outputs[0]
            self.zeros[node] = np.zeros((len(next(iter(self.raw.values()))), *output.shape[1:]), dtype=output.dtype)
        return self.zeros[node]
