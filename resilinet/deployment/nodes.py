"""The Ray actor of one physical node: it holds only its own layers and weights.

A sender that Ray reports dead, or that has sent nothing by the time it was due (the timeout, or the
deadline of its hop), counts as all zeros, as a dead node's gated output does in training and in the
simulation.
"""
from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence

import numpy as np
import ray
from ray.exceptions import GetTimeoutError, ObjectLostError, RayActorError

from resilinet.deployment.node_spec import NodeSpec

# What a receiver sees when a sender is gone: its actor died (killed, crashed, its machine down or
# unreachable) or the object it sent was lost with its machine. An exception raised by a sender's
# own code is not among them: it arrives as that sender's NodeFailure and stops the deployment.
SENDER_DEAD = (RayActorError, GetTimeoutError, ObjectLostError)


class NodeFailure(Exception):
    """A node's own code raised (a bug, a shape error): no failure of the paper's kind."""

    def __init__(self, node: str, message: str):
        super().__init__(node, message)
        self.node, self.message = node, message

    def __str__(self) -> str:
        return f"node {self.node}: {self.message}"


class Node:
    """One node's sub-model. Its output object is (tensor, reached): `reached` says whether some input's
    data arrived through live nodes; where none did, the output node guesses by the training label
    frequencies, as the simulation's no-path rule assumes."""

    def __init__(self, spec: NodeSpec, guess_labels: Sequence[int] | None = None,
                 guess_probabilities: Sequence[float] | None = None, seed: int = 0):
        self.spec = spec
        self.model = None  # a node that forwards its raw input runs no layers and never imports Keras
        if not spec.forwards_input:
            self.model = spec.build()
            warm_up = [np.zeros((1, *shape), dtype=dtype) for shape, dtype in zip(spec.input_shapes, spec.input_dtypes)]
            self.model(warm_up, training=False)  # the first call traces: not a request's cost
        self.guess_labels = None if guess_labels is None else np.asarray(guess_labels)
        self.guess_probabilities = guess_probabilities
        self.rng = np.random.default_rng(seed)
        self.delay_s = 0.0

    def ready(self) -> str:
        return self.spec.name

    def slow_down(self, delay_s: float) -> None:
        """Take `delay_s` longer over every request from now on (a node made slow on purpose; 0: back to normal)."""
        self.delay_s = delay_s

    def process(self, request: int, batch: int, arriving: Sequence, timeout_s: float,
                due: Sequence[float] | None = None, own_due: float | None = None):
        """Run the node on one request. `arriving` holds the raw input arrays (input nodes) or the
        senders' output ObjectRefs (None where the sender is known dead); a sender counts as dead once
        its `due` wall-clock time (time.time) has passed, or without `due` `timeout_s` after this call
        starts. The report says whether this node finished after its own due time (`late`: its receivers
        had gone on without it). Returns (output, report)."""
        started = time.perf_counter()
        if not self.spec.senders:
            tensors, received, reached = list(arriving), {}, True
        else:
            due = [time.time() + timeout_s] * len(arriving) if due is None else due
            tensors, received = self._receive(batch, arriving, due)  # a sender's NodeFailure passes on
            reached = any(received.values())
            received = {s: r is not None for s, r in received.items()}
        try:
            output = self._run(tensors)
        except Exception as error:
            raise NodeFailure(self.spec.name, " ".join(f"{type(error).__name__}: {error}".split())) from None
        if self.delay_s:
            time.sleep(self.delay_s)
        report = {"node": self.spec.name, "request": request, "received": received, "reached": reached,
                  "seconds": time.perf_counter() - started, "late": own_due is not None and time.time() > own_due}
        if self.guess_labels is None:
            return (output, reached), report
        if reached:
            answer = {"labels": np.argmax(output, axis=-1), "probabilities": output, "no_path": False}
        else:
            guesses = self.rng.choice(self.guess_labels, size=batch, p=self.guess_probabilities)
            answer = {"labels": guesses, "probabilities": None, "no_path": True}
        return {**answer, "answered_at": time.time()}, report

    def _run(self, tensors: list) -> np.ndarray:
        """The node's output on the tensors that arrived (a forwarding node: its raw input, in its input's dtype)."""
        if self.model is None:
            return np.asarray(tensors[0], dtype=self.spec.input_dtypes[0])
        return np.asarray(self.model(tensors, training=False))

    def _receive(self, batch: int, arriving: Sequence, due: Sequence[float]):
        """The senders' tensors (zeros for the missing ones), and per sender its `reached` flag or
        None where nothing arrived by its `due` time."""
        pending = {ref: i for i, ref in enumerate(arriving) if ref is not None}
        got: dict[int, tuple] = {}
        while pending:
            now = time.time()
            pending = {ref: i for ref, i in pending.items() if due[i] > now}  # the overdue count as dead
            if not pending:
                break
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=min(due[i] for i in pending.values()) - now)
            for ref in ready:
                i = pending.pop(ref)
                with contextlib.suppress(*SENDER_DEAD):
                    got[i] = ray.get(ref)
        tensors = [got[i][0] if i in got else np.zeros((batch, *shape), dtype=dtype)
                   for i, (shape, dtype) in enumerate(zip(self.spec.input_shapes, self.spec.input_dtypes))]
        return tensors, {sender: bool(got[i][1]) if i in got else None for i, sender in enumerate(self.spec.senders)}
