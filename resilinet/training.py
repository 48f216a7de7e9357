"""Training with the best-validation-accuracy weights kept, saved atomically."""
from __future__ import annotations

import math
import os
from pathlib import Path

import keras
import numpy as np
from sklearn.utils.class_weight import compute_class_weight

from resilinet.dataset import Data

LEARNING_RATE = 1e-3


def compile_model(model: keras.Model, learning_rate: float = LEARNING_RATE) -> None:
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )


def save_weights_atomically(model: keras.Model, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name.removesuffix(".weights.h5") + ".partial.weights.h5")
    model.save_weights(partial)
    os.replace(partial, path)


class BestWeightsCheckpoint(keras.callbacks.Callback):
    """Saves the weights whenever the monitored validation metric improves (higher is better)."""

    def __init__(self, path: Path, monitor: str = "val_accuracy"):
        super().__init__()
        self.path = Path(path)
        self.monitor = monitor
        self.best = -math.inf

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            raise ValueError(f"{self.monitor} is not logged: train with validation data")
        if value > self.best:
            self.best = float(value)
            save_weights_atomically(self.model, self.path)


def balanced_class_weight(labels: np.ndarray) -> dict[int, float]:
    labels = np.asarray(labels).ravel()
    classes = np.unique(labels)
    weights = compute_class_weight("balanced", classes=classes, y=labels)
    return {int(c): float(w) for c, w in zip(classes, weights)}


def train(
    model: keras.Model,
    data: Data,
    *,
    epochs: int,
    batch_size: int,
    weights_path: Path,
    class_weight: dict[int, float] | None = None,
    verbose: int = 1,
) -> float:
    """Fit `model` (compiled here if it is not yet), then reload its best-validation weights.

    Returns the best validation accuracy.
    """
    if not model.compiled:
        compile_model(model)
    checkpoint = BestWeightsCheckpoint(weights_path)
    fit_args = dict(epochs=epochs, callbacks=[checkpoint], class_weight=class_weight, verbose=verbose)
    if data.train.is_streamed:
        model.fit(data.train.x, validation_data=data.val.x, **fit_args)
    else:
        model.fit(
            data.train.x, data.train.y, batch_size=batch_size, shuffle=True,
            validation_data=(data.val.x, data.val.y), **fit_args,
        )
    model.load_weights(weights_path)
    return checkpoint.best
