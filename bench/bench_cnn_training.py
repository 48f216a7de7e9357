"""Benchmark of CNN training on this machine: how close MobileNet v1 and ResNet-18 come to the CPU's
peak, what bounds them, and what the levers give.

Measured in this one run, on generated CIFAR-sized images (32x32x3, 10 classes), batch 128, the
paper's architectures (MobileNet alpha 0.75, augmentation on, partition setting 1):
- the matmul peak of this machine: the fastest of several 2048x2048 matmuls (float32, and bfloat16
  for the `bfloat16` lever), through `keras.ops` on the current backend;
- the FLOPs of one training image, counted from the layers' shapes (convolutions, depthwise
  convolutions and dense layers; multiply and add count 2; training = 3 x the forward pass);
- per network, kind and lever: images/s (the fastest of `--repeats` epochs after a warm-up, the
  cases alternating), the achieved GFLOP/s and its fraction of the peak. Levers: `default` (what
  the scripts do), `xla` (`jit_compile=True`), `steps4` (`steps_per_execution=4`: one call into the
  backend per 4 batches), `bfloat16` (the mixed_bfloat16 policy), `no_augment` (the augmentation
  layers left out: what moving the augmentation into the input pipeline could save at most, on the
  same cores). Every kind runs `default`; the other levers run on `--lever_kinds`;
- with `--layers=true`, the account: every distinct convolution and dense layer of the Vanilla
  network trained alone at its shape (batch 128, plain SGD), its GFLOP/s (a lower bound: the time
  includes a step's fixed cost, printed), and the network's step time if each layer ran at that
  speed (with and without that fixed cost per layer), against the measured step.

Thread pools are a process setting: `--inter_op_threads` and `--intra_op_threads` (TensorFlow; 0
keeps its default) apply to the whole run, so compare two runs.

    python bench/bench_cnn_training.py [--samples=512 --repeats=3 --networks=mobilenet,resnet]
    KERAS_BACKEND=jax python bench/bench_cnn_training.py --levers=default --kinds=Vanilla
"""
import sys
import time
from pathlib import Path

import keras
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Experiment"))
from cnn_Vanilla_MobileNet import build_mobilenet_model  # noqa: E402
from cnn_Vanilla_ResNet import build_resnet_model  # noqa: E402

from resilinet.base.settings import Role, Setting  # noqa: E402
from resilinet.cli.parser import parse_flags  # noqa: E402
from resilinet.cli.program import run_program  # noqa: E402
from resilinet.core.kinds import ModelKind  # noqa: E402
from resilinet.runs.training import LEARNING_RATE  # noqa: E402

LEVERS = ("default", "xla", "steps4", "bfloat16", "no_augment")
DEFAULTS = {"samples": 512, "repeats": 3, "batch_size": 128, "networks": ("mobilenet", "resnet"),
            "kinds": ("Vanilla", "DFG", "ResiliNet"), "levers": LEVERS,
            "lever_kinds": ("Vanilla",), "layers": True, "inter_op_threads": 0, "intra_op_threads": 0}
KINDS = {kind.value: kind for kind in ModelKind}
SPECS = {"networks": Setting(str, "networks to train", Role.OUTPUT, is_list=True, choices=("mobilenet", "resnet")),
         "kinds": Setting(str, "model kinds, each with the default lever", Role.OUTPUT, is_list=True,
                          choices=tuple(KINDS)),
         "levers": Setting(str, "levers to try", Role.OUTPUT, is_list=True, choices=LEVERS),
         "lever_kinds": Setting(str, "the kinds the levers other than default run on", Role.OUTPUT, is_list=True,
                                choices=tuple(KINDS))}
COUNTED = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.Dense)


def set_threads(inter: int, intra: int) -> None:
    if (inter or intra) and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_inter_op_parallelism_threads(inter)
        tf.config.threading.set_intra_op_parallelism_threads(intra)


def matmul_peak(dtype: str = "float32", size: int = 2048, repeats: int = 10) -> float:
    """GFLOP/s of the fastest size x size matmul in `dtype` (every core)."""
    ops = keras.ops
    a = ops.cast(keras.random.uniform((size, size), seed=1), dtype)
    b = ops.cast(keras.random.uniform((size, size), seed=2), dtype)
    ops.convert_to_numpy(ops.sum(ops.cast(ops.matmul(a, b), "float32")))
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        ops.convert_to_numpy(ops.sum(ops.cast(ops.matmul(a, b), "float32")))
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def layer_flops(layer) -> float:
    """Multiply-adds x 2 of one image through a convolution or dense layer."""
    kernel = layer.kernel.shape
    if isinstance(layer, keras.layers.Dense):
        return 2 * kernel[0] * kernel[1]
    out = layer.output.shape  # (kh, kw, in, out) or, depthwise, (kh, kw, in, multiplier): a product per entry
    return 2 * out[1] * out[2] * kernel[0] * kernel[1] * kernel[2] * kernel[3]


def forward_flops(model: keras.Model) -> float:
    return sum(layer_flops(layer) for layer in model.layers if isinstance(layer, COUNTED))


def build(network: str, kind: ModelKind, lever: str) -> keras.Model:
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    keras.mixed_precision.set_global_policy("mixed_bfloat16" if lever == "bfloat16" else "float32")
    augment = lever != "no_augment"
    if network == "mobilenet":
        model = build_mobilenet_model(kind, 1, alpha=0.75, augment=augment)
    else:
        model = build_resnet_model(kind, 1, augment=augment)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=LEARNING_RATE),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  jit_compile=lever == "xla", steps_per_execution=4 if lever == "steps4" else 1)
    keras.mixed_precision.set_global_policy("float32")
    return model


def epoch_seconds(model, x, y, batch_size) -> float:
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
    return time.perf_counter() - start


def networks_table(config, x, y, peaks) -> dict[str, float]:
    """Print the images/s table; return each network's default Vanilla seconds per batch."""
    print(f"{'network':<10} {'kind':<10} {'lever':<10} {'GFLOP/image':>11} {'images/s':>9} {'GFLOP/s':>8} "
          f"{'of peak':>8}")
    step_seconds = {}
    for network in config.networks:
        models, flops = {}, {}
        cases = [(k, "default") for k in config.kinds] + [
            (k, lever) for lever in config.levers if lever != "default" for k in config.lever_kinds]
        for kind, lever in cases:
            model = build(network, KINDS[kind], lever)
            flops[kind] = 3 * forward_flops(model)
            try:
                epoch_seconds(model, x, y, config.batch_size)  # warm-up: traces (and compiles) the step
            except Exception as error:  # a lever this backend or model cannot take: say so, go on
                print(f"{network:<10} {kind:<10} {lever:<10} fails: {type(error).__name__}: {str(error)[:120]}")
                continue
            models[kind, lever] = model
        best = {key: np.inf for key in models}
        for _ in range(config.repeats):
            for key, model in models.items():
                best[key] = min(best[key], epoch_seconds(model, x, y, config.batch_size))
        for (kind, lever), seconds in best.items():
            rate = config.samples / seconds
            achieved = rate * flops[kind] / 1e9
            peak = peaks["bfloat16" if lever == "bfloat16" else "float32"]
            print(f"{network:<10} {kind:<10} {lever:<10} {flops[kind] / 1e9:>11.3f} {rate:>9.1f} {achieved:>8.1f} "
                  f"{achieved / peak:>8.1%}")
        if ("Vanilla", "default") in best:
            step_seconds[network] = best["Vanilla", "default"] * config.batch_size / config.samples
            for key, seconds in best.items():
                if key != ("Vanilla", "default"):
                    print(f"{network}: {key[0]} {key[1]} / Vanilla default images/s = "
                          f"{best['Vanilla', 'default'] / seconds:.2f}")
    return step_seconds


def layer_alone_seconds(layer, batch_size: int, repeats: int) -> float:
    """Seconds of one training step (forward, backward, SGD) of a copy of `layer` at its input shape."""
    keras.backend.clear_session()
    inputs = keras.Input(layer.input.shape[1:])
    alone = keras.Model(inputs, type(layer).from_config(layer.get_config())(inputs))
    return step_seconds_of(alone, batch_size, repeats)


def step_seconds_of(alone: keras.Model, batch_size: int, repeats: int) -> float:
    """Seconds of one training step of `alone` on generated data: the fastest of `repeats` 4-batch epochs."""
    alone.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(0).uniform(size=(4 * batch_size, *alone.input.shape[1:])).astype("float32")
    y = np.zeros((4 * batch_size, *alone.output.shape[1:]), "float32")
    alone.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        alone.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
        best = min(best, (time.perf_counter() - start) / 4)
    return best


def layers_account(config, peak: float, step_seconds: dict[str, float]) -> None:
    """Each distinct layer of the Vanilla network alone; the step if every layer ran at that speed."""
    for network in config.networks:
        model = build(network, ModelKind.VANILLA, "default")
        layers = [layer for layer in model.layers if isinstance(layer, COUNTED)]
        distinct = {}
        for layer in layers:
            key = (type(layer).__name__, tuple(layer.input.shape[1:]), tuple(layer.kernel.shape),
                   getattr(layer, "strides", None))
            distinct.setdefault(key, []).append(layer)
        keras.backend.clear_session()
        inputs = keras.Input((1,))
        empty = step_seconds_of(keras.Model(inputs, keras.layers.Dense(1)(inputs)), config.batch_size, config.repeats)
        print(f"\n{network}: each distinct layer trained alone (batch {config.batch_size}); an empty step (a 1x1 "
              f"dense layer) takes {1000 * empty:.1f} ms, which each time below includes")
        print(f"{'layer':<16} {'input':<14} {'kernel':<18} {'count':>5} {'GFLOP/s':>8} {'of peak':>8} {'ms/step':>8}")
        total = 0.0
        for (name, shape, kernel, _), same in distinct.items():
            seconds = layer_alone_seconds(same[0], config.batch_size, config.repeats)
            rate = 3 * layer_flops(same[0]) * config.batch_size / seconds / 1e9
            total += seconds * len(same)
            print(f"{name:<16} {str(shape):<14} {str(kernel):<18} {len(same):>5} {rate:>8.1f} {rate / peak:>8.1%} "
                  f"{1000 * seconds * len(same):>8.1f}")
        net = max(total - empty * len(layers), 0.0)
        measured = step_seconds.get(network)
        share = f" against the measured Vanilla step of {1000 * measured:.0f} ms ({total / measured:.0%}, " \
            f"{net / measured:.0%})" if measured else ""
        print(f"{network}: the counted layers alone take {1000 * total:.0f} ms per step, {1000 * net:.0f} ms less an "
              f"empty step each,{share}")


def main(argv):
    config = run_program("bench/bench_cnn_training.py",
                         lambda: parse_flags(DEFAULTS, argv, __doc__, "bench/bench_cnn_training.py", SPECS))
    set_threads(config.inter_op_threads, config.intra_op_threads)
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(config.samples, 32, 32, 3)).astype("float32")
    y = rng.integers(0, 10, size=config.samples)
    peaks = {"float32": matmul_peak("float32"), "bfloat16": matmul_peak("bfloat16")}
    print(f"backend {keras.backend.backend()}; matmul peak (2048x2048) float32 {peaks['float32']:.0f} GFLOP/s, "
          f"bfloat16 {peaks['bfloat16']:.0f} GFLOP/s; threads inter {config.inter_op_threads or 'default'}, "
          f"intra {config.intra_op_threads or 'default'}")
    step_seconds = networks_table(config, x, y, peaks)
    if config.layers:
        layers_account(config, peaks["float32"], step_seconds)


if __name__ == "__main__":
    main(sys.argv[1:])
