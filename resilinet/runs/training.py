"""Training that survives a kill at any epoch, with a per-epoch log and the best-validation weights kept.

One `fit` epoch at a time, each epoch's randomness (shuffling, the model's seed states: failout, augmentation)
a function of (job seed, epoch) alone, so a training resumed from the state saved after epoch k goes on bit for
bit as an uninterrupted one (same machine and backend). The state (weights, optimizer variables, epoch, best
value, best weights, a fingerprint of model and configuration) is one `.npz` file (`training_state.py`), written
atomically after an epoch when another epoch would take the time since the last save past `checkpoint_seconds`
(a kill loses at most that long, or one epoch where epochs are longer)."""
from __future__ import annotations

import json
import math
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
from sklearn.utils.class_weight import compute_class_weight

from resilinet.base.errors import safe_point
from resilinet.base.files import write_with
from resilinet.core.safe_points import CtrlCBetweenBatches
from resilinet.core.splits import Data
from resilinet.runs.training_log import LOG_COLUMNS, MONITOR, read_log, write_log
from resilinet.runs.training_state import STATE_FORMAT, TrainingState, load_state, save_state

LEARNING_RATE = 1e-3


def compile_model(model: keras.Model, learning_rate: float = LEARNING_RATE) -> None:
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])


def build_training_variables(model: keras.Model) -> None:
    """Create the optimizer's and the compiled metrics' variables before the first `fit`. Keras creates them
    lazily, while TensorFlow first traces the training step, and TensorFlow then traces the step a second time:
    seconds per model for a CNN. Nothing else changes (the metrics are reset)."""
    model.optimizer.build(model.trainable_variables)
    outputs = [keras.ops.zeros((1, *output.shape[1:]), dtype=output.dtype) for output in model.outputs]
    model.compute_metrics(None, keras.ops.zeros((1,), dtype="int32"), outputs[0] if len(outputs) == 1 else outputs)
    model.reset_metrics()


def save_weights_atomically(model: keras.Model, path: Path) -> None:
    path = Path(path)
    write_with(path, path.with_name(path.name.removesuffix(".weights.h5") + ".partial.weights.h5"),
               model.save_weights)


def balanced_class_weight(labels: np.ndarray) -> dict[int, float]:
    labels = np.asarray(labels).ravel()
    classes = np.unique(labels)
    return {int(c): float(w) for c, w in zip(classes, compute_class_weight("balanced", classes=classes, y=labels))}


def derived_seed(*parts) -> int:
    """A seed that is a function of `parts` alone: (job seed, epoch, stream) seeds one random stream
    of one epoch (stream 0: shuffling, i: the model's i-th seed state)."""
    return zlib.crc32("/".join(map(str, parts)).encode()) & 0x7FFFFFFF


def reseed(model: keras.Model, seed: int, epoch: int) -> None:
    """Set the model's random-seed variables (of its SeedGenerators: its variables that are not weights)."""
    weights = {id(w) for w in model.weights}
    seed_states = [v for v in model.variables if id(v) not in weights]
    for stream, state in enumerate(seed_states, start=1):
        state.assign(np.array([derived_seed(seed, epoch, stream), 0], dtype=state.dtype))


def fingerprint_of(model: keras.Model, identity: Mapping[str, Any]) -> str:
    """What a saved state must match: the job's identity (variant, seed, epochs, ...) and the
    model's weights (names and shapes) and optimizer variables (shapes)."""
    shapes = [[w.path, list(w.shape)] for w in model.weights] + [list(v.shape) for v in model.optimizer.variables]
    return json.dumps({"format": STATE_FORMAT, "job": identity, "shapes": shapes}, sort_keys=True, default=str)


class OneEpoch(keras.callbacks.Callback):
    """Ends `fit` after the epoch it started at: `train` fits one epoch at a time (a saved state between any two),
    while Keras's progress counts against the model's real number of epochs ("Epoch 21/60")."""

    def on_epoch_end(self, epoch, logs=None):
        self.model.stop_training = True


@dataclass
class TrainingResult:
    best_value: float
    kept_epoch: int
    resumed_from: int  # epochs restored from a saved state (0: trained from the start)


def _epoch_inputs(data: Data, seed: int, epoch: int):
    """The training inputs of one epoch in its shuffled order (streamed data reorders itself)."""
    train = data.train
    if train.is_streamed:
        train.x.set_epoch_order(derived_seed(seed, epoch, 0))
        return dict(x=train.x, validation_data=data.val.x)
    order = np.random.default_rng(derived_seed(seed, epoch, 0)).permutation(len(train.y))
    x = [a[order] for a in train.x] if isinstance(train.x, (list, tuple)) else train.x[order]
    return dict(x=x, y=np.asarray(train.y)[order], validation_data=(data.val.x, data.val.y))


@dataclass(frozen=True)
class TrainingPlan:
    """How one model is trained: `epochs` of `batch_size` under `seed`, its state saved to `state_path` (at most
    every `checkpoint_seconds`) and its per-epoch log to `log_path`; `identity` names the job and training (a
    saved state of another identity is never resumed)."""

    epochs: int
    batch_size: int
    seed: int
    state_path: Path
    log_path: Path
    identity: Mapping[str, Any]
    class_weight: dict[int, float] | None = None
    verbose: int = 1
    checkpoint_seconds: float = 60.0


@dataclass
class BestEpoch:
    """The best validation epoch so far, and where the training stands."""

    value: float = -math.inf
    epoch: int = 0
    weights: list[np.ndarray] | None = None
    start: int = 0  # epochs done before this training (restored from a saved state)


def restore(model: keras.Model, plan: TrainingPlan, fingerprint: str, warn: Callable[[str], None]
            ) -> tuple[BestEpoch, list[dict[str, float]]]:
    """Set `model` and its optimizer to the saved state of this training, if one fits; the log's rows up to it
    are kept (none when there is no state) and returned."""
    state = load_state(plan.state_path, fingerprint, warn)
    best = BestEpoch()
    if state is not None:
        model.set_weights(state.weights)
        for variable, value in zip(model.optimizer.variables, state.optimizer):
            variable.assign(value)
        best = BestEpoch(state.best_value, state.best_epoch, state.best_weights, state.epoch)
    rows = [row for row in read_log(plan.log_path) if row["epoch"] <= best.start] if best.start else []
    write_log(plan.log_path, rows)
    return best, rows


def fit_one_epoch(model: keras.Model, data: Data, plan: TrainingPlan, epoch: int) -> dict[str, float]:
    """Train epoch `epoch` (from 0) in its seeded order; its logged row."""
    started = time.monotonic()
    reseed(model, plan.seed, epoch)
    history = model.fit(**_epoch_inputs(data, plan.seed, epoch), epochs=plan.epochs, initial_epoch=epoch,
                        shuffle=False, batch_size=None if data.train.is_streamed else plan.batch_size,
                        class_weight=plan.class_weight, verbose=plan.verbose,
                        callbacks=[OneEpoch(), CtrlCBetweenBatches()])
    logs = {key: values[-1] for key, values in history.history.items()}
    if MONITOR not in logs:
        raise ValueError(f"{MONITOR} is not logged: train with validation data")
    return {**{k: float(logs.get(k, math.nan)) for k in LOG_COLUMNS}, "epoch": epoch + 1,
            "seconds": time.monotonic() - started,
            "learning_rate": float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))}


def train(model: keras.Model, data: Data, plan: TrainingPlan,
          on_epoch: Callable[[int, int, float], None] | None = None, warn: Callable[[str], None] = print
          ) -> TrainingResult:
    """Fit `model` as `plan` says (continuing a saved state of the same job), then set its weights to those of its
    best validation epoch; `on_epoch(epoch, epochs, seconds)` is called after each epoch (progress reports)."""
    if not model.compiled:
        compile_model(model)
    build_training_variables(model)
    fingerprint = fingerprint_of(model, plan.identity)
    best, rows = restore(model, plan, fingerprint, warn)
    last_save = time.monotonic()
    for epoch in range(best.start, plan.epochs):
        row = fit_one_epoch(model, data, plan, epoch)
        if row[MONITOR] > best.value:
            best.value, best.epoch, best.weights = row[MONITOR], epoch + 1, model.get_weights()
        rows.append(row)
        write_log(plan.log_path, rows)
        if epoch + 1 < plan.epochs and time.monotonic() - last_save + row["seconds"] >= plan.checkpoint_seconds:
            save_state(plan.state_path, TrainingState(
                epoch + 1, best.value, best.epoch, best.weights, model.get_weights(),
                [keras.ops.convert_to_numpy(v) for v in model.optimizer.variables], fingerprint))
            last_save = time.monotonic()
        if on_epoch is not None:
            on_epoch(epoch + 1, plan.epochs, row["seconds"])
        safe_point()  # the epoch is logged (and its state saved if due)
    if best.weights is not None:
        model.set_weights(best.weights)
    return TrainingResult(best.value, best.epoch, best.start)
