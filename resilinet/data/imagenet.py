"""ImageNet-format data streamed from class-per-folder directories (<root>/<wnid>/*.JPEG).

Class index = position of the class folder's name (the wnid) in sorted order; folders and files
whose names start with a dot are ignored. Only paths and labels are held in memory: pixels are
read with cv2 one batch at a time, so memory does not grow with the data set.
"""
from __future__ import annotations

import math
from pathlib import Path

import cv2
import keras
import numpy as np

from resilinet.errors import UserError

IMAGE_SUFFIXES = {".jpeg", ".jpg", ".png"}


def class_names(root: str, flag: str) -> list[str]:
    """The sorted names of the class folders under `root` (given by the flag --`flag`)."""
    folder = Path(root)
    if not root or not folder.is_dir():
        raise UserError(f"--{flag} {root!r} is not a folder of class folders (<{flag}>/<class>/*.JPEG)")
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise UserError(f"--{flag} {folder} has no class folders")
    return classes


def list_images(root: str, flag: str) -> tuple[list[Path], np.ndarray, list[str]]:
    """Image paths, their class indices (sorted folder order) and the class names under `root`."""
    folder = Path(root)
    classes = class_names(root, flag)
    paths, labels = [], []
    for label, name in enumerate(classes):
        images = sorted(p for p in (folder / name).iterdir()
                        if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))
        if not images:
            raise UserError(f"{folder / name} holds no images")
        paths += images
        labels += [label] * len(images)
    return paths, np.asarray(labels, dtype=np.int64), classes


def hold_out(labels: np.ndarray, classes: list[str], per_class: int, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    """Indices (training, validation): a seeded draw of `per_class` images of every class is held out."""
    if per_class < 1:
        raise UserError(f"--validation_images_per_class must be at least 1, got {per_class}")
    rng = np.random.default_rng(seed)
    held = []
    for label, name in enumerate(classes):
        members = np.flatnonzero(labels == label)
        if len(members) <= per_class:
            raise UserError(f"class {name} has {len(members)} training image(s): too few to hold out {per_class} "
                            f"for validation (lower --validation_images_per_class)")
        held.append(rng.choice(members, per_class, replace=False))
    validation = np.sort(np.concatenate(held))
    return np.setdiff1d(np.arange(len(labels)), validation), validation


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

    def on_epoch_end(self):
        if self.shuffle:
            self.rng.shuffle(self.order)
