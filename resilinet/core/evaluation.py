"""Failure simulation and expected accuracy under reliability settings."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import keras
import numpy as np
from sklearn.metrics import f1_score

from resilinet.core.builder import set_alive
from resilinet.core.safe_points import CtrlCBetweenBatches
from resilinet.core.shared_outputs import NodeByNode, predict_on_batches
from resilinet.core.splits import Split
from resilinet.core.topology import Topology, combination_probabilities, expected_value

T = TypeVar("T")


def score(metric: str, y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Accuracy, or micro-averaged F1 (which equals accuracy for single-label classes)."""
    if metric == "accuracy":
        return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))
    if metric == "micro_f1":
        return float(f1_score(y_true, y_pred, average="micro"))
    raise ValueError(f"unknown metric {metric!r}")


NO_PATH_GUESSES = ("expected", "draw")


def class_frequencies(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct labels, sorted, and the fraction of `labels` that each makes up."""
    classes, counts = np.unique(np.asarray(labels).ravel(), return_counts=True)
    return classes, counts / counts.sum()


def expected_guess_score(train_labels: np.ndarray, test_labels: np.ndarray) -> float:
    """Exact expected accuracy (= micro-F1) of guessing each test label at random with the training
    set's class frequencies: the sum over labels of p_train(label) x p_test(label)."""
    p_train = dict(zip(*class_frequencies(train_labels)))
    return float(sum(p_train.get(c, 0.0) * p for c, p in zip(*class_frequencies(test_labels))))


def no_path_guess_score(train_labels: np.ndarray, test_labels: np.ndarray, metric: str, guess: str,
                        seed: int) -> float:
    """Score of a network that cannot answer: the exact expectation of guessing by the training
    frequencies (`guess="expected"`), or one seeded draw of such guesses as the original did (`guess="draw"`)."""
    if guess not in NO_PATH_GUESSES:
        raise ValueError(f"no-path guess must be one of {NO_PATH_GUESSES}, got {guess!r}")
    if guess == "expected":
        return expected_guess_score(train_labels, test_labels)
    return random_guess_score(train_labels, test_labels, metric, seed)


def random_guess_score(train_labels: np.ndarray, test_labels: np.ndarray, metric: str, seed: int) -> float:
    """Score of guessing each test label at random with the training set's class frequencies; the guesses are
    class labels (not class positions), so labels need not be 0..K-1."""
    classes, p_train = class_frequencies(train_labels)
    guesses = np.random.default_rng(seed).choice(classes, size=len(test_labels), p=p_train)
    return score(metric, np.asarray(test_labels).ravel(), guesses)


def replicas(model: keras.Model) -> int:
    """The replicas of the `tf.distribute` strategy `model` was built under (1 without one)."""
    strategy = getattr(model, "distribute_strategy", None)  # TensorFlow backend only
    return 1 if strategy is None else strategy.num_replicas_in_sync


def predict(model: keras.Model, split: Split, batch_size: int) -> np.ndarray:
    """Class probabilities for a split; in-memory data goes batch by batch through `predict_on_batch`, which skips
    `predict`'s per-call set-up (it dominates on small test sets). A model built under a `tf.distribute` strategy with
    several replicas goes through `predict`: its `predict_on_batch` runs the whole batch on every replica and returns
    every copy."""
    if split.is_streamed:
        return model.predict(split.x, verbose=0, callbacks=[CtrlCBetweenBatches()])
    if replicas(model) > 1:
        return model.predict(split.x, batch_size=batch_size, verbose=0, callbacks=[CtrlCBetweenBatches()])
    return predict_on_batches(model, split.x if isinstance(split.x, (list, tuple)) else [split.x], batch_size)


@dataclass(frozen=True)
class CombinationResult:
    alive: tuple[bool, ...]
    no_path: bool
    score: float


def over_combinations(model: keras.Model, topology: Topology, skip_mask: Sequence[bool],
                      combinations: Iterable[tuple[bool, ...]],
                      evaluate: Callable[[tuple[bool, ...], bool], T]) -> list[T]:
    """`evaluate(alive, no_path)` for each alive/dead combination of the failable nodes, with the model's failure
    gates set to it (left as they were for a combination whose graph, with the model's own skip hyperconnections
    `skip_mask`, has no input-to-output path). The gates are all reset to alive afterwards."""
    results = []
    try:
        for alive in combinations:
            no_path = not topology.has_path(alive, skip_mask)
            if not no_path:
                set_alive(model, topology, alive)
            results.append(evaluate(alive, no_path))
    finally:
        set_alive(model, topology, [True] * len(topology.failable))
    return results


@dataclass(frozen=True)
class Scoring:
    """How a model is scored under one failure combination: its predictions on `test` (`batch_size` rows at a time)
    by `metric`, or `no_path_score` for a combination where no input reaches the output."""

    test: Split
    metric: str
    no_path_score: float
    batch_size: int


def evaluate_combinations(model: keras.Model, topology: Topology, skip_mask: Sequence[bool] | None, scoring: Scoring,
                          combinations: Iterable[tuple[bool, ...]] | None = None,
                          node_by_node: bool = False) -> list[CombinationResult]:
    """Score of `model` for every combination of the failable nodes (or for `combinations`), as `scoring` says; a
    combination with no input-to-output path scores `scoring.no_path_score` without running the model. Nothing of
    the test split is modified.

    With `node_by_node` (and the test set in memory, on one device), each node runs once per alive state of the nodes
    it depends on (`resilinet.core.shared_outputs`); otherwise the whole model runs once per combination, its failure
    gates set (the original's way). The class probabilities agree to the last bits of float32.
    """
    combinations = topology.failure_combinations() if combinations is None else list(combinations)
    test = scoring.test
    y_true = np.asarray(test.y).ravel()

    def scored(alive: tuple[bool, ...], probabilities: np.ndarray | None) -> CombinationResult:
        """The result of a combination from its class probabilities; None: it has no path."""
        if probabilities is None:
            return CombinationResult(alive, True, float(scoring.no_path_score))
        return CombinationResult(alive, False, score(scoring.metric, y_true, np.argmax(probabilities, axis=-1)))

    if node_by_node and not test.is_streamed and replicas(model) == 1:
        nodes = NodeByNode(model, topology, skip_mask, test, scoring.batch_size)
        with_path = sorted((a for a in combinations if topology.has_path(a, skip_mask)), key=nodes.upstream_first)
        results = {alive: scored(alive, p) for alive, p in zip(with_path, nodes.predict_each(with_path))}
        return [results[alive] if alive in results else scored(alive, None) for alive in combinations]
    return over_combinations(model, topology, skip_mask, combinations, lambda alive, no_path: scored(
        alive, None if no_path else predict(model, test, scoring.batch_size)))


def expected_score(results: Sequence[CombinationResult], reliability: Sequence[float]) -> float:
    """Sum over combinations of probability x score."""
    probabilities = combination_probabilities([r.alive for r in results], reliability)
    return expected_value(probabilities, [r.score for r in results])
