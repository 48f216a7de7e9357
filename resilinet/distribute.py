"""Multi-device training through Keras' and TensorFlow's own engines."""
from __future__ import annotations

import contextlib

import keras

from resilinet.errors import UserError

MODES = ("auto", "on", "off")


def distribution_scope(mode: str = "auto"):
    """A context in which to build and compile a model for data-parallel training.

    TensorFlow backend: `tf.distribute.MirroredStrategy` over the visible GPUs. JAX backend:
    `keras.distribution.DataParallel`. "auto" distributes when more than one GPU is visible,
    "on" always (also over several logical CPU devices), "off" never.
    """
    if mode not in MODES:
        raise UserError(f"--distribute must be one of {', '.join(MODES)}, got {mode!r}")
    if mode == "off":
        return contextlib.nullcontext()
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_logical_devices("GPU")
        if mode == "on" or len(gpus) > 1:
            devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
            return tf.distribute.MirroredStrategy(devices=devices).scope()
    elif backend == "jax":
        try:
            gpus = keras.distribution.list_devices("gpu")
        except RuntimeError:  # JAX raises when no GPU platform is present
            gpus = []
        if mode == "on" or len(gpus) > 1:
            devices = gpus or keras.distribution.list_devices("cpu")
            keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    return contextlib.nullcontext()
