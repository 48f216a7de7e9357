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
    if backend == "tensorflow":
        return _mirrored_strategy_scope(mode)
    if backend == "jax":
        return _data_parallel_scope(mode)
    if mode == "on":
        raise UserError(f"--distribute=on needs the tensorflow or jax backend; this is {backend}")
    return contextlib.nullcontext()


def _mirrored_strategy_scope(mode: str):
    import tensorflow as tf

    devices = [device.name for device in tf.config.list_logical_devices("GPU")]
    if len(devices) < 2 and mode == "auto":
        return contextlib.nullcontext()
    devices = devices or [device.name for device in tf.config.list_logical_devices("CPU")]
    return tf.distribute.MirroredStrategy(devices=devices).scope()


def _data_parallel_scope(mode: str):
    import keras

    try:
        devices = keras.distribution.list_devices("gpu")
    except RuntimeError:  # JAX raises when no GPU platform is present
        devices = []
    if len(devices) < 2 and mode == "auto":
        return contextlib.nullcontext()
    devices = devices or keras.distribution.list_devices("cpu")
    return keras.distribution.DataParallel(devices=devices).scope()
