"""What a dataset provides to the shared experiment drivers."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from resilinet.core.kinds import ModelKind, ModelOptions
from resilinet.core.splits import Data
from resilinet.core.topology import Topology


@dataclass
class DatasetDefinition:
    """A dataset's topology, constants, data and models, as the experiment drivers use them.

    Attributes:
        defaults: Flag-overridable constants of every script of this dataset, by lower-case name
            (epochs, batch_size, iterations, seed, data paths, partition_setting, ...).
        reliability_settings: Name -> alive probability of each failable node (topology order).
        load_data: config -> Data.
        architecture: config -> the node layer stacks (`resilinet.core.builder.Architecture`); the core builds
            every kind (Vanilla, DFG, ResiliNet, ResiliNet+) from it and the topology.
        metric: "accuracy" or "micro_f1".
        no_path_score: Score when no input reaches the output: a number, a function of the loaded Data, or
            None for random guessing by the training set's class frequencies.
        balanced_class_weight: Train with class weights "balanced" over the training labels.
        validate: config -> None; raises UserError for a bad constant or flag value. It runs before Keras
            loads (so that a bad flag is reported at once) and must not import it.
        choices: Allowed values of this dataset's enumerated flags (e.g. partition_setting), shown by --help
            and checked when the flag is given.
        constants_file: The file that sets `defaults` (named when one of them is refused), and
            constant_files: where a default is set elsewhere (PARTITION_SETING in a model file).
        model_name: Models are named `<kind>_<model_name>` (empty: Keras' default name).
        meanings: What --help says of this dataset's own flags (those `resilinet.runs.settings` does not declare).
        script: The script of an experiment type, from the repository's root, with `{experiment}` where the
            type goes (its words after the first are the script's first arguments).
    """

    name: str
    topology: Topology
    reliability_settings: Mapping[str, tuple[float, ...]]
    defaults: dict[str, Any]
    load_data: Callable[[SimpleNamespace], Data]
    architecture: Callable[[SimpleNamespace], Any]
    metric: str = "accuracy"
    no_path_score: float | Callable[[Data], float] | None = None
    balanced_class_weight: bool = False
    validate: Callable[[SimpleNamespace], None] = field(default=lambda config: None)
    choices: Mapping[str, tuple] = field(default_factory=dict)
    constants_file: str = ""
    constant_files: Mapping[str, str] = field(default_factory=dict)
    model_name: str = ""
    meanings: Mapping[str, str] = field(default_factory=dict)
    script: str = ""

    def program(self, experiment_type: str) -> list[str]:
        """The words that run `experiment_type` (after `python`), as README and the results show them."""
        template = self.script or f"Experiment/{self.name}_{{experiment}}.py"
        return template.format(experiment=experiment_type).split()

    def build_model(self, kind: ModelKind, config: SimpleNamespace, options: ModelOptions):
        """The uncompiled keras.Model of `kind`; failout survives at `config.failout_survival_rate`
        unless the options say otherwise."""
        from resilinet.core.builder import build_model

        return build_model(self.topology, self.architecture(config), kind, options,
                           default_survival_rate=config.failout_survival_rate,
                           name=f"{ModelKind(kind).file_name}_{self.model_name}" if self.model_name else None)

    def origins(self) -> dict[str, tuple[str, str]]:
        """The file (from the repository's root) and constant that set each default."""
        files = {key: self.constant_files.get(key, self.constants_file) for key in self.defaults}
        return {key: (shown_path(path), constant_name(key)) for key, path in files.items() if path}


# The original's spellings of constants whose name is not the flag's in capitals.
CONSTANT_NAMES = {"partition_setting": "PARTITION_SETING", "resilinet_plus": "ResiliNetPlus"}


def constant_name(key: str) -> str:
    return CONSTANT_NAMES.get(key, key.upper())


def shown_path(path: str) -> str:
    """`path` from the checkout's root (Experiment/health_common.py) where it lies inside it."""
    root = Path(__file__).resolve().parents[2]
    try:
        return str(Path(path).resolve().relative_to(root))
    except ValueError:
        return path
