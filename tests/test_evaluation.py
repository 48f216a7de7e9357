"""Evaluation: per-combination scores, random guessing, expected accuracy, mean and std."""
import mlp_Vanilla_health
import numpy as np
import pytest

from resilinet.core.builder import ModelKind
from resilinet.core.evaluation import (
    CombinationResult,
    Scoring,
    evaluate_combinations,
    expected_score,
    random_guess_score,
    score,
)
from resilinet.core.paper_topologies import HEALTH
from resilinet.core.splits import Split
from resilinet.runs.results import mean_and_std

pytestmark = pytest.mark.backend  # run on every Keras backend (tests/test_backends.py)


def test_expected_score_by_hand():
    combinations = HEALTH.failure_combinations()
    results = [CombinationResult(a, False, 1.0 if all(a) else 0.0) for a in combinations]
    assert expected_score(results, (0.9, 0.8, 0.7)) == pytest.approx(0.504)
    scores = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    results = [CombinationResult(a, False, s) for a, s in zip(combinations, scores)]
    assert expected_score(results, (0.5, 0.5, 0.5)) == pytest.approx(0.45)
    # fog1 always alive, fog2 and edge fair coins: mean of the last four scores
    assert expected_score(results, (1.0, 0.5, 0.5)) == pytest.approx(0.65)


def test_random_guess_returns_labels_not_positions():
    train = np.array([5] * 90 + [9] * 10)
    test = np.array([5] * 1000)
    # guesses are label 5 with probability 0.9: positions 0/1 would never match
    assert random_guess_score(train, test, "accuracy", seed=0) == pytest.approx(0.9, abs=0.03)
    assert random_guess_score(train, test, "accuracy", seed=0) == random_guess_score(train, test, "accuracy", 0)


def test_micro_f1_equals_accuracy():
    y_true = np.array([0, 1, 2, 2, 1])
    y_pred = np.array([0, 2, 2, 2, 0])
    assert score("micro_f1", y_true, y_pred) == pytest.approx(score("accuracy", y_true, y_pred)) == 0.6


def test_mean_and_sample_std():
    mean, std = mean_and_std([0.8, 0.9, 1.0])
    assert mean == pytest.approx(0.9) and std == pytest.approx(0.1)
    assert mean_and_std([0.7]) == (0.7, None)


def test_evaluate_combinations_is_pure_and_uses_no_path_score():
    model = mlp_Vanilla_health.build_health_model(ModelKind.VANILLA)
    x = np.random.default_rng(0).normal(size=(50, 23)).astype("float32")
    y = np.random.default_rng(1).integers(1, 13, size=50)
    test = Split(x.copy(), y.copy())
    weights_before = [w.copy() for w in model.get_weights()]
    results = evaluate_combinations(model, HEALTH, (False,) * 3, Scoring(test, "accuracy", no_path_score=-1.0,
                                                                         batch_size=16))
    assert [r.no_path for r in results] == [True] * 7 + [False]
    assert [r.score for r in results[:7]] == [-1.0] * 7
    np.testing.assert_array_equal(test.x, x)
    np.testing.assert_array_equal(test.y, y)
    for before, after in zip(weights_before, model.get_weights()):
        np.testing.assert_array_equal(before, after)
    assert all(float(model.get_layer(f"{n}_gate").alive.numpy()) == 1.0 for n in HEALTH.failable)


def test_a_dead_sensing_device_sends_zeros_whole_model_and_node_by_node():
    """An input listed as failable is gated like any node: with sensor s1 dead the model answers exactly as
    with all alive and s1's data replaced by zeros (its node has no layers of its own, so its output is its data)."""
    import keras

    from resilinet.core.builder import build_model, set_alive
    from resilinet.core.topology import Topology
    from resilinet.networks.stacks import LayerStacks

    topology = Topology("sensors", ("s1", "s2"), (("s1", "edge"), ("s2", "edge"), ("edge", "cloud")), (),
                        ("s1", "s2", "edge"))
    keras.utils.set_random_seed(3)
    stacks = LayerStacks({"s1": (5,), "s2": (5,)},
                         {"edge": lambda: [keras.layers.Dense(8, activation="relu")],
                          "cloud": lambda: [keras.layers.Dense(4, activation="softmax")]})
    model = build_model(topology, stacks, ModelKind.VANILLA)
    x1, x2 = (np.random.default_rng(seed).normal(size=(64, 5)).astype("float32") for seed in (1, 2))
    zeros_for_s1 = np.asarray(model.predict_on_batch([np.zeros_like(x1), x2]))
    set_alive(model, topology, (False, True, True))
    np.testing.assert_array_equal(np.asarray(model.predict_on_batch([x1, x2])), zeros_for_s1)
    set_alive(model, topology, (True, True, True))
    test = Split([x1, x2], np.random.default_rng(0).integers(0, 4, size=64))
    whole, by_node = (evaluate_combinations(model, topology, None, Scoring(test, "accuracy", 0.25, 16),
                                            node_by_node=flag)
                      for flag in (False, True))
    assert whole == by_node
    assert [r.no_path for r in whole] == [not ((s1 or s2) and edge) for s1, s2, edge in topology.failure_combinations()]
