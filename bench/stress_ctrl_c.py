"""Stress test of Ctrl-C: run the health script again and again, press Ctrl-C (SIGINT) at a random moment, and count
how each run ended. Every run must print its one line and exit 130; the stderr of any other is kept (with the
Python stack of each thread: PYTHONFAULTHANDLER=1) and named. It also prints how long the runs took from Ctrl-C to
their exit.

`--target=training`: the script trains in its own process (`--workers=1`) on generated MHEALTH-format logs; Ctrl-C
comes `--max_delay` seconds at most after its first model's training log appears (tracing, first batches; the hold
waits for the next batch). `--target=deployment`: a run trained once is deployed (one Ray actor per node, a
stream of 1,000,000 requests) and Ctrl-C goes to the deployment's process group, as a terminal sends it, at most
`--max_delay` seconds after the stream starts; a run that ended only by the bound on stopping (`still stopping`) or
left a process of its group behind counts as a failure. A rare failure needs many runs: two of these side by side
load the machine as CI does.

    python bench/stress_ctrl_c.py [--target=training --runs=60 --max_delay=0.5 --folder=/tmp/stress_ctrl_c --seed=0]
"""
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from conftest import EXPERIMENT_DIR, glob_while_running, session_processes, write_mhealth_logs  # noqa: E402

from resilinet.cli.parser import parse_flags  # noqa: E402

DEFAULTS = {"target": "training", "runs": 60, "max_delay": 0.5, "folder": "/tmp/stress_ctrl_c", "seed": 0}
TARGETS = ("training", "deployment")
FLAGS = ["--epochs=2", "--iterations=1", "--batch_size=64", "--verbose=0", "--verify_checksums=false", "--workers=1"]
DEPLOYMENT = ["--model=ResiliNet", "--verify_checksums=false", "--requests=1000000", "--node_cpus=0.1"]


def environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(EXPERIMENT_DIR)]), "PYTHONFAULTHANDLER": "1"}


def one_run(folder: Path, logs: Path, delay_s: float) -> tuple[int | None, str, float]:
    """Start the script in `folder`, press Ctrl-C `delay_s` after its first training log appears: (exit code or None
    if it ended before, stderr, seconds from Ctrl-C to the exit)."""
    process = subprocess.Popen([sys.executable, str(EXPERIMENT_DIR / "health_average_accuracy.py"),
                                f"--data_dir={logs}", *FLAGS], cwd=folder, env=environment(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None and not glob_while_running(
            folder / "results", "*/*.csv"):
        time.sleep(0.05)
    time.sleep(delay_s)
    if process.poll() is not None:
        return None, process.communicate()[1], 0.0
    process.send_signal(signal.SIGINT)
    pressed = time.monotonic()
    stderr = process.communicate(timeout=120)[1]
    return process.returncode, stderr, time.monotonic() - pressed


def one_deployment(folder: Path, logs: Path, delay_s: float) -> tuple[int | None, str, float]:
    """Deploy the run trained in `folder` and press Ctrl-C in its process group `delay_s` after the stream starts:
    (exit code or None if it ended before, stderr and what went wrong, seconds from Ctrl-C to the exit)."""
    process = subprocess.Popen([sys.executable, str(EXPERIMENT_DIR / "health_deployment.py"), f"--data_dir={logs}",
                                *DEPLOYMENT], cwd=folder, env=environment(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    for line in process.stdout:
        if "streaming the requests" in line:
            break
    time.sleep(delay_s)
    if process.poll() is not None:
        return None, process.communicate()[1], 0.0
    os.killpg(process.pid, signal.SIGINT)
    pressed = time.monotonic()
    try:
        stderr = process.communicate(timeout=120)[1]
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)  # the stacks of its threads, then its group killed
        time.sleep(5)
        os.killpg(process.pid, signal.SIGKILL)
        return process.wait(), process.communicate()[1] + "\nstill running 120 s after the Ctrl-C", 120.0
    waited = time.monotonic() - pressed
    time.sleep(5)
    left = session_processes(process.pid)
    if left:
        stderr += f"\nprocesses of its group left 5 s after its exit: {', '.join(map(str, left))}"
    return process.returncode, stderr, waited


def clean(code: int | None, stderr: str) -> bool:
    """Whether a run ended as it must: exit 130, its last line the one line, by the normal way of stopping."""
    last = stderr.strip().splitlines()[-1] if stderr.strip() else ""
    return code == 130 and "interrupted" in last and "still stopping" not in last


def main() -> None:
    config = parse_flags(DEFAULTS, sys.argv[1:], __doc__, "bench/stress_ctrl_c.py")
    if config.target not in TARGETS:
        raise SystemExit(f"bench/stress_ctrl_c.py: --target must be one of {', '.join(TARGETS)}, got {config.target!r}")
    base, rng = Path(config.folder), random.Random(config.seed)
    base.mkdir(parents=True, exist_ok=True)
    logs = base / "mhealth"
    if not logs.exists():
        write_mhealth_logs(logs, rows_per_subject=60)
    trained = base / "trained"
    if config.target == "deployment" and not list(trained.glob("results/*.json")):
        shutil.rmtree(trained, ignore_errors=True)
        trained.mkdir()
        subprocess.run([sys.executable, str(EXPERIMENT_DIR / "health_average_accuracy.py"), f"--data_dir={logs}",
                        *FLAGS], cwd=trained, env=environment(), check=True, stdout=subprocess.DEVNULL)
    ends: Counter = Counter()
    waits = []
    for run in range(config.runs):
        delay_s = rng.random() * config.max_delay
        if config.target == "deployment":
            folder = trained
            code, stderr, wait_s = one_deployment(trained, logs, delay_s)
        else:
            folder = base / f"run{run}"
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            code, stderr, wait_s = one_run(folder, logs, delay_s)
        ends[code if code is None or clean(code, stderr) else f"{code}, not clean"] += 1
        waits += [wait_s] if code is not None else []
        if clean(code, stderr):
            if config.target == "training":
                shutil.rmtree(folder)
        else:
            kept = base / f"stderr{run}.txt"
            kept.write_text(stderr)
            print(f"run {run}: exit {code}, its stderr in {kept}", flush=True)
    print(f"{config.runs} runs, by exit code (None: ended before Ctrl-C): {dict(ends)}", flush=True)
    if waits:
        median, longest = statistics.median(waits), max(waits)
        print(f"seconds from Ctrl-C to the exit: median {median:.2f}, max {longest:.2f}", flush=True)


if __name__ == "__main__":
    main()
