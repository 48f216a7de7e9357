"""The CIFAR run spans sessions through the repository: snapshot.sh stores a work folder's results file, training
logs and the state of the training in progress under reproduction/cifar/, and restore.sh (run.sh's first step)
puts them back into a work folder at any path, where the resume looks for them."""
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO

from resilinet.runs.results import run_files_of
from resilinet.runs.training_state import TrainingState, save_state

EXPERIMENT = "cifar_mobilenet_average_accuracy"
NAME = f"{EXPERIMENT}_20260101-000000"
STATE = f"models/{EXPERIMENT}/20260101-000000/ResiliNet_iter1.training.npz"
SCRIPTS = ("snapshot.sh", "restore.sh", "run_folders.py", "stored_ahead.py")


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


def state_after(epoch: int) -> bytes:
    """A training state saved by the training after `epoch`, with weights to tell it by."""
    weights = [np.full(4, epoch, dtype=np.float32)]
    with tempfile.TemporaryDirectory() as folder:
        save_state(Path(folder) / "state.npz", TrainingState(epoch, 0.5, epoch, weights, weights, [], "job"))
        return (Path(folder) / "state.npz").read_bytes()


def earlier_session(work: Path, records: list, state: bytes | None, log_rows: int) -> None:
    """The run as a session before left it in `work` on this machine."""
    work_folder(work)
    path = work / f"results/{NAME}.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "records": records}))
    rows = "".join(f"{epoch},2\n" for epoch in range(1, log_rows + 1))
    (work / f"results/{NAME}/ResiliNet_iter1.csv").write_text("epoch,loss\n" + rows)
    (work / STATE).unlink()
    if state is not None:
        (work / STATE).write_bytes(state)


def store(repository: Path, work: Path) -> None:
    """What snapshot.sh --with-state stores of `work`'s run (by hand: its records are not ones a report can read)."""
    stored = repository / "reproduction/cifar"
    (stored / "results").mkdir(exist_ok=True)
    (stored / f"results/{NAME}.json.gz").write_bytes(gzip.compress((work / f"results/{NAME}.json").read_bytes()))
    shutil.copytree(work / f"results/{NAME}", stored / f"results/{NAME}")
    (stored / f"state/{NAME}").mkdir(parents=True)
    (stored / f"state/{NAME}/ResiliNet_iter1.training.npz.gz").write_bytes(gzip.compress((work / STATE).read_bytes()))


VANILLA = {"iteration": 1, "variant": "Vanilla"}


AHEAD_BY_ITS_STATE = "its state of ResiliNet_iter1.training.npz is after epoch 3, the work folder's "


@pytest.mark.parametrize("state, records, ahead", [
    (state_after(1), [VANILLA], AHEAD_BY_ITS_STATE + "after epoch 1"),
    (None, [VANILLA], AHEAD_BY_ITS_STATE + "missing"),
    (b"cut short", [VANILLA], AHEAD_BY_ITS_STATE + "after epoch 0"),
    (state_after(3), [], f"it holds 1 record(s) that WORK/results/{NAME}.json lacks"),
    (state_after(3), [VANILLA], None),
    (state_after(5), [VANILLA], None),
    (state_after(1), [VANILLA, {"iteration": 1, "variant": "DFG"}], None),
], ids=["an earlier epoch", "no state yet", "a damaged state", "a record fewer", "the same", "a later epoch",
        "a record more"])
def test_an_earlier_sessions_copy_of_the_run_is_replaced_by_a_stored_run_that_went_further(repository, tmp_path,
                                                                                           state, records, ahead):
    earlier_session(tmp_path / "session1", [VANILLA], state_after(3), log_rows=3)
    store(repository, tmp_path / "session1")
    work = tmp_path / "machine" / "work"
    earlier_session(work, records, state, log_rows=1)
    before = {path: path.read_bytes() for path in work.rglob("*") if path.is_file()}
    restored = run(repository / "reproduction/cifar/restore.sh", work)
    assert restored.returncode == 0, restored.stderr
    if ahead is None:
        assert restored.stdout == "", "a copy as far as the stored run, or further, is left as it is"
        assert {path: path.read_bytes() for path in work.rglob("*") if path.is_file()} == before
        return
    assert restored.stdout == (f"{NAME}: the run stored under reproduction/cifar/ is ahead of {work}'s "
                               f"({ahead.replace('WORK', str(work))}): putting it back\n"
                               f"restored {NAME} from reproduction/cifar/\n")
    for path in (STATE, f"results/{NAME}.json", f"results/{NAME}/ResiliNet_iter1.csv"):
        assert (work / path).read_bytes() == (tmp_path / "session1" / path).read_bytes(), path
    assert not list(work.rglob("*.partial"))
    again = run(repository / "reproduction/cifar/restore.sh", work)
    assert again.returncode == 0 and again.stdout == "", "put back once"


def test_a_damaged_stored_state_leaves_an_earlier_sessions_copy_as_it_is(repository, tmp_path):
    earlier_session(tmp_path / "session1", [VANILLA], state_after(3), log_rows=3)
    store(repository, tmp_path / "session1")
    stored_state = repository / f"reproduction/cifar/state/{NAME}/ResiliNet_iter1.training.npz.gz"
    stored_state.write_bytes(stored_state.read_bytes()[:100])
    work = tmp_path / "machine" / "work"
    earlier_session(work, [VANILLA], state_after(1), log_rows=1)
    before = {path: path.read_bytes() for path in work.rglob("*") if path.is_file()}
    restored = run(repository / "reproduction/cifar/restore.sh", work)
    assert restored.returncode == 0 and restored.stdout == "" and restored.stderr == "", restored
    assert {path: path.read_bytes() for path in work.rglob("*") if path.is_file()} == before


def test_a_finished_models_stored_state_does_not_make_the_stored_run_ahead(repository, tmp_path):
    # snapshot.sh keeps the state a model had while it trained; once finished, its work folder holds none
    earlier_session(tmp_path / "session1", [VANILLA, {"iteration": 1, "variant": "ResiliNet"}], state_after(3), 3)
    store(repository, tmp_path / "session1")
    work = tmp_path / "work"
    earlier_session(work, [VANILLA, {"iteration": 1, "variant": "ResiliNet"}], None, log_rows=3)
    restored = run(repository / "reproduction/cifar/restore.sh", work)
    assert restored.returncode == 0 and restored.stdout == "", restored
    assert not (work / STATE).exists()
