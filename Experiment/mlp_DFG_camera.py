"""Camera DFG (deepFogGuard) model: the Vanilla network plus weighted skip hyperconnections."""
import keras

from mlp_Vanilla_camera import build_camera_model
from resilinet.builder import ModelKind
from resilinet.dataset import ModelOptions


def define_deepFogGuard_MLP(options: ModelOptions = ModelOptions()) -> keras.Model:
    return build_camera_model(ModelKind.DFG, options)
