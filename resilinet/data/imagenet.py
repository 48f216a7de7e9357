"""ImageNet-format data streamed from class-per-folder directories (<root>/<wnid>/*.JPEG).

Class index = position of the class folder's name (the wnid) in sorted order; folders and files
whose names start with a dot are ignored. Only paths and labels are held in memory: the images are
read one batch at a time by `resilinet.data.image_stream.ImageFolderSequence`. Listing the folders
needs neither OpenCV nor Keras, so --train_dir is checked before Keras loads.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from resilinet.base.errors import UserError

# They set --train_dir and --val_dir when the flags are not given.
TRAIN_VARIABLE, VAL_VARIABLE = "RESILINET_IMAGENET_TRAIN", "RESILINET_IMAGENET_VAL"

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
