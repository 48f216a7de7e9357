"""The driver of every experiment script: flags, resume, the run loop, and the results files.

Every (iteration, variant) is one job (`resilinet.jobs.run_job`); this module decides which jobs
to run, runs them, and alone writes the results files.
"""
from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any, Sequence

from resilinet.dataset import DatasetDefinition
from resilinet.errors import UserError
from resilinet.flag_table import flag_specs
from resilinet.flags import parse_flags
from resilinet.output_dirs import check_output_dirs
from resilinet.parallel import check_flags as check_parallel_flags, uses_ray
from resilinet.results import ResultsLog
from resilinet.variants import VARIANTS, Variant

COMMON_DEFAULTS = {
    "seed": 0,
    "evaluate_saved": False,
    "resume": "",
    "no_path_guess": "expected",
    "results_dir": "results",
    "models_dir": "models",
    "distribute": "auto",
    "verbose": 1,
    "workers": 1,  # jobs at once; other than 1 runs them as Ray tasks (resilinet.parallel)
    "ray_address": "",
    "cpus_per_model": 1.0,
    "gpus_per_model": 0.0,
}


def resolve_resume(resume: str, results_dir: Path, experiment: str) -> Path:
    """The results file `--resume` names: a path, or `latest` (newest of this experiment)."""
    if resume == "latest":
        candidates = sorted(Path(results_dir).glob(f"{experiment}_*.json"))
        if not candidates:
            raise UserError(f"--resume=latest: {results_dir} holds no results file of {experiment}")
        return candidates[-1]
    path = Path(resume)
    if not path.is_file():
        raise UserError(f"--resume: {path} is not a results file (use a .json written by {experiment}, or latest)")
    return path


def open_log(dataset: DatasetDefinition, experiment: str, config, variants: Sequence[Variant]) -> ResultsLog:
    """A new results log, or the one `--resume` names (checked against this configuration)."""
    command = shlex.join(["python", f"Experiment/{experiment}.py", *getattr(config, "argv", ())])
    settings = dataset.reliability_settings
    order = [v.name for v in variants]
    record_config = {k: v for k, v in vars(config).items() if k != "argv"}
    if config.resume:
        path = resolve_resume(config.resume, Path(config.results_dir), experiment)
        return ResultsLog.resume(path, experiment, record_config, dataset.topology, settings, dataset.metric,
                                 order, command)
    return ResultsLog(Path(config.results_dir), experiment, record_config, dataset.topology, settings,
                      dataset.metric, order, command)


def run_experiment(dataset: DatasetDefinition, experiment_type: str, config) -> ResultsLog:
    """Run every (iteration, variant) job not yet logged, logging each record as it arrives.

    With `config.mixed_precision` the models are built under the mixed_float16 policy; the policy
    in force before the run is restored afterwards.
    """
    from resilinet.jobs import Job, run_job, weights_path  # Keras is imported only once flags are good

    import keras

    experiment = f"{dataset.name}_{experiment_type}"
    variants = VARIANTS[experiment_type](dataset, config)
    log = open_log(dataset, experiment, config, variants)
    done = log.done()
    jobs = [Job(i, v) for i in range(1, config.iterations + 1) for v in variants if (i, v.name) not in done]
    if not jobs:
        print(f"{experiment}: nothing to do, {log.json_path} already holds all "
              f"{config.iterations} x {len(variants)} records", flush=True)
        return log
    if config.evaluate_saved:
        missing = [p for p in (weights_path(config.models_dir, experiment, j) for j in jobs) if not p.exists()]
        if missing:
            raise UserError(f"--evaluate_saved=true: {len(missing)} weights file(s) missing in {missing[0].parent}: "
                            f"{', '.join(p.name for p in missing)}; train them first "
                            "(run without --evaluate_saved=true)")
    resumed = f", resuming {log.json_path} ({len(done)} record(s) kept)" if config.resume else ""
    print(f"{experiment}: {len(jobs)} model(s) to run of {len(variants)} x {config.iterations} iteration(s)"
          f"{resumed}; logging to {log.text_path}", flush=True)
    if uses_ray(config):
        from resilinet.parallel import run_jobs

        run_jobs(dataset, experiment, config, jobs, bool(config.resume), on_record=log.add)
    else:
        data = dataset.load_data(config)
        previous_policy = keras.mixed_precision.global_policy()
        try:
            for job in jobs:
                log.add(run_job(dataset, experiment, config, data, job, reuse_finished=bool(config.resume)))
        finally:
            keras.mixed_precision.set_global_policy(previous_policy)
    print(f"results: {log.text_path} and {log.json_path}", flush=True)
    print(f"tables and figures: python Experiment/report.py {log.json_path}", flush=True)
    return log


def main(
    dataset: DatasetDefinition,
    experiment_type: str,
    argv: Sequence[str] | None = None,
    script_defaults: dict[str, Any] | None = None,
    description: str = "",
) -> ResultsLog:
    """Entry point of every experiment script: parse flags, run, turn bad input into a clear exit."""
    program = f"Experiment/{dataset.name}_{experiment_type}.py"
    defaults = {**COMMON_DEFAULTS, **dataset.defaults, **(script_defaults or {})}
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        config = parse_flags(defaults, argv, description, program, flag_specs(dataset, defaults))
        for key in ("epochs", "iterations", "batch_size"):
            if getattr(config, key) < 1:
                raise UserError(f"--{key} must be at least 1, got {getattr(config, key)}")
        check_parallel_flags(config)
        dataset.validate(config)
        VARIANTS[experiment_type](dataset, config)  # the experiment's own flags, checked before Keras loads
        check_output_dirs(config, f"{dataset.name}_{experiment_type}")
        config.argv = argv
        return run_experiment(dataset, experiment_type, config)
    except UserError as error:
        print(f"{program}: error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
