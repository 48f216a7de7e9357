"""Jobs as Ray tasks: `--workers=N` on a local Ray instance, `--ray_address=ADDRESS` on a cluster. Each task
runs one (iteration, variant) in a worker that loads the data itself (once per process) and returns the record."""
from __future__ import annotations

import contextlib
import io
import math
import os
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resilinet.base.errors import UserError
from resilinet.base.progress import line
from resilinet.base.settings import as_dict
from resilinet.runs.ray_session import alive_node_resources, project_environment, start_ray
from resilinet.runs.results import RunFiles
from resilinet.runs.training_log import read_log

if TYPE_CHECKING:  # Keras is imported only once the flags are good
    from resilinet.core.splits import Data
    from resilinet.data.definition import DatasetDefinition
    from resilinet.runs.variants import Job

PROGRESS_SECONDS = 60.0
MAX_RETRIES = 3  # runs again a job whose worker process or Ray node died (killed, out of memory), this many times

_worker_data: dict[Any, Data] = {}  # in a worker process: the data of the run it serves


def uses_ray(config) -> bool:
    return config.workers != 1 or bool(config.ray_address)


def check_flags(config) -> None:
    """Raise UserError for a GPU share Ray cannot honour (the flag table checks the plain ranges)."""
    gpus = config.gpus_per_model
    if gpus > 1 and not gpus.is_integer():
        raise UserError(f"--gpus_per_model must be 0, a fraction below 1 (models sharing a GPU) or a whole "
                        f"number, got {gpus}")


def worker_environment(dataset: DatasetDefinition, config) -> dict[str, str]:
    """Environment of the worker processes: the code's import paths, the Keras backend, and inter-op and OpenMP
    pools of the job's CPU share, at least one thread (CPU-only jobs) or GPU memory that grows on demand (GPUs).

    TensorFlow's results depend on the size of its intra-op pool (it splits reductions by thread:
    camera weights differ by up to 1e-7 after one epoch with 1 vs 2 threads), so that pool keeps the
    size an in-process run of the driver has (its CPU count), and the numbers match `--workers=1`.
    XLA (JAX) is left alone for the same reason."""
    experiment_dir = Path(sys.modules[dataset.load_data.__module__].__file__).resolve().parent
    env = project_environment([str(experiment_dir)])
    if config.gpus_per_model == 0:
        threads = str(max(1, int(config.cpus_per_model)))
        env.update(CUDA_VISIBLE_DEVICES="", TF_NUM_INTEROP_THREADS=threads, OMP_NUM_THREADS=threads,
                   TF_NUM_INTRAOP_THREADS=os.environ.get("TF_NUM_INTRAOP_THREADS", str(len(os.sched_getaffinity(0)))))
    else:
        env.update(TF_FORCE_GPU_ALLOW_GROWTH="true", XLA_PYTHON_CLIENT_PREALLOCATE="false")
    return env


def run_job_task(dataset: DatasetDefinition, experiment: str, config, job: Job, files: RunFiles,
                 directory: str) -> tuple[dict[str, Any], str]:
    """The Ray task: one job in a worker process, run in the driver's working directory (so relative
    data, cache and model paths mean what they mean to the driver). Returns the record and the job's
    console output, which the driver prints."""
    from resilinet.runs.jobs import RunContext, run_job

    where = socket.gethostname()
    if not Path(directory).is_dir():
        raise UserError(f"worker on {where}: the driver's working directory {directory} does not exist there; "
                        "on a cluster, run from a folder every node has at the same path (a shared file system)")
    os.chdir(directory)
    output = io.StringIO()
    try:
        with contextlib.redirect_stdout(output):
            key = (dataset.name, repr(sorted(as_dict(config).items())))
            if key not in _worker_data:
                _worker_data.clear()
                _worker_data[key] = dataset.load_data(config)
            record = run_job(RunContext(dataset, experiment, config, files), _worker_data[key], job)
    except UserError as error:
        raise UserError(f"worker on {where}: {error}") from None
    return record, output.getvalue()


def check_resources(config) -> None:
    """Stop early when no node can ever run a job (Ray would wait forever)."""
    wanted = {"CPU": config.cpus_per_model, "GPU": config.gpus_per_model}
    nodes = alive_node_resources()
    if not any(all(resources.get(k, 0) >= v for k, v in wanted.items() if v) for resources in nodes):
        largest = ", ".join(f"{r.get('CPU', 0):g} CPU / {r.get('GPU', 0):g} GPU" for r in nodes)
        raise UserError(f"no Ray node has --cpus_per_model={config.cpus_per_model:g} CPU and --gpus_per_model="
                        f"{config.gpus_per_model:g} GPU for one model (nodes: {largest or 'none'})")


def run_jobs(dataset: DatasetDefinition, experiment: str, config, jobs: Sequence[Job], files: RunFiles,
             on_record: Callable[[dict[str, Any]], None]) -> None:
    """Run `jobs` as Ray tasks, at most `config.workers` at once (0: as many as the resources allow),
    and pass each record to `on_record` in the driver as soon as its job has finished. While none
    finishes, a line a minute says where each running job is (read from its training log)."""
    try:
        import ray
    except ImportError:
        raise UserError("--workers other than 1 and --ray_address need Ray: pip install ray") from None

    cpus = os.cpu_count() if config.workers == 0 else math.ceil(config.workers * config.cpus_per_model)
    started_ray = start_ray(config.ray_address, None if config.ray_address else cpus)
    running: dict[Any, Job] = {}
    try:
        check_resources(config)
        task = ray.remote(run_job_task).options(
            num_cpus=config.cpus_per_model, num_gpus=config.gpus_per_model, max_retries=MAX_RETRIES,
            runtime_env={"env_vars": worker_environment(dataset, config)})
        shared = ray.put(dataset), ray.put(config)
        limit = config.workers or len(jobs)
        pending = list(jobs)
        while pending or running:
            while pending and len(running) < limit:
                job = pending.pop(0)
                running[task.remote(shared[0], experiment, shared[1], job, files, os.getcwd())] = job
            ready, _ = ray.wait(list(running), num_returns=1, timeout=PROGRESS_SECONDS)
            if not ready:
                report_progress(running.values(), jobs, len(pending), config.epochs, files)
                continue
            record, output = result(ready[0], running.pop(ready[0]))
            print(output, end="", flush=True)
            on_record(record)
    finally:
        for ref in running:
            ray.cancel(ref, force=True)
        if started_ray:  # a Ray instance this process had already started is its owner's to stop
            ray.shutdown()


def report_progress(running, jobs: Sequence[Job], pending: int, epochs: int, files: RunFiles) -> None:
    """One line per running job: its epoch and the time left, from its training log."""
    workers = max(1, len(running))
    for job in running:
        rows = read_log(files.log(job.iteration, job.variant.name))
        if len(rows) < 2:  # the first epoch also builds the graph: no estimate from it alone
            continue
        k = jobs.index(job) + 1
        print(line(f"model {k}/{len(jobs)} ({job.variant.name}, iteration {job.iteration})", len(rows), epochs,
                   [r["seconds"] for r in rows], math.ceil(pending / workers)), flush=True)


def result(ref, job: Job) -> tuple[dict[str, Any], str]:
    """A finished task's (record, output); a user error raised in the task as a UserError."""
    import ray

    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as error:
        if isinstance(error.cause, UserError):
            raise UserError(str(error.cause)) from None
        raise
    except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError, ray.exceptions.OutOfMemoryError) as error:
        raise UserError(f"iteration {job.iteration} {job.variant.name}: its worker process (or Ray node) died "
                        f"{MAX_RETRIES + 1} times ({type(error).__name__}); the finished records are logged, rerun "
                        "with --resume=latest (with fewer --workers if it ran out of memory)") from None
