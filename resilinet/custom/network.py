"""Your own distributed network in one file (topology, reliability settings, layers, data: `OwnNetwork`);
`main(NETWORK)` (cli/own_network.py) runs the four experiments and the deployment on it like the scripts in
Experiment/ (see examples/sensor_field.py). A mistake in the declaration stops the program before any training,
naming the file."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np

from resilinet.base.errors import UserError
from resilinet.base.keras_import import import_keras
from resilinet.core.kinds import ModelKind
from resilinet.core.splits import Data, Split
from resilinet.core.topology import Connection, Topology
from resilinet.custom.data_checks import data_problem, failing_line
from resilinet.data.definition import DatasetDefinition, shown_path
from resilinet.runs.settings import SETTINGS

# Where a network's `defaults` are silent: a short training (10 epochs of batch 128, one iteration), the papers'
# failout survival rate 0.9, and node-by-node evaluation (a network of your own has no earlier results to match).
NETWORK_DEFAULTS = {"epochs": 10, "batch_size": 128, "iterations": 1, "seed": 0, "evaluate_saved": False,
                    "failout_survival_rate": 0.9, "resilinet_plus": False, "node_by_node": True}


@dataclass(frozen=True)
class OwnNetwork:
    """A network and its data, declared by its user.

    Attributes:
        name: Names the results files (`<name>_<experiment>_<time>.json`) and the models.
        file: The declaring file (`__file__`): errors name it and the results' commands run it.
        inputs, chain, skips, failable, output: The topology (`resilinet.core.topology.Topology`).
        reliability_settings: Name -> alive probability of each failable node, in `failable` order.
        input_shapes: Shape (without the batch) of each input node's data.
        layers: Node -> a function returning that node's Keras layers, fresh at each call; the
            output node's last layer is the softmax classifier. A node without one passes its input on.
        load_data: config -> `Data` (see `split_arrays`); the config holds every flag.
        defaults: Flag-overridable constants (epochs, batch_size, ... and flags of your own).
        meanings: What --help says of your own flags.
        metric: "accuracy" or "micro_f1".
    """

    name: str
    file: str
    inputs: tuple[str, ...]
    chain: tuple[Connection, ...]
    skips: tuple[Connection, ...]
    failable: tuple[str, ...]
    reliability_settings: Mapping[str, Sequence[float]]
    input_shapes: Mapping[str, Sequence[int]]
    layers: Mapping[str, Callable[[], Sequence[Any]]]
    load_data: Callable[[SimpleNamespace], Data]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    meanings: Mapping[str, str] = field(default_factory=dict)
    output: str = "cloud"
    metric: str = "accuracy"

    def dataset(self) -> DatasetDefinition:
        """The declaration as the drivers take it; a mistake in it is a UserError naming the file."""
        where = shown_path(self.file)
        try:
            topology = Topology(self.name, tuple(self.inputs), tuple(map(tuple, self.chain)),
                                tuple(map(tuple, self.skips)), tuple(self.failable), self.output)
        except ValueError as error:
            raise UserError(f"{where}: {error}") from None
        for setting, reliability in self.reliability_settings.items():
            if len(reliability) != len(topology.failable) or not all(0 <= r <= 1 for r in reliability):
                raise UserError(f"{where}: reliability setting {setting!r} needs {len(topology.failable)} "
                                f"probabilities in [0, 1] (one per failable node: {', '.join(topology.failable)}), "
                                f"got {tuple(reliability)}")
        for names, what in ((self.input_shapes, "input_shapes"), (self.layers, "layers")):
            unknown = sorted(set(names) - set(topology.nodes))
            if unknown:
                raise UserError(f"{where}: {what} names unknown node(s) {', '.join(unknown)}")
        taken = sorted(key for key in self.meanings if key in SETTINGS)
        if taken:
            raise UserError(f"{where}: meanings names {', '.join(taken)}: every script has that flag already "
                            f"(docs/flags.md); give a flag of your own another name")
        missing = [node for node in topology.inputs if node not in self.input_shapes]
        if missing:
            raise UserError(f"{where}: input_shapes lacks the input node(s) {', '.join(missing)}")
        return DatasetDefinition(name=self.name, topology=topology, defaults={**NETWORK_DEFAULTS, **self.defaults},
                                 reliability_settings={k: tuple(v) for k, v in self.reliability_settings.items()},
                                 load_data=self.checked_data, architecture=self.architecture, metric=self.metric,
                                 validate=self.check_layers, constants_file=self.file, meanings=self.meanings,
                                 script=f"{where} {{experiment}}")

    def checked_data(self, config) -> Data:
        """`load_data`'s data, checked against the declaration; a failure of `load_data` (a bad value of
        one of your flags, say) or a mistake in its data is a UserError naming the file and what is wrong."""
        where = shown_path(self.file)
        try:
            data = self.load_data(config)
        except UserError:
            raise
        except Exception as error:
            line = failing_line(error, str(self.file)) or where
            message = (str(error).strip().splitlines() or [""])[0]
            raise UserError(f"{where}: load_data failed at {shown_path(line)}: {type(error).__name__}: "
                            f"{message}") from None
        problem = data_problem(data, tuple(self.inputs), self.input_shapes)
        if problem:
            raise UserError(f"{where}: {problem}")
        return data

    def architecture(self, config=None):
        from resilinet.networks.stacks import LayerStacks

        return LayerStacks(self.input_shapes, self.layers)

    def check_layers(self, config=None) -> None:
        """Build the network with every hyperconnection once and predict two samples of ones: layers whose shapes
        do not meet, or an output node whose last layer is not a softmax (outputs that are not class
        probabilities), stop the program before any data is loaded."""
        keras = import_keras()

        from resilinet.core.builder import build_model

        topology = self.dataset().topology
        try:
            model = build_model(topology, self.architecture(), ModelKind.RESILINET_PLUS)
            ones = [np.ones((2, *self.input_shapes[node]), dtype="float32") for node in topology.inputs]
            outputs = np.asarray(model.predict_on_batch(ones if len(ones) > 1 else ones[0]), dtype="float64")
        except ValueError as error:
            raise UserError(f"{shown_path(self.file)}: {error}") from None
        finally:
            keras.backend.clear_session()
        if not (np.all(outputs >= 0) and np.allclose(outputs.sum(axis=-1), 1.0, atol=1e-2)):
            raise UserError(f"{shown_path(self.file)}: the output node {topology.output} does not give class "
                            "probabilities (outputs of at least 0 that sum to 1 per sample): its last layer must be "
                            "the softmax classifier, keras.layers.Dense(<classes>, activation=\"softmax\")")

    def script_defaults(self, experiment: str) -> dict[str, Any]:
        """The lists an experiment type trains over; the skip sensitivity tries every skip alone,
        all of them and none."""
        skips = len(self.skips)
        configurations = ("1" * skips, *("".join("1" if i == j else "0" for j in range(skips)) for i in range(skips)),
                          "0" * skips)
        lists = {"hyperconnection_weight": {"weight_schemes": (1, 2, 3, 4), "model_kinds": ("DFG", "ResiliNet")},
                 "failout_rate": {"failout_survival_rates": (0.95, 0.9, 0.7, 0.5)},
                 "skiphyperconnection_sensitivity": {"skip_configurations": tuple(dict.fromkeys(configurations))}}
        return {key: value for key, value in lists.get(experiment, {}).items() if key not in self.defaults}

    def description(self, experiment: str) -> str:
        return (f"{self.name} ({shown_path(self.file)}): the {experiment.replace('_', ' ')} "
                f"{'of a trained network as one Ray actor per node' if experiment == 'deployment' else 'experiment'} "
                f"on {len(self.failable)} failable nodes.")


def split_arrays(inputs: Sequence[np.ndarray], labels: np.ndarray, num_classes: int, val_fraction: float = 0.1,
                 test_fraction: float = 0.1, seed: int = 0) -> Data:
    """`Data` from arrays: one array per input node (in the topology's input order), rows shuffled
    with `seed` and cut into training, validation and test rows."""
    labels = np.asarray(labels)
    order = np.random.default_rng(seed).permutation(len(labels))
    test_rows = int(round(test_fraction * len(labels)))
    val_end = test_rows + int(round(val_fraction * len(labels)))

    def split(rows):
        x = [np.asarray(array)[rows] for array in inputs]
        return Split(x if len(x) > 1 else x[0], labels[rows])

    return Data(train=split(order[val_end:]), val=split(order[test_rows:val_end]), test=split(order[:test_rows]),
                num_classes=num_classes)
