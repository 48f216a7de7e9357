"""The four experiments of the paper, shared by every dataset.

Each experiment is a list of model variants trained every iteration; a variant is evaluated
once for every failure combination, and its expected accuracy is computed from those scores for
each reliability setting it is evaluated under.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from resilinet.dataset import DatasetDefinition, ModelOptions
from resilinet.distribute import distribution_scope
from resilinet.errors import UserError
from resilinet.flag_table import flag_specs
from resilinet.flags import parse_flags
from resilinet.kinds import ModelKind
from resilinet.topology import RELIABILITY_DEPENDENT_SCHEMES, WEIGHT_SCHEMES

if TYPE_CHECKING:
    import keras

    from resilinet.results import ResultsLog

EXPERIMENT_TYPES = ("average_accuracy", "hyperconnection_weight", "failout_rate", "skiphyperconnection_sensitivity")

COMMON_DEFAULTS = {
    "seed": 0,
    "evaluate_saved": False,
    "results_dir": "results",
    "models_dir": "models",
    "distribute": "auto",
    "verbose": 1,
}


@dataclass(frozen=True)
class Variant:
    """One model trained per iteration.

    Attributes:
        name: Unique within the experiment; names the weights file.
        group: Row label of the summary table (variants trained per setting share a group).
        settings: Reliability settings it is evaluated under.
        weight_scheme: Hyperconnection weight scheme (1-5).
        weight_setting: The setting schemes 2 and 3 take reliabilities from.
        survival_rates: Failout survival rate (one for all nodes), a setting name (variable
            failout: each node's rate is its reliability), or None for the dataset default.
    """

    name: str
    group: str
    kind: ModelKind
    settings: tuple[str, ...]
    skip_mask: tuple[bool, ...] | None = None
    weight_scheme: int = 1
    weight_setting: str | None = None
    survival_rates: float | str | None = None


def average_accuracy_variants(dataset: DatasetDefinition, config) -> list[Variant]:
    settings = tuple(dataset.reliability_settings)
    resilinet = ModelKind.RESILINET_PLUS if config.resilinet_plus else ModelKind.RESILINET
    kinds = (ModelKind.VANILLA, ModelKind.DFG, resilinet)
    return [Variant(kind.file_name, kind.value, kind, settings) for kind in kinds]


def hyperconnection_weight_variants(dataset: DatasetDefinition, config) -> list[Variant]:
    settings = tuple(dataset.reliability_settings)
    variants = []
    for kind in (ModelKind(k) for k in config.model_kinds):
        if not kind.has_skips:
            raise UserError("--model_kinds: Vanilla has no hyperconnections to weigh")
        for scheme in config.weight_schemes:
            if scheme not in WEIGHT_SCHEMES:
                raise UserError(f"--weight_schemes: unknown scheme {scheme}; known: {sorted(WEIGHT_SCHEMES)}")
            group = f"{kind.file_name}_weight_scheme{scheme}"
            if scheme in RELIABILITY_DEPENDENT_SCHEMES:
                variants += [
                    Variant(f"{group}_{_slug(s)}", group, kind, (s,), weight_scheme=scheme, weight_setting=s)
                    for s in settings
                ]
            else:
                variants.append(Variant(group, group, kind, settings, weight_scheme=scheme))
    return variants


def failout_rate_variants(dataset: DatasetDefinition, config) -> list[Variant]:
    settings = tuple(dataset.reliability_settings)
    kind = ModelKind.RESILINET_PLUS if config.resilinet_plus else ModelKind.RESILINET
    variants = []
    for rate in config.failout_survival_rates:
        if not 0.0 < rate <= 1.0:
            raise UserError(f"--failout_survival_rates: {rate} is not in (0, 1]")
        variants.append(Variant(f"{kind.file_name}_failout{rate}", f"{kind.value} failout {rate}", kind, settings,
                                survival_rates=rate))
    group = f"{kind.value} variable failout"
    for name, reliability in dataset.reliability_settings.items():
        if all(r == 1.0 for r in reliability):
            continue  # no failures: no failout to train with; the summary reports n/a
        variants.append(Variant(f"{kind.file_name}_variable_failout_{_slug(name)}", group, kind, (name,),
                                survival_rates=name))
    return variants


def skiphyperconnection_sensitivity_variants(dataset: DatasetDefinition, config) -> list[Variant]:
    settings = tuple(dataset.reliability_settings)
    skips = dataset.topology.skips
    kind = ModelKind.RESILINET_PLUS if config.resilinet_plus else ModelKind.RESILINET
    variants = []
    for bits in config.skip_configurations:
        if len(bits) != len(skips) or set(bits) - {"0", "1"}:
            order = ", ".join(f"{s}->{t}" for s, t in skips)
            raise UserError(f"--skip_configurations: {bits!r} must be {len(skips)} bits of 0/1 in the order {order}")
        mask = tuple(bit == "1" for bit in bits)
        variants.append(Variant(f"{kind.file_name}_skips{bits}", f"{kind.value} skips {bits}", kind, settings,
                                skip_mask=mask))
    return variants


VARIANTS = {
    "average_accuracy": average_accuracy_variants,
    "hyperconnection_weight": hyperconnection_weight_variants,
    "failout_rate": failout_rate_variants,
    "skiphyperconnection_sensitivity": skiphyperconnection_sensitivity_variants,
}


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)


def model_options(dataset: DatasetDefinition, variant: Variant, config, iteration: int) -> ModelOptions:
    topology = dataset.topology
    reliability = dataset.reliability_settings.get(variant.weight_setting)
    rng = np.random.default_rng([config.seed, iteration, variant.weight_scheme])
    weights = topology.connection_weights(variant.weight_scheme, reliability, variant.skip_mask, rng)
    survival = variant.survival_rates
    if isinstance(survival, str):
        survival = dict(zip(topology.failable, dataset.reliability_settings[survival]))
    return ModelOptions(skip_mask=variant.skip_mask, weights=weights, survival_rates=survival)


def run_experiment(dataset: DatasetDefinition, experiment_type: str, config) -> ResultsLog:
    """Train (or load) every variant for every iteration, evaluate it, and log as results arrive.

    With `config.mixed_precision` the models are built under the mixed_float16 policy; the policy
    in force before the run is restored afterwards.
    """
    import keras  # imported here, once the flags are checked

    previous_policy = keras.mixed_precision.global_policy()
    try:
        return _run_variants(dataset, experiment_type, config)
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)


def _run_variants(dataset: DatasetDefinition, experiment_type: str, config) -> ResultsLog:
    import keras

    from resilinet.evaluation import evaluate_combinations, expected_score, random_guess_score
    from resilinet.results import ResultsLog
    from resilinet.training import balanced_class_weight, train

    experiment = f"{dataset.name}_{experiment_type}"
    variants = VARIANTS[experiment_type](dataset, config)
    topology = dataset.topology
    policy = "mixed_float16" if getattr(config, "mixed_precision", False) else "float32"
    data = dataset.load_data(config)
    class_weight = balanced_class_weight(data.train.y) if dataset.balanced_class_weight else None
    log = ResultsLog(Path(config.results_dir), experiment, vars(config), topology,
                     dataset.reliability_settings, dataset.metric)
    models_dir = Path(config.models_dir) / experiment
    print(f"{experiment}: {len(variants)} model(s) x {config.iterations} iteration(s); "
          f"logging to {log.text_path}", flush=True)
    for iteration in range(1, config.iterations + 1):
        for variant in variants:
            started = time.perf_counter()
            keras.backend.clear_session()
            keras.mixed_precision.set_global_policy(policy)  # clear_session resets the policy
            keras.utils.set_random_seed(config.seed + iteration)
            options = model_options(dataset, variant, config, iteration)
            weights_path = models_dir / f"{variant.name}_iter{iteration}.weights.h5"
            with distribution_scope(config.distribute):
                model = dataset.build_model(variant.kind, config, options)
                if config.evaluate_saved:
                    _load_saved(model, weights_path)
                else:
                    train(model, data, epochs=config.epochs, batch_size=config.batch_size,
                          weights_path=weights_path, class_weight=class_weight, verbose=config.verbose)
            skip_mask = options.skip_mask if variant.kind.has_skips else (False,) * len(topology.skips)
            no_path = dataset.no_path_score(data) if callable(dataset.no_path_score) else dataset.no_path_score
            if no_path is None:
                no_path = random_guess_score(data.train.y, data.test.y, dataset.metric, config.seed + iteration)
            results = evaluate_combinations(model, topology, skip_mask, data.test, dataset.metric, no_path,
                                            config.batch_size)
            averages = {s: expected_score(results, dataset.reliability_settings[s]) for s in variant.settings}
            log.add(iteration, variant.name, variant.group, results, averages)
            shown = ", ".join(f"{s} {v:.4f}" for s, v in averages.items())
            print(f"iteration {iteration}/{config.iterations} {variant.name}: {shown} "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)
    print(f"results: {log.text_path} and {log.json_path}", flush=True)
    return log


def _load_saved(model: keras.Model, path: Path) -> None:
    if not path.exists():
        raise UserError(f"no saved weights at {path}: train first (run without --evaluate_saved=true)")
    try:
        model.load_weights(path)
    except (ValueError, KeyError) as error:
        raise UserError(f"{path} does not fit this model (was it trained with other constants?): {error}") from None


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
    try:
        config = parse_flags(defaults, sys.argv[1:] if argv is None else argv, description, program,
                             flag_specs(dataset, defaults))
        for key in ("epochs", "iterations", "batch_size"):
            if getattr(config, key) < 1:
                raise UserError(f"--{key} must be at least 1, got {getattr(config, key)}")
        dataset.validate(config)
        VARIANTS[experiment_type](dataset, config)  # the experiment's own flags, checked before Keras loads
        return run_experiment(dataset, experiment_type, config)
    except UserError as error:
        print(f"{program}: error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
