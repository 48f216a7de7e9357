"""Bounded evaluation: combinations from the most probable down, and the interval they give."""
import itertools
import math

import numpy as np
import pytest

from resilinet.base.settings import Check
from resilinet.core.bounded import (
    enough_combinations,
    expected_bounds,
    most_probable_first,
)
from resilinet.runs.results import differing_keys

SETTINGS = [(0.9, 0.8, 0.99), (1.0, 0.5, 0.7), (0.3, 0.6, 0.0), (0.5, 0.5, 0.5), ()]


def probabilities_by_hand(reliability):
    return {alive: float(np.prod([r if up else 1 - r for up, r in zip(alive, reliability)]))
            for alive in itertools.product((False, True), repeat=len(reliability))}


@pytest.mark.parametrize("reliability", SETTINGS)
def test_every_combination_comes_once_most_probable_first(reliability):
    by_hand = probabilities_by_hand(reliability)
    seen = list(most_probable_first(reliability))
    assert sorted(alive for alive, _ in seen) == sorted(by_hand)
    assert all(p == pytest.approx(by_hand[alive], abs=1e-15) for alive, p in seen)
    assert [p for _, p in seen] == pytest.approx(sorted(by_hand.values(), reverse=True), abs=1e-15)


def test_enough_combinations_stop_at_the_mass_left():
    reliability = (0.9, 0.8, 0.99)
    # By hand: all up .7128, the second down .1782, the first down .0792, both .0198, the third .0072, ...
    assert enough_combinations([reliability], 0.1) == [(False, True, True), (True, False, True), (True, True, True)]
    assert enough_combinations([reliability], 0.3) == [(True, True, True)]
    assert enough_combinations([(1.0, 1.0)], 0.001) == [(True, True)]  # nothing else can happen
    union = enough_combinations([reliability, (0.1, 0.9, 0.9)], 0.3)
    assert union == sorted({(True, True, True), (False, True, True)})


def test_bounds_hold_the_exact_expected_score():
    rng = np.random.default_rng(0)
    reliability = (0.9, 0.7, 0.95, 0.6)
    probability = probabilities_by_hand(reliability)
    scores = {alive: float(rng.uniform()) for alive in probability}
    exact = math.fsum(probability[alive] * scores[alive] for alive in scores)  # exactly rounded, as expected_value
    for mass_left in (0.5, 0.1, 0.01, 1e-6):
        chosen = enough_combinations([reliability], mass_left)
        bounds = expected_bounds({alive: scores[alive] for alive in chosen}, reliability)
        assert bounds.mass_left <= mass_left
        assert bounds.low <= exact <= bounds.high
        assert bounds.high - bounds.low == pytest.approx(bounds.mass_left)
    assert expected_bounds(scores, reliability).low == pytest.approx(exact)


def test_runs_logged_before_the_evaluation_flags_still_match():
    logged = {"epochs": 3, "seed": 0}
    now = {**logged, "exact_max_nodes": 12, "mass_left": 0.001, "node_by_node": False, "mixed_precision": False}
    assert differing_keys(logged, now, "health_average_accuracy", Check.RESUME) == []
    assert differing_keys(logged, {**now, "mass_left": 0.01}, "health_average_accuracy", Check.RESUME) == ["mass_left"]
