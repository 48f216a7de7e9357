"""Shared test helpers: the shared data folder, running an experiment script in-process, and the
environment of a subprocess on another Keras backend."""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import io
import json
import os
import runpy
import shlex
import shutil
import signal
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
EXPERIMENT_DIR = REPO / "Experiment"
SHARED_DATA = REPO.parent / "shared" / "data"
# Ray starts its workers (training jobs, deployed nodes) at nice 15, below the suite's other worker (nice 0), so
# they yield the CPU to it: beside one busy nice-0 process, resuming a tiny --workers=2 health run took 27-30 s at
# nice 15 and 23-24 s at 0 (docs/parallel.md). Every Ray instance the tests start (in this process, in the scripts
# they run, `ray start`) reads this from the environment.
os.environ.setdefault("RAY_worker_niceness", "0")
# When a driver connects, Ray starts one idle worker a CPU in advance, with the default runtime environment. The
# project's jobs and deployed nodes each carry their own runtime environment (PYTHONPATH, Keras backend, thread
# counts), so they never use those workers: each costs about 2 CPU seconds of Python start-up for nothing.
os.environ.setdefault("RAY_prestart_worker_first_driver", "0")
# A process the tests start (a script, a Ray worker) that dies of a native crash (SIGSEGV, SIGABRT) prints the
# Python stack of each of its threads, so that a rare crash seen once in CI says where it happened.
os.environ.setdefault("PYTHONFAULTHANDLER", "1")


# The test files that take the longest, heaviest first (seconds per file in two runs of the whole suite on
# 2 cores: bench/results/suite_durations_20261205.md). `pytest -n auto --dist=loadfile` hands whole files to the
# workers in collection order (pyproject.toml turns off xdist's reordering by test count, which put these last);
# starting with them leaves only short files for the end, so the workers finish together. Only an order: a file
# missing here runs after them, in its usual place.
SLOWEST_FILES_FIRST = (
    "test_deployment.py", "test_parallel.py", "test_side_by_side.py", "test_machine_failures.py",
    "test_epoch_resume.py", "test_cifar.py", "test_camera.py", "test_user_mishaps.py", "test_backends.py",
    "test_front_door.py", "test_resume.py", "test_imagenet.py", "test_health_scripts.py", "test_shared_outputs.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the slowest test files first (SLOWEST_FILES_FIRST), each file's tests in their own order."""
    rank = {name: i for i, name in enumerate(SLOWEST_FILES_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


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


def execute_script(script: str, flags: tuple[str, ...], cwd: Path) -> None:
    """Run Experiment/<script> as `python Experiment/<script> flags...` would, inside this process (no new
    interpreter importing TensorFlow), with `cwd` as the working directory."""
    argv, previous = sys.argv, Path.cwd()
    sys.argv = [str(EXPERIMENT_DIR / script), *flags]
    os.chdir(cwd)
    try:
        runpy.run_path(str(EXPERIMENT_DIR / script), run_name="__main__")
    finally:
        sys.argv = argv
        os.chdir(previous)


def run_in_process(script: str, *flags: str, cwd: Path) -> tuple[int, str, str]:
    """`execute_script`, seen as a subprocess would be: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            execute_script(script, flags, cwd)
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else int(stop.code is not None)
    return code, out.getvalue(), err.getvalue()


def run_script(script: str, *flags: str, cwd: Path) -> dict:
    """`execute_script`; return the parsed JSON results of the run."""
    execute_script(script, flags, cwd)
    logs = sorted((cwd / "results").glob(script.removesuffix(".py") + "_*.json"))
    assert logs, f"{script} wrote no results JSON in {cwd / 'results'}"
    document = json.loads(logs[-1].read_text())
    check_training_logs(document, cwd)
    if "records" in document:  # an experiment's results file (a deployment's has no records)
        check_self_description(document, script.removesuffix(".py"))
    return document


def check_self_description(document: dict, experiment: str) -> None:
    """A results file names its experiment type and skip order; each record says what model it is."""
    assert experiment.endswith("_" + document["experiment_type"]), document["experiment_type"]
    assert all(len(skip) == 2 for skip in document["skip_order"]) and document["skip_order"]
    for record in document.get("records", []):
        model = record["model"]
        assert record["group"].startswith((model["kind"], model["kind"].replace("+", "Plus")))
        assert set(model) == {"kind", "survival_rates", "variable_failout", "skips", "weight_scheme", "setting"}


def check_training_logs(document: dict, cwd: Path) -> None:
    """Every model of a run has its training log, one row per epoch, naming a kept epoch among them."""
    from resilinet.runs.training_log import kept_epoch, read_log

    config = document.get("config", {})
    if config.get("evaluate_saved"):
        return  # the logs are the saved run's, checked when it ran (tests may have moved them since)
    epochs = config.get("epochs")
    for record in document.get("records", []):
        rows = read_log(cwd / record["training_log"])
        assert [int(r["epoch"]) for r in rows] == list(range(1, epochs + 1)), record["training_log"]
        assert record["kept_epoch"] == kept_epoch(rows), record["training_log"]


def backend_environment(backend: str) -> dict[str, str]:
    """Environment of a subprocess that imports this checkout's `resilinet` under Keras backend `backend`,
    or skip the test saying why when that backend's package is not installed."""
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"the {backend} package is not installed, so the {backend} Keras backend is not tested")
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": path, "TF_CPP_MIN_LOG_LEVEL": "2"}


def expected_difference(differences) -> str:
    """A report's cell of a paired difference, recomputed with numpy and scipy: signed mean ± sample std (n; 95%
    Student-t interval), in bold when the interval as printed excludes 0."""
    from scipy import stats

    values = np.asarray(differences, dtype=float)
    mean, n = values.mean(), len(values)
    if n == 1:
        return f"{mean:+.4f} ± n/a (n=1; 95% CI n/a)"
    std = values.std(ddof=1)
    half = stats.t.ppf(0.975, n - 1) * std / np.sqrt(n)
    low, high = mean - half, mean + half
    cell = f"{mean:+.4f} ± {std:.4f} (n={n}; 95% CI {low:+.4f} to {high:+.4f})"
    return f"**{cell}**" if round(low, 4) > 0 or round(high, 4) < 0 else cell


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


def run_weights(folder: Path, experiment: str) -> Path:
    """The weights folder of the one run of `experiment` under `folder`/models."""
    runs = sorted(p for p in (folder / "models" / experiment).iterdir() if p.is_dir())
    assert len(runs) == 1, f"expected one run of {experiment} in {folder / 'models'}, found {runs}"
    return runs[0]


@contextlib.contextmanager
def made_once(shared: Path, name: str):
    """Yield the folder `shared / name` and whether this process must make it, holding a lock that other
    processes asking for the same name wait on; a folder whose maker failed half-way is made again."""
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        folder, done = shared / name, shared / f"{name}.done"
        if done.exists():
            yield folder, False
            return
        shutil.rmtree(folder, ignore_errors=True)
        yield folder, True
        done.touch()


@pytest.fixture(scope="session")
def session_folder(tmp_path_factory) -> Path:
    """A temporary folder of this test session that every xdist worker sees (each has its own below it)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def shared_health_logs(session_folder):
    """Generated MHEALTH-format logs with a given number of rows a subject, written once in the test session."""
    def logs(rows_per_subject: int) -> Path:
        with made_once(session_folder, f"mhealth-{rows_per_subject}") as (folder, make):
            if make:
                write_mhealth_logs(folder, rows_per_subject=rows_per_subject)
        return folder
    return logs


@pytest.fixture(scope="session")
def finished_health_run(session_folder, shared_health_logs):
    """An uninterrupted run of health_average_accuracy.py on `shared_health_logs`, made once in the whole test
    session for each (rows per subject, flags), by whichever xdist worker asks first (the others wait for it): (its
    folder, its results document). Tests only read it; one that changes a run copies it (`copy_run`)."""
    def run(rows_per_subject: int, *flags: str) -> tuple[Path, dict]:
        data = shared_health_logs(rows_per_subject)
        key = hashlib.sha256(json.dumps([rows_per_subject, sorted(flags)]).encode()).hexdigest()[:12]
        with made_once(session_folder, f"health-run-{key}") as (folder, make):
            if make:
                folder.mkdir()
                run_script("health_average_accuracy.py", f"--data_dir={data}", *flags, cwd=folder)
        (results,) = (folder / "results").glob("health_average_accuracy_*.json")
        return folder, json.loads(results.read_text())
    return run


TWO_ITERATIONS_ROWS = 150  # rows a subject of the generated logs of the shared two-iteration run
TWO_ITERATIONS = ("--epochs=2", "--batch_size=128", "--verbose=0", "--verify_checksums=false", "--iterations=2")


@pytest.fixture(scope="session")
def two_iteration_run(finished_health_run):
    """The uninterrupted run of TWO_ITERATIONS (3 models x 2 iterations) on TWO_ITERATIONS_ROWS rows a subject that
    test_parallel.py, test_resume.py, test_health_scripts.py and test_report.py read: (its folder, its document)."""
    return finished_health_run(TWO_ITERATIONS_ROWS, *TWO_ITERATIONS)


@pytest.fixture(scope="session")
def two_iteration_data_flag(shared_health_logs) -> str:
    """The --data_dir flag of the generated logs `two_iteration_run` trained on."""
    return f"--data_dir={shared_health_logs(TWO_ITERATIONS_ROWS)}"


def copy_run(folder: Path, destination: Path) -> Path:
    """Copy the folder of one finished run (its results/ and models/) into `destination`; the copy's results file.
    A results file names the run's folders relative to the run's folder, so the copy resumes where it lies."""
    shutil.copytree(folder, destination, dirs_exist_ok=True)
    (results,) = (destination / "results").glob("*.json")
    return results


def weights(path: Path) -> dict[str, np.ndarray]:
    """Every array of a .weights.h5 file by its name inside the file."""
    import h5py

    arrays = {}
    with h5py.File(path) as file:
        file.visititems(lambda name, item: arrays.update({name: item[()]}) if isinstance(item, h5py.Dataset) else None)
    return arrays


def assert_same_weights(folder_a: Path, folder_b: Path, experiment: str) -> None:
    """The two folders' runs of `experiment` saved the same weights files, equal bit for bit."""
    run_a, run_b = run_weights(folder_a, experiment), run_weights(folder_b, experiment)
    files = sorted(p.name for p in run_a.glob("*.weights.h5"))
    assert files and files == sorted(p.name for p in run_b.glob("*.weights.h5"))
    for name in files:
        a, b = weights(run_a / name), weights(run_b / name)
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a), name


def task_processes(root_pid):
    """Pids of the Ray worker processes running a job (`ray::run_job_task`) under process root_pid."""
    parents, titles = {}, {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                titles[int(entry.name)] = (entry / "cmdline").read_bytes().split(b"\0")[0]
            except (OSError, IndexError, ValueError):
                continue

    def under_root(pid):
        while pid > 1:
            if pid == root_pid:
                return True
            pid = parents.get(pid, 0)
        return False

    return [pid for pid, title in titles.items() if title.startswith(b"ray::run_job_task") and under_root(pid)]


def session_processes(session: int) -> list[int]:
    """Pids of the processes still running in the session `session` (a program started with start_new_session,
    as a terminal starts a job: the program and what it started, Ray's processes included)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[3]) == session:
                found.append(int(entry.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


def ended_within(process: subprocess.Popen, seconds: float) -> tuple[str | None, str | None]:
    """(stdout, stderr) of `process` once it has ended. One still running `seconds` on is stopped with SIGABRT, so
    that Python's fault handler (on in the tests' processes) prints where each of its threads was, then killed
    with its process group, and the test fails with that: a stuck program never runs on beside the suite."""
    try:
        return process.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        leads_its_group = os.getpgid(process.pid) == process.pid
        process.send_signal(signal.SIGABRT)
        try:
            _, err = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            err = None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL) if leads_its_group else process.kill()
        if err is None:
            _, err = process.communicate()
        pytest.fail(f"{shlex.join(map(str, process.args))} still ran {seconds:g} s on: stopped; its stderr ends "
                    f"{(err or '')[-6000:]}", pytrace=False)


def glob_while_running(folder: Path, pattern: str) -> list[Path]:
    """`folder.glob(pattern)` while a run writes there. A folder may vanish as it is listed (a run's start-up
    writability checks create and remove its results and weights folders); it then holds nothing."""
    try:
        return list(Path(folder).glob(pattern))
    except FileNotFoundError:
        return []


@pytest.fixture
def report_cli(capsys):
    """Experiment/report.py's main with these arguments: (exit code, stdout, stderr)."""
    from resilinet.cli.report_script import main

    def run(*args):
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as stop:
            code = stop.code
        out, err = capsys.readouterr()
        return code, out, err
    return run
