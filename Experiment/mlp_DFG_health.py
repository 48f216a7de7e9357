"""Health DFG (deepFogGuard) model: the Vanilla network plus weighted skip hyperconnections."""
import keras

from mlp_Vanilla_health import PARTITION_SETING, build_health_model
from resilinet.builder import ModelKind
from resilinet.dataset import ModelOptions


def define_deepFogGuard_MLP(partition_setting: int = PARTITION_SETING, options: ModelOptions = ModelOptions()) -> keras.Model:
    return build_health_model(ModelKind.DFG, partition_setting, options)
