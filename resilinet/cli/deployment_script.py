"""The entry of every deployment script (`Experiment/<dataset>_deployment.py`): its flags, checked before Keras
loads, then the deployment (`resilinet.deployment.run.deploy`)."""
from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from resilinet.base.folders import check_writable_directory
from resilinet.cli.parser import parse_flags
from resilinet.cli.program import run_program
from resilinet.data.definition import DatasetDefinition
from resilinet.deployment.run import deploy, render, write_results
from resilinet.runs.settings import deployment_defaults, settings_of


def main(dataset: DatasetDefinition, argv: Sequence[str] | None = None, description: str = "") -> dict[str, Any]:
    """Parse the flags of `dataset`'s deployment, deploy, write and print the results; bad input exits 2."""
    program = " ".join(dataset.program("deployment"))
    defaults = deployment_defaults(dataset)
    argv = list(sys.argv[1:] if argv is None else argv)

    def body() -> dict[str, Any]:
        config = parse_flags(defaults, argv, description, program, settings_of(dataset, defaults, defaults),
                             dataset.origins())
        check_writable_directory(config.results_dir, "results_dir")
        document = deploy(dataset, config, argv)
        json_path = write_results(document, config.results_dir)
        print(render(document) + f"results: {json_path.with_suffix('.txt')} and {json_path}", flush=True)
        return document

    return run_program(program, body)
