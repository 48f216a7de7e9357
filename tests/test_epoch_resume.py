"""Training that survives a kill at any epoch: a run killed with SIGKILL in the middle of a model
(after it saved epoch k) resumes that model at epoch k and ends with the weights, scores and
training logs of an uninterrupted run; a damaged epoch checkpoint is named and the model retrained;
a killed Ray worker's job resumes at its saved epoch."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import (
    EXPERIMENT_DIR,
    REPO,
    assert_same_weights,
    copy_run,
    glob_while_running,
    run_in_process,
    run_script,
    run_weights,
    task_processes,
)
from test_camera import slice_dir  # noqa: F401  (fixture: a slice of the real camera data)

from resilinet.runs.training_state import saved_epoch

HEALTH = ["health_average_accuracy.py", "--epochs=6", "--batch_size=64", "--verbose=0", "--verify_checksums=false",
          "--iterations=1", "--checkpoint_seconds=0"]
HEALTH_ROWS = 300  # rows a subject of the generated logs


@pytest.fixture(scope="module")
def health_flags(shared_health_logs):
    return [*HEALTH, f"--data_dir={shared_health_logs(HEALTH_ROWS)}"]


@pytest.fixture(scope="module")
def camera_flags(slice_dir):  # noqa: F811
    return ["camera_average_accuracy.py", f"--data_dir={slice_dir}", "--epochs=3", "--batch_size=16", "--verbose=0",
            "--iterations=1", "--checkpoint_seconds=0"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, health_flags, finished_health_run):
    """The uninterrupted run of a script with given flags, made once per module (the health one once per session,
    test_user_mishaps.py reads it too): (its folder, its results)."""
    runs = {}

    def run(script, *flags):
        key = (script, *flags)
        if key not in runs:
            if list(key) == health_flags:
                runs[key] = finished_health_run(HEALTH_ROWS, *HEALTH[1:])
            else:
                folder = tmp_path_factory.mktemp("uninterrupted")
                runs[key] = folder, run_script(script, *flags, cwd=folder)
        return runs[key]
    return run


@pytest.fixture(scope="module")
def killed(tmp_path_factory):
    """A run of a script with given flags SIGKILLed in the middle of its first model, made once per module: (its
    folder, the killed model's name, the exit code). Each test resumes a copy of the folder."""
    runs = {}

    def run(script, *flags):
        key = (script, *flags)
        if key not in runs:
            folder = tmp_path_factory.mktemp("killed")
            model, _, code = kill_mid_model(folder, script, *flags)
            runs[key] = folder, model, code
        return runs[key]
    return run


def environment():
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(EXPERIMENT_DIR)])}


def kill_mid_model(folder, script, *flags, workers_only=False):
    """Start the script, SIGKILL it (or, with `workers_only`, its Ray worker) once a model has saved
    an epoch state and is training its next epoch; return the killed model's name, the output and the exit code.
    With `workers_only`, the driver must not have loaded TensorFlow by then: it has no use for it."""
    process = subprocess.Popen([sys.executable, str(EXPERIMENT_DIR / script), *flags], cwd=folder, env=environment(),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline, killed = time.monotonic() + 400, None
    try:
        while killed is None and time.monotonic() < deadline and process.poll() is None:
            states = glob_while_running(folder / "models", "*/*/*.training.npz")
            if states:
                model = states[0].name.removesuffix(".training.npz")
                if workers_only:
                    with open(f"/proc/{process.pid}/maps") as maps:
                        assert "tensorflow" not in maps.read(), "the driver of Ray workers loaded TensorFlow"
                    for pid in task_processes(process.pid):
                        os.kill(pid, signal.SIGKILL)
                else:
                    process.send_signal(signal.SIGKILL)
                killed = model
            time.sleep(0.01)
        assert killed is not None, "no model was seen in the middle of its training"
        output = process.communicate(timeout=600)[0]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return killed, output, process.returncode


def log_epochs(document, folder):
    return {r["variant"]: [int(line.split(",")[0])
                           for line in (folder / r["training_log"]).read_text().splitlines()[1:]]
            for r in document["records"]}


def epochs_of(flags):
    return int(next(f for f in flags if f.startswith("--epochs=")).removeprefix("--epochs="))


def scores(document):
    return {(r["iteration"], r["variant"]): r["combinations"] for r in document["records"]}


@pytest.mark.parametrize("which", ["health", "camera"])
def test_a_run_killed_mid_model_resumes_at_its_saved_epoch_and_matches_an_uninterrupted_run(
        tmp_path, request, uninterrupted, killed, which):
    script, *flags = request.getfixturevalue(f"{which}_flags")
    plain_folder, plain = uninterrupted(script, *flags)
    folder, model, code = killed(script, *flags)
    assert code == -signal.SIGKILL
    results = copy_run(folder, tmp_path / "killed")
    experiment = script.removesuffix(".py")
    epochs = epochs_of(flags)
    saved = len(open(results.with_suffix("") / f"{model}.csv").read().splitlines()) - 1
    assert 1 <= saved < epochs, "killed in the middle of a model"
    (state,) = (tmp_path / "killed" / "models").glob(f"*/*/{model}.training.npz")
    state_epoch = saved_epoch(state)  # what a tool reads without Keras (the CIFAR hand-over) is what training reads
    assert 1 <= state_epoch <= saved

    code, out, err = run_in_process(script, *flags, "--resume=latest", cwd=tmp_path / "killed")
    assert code == 0, err[-3000:]
    variant, iteration = model.rsplit("_iter", 1)
    assert f"iteration {iteration}/1 {variant} (trained, resumed after epoch {state_epoch}, " in out
    resumed = json.loads(results.read_text())
    assert scores(resumed) == scores(plain)
    assert_same_weights(plain_folder, tmp_path / "killed", experiment)
    every_epoch = {r["variant"]: list(range(1, epochs + 1)) for r in resumed["records"]}
    assert log_epochs(resumed, tmp_path / "killed") == every_epoch
    assert [r["kept_epoch"] for r in resumed["records"]] == [r["kept_epoch"] for r in plain["records"]]
    assert not list((tmp_path / "killed" / "models").glob("*/*/*.training.npz"))


def test_a_damaged_epoch_checkpoint_is_named_and_that_model_trains_from_its_start(tmp_path, health_flags,
                                                                                  uninterrupted, killed):
    script, *flags = health_flags
    _, plain = uninterrupted(script, *flags)
    copy_run(killed(script, *flags)[0], tmp_path / "killed")
    (state,) = (tmp_path / "killed" / "models").glob("*/*/*.training.npz")
    state.write_bytes(state.read_bytes()[: state.stat().st_size // 2])
    assert saved_epoch(state) == 0
    code, out, err = run_in_process(script, *flags, "--resume=latest", cwd=tmp_path / "killed")
    assert code == 0, err[-3000:]
    assert f"warning: {state.relative_to(tmp_path / 'killed')} is damaged (" in out
    assert "training this model from its start" in out and "resumed after" not in out
    (results,) = (tmp_path / "killed" / "results").glob("*.json")
    assert scores(json.loads(results.read_text())) == scores(plain), "a clean retrain, nothing of the damaged file"


def test_a_killed_worker_resumes_its_model_at_the_saved_epoch_and_matches_one_worker(tmp_path, health_flags,
                                                                                    uninterrupted):
    pytest.importorskip("ray")
    script, *flags = health_flags
    (tmp_path / "two").mkdir()
    plain_folder, plain = uninterrupted(script, *flags)
    model, output, code = kill_mid_model(tmp_path / "two", script, *flags, "--workers=2", workers_only=True)
    assert code == 0, output[-3000:]
    variant, iteration = model.rsplit("_iter", 1)
    assert f"iteration {iteration}/1 {variant} (trained, resumed after epoch " in output, output[-3000:]
    (results,) = (tmp_path / "two" / "results").glob("*.json")
    document = json.loads(results.read_text())
    assert [r["variant"] for r in document["records"]] == [r["variant"] for r in plain["records"]]
    assert scores(document) == scores(plain)
    assert_same_weights(plain_folder, tmp_path / "two", "health_average_accuracy")
    assert log_epochs(document, tmp_path / "two") == {r["variant"]: list(range(1, epochs_of(flags) + 1))
                                                      for r in document["records"]}
    assert not list((tmp_path / "two" / "models").glob("*/*/*.training.npz")), "a finished model keeps no state"


def test_a_run_killed_in_its_first_model_has_a_results_file_to_resume(tmp_path, health_flags, killed):
    script, *flags = health_flags
    results = copy_run(killed(script, *flags)[0], tmp_path)
    assert json.loads(results.read_text())["records"] == []
    document = run_script(script, *flags, "--resume=latest", cwd=tmp_path)
    assert len(document["records"]) == 3 and run_weights(tmp_path, "health_average_accuracy").is_dir()
