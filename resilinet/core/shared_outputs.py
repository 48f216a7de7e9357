"""Failure combinations evaluated node by node: a node's output depends only on whether it and the failable nodes
above it are alive, so each node runs on the test set once per distinct alive state of those nodes (a dead node's
output is zeros and costs nothing). Where the test set is small, the states a group of combinations needs are stacked
row-wise into one call of the node's sub-model, since one call costs about a millisecond however few rows it has. At
inference rows do not interact except in ResiliNet's input multiplexer, which looks at a whole batch: only states
whose inputs are all zeros alike share a call (`NodeByNode._zero_inputs`). The kernels may round the last bit of a
probability differently where the graph is cut at the nodes (measured: within 1e-7), so a predicted class can differ
from the whole model's only where two classes tie to that precision."""
from __future__ import annotations

import logging
import math
from collections import Counter, OrderedDict
from collections.abc import Iterator, Sequence

import keras
import networkx as nx
import numpy as np

from resilinet.base.errors import safe_point
from resilinet.core.builder import node_outputs
from resilinet.core.splits import Split
from resilinet.core.topology import Topology

CACHE_BYTES = 2 ** 30  # node outputs kept for reuse, all nodes together; past it the least recently used go
STACK_BYTES = 2 ** 26  # the widest activation of one stacked call, at most: how many states run together


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
    outputs = []
    for start in range(0, len(inputs[0]), batch_size):
        safe_point()
        batch = [x[start:start + batch_size] for x in inputs]
        outputs.append(np.asarray(model.predict_on_batch(batch if len(batch) > 1 else batch[0])))
    return np.concatenate(outputs)


def widest_row_bytes(model: keras.Model) -> int:
    """Bytes of one row of the model's widest activation (any layer's output)."""
    return max(math.prod(t.shape[1:]) * np.dtype(t.dtype).itemsize
               for layer in model.layers for t in keras.tree.flatten(layer.output))


class NodeByNode:
    """The model's class probabilities on `split` under alive/dead combinations, node by node. `evaluations` counts,
    per node, the alive states it ran on the test set for (a plain evaluation runs every node once per combination
    with a path). `group` combinations at a time share one call of each sub-model (1: a test set too large to stack,
    which then goes `batch_size` rows at a time)."""

    def __init__(self, model: keras.Model, topology: Topology, skip_mask: Sequence[bool] | None, split: Split,
                 batch_size: int, cache_bytes: int = CACHE_BYTES):
        self.topology, self.batch_size, self.cache_bytes = topology, batch_size, cache_bytes
        self.models = {node: (senders, sub) for node, senders, sub in node_models(model, topology, skip_mask)}
        self.raw = dict(zip(topology.inputs, split.x if isinstance(split.x, (list, tuple)) else [split.x]))
        self.rows = len(next(iter(self.raw.values())))
        self.group = max(1, STACK_BYTES // max(1, self.rows * widest_row_bytes(model)))
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
        return self.predict_group([tuple(alive)])[0]

    def predict_each(self, combinations: Sequence[tuple[bool, ...]]) -> Iterator[np.ndarray]:
        """`predict` of each combination in turn, `group` of them at a time."""
        for start in range(0, len(combinations), self.group):
            yield from self.predict_group(combinations[start:start + self.group])

    def predict_group(self, combinations: Sequence[tuple[bool, ...]]) -> list[np.ndarray]:
        """Class probabilities of the output node for each combination; node by node, the alive states the
        combinations need that are not cached run in one call."""
        outputs: list[dict[str, np.ndarray]] = [{} for _ in combinations]
        for node in self.topology.nodes:
            needed: dict[tuple[str, tuple[bool, ...]], list[int]] = {}
            position = self.topology.failable.index(node) if node in self.topology.failable else None
            for i, alive in enumerate(combinations):
                if position is not None and not alive[position]:
                    outputs[i][node] = self._zeros(node)
                    continue
                key = (node, tuple(alive[j] for j in self.depends[node]))
                if key in self.cache:
                    self.cache.move_to_end(key)
                    outputs[i][node] = self.cache[key]
                else:
                    needed.setdefault(key, []).append(i)
            if not needed:
                continue
            senders, _ = self.models[node]
            inputs = [[self.raw[node]] if not senders else [outputs[first][s] for s in senders]
                      for first, *_ in needed.values()]
            for (key, users), output in zip(needed.items(), self._run(node, inputs)):
                self.evaluations[node] += 1
                for i in users:
                    outputs[i][node] = output
                if node != self.topology.output:
                    self._keep(key, output)
        return [found[self.topology.output] for found in outputs]

    def _keep(self, key: tuple[str, tuple[bool, ...]], output: np.ndarray) -> None:
        self.cache[key] = output
        self.cached_bytes += output.nbytes
        while self.cached_bytes > self.cache_bytes and self.cache:
            self.cached_bytes -= self.cache.popitem(last=False)[1].nbytes

    def _run(self, node: str, states: list[list[np.ndarray]]) -> list[np.ndarray]:
        """The node's outputs for each of `states` (the inputs of one alive state each)."""
        sub_model = self.models[node][1]
        # Each sub-model traces its own predict function once: TensorFlow would warn of retracing.
        tensorflow_log = logging.getLogger("tensorflow")
        level, tensorflow_log.level = tensorflow_log.level, logging.ERROR
        try:
            if self.group == 1:
                return [predict_on_batches(sub_model, inputs, self.batch_size) for inputs in states]
            outputs: dict[int, np.ndarray] = {}
            alike: dict[tuple[bool, ...], list[int]] = {}
            for i, inputs in enumerate(states):
                zero = self._zero_inputs(inputs)
                if zero is None:
                    outputs[i] = predict_on_batches(sub_model, inputs, self.batch_size)
                else:
                    alike.setdefault(zero, []).append(i)
            for members in alike.values():
                for start in range(0, len(members), self.group):
                    chunk = members[start:start + self.group]
                    outputs.update(zip(chunk, self._run_stacked(sub_model, [states[i] for i in chunk])))
            return [outputs[i] for i in range(len(states))]
        finally:
            tensorflow_log.level = level

    def _zero_inputs(self, inputs: list[np.ndarray]) -> tuple[bool, ...] | None:
        """Per input, whether it is all zeros in every `batch_size` batch (a dead sender) or in none; None where
        some batches are all zeros and others not. ResiliNet's input multiplexer looks at a whole batch, so only states
        that agree on this may share a call and answer as they do batch by batch."""
        flags = []
        for x in inputs:
            zero = {not np.any(x[start:start + self.batch_size]) for start in range(0, self.rows, self.batch_size)}
            if len(zero) > 1:
                return None
            flags.append(zero.pop())
        return tuple(flags)

    def _run_stacked(self, sub_model: keras.Model, states: list[list[np.ndarray]]) -> list[np.ndarray]:
        """One call on `states` stacked row-wise, padded with zero rows to a power of two of them (at most `group`),
        so that a backend that compiles per shape (JAX) compiles a few shapes per node, not one per count."""
        padded = min(self.group, 1 << (len(states) - 1).bit_length())
        padding = [[np.zeros_like(x) for x in states[0]]] * (padded - len(states))
        stacked = [np.concatenate(arrays) for arrays in zip(*states, *padding)]
        output = predict_on_batches(sub_model, stacked, len(stacked[0]))
        return [output[i * self.rows:(i + 1) * self.rows].copy() for i in range(len(states))]

    def _zeros(self, node: str) -> np.ndarray:
        if node not in self.zeros:
            output = self.models[node][1].outputs[0]
            self.zeros[node] = np.zeros((self.rows, *output.shape[1:]), dtype=output.dtype)
        return self.zeros[node]
