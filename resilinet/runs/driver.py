"""The driver of every experiment script: which (iteration, variant) jobs to run (`resilinet.runs.jobs.run_job`),
resume, the run loop, and alone the results files."""
from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from resilinet.base.errors import Interrupted, NoRoom, UserError, ctrl_c_at_safe_points, safe_point, watch_ctrl_c
from resilinet.base.folders import missing_folders, remove_empty
from resilinet.base.keras_import import import_keras
from resilinet.base.locks import holding_lock
from resilinet.base.progress import Progress
from resilinet.base.settings import Check, as_dict
from resilinet.data.definition import DatasetDefinition
from resilinet.runs.parallel import uses_ray
from resilinet.runs.results import (
    ResultsLog,
    RunDescription,
    RunFiles,
    differing_keys,
    lock_path,
    moved_from,
    read_results,
    results_files,
    run_files_of,
)
from resilinet.runs.variants import VARIANTS, Job, Variant


def resolve_run(value: str, flag: str, results_dir: Path, experiment: str, evaluated: bool | None = None) -> Path:
    """The results file a run flag names: a path, or `latest`: the newest of this experiment, or with
    `evaluated` the newest whose run is of that kind (True: --evaluate_saved, False: training), which is the
    one a resume can continue; `latest` says which file it took."""
    if value != "latest":
        path = Path(value).expanduser()
        if not path.is_file():
            raise UserError(f"--{flag}: {path} is not a results file (use a .json written by {experiment}, or latest)")
        return path
    candidates = results_files(results_dir, experiment)
    if not candidates:
        raise UserError(f"--{flag}=latest: {results_dir} holds no results file of {experiment}")
    kind = "" if evaluated is None else " evaluating saved weights" if evaluated else " training its models"
    # newest first; an unreadable file on the way is named (read_results raises), never passed over in silence
    chosen = next((path for path in reversed(candidates)
                   if evaluated is None or bool(read_results(path)["config"].get("evaluate_saved")) is evaluated), None)
    if chosen is None:
        raise UserError(f"--{flag}=latest: {results_dir} holds no run of {experiment}{kind} to continue")
    print(f"--{flag}=latest: {chosen} (the newest run of {experiment}{kind})", flush=True)
    return chosen


# How a refusal of another run's weights is worded, by the check that refuses them: the flag, and what to do.
SAVED_RUN_ADVICE = {
    Check.EVALUATE_SAVED: ("--evaluate_saved=true", "leave those flags out to evaluate them with its constants, or "
                                                    "name another run with --saved_run"),
    Check.DEPLOY: ("--saved_run", "leave those flags out to deploy them with its constants, or name another run"),
}


def checked_saved_run(value: str, results_dir: Path, experiment: str, here: dict[str, Any], check: Check
                      ) -> tuple[Path, dict[str, Any]]:
    """The results file `--saved_run` names and its document, checked to be a run of `experiment` made with the
    constants `here` that `check` compares (a deployment: only those both sides have)."""
    flag, advice = SAVED_RUN_ADVICE[check]
    path = resolve_run(value, "saved_run", results_dir, experiment)
    document = read_results(path)
    if document["experiment"] != experiment:
        raise UserError(f"--saved_run: {path} is a results file of {document['experiment']}, not of {experiment}")
    ignore = set(document["config"]) ^ set(here) if check is Check.DEPLOY else set()
    differing = differing_keys(document["config"], here, experiment, check, ignore)
    if differing:
        shown = "; ".join(f"{k}: {document['config'].get(k)!r} there, {here.get(k)!r} here" for k in differing)
        raise UserError(f"{flag}: the weights of {path} were made with other constants ({shown}); {advice}")
    return path, document


def run_experiment(dataset: DatasetDefinition, experiment_type: str, config, argv: Sequence[str] = ()) -> ResultsLog:
    """Run every (iteration, variant) job not yet logged, logging each record as it arrives into a new results log
    (with its own weights folder, or with `--evaluate_saved` the files of the `--saved_run`, checked to be a run of
    the same constants), or the one `--resume` names (checked against this configuration). With
    `config.mixed_precision` the models are built under mixed_float16; the policy before is restored after. `argv`,
    the command line's flags, goes into the results' command."""
    experiment = f"{dataset.name}_{experiment_type}"
    variants = VARIANTS[experiment_type](dataset, config)
    created = missing_folders(Path(config.results_dir)) + missing_folders(Path(config.models_dir) / experiment)
    command = shlex.join(["python", *dataset.program(experiment_type), *argv])
    record_config = as_dict(config)
    run = RunDescription(experiment, experiment_type, record_config, dataset.topology, dataset.reliability_settings,
                         dataset.metric, [v.name for v in variants])
    if config.resume:
        path = resolve_run(config.resume, "resume", Path(config.results_dir), experiment, bool(config.evaluate_saved))
        with holding_lock(lock_path(path), f"the run {path}"):
            log = ResultsLog.resume(path, run, command)
            run_missing_jobs(dataset, experiment, config, variants, log)
        return log
    saved = None
    if config.evaluate_saved:
        path, document = checked_saved_run(config.saved_run, Path(config.results_dir), experiment, record_config,
                                           Check.EVALUATE_SAVED)
        saved = run_files_of(document, path, experiment)
        for line in moved_from(document, saved):
            print(f"--saved_run: {line}", flush=True)
    log = ResultsLog.create(Path(config.results_dir), Path(config.models_dir), run, command, saved)
    try:
        with holding_lock(lock_path(log.json_path), f"the run {log.json_path}"):
            run_missing_jobs(dataset, experiment, config, variants, log)
    except BaseException as error:  # a run that stopped before it trained anything leaves nothing behind
        if log.untouched() and not isinstance(error, NoRoom):
            log.discard()
            remove_empty(created)
            if isinstance(error, (Interrupted, KeyboardInterrupt)):
                raise Interrupted("interrupted before any model was trained: nothing was kept") from None
        raise
    return log


def run_missing_jobs(dataset: DatasetDefinition, experiment: str, config, variants: Sequence[Variant],
                     log: ResultsLog) -> None:
    """Run the jobs not yet logged one after another here, or as Ray tasks; each record goes into
    `log` as it exists."""
    done = log.done()
    jobs = [Job(i, v) for i in range(1, config.iterations + 1) for v in variants if (i, v.name) not in done]
    if not jobs:
        print(f"{experiment}: nothing to do, {log.json_path} already holds all "
              f"{config.iterations} x {len(variants)} records", flush=True)
        return
    if config.evaluate_saved:
        check_saved_weights(log.files, jobs)
    resumed = f", resuming {log.json_path} ({len(done)} record(s) kept)" if config.resume else ""
    print(f"{experiment}: {len(jobs)} model(s) to run of {len(variants)} x {config.iterations} iteration(s)"
          f"{resumed}; logging to {log.text_path}", flush=True)
    try:
        with watch_ctrl_c() as ctrl_c:
            run_jobs(dataset, experiment, config, jobs, log)
    except BaseException as error:
        if not (ctrl_c.pressed or isinstance(error, KeyboardInterrupt)):
            raise
        raise Interrupted(f"interrupted: {len(log.records)} record(s) kept in {log.json_path}; "
                          f"continue with --resume=latest") from None
    print(f"results: {log.text_path} and {log.json_path}", flush=True)
    print(f"training logs: {log.files.log_dir}/", flush=True)
    print(f"tables and figures: {shlex.join(['python', report_program(), str(log.json_path)])}", flush=True)


def report_program() -> str:
    """The report's script as this shell reaches it: Experiment/report.py where the working folder is the
    repository's root (as the docs say to run), its absolute path elsewhere."""
    report = Path(__file__).resolve().parents[2] / "Experiment" / "report.py"
    here = Path("Experiment") / "report.py"
    if not report.is_file() or (here.is_file() and here.samefile(report)):
        return str(here)
    return str(report)


def check_saved_weights(files: RunFiles, jobs: Sequence) -> None:
    """A UserError listing the jobs whose weights --evaluate_saved=true would score but the run never saved."""
    missing = [p for p in (files.weights(j.iteration, j.variant.name) for j in jobs) if not p.exists()]
    if missing:
        raise UserError(f"--evaluate_saved=true: {len(missing)} weights file(s) missing in {missing[0].parent}: "
                        f"{', '.join(p.name for p in missing)}; train them first (run without --evaluate_saved=true)")


def run_jobs(dataset: DatasetDefinition, experiment: str, config, jobs: Sequence, log: ResultsLog) -> None:
    """Run `jobs` as Ray tasks (`resilinet.runs.parallel`), or here one after another with a progress line per
    epoch; each record goes into `log` as it arrives."""
    if uses_ray(config):
        from resilinet.runs.parallel import run_jobs as run_jobs_on_ray

        run_jobs_on_ray(dataset, experiment, config, jobs, log.files, on_record=log.add)
        return
    keras = import_keras()  # here only: a driver of Ray tasks has no use for Keras

    from resilinet.runs.jobs import RunContext, run_job

    run, data = RunContext(dataset, experiment, config, log.files), dataset.load_data(config)
    previous_policy = keras.mixed_precision.global_policy()  # a run in mixed precision sets the global policy
    try:
        with ctrl_c_at_safe_points():  # a Ctrl-C stops the jobs between batches, never inside TensorFlow
            for k, job in enumerate(jobs, start=1):
                safe_point()
                progress = Progress(f"model {k}/{len(jobs)} ({job.variant.name}, iteration {job.iteration})",
                                    models_after=len(jobs) - k)
                log.add(run_job(run, data, job, progress))
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)
