"""The CIFAR run spans sessions through the repository: snapshot.sh stores a work folder's results file, training
logs and the state of the training in progress under reproduction/cifar/, and restore.sh (run.sh's first step)
puts them back into a work folder at any path, where the resume looks for them."""
import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from resilinet.runs.results import run_files_of

EXPERIMENT = "cifar_mobilenet_average_accuracy"
NAME = f"{EXPERIMENT}_20260101-000000"
STATE = f"models/{EXPERIMENT}/20260101-000000/ResiliNet_iter1.training.npz"
SCRIPTS = ("snapshot.sh", "restore.sh", "run_folders.py")


@pytest.fixture
def repository(tmp_path):
    """A repository holding only the scripts, so what they store is all there is under reproduction/cifar/."""
    folder = tmp_path / "repository" / "reproduction" / "cifar"
    folder.mkdir(parents=True)
    for script in SCRIPTS:
        shutil.copy(REPO / "reproduction" / "cifar" / script, folder / script)
    return tmp_path / "repository"


def run(script: Path, *args) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(["bash", str(script), *map(str, args)], capture_output=True, text=True, env=env, timeout=120)


def work_folder(work: Path) -> dict[str, bytes]:
    """A run's work folder with no finished model yet (so no report is made): the files that must travel."""
    weights, logs = work / "models" / EXPERIMENT / "20260101-000000", work / "results" / NAME
    weights.mkdir(parents=True)
    logs.mkdir(parents=True)
    document = {"experiment": EXPERIMENT, "records": [],
                "run": {"weights_dir": str(weights), "training_logs": str(logs),
                        "relative_to_results": {"weights_dir": f"../models/{EXPERIMENT}/20260101-000000",
                                                "training_logs": NAME}}}
    files = {f"results/{NAME}.json": json.dumps(document).encode(),
             f"results/{NAME}/ResiliNet_iter1.csv": b"epoch,loss\n1,2.3\n2,1.9\n",
             STATE: os.urandom(50_000)}
    for path, data in files.items():
        (work / path).write_bytes(data)
    return files


def test_a_snapshot_restored_in_another_folder_gives_the_resume_every_file_where_it_looks(repository, tmp_path):
    files = work_folder(tmp_path / "session1")
    stored = run(repository / "reproduction/cifar/snapshot.sh", tmp_path / "session1", "--with-state")
    assert stored.returncode == 0, stored.stderr
    state = repository / f"reproduction/cifar/state/{NAME}/ResiliNet_iter1.training.npz.gz"
    assert gzip.decompress(state.read_bytes()) == files[STATE]
    assert not list(repository.rglob("*.partial"))

    work = tmp_path / "elsewhere" / "session2"
    restored = run(repository / "reproduction/cifar/restore.sh", work)
    assert restored.returncode == 0 and restored.stdout == f"restored {NAME} from reproduction/cifar/\n", restored
    for path, data in files.items():
        assert (work / path).read_bytes() == data, path
    document = json.loads((work / f"results/{NAME}.json").read_text())
    located = run_files_of(document, work / f"results/{NAME}.json", EXPERIMENT, work / "models")
    assert (located.weights_dir, located.log_dir) == (work / f"models/{EXPERIMENT}/20260101-000000",
                                                      work / f"results/{NAME}"), "not where the resume looks first"
    again = run(repository / "reproduction/cifar/restore.sh", work)
    assert again.returncode == 0 and again.stdout == "", "a run restored once is left as it is"


def test_a_restore_cut_short_is_done_again_whole(repository, tmp_path):
    files = work_folder(tmp_path / "session1")
    assert run(repository / "reproduction/cifar/snapshot.sh", tmp_path / "session1", "--with-state").returncode == 0
    work = tmp_path / "session2"
    state = work / STATE
    state.parent.mkdir(parents=True)
    state.with_name(state.name + ".partial").write_bytes(b"cut short")  # a restore killed while unpacking
    restored = run(repository / "reproduction/cifar/restore.sh", work)
    assert restored.returncode == 0, restored.stderr
    assert state.read_bytes() == files[STATE]
    assert (work / f"results/{NAME}.json").read_bytes() == files[f"results/{NAME}.json"]
