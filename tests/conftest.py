"""Shared test helpers: the shared data folder, running an experiment script in-process, and the
environment of a subprocess on another Keras backend."""
from __future__ import annotations

import importlib.util
import json
import os
import runpy
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
EXPERIMENT_DIR = REPO / "Experiment"
SHARED_DATA = REPO.parent / "shared" / "data"


def shared_archive(name: str) -> Path:
    """Path of an archive in ../shared/data, or skip the test saying why."""
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared test data is not beside this checkout")
    return path


def extract_members(archive: Path, destination: Path, keep) -> Path:
    """Extract the members of a .tar.gz for which keep(member_name) is true."""
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.isfile() and keep(m.name)]
        tar.extractall(destination, members=members, filter="data")
    return destination


def run_script(script: str, *flags: str, cwd: Path) -> dict:
    """Run Experiment/<script> as `python Experiment/<script> flags...` would, inside this process,
    with `cwd` as the working directory; return the parsed JSON results of the run."""
    argv, previous = sys.argv, Path.cwd()
    sys.argv = [str(EXPERIMENT_DIR / script), *flags]
    os.chdir(cwd)
    try:
        runpy.run_path(str(EXPERIMENT_DIR / script), run_name="__main__")
    finally:
        sys.argv = argv
        os.chdir(previous)
    logs = sorted((cwd / "results").glob(script.removesuffix(".py") + "_*.json"))
    assert logs, f"{script} wrote no results JSON in {cwd / 'results'}"
    return json.loads(logs[-1].read_text())


def backend_environment(backend: str) -> dict[str, str]:
    """Environment of a subprocess that imports this checkout's `resilinet` under Keras backend `backend`,
    or skip the test saying why when that backend's package is not installed."""
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"the {backend} package is not installed, so the {backend} Keras backend is not tested")
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": path, "TF_CPP_MIN_LOG_LEVEL": "2"}


def write_mhealth_logs(folder: Path, rows_per_subject: int = 200, seed: int = 0) -> Path:
    """Generated logs in the MHEALTH format: 23 float channels, then an integer label 0..12.

    Each class has its own mean, so the data is learnable in a few epochs.
    """
    rng = np.random.default_rng(seed)
    centers = rng.normal(0.0, 3.0, size=(13, 23))
    folder.mkdir(parents=True, exist_ok=True)
    for subject in range(1, 11):
        labels = rng.integers(0, 13, size=rows_per_subject)
        values = centers[labels] + rng.normal(0.0, 1.0, size=(rows_per_subject, 23))
        lines = ["\t".join(f"{v:.5f}" for v in row) + f"\t{label}" for row, label in zip(values, labels)]
        (folder / f"mHealth_subject{subject}.log").write_text("\n".join(lines) + "\n")
    return folder
