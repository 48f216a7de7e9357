"""Stress test of Ctrl-C in training: run the health script again and again, press Ctrl-C (SIGINT) at a random
moment of its first model's training, and count how each run ended. Every run must print its one line and exit
130; the stderr of any other is kept (with the Python stack of each thread: PYTHONFAULTHANDLER=1) and named. It
also prints how long the runs took from Ctrl-C to their exit (the hold waits for the next batch).

Each run trains in the script's own process (`--workers=1`) on generated MHEALTH-format logs; Ctrl-C comes
`--max_delay` seconds at most after the model's training log appears (its training has started: tracing, first
batches). A rare crash needs many runs: two of these side by side load the machine as CI does.

    python bench/stress_ctrl_c.py [--runs=60 --max_delay=0.5 --folder=/tmp/stress_ctrl_c --seed=0]
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
from conftest import EXPERIMENT_DIR, glob_while_running, write_mhealth_logs  # noqa: E402

from resilinet.cli.parser import parse_flags  # noqa: E402

DEFAULTS = {"runs": 60, "max_delay": 0.5, "folder": "/tmp/stress_ctrl_c", "seed": 0}
FLAGS = ["--epochs=2", "--iterations=1", "--batch_size=64", "--verbose=0", "--verify_checksums=false", "--workers=1"]


def one_run(folder: Path, logs: Path, delay_s: float) -> tuple[int | None, str, float]:
    """Start the script in `folder`, press Ctrl-C `delay_s` after its first training log appears: (exit code or None
    if it ended before, stderr, seconds from Ctrl-C to the exit)."""
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(EXPERIMENT_DIR)]),
                   "PYTHONFAULTHANDLER": "1"}
    process = subprocess.Popen([sys.executable, str(EXPERIMENT_DIR / "health_average_accuracy.py"),
                                f"--data_dir={logs}", *FLAGS], cwd=folder, env=environment,
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


def main() -> None:
    config = parse_flags(DEFAULTS, sys.argv[1:], __doc__, "bench/stress_ctrl_c.py")
    base, rng = Path(config.folder), random.Random(config.seed)
    base.mkdir(parents=True, exist_ok=True)
    logs = base / "mhealth"
    if not logs.exists():
        write_mhealth_logs(logs, rows_per_subject=60)
    ends: Counter = Counter()
    waits = []
    for run in range(config.runs):
        folder = base / f"run{run}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        code, stderr, wait_s = one_run(folder, logs, rng.random() * config.max_delay)
        ends[code] += 1
        waits += [wait_s] if code is not None else []
        if code == 130 and "interrupted" in stderr.strip().splitlines()[-1]:
            shutil.rmtree(folder)
        else:
            (folder / "stderr.txt").write_text(stderr)
            print(f"run {run}: exit {code}, its stderr in {folder / 'stderr.txt'}", flush=True)
    print(f"{config.runs} runs, by exit code (None: ended before Ctrl-C): {dict(ends)}", flush=True)
    if waits:
        median, longest = statistics.median(waits), max(waits)
        print(f"seconds from Ctrl-C to the exit: median {median:.2f}, max {longest:.2f}", flush=True)


if __name__ == "__main__":
    main()
