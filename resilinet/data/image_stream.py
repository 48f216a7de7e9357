"""Batches of images read from disk on demand, for data sets too large to hold in memory (ImageNet)."""
from __future__ import annotations

import math
from pathlib import Path

import cv2
import keras
import numpy as np

from resilinet.base.errors import UserError


class ImageFolderSequence(keras.utils.PyDataset):
    """Batches of (images, labels) read from disk on demand: only one batch is in memory.

    Images are resized to `image_size` x `image_size`, RGB, scaled to [0, 1]. With `shuffle`, the trainer sets
    each epoch's order from a seed of its own (`set_epoch_order`); without it, batches follow `labels`' order.
    """

    def __init__(self, paths, labels, batch_size: int, image_size: int, shuffle: bool, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.paths = list(paths)
        self.labels = np.asarray(labels)
        self.batch_size = batch_size
        self.image_size = image_size
        self.shuffle = shuffle
        self.order = np.arange(len(self.paths))
        self.set_epoch_order(seed)

    def __len__(self):
        return math.ceil(len(self.paths) / self.batch_size)

    def __getitem__(self, index):
        chosen = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        images = np.empty((len(chosen), self.image_size, self.image_size, 3), dtype=np.float32)
        for row, i in enumerate(chosen):
            images[row] = self.read(self.paths[i])
        return images, self.labels[chosen]

    def read(self, path: Path) -> np.ndarray:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise UserError(f"{path} is not a readable image")
        image = cv2.resize(image, (self.image_size, self.image_size), interpolation=cv2.INTER_AREA)
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB).astype(np.float32) / np.float32(255.0)

    def set_epoch_order(self, seed: int) -> None:
        """The order of the coming epoch: a permutation drawn from `seed` alone (with `shuffle`)."""
        if self.shuffle:
            self.order = np.random.default_rng(seed).permutation(len(self.paths))
