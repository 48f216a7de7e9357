"""Backend-agnostic Keras 3 layers of a distributed network: failout, multiplexer, failure gate."""
import keras
from keras import ops


@keras.saving.register_keras_serializable(package="resilinet")
class Failout(keras.layers.Layer):
    """Kills the whole node for a training step with probability 1 - `survival_rate`: one random draw per call
    decides for the whole batch, as in the paper. At inference the identity (a `FailureGate` simulates failures)."""

    def __init__(self, survival_rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 < survival_rate <= 1.0:
            raise ValueError(f"failout survival rate must be in (0, 1], got {survival_rate}")
        self.survival_rate = float(survival_rate)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        if not training or self.survival_rate >= 1.0:
            return inputs
        draw = keras.random.uniform((), seed=self.seed_generator)
        return inputs * ops.cast(draw < self.survival_rate, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "survival_rate": self.survival_rate, "seed": self.seed}


@keras.saving.register_keras_serializable(package="resilinet")
class InputMultiplexer(keras.layers.Layer):
    """ResiliNet's input multiplexer: inputs [below, skip] -> skip if `below` (the output of the node directly below;
    dead nodes output zeros) is all zero, else below. `skip` is what the skips that bypass that node carry."""

    def call(self, inputs):
        below, skip = inputs
        below_dead = ops.all(ops.equal(below, 0))
        return ops.where(below_dead, skip, below)

    def compute_output_shape(self, input_shape):
        return input_shape[0]


@keras.saving.register_keras_serializable(package="resilinet")
class FailureGate(keras.layers.Layer):
    """Multiplies a node's output by a non-trainable `alive` flag (1.0 alive, 0.0 dead), which the evaluator sets
    with `set_alive`: trained weights are never touched and the model is not rebuilt or recompiled."""

    def build(self, input_shape):
        self.alive = self.add_weight(name="alive", shape=(), initializer="ones", trainable=False, dtype="float32")

    def call(self, inputs):
        return inputs * ops.cast(self.alive, inputs.dtype)

    def set_alive(self, alive: bool):
        self.alive.assign(1.0 if alive else 0.0)

    def compute_output_shape(self, input_shape):
        return input_shape
