"""Machines die, not only processes: a whole Ray node (raylet, object store, workers and actors at
once) is killed under a training run and under a deployment.

One cluster of Ray nodes on this machine serves the module (`LocalCluster`: a head without CPUs and
machineA, machineB with one CPU each); a test that kills a node adds a fresh one for the next.
"""
import json
import os
import subprocess
import sys
import time

import pytest
from conftest import (
    EXPERIMENT_DIR,
    REPO,
    glob_while_running,
    write_mhealth_logs,
)

pytest.importorskip("ray")

from local_cluster import LocalCluster  # noqa: E402

MACHINES = ("machineA", "machineB")
TRAINING = ["health_average_accuracy.py", "--epochs=6", "--batch_size=64", "--verbose=0", "--verify_checksums=false",
            "--iterations=1", "--checkpoint_seconds=0"]
HEALTH_ROWS = 300  # rows a subject of the generated logs


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster({name: 1 for name in MACHINES}) as machines:
        yield machines


@pytest.fixture
def machines(cluster):
    for name in MACHINES:
        if name not in cluster.nodes:
            cluster.add(name, 1)
    return cluster


@pytest.fixture(scope="module")
def health_data(shared_health_logs):
    return shared_health_logs(HEALTH_ROWS)


@pytest.fixture(scope="module")
def plain(finished_health_run):
    """The same run with --workers=1 in one process (made once in the session: test_epoch_resume.py makes it too)."""
    return finished_health_run(HEALTH_ROWS, *TRAINING[1:])[1]


def start(folder, script, *flags):
    return subprocess.Popen([sys.executable, str(EXPERIMENT_DIR / script), *flags], cwd=folder,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(EXPERIMENT_DIR)])},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def when_two_models_are_mid_training(folder, process, deadline_s=400):
    """Wait until two models (one per machine) have saved an epoch state and train on."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline and process.poll() is None:
        if len(glob_while_running(folder / "models", "*/*/*.training.npz")) == 2:
            return
        time.sleep(0.01)
    raise AssertionError("two models were never seen in the middle of their training at once")


def finish(process, timeout=600):
    try:
        return process.communicate(timeout=timeout)[0]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def scores(folder):
    (path,) = (folder / "results").glob("health_average_accuracy_*.json")
    return {(r["iteration"], r["variant"]): r["combinations"] for r in json.loads(path.read_text())["records"]}


def resumed(output):
    return [line for line in output.splitlines() if "resumed after epoch" in line]


def test_a_ray_node_killed_under_training_costs_its_job_a_resume_at_the_saved_epoch(tmp_path, machines, health_data,
                                                                                      plain):
    flags = [*TRAINING[1:], f"--data_dir={health_data}", f"--ray_address={machines.address}", "--workers=2"]
    process = start(tmp_path, TRAINING[0], *flags)
    when_two_models_are_mid_training(tmp_path, process)
    machines.kill("machineB")
    output = finish(process)
    assert process.returncode == 0, output[-3000:]
    assert len(resumed(output)) == 1, output  # the job of machineB ran again on machineA, from its state
    assert scores(tmp_path) == {(r["iteration"], r["variant"]): r["combinations"] for r in plain["records"]}


def test_a_ray_node_killed_with_the_driver_completes_with_resume_latest(tmp_path, machines, health_data, plain):
    flags = [*TRAINING[1:], f"--data_dir={health_data}", f"--ray_address={machines.address}", "--workers=2"]
    process = start(tmp_path, TRAINING[0], *flags)
    when_two_models_are_mid_training(tmp_path, process)
    process.kill()
    machines.kill("machineB")
    finish(process)
    again = start(tmp_path, TRAINING[0], *flags, "--resume=latest")
    output = finish(again)
    assert again.returncode == 0, output[-3000:]
    assert len(resumed(output)) == 2, output  # both models in training resumed at their saved epochs
    assert scores(tmp_path) == {(r["iteration"], r["variant"]): r["combinations"] for r in plain["records"]}


def test_a_ray_node_killed_under_a_deployment_takes_its_nodes_down_and_every_request_is_answered(
        tmp_path, machines, monkeypatch):
    """edge and fog1 share machineB: killing it takes both down at once. The requests in flight are
    answered (the driver learns of the deaths from Ray: --timeout_ms is ten minutes), and every answer
    equals the in-process simulation of the combination that happened."""
    import keras
    import mlp_Vanilla_health
    from test_deployment import fake_run

    from resilinet.core.kinds import ModelKind

    data = write_mhealth_logs(tmp_path / "mhealth", rows_per_subject=40)
    keras.utils.set_random_seed(4)
    mlp_Vanilla_health.build_health_model(ModelKind.RESILINET).save_weights(
        fake_run(tmp_path, {}) / "ResiliNet_iter1.weights.h5")
    placement = "iot:machineA,fog2:machineA,cloud:machineA,edge:machineB,fog1:machineB"
    process = start(tmp_path, "health_deployment.py", "--model=ResiliNet", f"--data_dir={data}",
                    "--verify_checksums=false", f"--ray_address={machines.address}", f"--placement={placement}",
                    "--requests=1000", "--timeout_ms=600000")
    for line in process.stdout:
        if "actors started" in line:
            break
    time.sleep(1.0)
    machines.kill("machineB")
    output = finish(process)
    assert process.returncode == 0, output[-3000:]
    (path,) = (tmp_path / "results").glob("health_deployment_*.json")
    document = json.loads(path.read_text())
    assert document["requests"] == 1000 and document["kills"] == 0
    assert sorted(document["died"]) == ["edge", "fog1"]
    assert document["all_same_predictions"], output
    seen = {tuple(c["alive"].values()): c["requests"] for c in document["combinations"]}
    assert seen.get((True, True, True)) and seen.get((False, True, False)), seen  # fog1, fog2, edge
    assert sum(seen.values()) + document["partial_requests"] == 1000
    latency = document["latency"]
    assert latency["node known dead"]["requests"] > 0
    assert latency["node died mid-request"]["requests"] == 0 or latency["node died mid-request"]["p99_ms"] < 60_000
