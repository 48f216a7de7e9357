"""Health (MHEALTH) networks: the node layer stacks and the Vanilla model.

Edit PARTITION_SETING to choose how the MLP's layers are split across the physical nodes.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from resilinet.base.errors import UserError
from resilinet.core.kinds import ModelKind, ModelOptions
from resilinet.core.paper_topologies import HEALTH

if TYPE_CHECKING:  # Keras loads only when a model is built, so that the flags are checked at once
    import keras

    from resilinet.networks.mlp import DenseStacks

PARTITION_SETING = 1  # 1 or 2 (spelling as in the original code)

HIDDEN_UNITS = 250
NUM_FEATURES = 23
NUM_CLASSES = 13  # labels 1..12 are kept as they are; class 0 (null) is dropped from the data

LAYERS_PER_NODE = {
    1: {"edge": 1, "fog2": 2, "fog1": 3, "cloud": 4},
    2: {"edge": 2, "fog2": 3, "fog1": 2, "cloud": 3},
}


def check_partition_setting(partition_setting: int = PARTITION_SETING) -> None:
    """Stop with a message naming the constant and its flag if it is not a partition setting (no Keras needed)."""
    if partition_setting not in LAYERS_PER_NODE:
        raise UserError(
            f"PARTITION_SETING = {partition_setting!r} (Experiment/mlp_Vanilla_health.py or "
            f"--partition_setting) must be one of {sorted(LAYERS_PER_NODE)}"
        )


def health_architecture(partition_setting: int = PARTITION_SETING) -> DenseStacks:
    from resilinet.networks.mlp import DenseStacks

    check_partition_setting(partition_setting)
    return DenseStacks(
        input_shapes={"iot": (NUM_FEATURES,)},
        layers_per_node=LAYERS_PER_NODE[partition_setting],
        units=HIDDEN_UNITS,
        num_classes=NUM_CLASSES,
    )


def define_vanilla_model_MLP(partition_setting: int = PARTITION_SETING) -> keras.Model:
    return build_health_model(ModelKind.VANILLA, partition_setting)


def build_health_model(
    kind: ModelKind, partition_setting: int = PARTITION_SETING, options: ModelOptions = ModelOptions(),
    default_survival_rate: float = 0.9,
) -> keras.Model:
    from resilinet.core.builder import build_model

    return build_model(HEALTH, health_architecture(partition_setting), kind, options,
                       default_survival_rate=default_survival_rate)
