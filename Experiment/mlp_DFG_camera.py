"""Camera DFG (deepFogGuard) model: the Vanilla network plus weighted skip hyperconnections."""
from __future__ import annotations

from typing import TYPE_CHECKING

from mlp_Vanilla_camera import build_camera_model

from resilinet.core.kinds import ModelKind, ModelOptions

if TYPE_CHECKING:
    import keras


def define_deepFogGuard_MLP(options: ModelOptions = ModelOptions()) -> keras.Model:
    return build_camera_model(ModelKind.DFG, options)
