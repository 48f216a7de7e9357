"""The per-epoch training log of a model, in the CSV format of keras.callbacks.CSVLogger (nothing
here imports Keras, so the driver reads the logs of running jobs cheaply)."""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from resilinet.base.files import write_text_atomically

MONITOR = "val_accuracy"  # the kept weights are those of the epoch where it was highest (first of ties)
LOG_COLUMNS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "seconds")


def read_log(path: Path) -> list[dict[str, float]]:
    """The complete rows of a training log (a row cut short by a kill is left out)."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return []
    rows = []
    for row in csv.DictReader(io.StringIO(text)):
        try:
            rows.append({key: float(row[key]) for key in LOG_COLUMNS})
        except (KeyError, TypeError, ValueError):
            break
    return rows


def kept_epoch(rows: list[dict[str, float]]) -> int | None:
    """The epoch whose weights training keeps: the first with the highest validation accuracy."""
    best, epoch = -math.inf, None
    for row in rows:
        if row[MONITOR] > best:
            best, epoch = row[MONITOR], int(row["epoch"])
    return epoch


def write_log(path: Path, rows: list[dict[str, float]]) -> None:
    lines = [",".join(str(int(row[k])) if k == "epoch" else repr(float(row[k])) for k in LOG_COLUMNS) for row in rows]
    write_text_atomically(Path(path), "\n".join([",".join(LOG_COLUMNS), *lines]) + "\n")
