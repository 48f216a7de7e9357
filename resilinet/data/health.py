"""UCI MHEALTH: download, verify, merge the ten subject logs and split them.

pandas and scikit-learn are imported where they are used, so that flag parsing stays fast.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import numpy as np

from resilinet.dataset import Data, Split
from resilinet.errors import UserError

MHEALTH_URL = "https://archive.ics.uci.edu/static/public/319/mhealth+dataset.zip"
NUM_SENSOR_CHANNELS = 23
SUBJECTS = tuple(range(1, 11))
MHEALTH_SHA256 = {
    1: "da8d1bbf644a206886333f945a1dd7fe5081382b3bb3ee42821f08ad765732e4",
    2: "20e288750fe9f4f0495686fabf1500bfe655a549f0d2c3a9be5aa6456461b8f1",
    3: "90ead135c9fa9f1188e3b1f7afc0c95899a0614a15917cf3590f52923d6e03fd",
    4: "3b66f87a292f4cc457aea18cb7e15a10c18055c803df27f5284c6a1c5751a469",
    5: "380e526a85bde64baebd1d1a2478c4cfad947a4ab994c8b39b8dcda195f78a30",
    6: "4b8bc81186229e096937f37f9ae070017ee653005b21f88fcd0504e9195f8926",
    7: "5e372b2fad64a3ebaadd103ec09cde68d448ef5b707b010d02f438b8b9203b1f",
    8: "c6ddb8926be4c193890a28cc84cafe35c16a4bc14f23c3e696d504643652a61b",
    9: "fa68f90a9dfeda47abce41ebc1dec8ce55f66dc56d513ab90a6ae20ad045f2c9",
    10: "382d3d7b58e1fe24679fb241fd7e48ce1992757f6b1b237a56cd660e8f1fabda",
}
SPLITS = ("rows", "subjects")
SUBJECT_SPLIT = {"train": tuple(range(1, 9)), "val": (9,), "test": (10,)}


def log_name(subject: int) -> str:
    return f"mHealth_subject{subject}.log"


def _manual_instructions(url: str) -> str:
    return (f"download {url} by hand, unzip it, and pass --data_dir=<folder holding "
            f"mHealth_subject1.log .. mHealth_subject10.log> (or set RESILINET_HEALTH_DATA)")


def download(url: str, destination: Path, timeout: float = 60.0) -> Path:
    """Download `url` to `destination` (atomically)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    print(f"downloading {url} ...", flush=True)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
            shutil.copyfileobj(response, out)
    except (urllib.error.URLError, OSError) as error:
        partial.unlink(missing_ok=True)
        raise UserError(f"could not download the MHEALTH dataset from {url} ({error}); "
                        f"{_manual_instructions(url)}") from None
    os.replace(partial, destination)
    return destination


def extract_logs(archive: Path, destination: Path) -> Path:
    """Unzip the subject logs of an MHEALTH zip into `destination`; return that folder."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            members = {Path(name).name: name for name in zipped.namelist()}
            missing = [log_name(s) for s in SUBJECTS if log_name(s) not in members]
            if missing:
                raise UserError(f"{archive} lacks {', '.join(missing)}: it is not the MHEALTH archive")
            destination.mkdir(parents=True, exist_ok=True)
            for subject in SUBJECTS:
                target = destination / log_name(subject)
                with zipped.open(members[log_name(subject)]) as source, open(target, "wb") as out:
                    shutil.copyfileobj(source, out)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as error:
        raise UserError(f"{archive} is not a readable zip archive ({error}); delete it and try again") from None
    return destination


def find_logs(folder: Path) -> dict[int, Path]:
    """The ten subject logs in `folder` or anywhere below it."""
    found = {}
    for subject in SUBJECTS:
        matches = sorted(folder.rglob(log_name(subject)))
        if not matches:
            raise UserError(f"{folder} has no {log_name(subject)}; {_manual_instructions(MHEALTH_URL)}")
        found[subject] = matches[0]
    return found


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(logs: dict[int, Path], checksums: dict[int, str]) -> None:
    for subject, path in logs.items():
        actual = sha256(path)
        if actual != checksums[subject]:
            raise UserError(f"{path}: SHA-256 {actual} does not match the published {checksums[subject]}; "
                            "the file is corrupt or not the UCI original (pass --verify_checksums=false "
                            "to use it anyway)")


def _locate_bad_line(path: Path) -> None:
    """Raise a UserError naming the first malformed line of a subject log."""
    with open(path, errors="replace") as source:
        for number, line in enumerate(source, start=1):
            fields = line.split()
            if len(fields) != NUM_SENSOR_CHANNELS + 1:
                raise UserError(f"{path}, line {number}: expected {NUM_SENSOR_CHANNELS + 1} whitespace-separated "
                                f"numbers ({NUM_SENSOR_CHANNELS} sensor channels, then the label), "
                                f"found {len(fields)}")
            for field in fields:
                try:
                    float(field)
                except ValueError:
                    raise UserError(f"{path}, line {number}: {field!r} is not a number") from None
            label = float(fields[-1])
            if label != int(label) or not 0 <= label <= 12:
                raise UserError(f"{path}, line {number}: label {fields[-1]!r} is not an integer in 0..12")
    raise UserError(f"{path} is empty")


def read_log(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Sensor values (n, 23) and labels (n,) of one subject log; a clear error if malformed."""
    import pandas as pd

    try:
        frame = pd.read_csv(path, sep=r"\s+", header=None, dtype=np.float64, engine="c")
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError):
        frame = None
    if frame is None or frame.shape[1] != NUM_SENSOR_CHANNELS + 1 or frame.isna().any().any():
        _locate_bad_line(path)
    values = frame.to_numpy()
    labels = values[:, -1]
    if np.any(labels != np.round(labels)) or np.any((labels < 0) | (labels > 12)):
        _locate_bad_line(path)
    return values[:, :-1], labels.astype(np.int64)


def obtain_logs(data_dir: str, cache_dir: str, url: str, verify_checksums: bool) -> dict[int, Path]:
    """Subject logs from `data_dir` (a folder or the zip), else the cache, else a download."""
    checksums = MHEALTH_SHA256 if verify_checksums else None
    if data_dir:
        source = Path(data_dir)
        if not source.exists():
            raise UserError(f"--data_dir {source} does not exist; {_manual_instructions(url)}")
        if source.is_file():
            source = extract_logs(source, Path(cache_dir) / "logs")
        logs = find_logs(source)
    else:
        cached = Path(cache_dir) / "logs"
        if not all((cached / log_name(s)).exists() for s in SUBJECTS):
            archive = download(url, Path(cache_dir) / "mhealth_dataset.zip")
            extract_logs(archive, cached)
        logs = find_logs(cached)
    if checksums:
        verify(logs, checksums)
    return logs


def load_mhealth(
    data_dir: str = "",
    cache_dir: str = "data/mhealth",
    url: str = MHEALTH_URL,
    verify_checksums: bool = True,
    truncate_sensor_values: bool = False,
    drop_first_row: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merged sensor values, labels and subject ids of all ten subjects, label 0 dropped.

    `truncate_sensor_values` and `drop_first_row` reproduce two quirks of the original
    preprocessing (integer-formatted merge; first merged line read as a header).
    """
    logs = obtain_logs(data_dir, cache_dir, url, verify_checksums)
    parts = [read_log(logs[s]) for s in SUBJECTS]
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    subject = np.concatenate([np.full(len(p[1]), s) for s, p in zip(SUBJECTS, parts)])
    if truncate_sensor_values:
        x = np.trunc(x)
    if drop_first_row:
        x, y, subject = x[1:], y[1:], subject[1:]
    keep = y != 0
    return x[keep].astype(np.float32), y[keep], subject[keep]


def split_health(x: np.ndarray, y: np.ndarray, subject: np.ndarray, split: str = "rows") -> Data:
    """80/10/10 split of shuffled rows (the paper's; random_state 42), or by subject (1-8/9/10)."""
    from sklearn.model_selection import train_test_split

    if split == "rows":
        x_train, x_rest, y_train, y_rest = train_test_split(x, y, test_size=0.2, random_state=42, shuffle=True)
        x_val, x_test, y_val, y_test = train_test_split(x_rest, y_rest, test_size=0.5, random_state=42,
                                                        shuffle=True)
    elif split == "subjects":
        def pick(name):
            mask = np.isin(subject, SUBJECT_SPLIT[name])
            return x[mask], y[mask]
        (x_train, y_train), (x_val, y_val), (x_test, y_test) = pick("train"), pick("val"), pick("test")
    else:
        raise UserError(f"--split must be one of {', '.join(SPLITS)}, got {split!r}")
    for name, labels in (("training", y_train), ("validation", y_val), ("test", y_test)):
        if len(labels) == 0:
            raise UserError(f"the {name} split is empty: the MHEALTH data is too small or lacks subjects")
    return Data(Split(x_train, y_train), Split(x_val, y_val), Split(x_test, y_test), num_classes=13)
