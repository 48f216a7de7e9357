"""The saved state of a training in progress: one `.npz` file (weights, optimizer variables, best weights, the
epoch and best value as JSON in `meta`, the fingerprint of model and configuration it belongs to), written
atomically. Imports no Keras, so tools that only look at a state (which epoch it is at) stay quick."""
from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from resilinet.base.errors import UserError
from resilinet.base.files import write_bytes_atomically

STATE_FORMAT = 1


@dataclass
class TrainingState:
    epoch: int  # epochs completed
    best_value: float
    best_epoch: int
    best_weights: list[np.ndarray]
    weights: list[np.ndarray]
    optimizer: list[np.ndarray]
    fingerprint: str


def save_state(path: Path, state: TrainingState) -> None:
    meta = json.dumps({key: getattr(state, key) for key in ("epoch", "best_value", "best_epoch")})
    arrays = {"meta": np.array(meta), "fingerprint": np.array(state.fingerprint)}
    for prefix, values in (("weights", state.weights), ("optimizer", state.optimizer), ("best", state.best_weights)):
        arrays.update({f"{prefix}/{i}": np.asarray(v) for i, v in enumerate(values)})
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    write_bytes_atomically(Path(path), buffer.getvalue())


def load_state(path: Path, fingerprint: str, warn: Callable[[str], None]) -> TrainingState | None:
    """The saved state at `path` if it is whole and made by this job; else None, after a warning
    naming the file (a damaged or foreign state is never mixed into a model)."""
    path = Path(path)
    if not path.exists():
        return None
    if path.is_dir():
        raise UserError(f"{path} is a folder, where this model's training state belongs: move it away, then run again")
    try:
        with np.load(path, allow_pickle=False) as saved:
            if str(saved["fingerprint"]) != fingerprint:
                warn(f"{path} is a checkpoint of another model or configuration: training this model from its start")
                return None
            meta = json.loads(str(saved["meta"]))
            def arrays(prefix):
                return [saved[f"{prefix}/{i}"] for i in range(sum(k.startswith(prefix + "/") for k in saved.files))]
            return TrainingState(int(meta["epoch"]), float(meta["best_value"]), int(meta["best_epoch"]),
                                 arrays("best"), arrays("weights"), arrays("optimizer"), fingerprint)
    except Exception as error:  # a truncated or foreign file fails in zipfile, numpy or json in many ways
        warn(f"{path} is damaged ({type(error).__name__}: {error}): training this model from its start")
        return None


def saved_epoch(file: Path | BinaryIO) -> int:
    """The epochs a saved state (a path or an open binary file) has completed, whatever model it belongs to;
    0 for a damaged file, whose training would start again."""
    try:
        with np.load(file, allow_pickle=False) as saved:
            return int(json.loads(str(saved["meta"]))["epoch"])
    except Exception:  # a truncated or foreign file fails in zipfile, numpy or json in many ways
        return 0
