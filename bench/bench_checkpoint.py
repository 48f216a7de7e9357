"""Benchmark of training that survives a kill: what saving the epoch state costs, and what the
epoch-by-epoch loop costs against one `fit` call.

For camera ResiliNet (generated data of the real shapes: six 32x32 views, 1,110 training samples,
batch 64) and CIFAR-10 ResiliNet MobileNet (alpha 0.75, augmentation, `--samples` generated images,
batch 128), in this one run:
- the seconds of one epoch with its validation (the fastest of `--repeats`, after a warm-up;
  CIFAR's scaled to 48,000 images) and of one state save (the fastest of `--repeats`) and the state's size;
- the share of training time saving takes under the default policy (`--checkpoint_seconds=60`: about
  one save per max(epoch, 60 s)), and what a kill loses at most (max(epoch, 60 s));
- the epoch-by-epoch loop (`resilinet.runs.training.train`, no saves) against `model.fit(epochs=E)` on the
  same model and data, alternating, fastest of `--repeats`.

    python bench/bench_checkpoint.py [--samples=1024 --epochs=3 --repeats=3]
"""
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import keras
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Experiment"))
from camera_common import DATASET as CAMERA  # noqa: E402
from cifar_common import CIFAR_MOBILENET  # noqa: E402

from resilinet.cli.parser import parse_flags  # noqa: E402
from resilinet.core.kinds import ModelKind  # noqa: E402
from resilinet.core.splits import Data, Split  # noqa: E402
from resilinet.runs.training import TrainingPlan, compile_model, fingerprint_of, train  # noqa: E402
from resilinet.runs.training_state import TrainingState, save_state  # noqa: E402
from resilinet.runs.variants import average_accuracy_variants, model_options  # noqa: E402

DEFAULTS = {"samples": 1024, "epochs": 3, "repeats": 3}
FULL_CIFAR_TRAIN = 48_000
CHECKPOINT_SECONDS = 60.0


def generated(shapes, n, classes, rng):
    def split(m):
        x = [rng.uniform(size=(m, *s)).astype("float32") for s in shapes]
        return Split(x if len(x) > 1 else x[0], rng.integers(0, classes, m))
    return Data(split(n), split(max(64, n // 8)), split(64), classes)


def build(dataset):
    config = SimpleNamespace(**{**dataset.defaults, "seed": 0})
    variant = next(v for v in average_accuracy_variants(dataset, config) if v.kind is ModelKind.RESILINET)
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    model = dataset.build_model(variant.kind, config, model_options(dataset, variant, config, 1))
    compile_model(model)
    return model


def fastest(repeats, function):
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def measure(name, dataset, data, batch_size, config, scale):
    model = build(dataset)
    folder = Path(tempfile.mkdtemp())
    x, y = data.train.x, data.train.y
    fit = lambda epochs: model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=True,  # noqa: E731
                                   validation_data=(data.val.x, data.val.y), verbose=0)
    fit(1)  # warm-up: traces the training step
    epoch = fastest(config.repeats, lambda: fit(1)) * scale
    optimizer = [keras.ops.convert_to_numpy(v) for v in model.optimizer.variables]
    state = TrainingState(1, 0.5, 1, model.get_weights(), model.get_weights(), optimizer,
                          fingerprint_of(model, {"bench": name}))
    save = fastest(config.repeats, lambda: save_state(folder / "state.npz", state))
    size = (folder / "state.npz").stat().st_size
    share = save / max(epoch, CHECKPOINT_SECONDS)
    print(f"{name}: epoch {epoch:.1f} s, state {size / 2**20:.1f} MiB saved in {save:.2f} s: "
          f"{100 * share:.3f}% of training time (one save per max(epoch, 60 s)); a kill loses at most "
          f"{max(epoch, CHECKPOINT_SECONDS):.0f} s of training")

    counter = [0]

    def loop():
        counter[0] += 1
        train(model, data, TrainingPlan(epochs=config.epochs, batch_size=batch_size, seed=counter[0],
              state_path=folder / f"loop{counter[0]}.npz", log_path=folder / f"loop{counter[0]}.csv",
              identity={"bench": counter[0]}, verbose=0, checkpoint_seconds=np.inf))

    single, looped = np.inf, np.inf
    for _ in range(config.repeats):  # alternate, so that load from other processes lands on both
        single = min(single, fastest(1, lambda: fit(config.epochs)))
        looped = min(looped, fastest(1, loop))
    print(f"{name}: {config.epochs} epochs in one fit {single:.2f} s, epoch by epoch {looped:.2f} s: "
          f"ratio {single / looped:.3f} (throughput of the loop / one fit)")


def main(argv):
    config = parse_flags(DEFAULTS, argv, __doc__, "bench/bench_checkpoint.py")
    rng = np.random.default_rng(0)
    print(f"backend {keras.backend.backend()}")
    measure("camera ResiliNet", CAMERA, generated([(32, 32, 3)] * 6, 1110, 3, rng), 64, config, 1.0)
    measure("CIFAR MobileNet ResiliNet", CIFAR_MOBILENET, generated([(32, 32, 3)], config.samples, 10, rng), 128,
            config, FULL_CIFAR_TRAIN / config.samples)


if __name__ == "__main__":
    main(sys.argv[1:])
