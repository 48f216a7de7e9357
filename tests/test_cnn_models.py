"""CNN models (MobileNet v1, ResNet-18): structure for both partition settings and every kind,
skip alignment, augmentation, and what a dead node does to the cloud's input."""
import re

import cnn_DFG_MobileNet
import cnn_DFG_ResNet
import cnn_ResiliNet_MobileNet
import cnn_ResiliNet_ResNet
import cnn_Vanilla_MobileNet
import cnn_Vanilla_ResNet
import keras
import numpy as np
import pytest

from resilinet.base.errors import UserError
from resilinet.core.builder import ModelKind, set_alive
from resilinet.core.kinds import ModelOptions
from resilinet.core.paper_topologies import CNN
from resilinet.networks import mobilenet, resnet
from resilinet.networks.convolutional import align_skip_by_convolution

pytestmark = pytest.mark.backend  # run on every Keras backend (tests/test_backends.py)

BUILDERS = {"MobileNet": cnn_Vanilla_MobileNet.build_mobilenet_model, "ResNet": cnn_Vanilla_ResNet.build_resnet_model}
PARTITIONS = {"MobileNet": mobilenet.PARTITIONS, "ResNet": resnet.PARTITIONS}
UNIT = {"MobileNet": re.compile(r"^(\w+?)_(?:conv1|block(\d+))_"),
        "ResNet": re.compile(r"^(\w+?)_(?:conv1|stage(\d))_")}
SKIPS = ("edge_skip_to_cloud", "iot_skip_to_fog")
NODES = ("iot", "edge", "fog", "cloud")


def layer_names(model):
    return [layer.name for layer in model.layers]


def units_per_node(architecture, model):
    """{node: unit indices} read from the layer names (0: the first convolution)."""
    units = {}
    for name in layer_names(model):
        match = UNIT[architecture].match(name)
        if match:
            units.setdefault(match.group(1), set()).add(int(match.group(2) or 0))
    return {node: tuple(sorted(indices)) for node, indices in units.items()}


def images(n=8, seed=0, size=32):
    return np.random.default_rng(seed).uniform(size=(n, size, size, 3)).astype("float32")


def probe(model, *layers):
    return keras.Model(model.input, [model.get_layer(name).output for name in layers])


def cloud_input(model):
    """The tensor the cloud's first layer receives."""
    first = next(layer for layer in model.layers if layer.name.startswith("cloud_"))
    return keras.Model(model.input, first.input)


@pytest.mark.parametrize("setting", [1, 2])
@pytest.mark.parametrize("kind", list(ModelKind))
@pytest.mark.parametrize("architecture", BUILDERS)
def test_structure_for_every_partition_setting_and_kind(architecture, kind, setting):
    model = BUILDERS[architecture](kind, setting)
    assert model.input_shape == (None, 32, 32, 3)
    assert model.output_shape == (None, 10)
    names = layer_names(model)
    assert len(names) == len(set(names))
    assert all(name.startswith(NODES) or name.startswith(("mux_", "skips_", "weight_")) for name in names), names
    assert units_per_node(architecture, model) == {n: tuple(u) for n, u in PARTITIONS[architecture][setting].items()}
    for node in CNN.failable:
        assert f"{node}_gate" in names
        assert (f"{node}_failout" in names) == kind.has_failout
    for skip in SKIPS:
        assert (skip in names) == kind.has_skips
    assert [n for n in names if n.startswith("mux_")] == (
        ["mux_edge_to_fog", "mux_fog_to_cloud"] if kind is ModelKind.RESILINET else [])
    assert names.count("iot_augment_rotation") == 1


@pytest.mark.parametrize("setting", [1, 2])
@pytest.mark.parametrize("architecture", BUILDERS)
def test_skips_are_bias_free_1x1_convolutions_that_match_the_tensor_they_meet(architecture, setting):
    model = BUILDERS[architecture](ModelKind.RESILINET, setting)
    for skip, bypassed in zip(SKIPS, ("fog", "edge")):
        layer = model.get_layer(skip)
        assert layer.kernel_size == (1, 1) and not layer.use_bias
        assert layer.output.shape == model.get_layer(f"{bypassed}_gate").output.shape


def test_skip_widths_follow_alpha():
    for alpha in (0.5, 1.0):
        model = cnn_Vanilla_MobileNet.build_mobilenet_model(ModelKind.DFG, 1, alpha=alpha, augment=False)
        assert model.get_layer("iot_skip_to_fog").filters == int(128 * alpha)
        assert model.get_layer("edge_skip_to_cloud").filters == int(512 * alpha)


def test_imagenet_mobilenet_reuses_the_builders():
    model = cnn_ResiliNet_MobileNet.define_ResiliNet_MobileNet(
        2, input_shape=(160, 160, 3), strides=(2, 2), num_classes=1000, augment=False)
    assert model.output_shape == (None, 1000)
    assert model.get_layer("edge_gate").output.shape == (None, 40, 40, 96)
    assert model.get_layer("fog_gate").output.shape == (None, 10, 10, 384)
    assert model.get_layer("edge_skip_to_cloud").strides == (4, 4)


@pytest.mark.parametrize("skip_size, below_size, padded", [(9, 2, "edge_skip_to_cloud_pad_below"),
                                                          (8, 5, "edge_skip_to_cloud_pad_skip")])
def test_sizes_one_pixel_apart_are_zero_padded(skip_size, below_size, padded):
    skip = keras.Input((skip_size, skip_size, 4))
    below = keras.Input((below_size, below_size, 16))
    carried, merged_below = align_skip_by_convolution(("edge", "cloud"), skip, below)
    assert carried.shape == merged_below.shape
    model = keras.Model([skip, below], [carried, merged_below])
    assert padded in layer_names(model)
    skip_values, below_values = model.predict([np.ones((2, skip_size, skip_size, 4)),
                                               np.ones((2, below_size, below_size, 16))], verbose=0)
    zero_padded = below_values if padded.endswith("below") else skip_values
    assert np.all(zero_padded[:, -1] == 0) and np.all(zero_padded[:, :, -1] == 0)


def test_sizes_further_apart_are_rejected():
    with pytest.raises(ValueError, match="cannot be aligned"):
        align_skip_by_convolution(("iot", "fog"), keras.Input((3, 3, 3)), keras.Input((8, 8, 8)))


def test_model_files_build_their_kinds():
    plus = cnn_ResiliNet_MobileNet.define_ResiliNet_MobileNet(1, resilinet_plus=True, augment=False)
    assert "edge_failout" in layer_names(plus) and not any(n.startswith("mux_") for n in layer_names(plus))
    assert "mux_edge_to_fog" in layer_names(cnn_ResiliNet_ResNet.define_ResiliNet_ResNet(2))
    assert "edge_skip_to_cloud" in layer_names(cnn_DFG_MobileNet.define_deepFogGuard_MobileNet(2))
    assert "fog_input" in layer_names(cnn_DFG_ResNet.define_deepFogGuard_ResNet(1))
    assert "iot_skip_to_fog" not in layer_names(cnn_Vanilla_ResNet.define_vanilla_model_ResNet(1))


@pytest.mark.parametrize("architecture_function, file_name", [
    (cnn_Vanilla_MobileNet.mobilenet_architecture, "cnn_Vanilla_MobileNet.py"),
    (cnn_Vanilla_ResNet.resnet_architecture, "cnn_Vanilla_ResNet.py"),
])
def test_wrong_partition_setting_names_the_file_and_constant(architecture_function, file_name):
    with pytest.raises(UserError, match=rf"PARTITION_SETING = 3 .*Experiment/{file_name}"):
        architecture_function(3)


def test_switched_off_skips_are_absent_from_the_network():
    model = cnn_Vanilla_ResNet.build_resnet_model(ModelKind.RESILINET, 1, ModelOptions(skip_mask=(True, False)))
    names = layer_names(model)
    assert "edge_skip_to_cloud" in names and "mux_fog_to_cloud" in names
    assert "iot_skip_to_fog" not in names and "mux_edge_to_fog" not in names


@pytest.mark.parametrize("setting", [1, 2])
@pytest.mark.parametrize("architecture", BUILDERS)
def test_dead_edge_in_vanilla_makes_the_cloud_input_all_zero(architecture, setting):
    model = BUILDERS[architecture](ModelKind.VANILLA, setting)
    reader = cloud_input(model)
    assert np.any(reader.predict(images(), verbose=0) != 0)
    set_alive(model, CNN, (True, False))  # fog alive, edge dead
    assert np.all(reader.predict(images(), verbose=0) == 0)


@pytest.mark.parametrize("setting", [1, 2])
@pytest.mark.parametrize("architecture", BUILDERS)
def test_dead_edge_in_resilinet_leaves_the_skip_path_carrying_the_input(architecture, setting):
    model = BUILDERS[architecture](ModelKind.RESILINET, setting)
    reader = cloud_input(model)
    alive = reader.predict(images(), verbose=0)
    set_alive(model, CNN, (True, False))
    cloud = reader.predict(images(), verbose=0)
    assert np.any(cloud != 0) and not np.allclose(cloud, alive)
    assert np.ptp(cloud, axis=0).max() > 1e-3 * np.abs(cloud).max(), "the cloud's input depends on the image"
    mux, skip, edge = probe(model, "mux_edge_to_fog", "iot_skip_to_fog", "edge_gate").predict(images(), verbose=0)
    assert np.all(edge == 0)
    np.testing.assert_allclose(mux, skip)
    set_alive(model, CNN, (False, True))  # fog dead: the edge->cloud skip feeds the cloud
    mux, skip = probe(model, "mux_fog_to_cloud", "edge_skip_to_cloud").predict(images(), verbose=0)
    assert np.any(skip != 0)
    np.testing.assert_allclose(mux, skip)


def test_augmentation_is_random_in_training_and_the_identity_at_inference():
    model = cnn_Vanilla_MobileNet.build_mobilenet_model(ModelKind.VANILLA, 1, alpha=0.25)
    augmented = keras.Model(model.input, model.get_layer("iot_augment_flip").output)
    x = images(4)
    np.testing.assert_array_equal(np.asarray(augmented(x, training=False)), x)
    assert not np.allclose(np.asarray(augmented(x, training=True)), x)
    plain = cnn_Vanilla_MobileNet.build_mobilenet_model(ModelKind.VANILLA, 1, alpha=0.25, augment=False)
    assert not any("augment" in name for name in layer_names(plain))


def test_the_augmented_model_compiles_whole_on_jax_and_as_keras_decides_elsewhere():
    """Keras marks the rotation and shift layers unfit for XLA on every backend, which on JAX ran each training
    step op by op; there they are marked fit. TensorFlow (no XLA on CPU, none with these layers) and PyTorch
    (eager by default) keep Keras's choice."""
    model = cnn_Vanilla_MobileNet.build_mobilenet_model(ModelKind.VANILLA, 1, alpha=0.25)
    assert model.jit_compile == (keras.backend.backend() == "jax")
    rotation = model.get_layer("iot_augment_rotation")
    assert rotation.supports_jit == (keras.backend.backend() == "jax")


def test_mixed_precision_keeps_the_prediction_in_float32():
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = cnn_Vanilla_ResNet.build_resnet_model(ModelKind.RESILINET, 1, augment=False)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    assert model.get_layer("fog_gate").compute_dtype == "float16"
    assert model.output.dtype == "float32"
    assert model.predict(images(2), verbose=0).dtype == np.float32
