"""The entry of every experiment script: its flags, checked before Keras loads, then the run."""
from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from resilinet.base.folders import check_output_dirs
from resilinet.base.settings import Check
from resilinet.cli.logged_constants import with_logged_constants
from resilinet.cli.parser import parse_flags
from resilinet.cli.program import run_program
from resilinet.data.definition import DatasetDefinition, constant_name
from resilinet.runs.driver import resolve_run, run_experiment
from resilinet.runs.parallel import check_flags as check_parallel_flags
from resilinet.runs.results import ResultsLog
from resilinet.runs.settings import experiment_defaults, settings_of
from resilinet.runs.variants import VARIANTS


def script_config(dataset: DatasetDefinition, experiment_type: str, argv: Sequence[str],
                  script_defaults: dict[str, Any] | None = None, description: str = "",
                  logged: Mapping[str, Any] | None = None, logged_in: str = "") -> Any:
    """The configuration of `dataset`'s `experiment_type` script run with the flags `argv`, checked before Keras
    loads: the declared settings' defaults, the dataset's, the script's own (`script_defaults`), the values that
    the run of the results file `logged_in` logged (`logged`), then the flags."""
    program = " ".join(dataset.program(experiment_type))
    common = experiment_defaults()
    defaults = {**common, **dataset.defaults, **(script_defaults or {}), **(logged or {})}
    origins = {**{key: ("resilinet/runs/settings.py", f"SETTINGS[{key!r}].default") for key in common},
               **dataset.origins(),
               **{key: (program, constant_name(key)) for key in script_defaults or {}},
               **{key: (logged_in, f"the logged {key}") for key in logged or {}}}
    config = parse_flags(defaults, argv, description, program, settings_of(dataset, defaults, defaults), origins)
    check_parallel_flags(config)
    dataset.validate(config)
    VARIANTS[experiment_type](dataset, config)  # the experiment's own flags
    return config


def continued_config(dataset: DatasetDefinition, experiment_type: str, argv: Sequence[str], config: Any,
                     script_defaults: dict[str, Any] | None = None, description: str = "") -> Any:
    """The configuration of a run that continues another (`--resume`) or evaluates its weights
    (`--evaluate_saved=true`): that run's logged constants where no flag gives them (`with_logged_constants`),
    its iterations included; a plain run's `config` as it is."""
    if not (config.resume or config.evaluate_saved):
        return config
    experiment = f"{dataset.name}_{experiment_type}"
    results_dir = Path(config.results_dir)
    if config.resume:
        flag, check = "resume", Check.RESUME
        path = resolve_run(config.resume, flag, results_dir, experiment, bool(config.evaluate_saved))
    else:
        flag, check = "saved_run", Check.EVALUATE_SAVED
        path = resolve_run(config.saved_run, flag, results_dir, experiment)
    current = vars(config)
    return with_logged_constants(
        config, flag, path, experiment, check, settings_of(dataset, current, current),
        lambda logged, logged_in: script_config(dataset, experiment_type, argv, script_defaults, description, logged,
                                                logged_in),
        also=("iterations",))


def main(dataset: DatasetDefinition, experiment_type: str, argv: Sequence[str] | None = None,
         script_defaults: dict[str, Any] | None = None, description: str = "") -> ResultsLog:
    """Entry point of every experiment script: parse flags, run, turn bad input into a clear exit."""
    argv = list(sys.argv[1:] if argv is None else argv)

    def body() -> ResultsLog:
        config = script_config(dataset, experiment_type, argv, script_defaults, description)
        config = continued_config(dataset, experiment_type, argv, config, script_defaults, description)
        check_output_dirs(config, f"{dataset.name}_{experiment_type}")
        return run_experiment(dataset, experiment_type, config, argv)

    return run_program(" ".join(dataset.program(experiment_type)), body)
