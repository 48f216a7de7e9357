"""UCI MHEALTH: download, verify, merge the ten subject logs and split them."""
from __future__ import annotations

import hashlib
import io
import math
import shutil
import urllib.error
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from resilinet.base.errors import UserError
from resilinet.base.files import write_with
from resilinet.base.folders import (
    check_writable_directory,
    created_directory,
    staged_directory,
)
from resilinet.core.splits import Data, Split

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
# What reading a damaged zip raises (CRC and deflate errors, truncation, unsupported or encrypted members)
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError)
SUBJECT_SPLIT = {"train": tuple(range(1, 9)), "val": (9,), "test": (10,)}


DATA_VARIABLE = "RESILINET_HEALTH_DATA"  # sets --data_dir when the flag is not given


def log_name(subject: int) -> str:
    return f"mHealth_subject{subject}.log"


def _manual_instructions(url: str) -> str:
    return (f"download {url} by hand and pass --data_dir=<that zip, or a folder holding "
            f"mHealth_subject1.log .. mHealth_subject10.log> (or set {DATA_VARIABLE})")


def download(url: str, destination: Path, timeout: float = 60.0) -> Path:
    """Download `url` to `destination` (atomically; nothing is left behind when it fails)."""
    def fetch(partial: Path) -> None:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
                shutil.copyfileobj(response, out)
        except OSError as error:  # urllib's errors among them
            raise UserError(f"could not download the MHEALTH dataset from {url} ({error}); "
                            f"{_manual_instructions(url)}") from None

    print(f"downloading {url} ...", flush=True)
    write_with(destination, destination.with_name(destination.name + ".partial"), fetch)
    return destination


@dataclass(frozen=True)
class SubjectLog:
    """One subject log: a file, or a member of a zip archive (`advice`: what to do when it is corrupt)."""

    path: Path
    member: str | None = None
    advice: str = ""

    @property
    def name(self) -> str:
        """How messages refer to the log: the file, or archive:member."""
        return str(self.path) if self.member is None else f"{self.path}:{self.member}"

    def read(self) -> bytes:
        try:
            if self.member is None:
                return self.path.read_bytes()
            with zipfile.ZipFile(self.path) as archive:
                return archive.read(self.member)
        except ZIP_ERRORS as error:
            raise UserError(f"{self.name} is corrupt ({error}); {self.advice}") from None
        except OSError as error:
            raise UserError(f"{self.name} cannot be read ({error.strerror or error})") from None


def zip_logs(archive: Path, advice: str) -> dict[int, SubjectLog]:
    """The ten subject logs inside an MHEALTH zip (in any folder of it), read in place."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            names = [name for name in zipped.namelist() if not name.endswith("/")]
    except ZIP_ERRORS as error:
        raise UserError(f"{archive} is not a readable zip archive ({error}); {advice}") from None
    members = {}
    for name in names:
        base = PurePosixPath(name).name
        if base in {log_name(s) for s in SUBJECTS} and base in members:
            raise UserError(f"{archive} holds {base} more than once ({members[base]}, {name}): keep one copy")
        members[base] = name
    missing = [log_name(s) for s in SUBJECTS if log_name(s) not in members]
    if missing:
        raise UserError(f"{archive} lacks {', '.join(missing)}: it is not the MHEALTH archive")
    return {s: SubjectLog(archive, members[log_name(s)], advice) for s in SUBJECTS}


def extract_download(archive: Path, destination: Path, checksums: dict[int, str] | None, url: str) -> Path:
    """Unzip the downloaded MHEALTH zip's subject logs into `destination`, whole (each checked against
    `checksums`) or not at all; when one fails, the download is deleted."""
    try:
        logs = zip_logs(archive, f"the download was deleted: run again to download it anew, or "
                                 f"{_manual_instructions(url)}")
        with staged_directory(destination) as staging:
            for subject, log in logs.items():
                data = log.read()
                if checksums:
                    verify(log.name, data, checksums[subject], "the download is not the published file and was "
                           "deleted (pass --verify_checksums=false to use it)")
                (staging / log_name(subject)).write_bytes(data)
    except BaseException:
        archive.unlink(missing_ok=True)
        raise
    return destination


def find_logs(folder: Path) -> dict[int, SubjectLog]:
    """The ten subject logs in `folder` or anywhere below it."""
    found = {}
    for subject in SUBJECTS:
        matches = sorted(p for p in folder.rglob(log_name(subject)) if p.is_file())
        if not matches:
            raise UserError(f"{folder} has no {log_name(subject)}; {_manual_instructions(MHEALTH_URL)}")
        if len(matches) > 1:
            raise UserError(f"{folder} holds {log_name(subject)} more than once ({', '.join(map(str, matches))}): "
                            "keep one copy below --data_dir, or point it at the folder of the one to use")
        found[subject] = SubjectLog(matches[0])
    return found


def verify(name: str, data: bytes, expected: str, advice: str) -> None:
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise UserError(f"{name}: SHA-256 {actual} does not match the published {expected}; {advice}")


def _locate_bad_line(data: bytes, name: str, parse_error: Exception | None) -> None:
    """Raise a UserError naming the first malformed line and column of a subject log."""
    rows = 0
    for number, line in enumerate(data.decode(errors="replace").splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue  # blank lines carry no sample (the reader skips them too)
        rows += 1
        where = f"{name}, line {number}"
        if len(fields) != NUM_SENSOR_CHANNELS + 1:
            raise UserError(f"{where}: expected {NUM_SENSOR_CHANNELS + 1} whitespace-separated numbers "
                            f"({NUM_SENSOR_CHANNELS} sensor channels, then the label), found {len(fields)}")
        for column, field in enumerate(fields[:-1], start=1):
            if not _is_finite_number(field):
                raise UserError(f"{where}, column {column}: sensor value {field!r} is not a finite number")
        label = fields[-1]
        if not _is_finite_number(label) or float(label) != int(float(label)) or not 0 <= float(label) <= 12:
            raise UserError(f"{where}, column {NUM_SENSOR_CHANNELS + 1}: label {label!r} is not an integer in 0..12")
    if rows == 0:
        raise UserError(f"{name} is empty: a subject log holds one line of {NUM_SENSOR_CHANNELS + 1} numbers "
                        "per sample")
    raise UserError(f"{name} could not be read as a subject log" + (f" ({parse_error})" if parse_error else ""))


def _is_finite_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def parse_log(data: bytes, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Sensor values (n, 23) and labels (n,) of one subject log's bytes; an error naming `name`,
    line and column if malformed."""
    import pandas as pd  # imported here, so that flag parsing stays fast

    try:
        values = pd.read_csv(io.BytesIO(data), sep=r"\s+", header=None, dtype=np.float64, engine="c").to_numpy()
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        _locate_bad_line(data, name, error)
    labels = values[:, -1]
    if (values.shape[1] != NUM_SENSOR_CHANNELS + 1 or not np.isfinite(values).all()
            or np.any(labels != np.round(labels)) or np.any((labels < 0) | (labels > 12))):
        _locate_bad_line(data, name, None)
    return values[:, :-1], labels.astype(np.int64)


def obtain_logs(data_dir: str, cache_dir: str, url: str, verify_checksums: bool) -> dict[int, SubjectLog]:
    """Subject logs from `data_dir` (a folder, or the zip read in place), else the cache, else a download
    (the only thing cached, in `cache_dir`/logs; a failed download leaves nothing behind)."""
    checksums = MHEALTH_SHA256 if verify_checksums else None
    if data_dir:
        source = Path(data_dir)
        if not source.exists():
            raise UserError(f"--data_dir {source} does not exist; {_manual_instructions(url)}")
        if source.is_file():
            return zip_logs(source, f"the archive is damaged: download a fresh copy from {url}")
        return find_logs(source)
    cached = Path(cache_dir) / "logs"
    if not all((cached / log_name(s)).is_file() for s in SUBJECTS):
        check_writable_directory(cache_dir, "cache_dir")
        with created_directory(Path(cache_dir)):
            archive = download(url, Path(cache_dir) / "mhealth_dataset.zip")
            extract_download(archive, cached, checksums, url)
    return find_logs(cached)


def load_mhealth(data_dir: str = "", cache_dir: str = "data/mhealth", url: str = MHEALTH_URL,
                 verify_checksums: bool = True, truncate_sensor_values: bool = False,
                 drop_first_row: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merged sensor values, labels and subject ids of all ten subjects, label 0 dropped. `truncate_sensor_values`
    and `drop_first_row` reproduce two quirks of the original preprocessing (integer-formatted merge; first
    merged line read as a header)."""
    logs = obtain_logs(data_dir, cache_dir, url, verify_checksums)
    # what to do when a log does not match its published checksum, fitting where it came from
    advice = ("the file is corrupt or not the UCI original (pass --verify_checksums=false to use it anyway)"
              if data_dir else f"the cached download was altered: delete {Path(cache_dir) / 'logs'} and run "
              "again to download it anew")
    parts = []
    for subject in SUBJECTS:
        data = logs[subject].read()
        if verify_checksums:
            verify(logs[subject].name, data, MHEALTH_SHA256[subject], advice)
        parts.append(parse_log(data, logs[subject].name))
    x, y = (np.concatenate(column) for column in zip(*parts))
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
        train, rest = train_test_split(np.arange(len(y)), test_size=0.2, random_state=42, shuffle=True)
        parts = train, *train_test_split(rest, test_size=0.5, random_state=42, shuffle=True)
    elif split == "subjects":
        parts = [np.flatnonzero(np.isin(subject, SUBJECT_SPLIT[name])) for name in ("train", "val", "test")]
    else:
        raise UserError(f"--split must be one of {', '.join(SPLITS)}, got {split!r}")
    for name, indices in zip(("training", "validation", "test"), parts):
        if len(indices) == 0:
            raise UserError(f"the {name} split is empty: the MHEALTH data is too small or lacks subjects")
    return Data(*(Split(x[indices], y[indices]) for indices in parts), num_classes=13)
