"""The safe points of Keras's own loops, where a held Ctrl-C stops training or prediction between two batches
(`resilinet.base.errors.ctrl_c_at_safe_points`)."""
from __future__ import annotations

import keras

from resilinet.base.errors import safe_point


class CtrlCBetweenBatches(keras.callbacks.Callback):
    """A safe point before each batch of `fit` (training and validation) and of `predict`. Batch *begin* hooks: one
    with a batch *end* hook would turn off Keras's asynchronous dispatch of the batch ends."""

    def on_train_batch_begin(self, batch, logs=None):
        safe_point()

    def on_test_batch_begin(self, batch, logs=None):
        safe_point()

    def on_predict_batch_begin(self, batch, logs=None):
        safe_point()
