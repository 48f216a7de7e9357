"""Best-weights checkpointing, balanced class weights, the results files and the flags."""
import json
import signal

import keras
import numpy as np
import pytest

from resilinet.base.errors import UserError, ctrl_c_at_safe_points, watch_ctrl_c
from resilinet.cli.parser import parse_flags
from resilinet.core.paper_topologies import CNN
from resilinet.core.splits import Data, Split
from resilinet.runs.results import ResultsLog, RunDescription, RunFiles
from resilinet.runs.training import (
    TrainingPlan,
    balanced_class_weight,
    build_training_variables,
    compile_model,
    train,
)
from resilinet.runs.training_log import kept_epoch, read_log

pytestmark = pytest.mark.backend  # run on every Keras backend (tests/test_backends.py)


def tiny_data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    return Data(Split(x[:48], y[:48]), Split(x[48:], y[48:]), Split(x[48:], y[48:]), num_classes=2)


def tiny_model():
    keras.backend.clear_session()  # the same layer names each time, as every job has
    keras.utils.set_random_seed(1)
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                             keras.layers.Dropout(0.3, seed=3), keras.layers.Dense(2, activation="softmax")])


def test_training_keeps_the_best_validation_epoch_and_logs_every_epoch(tmp_path):
    model = tiny_model()
    kept = {}

    plan = TrainingPlan(epochs=5, batch_size=16, seed=4, state_path=tmp_path / "m.training.npz",
                        log_path=tmp_path / "m.csv", identity={"job": 1}, verbose=0)
    result = train(model, tiny_data(), plan,
                   on_epoch=lambda epoch, epochs, seconds: kept.setdefault(epoch, model.get_weights()))
    rows = read_log(tmp_path / "m.csv")
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4, 5]
    best = max(r["val_accuracy"] for r in rows)
    first_best = next(int(r["epoch"]) for r in rows if r["val_accuracy"] == best)
    assert result.kept_epoch == kept_epoch(rows) == first_best and result.best_value == pytest.approx(best)
    for a, b in zip(model.get_weights(), kept[first_best]):
        np.testing.assert_array_equal(a, b)
    assert all(r["learning_rate"] == pytest.approx(1e-3) and r["seconds"] > 0 for r in rows)
    header = "epoch,loss,accuracy,val_loss,val_accuracy,learning_rate,seconds"
    assert (tmp_path / "m.csv").read_text().splitlines()[0] == header
    assert not list(tmp_path.glob("*partial*"))


class PressesCtrlCWhenTraced(keras.layers.Layer):
    """Presses Ctrl-C the first time it runs once armed: as the backend traces (TensorFlow: builds the graph of) the
    training step."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.armed, self.went_on = False, False

    def call(self, x):
        if self.armed:
            self.armed = False
            signal.raise_signal(signal.SIGINT)
            self.went_on = True
        return x


def test_a_ctrl_c_while_the_backend_traces_is_raised_before_the_next_batch_not_inside_the_trace(tmp_path):
    keras.backend.clear_session()
    keras.utils.set_random_seed(1)
    press = PressesCtrlCWhenTraced()
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), press,
                              keras.layers.Dense(2, activation="softmax")])
    plan = TrainingPlan(epochs=3, batch_size=16, seed=4, state_path=tmp_path / "m.training.npz",
                        log_path=tmp_path / "m.csv", identity={"job": 1}, verbose=0)
    press.armed = True
    with watch_ctrl_c() as ctrl_c, ctrl_c_at_safe_points(), pytest.raises(KeyboardInterrupt) as raised:
        train(model, tiny_data(), plan)
    assert press.went_on and ctrl_c.pressed  # the trace went on past the Ctrl-C
    assert "on_train_batch_begin" in [entry.name for entry in raised.traceback]
    assert read_log(tmp_path / "m.csv") == []  # stopped in the first epoch


def test_fit_creates_no_variable_once_the_training_variables_are_built():
    """TensorFlow traces the training step a second time when variables are created while it traces it the first
    time (Keras creates the compiled metrics' lazily): `build_training_variables` creates them before, at zero."""
    if keras.backend.backend() != "tensorflow":
        pytest.skip("tracing twice is TensorFlow's; JAX and PyTorch build every variable before the first step")
    import tensorflow as tf

    data = tiny_data()

    def variables_created_by_fit(model):
        created = []

        def creator(next_creator, **kwargs):
            created.append(kwargs.get("name"))
            return next_creator(**kwargs)
        with tf.variable_creator_scope(creator):
            model.fit(data.train.x, data.train.y, batch_size=16, epochs=1, verbose=0)
        return created

    lazy = tiny_model()
    compile_model(lazy)
    lazy.optimizer.build(lazy.trainable_variables)
    assert variables_created_by_fit(lazy), "without it the metrics' variables appear while the step is traced"
    built = tiny_model()
    compile_model(built)
    build_training_variables(built)
    assert all(float(np.sum(keras.ops.convert_to_numpy(v))) == 0.0 for v in built.metrics_variables)
    assert variables_created_by_fit(built) == []


def test_training_resumed_from_a_saved_epoch_ends_with_the_uninterrupted_weights(tmp_path):
    plain = tiny_model()
    train(plain, tiny_data(), TrainingPlan(epochs=4, batch_size=16, seed=4, state_path=tmp_path / "plain.npz",
          log_path=tmp_path / "plain.csv", identity={"job": 1}, verbose=0, checkpoint_seconds=0))
    first = tiny_model()
    train(first, tiny_data(), TrainingPlan(epochs=4, batch_size=16, seed=4, state_path=tmp_path / "cut.npz",
          log_path=tmp_path / "cut.csv", identity={"job": 1}, verbose=0, checkpoint_seconds=0))
    # the state saved after epoch 3 (the last epoch saves none): restart there with a fresh model
    resumed = tiny_model()
    result = train(resumed, tiny_data(), TrainingPlan(epochs=4, batch_size=16, seed=4, state_path=tmp_path / "cut.npz",
                   log_path=tmp_path / "cut.csv", identity={"job": 1}, verbose=0, checkpoint_seconds=0))
    assert result.resumed_from == 3
    for a, b in zip(plain.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert [int(r["epoch"]) for r in read_log(tmp_path / "cut.csv")] == [1, 2, 3, 4]


def test_a_foreign_or_damaged_state_is_named_and_training_starts_over(tmp_path):
    state = tmp_path / "m.training.npz"
    train(tiny_model(), tiny_data(), TrainingPlan(epochs=3, batch_size=16, seed=4, state_path=state,
                                                  log_path=tmp_path / "m.csv", identity={"job": 1}, verbose=0,
                                                  checkpoint_seconds=0))
    warnings = []
    result = train(tiny_model(), tiny_data(), TrainingPlan(epochs=3, batch_size=16, seed=4, state_path=state,
                   log_path=tmp_path / "m.csv", identity={"job": 2}, verbose=0), warn=warnings.append)
    assert result.resumed_from == 0 and warnings == [f"{state} is a checkpoint of another model or configuration: "
                                                     "training this model from its start"]
    state.write_bytes(state.read_bytes()[:100])
    warnings.clear()
    result = train(tiny_model(), tiny_data(), TrainingPlan(epochs=3, batch_size=16, seed=4, state_path=state,
                   log_path=tmp_path / "m.csv", identity={"job": 2}, verbose=0), warn=warnings.append)
    assert result.resumed_from == 0 and len(warnings) == 1 and warnings[0].startswith(f"{state} is damaged (")
    assert [int(r["epoch"]) for r in read_log(tmp_path / "m.csv")] == [1, 2, 3]


def test_balanced_class_weight_is_computed_over_labels():
    weights = balanced_class_weight(np.array([0, 0, 0, 1]))
    assert weights == pytest.approx({0: 4 / 6, 1: 2.0})


def test_results_files_hold_records_and_summary(tmp_path):
    settings = {"no failure": (1.0, 1.0), "normal": (0.98, 0.96)}
    run = RunDescription("cnn_test", "", {"epochs": 1}, CNN, settings, "accuracy",
                         variant_order=["ResiliNet", "ResiliNet_variable_failout_normal"])
    log = ResultsLog.create(tmp_path, tmp_path / "models", run)
    assert json.loads(log.json_path.read_text())["records"] == [], "written at the start of the run"
    assert log.files == RunFiles(tmp_path / "models" / "cnn_test" / log.json_path.stem.removeprefix("cnn_test_"),
                                 log.json_path.with_suffix(""))
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
