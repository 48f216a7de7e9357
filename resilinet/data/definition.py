"""What a dataset provides to the shared experiment drivers."""
from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Callable, Mapping

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
        build_model: (kind, config, ModelOptions) -> an uncompiled keras.Model.
        metric: "accuracy" or "micro_f1".
        no_path_score: Score when no input reaches the output: a number, a function of the
            loaded Data, or None for random guessing by the training set's class frequencies.
        balanced_class_weight: Train with class weights "balanced" over the training labels.
        validate: config -> None; raises UserError for a bad constant or flag value. It must not
            import Keras: it runs before Keras loads, so that a bad flag is reported at once.
        choices: Allowed values of this dataset's enumerated flags (e.g. partition_setting), shown
            by --help and checked when the flag is given.
        environment: Flag -> the environment variable that sets its default, shown by --help.
    """

    name: str
    topology: Topology
    reliability_settings: Mapping[str, tuple[float, ...]]
    defaults: dict[str, Any]
    load_data: Callable[[SimpleNamespace], Data]
    build_model: Callable[[ModelKind, SimpleNamespace, ModelOptions], Any]
    metric: str = "accuracy"
    no_path_score: float | Callable[[Data], float] | None = None
    balanced_class_weight: bool = False
    validate: Callable[[SimpleNamespace], None] = field(default=lambda config: None)
    choices: Mapping[str, tuple] = field(default_factory=dict)
    environment: Mapping[str, str] = field(default_factory=dict)
