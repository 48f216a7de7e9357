"""Jobs as Ray tasks (--workers, --ray_address): the same records and weights as one in-process run,
an existing cluster, and user errors raised on a worker. A killed worker's job: test_epoch_resume.py."""
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import (
    EXPERIMENT_DIR,
    REPO,
    TWO_ITERATIONS,
    assert_same_weights,
    run_script,
)

from resilinet.runs.ray_session import start_ray

ray = pytest.importorskip("ray")

HEALTH = "health_average_accuracy.py"
FAST = list(TWO_ITERATIONS)
PAIRS = [(i, m) for i in (1, 2) for m in ("Vanilla", "DFG", "ResiliNet")]


@pytest.fixture(scope="module")
def data_flag(two_iteration_data_flag):
    return two_iteration_data_flag


@pytest.fixture(scope="module")
def sequential(two_iteration_run):
    """The in-process run (--workers=1) that the Ray runs must equal (shared with other files)."""
    return two_iteration_run


def scores(document):
    return {(r["iteration"], r["variant"]): r["combinations"] for r in document["records"]}


def environment(**extra):
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(EXPERIMENT_DIR)]), **extra}


def test_two_workers_give_the_records_and_weights_of_one_then_evaluate_saved(tmp_path, data_flag, sequential):
    # Ray started here, as a notebook would: both runs use it (the second one the first one's warm workers) and
    # leave it running; the scripts starting and stopping their own instance are the other tests of this file.
    assert start_ray(num_cpus=2)
    try:
        folder, plain = sequential
        parallel = run_script(HEALTH, data_flag, *FAST, "--workers=2", cwd=tmp_path)
        assert ray.is_initialized(), "the run stopped a Ray instance it had not started"
        assert [(r["iteration"], r["variant"]) for r in parallel["records"]] == PAIRS
        assert scores(parallel) == scores(plain) and parallel["summary"] == plain["summary"]
        assert_same_weights(folder, tmp_path, "health_average_accuracy")
        assert parallel["config"]["workers"] == 2

        (path,) = (tmp_path / "results").glob("*.json")
        again = run_script(HEALTH, data_flag, *FAST, "--workers=2", "--evaluate_saved=true", f"--saved_run={path}",
                           "--results_dir=evaluated", cwd=tmp_path)
        assert scores(again) == scores(plain) and ray.is_initialized()
    finally:
        ray.shutdown()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def ray_cluster():
    """A one-node Ray cluster (`ray start --head`) on 127.0.0.1 with its own token and temp dir, up before the test
    starts (on a busy machine it takes many seconds); stopped afterwards by signalling the `ray start --block`
    process this fixture started (not `ray stop`, which would stop every Ray instance on the machine)."""
    temp = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))  # short: Ray's socket paths live under it
    (temp / "token").write_text(secrets.token_hex(32))
    env = environment(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(temp / "token"))
    port = free_port()
    with open(temp / "head.log", "w") as log:
        head = subprocess.Popen([str(Path(sys.executable).with_name("ray")), "start", "--head", "--block",
                                 f"--port={port}", "--node-ip-address=127.0.0.1", "--num-cpus=2", "--num-gpus=0",
                                 "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}"],
                                env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while "Ray runtime started" not in (temp / "head.log").read_text():
            assert head.poll() is None, f"ray start --head ended: {(temp / 'head.log').read_text()[-3000:]}"
            assert time.monotonic() < deadline, "ray start --head did not start within 180 s"
            time.sleep(0.2)
        yield f"127.0.0.1:{port}", env
    finally:
        head.send_signal(signal.SIGTERM)
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            head.kill()
            head.wait()
        shutil.rmtree(temp, ignore_errors=True)


def test_an_existing_cluster_runs_the_jobs_and_reports_user_errors(tmp_path, data_flag, sequential, ray_cluster):
    address, env = ray_cluster
    _, plain = sequential

    def run(*flags):
        return subprocess.run([sys.executable, str(EXPERIMENT_DIR / HEALTH), *FAST, "--iterations=1",
                               f"--ray_address={address}", *flags], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=600)

    bad = run("--data_dir=/nonexistent/mhealth", "--workers=2")
    assert bad.returncode == 2, bad.stderr
    assert f"error: worker on {socket.gethostname()}: --data_dir /nonexistent/mhealth does not exist" in bad.stderr
    assert "Traceback" not in bad.stderr and not list(tmp_path.glob("results/*"))

    no_gpu = run(data_flag, "--gpus_per_model=0.5")
    assert no_gpu.returncode == 2
    assert "no Ray node has --cpus_per_model=1 CPU and --gpus_per_model=0.5 GPU" in no_gpu.stderr

    good = run(data_flag, "--workers=0")
    assert good.returncode == 0, good.stderr[-3000:]
    assert "iteration 1/1 ResiliNet (trained" in good.stdout, "the driver prints each job's output"
    (path,) = (tmp_path / "results").glob("health_average_accuracy_*.json")
    document = json.loads(path.read_text())
    assert scores(document) == {k: v for k, v in scores(plain).items() if k[0] == 1}


def test_one_worker_runs_in_process_without_ray(tmp_path, data_flag):
    code = ("import runpy, sys; sys.argv = sys.argv[1:]; "
            "runpy.run_path(sys.argv[0], run_name='__main__'); assert 'ray' not in sys.modules, 'ray was imported'")
    done = subprocess.run([sys.executable, "-c", code, str(EXPERIMENT_DIR / HEALTH), data_flag, *FAST, "--epochs=1",
                           "--iterations=1"], cwd=tmp_path, env=environment(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.parametrize("flag, message", [
    ("--workers=-1", "--workers must be at least 0, got -1"),
    ("--cpus_per_model=0", "--cpus_per_model must be greater than 0, got 0.0"),
    ("--gpus_per_model=1.5", "--gpus_per_model must be 0, a fraction below 1"),
])
def test_bad_parallel_flags_stop_before_anything_runs(tmp_path, capsys, flag, message):
    with pytest.raises(SystemExit) as exit_info:
        run_script(HEALTH, "--data_dir=/nonexistent", flag, cwd=tmp_path)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_worker_threads_follow_the_cpu_share_but_keep_the_in_process_intra_op_pool(monkeypatch):
    import health_common

    from resilinet.runs.parallel import worker_environment

    monkeypatch.delenv("TF_NUM_INTRAOP_THREADS", raising=False)
    cpu = worker_environment(health_common.DATASET, SimpleNamespace(cpus_per_model=1.0, gpus_per_model=0.0))
    assert (cpu["TF_NUM_INTEROP_THREADS"], cpu["OMP_NUM_THREADS"], cpu["CUDA_VISIBLE_DEVICES"]) == ("1", "1", "")
    assert cpu["TF_NUM_INTRAOP_THREADS"] == str(len(os.sched_getaffinity(0))), "the pool size the numbers depend on"
    assert cpu["PYTHONPATH"].split(os.pathsep)[:2] == [str(REPO), str(EXPERIMENT_DIR)]
    assert worker_environment(health_common.DATASET, SimpleNamespace(cpus_per_model=3.0, gpus_per_model=0.0))[
        "TF_NUM_INTEROP_THREADS"] == "3"
    gpu = worker_environment(health_common.DATASET, SimpleNamespace(cpus_per_model=1.0, gpus_per_model=0.25))
    assert gpu["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false" and "TF_NUM_INTEROP_THREADS" not in gpu
