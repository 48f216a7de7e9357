"""One (iteration, variant) of an experiment: train or load the model, evaluate every failure combination, return
its record. The sequential driver, resume, `--evaluate_saved` and parallel workers all call `run_job`."""
from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np

from resilinet.base.errors import UserError
from resilinet.base.files import check_room, unwritable_error
from resilinet.core.bounded import enough_combinations, expected_bounds
from resilinet.core.evaluation import (
    Scoring,
    evaluate_combinations,
    expected_score,
    no_path_guess_score,
)
from resilinet.core.failure_models import Independent, draw_combinations, estimate_from
from resilinet.core.kinds import ModelOptions
from resilinet.core.splits import Data, Split
from resilinet.data.definition import DatasetDefinition, shown_path
from resilinet.runs.distribute import distribution_scope
from resilinet.runs.results import RunFiles
from resilinet.runs.training import (
    TrainingPlan,
    balanced_class_weight,
    derived_seed,
    save_weights_atomically,
    train,
)
from resilinet.runs.training_log import kept_epoch, read_log
from resilinet.runs.variants import Job, describe, model_options


def job_seed(seed: int, iteration: int, variant_name: str) -> int:
    """The random seed of one (iteration, variant): a function of these three alone, never of how
    many models the process trained before, so resumed and parallel runs match a plain one."""
    return derived_seed(seed, iteration, variant_name)


@dataclass
class JobModel:
    """A job's network, ready to evaluate."""

    model: keras.Model
    options: ModelOptions
    skip_mask: Sequence[bool] | None  # the skip mask its graph has (None: every skip hyperconnection)
    no_path_score: float  # the score when no input reaches the output
    action: str  # how its weights came ("loaded", "trained", ...)

    def scoring(self, test: Split, metric: str, batch_size: int) -> Scoring:
        return Scoring(test, metric, self.no_path_score, batch_size)


@dataclass(frozen=True)
class WeightSource:
    """Where a job's weights come from: its finished weights file `path`; with `train`, weights that are missing or
    damaged are trained instead, over the devices `distribute` says (`resilinet.runs.distribute`)."""

    path: Path
    train: Callable[[keras.Model], str] | None = None  # trains the model and says how ("trained", ...)
    distribute: str = "off"


def job_model(dataset: DatasetDefinition, config, data: Data, job: Job, seed: int, weights: WeightSource) -> JobModel:
    """The one way to a trained model: build `job`'s network under `seed` and load or train its weights."""
    # Fresh layer names for every job. No full garbage collection: Python's collector frees the previous job's
    # model on its own, and a forced one took 0.3-0.4 s a job (bench/results/suite_durations_20261207.md).
    keras.backend.clear_session(free_memory=False)
    keras.mixed_precision.set_global_policy("mixed_float16" if config.mixed_precision else "float32")
    keras.utils.set_random_seed(seed)
    kind = job.variant.kind
    options = model_options(dataset, job.variant, config, job.iteration)
    with distribution_scope(weights.distribute):
        model = dataset.build_model(kind, config, options)
        check_classifier(dataset, model, data.num_classes)
        action = "loaded"
        if weights.train is None:
            load_weights(model, weights.path)
        elif not (weights.path.exists() and load_finished(model, weights.path)):
            action = weights.train(model)
    skip_mask = dataset.topology.skip_mask_of(kind.has_skips, options.skip_mask)
    no_path = dataset.no_path_score  # the score when no input reaches the output (see DatasetDefinition)
    if callable(no_path):
        no_path = no_path(data)
    elif no_path is None:
        no_path = no_path_guess_score(data.train.y, data.test.y, dataset.metric, config.no_path_guess, seed)
    return JobModel(model, options, skip_mask, no_path, action)


def check_classifier(dataset: DatasetDefinition, model: keras.Model, num_classes: int) -> None:
    """A UserError, before any training, when the output node does not give one value per class of the data (a
    network of your own whose last layer is not its classifier)."""
    width = model.output_shape[-1]
    if width != num_classes:
        where = shown_path(dataset.constants_file) if dataset.constants_file else dataset.name
        raise UserError(f"{where}: the output node {dataset.topology.output} gives {width} values per sample, but "
                        f"the data has {num_classes} classes: its last layer must be the classifier, one softmax "
                        f"output per class (keras.layers.Dense({num_classes}, activation=\"softmax\"))")


@dataclass(frozen=True)
class RunContext:
    """What every job of one run shares: the dataset, the experiment's name, the configuration and the run's files."""

    dataset: DatasetDefinition
    experiment: str
    config: Any
    files: RunFiles


def run_job(run: RunContext, data: Data, job: Job,
            on_epoch: Callable[[int, int, float], None] | None = None) -> dict[str, Any]:
    """Train one model (continuing its saved training state, if any) or load its finished weights (with
    `config.evaluate_saved`, or when this run finished it before), evaluate every failure combination: its record."""
    started = time.perf_counter()
    dataset, config, variant = run.dataset, run.config, job.variant
    seed = job_seed(config.seed, job.iteration, variant.name)
    weights = run.files.weights(job.iteration, variant.name)

    def train_model(model: keras.Model) -> str:
        return train_job(run, data, job, seed, model, on_epoch)

    source = WeightSource(weights) if config.evaluate_saved else WeightSource(weights, train_model, config.distribute)
    built = job_model(dataset, config, data, job, seed, source)
    results, averages, past_exact = evaluate_job(run, data, built, job)
    shown = ", ".join(f"{s} {v:.4f}" for s, v in averages.items())
    if past_exact:
        drawn = f", {config.draws} drawn per setting" if "estimates" in past_exact else ""
        shown += f" ({len(results)} of {2 ** len(dataset.topology.failable)} combinations evaluated{drawn})"
    print(f"iteration {job.iteration}/{config.iterations} {variant.name} ({built.action}, "
          f"{time.perf_counter() - started:.0f} s): {shown}", flush=True)
    log_path = run.files.log(job.iteration, variant.name)
    combinations = [{"alive": dict(zip(dataset.topology.failable, r.alive)), "no_path": r.no_path,
                     dataset.metric: r.score} for r in results]
    return {"iteration": job.iteration, "variant": variant.name, "group": variant.group,
            "model": describe(variant, built.options, config), "training_log": str(log_path),
            "kept_epoch": kept_epoch(read_log(log_path)), "combinations": combinations, "average": averages,
            **past_exact}


def train_job(run: RunContext, data: Data, job: Job, seed: int, model: keras.Model,
              on_epoch: Callable[[int, int, float], None] | None) -> str:
    """Train `job`'s `model` and save its finished weights; returns how (for the console line)."""
    files, config, name = run.files, run.config, job.variant.name
    state, weights = files.state(job.iteration, name), files.weights(job.iteration, name)
    files.weights_dir.mkdir(parents=True, exist_ok=True)
    files.log_dir.mkdir(parents=True, exist_ok=True)
    # The run's constants are checked when it is resumed; a state names its job and training.
    identity = {"experiment": run.experiment, "variant": name, "iteration": job.iteration, "seed": seed,
                "epochs": config.epochs, "batch_size": config.batch_size}
    class_weight = balanced_class_weight(data.train.y) if run.dataset.balanced_class_weight else None
    plan = TrainingPlan(config.epochs, config.batch_size, seed, state, files.log(job.iteration, name), identity,
                        class_weight, config.verbose, config.checkpoint_seconds)
    result = train(model, data, plan, on_epoch, warn=lambda message: print(f"warning: {message}", flush=True))
    check_room(weights, sum(w.nbytes for w in model.get_weights()))
    save_weights_atomically(model, weights)
    try:
        state.unlink(missing_ok=True)
    except OSError as error:
        raise unwritable_error(state, error) from None
    return f"trained, resumed after epoch {result.resumed_from}" if result.resumed_from else "trained"


def evaluate_job(run: RunContext, data: Data, built: JobModel, job: Job) -> tuple[list, dict, dict]:
    """Score `built` under every failure combination or, past --exact_max_nodes, under the most probable ones (bounded)
    or under combinations drawn per setting (with --draws): the combinations' results, the expected score per
    setting, and what the record adds past --exact_max_nodes ({"bounds": ...}, whose middles the expected scores are,
    or {"estimates": ...}, whose means they are; empty when exact)."""
    dataset, config = run.dataset, run.config
    topology, settings = dataset.topology, {s: dataset.reliability_settings[s] for s in job.variant.settings}

    def evaluate(combinations: list[tuple[bool, ...]] | None) -> list:
        return evaluate_combinations(built.model, topology, built.skip_mask, built.scoring(data.test, dataset.metric,
                                     config.batch_size), combinations, config.node_by_node)

    if len(topology.failable) <= config.exact_max_nodes:
        results = evaluate(None)
        return results, {s: expected_score(results, r) for s, r in settings.items()}, {}
    if config.draws:
        drawn = {s: draw_combinations(Independent(dict(zip(topology.failable, r))), topology.failable,
                                      config.draws, draw_stream(config.draw_seed, job.iteration, s))
                 for s, r in settings.items()}
        results = evaluate(sorted({alive for combinations in drawn.values() for alive in combinations}))
        scores = {result.alive: result.score for result in results}
        estimates = {s: estimate_from(combinations, scores) for s, combinations in drawn.items()}
        return results, {s: e.mean for s, e in estimates.items()}, {"estimates": {s: vars(e) for s, e in
                                                                                  estimates.items()}}
    results = evaluate(enough_combinations(settings.values(), config.mass_left))
    scores = {result.alive: result.score for result in results}
    bounds = {s: expected_bounds(scores, reliability) for s, reliability in settings.items()}
    return results, {s: b.middle for s, b in bounds.items()}, {"bounds": {s: vars(b) for s, b in bounds.items()}}


def draw_stream(draw_seed: int, iteration: int, setting: str) -> np.random.Generator:
    """The random stream the combinations of one (iteration, reliability setting) are drawn from: the same for every
    model of the iteration, so their estimates differ by the models, not by the draws."""
    return np.random.default_rng(derived_seed(draw_seed, iteration, setting))


def foreign_weights(path: Path, error: Exception) -> UserError:
    """A weights file whose layers are not those of the model it is named after (another model's file copied
    over it, or weights made with other constants): one line, whatever Keras said."""
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return UserError(f"{path} holds the weights of another model (Keras: {first.rstrip('.:')}): put back the file "
                     f"this model saved, or remove it to train the model again")


def load_quietly(model: keras.Model, path: Path) -> None:
    """`model.load_weights(path)`; the warnings Keras gives on the way are shown only if the load succeeds
    (a file that does not fit raises after warning of each layer it skipped: its error says it in one line)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.load_weights(path)
    for warning in caught:
        warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)


def load_weights(model: keras.Model, path: Path) -> None:
    if not path.exists():
        raise UserError(f"no saved weights at {path}: train first (run without --evaluate_saved=true)")
    try:
        load_quietly(model, path)
    except OSError as error:
        raise UserError(f"{path} is damaged (truncated or not a weights file: {error}); "
                        "train that model again") from None
    except (ValueError, KeyError) as error:
        raise foreign_weights(path, error) from None


def load_finished(model: keras.Model, path: Path) -> bool:
    """Load the finished weights this run saved at `path`; a damaged file (a kill or a full disk
    while it was written) is no finished training: warn, remove it and return False. Another model's
    weights in its place are a UserError: the file is the user's to put right."""
    initial = model.get_weights()
    try:
        load_quietly(model, path)
        return True
    except OSError as error:
        print(f"warning: {path} is damaged ({error}): training that model again", flush=True)
        model.set_weights(initial)
        os.remove(path)
        return False
    except (ValueError, KeyError) as error:
        raise foreign_weights(path, error) from None
