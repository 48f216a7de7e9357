"""The command line of a network of your own: `python <file> <experiment type or deployment> [--key=value ...]`
runs one of the four experiments or the deployment on the `OwnNetwork` the file declares."""
from __future__ import annotations

import sys
from collections.abc import Sequence

from resilinet.base.errors import UserError
from resilinet.cli.deployment_script import main as run_deployment
from resilinet.cli.experiment_script import main as run_experiment
from resilinet.cli.program import run_program
from resilinet.custom.network import OwnNetwork
from resilinet.data.definition import DatasetDefinition, shown_path
from resilinet.runs.variants import VARIANTS


def main(network: OwnNetwork, argv: Sequence[str] | None = None):
    """Run what the first argument names (an experiment type, or deployment) with the flags after it."""
    argv = list(sys.argv[1:] if argv is None else argv)
    programs = (*VARIANTS, "deployment")

    def declared() -> DatasetDefinition:
        if not argv or argv[0] not in programs:
            raise UserError(f"the first argument names what to run: one of {', '.join(programs)} "
                            f"(got {repr(argv[0]) if argv else 'none'})")
        return network.dataset()

    dataset = run_program(shown_path(network.file), declared)
    experiment, flags = argv[0], argv[1:]
    if experiment == "deployment":
        return run_deployment(dataset, flags, description=network.description(experiment))
    return run_experiment(dataset, experiment, flags, script_defaults=network.script_defaults(experiment),
                          description=network.description(experiment))
