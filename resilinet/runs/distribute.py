"""Multi-device training through Keras' and TensorFlow's own engines."""
from __future__ import annotations

import contextlib

from resilinet.base.errors import UserError

MODES = ("auto", "on", "off")


def distribution_scope(mode: str = "auto"):
    """A context in which to build and train a model data-parallel.

    TensorFlow backend: `tf.distribute.MirroredStrategy`; a model built in its scope keeps the
    strategy for `fit` and `predict`. JAX backend: `keras.distribution.DataParallel`, made the
    global distribution inside the context only. "auto" distributes over the GPUs when there are
    two or more, "on" always (over the logical CPU devices when there is no GPU), "off" never.
    """
    if mode not in MODES:
        raise UserError(f"--distribute must be one of {', '.join(MODES)}, got {mode!r}")
    if mode == "off":
        return contextlib.nullcontext()
    import keras  # imported here: MODES is read by the flag checks, before Keras loads

    backend = keras.backend.backend()
    if backend not in ("tensorflow", "jax"):
        if mode == "on":
            raise UserError(f"--distribute=on needs the tensorflow or jax backend; this is {backend}")
        return contextlib.nullcontext()
    if backend == "tensorflow":
        import tensorflow as tf

        gpus, cpus = ([device.name for device in tf.config.list_logical_devices(kind)] for kind in ("GPU", "CPU"))
        strategy = tf.distribute.MirroredStrategy
    else:
        try:
            gpus = keras.distribution.list_devices("gpu")
        except RuntimeError:  # JAX raises when no GPU platform is present
            gpus = []
        cpus, strategy = keras.distribution.list_devices("cpu"), keras.distribution.DataParallel
    if len(gpus) < 2 and mode == "auto":
        return contextlib.nullcontext()
    return strategy(devices=gpus or cpus).scope()
