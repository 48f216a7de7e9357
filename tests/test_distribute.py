"""Multi-device training: MirroredStrategy on a CPU split into two logical devices (TensorFlow,
in a subprocess because the split must precede TensorFlow's initialisation), DataParallel on two
host devices (JAX, where installed), and the mode switch."""
import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import keras
import pytest
from conftest import EXPERIMENT_DIR, REPO, run_weights

from resilinet.base.errors import UserError
from resilinet.runs.distribute import distribution_scope

MIRRORED_RUN = """
import dataclasses, json, sys
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
sys.path.insert(0, {experiment_dir!r})
import numpy as np
from cifar_common import CIFAR_MOBILENET
from resilinet.core.splits import Data, Split
from resilinet.runs.distribute import distribution_scope
from resilinet.cli.experiment_script import main

with distribution_scope("auto"):
    auto_distributes = tf.distribute.has_strategy()
rng = np.random.default_rng(0)

def split(n):
    return Split(rng.uniform(size=(n, 32, 32, 3)).astype("float32"), rng.integers(0, 10, n))

def load_data(config):
    return Data(split(64), split(32), split(32), num_classes=10)

seen = {{}}

class Watched(type(CIFAR_MOBILENET)):
    def build_model(self, kind, config, options):
        seen["replicas"] = tf.distribute.get_strategy().num_replicas_in_sync
        seen["model"] = super().build_model(kind, config, options)
        return seen["model"]

dataset = Watched(**vars(dataclasses.replace(CIFAR_MOBILENET, load_data=load_data)))
log = main(dataset, "skiphyperconnection_sensitivity", script_defaults={{"skip_configurations": ("11",)}}, argv=[
    "--distribute=on", "--epochs=2", "--iterations=1", "--batch_size=16", "--alpha=0.25", "--verbose=0",
    "--results_dir=results", "--models_dir=models"])
model = seen["model"]
print(json.dumps({{
    "auto_distributes": auto_distributes,
    "replicas": seen["replicas"],
    "strategy": type(model.distribute_strategy).__name__,
    "failout_draws": int(np.asarray(model.get_layer("edge_failout").seed_generator.state.value)[1]),
    "records": [r["variant"] for r in log.records],
    "combinations": len(log.records[0]["combinations"]),
}}))
"""

DATA_PARALLEL_RUN = """
import json
import keras, numpy as np
from resilinet.runs.distribute import distribution_scope
from resilinet.core.layers import FailureGate

auto = distribution_scope("auto")
with distribution_scope("on"):
    inside = keras.distribution.distribution()
    inputs = keras.Input((8,))
    x = FailureGate(name="gate")(keras.layers.Dense(4)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(np.random.rand(64, 8), np.random.randint(0, 3, 64), batch_size=16, epochs=1, verbose=0)
after = keras.distribution.distribution()
model.get_layer("gate").set_alive(False)
predictions = model.predict(np.random.rand(6, 8), verbose=0)
print(json.dumps({
    "backend": keras.backend.backend(),
    "auto_is_plain": type(auto).__name__ == "nullcontext",
    "inside": type(inside).__name__,
    "devices": len(inside.device_mesh.devices.ravel()),
    "after": after is None,
    "constant_when_gated": bool(np.allclose(predictions, predictions[0])),
}))
"""


def run_python(code, cwd, **environment):
    """Run `code` in a fresh interpreter; return the JSON object it prints last."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
           "TF_CPP_MIN_LOG_LEVEL": "2", **environment}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_mirrored_strategy_trains_and_evaluates_on_two_logical_cpus(tmp_path):
    result = run_python(MIRRORED_RUN.format(experiment_dir=str(EXPERIMENT_DIR)), tmp_path,
                        KERAS_BACKEND="tensorflow")
    assert result["auto_distributes"] is False, "auto distributes over GPUs only"
    assert result["replicas"] == 2
    assert result["strategy"] == "MirroredStrategy"
    assert result["failout_draws"] > 0, "failout draws a fresh decision every step under the strategy"
    assert result["records"] == ["ResiliNet_skips11"] and result["combinations"] == 4
    assert list(run_weights(tmp_path, "cifar_mobilenet_skiphyperconnection_sensitivity").glob("*.weights.h5"))


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="JAX is not installed")
def test_data_parallel_on_two_jax_host_devices(tmp_path):
    result = run_python(DATA_PARALLEL_RUN, tmp_path, KERAS_BACKEND="jax",
                        XLA_FLAGS="--xla_force_host_platform_device_count=2")
    assert result == {"backend": "jax", "auto_is_plain": True, "inside": "DataParallel", "devices": 2,
                      "after": True, "constant_when_gated": True}


def test_unknown_mode_is_a_user_error():
    with pytest.raises(UserError, match="--distribute must be one of auto, on, off"):
        distribution_scope("always")


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="checks TensorFlow's strategy")
def test_off_and_auto_without_gpus_train_on_one_device():
    import tensorflow as tf

    if len(tf.config.list_logical_devices("GPU")) > 1:
        pytest.skip("this machine has several GPUs: auto distributes")
    for mode in ("off", "auto"):
        with distribution_scope(mode):
            assert not tf.distribute.has_strategy()
