"""A deployed network: one Ray actor per node, real kills and restarts, requests streamed through.

The driver only starts, kills and restarts actors and, per request, hands each node the
ObjectRefs of its senders' outputs for that request; the tensors travel between the actors through
Ray's object store. It keeps the membership view (which nodes are down) under which each request
is sent: nodes already known dead are not called.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import ray

from resilinet.base.errors import UserError
from resilinet.core.topology import Topology
from resilinet.deployment.nodes import SENDER_DEAD, Node
from resilinet.deployment.split import NodeSpec
from resilinet.runs.ray_session import project_environment


def actor_environment() -> dict[str, str]:
    """What every node's worker process needs: this checkout on the path, the driver's Keras
    backend, one thread per pool (a node holds a small share of a core), quiet TensorFlow."""
    return project_environment(TF_CPP_MIN_LOG_LEVEL="3", TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1",
                               OMP_NUM_THREADS="1")


@dataclass
class Request:
    """One request in flight: its ObjectRefs and the membership it was sent under."""

    index: int
    refs: dict[str, ray.ObjectRef]
    reports: dict[str, ray.ObjectRef]
    known_dead: frozenset[str]
    sent: float  # wall clock (time.time), as the output node stamps its answer


@dataclass
class Answer:
    index: int
    labels: np.ndarray
    probabilities: np.ndarray | None  # None when answered by the no-path rule
    no_path: bool
    alive: dict[str, bool]  # per failable node: did its output reach every live receiver
    partial: tuple[str, ...]  # nodes whose output reached some receivers but not all
    died_during: tuple[str, ...]  # missing nodes killed while this request was in flight
    known_dead: frozenset[str]
    seconds: float  # from sending to the output node's answer (not to when the driver collects it)


@dataclass
class DeployedNetwork:
    """The actors of one deployed model; `guess` is (labels, probabilities) of the no-path rule;
    `placement` maps a node to the Ray node (named by a custom resource) its actor runs on."""

    topology: Topology
    specs: Mapping[str, NodeSpec]
    guess: tuple[Sequence[int], Sequence[float]]
    node_cpus: float = 0.1
    seed: int = 0
    placement: Mapping[str, str] = field(default_factory=dict)
    actors: dict = field(default_factory=dict)
    joining: dict = field(default_factory=dict)  # node -> (actor, ready ref) restarted, not yet ready
    kills: int = 0
    restarts: int = 0
    died: dict = field(default_factory=dict)  # node -> first request that found it dead, not killed here

    def __post_init__(self):
        self._spec_refs = {node: ray.put(spec) for node, spec in self.specs.items()}
        self._actor_class = ray.remote(Node)
        self._receivers = {node: [r for r, spec in self.specs.items() if node in spec.senders]
                           for node in self.specs}
        self._env = actor_environment()

    def _new_actor(self, node: str, generation: int):
        options = dict(num_cpus=self.node_cpus, runtime_env={"env_vars": self._env}, max_restarts=0)
        if node in self.placement:
            options["resources"] = {self.placement[node]: 0.001}
        guess = self.guess if node == self.topology.output else (None, None)
        return self._actor_class.options(**options).remote(
            self._spec_refs[node], *guess, seed=self.seed + generation)

    def start(self) -> None:
        """Start every node and wait until all have loaded their weights."""
        needed, cpus = len(self.topology.nodes) * self.node_cpus, ray.cluster_resources().get("CPU", 0.0)
        if needed > cpus + 1e-9:
            raise UserError(f"{len(self.topology.nodes)} node actors x --node_cpus={self.node_cpus:g} need {needed:g} "
                            f"CPUs and the Ray cluster has {cpus:g}: they would wait for ever; give "
                            f"--node_cpus={cpus / len(self.topology.nodes):.3g} or less")
        self.actors = {node: self._new_actor(node, 0) for node in self.topology.nodes}
        ray.get([actor.ready.remote() for actor in self.actors.values()])

    def kill(self, node: str) -> None:
        """Kill a node's actor for real (its process ends); it sends nothing from now on."""
        if node not in self.topology.failable:
            raise ValueError(f"{node} cannot fail; failable nodes: {', '.join(self.topology.failable)}")
        actor = self.actors.pop(node, None) or self.joining.pop(node, (None,))[0]
        if actor is not None:
            ray.kill(actor, no_restart=True)
            self.kills += 1

    def restart(self, node: str) -> None:
        """Start a fresh actor for a dead node: it reloads its weights and rejoins once ready."""
        if node in self.actors or node in self.joining or not self._ray_node_alive(node):
            return
        actor = self._new_actor(node, self.kills + self.restarts + 1)
        self.joining[node] = (actor, actor.ready.remote())
        self.restarts += 1

    def admit_ready(self, wait: bool = False) -> None:
        """Let restarted actors that have loaded their weights rejoin (all of them if `wait`)."""
        for node, (actor, ready) in list(self.joining.items()):
            done, _ = ray.wait([ready], timeout=None if wait else 0)
            if done:
                del self.joining[node]
                self.actors[node] = actor

    def _ray_node_alive(self, node: str) -> bool:
        """Whether the Ray node `node` is placed on is up (a node placed anywhere can always restart)."""
        if node not in self.placement:
            return True
        return any(n.get("Alive") and self.placement[node] in n["Resources"] for n in ray.nodes())

    def _lost(self, node: str, request: int) -> None:
        """Ray reported `node`'s actor dead (its process or Ray node went down) without a kill of ours:
        from now on it is known dead. A node that cannot fail has no such combination to answer."""
        if node not in self.topology.failable:
            where = f" on Ray node {self.placement[node]}" if node in self.placement else ""
            raise UserError(f"node {node}{where} went down at request {request}, but {node} cannot fail in "
                            f"{self.topology.name}'s topology (failable: {', '.join(self.topology.failable)}); "
                            "place it on a Ray node that stays up")
        actor = self.actors.pop(node, None)
        if actor is not None:
            ray.kill(actor, no_restart=True)
            self.died.setdefault(node, request)

    def down(self) -> frozenset[str]:
        return frozenset(n for n in self.topology.nodes if n not in self.actors)

    def submit(self, index: int, inputs: Sequence[np.ndarray], timeout_s: float,
               excluded: frozenset[str] = frozenset()) -> Request:
        """Send one request: each input node gets its raw input, every other node the refs of its
        senders' outputs. Nodes known dead (or `excluded`: treated as dead without a kill) are not
        called and their receivers take zeros at once."""
        batch = len(inputs[0])
        raw = dict(zip(self.topology.inputs, inputs))
        known_dead = self.down() | excluded
        refs, reports = {}, {}
        for node in self.topology.nodes:
            if node in known_dead:
                continue
            spec = self.specs[node]
            arriving = [raw[node]] if not spec.senders else [refs.get(s) for s in spec.senders]
            refs[node], reports[node] = self.actors[node].process.options(num_returns=2).remote(
                index, batch, arriving, timeout_s)
        return Request(index, refs, reports, known_dead, time.time())

    def collect(self, request: Request) -> Answer:
        """Wait for the output node's answer and work out which nodes' outputs were used."""
        try:
            answer = ray.get(request.refs[self.topology.output])
        except SENDER_DEAD:
            self._lost(self.topology.output, request.index)
        seconds = answer["answered_at"] - request.sent
        received: dict[str, dict[str, bool]] = {}
        for node, ref in request.reports.items():
            try:
                received[node] = ray.get(ref)["received"]
            except SENDER_DEAD:
                if node in self.actors:
                    self._lost(node, request.index)
        alive, partial, died = {}, [], []
        for node in self.topology.failable:
            got = [received[r][node] for r in self._receivers[node] if r in received]
            if node not in received:
                alive[node] = False
            elif got and any(got) and not all(got):
                alive[node] = False
                partial.append(node)
            else:
                alive[node] = all(got) if got else True
            if not alive[node] and node not in request.known_dead:
                died.append(node)
        return Answer(request.index, np.asarray(answer["labels"]), answer["probabilities"], bool(answer["no_path"]), alive,
                      tuple(partial), tuple(died), request.known_dead, seconds)

    def shutdown(self) -> None:
        for actor in list(self.actors.values()) + [a for a, _ in self.joining.values()]:
            ray.kill(actor, no_restart=True)
        self.actors, self.joining = {}, {}
