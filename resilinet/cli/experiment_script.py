"""The entry of every experiment script: its flags, checked before Keras loads, then the run."""
from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from resilinet.base.folders import check_output_dirs
from resilinet.cli.known_flags import flag_specs
from resilinet.cli.parser import parse_flags
from resilinet.cli.program import run_program
from resilinet.core.bounded import EVALUATION_DEFAULTS
from resilinet.data.definition import DatasetDefinition, constant_name, shown_path
from resilinet.runs.driver import run_experiment
from resilinet.runs.parallel import check_flags as check_parallel_flags
from resilinet.runs.results import ResultsLog
from resilinet.runs.variants import VARIANTS

COMMON_DEFAULTS = {
    "seed": 0,
    "evaluate_saved": False,
    "resume": "",
    "saved_run": "latest",
    "checkpoint_seconds": 60.0,
    "no_path_guess": "expected",
    "results_dir": "results",
    "models_dir": "models",
    "distribute": "auto",
    "verbose": 1,
    "workers": 1,  # jobs at once; other than 1 runs them as Ray tasks (resilinet.runs.parallel)
    "ray_address": "",
    "cpus_per_model": 1.0,
    "gpus_per_model": 0.0,
    **EVALUATION_DEFAULTS,  # exact_max_nodes, mass_left, node_by_node
}


def main(dataset: DatasetDefinition, experiment_type: str, argv: Sequence[str] | None = None,
         script_defaults: dict[str, Any] | None = None, description: str = "") -> ResultsLog:
    """Entry point of every experiment script: parse flags, run, turn bad input into a clear exit."""
    program = " ".join(dataset.program(experiment_type))
    defaults = {**COMMON_DEFAULTS, **dataset.defaults, **(script_defaults or {})}
    argv = list(sys.argv[1:] if argv is None else argv)

    def body() -> ResultsLog:
        origins = {**{key: (shown_path(__file__), f"COMMON_DEFAULTS[{key!r}]") for key in COMMON_DEFAULTS},
                   **dataset.origins(),
                   **{key: (program, constant_name(key)) for key in script_defaults or {}}}
        config = parse_flags(defaults, argv, description, program, flag_specs(dataset, defaults), origins)
        check_parallel_flags(config)
        dataset.validate(config)
        VARIANTS[experiment_type](dataset, config)  # the experiment's own flags, checked before Keras loads
        check_output_dirs(config, f"{dataset.name}_{experiment_type}")
        config.argv = argv
        return run_experiment(dataset, experiment_type, config)

    return run_program(program, body)
