"""Benchmark of the CIFAR-10 MobileNet v1: what skip hyperconnections, multiplexers and failout cost.

Prints, measured in this one run, the training throughput (images/s) of ResiliNet MobileNet and of
the equivalent Vanilla MobileNet (same blocks, same partition, same augmentation) on the same
batches, and their ratio (target >= 0.85). Tracing is excluded: each model first trains one
warm-up epoch; then the two models alternate epochs and each one's fastest epoch counts, so that
load from other processes does not land on one side only.

    python bench/bench_cifar.py [--samples=512 --batch_size=128 --repeats=5 --alpha=0.75]
"""
import sys
import time
from pathlib import Path

import keras
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Experiment"))
from cnn_Vanilla_MobileNet import build_mobilenet_model  # noqa: E402

from resilinet.cli.parser import parse_flags  # noqa: E402
from resilinet.core.builder import ModelKind  # noqa: E402
from resilinet.runs.training import compile_model  # noqa: E402

DEFAULTS = {"samples": 512, "batch_size": 128, "repeats": 5, "alpha": 0.75, "augment": True,
            "partition_setting": 1}


def epoch_time(model, x, y, batch_size) -> float:
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
    return time.perf_counter() - start


def main(argv):
    config = parse_flags(DEFAULTS, argv, __doc__, "bench/bench_cifar.py")
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(config.samples, 32, 32, 3)).astype("float32")
    y = rng.integers(0, 10, size=config.samples)
    print(f"backend {keras.backend.backend()}, MobileNet v1 alpha {config.alpha}, partition setting "
          f"{config.partition_setting}, augmentation {'on' if config.augment else 'off'}, "
          f"{config.samples} images, batch {config.batch_size}")
    models = {}
    for kind in (ModelKind.VANILLA, ModelKind.RESILINET):
        keras.utils.set_random_seed(0)
        model = build_mobilenet_model(kind, config.partition_setting, alpha=config.alpha, augment=config.augment)
        compile_model(model)
        epoch_time(model, x, y, config.batch_size)  # warm-up: traces the training step
        models[kind] = model
    best = {kind: np.inf for kind in models}
    for _ in range(config.repeats):
        for kind, model in models.items():
            best[kind] = min(best[kind], epoch_time(model, x, y, config.batch_size))
    vanilla, resilinet = (config.samples / best[kind] for kind in (ModelKind.VANILLA, ModelKind.RESILINET))
    print(f"training: Vanilla MobileNet {vanilla:,.1f} images/s, ResiliNet MobileNet {resilinet:,.1f} images/s, "
          f"ratio ResiliNet/Vanilla {resilinet / vanilla:.2f} (target >= 0.85)")


if __name__ == "__main__":
    main(sys.argv[1:])
