"""Benchmark of parallel jobs: one experiment run with --workers=1 and with --workers=N, alternating.

Each run is a fresh `python Experiment/<script>.py` process (so Ray's start-up, the workers' imports
and their data loading count, as for a user), timed from start to exit. Prints each run's models per
minute, the throughput ratio N workers / 1 worker over all rounds, and checks that every run gave the
same per-combination scores.

    python bench/bench_workers.py --data_dir=<multiview-dataset> [--script=camera_average_accuracy
        --epochs=50 --iterations=2 --workers=2 --rounds=2]
    KERAS_BACKEND=jax python bench/bench_workers.py --script=health_average_accuracy --data_dir=<MHEALTH>
        --workers=4 --gpus_per_model=0.25        # four models sharing one GPU
"""
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))
from resilinet.base.errors import UserError  # noqa: E402
from resilinet.cli.parser import parse_flags  # noqa: E402

DEFAULTS = {"script": "camera_average_accuracy", "data_dir": "", "epochs": 50, "batch_size": 64, "iterations": 2,
            "workers": 2, "cpus_per_model": 1.0, "gpus_per_model": 0.0, "rounds": 2, "extra": ("",)}


def run(config, workers: int, folder: Path) -> tuple[float, dict]:
    """Seconds of one run of the script, and its results document."""
    flags = [f"--data_dir={config.data_dir}", f"--epochs={config.epochs}", f"--batch_size={config.batch_size}",
             f"--iterations={config.iterations}", "--verbose=0", f"--results_dir={folder / 'results'}",
             f"--models_dir={folder / 'models'}", f"--workers={workers}", *[e for e in config.extra if e]]
    if workers != 1:
        flags += [f"--cpus_per_model={config.cpus_per_model}", f"--gpus_per_model={config.gpus_per_model}"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPOSITORY), os.environ.get("PYTHONPATH", "")])}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(REPOSITORY / "Experiment" / f"{config.script}.py"), *flags],
                          cwd=REPOSITORY, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"{config.script} --workers={workers} failed:\n{done.stderr[-3000:]}")
    (path,) = (folder / "results").glob("*.json")
    return seconds, json.loads(path.read_text())


def scores(document) -> dict:
    return {(r["iteration"], r["variant"]): r["combinations"] for r in document["records"]}


def main(argv):
    try:
        config = parse_flags(DEFAULTS, argv, __doc__, "bench/bench_workers.py")
        if config.workers < 2 or config.rounds < 1:
            raise UserError("--workers must be at least 2 and --rounds at least 1")
    except UserError as error:
        print(f"bench/bench_workers.py: error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    totals = {1: [0.0, 0], config.workers: [0.0, 0]}
    reference = None
    with tempfile.TemporaryDirectory(prefix="bench_workers_") as temp:
        for round_ in range(config.rounds):
            order = (1, config.workers) if round_ % 2 == 0 else (config.workers, 1)
            for workers in order:
                seconds, document = run(config, workers, Path(temp) / f"round{round_}_workers{workers}")
                models = len(document["records"])
                totals[workers][0] += seconds
                totals[workers][1] += models
                print(f"round {round_ + 1} --workers={workers}: {models} models in {seconds:.1f} s, "
                      f"{60 * models / seconds:.2f} models/min", flush=True)
                reference = reference or scores(document)
                if scores(document) != reference:
                    raise SystemExit(f"--workers={workers} in round {round_ + 1} gave other scores than the first run")
    rate = {w: 60 * models / seconds for w, (seconds, models) in totals.items()}
    print(f"{config.script}, backend {os.environ.get('KERAS_BACKEND', 'tensorflow')}, {os.cpu_count()} CPU cores: "
          f"throughput --workers={config.workers} / --workers=1 = {rate[config.workers] / rate[1]:.2f} "
          f"({rate[config.workers]:.2f} vs {rate[1]:.2f} models/min); the scores of all runs are identical")


if __name__ == "__main__":
    main(sys.argv[1:])
