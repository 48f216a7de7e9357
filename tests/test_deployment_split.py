"""The per-node split (no Ray): chaining the node sub-models, rebuilt from their configs as an
actor does, gives the full model's output for every failure combination, on every architecture; a node that
only forwards its raw input runs without Keras."""
import pickle
import subprocess
import sys

import cnn_Vanilla_MobileNet
import cnn_Vanilla_ResNet
import keras
import mlp_Vanilla_camera
import mlp_Vanilla_health
import numpy as np
import pytest
from conftest import backend_environment

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


@pytest.mark.parametrize("case", ["health", "camera", "mobilenet"])
def test_only_input_nodes_without_layers_forward_their_input(case):
    build, topology, shapes = CASES[case]
    specs = split_model(build(ModelKind.RESILINET), topology, None, True)
    forwarding = {"health": ["iot"], "camera": [f"camera{i}" for i in range(1, 7)], "mobilenet": []}[case]
    assert [node for node, spec in specs.items() if spec.forwards_input] == forwarding
    for node in forwarding:  # the sub-model an actor no longer builds is the identity on the raw input
        raw = np.random.default_rng(6).random(shapes[0], dtype=np.float32)
        np.testing.assert_array_equal(np.asarray(specs[node].build()([raw], training=False)), raw)


FORWARD_WITHOUT_KERAS = """
import pickle, sys
import numpy as np
from resilinet.deployment.nodes import Node
spec = pickle.loads(sys.stdin.buffer.read())
raw = np.arange(2 * 23, dtype="float64").reshape(2, 23)
(output, reached), report = Node(spec).process(0, 2, [raw], 1.0)
assert output.dtype == np.float32 and np.array_equal(output, raw.astype("float32")) and reached, output
loaded = sorted(m for m in ("keras", "tensorflow", "jax", "torch") if m in sys.modules)
assert not loaded, f"a forwarding node imported {loaded}"
"""


def test_a_forwarding_node_runs_without_importing_keras():
    """A sensing device holding no layers (health's iot) forwards its raw input as float32; its actor's process,
    which unpickles the spec and runs the node, never imports Keras (seconds of start-up per deployed device)."""
    spec = split_model(mlp_Vanilla_health.build_health_model(ModelKind.VANILLA), HEALTH, None, False)["iot"]
    done = subprocess.run([sys.executable, "-c", FORWARD_WITHOUT_KERAS], input=pickle.dumps(spec),
                          env=backend_environment(keras.backend.backend()), capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
