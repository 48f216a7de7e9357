"""Folders a run writes into: checked before any work, and never left behind empty by a failure."""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from resilinet.base.errors import UserError


def missing_folders(path: Path) -> list[Path]:
    """`path` and those of its parents that do not exist yet, deepest first."""
    return [folder for folder in (path, *path.parents) if not folder.exists()]


def remove_empty(folders: list[Path]) -> None:
    """Remove the folders (deepest first) as long as they are empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


@contextmanager
def created_directory(path: Path) -> Iterator[Path]:
    """Create `path` with its parents; if the block fails, remove the folders created here while empty."""
    path = Path(path)
    created = missing_folders(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        yield path
    except BaseException:
        remove_empty(created)
        raise


@contextmanager
def staged_directory(destination: Path, replace: bool = True) -> Iterator[Path]:
    """A private temporary folder beside `destination` to fill; when the block succeeds it replaces
    `destination` (with `replace=False` it is dropped if another process has put a complete `destination`
    in place meanwhile, so runs side by side never see each other's half-written files); when the block
    fails it is removed, so `destination` is never left half-written."""
    destination = Path(destination)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}-", dir=destination.parent))
    try:
        yield staging
        if replace:
            shutil.rmtree(destination, ignore_errors=True)
        try:
            os.rename(staging, destination)
        except OSError:
            if replace or not destination.is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def check_writable_directory(path: str | Path, flag: str) -> None:
    """Raise a UserError naming --`flag` unless a file can be created in `path` (a folder, made if missing): a
    temporary file tells (permission bits say nothing for root); it and the folders made for it are removed."""
    path = Path(path)
    blocking = next((f for f in reversed((path, *path.parents)) if f.exists() and not f.is_dir()), None)
    if blocking == path:
        raise UserError(f"--{flag} {path} is a file, not a folder")
    if blocking is not None:
        raise UserError(f"--{flag} {path} cannot be created: {blocking} is a file, not a folder")
    created = missing_folders(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as error:
        raise UserError(f"--{flag} {path}: cannot write a file there ({error.strerror or error})") from None
    finally:
        remove_empty(created)


def check_output_dirs(config, experiment: str) -> None:
    """Check, before any data is loaded, that the run can write its results and (when training) its weights."""
    check_writable_directory(config.results_dir, "results_dir")
    if not config.evaluate_saved:
        check_writable_directory(Path(config.models_dir) / experiment, "models_dir")
