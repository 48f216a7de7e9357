"""Every Keras backend: the tests marked `backend` (the core and one tiny script per dataset) rerun
under each other installed backend, and a model trained with TensorFlow scores every failure
combination the same under JAX and PyTorch. Each backend runs in its own interpreter: Keras picks
the backend once, at import. A backend whose package is not installed is skipped, saying so."""
import json
import re
import subprocess
import sys

import keras
import pytest
from conftest import EXPERIMENT_DIR, REPO, backend_environment, write_mhealth_logs

from resilinet.base.keras_import import configured_backend

BACKENDS = ("tensorflow", "jax", "torch")
TIMEOUT_S = 1800


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != keras.backend.backend()])
def test_backend_marked_tests_pass_on(backend, tmp_path):
    environment = backend_environment(backend)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-m", "backend", "-p", "no:cacheprovider",
         f"--basetemp={tmp_path / 'pytest'}"],
        cwd=REPO, env=environment, capture_output=True, text=True, timeout=TIMEOUT_S)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"KERAS_BACKEND={backend} python -m pytest -m backend:\n{output[-6000:]}"
    closing = done.stdout.strip().splitlines()[-1]
    assert re.search(r"\b\d+ passed\b", closing) and "failed" not in closing, closing


RUN_SCRIPT = """
import json, runpy, sys
import keras
print(json.dumps({{"backend": keras.backend.backend()}}))
sys.path.insert(0, {experiment_dir!r})
sys.argv = [{script!r}, *{flags!r}]
runpy.run_path({script!r}, run_name="__main__")
"""


def run_on(backend: str, script: str, flags: list[str], cwd, results_dir: str) -> dict:
    """Run Experiment/<script> with `flags` under `backend` in a fresh interpreter, in `cwd`, writing
    into `results_dir`; return its results JSON."""
    path = str(EXPERIMENT_DIR / script)
    code = RUN_SCRIPT.format(experiment_dir=str(EXPERIMENT_DIR), script=path,
                             flags=[*flags, f"--results_dir={results_dir}"])
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=backend_environment(backend),
                          capture_output=True, text=True, timeout=TIMEOUT_S)
    assert done.returncode == 0, done.stderr[-4000:]
    assert json.loads(done.stdout.splitlines()[0]) == {"backend": backend}
    logs = sorted((cwd / results_dir).glob(script.removesuffix(".py") + "_*.json"))
    assert len(logs) == 1, logs
    return json.loads(logs[0].read_text())


def scores(document) -> dict:
    """(iteration, variant) -> [(alive nodes, no path, score)] of every failure combination."""
    metric = document["metric"]
    return {(r["iteration"], r["variant"]): [(tuple(c["alive"].values()), c["no_path"], c[metric])
                                             for c in r["combinations"]]
            for r in document["records"]}


@pytest.fixture(scope="module")
def trained_with_tensorflow(tmp_path_factory):
    """Health Vanilla, DFG and ResiliNet trained with TensorFlow on generated logs: the run's folder,
    its flags, its per-combination scores, and the size of its test set."""
    folder = tmp_path_factory.mktemp("trained_with_tensorflow")
    logs = write_mhealth_logs(folder / "mhealth", rows_per_subject=200)
    flags = [f"--data_dir={logs}", "--split=subjects", "--iterations=1", "--epochs=2", "--batch_size=128",
             "--verbose=0", "--verify_checksums=false", "--models_dir=models"]
    trained = scores(run_on("tensorflow", "health_average_accuracy.py", flags, folder, "results/tensorflow"))
    # --split=subjects tests on subject 10: its rows with a label other than 0 (the null class)
    test_rows = sum(line.split("\t")[-1].strip() != "0"
                    for line in (logs / "mHealth_subject10.log").read_text().splitlines())
    return folder, flags, trained, test_rows


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "tensorflow"])
def test_saved_weights_score_every_combination_alike_on(backend, request):
    """The TensorFlow-trained weights re-evaluated with `--evaluate_saved=true` under `backend`: a
    combination may differ by one test sample at most (a near tie of two classes that rounding
    decides the other way)."""
    backend_environment(backend)  # skips before training when the backend is absent
    folder, flags, trained, test_rows = request.getfixturevalue("trained_with_tensorflow")
    (saved,) = (folder / "results" / "tensorflow").glob("health_average_accuracy_*.json")
    again = scores(run_on(backend, "health_average_accuracy.py",
                          [*flags, "--evaluate_saved=true", f"--saved_run={saved}"], folder, f"results/{backend}"))
    assert sorted(again) == sorted(trained) == [(1, "DFG"), (1, "ResiliNet"), (1, "Vanilla")]
    for key, combinations in trained.items():
        assert [c[:2] for c in again[key]] == [c[:2] for c in combinations], key
        for (alive, _no_path, expected), (_, _, got) in zip(combinations, again[key]):
            assert abs(got - expected) <= 1.0 / test_rows + 1e-12, (key, alive, expected, got)
    # the models learnt (the generated classes are easy): with every node alive they beat chance (1/12)
    assert all(combinations[-1][0] == (True, True, True) and combinations[-1][2] > 0.5
               for combinations in trained.values())


def test_the_backend_keras_will_pick_is_known_without_importing_it(tmp_path):
    """A process that only drives Ray workers passes them its backend without importing Keras: KERAS_BACKEND when
    set, else keras.json in KERAS_HOME (or ~/.keras), else TensorFlow, as Keras picks it at import."""
    home = tmp_path / "keras_home"
    home.mkdir()
    assert configured_backend({"KERAS_HOME": str(home)}) == "tensorflow"
    (home / "keras.json").write_text('{"backend": "torch", "floatx": "float32"}')
    assert configured_backend({"KERAS_HOME": str(home)}) == "torch"
    assert configured_backend({"KERAS_HOME": str(home), "KERAS_BACKEND": "jax"}) == "jax"
    assert configured_backend({"KERAS_HOME": str(home), "KERAS_BACKEND": ""}) == "torch"
    (home / "keras.json").write_text('{"backend": ')
    assert configured_backend({"KERAS_HOME": str(home)}) == "tensorflow"
    (home / "keras.json").write_text('["jax"]')
    assert configured_backend({"KERAS_HOME": str(home)}) == "tensorflow"

    # Keras itself agrees, in a fresh interpreter whose keras.json names JAX
    environment = backend_environment("jax")
    del environment["KERAS_BACKEND"]
    (home / "keras.json").write_text('{"backend": "jax"}')
    code = ("import sys; from resilinet.base.keras_import import keras_backend; before = keras_backend(); "
            "assert 'keras' not in sys.modules; import keras; print(before, keras.backend.backend())")
    done = subprocess.run([sys.executable, "-c", code], env={**environment, "KERAS_HOME": str(home)}, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["jax", "jax"]
