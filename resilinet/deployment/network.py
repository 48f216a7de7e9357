"""A deployed network: one Ray actor per node, real kills and restarts, requests streamed through.

The driver hands each node the ObjectRefs of its senders' outputs (the tensors go actor to actor
through Ray's object store) and keeps which nodes are down: nodes known dead are not called.
"""
from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import ray

from resilinet.base.errors import UserError
from resilinet.core.topology import Topology
from resilinet.deployment.node_spec import NodeSpec
from resilinet.deployment.nodes import SENDER_DEAD, Node
from resilinet.runs.ray_session import alive_node_resources, project_environment


@dataclass
class Request:
    """One request in flight: its ObjectRefs and the membership it was sent under."""

    index: int
    refs: dict[str, ray.ObjectRef]
    reports: dict[str, ray.ObjectRef]
    known_dead: frozenset[str]
    sent: float  # wall clock (time.time), as the output node stamps its answer
    due: dict[str, float]  # under a deadline: when each node's output is due (wall clock); else empty


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


class DeployedNetwork:
    """The actors of one deployed model; `guess` is (labels, probabilities) of the no-path rule;
    `placement` maps a node to the Ray node (named by a custom resource) its actor runs on."""

    def __init__(self, topology: Topology, specs: Mapping[str, NodeSpec], guess: tuple[Sequence[int], Sequence[float]],
                 node_cpus: float = 0.1, seed: int = 0, placement: Mapping[str, str] | None = None):
        self.topology, self.specs, self.guess, self.node_cpus, self.seed = topology, specs, guess, node_cpus, seed
        self.placement = {} if placement is None else placement
        self.actors: dict = {}
        self.joining: dict = {}  # node -> (actor, ready ref) restarted, not yet ready
        self.died: dict = {}  # node -> first request that found it dead, not killed here
        self.kills = self.restarts = 0
        self._spec_refs = {node: ray.put(spec) for node, spec in specs.items()}
        self._actor_class = ray.remote(Node)
        self._receivers = {node: [r for r, spec in specs.items() if node in spec.senders] for node in specs}
        self.hops = hops(topology, specs)
        # Every node's worker: one thread per pool (a node holds a small share of a core), quiet TensorFlow.
        self._env = project_environment(TF_CPP_MIN_LOG_LEVEL="3", TF_NUM_INTRAOP_THREADS="1",
                                        TF_NUM_INTEROP_THREADS="1", OMP_NUM_THREADS="1")

    def _new_actor(self, node: str, generation: int):
        options = dict(num_cpus=self.node_cpus, runtime_env={"env_vars": self._env}, max_restarts=0)
        if node in self.placement:
            options["resources"] = {self.placement[node]: 0.001}
        guess = self.guess if node == self.topology.output else (None, None)
        return self._actor_class.options(**options).remote(self._spec_refs[node], *guess, seed=self.seed + generation)

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
        if node in self.actors or node in self.joining or (node in self.placement and not any(
                self.placement[node] in resources for resources in alive_node_resources())):
            return  # running, rejoining, or its Ray node is down
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

    def slow_down(self, node: str, delay_s: float) -> None:
        """Make `node` take `delay_s` longer over every request from now on (0: back to normal); returns once the
        requests it already holds are done."""
        ray.get(self.actors[node].slow_down.remote(delay_s))

    def submit(self, index: int, inputs: Sequence[np.ndarray], timeout_s: float,
               excluded: frozenset[str] = frozenset(), deadline_s: float | None = None) -> Request:
        """Send one request: each input node gets its raw input, every other node the refs of its
        senders' outputs. Nodes known dead (or `excluded`: treated as dead without a kill) are not
        called and their receivers take zeros at once. Under a deadline per hop, a node `hops` away from
        the inputs is due `deadline_s` x (hops + 1) after the request is sent; its receivers go on with
        zeros for it after that, as if it were dead. Without one, a receiver waits `timeout_s`."""
        batch = len(inputs[0])
        raw = dict(zip(self.topology.inputs, inputs))
        known_dead = frozenset(n for n in self.topology.nodes if n not in self.actors) | excluded
        refs, reports = {}, {}
        sent = time.time()
        due = {} if deadline_s is None else {n: sent + deadline_s * (hops + 1) for n, hops in self.hops.items()}
        for node in (n for n in self.topology.nodes if n not in known_dead):
            senders = self.specs[node].senders
            arriving = [refs.get(s) for s in senders] if senders else [raw[node]]
            refs[node], reports[node] = self.actors[node].process.options(num_returns=2).remote(
                index, batch, arriving, timeout_s, [due[s] for s in senders] if due else None, due.get(node))
        return Request(index, refs, reports, known_dead, sent, due)

    def collect(self, request: Request) -> Answer:
        """Wait for the output node's answer and work out which nodes' outputs were used."""
        try:
            answer = ray.get(request.refs[self.topology.output])
        except SENDER_DEAD:
            self._lost(self.topology.output, request.index)
        received: dict[str, dict[str, bool]] = {}
        reports = request.reports
        if request.due:  # a node still busy when the last node was due, or done after its own due, was late
            ready, _ = ray.wait(list(reports.values()), num_returns=len(reports),
                                timeout=max(0.0, max(request.due.values()) - time.time()))
            done = set(ready)
            reports = {node: ref for node, ref in reports.items() if ref in done}
        for node, ref in reports.items():
            try:
                report = ray.get(ref)
            except SENDER_DEAD:
                if node in self.actors:
                    self._lost(node, request.index)
                continue
            if not report["late"]:
                received[node] = report["received"]
        failable = self.topology.failable
        got = {n: [received[r][n] for r in self._receivers[n] if r in received] for n in failable}
        alive = {n: n in received and all(got[n]) for n in failable}
        partial = tuple(n for n in failable if n in received and any(got[n]) and not all(got[n]))
        died = tuple(n for n in failable if not alive[n] and n not in request.known_dead)
        return Answer(request.index, np.asarray(answer["labels"]), answer["probabilities"], bool(answer["no_path"]),
                      alive,
                      partial, died, request.known_dead, answer["answered_at"] - request.sent)

    def shutdown(self) -> None:
        for actor in list(self.actors.values()) + [a for a, _ in self.joining.values()]:
            ray.kill(actor, no_restart=True)
        self.actors, self.joining = {}, {}


def hops(topology: Topology, specs: Mapping[str, NodeSpec]) -> dict[str, int]:
    """Each node's distance from the inputs in the deployed graph: 0 for an input, else one more than its farthest
    sender (skip hyperconnections included)."""
    distance: dict[str, int] = {}
    for node in topology.nodes:
        senders = specs[node].senders
        distance[node] = 1 + max(distance[s] for s in senders) if senders else 0
    return distance
