"""One (iteration, variant) of an experiment: train or load the model, evaluate every failure
combination, return its record. The sequential driver, resume, `--evaluate_saved` and parallel
workers all call `run_job`; only the driver writes results files."""
from __future__ import annotations

import os
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras

from resilinet.dataset import Data, DatasetDefinition
from resilinet.distribute import distribution_scope
from resilinet.errors import UserError
from resilinet.evaluation import evaluate_combinations, expected_score, no_path_guess_score
from resilinet.training import balanced_class_weight, train
from resilinet.variants import Variant, model_options

WEIGHTS_SUFFIX = ".weights.h5"
IN_PROGRESS_SUFFIX = ".inprogress.weights.h5"


@dataclass(frozen=True)
class Job:
    iteration: int
    variant: Variant


def job_seed(seed: int, iteration: int, variant_name: str) -> int:
    """The random seed of one (iteration, variant): a function of these three alone, never of how
    many models the process trained before, so resumed and parallel runs match a plain one."""
    return zlib.crc32(f"{seed}/{iteration}/{variant_name}".encode()) & 0x7FFFFFFF


def weights_path(models_dir: Path | str, experiment: str, job: Job) -> Path:
    """Where the finished training of `job` is saved (present only once `fit` has ended)."""
    return Path(models_dir) / experiment / f"{job.variant.name}_iter{job.iteration}{WEIGHTS_SUFFIX}"


def in_progress_path(final: Path) -> Path:
    """Best-so-far checkpoints of an unfinished training."""
    return final.with_name(final.name.removesuffix(WEIGHTS_SUFFIX) + IN_PROGRESS_SUFFIX)


def run_job(dataset: DatasetDefinition, experiment: str, config, data: Data, job: Job,
            reuse_finished: bool = False) -> dict[str, Any]:
    """Train (or, with `config.evaluate_saved` or `reuse_finished` and finished weights on disk,
    load) one model, evaluate it under every failure combination and return its record."""
    started = time.perf_counter()
    variant, iteration = job.variant, job.iteration
    seed = job_seed(config.seed, iteration, variant.name)
    policy = "mixed_float16" if getattr(config, "mixed_precision", False) else "float32"
    keras.backend.clear_session()
    keras.mixed_precision.set_global_policy(policy)  # clear_session resets the policy
    keras.utils.set_random_seed(seed)
    options = model_options(dataset, variant, config, iteration)
    final = weights_path(config.models_dir, experiment, job)
    load = config.evaluate_saved or (reuse_finished and final.exists())
    with distribution_scope(config.distribute):
        model = dataset.build_model(variant.kind, config, options)
        if load:
            load_weights(model, final)
        else:
            class_weight = balanced_class_weight(data.train.y) if dataset.balanced_class_weight else None
            checkpoint = in_progress_path(final)
            checkpoint.unlink(missing_ok=True)  # an interrupted training is started again
            train(model, data, epochs=config.epochs, batch_size=config.batch_size, weights_path=checkpoint,
                  class_weight=class_weight, verbose=config.verbose)
            os.replace(checkpoint, final)
    topology = dataset.topology
    skip_mask = options.skip_mask if variant.kind.has_skips else (False,) * len(topology.skips)
    results = evaluate_combinations(model, topology, skip_mask, data.test, dataset.metric,
                                    no_path_score(dataset, config, data, seed), config.batch_size)
    averages = {s: expected_score(results, dataset.reliability_settings[s]) for s in variant.settings}
    shown = ", ".join(f"{s} {v:.4f}" for s, v in averages.items())
    action = "loaded" if load else "trained"
    print(f"iteration {iteration}/{config.iterations} {variant.name} ({action}, "
          f"{time.perf_counter() - started:.0f} s): {shown}", flush=True)
    return {
        "iteration": iteration,
        "variant": variant.name,
        "group": variant.group,
        "combinations": [
            {"alive": dict(zip(topology.failable, r.alive)), "no_path": r.no_path, dataset.metric: r.score}
            for r in results
        ],
        "average": averages,
    }


def no_path_score(dataset: DatasetDefinition, config, data: Data, seed: int) -> float:
    """The score when no input reaches the output (see DatasetDefinition.no_path_score)."""
    fixed = dataset.no_path_score
    if callable(fixed):
        return fixed(data)
    if fixed is not None:
        return fixed
    return no_path_guess_score(data.train.y, data.test.y, dataset.metric, config.no_path_guess, seed)


def load_weights(model: keras.Model, path: Path) -> None:
    if not path.exists():
        raise UserError(f"no saved weights at {path}: train first (run without --evaluate_saved=true)")
    try:
        model.load_weights(path)
    except (ValueError, KeyError, OSError) as error:
        raise UserError(f"{path} does not fit this model (was it trained with other constants?): {error}") from None
