"""Resume: an interrupted run, resumed, gives exactly the records of an uninterrupted one."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import EXPERIMENT_DIR, REPO, TWO_ITERATIONS, copy_run, glob_while_running, run_script, run_weights

FAST = list(TWO_ITERATIONS)
SCRIPT = "health_average_accuracy.py"


@pytest.fixture(scope="module")
def data_flag(two_iteration_data_flag):
    return two_iteration_data_flag


@pytest.fixture(scope="module")
def plain(two_iteration_run):
    """An uninterrupted run (FAST: two iterations): its folder (results/ and models/) and its results document
    (shared with other files)."""
    return two_iteration_run


def scores(document):
    return {(r["iteration"], r["variant"]): r["combinations"] for r in document["records"]}


def only_json(folder):
    (path,) = (folder / "results").glob("health_average_accuracy_*.json")
    return path


def test_killed_run_resumes_to_the_uninterrupted_records(tmp_path, data_flag, plain):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(EXPERIMENT_DIR)])}
    process = subprocess.Popen([sys.executable, str(EXPERIMENT_DIR / SCRIPT), data_flag, *FAST], cwd=tmp_path,
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and process.poll() is None:
            logs = glob_while_running(tmp_path / "results", "*.json")
            if logs and json.loads(logs[0].read_text())["records"]:
                break
            time.sleep(0.05)
        assert process.poll() is None, "the run ended before it could be killed"
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    killed = json.loads(only_json(tmp_path).read_text())
    assert 1 <= len(killed["records"]) < 6

    resumed = run_script(SCRIPT, data_flag, *FAST, "--resume=latest", cwd=tmp_path)
    assert only_json(tmp_path).name == only_json(tmp_path).name  # the same file was rewritten, no second one
    assert scores(resumed) == scores(plain[1])
    assert [(r["iteration"], r["variant"]) for r in resumed["records"]] == [
        (i, m) for i in (1, 2) for m in ("Vanilla", "DFG", "ResiliNet")]
    assert resumed["summary"] == plain[1]["summary"]
    models = run_weights(tmp_path, "health_average_accuracy")
    assert not list(models.glob("*.training.npz"))
    assert len(list(models.glob("*_iter*.weights.h5"))) == 6


def test_finished_weights_without_record_are_evaluated_not_retrained_with_the_logged_constants(tmp_path, data_flag,
                                                                                            plain, capsys):
    path = copy_run(plain[0], tmp_path)
    document = json.loads(path.read_text())
    document["records"] = document["records"][:4]  # killed while evaluating (2, DFG)
    path.write_text(json.dumps(document))
    (run_weights(tmp_path, "health_average_accuracy") / "ResiliNet_iter2.weights.h5").unlink()  # killed in training
    capsys.readouterr()
    resumed = run_script(SCRIPT, data_flag, "--verbose=0", f"--resume={path}", cwd=tmp_path)  # FAST's flags left out
    out = capsys.readouterr().out
    (taken,) = [line for line in out.splitlines() if line.startswith(f"--resume: taken from {path}, as no flag gives")]
    assert all(flag.removeprefix("--") in taken for flag in FAST if flag != "--verbose=0"), taken
    assert "iteration 2/2 DFG (loaded" in out
    assert "iteration 2/2 ResiliNet (trained" in out, "a model without finished weights is trained"
    assert scores(resumed) == scores(plain[1])


def test_a_finished_run_given_more_iterations_keeps_its_records_and_adds_the_uninterrupted_runs(tmp_path, data_flag,
                                                                                                plain, capsys):
    # As reproduction/cifar/run.sh extends its one-iteration ResNet-18 run to three: `--resume=latest --iterations=N`.
    one_iteration = [flag for flag in FAST if not flag.startswith("--iterations=")] + ["--iterations=1"]
    first = run_script(SCRIPT, data_flag, *one_iteration, cwd=tmp_path)
    path = only_json(tmp_path)
    kept = run_weights(tmp_path, "health_average_accuracy") / "Vanilla_iter1.weights.h5"
    kept_bytes = kept.read_bytes()
    capsys.readouterr()
    extended = run_script(SCRIPT, data_flag, "--verbose=0", "--resume=latest", "--iterations=2", cwd=tmp_path)
    out = capsys.readouterr().out
    assert only_json(tmp_path) == path, "the run's own file goes on, no second one"
    assert extended["records"][:3] == first["records"], "iteration 1 is kept as it was"
    assert "iteration 1/2" not in out and "iteration 2/2 Vanilla (trained" in out
    assert scores(extended) == scores(plain[1]) and extended["summary"] == plain[1]["summary"]
    assert extended["config"]["iterations"] == 2
    assert kept.read_bytes() == kept_bytes, "iteration 1's weights are not written again"


def test_resuming_a_finished_run_does_nothing(tmp_path, data_flag, plain, capsys):
    before = copy_run(plain[0], tmp_path).read_text()
    capsys.readouterr()
    run_script(SCRIPT, data_flag, *FAST, "--resume=latest", cwd=tmp_path)
    assert "nothing to do" in capsys.readouterr().out
    assert only_json(tmp_path).read_text() == before


def test_resume_with_other_constants_names_each_key(tmp_path, data_flag, plain, capsys):
    copy_run(plain[0], tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        run_script(SCRIPT, data_flag, *FAST, "--epochs=3", "--seed=4", "--verbose=1", "--iterations=3",
                   "--resume=latest", cwd=tmp_path)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "epochs: logged 2, given 3" in err and "seed: logged 0, given 4" in err
    assert "verbose" not in err and "iterations" not in err


@pytest.mark.parametrize("resume, message", [
    ("latest", "holds no results file of health_average_accuracy"),
    ("missing.json", "missing.json is not a results file"),
])
def test_resume_of_nothing_is_a_clear_error(tmp_path, data_flag, capsys, resume, message):
    with pytest.raises(SystemExit) as exit_info:
        run_script(SCRIPT, data_flag, *FAST, f"--resume={resume}", cwd=tmp_path)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_resume_of_a_truncated_file_names_it(tmp_path, data_flag, capsys):
    (tmp_path / "results").mkdir()
    broken = tmp_path / "results" / "health_average_accuracy_20200101-000000.json"
    broken.write_text('{"experiment": "health_average_accuracy", "rec')
    with pytest.raises(SystemExit):
        run_script(SCRIPT, data_flag, *FAST, "--resume=latest", cwd=tmp_path)
    assert f"results/{broken.name} is not a readable results file" in capsys.readouterr().err


def test_evaluate_saved_names_every_missing_file_before_loading_data(tmp_path, data_flag, plain, capsys):
    copy_run(plain[0], tmp_path)
    for model in ("Vanilla", "DFG", "ResiliNet"):  # the weights of iteration 2 were never made
        (run_weights(tmp_path, "health_average_accuracy") / f"{model}_iter2.weights.h5").unlink()
    before = sorted(p.name for p in (tmp_path / "results").iterdir())
    with pytest.raises(SystemExit) as exit_info:
        run_script(SCRIPT, data_flag, *FAST, "--evaluate_saved=true", cwd=tmp_path)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    folder = run_weights(tmp_path, "health_average_accuracy").relative_to(tmp_path)
    assert f"3 weights file(s) missing in {folder}" in err
    assert all(f"{m}_iter2.weights.h5" in err for m in ("Vanilla", "DFG", "ResiliNet"))
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == before, "no results file is left behind"


def test_job_seed_depends_only_on_seed_iteration_and_variant():
    from resilinet.runs.jobs import job_seed

    seeds = {job_seed(s, i, v) for s in (0, 1) for i in (1, 2) for v in ("DFG", "ResiliNet")}
    assert len(seeds) == 8 and job_seed(0, 1, "DFG") == job_seed(0, 1, "DFG")
    assert all(0 <= s < 2**31 for s in seeds) and np.int32(max(seeds)) == max(seeds)
