"""Camera (multi-view) networks: the node layer stacks and the Vanilla model."""
from __future__ import annotations

from typing import TYPE_CHECKING

from resilinet.core.kinds import ModelKind, ModelOptions
from resilinet.core.paper_topologies import CAMERA, CAMERAS
from resilinet.data.camera import CLASSES, IMAGE_SHAPE

if TYPE_CHECKING:  # Keras loads only when a model is built, so that the flags are checked at once
    import keras

    from resilinet.networks.mlp import DenseStacks

HIDDEN_UNITS = 32
LAYERS_PER_NODE = {"edge1": 1, "edge2": 1, "edge3": 1, "edge4": 1,
                   "fog3": 1, "fog4": 2, "fog2": 2, "fog1": 2, "cloud": 3}


def camera_architecture() -> DenseStacks:
    """Dense layers act on each pixel's channels; the cloud flattens before the classifier."""
    from resilinet.networks.mlp import DenseStacks

    return DenseStacks(
        input_shapes={camera: IMAGE_SHAPE for camera in CAMERAS},
        layers_per_node=LAYERS_PER_NODE,
        units=HIDDEN_UNITS,
        num_classes=len(CLASSES),
        flatten_before_classifier=True,
    )


def define_vanilla_model_MLP() -> keras.Model:
    return build_camera_model(ModelKind.VANILLA)


def build_camera_model(kind: ModelKind, options: ModelOptions = ModelOptions(),
                       default_survival_rate: float = 0.8) -> keras.Model:
    from resilinet.core.builder import build_model

    return build_model(CAMERA, camera_architecture(), kind, options, default_survival_rate=default_survival_rate)
