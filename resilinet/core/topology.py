"""Physical topology of a distributed network: the single source of truth from which the networkx graph and its
no-path test, the hyperconnection weights, the Keras model variants and the failure simulation derive."""
from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np

Connection = tuple[str, str]

WEIGHT_SCHEMES = {
    1: "every weight 1",
    2: "normalised reliability r_u / sum of r over the sources of v",
    3: "reliability r_u",
    4: "uniform random in [0, 1]",
    5: "uniform random in [0, 10]",
}
RELIABILITY_DEPENDENT_SCHEMES = (2, 3)


@dataclass(frozen=True)
class Topology:
    """Nodes and connections of one distributed network.

    Attributes:
        name: Short name used in logs.
        inputs: Nodes that receive raw input (IoT, cameras, sensors); they fail only if `failable` names them.
        chain: Directed connections of the Vanilla network, (source, target).
        skips: Skip hyperconnections in sensitivity bit order; each jumps over exactly one node.
        failable: Failable nodes in the order of every reliability setting: any node but the output. The paper's
            networks name no input: their sensing devices never fail.
        output: The node that produces the prediction (never fails).
    """

    name: str
    inputs: tuple[str, ...]
    chain: tuple[Connection, ...]
    skips: tuple[Connection, ...]
    failable: tuple[str, ...]
    output: str = "cloud"

    def __post_init__(self):
        chain = nx.DiGraph(self.chain)
        if not nx.is_directed_acyclic_graph(chain):
            cycle = [source for source, _ in nx.find_cycle(chain)]
            raise ValueError(f"{self.name}: the chain has a cycle ({' -> '.join(cycle + cycle[:1])})")

        def require(ok: bool, problem: str):
            if not ok:
                raise ValueError(f"{self.name}: {problem}")

        nodes = set(self.nodes)
        for source, target in self.skips:
            require({source, target} <= nodes, f"skip {source}->{target} names a node that no chain connection has")
        for node in (*self.inputs, self.output):
            require(node in nodes, f"{node} ({'output' if node == self.output else 'input'}) is in no chain connection")
        for node in self.inputs:
            require(not self.chain_sources(node), f"input {node} receives a chain connection (an input has none)")
        for node in nodes - set(self.inputs):
            require(bool(self.chain_sources(node)), f"{node} receives no chain connection and is not an input")
        for node in nodes - {self.output}:
            require(nx.has_path(chain, node, self.output), f"{node} reaches no output (no chain path to {self.output})")
        unknown = [node for node in self.failable if node not in nodes]
        require(not unknown, f"the failable order names unknown node(s) {', '.join(unknown)}")
        require(len(set(self.failable)) == len(self.failable), "the failable order names a node twice")
        require(self.output not in self.failable, f"{self.output} is the output and cannot fail")
        for skip in self.skips:
            self.bypassed_node(skip)  # raises if the skip does not jump over exactly one node
        require(len(set(self.skips)) == len(self.skips) and not set(self.skips) & set(self.chain),
                "a skip hyperconnection is named twice or is also a chain connection")

    @property
    def nodes(self) -> tuple[str, ...]:
        """All nodes in topological order of the chain (inputs first, output last)."""
        return tuple(nx.topological_sort(nx.DiGraph(self.chain)))

    def chain_sources(self, node: str) -> tuple[str, ...]:
        return tuple(source for source, target in self.chain if target == node)

    def active_skips(self, skip_mask: Sequence[bool] | None) -> tuple[Connection, ...]:
        """The skip hyperconnections switched on by `skip_mask` (bit order); None means all."""
        if skip_mask is None:
            return self.skips
        if len(skip_mask) != len(self.skips):
            raise ValueError(f"{self.name}: a skip configuration needs {len(self.skips)} bits "
                             f"({', '.join(f'{s}->{t}' for s, t in self.skips)}), got {len(skip_mask)}")
        return tuple(skip for skip, on in zip(self.skips, skip_mask) if on)

    def skip_mask_of(self, has_skips: bool, skip_mask: Sequence[bool] | None) -> Sequence[bool] | None:
        """The skip mask a model's graph has: `skip_mask` (None: every skip) for a kind with skip
        hyperconnections, none switched on for Vanilla."""
        return skip_mask if has_skips else (False,) * len(self.skips)

    def bypassed_node(self, skip: Connection) -> str:
        """The node a skip hyperconnection jumps over: source -> node -> target in the chain."""
        source, target = skip
        middle = [m for s, m in self.chain if s == source and (m, target) in self.chain]
        if len(middle) != 1:
            raise ValueError(f"{self.name}: skip {source}->{target} must jump over exactly one node "
                             f"({source} -> node -> {target} in the chain); {self.jumped(skip, middle)}")
        return middle[0]

    def jumped(self, skip: Connection, middle: Sequence[str]) -> str:
        """What a skip that does not jump over exactly one node jumps over instead, in words."""
        source, target = skip
        if middle:
            return f"it jumps over {' or '.join(middle)} (two chain paths)"
        chain = nx.DiGraph(self.chain)
        if source in chain and target in chain and nx.has_path(chain, source, target):
            paths = [" -> ".join(path) for path in nx.all_simple_paths(chain, source, target)]
            if any(len(path.split(" -> ")) == 2 for path in paths):
                return f"{source} -> {target} is already a chain connection"
            return f"it jumps over several nodes: {'; '.join(paths)}"
        return f"the chain has no path from {source} to {target}"

    def senders(self, skip_mask: Sequence[bool] | None = None) -> dict[str, tuple[str, ...]]:
        """The nodes whose outputs arrive at each node: chain sources, then sources of active skips."""
        skips = self.active_skips(skip_mask)
        return {node: self.chain_sources(node) + tuple(s for s, t in skips if t == node) for node in self.nodes}

    def connections(self, skip_mask: Sequence[bool] | None = None) -> tuple[Connection, ...]:
        """Chain connections plus the active skip hyperconnections."""
        return self.chain + self.active_skips(skip_mask)

    def graph(self, skip_mask: Sequence[bool] | None = None) -> nx.DiGraph:
        return nx.DiGraph(self.connections(skip_mask))

    def has_path(self, alive: Sequence[bool], skip_mask: Sequence[bool] | None = None) -> bool:
        """Whether some input still reaches the output when the nodes flagged dead are removed (a search from the
        alive inputs along the connections between alive nodes: evaluation asks it of every combination)."""
        dead = {node for node, up in zip(self.failable, alive, strict=True) if not up}
        successors = defaultdict(list)
        for source, target in self.connections(skip_mask):
            if source not in dead and target not in dead:
                successors[source].append(target)
        frontier = [node for node in self.inputs if node not in dead]
        reached = set(frontier)
        while frontier:
            for target in successors[frontier.pop()]:
                if target not in reached:
                    reached.add(target)
                    frontier.append(target)
        return self.output in reached

    def failure_combinations(self) -> list[tuple[bool, ...]]:
        """All 2^n alive flags of the failable nodes, from all dead to all alive."""
        return list(itertools.product((False, True), repeat=len(self.failable)))

    def describe(self, alive: Sequence[bool]) -> str:
        return " ".join(f"{node}={'up' if up else 'DOWN'}" for node, up in zip(self.failable, alive))

    def connection_weights(self, scheme: int, reliability: Sequence[float] | None = None,
                           skip_mask: Sequence[bool] | None = None,
                           rng: np.random.Generator | None = None) -> dict[Connection, float]:
        """Weight of every connection (chain and active skips) under a weight scheme. Scheme 2: a connection u->v weighs
        r_u / sum of r_s over every source s feeding v. Scheme 3: it weighs r_u. Nodes that never fail have r = 1.
        Schemes 4 and 5 draw uniformly from [0, 1] and [0, 10] with `rng`."""
        connections = self.connections(skip_mask)
        if scheme == 1:
            return {c: 1.0 for c in connections}
        if scheme in RELIABILITY_DEPENDENT_SCHEMES:
            if reliability is None or len(reliability) != len(self.failable):
                raise ValueError(f"{self.name}: a reliability setting needs one value per failable node "
                                 f"{list(self.failable)}, got {reliability}")
            r = {node: 1.0 for node in self.nodes} | dict(zip(self.failable, (float(v) for v in reliability)))
            if scheme == 3:
                return {(u, v): r[u] for u, v in connections}
            incoming = {v: sum(r[s] for s, t in connections if t == v) for _, v in connections}
            return {(u, v): r[u] / incoming[v] for u, v in connections}
        if scheme in (4, 5):
            if rng is None:
                raise ValueError(f"weight scheme {scheme} is random and needs an rng")
            return {c: float(rng.uniform(0.0, 1.0 if scheme == 4 else 10.0)) for c in connections}
        raise ValueError(f"unknown weight scheme {scheme}; known: {sorted(WEIGHT_SCHEMES)}")


def combination_probability(alive: Sequence[bool], reliability: Sequence[float]) -> float:
    """Probability of one alive/dead combination when each node lives with its own probability."""
    return math.prod(r if up else 1.0 - r for up, r in zip(alive, reliability, strict=True))


def combination_probabilities(combinations: Sequence[Sequence[bool]], reliability: Sequence[float]) -> np.ndarray:
    """Probability of each alive/dead combination under a reliability setting, normalised to 1."""
    probabilities = np.array([combination_probability(alive, reliability) for alive in combinations])
    return probabilities / probabilities.sum()


def expected_value(probabilities: Iterable[float], scores: Iterable[float]) -> float:
    """Sum of probability x score over the combinations, exactly rounded (`math.fsum`): the same bits on every
    machine and in any order, where `np.dot` sums in an order that depends on the CPU's BLAS kernel."""
    return math.fsum(p * s for p, s in zip(probabilities, scores, strict=True))
