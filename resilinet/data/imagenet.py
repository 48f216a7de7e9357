"""ImageNet-format data streamed from class-per-folder directories (<root>/<wnid>/*.JPEG)."""
from __future__ import annotations

import math
from pathlib import Path

import cv2
import keras
import numpy as np

from resilinet.errors import UserError

IMAGE_SUFFIXES = {".jpeg", ".jpg", ".png"}


def list_images(root: str, flag: str) -> tuple[list[Path], np.ndarray, list[str]]:
    """Image paths, their class indices (sorted folder order) and the class names under `root`."""
    folder = Path(root)
    if not root or not folder.is_dir():
        raise UserError(f"--{flag} {root!r} is not a folder of class folders (<{flag}>/<class>/*.JPEG)")
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir())
    if not classes:
        raise UserError(f"--{flag} {folder} has no class folders")
    paths, labels = [], []
    for label, name in enumerate(classes):
        images = sorted(p for p in (folder / name).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not images:
            raise UserError(f"{folder / name} holds no images")
        paths += images
        labels += [label] * len(images)
    return paths, np.asarray(labels, dtype=np.int64), classes


class ImageFolderSequence(keras.utils.PyDataset):
    """Batches of (images, labels) read from disk on demand: only one batch is in memory.

    Images are resized to `image_size` x `image_size`, RGB, scaled to [0, 1]. With `shuffle`, the
    order is redrawn every epoch (seeded); without it, batches follow `labels`' order.
    """

    def __init__(self, paths, labels, batch_size: int, image_size: int, shuffle: bool, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.paths = list(paths)
        self.labels = np.asarray(labels)
        self.batch_size = batch_size
        self.image_size = image_size
        self.shuffle = shuffle
        self.rng = np.random.default_rng(seed)
        self.order = np.arange(len(self.paths))
        self.on_epoch_end()

    def __len__(self):
        return math.ceil(len(self.paths) / self.batch_size)

    def __getitem__(self, index):
        chosen = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        images = np.stack([self.read(self.paths[i]) for i in chosen])
        return images, self.labels[chosen]

    def read(self, path: Path) -> np.ndarray:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise UserError(f"{path} is not a readable image")
        image = cv2.resize(image, (self.image_size, self.image_size), interpolation=cv2.INTER_AREA)
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB).astype(np.float32) / np.float32(255.0)

    def on_epoch_end(self):
        if self.shuffle:
            self.rng.shuffle(self.order)
