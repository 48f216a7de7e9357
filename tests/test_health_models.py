"""Health models: structure for every partition setting and kind, and failure semantics."""
import keras
import mlp_DFG_health
import mlp_ResiliNet_health
import mlp_Vanilla_health
import numpy as np
import pytest

from resilinet.base.errors import UserError
from resilinet.core.builder import ModelKind, set_alive
from resilinet.core.kinds import ModelOptions
from resilinet.core.paper_topologies import HEALTH

pytestmark = pytest.mark.backend  # run on every Keras backend (tests/test_backends.py)

KINDS = list(ModelKind)


def build(kind, setting=1, options=ModelOptions()):
    return mlp_Vanilla_health.build_health_model(kind, setting, options)


def layer_names(model):
    return [layer.name for layer in model.layers]


@pytest.mark.parametrize("setting", [1, 2])
@pytest.mark.parametrize("kind", KINDS)
def test_structure_for_every_partition_setting_and_kind(setting, kind):
    model = build(kind, setting)
    assert model.output_shape == (None, 13)
    assert model.input_shape == (None, 23)
    names = layer_names(model)
    for node, count in mlp_Vanilla_health.LAYERS_PER_NODE[setting].items():
        assert sum(n.startswith(f"{node}_dense") for n in names) == count, node
    for node in HEALTH.failable:
        assert f"{node}_gate" in names
        assert (f"{node}_failout" in names) == kind.has_failout
    assert ("iot_projection_to_fog2" in names) == kind.has_skips
    muxes = [n for n in names if n.startswith("mux_")]
    expected = ["mux_edge_to_fog2", "mux_fog2_to_fog1", "mux_fog1_to_cloud"] if kind is ModelKind.RESILINET else []
    assert muxes == expected


def test_model_files_build_their_kinds():
    assert layer_names(mlp_DFG_health.define_deepFogGuard_MLP(2)).count("mux_edge_to_fog2") == 0
    assert "mux_edge_to_fog2" in layer_names(mlp_ResiliNet_health.define_ResiliNet_MLP(1))
    plus = mlp_ResiliNet_health.define_ResiliNet_MLP(1, resilinet_plus=True)
    assert not any(n.startswith("mux_") for n in layer_names(plus)) and "edge_failout" in layer_names(plus)
    assert mlp_Vanilla_health.define_vanilla_model_MLP(2).count_params() < build(ModelKind.DFG, 2).count_params()


def test_wrong_partition_setting_names_the_constant():
    with pytest.raises(UserError, match=r"PARTITION_SETING = 3 .*mlp_Vanilla_health.py"):
        mlp_Vanilla_health.health_architecture(3)


def test_switched_off_skips_are_absent_from_the_network():
    model = build(ModelKind.RESILINET, options=ModelOptions(skip_mask=(True, False, False)))
    names = layer_names(model)
    assert "mux_fog1_to_cloud" in names
    assert "mux_fog2_to_fog1" not in names and "iot_projection_to_fog2" not in names


def test_weights_scale_the_connections():
    weights = HEALTH.connection_weights(3, (0.99, 0.96, 0.92))
    model = build(ModelKind.DFG, options=ModelOptions(weights=weights))
    assert model.get_layer("weight_fog2_to_cloud").scale == pytest.approx(0.96)
    assert "weight_iot_to_edge" not in layer_names(model)  # weight 1: no layer


def inputs(n=64, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 23)).astype("float32")


def test_dead_node_in_vanilla_cuts_the_input_off():
    model = build(ModelKind.VANILLA)
    for dead in range(3):
        alive = [True] * 3
        alive[dead] = False
        set_alive(model, HEALTH, alive)
        predictions = model.predict(inputs(), verbose=0)
        np.testing.assert_allclose(predictions, np.broadcast_to(predictions[0], predictions.shape), atol=1e-6)


def test_dead_fog1_in_resilinet_leaves_the_skip_path_working():
    model = build(ModelKind.RESILINET)
    alive_predictions = model.predict(inputs(), verbose=0)
    set_alive(model, HEALTH, (False, True, True))
    predictions = model.predict(inputs(), verbose=0)
    assert np.ptp(predictions, axis=0).max() > 1e-3, "the prediction still depends on the input"
    assert not np.allclose(predictions, alive_predictions)
    set_alive(model, HEALTH, (True, True, True))
    np.testing.assert_allclose(model.predict(inputs(), verbose=0), alive_predictions, atol=1e-6)


def test_multiplexer_switches_to_the_skip_exactly_when_the_node_below_dies():
    model = build(ModelKind.RESILINET)
    probe = keras.Model(model.input, [model.get_layer("mux_edge_to_fog2").output,
                                      model.get_layer("iot_projection_to_fog2").output,
                                      model.get_layer("edge_gate").output])
    mux, skip, edge = probe.predict(inputs(), verbose=0)
    np.testing.assert_allclose(mux, edge)
    set_alive(model, HEALTH, (True, True, False))
    mux, skip, edge = probe.predict(inputs(), verbose=0)
    assert np.all(edge == 0)
    np.testing.assert_allclose(mux, skip)


def test_dfg_sums_the_skip_with_the_chain():
    model = build(ModelKind.DFG)
    probe = keras.Model(model.input, [model.get_layer("fog2_input").output,
                                      model.get_layer("iot_projection_to_fog2").output,
                                      model.get_layer("edge_gate").output])
    total, skip, edge = probe.predict(inputs(), verbose=0)
    np.testing.assert_allclose(total, skip + edge, rtol=1e-5, atol=1e-5)


def test_failout_is_active_in_fit_only():
    model = build(ModelKind.RESILINET, options=ModelOptions(survival_rates=0.5))
    outputs = [model.predict(inputs(8), verbose=0) for _ in range(3)]
    np.testing.assert_allclose(outputs[0], outputs[1])
    np.testing.assert_allclose(outputs[0], outputs[2])
    edge_in_training = keras.Model(model.input, model.get_layer("edge_failout").output)
    dead = [bool(np.all(keras.ops.convert_to_numpy(edge_in_training(inputs(8), training=True)) == 0))
            for _ in range(40)]
    assert 0 < sum(dead) < 40
