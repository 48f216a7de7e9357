"""The entry of every deployment script (`Experiment/<dataset>_deployment.py`): its flags, checked before Keras
loads, then the deployment (`resilinet.deployment.run.deploy`)."""
from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from resilinet.base.folders import check_writable_directory
from resilinet.base.settings import Check
from resilinet.cli.logged_constants import with_logged_constants
from resilinet.cli.parser import parse_flags
from resilinet.cli.program import run_program
from resilinet.data.definition import DatasetDefinition
from resilinet.deployment.run import checked_flags, deploy, render, write_results
from resilinet.runs.driver import resolve_run
from resilinet.runs.settings import deployment_defaults, settings_of


def main(dataset: DatasetDefinition, argv: Sequence[str] | None = None, description: str = "") -> dict[str, Any]:
    """Parse the flags of `dataset`'s deployment, deploy, write and print the results; bad input exits 2."""
    program = " ".join(dataset.program("deployment"))
    defaults = deployment_defaults(dataset)
    argv = list(sys.argv[1:] if argv is None else argv)

    def parse(logged: Mapping[str, Any], logged_in: str) -> Any:
        origins = {**dataset.origins(), **{key: (logged_in, f"the logged {key}") for key in logged}}
        return parse_flags({**defaults, **logged}, argv, description, program,
                           settings_of(dataset, defaults, defaults), origins)

    def body() -> dict[str, Any]:
        config = parse({}, "")
        check_writable_directory(config.results_dir, "results_dir")  # what needs no run first
        checked_flags(dataset, config)
        experiment = f"{dataset.name}_average_accuracy"  # the run whose weights are deployed, with its constants
        saved_run = resolve_run(config.saved_run, "saved_run", Path(config.results_dir), experiment)
        config = with_logged_constants(config, "saved_run", saved_run, experiment, Check.DEPLOY,
                                       settings_of(dataset, defaults, defaults), parse)
        document = deploy(dataset, config, argv)
        json_path = write_results(document, config.results_dir)
        print(render(document) + f"results: {json_path.with_suffix('.txt')} and {json_path}", flush=True)
        return document

    return run_program(program, body)
