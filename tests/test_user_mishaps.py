"""What users do to runs, each ending cleanly: a moved, concurrent or disk-starved run loses nothing and resumes
to the numbers of an uninterrupted one; Ctrl-C is one line and exit 130 wherever it falls; a wrong file, flag,
own network or hand-edited record is one line naming it, exit 2, no traceback, nothing left half-written.

The numbers in the test names are the cases of issue 33.
"""
import dataclasses
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import warnings

import numpy as np
import pytest
from conftest import EXPERIMENT_DIR, REPO, copy_run, ended_within, run_in_process, run_script, session_processes

from resilinet.base.errors import UserError
from resilinet.base.files import write_text_atomically
from resilinet.cli.own_network import main as own_network_main
from resilinet.cli.program import STOP_SECONDS
from resilinet.data import camera

SCRIPT = "health_average_accuracy.py"
PROGRAM = f"Experiment/{SCRIPT}"
EXPERIMENT = "health_average_accuracy"
FLAGS = ["--epochs=6", "--batch_size=64", "--verbose=0", "--verify_checksums=false", "--iterations=1",
         "--checkpoint_seconds=0"]


@pytest.fixture(scope="module")
def data(shared_health_logs):
    return shared_health_logs(300)


@pytest.fixture(scope="module")
def plain(finished_health_run):
    """An uninterrupted run: its folder (results/ and models/) and results document (test_epoch_resume.py's too)."""
    return finished_health_run(300, *FLAGS)


def environment():
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(EXPERIMENT_DIR)])}


def start(cwd, *flags, script=SCRIPT, output=None):
    """Start a script as a user does in a terminal (its own process group, as a shell's foreground job)."""
    return subprocess.Popen([sys.executable, str(EXPERIMENT_DIR / script), *flags], cwd=cwd, env=environment(),
                            stdout=output or subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def finish(cwd, *flags, script=SCRIPT):
    """Run a script to its end inside this process (what a new interpreter would add, importing TensorFlow, the
    test does not need): (exit code, stdout, stderr)."""
    return run_in_process(script, *flags, cwd=cwd)


def wait_for(condition, process, seconds=300):
    deadline = time.monotonic() + seconds
    while not condition():
        assert process.poll() is None, f"the run ended first: {process.communicate()}"
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def states(folder):
    try:
        return list(folder.glob("**/*.training.npz"))
    except FileNotFoundError:  # a folder listed as it vanished (start-up checks)
        return []


def one_line(stderr, program=PROGRAM, *expected):
    """The one line the program wrote on stderr (others are TensorFlow's C++ start-up lines), with no
    traceback; it says every `expected` part."""
    assert "Traceback" not in stderr, stderr[-3000:]
    lines = [line for line in stderr.splitlines() if line.startswith(f"{program}: ")]
    assert len(lines) == 1, stderr[-3000:]
    for part in expected:
        assert part in lines[0], lines[0]
    return lines[0]


def scores(document):
    return {(r["iteration"], r["variant"]): r["combinations"] for r in document["records"]}


def results_of(folder):
    return sorted((folder / "results").glob(f"{EXPERIMENT}_*.json"))


def test_1_a_run_moved_after_a_kill_resumes_in_its_new_place_at_the_saved_epoch(tmp_path, data, plain):
    old, new = tmp_path / "x" / "run", tmp_path / "y" / "run"
    where = [f"--results_dir={old / 'results'}", f"--models_dir={old / 'models'}"]
    process = start(tmp_path, *FLAGS, f"--data_dir={data}", *where)
    wait_for(lambda: any(p.name == "DFG_iter1.training.npz" for p in states(old / "models")), process)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    new.parent.mkdir()
    shutil.move(old, new)
    code, out, err = finish(tmp_path, *FLAGS, f"--data_dir={data}", f"--results_dir={new / 'results'}",
                            f"--models_dir={new / 'models'}", "--resume=latest")
    assert code == 0, err[-3000:]
    assert "iteration 1/1 DFG (trained, resumed after epoch " in out
    assert f"--resume: the run's weights are taken from {new / 'models'}" in out
    assert not old.exists(), "nothing is recreated in the old place"
    (results,) = results_of(new)
    assert scores(json.loads(results.read_text())) == scores(plain[1])


def test_2_a_run_in_progress_refuses_a_second_resume_and_a_killed_one_leaves_no_lock(tmp_path, data, plain):
    process = start(tmp_path, *FLAGS, f"--data_dir={data}")
    wait_for(lambda: states(tmp_path / "models"), process)
    os.kill(process.pid, signal.SIGSTOP)  # still holding its run, mid-model
    try:
        code, _, err = finish(tmp_path, *FLAGS, f"--data_dir={data}", "--resume=latest")
        assert code == 2
        one_line(err, PROGRAM, "is in progress in another process", f"(process {process.pid} on ")
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    code, out, err = finish(tmp_path, *FLAGS, f"--data_dir={data}", "--resume=latest")
    assert code == 0, err[-3000:]
    assert "(trained, resumed after epoch " in out
    (results,) = results_of(tmp_path)
    assert scores(json.loads(results.read_text())) == scores(plain[1])
    assert not list((tmp_path / "results").glob("*.lock"))


def test_3_a_full_models_dir_keeps_the_results_file_the_message_says_to_resume(tmp_path, data, plain):
    small = tmp_path / "small"
    small.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(small)], capture_output=True).returncode:
        pytest.skip("a 2 MiB tmpfs cannot be mounted here (it needs root)")
    try:
        code, _, err = finish(tmp_path, *FLAGS, f"--data_dir={data}", f"--models_dir={small}")
    finally:
        subprocess.run(["umount", str(small)], check=True)
    assert code == 2
    one_line(err, PROGRAM, "is full (no space left on the device)", "continue with --resume=latest")
    (results,) = results_of(tmp_path)
    code, _, err = finish(tmp_path, *FLAGS, f"--data_dir={data}", f"--models_dir={small}", "--resume=latest")
    assert code == 0, err[-3000:]
    assert scores(json.loads(results.read_text())) == scores(plain[1])


def test_4_ctrl_c_while_keras_imports_is_one_line_and_exit_130(tmp_path, data):
    process = start(tmp_path, *FLAGS, f"--data_dir={data}")

    def importing_tensorflow():
        try:
            with open(f"/proc/{process.pid}/maps") as maps:
                return "tensorflow" in maps.read()
        except OSError:
            return False

    wait_for(importing_tensorflow, process, seconds=60)
    os.killpg(process.pid, signal.SIGINT)
    _, err = ended_within(process, 120)
    assert process.returncode == 130, err[-3000:]
    one_line(err, PROGRAM, "interrupted")
    assert not results_of(tmp_path) and not (tmp_path / "models").exists(), "nothing was trained: nothing is left"


def test_5_ctrl_c_during_a_deployment_is_one_line_and_stops_the_actors(tmp_path, data, plain):
    pytest.importorskip("ray")
    copy_run(plain[0], tmp_path / "run")
    log = tmp_path / "stdout.txt"
    with open(log, "w") as output:
        process = start(tmp_path / "run", "--model=ResiliNet", f"--data_dir={data}", "--verify_checksums=false",
                        "--requests=1000000", "--node_cpus=0.1", script="health_deployment.py", output=output)
        wait_for(lambda: "streaming the requests" in log.read_text(), process, seconds=300)
        time.sleep(1)
        os.killpg(process.pid, signal.SIGINT)
        _, err = ended_within(process, 120)
    assert process.returncode == 130, err[-3000:]
    if "still stopping" in err:  # ended by the bound on stopping (one line for a user; the fault handler's dump here)
        warnings.warn(f"the deployment did not stop within {STOP_SECONDS:g} s of the Ctrl-C; where it was:\n"
                      f"{err[-6000:]}", stacklevel=1)
    else:
        one_line(err, "Experiment/health_deployment.py", "interrupted")
    assert "Traceback" not in log.read_text()
    assert not list((tmp_path / "run" / "results").glob("health_deployment_*")), "nothing half-written"
    deadline = time.monotonic() + 10
    while session_processes(process.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not session_processes(process.pid), "the Ray actors and processes of the deployment are stopped"


def test_6_two_runs_unpacking_one_archive_at_once_read_one_whole_copy(tmp_path, monkeypatch):
    content = tmp_path / "content"
    for split in camera.SPLIT_FOLDERS.values():
        (content / split).mkdir(parents=True)
        (content / split / "marker.txt").write_text(split)
    archive = tmp_path / "camera.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(content, arcname="multiview-dataset")
    cache = tmp_path / "cache"
    check, calls, others = camera.dataset_root, [], []

    def meanwhile_another_run_unpacks(folder, source=None):
        calls.append(folder)
        if len(calls) == 1:  # the other run starts unpacking after this one and finishes first
            others.append(camera.unpack(archive, cache))
            others.append((others[0] / "multiview-dataset" / "train_dir" / "marker.txt").stat().st_ino)
        return check(folder, source)

    monkeypatch.setattr(camera, "dataset_root", meanwhile_another_run_unpacks)
    target = camera.unpack(archive, cache)
    assert target == others[0]
    marker = target / "multiview-dataset" / "train_dir" / "marker.txt"
    assert marker.stat().st_ino == others[1], "the copy the other run reads was not replaced under it"
    assert sorted(p.name for p in cache.iterdir()) == [target.name], "no private copy is left behind"


def test_7_another_models_weights_in_a_models_file_are_one_line(tmp_path, plain, data, capsys):
    results = copy_run(plain[0], tmp_path)
    weights = next((tmp_path / "models").glob(f"{EXPERIMENT}/*"))
    shutil.copy(weights / "DFG_iter1.weights.h5", weights / "Vanilla_iter1.weights.h5")
    with pytest.raises(SystemExit) as stop, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_script(SCRIPT, *FLAGS, f"--data_dir={data}", "--evaluate_saved=true", cwd=tmp_path)
    assert stop.value.code == 2
    assert not [w for w in caught if "Skipping" in str(w.message)], "Keras's warnings of the failed load are not shown"
    line = one_line(capsys.readouterr().err, PROGRAM, "Vanilla_iter1.weights.h5 holds the weights of another model",
                    "put back the file")
    assert "\n" not in line
    assert results_of(tmp_path) == [results], "the failed evaluation leaves no results file"

    document = json.loads(results.read_text())  # an interrupted run: Vanilla's record not yet written
    document["records"] = [r for r in document["records"] if r["variant"] != "Vanilla"]
    results.write_text(json.dumps(document))
    before = results.read_bytes()
    with pytest.raises(SystemExit) as stop:
        run_script(SCRIPT, *FLAGS, f"--data_dir={data}", "--resume=latest", cwd=tmp_path)
    assert stop.value.code == 2
    one_line(capsys.readouterr().err, PROGRAM, "Vanilla_iter1.weights.h5 holds the weights of another model")
    assert results.read_bytes() == before and (weights / "Vanilla_iter1.weights.h5").exists()


@pytest.fixture(scope="module")
def killed_in_first_model(tmp_path_factory, data, plain):
    """The folder of a run killed once its first model had saved an epoch state, started after `plain` (the newer run
    of the two); each test changes a copy of it."""
    folder = tmp_path_factory.mktemp("killed")
    process = start(folder, *FLAGS, f"--data_dir={data}")
    wait_for(lambda: states(folder / "models"), process)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    return folder


@pytest.mark.parametrize("blocker", ["folder", "immutable file"])
def test_8_a_state_file_that_cannot_be_replaced_is_named(tmp_path, data, capsys, blocker, killed_in_first_model):
    copy_run(killed_in_first_model, tmp_path)
    (state,) = states(tmp_path / "models")
    if blocker == "folder":
        state.unlink()
        state.mkdir()
        expected = "is a folder"
    elif subprocess.run(["chattr", "+i", str(state)], capture_output=True).returncode:
        pytest.skip("chattr +i is not available here")
    else:
        expected = "cannot be written or removed (Operation not permitted)"
    (results,) = results_of(tmp_path)
    before = results.read_bytes()
    try:
        with pytest.raises(SystemExit) as stop:
            run_script(SCRIPT, *FLAGS, f"--data_dir={data}", "--resume=latest", cwd=tmp_path)
    finally:
        subprocess.run(["chattr", "-i", str(state)], capture_output=True)
    assert stop.value.code == 2
    one_line(capsys.readouterr().err, PROGRAM, str(state.relative_to(tmp_path)), expected)
    assert results.read_bytes() == before


def test_9_a_placement_on_a_ray_resource_name_is_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        run_script("health_deployment.py", "--placement=fog1:CPU", cwd=tmp_path)
    assert stop.value.code == 2
    one_line(capsys.readouterr().err, "Experiment/health_deployment.py",
             "'fog1:CPU' names Ray's own resource CPU, not a Ray node", "node:raynode")


@pytest.fixture(scope="module")
def sensor_field():
    spec = importlib.util.spec_from_file_location("sensor_field_example", REPO / "examples" / "sensor_field.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def mistaken_split(change):
    """The example's load_data with `change(views, labels)` applied to what it hands split_arrays."""
    def patch(module, monkeypatch):
        original = module.split_arrays
        monkeypatch.setattr(module, "split_arrays",
                            lambda views, y, *a, **k: original(*change(list(views), y), *a, **k))
    return patch


def with_nan(views, labels):
    views[3] = views[3].copy()
    views[3][::50, 1] = np.nan  # one feature NaN in every 50th row
    return views, labels


OWN_NETWORK_MISTAKES = {
    "layers expecting another shape": (
        {"layers": lambda n: {**n.layers, "edge1": lambda: [__import__("keras").layers.Conv2D(4, 3)]}}, None, [],
        "the layers of edge1 do not take its input"),
    "one view too few": ({}, mistaken_split(lambda views, y: (views[:-1], y)), [],
                         "the training split has 11 input array(s) for 12 input node(s)"),
    "labels out of range": ({}, mistaken_split(lambda views, y: (views, y + 1)), [],
                            "the labels of the training split hold 4, outside 0..3"),
    "too few samples": ({}, None, ["--samples=3"], "the validation split has no rows"),
    "a bad value of its own flag": ({}, None, ["--samples=-5"], "load_data failed at "),
    "a skip over two nodes": ({"skips": lambda n: (("edge1", "cloud"), *n.skips)}, None, [],
                              "it jumps over several nodes: edge1 -> fog2a -> fog1a -> cloud"),
    "a flag of its own named as every script's": ({"meanings": lambda n: {**n.meanings, "draws": "rows drawn"}},
                                                   None, [], "meanings names draws: every script has that flag"),
    "NaN in its data (case 11)": ({}, mistaken_split(with_nan), [],
                                  "the array of input node sensor4 holds NaN or infinite values"),
    "a classifier over another number of classes": (
        {"layers": lambda n: {**n.layers,
                              "cloud": lambda: [__import__("keras").layers.Dense(32, activation="softmax")]}},
        None, [], "the output node cloud gives 32 values per sample, but the data has 4 classes"),
    "an output node without its softmax": (
        {"layers": lambda n: {**n.layers, "cloud": lambda: [__import__("keras").layers.Dense(4)]}},
        None, [], "the output node cloud does not give class probabilities"),
}


@pytest.mark.parametrize("mistake", OWN_NETWORK_MISTAKES)
def test_10_mistakes_in_an_own_network_are_named_before_training(tmp_path, sensor_field, monkeypatch, capsys, mistake):
    fields, patch, flags, expected = OWN_NETWORK_MISTAKES[mistake]
    network = dataclasses.replace(sensor_field.NETWORK, **{k: f(sensor_field.NETWORK) for k, f in fields.items()})
    if patch is not None:
        patch(sensor_field, monkeypatch)
    with pytest.raises(SystemExit) as stop:
        own_network_main(network, ["average_accuracy", "--epochs=1", "--verbose=0",
                                   f"--results_dir={tmp_path / 'results'}",
                                   f"--models_dir={tmp_path / 'models'}", *flags])
    assert stop.value.code == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if ": error: " in line]
    assert len(lines) == 1 and expected in lines[0], lines
    assert "sensor_field.py" in lines[0].split(": error: ")[1], "the message names the network's file"
    assert not list(tmp_path.glob("results/*.json")), "no empty results file is left"


HAND_EDITS = {
    "a renamed variant": (lambda r: r.update(variant="Vanila"), "variant 'Vanila' is not one of the run's variants"),
    "iteration 0": (lambda r: r.update(iteration=0), "iteration 0 is outside 1..1"),
    "iteration 7 of 1": (lambda r: r.update(iteration=7), "iteration 7 is outside 1..1"),
    "an average of 5.0": (lambda r: r["average"].update({"normal": 5.0}), "average under 'normal' is 5.0, not a score"),
    "a NaN average": (lambda r: r["average"].update({"normal": float("nan")}), "average under 'normal' is nan"),
}


@pytest.mark.parametrize("edit", HAND_EDITS)
def test_12_the_report_refuses_hand_edited_records(tmp_path, plain, capsys, edit):
    from resilinet.cli.report_script import main

    change, expected = HAND_EDITS[edit]
    document = json.loads(results_of(plain[0])[0].read_text())
    change(document["records"][0])
    path = tmp_path / f"{EXPERIMENT}_20260101-000000.json"
    path.write_text(json.dumps(document))
    with pytest.raises(SystemExit) as stop:
        main([str(path), f"--out={tmp_path / 'report'}"])
    assert stop.value.code == 2
    one_line(capsys.readouterr().err, "Experiment/report.py", f"{path}: record 1 (", expected)
    assert not (tmp_path / "report").exists()


def test_13_resume_latest_continues_the_interrupted_training_run_not_a_newer_evaluation(tmp_path, data, plain,
                                                                                        killed_in_first_model):
    trained = copy_run(plain[0], tmp_path)
    shutil.copytree(killed_in_first_model, tmp_path, dirs_exist_ok=True)
    (interrupted,) = set(results_of(tmp_path)) - {trained}
    code, _, err = finish(tmp_path, *FLAGS, f"--data_dir={data}", "--evaluate_saved=true", f"--saved_run={trained}")
    assert code == 0, err[-3000:]
    assert len(results_of(tmp_path)) == 3 and results_of(tmp_path)[-1] not in (trained, interrupted)
    code, out, err = finish(tmp_path, *FLAGS, f"--data_dir={data}", "--resume=latest")
    assert code == 0, err[-3000:]
    assert f"--resume=latest: {interrupted.relative_to(tmp_path)} (the newest run of {EXPERIMENT} training" in out
    assert scores(json.loads(interrupted.read_text())) == scores(plain[1])


@pytest.mark.parametrize("flag, message", [
    ("--mass_left=1", "--mass_left must be in (0, 1), got 1.0"),  # no combination would be evaluated
    ("--draws=1", "--draws must be 0 (off) or at least 2, got 1"),  # one draw gives no interval
])
def test_14_an_evaluation_flag_that_would_evaluate_nothing_or_give_no_interval_is_refused(tmp_path, capsys, flag,
                                                                                          message):
    with pytest.raises(SystemExit) as stop:
        run_script(SCRIPT, flag, cwd=tmp_path)
    assert stop.value.code == 2
    one_line(capsys.readouterr().err, PROGRAM, message)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("flag", ["results_dir", "models_dir", "saved_run"])
def test_15_an_empty_path_flag_is_refused(tmp_path, capsys, flag):
    with pytest.raises(SystemExit) as stop:
        run_script(SCRIPT, f"--{flag}=", cwd=tmp_path)
    assert stop.value.code == 2
    one_line(capsys.readouterr().err, PROGRAM, f"--{flag} is empty (an unset shell variable?)")
    assert not list(tmp_path.iterdir())


def test_an_unwritable_file_is_a_user_error_that_keeps_the_old_version(tmp_path):
    path = tmp_path / "results.json"
    write_text_atomically(path, "old")
    (tmp_path / "results.json.partial").mkdir()  # the partial file cannot be created
    with pytest.raises(UserError, match=r"results.json cannot be written or removed \("):
        write_text_atomically(path, "new")
    assert path.read_text() == "old"
