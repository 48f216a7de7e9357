"""CIFAR-10: from keras.datasets, or from class-named image folders (a folder or its .tar archive).

The images of train/ and test/ are merged, scaled to [0, 1] and split 80/10/10 with
random_state 42, as in the paper. Labels are the positions of the class names in `CLASS_NAMES`
(alphabetical, the order of keras.datasets.cifar10). OpenCV, Keras and scikit-learn are imported
where they are used, so that flag parsing stays fast.
"""
from __future__ import annotations

from pathlib import Path, PurePosixPath

import numpy as np

from resilinet.base.errors import UserError
from resilinet.core.splits import Data, Split
from resilinet.data.archives import reading_tar

CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
IMAGE_SHAPE = (32, 32, 3)
SOURCE_SPLITS = ("train", "test")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
DATA_VARIABLE = "RESILINET_CIFAR_DATA"  # sets --data_dir when the flag is not given
INSTRUCTIONS = (f"pass --data_dir=<folder with train/<class>/*.jpg and test/<class>/*.jpg, or its .tar.gz> "
                f"(or set {DATA_VARIABLE}); leave it empty to download with keras.datasets.cifar10")


def decode_image(data: bytes, name: str) -> np.ndarray:
    """An RGB uint8 image of CIFAR size from encoded bytes; a UserError naming `name` otherwise."""
    import cv2

    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    if image is None:
        raise UserError(f"{name}: not a readable image (corrupt or not an image file)")
    if image.shape != IMAGE_SHAPE:
        raise UserError(f"{name}: image is {image.shape[1]}x{image.shape[0]}, CIFAR-10 images are "
                        f"{IMAGE_SHAPE[1]}x{IMAGE_SHAPE[0]}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _stack(images: dict[tuple[str, str], list[tuple[str, bytes]]], source: str) -> tuple[np.ndarray, np.ndarray]:
    """Decode the images found per (split, class), train before test, each in class and file order."""
    unknown = sorted(f"{split}/{class_name}/" for split, class_name in images if class_name not in CLASS_NAMES)
    if unknown:
        raise UserError(f"{source} has folders that are not CIFAR-10 classes: {', '.join(unknown)} "
                        f"(classes: {', '.join(CLASS_NAMES)})")
    x, y = [], []
    for split in SOURCE_SPLITS:
        for label, class_name in enumerate(CLASS_NAMES):
            files = images.get((split, class_name))
            if not files:
                raise UserError(f"{source} has no folder {split}/{class_name}/ with images: every CIFAR-10 class "
                                f"needs one under train/ and test/ ({', '.join(CLASS_NAMES)})")
            for name, data in sorted(files):
                x.append(decode_image(data, name))
                y.append(label)
    return np.stack(x), np.asarray(y, dtype=np.int64)


def _split_root(folder: Path) -> Path:
    """`folder` if it holds train/ and test/, else its only subfolder that does."""
    if any((folder / split).is_dir() for split in SOURCE_SPLITS):
        return folder
    candidates = [child for child in folder.iterdir() if child.is_dir() and (child / SOURCE_SPLITS[0]).is_dir()]
    return candidates[0] if len(candidates) == 1 else folder


def read_folder(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    root = _split_root(folder)
    images = {}
    for split in SOURCE_SPLITS:
        split_dir = root / split
        if not split_dir.is_dir():
            raise UserError(f"{root} has no {split}/ folder; {INSTRUCTIONS}")
        for class_dir in split_dir.iterdir():
            if class_dir.is_dir() and not class_dir.name.startswith("."):
                images[split, class_dir.name] = [(str(path), path.read_bytes()) for path in class_dir.iterdir()
                                                 if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file()]
    return _stack(images, str(root))


def read_archive(archive: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images from a .tar(.gz) of the folder layout, read without unpacking it."""
    images = {}
    with reading_tar(archive, ".tar(.gz)", f"; {INSTRUCTIONS}") as tar:
        for member in tar:
            path = PurePosixPath(member.name)
            if not member.isfile() or len(path.parts) < 3 or path.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            split, class_name = path.parts[-3], path.parts[-2]
            if split in SOURCE_SPLITS:
                images.setdefault((split, class_name), []).append((f"{archive}:{member.name}",
                                                                   tar.extractfile(member).read()))
    return _stack(images, str(archive))


def read_keras() -> tuple[np.ndarray, np.ndarray]:
    import keras

    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
    except Exception as error:  # keras' get_file raises a bare Exception when the download fails
        raise UserError(f"could not load CIFAR-10 with keras.datasets.cifar10 ({error}); {INSTRUCTIONS}") from None
    return np.concatenate([x_train, x_test]), np.concatenate([y_train, y_test]).ravel().astype(np.int64)


def load_cifar10(data_dir: str = "") -> tuple[np.ndarray, np.ndarray]:
    """All 60k images (uint8, train then test) and their labels, from `data_dir` or keras.datasets."""
    if not data_dir:
        return read_keras()
    source = Path(data_dir)
    if not source.exists():
        raise UserError(f"CIFAR-10 data {source} does not exist; {INSTRUCTIONS}")
    return read_archive(source) if source.is_file() else read_folder(source)


def split_cifar10(x: np.ndarray, y: np.ndarray) -> Data:
    """80/10/10 shuffled split (random_state 42: first 80/20, then the 20 halved), pixels / 255."""
    from sklearn.model_selection import train_test_split

    if len(y) < 10:
        raise UserError(f"CIFAR-10 data holds {len(y)} images: too few to split 80/10/10")
    train, rest = train_test_split(np.arange(len(y)), test_size=0.2, random_state=42, shuffle=True)
    val, test = train_test_split(rest, test_size=0.5, random_state=42, shuffle=True)

    def part(indices):
        return Split(np.divide(x[indices], np.float32(255.0), dtype=np.float32), y[indices])

    return Data(part(train), part(val), part(test), num_classes=len(CLASS_NAMES))


def load_data(data_dir: str = "") -> Data:
    return split_cifar10(*load_cifar10(data_dir))
