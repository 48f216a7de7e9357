"""Failure models: a probability for every alive/dead combination of a network's failable nodes.

The paper assumes each node fails on its own with a fixed probability (`Independent`). Deployments also fail
together (`SharedDomains`: a power feed, a rack or a gateway takes a group of nodes down at once) and record
their failures as time intervals (`OutageTrace`: the probability of a combination is the fraction of the
observation window during which exactly those nodes were down). Every model gives exact probabilities
(`probabilities`) and draws combinations without enumerating them (`draw`), for networks with too many
combinations to evaluate. A node a model does not name never fails under it. Reading them from files:
`resilinet.core.failure_files`.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from resilinet.core.topology import combination_probabilities, expected_value

Combination = tuple[bool, ...]


@dataclass(frozen=True)
class Independent:
    """Each node is alive with its own probability (`survival`), independently of the others: the paper's
    reliability settings."""

    survival: dict[str, float]

    def probabilities(self, nodes: Sequence[str], combinations: Sequence[Combination]) -> np.ndarray:
        return combination_probabilities(combinations, [self.survival.get(node, 1.0) for node in nodes])

    def draw(self, nodes: Sequence[str], count: int, rng: np.random.Generator) -> np.ndarray:
        survival = np.array([self.survival.get(node, 1.0) for node in nodes])
        return rng.random((count, len(nodes))) < survival


@dataclass(frozen=True)
class Domain:
    """A group of nodes that goes down as a whole with probability `down` (a power feed, a rack, a gateway)."""

    name: str
    nodes: tuple[str, ...]
    down: float


@dataclass(frozen=True)
class SharedDomains:
    """Each node fails on its own (`survival`), and each failure domain takes all of its nodes down with its
    own probability, independently of the nodes and of the other domains. A node is alive when it survives
    and none of its domains is down."""

    survival: dict[str, float]
    domains: tuple[Domain, ...]

    def probabilities(self, nodes: Sequence[str], combinations: Sequence[Combination]) -> np.ndarray:
        """Exact: the sum, over the 2^d up/down states of the d domains, of the probability of that state times
        the probability that the nodes outside the downed domains are alive or dead as the combination says
        (zero when it says a node of a downed domain is alive)."""
        alive = np.asarray(combinations, dtype=bool).reshape(len(combinations), len(nodes))
        survival = np.array([self.survival.get(node, 1.0) for node in nodes])
        own = np.where(alive, survival, 1.0 - survival)  # per combination and node
        members = [np.isin(nodes, domain.nodes) for domain in self.domains]
        total = np.zeros(len(combinations))
        for state in itertools.product((False, True), repeat=len(self.domains)):
            weight = math.prod(d.down if down else 1.0 - d.down for d, down in zip(self.domains, state))
            covered = np.zeros(len(nodes), dtype=bool)
            for down, member in zip(state, members):
                if down:
                    covered |= member
            possible = ~alive[:, covered].any(axis=1)
            total += weight * possible * own[:, ~covered].prod(axis=1)
        return total

    def draw(self, nodes: Sequence[str], count: int, rng: np.random.Generator) -> np.ndarray:
        alive = Independent(self.survival).draw(nodes, count, rng)
        for domain in self.domains:
            down = rng.random(count) < domain.down
            alive[np.ix_(down, np.isin(nodes, domain.nodes))] = False
        return alive


@dataclass(frozen=True)
class Outage:
    node: str
    start: float  # seconds
    end: float


@dataclass(frozen=True)
class OutageTrace:
    """Outages recorded as intervals over an observation window [start, end) (seconds); each outage lies in it."""

    start: float
    end: float
    outages: tuple[Outage, ...]

    def segments(self, nodes: Sequence[str]) -> list[tuple[float, float, Combination]]:
        """The window cut where any node goes down or comes back: (from, until, alive flags of `nodes`)."""
        cuts = sorted({self.start, self.end, *(o.start for o in self.outages), *(o.end for o in self.outages)})
        segments = []
        for start, end in itertools.pairwise(cuts):
            down = {o.node for o in self.outages if o.start <= start and end <= o.end}
            segments.append((start, end, tuple(node not in down for node in nodes)))
        return segments

    def probabilities(self, nodes: Sequence[str], combinations: Sequence[Combination]) -> np.ndarray:
        time_in = dict.fromkeys(map(tuple, combinations), 0.0)
        for start, end, alive in self.segments(nodes):
            time_in[alive] += end - start
        return np.array([time_in[tuple(c)] for c in combinations]) / (self.end - self.start)

    def draw(self, nodes: Sequence[str], count: int, rng: np.random.Generator) -> np.ndarray:
        """The combinations in force at `count` moments drawn uniformly over the window."""
        return self.alive_at(nodes, rng.uniform(self.start, self.end, size=count))

    def alive_at(self, nodes: Sequence[str], moments: np.ndarray) -> np.ndarray:
        """The combination in force at each of `moments` (seconds in the window), one row each."""
        segments = self.segments(nodes)
        ends = np.array([end for _, end, _ in segments])
        index = np.minimum(np.searchsorted(ends, moments, side="right"), len(segments) - 1)
        return np.array([segments[i][2] for i in index], dtype=bool).reshape(len(moments), len(nodes))


FailureModel = Independent | SharedDomains | OutageTrace


def describe(model: FailureModel, nodes: Sequence[str]) -> str:
    """The failure model in words, naming the nodes that never fail under it."""
    if isinstance(model, OutageTrace):
        named = {o.node for o in model.outages}
        words = (f"an outage trace over {(model.end - model.start) / 3600:.4g} h with {len(model.outages)} "
                 f"outage(s)")
    else:
        domains = model.domains if isinstance(model, SharedDomains) else ()
        named = set(model.survival) | {node for domain in domains for node in domain.nodes}
        words = "independent failures" if isinstance(model, Independent) else "shared failure domains: " + "; ".join(
            f"{d.name} ({', '.join(d.nodes)}) down with probability {d.down:g}" for d in domains)
    never = [node for node in nodes if node not in named]
    return words + (f"; never failing: {', '.join(never)}" if never else "")


def window_states(model: FailureModel, nodes: Sequence[str], windows: int, rng: np.random.Generator) -> np.ndarray:
    """Which of `nodes` are alive in each of `windows` consecutive stretches of time, one row each: drawn from
    `model` independently per stretch, or, for an outage trace, replayed in time order (stretch k at the middle of
    its k-th share of the observation window)."""
    if isinstance(model, OutageTrace):
        return model.alive_at(nodes, model.start + (np.arange(windows) + 0.5) * (model.end - model.start) / windows)
    return model.draw(nodes, windows, rng)


def expected_score(model: FailureModel, nodes: Sequence[str], combinations: Sequence[Combination],
                   scores: Sequence[float]) -> float:
    """Sum over every combination of its probability under `model` times its score."""
    return expected_value(model.probabilities(nodes, combinations), scores)


@dataclass(frozen=True)
class Estimate:
    """An expected score estimated from `draws` combinations drawn from a failure model, of which `evaluated`
    were distinct (each scored once), with its 95% confidence interval [low, high]."""

    mean: float
    low: float
    high: float
    draws: int
    evaluated: int


def draw_combinations(model: FailureModel, nodes: Sequence[str], draws: int,
                      rng: np.random.Generator) -> list[Combination]:
    """`draws` combinations drawn from `model`, for a sampled estimate (`estimate_from`)."""
    if draws < 2:
        raise ValueError(f"a sampled estimate needs at least 2 draws, got {draws}")
    return [tuple(bool(up) for up in row) for row in model.draw(nodes, draws, rng)]


def estimate_from(drawn: Sequence[Combination], scores: Mapping[Combination, float]) -> Estimate:
    """The expected score estimated as the mean score of the `drawn` combinations (each scored in `scores`), with
    its 95% interval: the mean ± 1.96 standard errors."""
    values = np.array([scores[combination] for combination in drawn], dtype=float)
    mean, half = float(values.mean()), 1.96 * float(values.std(ddof=1)) / math.sqrt(len(drawn))
    return Estimate(mean, mean - half, mean + half, len(drawn), len(set(drawn)))


def sampled_estimate(model: FailureModel, nodes: Sequence[str], score_of: Callable[[Combination], float],
                     draws: int, rng: np.random.Generator) -> Estimate:
    """Estimate the expected score under `model` from `draws` drawn combinations, calling `score_of` once per
    distinct combination drawn."""
    drawn = draw_combinations(model, nodes, draws, rng)
    return estimate_from(drawn, {combination: float(score_of(combination)) for combination in dict.fromkeys(drawn)})
