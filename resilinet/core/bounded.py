"""Expected scores of large topologies from the most probable failure combinations: most of the probability of the
2^n combinations sits on few of them, so they are enumerated from the most probable down until the probability left
is at most `mass_left`; a score lies in [0, 1], so the expected score is in [covered sum, covered sum + mass left]."""
from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from resilinet.core.topology import combination_probability, expected_value


def most_probable_first(reliability: Sequence[float]) -> Iterator[tuple[tuple[bool, ...], float]]:
    """Every combination with its probability, most probable first (ties in no fixed order).

    The most probable combination gives each node its likelier state; flipping node i multiplies
    the probability by its ratio q_i <= 1. With the nodes sorted by ratio, largest first, a set of
    flips whose last node is j has two successors, "add j+1" and "move j to j+1"; neither is more
    probable than its parent, and every set is reached exactly once, so a heap yields them in order.
    """
    likelier = [r >= 0.5 for r in reliability]
    ratio = [(1.0 - r) / r if up else r / (1.0 - r) for r, up in zip(reliability, likelier)]
    order = sorted(range(len(reliability)), key=lambda i: -ratio[i])
    top = combination_probability(likelier, reliability)
    heap = [(-top, ())]
    while heap:
        negative, flips = heapq.heappop(heap)
        flipped = {order[k] for k in flips}
        yield tuple(up != (i in flipped) for i, up in enumerate(likelier)), -negative
        last = flips[-1] if flips else -1
        if last + 1 < len(order):
            for successor in (flips + (last + 1,), flips[:-1] + (last + 1,)) if flips else ((0,),):
                heapq.heappush(heap, (-(top * math.prod(ratio[order[k]] for k in successor)), successor))


def covering_combinations(reliability: Sequence[float], mass_left: float) -> Iterator[tuple[bool, ...]]:
    """The most probable combinations under one reliability setting, most probable first, down to where the
    probability not covered is at most `mass_left`."""
    covered = 0.0
    for alive, probability in most_probable_first(reliability):
        if 1.0 - covered <= mass_left or probability == 0.0:
            return
        yield alive
        covered += probability


def enough_combinations(settings: Iterable[Sequence[float]], mass_left: float) -> list[tuple[bool, ...]]:
    """`covering_combinations` of each reliability setting, all of them together, in the order of
    `Topology.failure_combinations`."""
    return sorted({alive for reliability in settings for alive in covering_combinations(reliability, mass_left)})


@dataclass(frozen=True)
class Bounds:
    """An expected score known to lie in [low, high]: `mass_left` of the probability was not evaluated."""

    low: float
    high: float
    mass_left: float

    @property
    def middle(self) -> float:
        return (self.low + self.high) / 2


def expected_bounds(scores: Mapping[tuple[bool, ...], float], reliability: Sequence[float]) -> Bounds:
    """Bounds of the expected score from the scores (each in [0, 1]) of some of the combinations."""
    probabilities = {alive: combination_probability(alive, reliability) for alive in scores}
    low = expected_value((probabilities[alive] for alive in scores), scores.values())
    mass_left = max(0.0, 1.0 - sum(probabilities.values()))
    return Bounds(low, min(1.0, low + mass_left), mass_left)
