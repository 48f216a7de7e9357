"""Failout, multiplexer and failure gate: behaviour in training and at inference."""
import numpy as np
import pytest

from resilinet.core.layers import Failout, FailureGate, InputMultiplexer

pytestmark = pytest.mark.backend  # run on every Keras backend (tests/test_backends.py)


def test_failout_is_identity_at_inference():
    layer = Failout(0.5, seed=1)
    x = np.random.default_rng(0).normal(size=(16, 8)).astype("float32")
    for _ in range(20):
        np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)
    np.testing.assert_array_equal(np.asarray(layer(x)), x)


def test_failout_kills_the_whole_batch_at_the_configured_rate_in_training():
    layer = Failout(0.7, seed=123)
    x = np.ones((32, 4), dtype="float32")
    dead = 0
    calls = 2000
    for _ in range(calls):
        y = np.asarray(layer(x, training=True))
        assert np.all(y == 0) or np.array_equal(y, x), "one draw decides for the whole batch"
        dead += bool(np.all(y == 0))
    # binomial(2000, 0.3): standard deviation 0.0102; allow 4 of them
    assert abs(dead / calls - 0.3) < 0.041


def test_failout_with_survival_one_never_fails():
    layer = Failout(1.0, seed=0)
    x = np.ones((4, 3), dtype="float32")
    assert all(np.array_equal(np.asarray(layer(x, training=True)), x) for _ in range(50))


@pytest.mark.parametrize("rate", [0.0, -0.1, 1.5])
def test_failout_rejects_rates_outside_0_1(rate):
    with pytest.raises(ValueError, match="survival rate"):
        Failout(rate)


def test_multiplexer_takes_skip_when_below_is_all_zero():
    skip = np.full((3, 5), 7.0, dtype="float32")
    below = np.zeros((3, 5), dtype="float32")
    np.testing.assert_array_equal(np.asarray(InputMultiplexer()([below, skip])), skip)


def test_multiplexer_takes_below_when_it_carries_anything():
    skip = np.full((3, 5), 7.0, dtype="float32")
    below = np.zeros((3, 5), dtype="float32")
    below[1, 2] = 0.5  # one live value anywhere in the batch: the node below is alive
    np.testing.assert_array_equal(np.asarray(InputMultiplexer()([below, skip])), below)


def test_failure_gate_zeroes_and_restores_without_touching_the_input():
    gate = FailureGate()
    x = np.arange(12, dtype="float32").reshape(3, 4)
    np.testing.assert_array_equal(np.asarray(gate(x)), x)
    gate.set_alive(False)
    np.testing.assert_array_equal(np.asarray(gate(x)), np.zeros_like(x))
    gate.set_alive(True)
    np.testing.assert_array_equal(np.asarray(gate(x)), x)
    assert gate.trainable_weights == []
