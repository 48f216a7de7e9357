"""The multi-view multi-camera dataset: six synchronised 32x32 views per sample, 3 classes.

Source: the recordings of Roig et al. (ICCV 2011), each object cropped to 32x32 in the six cameras by
Teerapittayanon et al. (DDNN, ICDCS 2017), as deepFogGuard and ResiliNet downloaded them.

Layout: <root>/{train_dir,test_dir,holdout_dir}/{person,car,bus}_images/c<cam>_<k>_<frame>.jpg,
cameras 0..5. The views of one sample share the class folder, <k> (the object's index in the
frame) and <frame>; they are ordered by camera id, so camera c<i> always feeds model input i + 1.
Labels: person 0, car 1, bus 2. The published folders give 1,110 / 146 / 123 complete samples
(train / val / test). Incomplete groups are skipped with a printed count: 5 in train_dir and 5 in
test_dir (objects with five views, and stray single views filed under another <k>, which nothing
in the name ties to a five-view object). Files whose names start with a dot are ignored; any other
unexpected name, a camera id outside 0..5 or an unreadable image is a UserError naming the file.
"""
from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from pathlib import Path

import numpy as np

from resilinet.base.errors import UserError
from resilinet.base.folders import (
    check_writable_directory,
    created_directory,
    staged_directory,
)
from resilinet.core.splits import Data, Split
from resilinet.data.archives import reading_tar

CLASSES = ("person", "car", "bus")
NUM_CAMERAS = 6
IMAGE_SHAPE = (32, 32, 3)
SPLIT_FOLDERS = {"train": "train_dir", "val": "test_dir", "test": "holdout_dir"}
FILE_NAME = re.compile(r"^c(?P<camera>\d+)_(?P<k>\d+)_(?P<frame>\d+)\.jpg$", re.IGNORECASE)


DATA_VARIABLE = "RESILINET_CAMERA_DATA"  # sets --data_dir when the flag is not given


def locate_root(data_dir: str, cache_dir: str) -> Path:
    """The folder holding train_dir, test_dir and holdout_dir (a .tar.gz is unpacked below cache_dir)."""
    source = Path(data_dir)
    if not data_dir or not source.exists():
        raise UserError(f"camera data {data_dir!r} does not exist: pass --data_dir=<the multiview-dataset folder "
                        f"or its .tar.gz> (or set {DATA_VARIABLE})")
    return dataset_root(unpack(source, Path(cache_dir)) if source.is_file() else source)


def dataset_root(folder: Path, source: Path | None = None) -> Path:
    """`folder` or its multiview-dataset subfolder, whichever holds the three split folders (`folder` first);
    else a UserError naming `source` (default `folder`) and the split folders the closest to complete lacks."""
    lacking = {candidate: [name for name in SPLIT_FOLDERS.values() if not (candidate / name).is_dir()]
               for candidate in (folder, folder / "multiview-dataset")}
    root = min(lacking, key=lambda candidate: len(lacking[candidate]))
    if lacking[root]:
        raise UserError(f"{source or folder} lacks {', '.join(lacking[root])}: it is not the multi-view dataset")
    return root


def unpack(archive: Path, cache_dir: Path) -> Path:
    """The folder below `cache_dir` that `archive` is unpacked into, one per archive content (keyed by
    its SHA-256), so another archive never reuses it; unpacked whole or not at all, and never replaced once
    there (two runs unpacking at once each unpack privately; the first to finish puts its copy in place)."""
    target = cache_dir / f"{archive.name}-{hashlib.sha256(archive.read_bytes()).hexdigest()[:16]}"
    if target.is_dir():
        return target
    check_writable_directory(cache_dir, "cache_dir")
    with created_directory(cache_dir), staged_directory(target, replace=False) as staging:
        with reading_tar(archive, ".tar.gz") as tar:
            tar.extractall(staging, filter="data")
        dataset_root(staging, archive)
    return target


def read_image(path: Path) -> np.ndarray:
    import cv2  # imported here, so that flag parsing stays fast

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise UserError(f"{path} is not a readable image")
    if image.shape != IMAGE_SHAPE:
        raise UserError(f"{path} is {image.shape[1]}x{image.shape[0]}, expected 32x32 colour")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def load_split(folder: Path) -> tuple[list[np.ndarray], np.ndarray, int]:
    """Views (one array per camera), labels, and the number of incomplete samples skipped."""
    groups: dict[tuple[int, str, str], dict[int, Path]] = defaultdict(dict)
    for label, name in enumerate(CLASSES):
        class_folder = folder / f"{name}_images"
        if not class_folder.is_dir():
            raise UserError(f"{class_folder} is missing or not a folder")
        for path in sorted(p for p in class_folder.iterdir() if not p.name.startswith(".")):
            match = FILE_NAME.match(path.name)
            if match is None:
                raise UserError(f"{path}: the name is not c<camera>_<k>_<frame>.jpg")
            camera = int(match["camera"])
            if camera >= NUM_CAMERAS:
                raise UserError(f"{path}: camera {camera} is not one of 0..{NUM_CAMERAS - 1}")
            groups[label, match["k"], match["frame"]][camera] = path
    complete = [(key, views) for key, views in sorted(groups.items()) if len(views) == NUM_CAMERAS]
    views = [np.empty((len(complete), *IMAGE_SHAPE), dtype=np.float32) for _ in range(NUM_CAMERAS)]
    for index, (_, paths) in enumerate(complete):
        for camera in range(NUM_CAMERAS):
            views[camera][index] = read_image(paths[camera]) / np.float32(255.0)
    labels = np.array([key[0] for key, _ in complete], dtype=np.int64)
    return views, labels, len(groups) - len(complete)


def load_camera(data_dir: str, cache_dir: str = "data/camera") -> Data:
    """train = train_dir, validation = test_dir, test = holdout_dir; incomplete samples skipped."""
    root = locate_root(data_dir, cache_dir)
    splits = {}
    for split, folder in SPLIT_FOLDERS.items():
        views, labels, skipped = load_split(root / folder)
        if len(labels) == 0:
            raise UserError(f"{root / folder} holds no sample with all six camera views")
        if skipped:
            print(f"camera data: skipped {skipped} sample(s) of {folder} with fewer than six views", flush=True)
        splits[split] = Split(views, labels)
    return Data(splits["train"], splits["val"], splits["test"], num_classes=len(CLASSES))
