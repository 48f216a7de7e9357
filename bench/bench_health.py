"""Benchmark of the health models: what failout, multiplexers and failure gates cost.

Prints, measured in this one run:
  (a) training throughput of ResiliNet vs DFG with the same layers (target ratio >= 0.9);
  (b) time to evaluate all 8 failure combinations through the failure gates vs 8 plain
      `predict` calls on the same test set (target <= 1.2x).

    python bench/bench_health.py [--samples=200000 --test_samples=34000 --epochs=4]
"""
import sys
import time
from pathlib import Path

import keras
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Experiment"))
from mlp_Vanilla_health import build_health_model  # noqa: E402

from resilinet.cli.parser import parse_flags  # noqa: E402
from resilinet.core.builder import ModelKind, set_alive  # noqa: E402
from resilinet.core.evaluation import Scoring, evaluate_combinations  # noqa: E402
from resilinet.core.paper_topologies import HEALTH  # noqa: E402
from resilinet.core.splits import Split  # noqa: E402
from resilinet.runs.training import compile_model  # noqa: E402

DEFAULTS = {"samples": 200_000, "test_samples": 34_000, "epochs": 4, "batch_size": 1024, "repeats": 5}


def training_throughputs(kinds, x, y, config) -> dict:
    """Samples per second of each kind: one warm-up epoch each (tracing), then epochs alternating
    between the kinds, so that load from other processes does not land on one kind only; the
    best epoch of each counts."""
    models = {}
    for kind in kinds:
        keras.utils.set_random_seed(0)
        models[kind] = build_health_model(kind)
        compile_model(models[kind])
        models[kind].fit(x, y, batch_size=config.batch_size, epochs=1, verbose=0)
    best = {kind: float("inf") for kind in kinds}
    for _ in range(config.epochs):
        for kind, model in models.items():
            best[kind] = min(best[kind], timed(
                lambda model=model: model.fit(x, y, batch_size=config.batch_size, epochs=1, verbose=0)))
    return {kind: len(x) / seconds for kind, seconds in best.items()}


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main(argv):
    config = parse_flags(DEFAULTS, argv, __doc__, "bench/bench_health.py")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(config.samples, 23)).astype("float32")
    y = rng.integers(1, 13, size=config.samples)
    print(f"backend {keras.backend.backend()}, {config.samples} training samples, batch {config.batch_size}")

    rates = training_throughputs((ModelKind.DFG, ModelKind.RESILINET), x, y, config)
    dfg, resilinet_rate = rates[ModelKind.DFG], rates[ModelKind.RESILINET]
    print(f"(a) training: DFG {dfg:,.0f} samples/s, ResiliNet {resilinet_rate:,.0f} samples/s, "
          f"ratio ResiliNet/DFG {resilinet_rate / dfg:.2f} (target >= 0.9)")

    model = build_health_model(ModelKind.RESILINET)
    x_test = x[: config.test_samples]
    test = Split(x_test, y[: config.test_samples])
    combinations = HEALTH.failure_combinations()

    def predict():
        start = time.perf_counter()
        model.predict(x_test, batch_size=config.batch_size, verbose=0)
        return time.perf_counter() - start

    predict()  # warm-up: traces the predict function once
    # Plain and gated calls alternate, and each call's best time over the repeats counts, so that
    # load from other processes on the machine does not land on one side only.
    plain_calls = np.full(len(combinations), np.inf)
    gated_calls = np.full(len(combinations), np.inf)
    for _ in range(config.repeats):
        for i, alive in enumerate(combinations):
            set_alive(model, HEALTH, [True] * len(HEALTH.failable))
            plain_calls[i] = min(plain_calls[i], predict())
            set_alive(model, HEALTH, alive)
            gated_calls[i] = min(gated_calls[i], predict())
    set_alive(model, HEALTH, [True] * len(HEALTH.failable))
    evaluator_time = min(
        timed(lambda: evaluate_combinations(model, HEALTH, (True,) * 3, Scoring(test, "accuracy", 0.0,
                                                                                   config.batch_size)))
        for _ in range(config.repeats))
    plain_time, gated_time = plain_calls.sum(), gated_calls.sum()
    print(f"(b) 8 combinations on {config.test_samples} test samples: 8 plain predicts {plain_time:.2f} s, "
          f"8 gated predicts {gated_time:.2f} s (ratio {gated_time / plain_time:.2f}, target <= 1.2); "
          f"evaluate_combinations {evaluator_time:.2f} s (ratio {evaluator_time / plain_time:.2f}; it skips the "
          f"{sum(not HEALTH.has_path(a) for a in combinations)} no-path combinations)")


if __name__ == "__main__":
    main(sys.argv[1:])
