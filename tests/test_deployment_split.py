"""The per-node split (no Ray): chaining the node sub-models, rebuilt from their configs as an
actor does, gives the full model's output for every failure combination, on every architecture."""
import cnn_Vanilla_MobileNet
import cnn_Vanilla_ResNet
import keras
import mlp_Vanilla_camera
import mlp_Vanilla_health
import numpy as np
import pytest

from resilinet.core.builder import ModelKind, set_alive
from resilinet.core.paper_topologies import CAMERA, CNN, HEALTH
from resilinet.deployment.split import split_model


def chain(specs, topology, alive, inputs):
    """Run the rebuilt node models in topological order; a dead node's receivers take zeros."""
    models = {node: spec.build() for node, spec in specs.items()}
    dead = {n for n, up in zip(topology.failable, alive) if not up}
    raw = dict(zip(topology.inputs, inputs))
    outputs = {}
    for node in topology.nodes:
        if node in dead:
            continue
        spec = specs[node]
        if node in raw:
            arriving = [raw[node]]
        else:
            arriving = [outputs[s] if s in outputs else np.zeros((len(inputs[0]), *shape), dtype)
                        for s, shape, dtype in zip(spec.senders, spec.input_shapes, spec.input_dtypes)]
        outputs[node] = np.asarray(models[node](arriving, training=False))
    return outputs[topology.output]


CASES = {
    "health": (lambda kind: mlp_Vanilla_health.build_health_model(kind, 2), HEALTH, [(5, 23)]),
    "camera": (mlp_Vanilla_camera.build_camera_model, CAMERA, [(3, 32, 32, 3)] * 6),
    "mobilenet": (lambda kind: cnn_Vanilla_MobileNet.build_mobilenet_model(kind, 2, alpha=0.25), CNN, [(3, 32, 32, 3)]),
    "resnet": (lambda kind: cnn_Vanilla_ResNet.build_resnet_model(kind, 1), CNN, [(3, 32, 32, 3)]),
}


KINDS = [ModelKind.VANILLA, ModelKind.DFG, ModelKind.RESILINET]


@pytest.mark.parametrize(("case", "kind"), [(case, kind) for case in ("health", "camera") for kind in KINDS]
                         + [("mobilenet", ModelKind.RESILINET), ("resnet", ModelKind.RESILINET)])
def test_node_models_chain_to_the_full_model(case, kind):
    build, topology, shapes = CASES[case]
    keras.utils.set_random_seed(5)
    model = build(kind)
    rng = np.random.default_rng(5)
    inputs = [rng.random(shape, dtype=np.float32) for shape in shapes]
    specs = split_model(model, topology, None, kind.has_skips)
    assert sum(len(spec.weights) for spec in specs.values()) == len(model.get_weights())  # each weight once
    combinations = topology.failure_combinations()
    if len(combinations) > 8:  # camera: the all-alive, all-dead and six mixed combinations
        combinations = combinations[:: len(combinations) // 7] + [combinations[-1]]
    for alive in combinations:
        set_alive(model, topology, alive)
        expected = np.asarray(model(inputs if len(inputs) > 1 else inputs[0], training=False))
        np.testing.assert_allclose(chain(specs, topology, alive, inputs), expected, atol=1e-5,
                                   err_msg=topology.describe(alive))
    set_alive(model, topology, [True] * len(topology.failable))
