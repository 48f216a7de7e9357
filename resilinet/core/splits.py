"""The data a model trains and is evaluated on: splits of inputs and labels."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Split:
    """One data split: `x` is an array, a list of arrays (one per model input), or a `keras.utils.PyDataset` that
    yields (x, y) batches (streamed data); `y` holds the labels in the order `x` yields them."""

    x: Any
    y: np.ndarray

    @property
    def is_streamed(self) -> bool:
        import keras  # imported here so that flag parsing does not load Keras

        return isinstance(self.x, keras.utils.PyDataset)


@dataclass
class Data:
    train: Split
    val: Split
    test: Split
    num_classes: int
