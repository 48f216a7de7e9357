"""Best-weights checkpointing, balanced class weights, the results files and the flags."""
import json

import keras
import numpy as np
import pytest

from resilinet.errors import UserError
from resilinet.flags import parse_flags
from resilinet.results import ResultsLog
from resilinet.topologies import CNN
from resilinet.training import BestWeightsCheckpoint, balanced_class_weight

pytestmark = pytest.mark.backend  # run on every Keras backend (tests/test_backends.py)


def test_checkpoint_keeps_the_best_validation_epoch(tmp_path):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    path = tmp_path / "best.weights.h5"
    callback = BestWeightsCheckpoint(path)
    callback.set_model(model)
    for epoch, val_accuracy in enumerate([0.5, 0.7, 0.6]):
        model.layers[0].kernel.assign(np.full((2, 1), float(epoch), dtype="float32"))
        callback.on_epoch_end(epoch, {"val_accuracy": val_accuracy})
    assert callback.best == 0.7
    model.load_weights(path)
    np.testing.assert_array_equal(model.layers[0].kernel.numpy(), np.full((2, 1), 1.0))
    assert not list(tmp_path.glob("*partial*"))


def test_balanced_class_weight_is_computed_over_labels():
    weights = balanced_class_weight(np.array([0, 0, 0, 1]))
    assert weights == pytest.approx({0: 4 / 6, 1: 2.0})


def test_results_files_hold_records_and_summary(tmp_path):
    settings = {"no failure": (1.0, 1.0), "normal": (0.98, 0.96)}
    log = ResultsLog(tmp_path, "cnn_test", {"epochs": 1}, CNN, settings, "accuracy",
                     variant_order=["ResiliNet", "ResiliNet_variable_failout_normal"])
    combinations = [{"alive": dict(zip(CNN.failable, a)), "no_path": not any(a), "accuracy": 0.1 if not any(a) else 0.9}
                    for a in CNN.failure_combinations()]

    def record(iteration, variant, group, average):
        return {"iteration": iteration, "variant": variant, "group": group, "combinations": combinations,
                "average": average}

    log.add(record(2, "ResiliNet", "ResiliNet", {"no failure": 0.8, "normal": 0.86}))
    log.add(record(1, "ResiliNet_variable_failout_normal", "variable", {"normal": 0.87}))
    log.add(record(1, "ResiliNet", "ResiliNet", {"no failure": 0.9, "normal": 0.88}))
    document = json.loads(log.json_path.read_text())
    assert [(r["iteration"], r["variant"]) for r in document["records"]] == [
        (1, "ResiliNet"), (1, "ResiliNet_variable_failout_normal"), (2, "ResiliNet")], "sorted, not arrival order"
    assert document["records"][0]["combinations"][0] == {"alive": {"fog": False, "edge": False}, "no_path": True,
                                                          "accuracy": 0.1}
    summary = {(r["model"], r["setting"]): r for r in document["summary"]}
    assert summary["ResiliNet", "no failure"]["mean"] == pytest.approx(0.85)
    assert summary["ResiliNet", "no failure"]["std"] == pytest.approx(np.std([0.9, 0.8], ddof=1))
    assert summary["variable", "normal"]["std"] is None
    assert summary["variable", "no failure"]["mean"] is None
    text = log.text_path.read_text()
    assert "fog=DOWN edge=DOWN  accuracy 0.1000  (no path: random guess)" in text
    assert "average accuracy under normal [0.98, 0.96]: 0.8800" in text
    assert "variable                                 no failure        n/a      n/a  0" in text
    assert not list(tmp_path.glob("*.partial"))


DEFAULTS = {"epochs": 50, "rate": 0.9, "evaluate_saved": False, "data_dir": "", "schemes": (1, 2)}


def test_flags_override_with_the_constants_types():
    config = parse_flags(DEFAULTS, ["--epochs=3", "--rate=0.5", "--evaluate_saved=true", "--data-dir=x",
                                    "--schemes=4,5"])
    assert (config.epochs, config.rate, config.evaluate_saved, config.data_dir, config.schemes) == (
        3, 0.5, True, "x", (4, 5))
    assert parse_flags(DEFAULTS, []).epochs == 50


@pytest.mark.parametrize("argv, message", [
    (["--epoch=3"], "unknown flag --epoch"),
    (["--epochs=three"], "--epochs takes an integer"),
    (["--evaluate_saved=maybe"], "takes true or false"),
    (["epochs=3"], "flags are written --key=value"),
])
def test_bad_flags_raise_clear_errors(argv, message):
    with pytest.raises(UserError, match=message):
        parse_flags(DEFAULTS, argv)


def test_help_prints_defaults_and_exits_zero(capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_flags(DEFAULTS, ["--help"], "Does things.", "Experiment/x.py")
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "usage: python Experiment/x.py" in out and "--epochs" in out and "1,2" in out
