"""Topology: failure enumeration, probabilities, no-path detection and weight schemes, by hand."""
import itertools

import numpy as np
import pytest

from resilinet.core.paper_topologies import CAMERA, CNN, HEALTH
from resilinet.core.topology import Topology, combination_probabilities


def health_has_path_by_hand(fog1, fog2, edge, skip_fog2_cloud, skip_edge_fog1, skip_iot_fog2):
    """Reachability worked out by hand for the chain iot -> edge -> fog2 -> fog1 -> cloud."""
    fog2_reached = fog2 and (edge or skip_iot_fog2)
    fog1_reached = fog1 and (fog2_reached or (edge and skip_edge_fog1))
    return fog1_reached or (fog2_reached and skip_fog2_cloud)


def test_failure_combinations_enumerate_all_alive_flags_in_order():
    combinations = HEALTH.failure_combinations()
    assert len(combinations) == 8
    assert combinations[0] == (False, False, False)
    assert combinations[-1] == (True, True, True)
    assert combinations[1] == (False, False, True)  # the last failable node (edge) varies fastest
    assert len(set(combinations)) == 8
    assert len(CAMERA.failure_combinations()) == 256


def test_health_no_path_without_skips_only_all_alive_has_a_path():
    paths = [HEALTH.has_path(alive, (False, False, False)) for alive in HEALTH.failure_combinations()]
    assert paths == [False] * 7 + [True]


def test_health_no_path_with_all_skips_matches_table():
    # alive flags (fog1, fog2, edge) -> path: fog2 alive, or fog1 and edge alive
    table = {
        (0, 0, 0): False, (0, 0, 1): False, (0, 1, 0): True, (0, 1, 1): True,
        (1, 0, 0): False, (1, 0, 1): True, (1, 1, 0): True, (1, 1, 1): True,
    }
    for alive, expected in table.items():
        assert HEALTH.has_path(tuple(map(bool, alive))) is expected, alive


@pytest.mark.parametrize("mask", list(itertools.product((False, True), repeat=3)))
def test_health_no_path_for_every_skip_configuration(mask):
    for alive in HEALTH.failure_combinations():
        assert HEALTH.has_path(alive, mask) == health_has_path_by_hand(*alive, *mask), (alive, mask)


def test_cnn_no_path_table():
    # alive flags (fog, edge)
    assert [CNN.has_path(a) for a in CNN.failure_combinations()] == [False, True, True, True]
    assert [CNN.has_path(a, (False, False)) for a in CNN.failure_combinations()] == [False, False, False, True]
    assert [CNN.has_path(a, (True, False)) for a in CNN.failure_combinations()] == [False, True, False, True]


def test_bypassed_nodes_follow_the_chain():
    assert [HEALTH.bypassed_node(s) for s in HEALTH.skips] == ["fog1", "fog2", "edge"]
    assert [CAMERA.bypassed_node(s) for s in CAMERA.skips] == ["fog1", "fog2", "fog2", "fog3", "fog4", "fog4", "fog4"]


def test_a_skip_that_does_not_jump_one_node_is_rejected():
    with pytest.raises(ValueError, match="exactly one node"):
        Topology("bad", ("a",), (("a", "b"), ("b", "c"), ("c", "cloud")), (("a", "cloud"),), ("b", "c"))


def test_probabilities_by_hand():
    probabilities = combination_probabilities(HEALTH.failure_combinations(), (0.99, 0.96, 0.92))
    assert probabilities.sum() == pytest.approx(1.0)
    assert probabilities[-1] == pytest.approx(0.99 * 0.96 * 0.92)  # all alive: 0.874368
    assert probabilities[0] == pytest.approx(0.01 * 0.04 * 0.08)  # all dead
    assert probabilities[3] == pytest.approx(0.01 * 0.96 * 0.92)  # fog1 dead only
    uniform = combination_probabilities(HEALTH.failure_combinations(), (0.5, 0.5, 0.5))
    np.testing.assert_allclose(uniform, np.full(8, 1 / 8))
    assert combination_probabilities(HEALTH.failure_combinations(), (1, 1, 1)).tolist() == [0] * 7 + [1]


NORMAL = (0.99, 0.96, 0.92)  # fog1, fog2, edge


def test_weight_scheme_1_weighs_every_connection_one():
    weights = HEALTH.connection_weights(1)
    assert set(weights) == set(HEALTH.chain + HEALTH.skips)
    assert set(weights.values()) == {1.0}


def test_weight_scheme_2_normalises_reliability_per_target():
    w = HEALTH.connection_weights(2, NORMAL)
    expected = {
        ("iot", "edge"): 1.0,
        ("edge", "fog2"): 0.92 / 1.92, ("iot", "fog2"): 1.0 / 1.92,
        ("fog2", "fog1"): 0.96 / 1.88, ("edge", "fog1"): 0.92 / 1.88,
        ("fog1", "cloud"): 0.99 / 1.95, ("fog2", "cloud"): 0.96 / 1.95,
    }
    assert w == pytest.approx(expected)


def test_weight_scheme_2_counts_only_active_skips():
    w = HEALTH.connection_weights(2, NORMAL, skip_mask=(False, True, False))
    assert w[("fog1", "cloud")] == 1.0
    assert w[("edge", "fog2")] == 1.0
    assert w[("fog2", "fog1")] == pytest.approx(0.96 / 1.88)
    assert ("iot", "fog2") not in w


def test_weight_scheme_3_is_the_source_reliability():
    w = HEALTH.connection_weights(3, NORMAL)
    assert w == pytest.approx({
        ("iot", "edge"): 1.0, ("edge", "fog2"): 0.92, ("iot", "fog2"): 1.0, ("fog2", "fog1"): 0.96,
        ("edge", "fog1"): 0.92, ("fog1", "cloud"): 0.99, ("fog2", "cloud"): 0.96,
    })


@pytest.mark.parametrize("scheme, high", [(4, 1.0), (5, 10.0)])
def test_random_weight_schemes_are_uniform_in_range_and_seeded(scheme, high):
    draws = [HEALTH.connection_weights(scheme, rng=np.random.default_rng([seed])) for seed in range(200)]
    values = np.array([v for d in draws for v in d.values()])
    assert values.min() >= 0.0 and values.max() <= high
    assert values.mean() == pytest.approx(high / 2, rel=0.05)
    assert HEALTH.connection_weights(scheme, rng=np.random.default_rng(7)) == HEALTH.connection_weights(
        scheme, rng=np.random.default_rng(7))


def test_camera_scheme_2_splits_weight_among_all_sources():
    w = CAMERA.connection_weights(2, (0.9,) * 8)
    # fog2 <- fog3, fog4 (chain) and edge1..edge4 (skips): six sources of reliability 0.9
    assert w[("edge1", "fog2")] == pytest.approx(1 / 6)
    assert w[("camera1", "edge1")] == pytest.approx(0.5)


def test_unknown_scheme_and_wrong_setting_length_raise():
    with pytest.raises(ValueError, match="unknown weight scheme"):
        HEALTH.connection_weights(6)
    with pytest.raises(ValueError, match="one value per failable node"):
        HEALTH.connection_weights(2, (0.9, 0.9))


@pytest.mark.parametrize("chain, skips, failable, message", [
    ((("a", "b"), ("b", "c"), ("c", "b"), ("c", "cloud")), (), ("b",), r"cycle \(b -> c -> b\)"),
    ((("a", "b"), ("b", "cloud"), ("b", "lost")), (), ("b",), "lost reaches no output"),
    ((("a", "b"), ("b", "cloud"), ("x", "b")), (), ("b",), "x receives no chain connection and is not an input"),
    ((("a", "b"), ("b", "cloud")), (("a", "cloud"),), ("b", "fog9"), "failable order names unknown node"),
    ((("a", "b"), ("b", "cloud")), (("a", "cloud"),), ("b", "b"), "names a node twice"),
    ((("a", "b"), ("b", "c"), ("c", "cloud")), (("a", "cloud"),), ("b",),
     "it jumps over several nodes: a -> b -> c -> cloud"),
    ((("a", "b"), ("b", "cloud"), ("a", "c"), ("c", "cloud")), (("c", "b"),), ("b",),
     "the chain has no path from c to b"),
    ((("a", "b"), ("b", "cloud")), (("a", "z"),), ("b",), "skip a->z names a node"),
    ((("a", "b"), ("b", "cloud")), (), ("b", "cloud"), "cloud is the output and cannot fail"),
    ((("b", "a"), ("a", "cloud")), (), ("b",), "input a receives a chain connection"),
    ((("a", "b"), ("b", "c")), (), ("b",), r"cloud \(output\) is in no chain connection"),
])
def test_topology_mistakes_are_named(chain, skips, failable, message):
    with pytest.raises(ValueError, match=message):
        Topology("mine", ("a",), chain, skips, failable)


def test_a_network_may_let_its_sensing_devices_fail():
    """Inputs fail only where `failable` names them (the paper's networks name none): a dead input is removed
    like any dead node, and the network keeps a path while another input reaches the output."""
    sensors = Topology("sensors", ("s1", "s2"), (("s1", "edge"), ("s2", "edge"), ("edge", "cloud")), (),
                       ("s1", "s2", "edge"))
    assert sensors.has_path((False, True, True)) and sensors.has_path((True, False, True))
    assert not sensors.has_path((False, False, True)) and not sensors.has_path((True, True, False))
    assert [sensors.has_path(alive) for alive in sensors.failure_combinations()] == [
        s1 or s2 if edge else False for s1, s2, edge in itertools.product((False, True), repeat=3)]
    for paper in (HEALTH, CNN, CAMERA):
        assert not set(paper.failable) & set(paper.inputs)
