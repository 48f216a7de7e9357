"""Benchmark of CNN training on this machine: how close MobileNet v1 and ResNet-18 come to the CPU's
float32 peak, and what the levers give.

Measured in this one run, on generated CIFAR-sized images (32x32x3, 10 classes), batch 128, the
paper's architectures (MobileNet alpha 0.75, augmentation on, partition setting 1):
- the float32 matmul peak of this machine (the fastest of several 2048x2048 matmuls, TensorFlow);
- the FLOPs of one training image, counted from the layers' shapes (convolutions, depthwise
  convolutions and dense layers; multiply and add count 2; training = 3 x the forward pass);
- per network, kind and lever: images/s (the fastest of `--repeats` epochs after a warm-up, the
  levers alternating), the achieved GFLOP/s and its fraction of the peak. Levers: `default` (what
  the scripts do), `xla` (`jit_compile=True`); more with `--levers`.

    python bench/bench_cnn_training.py [--samples=512 --repeats=3 --networks=mobilenet,resnet]
"""
import sys
import time
from pathlib import Path

import keras
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Experiment"))
from cnn_Vanilla_MobileNet import build_mobilenet_model  # noqa: E402
from cnn_Vanilla_ResNet import build_resnet_model  # noqa: E402

from resilinet.cli.parser import parse_flags  # noqa: E402
from resilinet.core.kinds import ModelKind  # noqa: E402
from resilinet.runs.training import LEARNING_RATE  # noqa: E402

DEFAULTS = {"samples": 512, "repeats": 3, "batch_size": 128, "networks": ("mobilenet", "resnet"),
            "kinds": ("Vanilla", "DFG", "ResiliNet"), "levers": ("default", "xla")}
KINDS = {kind.value: kind for kind in ModelKind}


def matmul_peak(size: int = 2048, repeats: int = 10) -> float:
    """GFLOP/s of the fastest float32 size x size matmul (TensorFlow's kernel, every core)."""
    import tensorflow as tf

    a = tf.random.uniform((size, size))
    b = tf.random.uniform((size, size))
    (a @ b).numpy()
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        (a @ b).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def forward_flops(model: keras.Model) -> float:
    """Multiply-adds x 2 of one image through the model's convolutions and dense layers."""
    total = 0.0
    for layer in model.layers:
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.Dense)):
            out = layer.output.shape
            kernel = layer.kernel.shape
            if isinstance(layer, keras.layers.Dense):
                total += 2 * kernel[0] * kernel[1]
            else:  # (kh, kw, in, out) or, depthwise, (kh, kw, in, multiplier): one product per kernel entry
                total += 2 * out[1] * out[2] * kernel[0] * kernel[1] * kernel[2] * kernel[3]
    return total


def build(network: str, kind: ModelKind, lever: str) -> keras.Model:
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    if network == "mobilenet":
        model = build_mobilenet_model(kind, 1, alpha=0.75, augment=True)
    else:
        model = build_resnet_model(kind, 1, augment=True)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=LEARNING_RATE),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile=lever == "xla")
    return model


def epoch_seconds(model, x, y, batch_size) -> float:
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
    return time.perf_counter() - start


def main(argv):
    config = parse_flags(DEFAULTS, argv, __doc__, "bench/bench_cnn_training.py")
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(config.samples, 32, 32, 3)).astype("float32")
    y = rng.integers(0, 10, size=config.samples)
    peak = matmul_peak()
    print(f"backend {keras.backend.backend()}; float32 matmul peak {peak:.0f} GFLOP/s (2048x2048)")
    print(f"{'network':<10} {'kind':<10} {'lever':<8} {'GFLOP/image':>11} {'images/s':>9} {'GFLOP/s':>8} {'of peak':>8}")
    for network in config.networks:
        models, flops = {}, {}
        for kind in config.kinds:
            for lever in config.levers:
                model = build(network, KINDS[kind], lever)
                flops[kind] = 3 * forward_flops(model)
                epoch_seconds(model, x, y, config.batch_size)  # warm-up: traces (and compiles) the step
                models[kind, lever] = model
        best = {key: np.inf for key in models}
        for _ in range(config.repeats):
            for key, model in models.items():
                best[key] = min(best[key], epoch_seconds(model, x, y, config.batch_size))
        for (kind, lever), seconds in best.items():
            rate = config.samples / seconds
            achieved = rate * flops[kind] / 1e9
            print(f"{network:<10} {kind:<10} {lever:<8} {flops[kind] / 1e9:>11.3f} {rate:>9.1f} {achieved:>8.1f} "
                  f"{achieved / peak:>8.1%}")
        for lever in config.levers:
            vanilla = config.samples / best["Vanilla", lever] if ("Vanilla", lever) in best else None
            for kind in config.kinds:
                if kind != "Vanilla" and vanilla:
                    print(f"{network} {lever}: {kind} / Vanilla images/s = "
                          f"{config.samples / best[kind, lever] / vanilla:.2f} (target >= 0.95)")


if __name__ == "__main__":
    main(sys.argv[1:])
