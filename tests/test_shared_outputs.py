"""Node-by-node evaluation gives the whole model's predictions under every combination, running
each node once per alive state of the nodes it depends on."""
import math

import mlp_Vanilla_camera
import mlp_Vanilla_health
import networkx as nx
import numpy as np
import pytest

from resilinet.core.builder import ModelKind, set_alive
from resilinet.core.evaluation import Scoring, evaluate_combinations, predict
from resilinet.core.kinds import ModelOptions
from resilinet.core.paper_topologies import CAMERA, HEALTH
from resilinet.core.shared_outputs import NodeByNode
from resilinet.core.splits import Split


def health(kind, skip_mask):
    model = mlp_Vanilla_health.build_health_model(kind, options=ModelOptions(skip_mask=skip_mask))
    rng = np.random.default_rng(0)
    return model, Split(rng.normal(size=(70, 23)).astype("float32"), rng.integers(1, 13, size=70))


def camera(kind, skip_mask):
    model = mlp_Vanilla_camera.build_camera_model(kind, ModelOptions(skip_mask=skip_mask))
    rng = np.random.default_rng(1)
    views = [rng.uniform(size=(12, 32, 32, 3)).astype("float32") for _ in range(6)]
    return model, Split(views, rng.integers(0, 3, size=12))


BATCH_SIZE = 8  # camera's 12 rows in two batches, the second one short


CASES = [
    (health, HEALTH, ModelKind.VANILLA, (False,) * 3),
    (health, HEALTH, ModelKind.DFG, None),
    (health, HEALTH, ModelKind.RESILINET, None),
    (health, HEALTH, ModelKind.RESILINET_PLUS, (True, False, True)),
    (camera, CAMERA, ModelKind.VANILLA, (False,) * 7),
    (camera, CAMERA, ModelKind.DFG, None),
    (camera, CAMERA, ModelKind.RESILINET, None),
    (camera, CAMERA, ModelKind.RESILINET, (True, False, False, False, True, False, True)),
]
# Rerun under the other backends: every health case and one camera case (its convolutions and switched-off skips);
# the other camera cases check the same code on the same layers at 10-20 s each.
ON_EVERY_BACKEND = {0, 1, 2, 3, 7}


@pytest.mark.parametrize("make, topology, kind, skip_mask",
                         [pytest.param(*case, marks=[pytest.mark.backend] if i in ON_EVERY_BACKEND else [],
                                       id=f"{case[1].name}-{case[2].value}-{case[3]}") for i, case in enumerate(CASES)])
def test_node_by_node_equals_the_whole_model_on_every_combination(make, topology, kind, skip_mask):
    model, test = make(kind, skip_mask)
    nodes = NodeByNode(model, topology, skip_mask, test, batch_size=BATCH_SIZE)
    with_path = [a for a in topology.failure_combinations() if topology.has_path(a, skip_mask)]
    accuracy = {}
    for alive in sorted(with_path, key=nodes.upstream_first):
        set_alive(model, topology, alive)
        # The same layers on the same batches; the kernels may round the last bit differently when
        # the graph is cut at the nodes.
        by_nodes, whole = nodes.predict(alive), predict(model, test, batch_size=BATCH_SIZE)
        np.testing.assert_allclose(by_nodes, whole, rtol=0, atol=1e-6, err_msg=str(alive))
        assert np.array_equal(by_nodes.argmax(-1), whole.argmax(-1)), alive
        accuracy[alive] = float(np.mean(whole.argmax(-1) == test.y))
    set_alive(model, topology, [True] * len(topology.failable))

    # Each node ran once per alive state of itself and its failable ancestors (dead: zeros, no run),
    # counted by hand from the graph over the combinations that have a path.
    graph = topology.graph(skip_mask)
    for node in topology.nodes:
        depends = [i for i, n in enumerate(topology.failable) if n in nx.ancestors(graph, node) | {node}]
        own = topology.failable.index(node) if node in topology.failable else None
        states = {tuple(a[i] for i in depends) for a in with_path if own is None or a[own]}
        expected = len([a for a in with_path if own is None or a[own]]) if node == topology.output else len(states)
        assert nodes.evaluations[node] == expected, node

    # Evaluation stacks the states of several combinations into one call per node (a small test set): the scores
    # of the whole model's predictions above, though ResiliNet's multiplexer looks at whole batches.
    assert nodes.group > 1
    shared = evaluate_combinations(model, topology, skip_mask, Scoring(test, "accuracy", 0.5, BATCH_SIZE),
                                   node_by_node=True)
    assert [(r.alive, r.no_path, r.score) for r in shared] == [
        (a, a not in accuracy, accuracy.get(a, 0.5)) for a in topology.failure_combinations()]


@pytest.mark.backend
def test_a_small_cache_recomputes_but_predicts_the_same():
    model, test = camera(ModelKind.RESILINET, None)
    roomy = NodeByNode(model, CAMERA, None, test, batch_size=16)
    tight = NodeByNode(model, CAMERA, None, test, batch_size=16, cache_bytes=0)
    for alive in CAMERA.failure_combinations()[-12:]:
        assert np.array_equal(roomy.predict(alive), tight.predict(alive))
    assert tight.cached_bytes == 0 and sum(tight.evaluations.values()) > sum(roomy.evaluations.values())
    assert math.isclose(sum(o.nbytes for o in roomy.cache.values()), roomy.cached_bytes)
