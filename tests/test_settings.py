"""One declaration per setting: a setting added with a role is taken by the scripts, compared on resume, by
--evaluate_saved, by the report's pooling and by a deployment exactly as its role says; nothing else is edited."""
import dataclasses
import itertools
import json
from pathlib import Path

import pytest

from resilinet.base.errors import UserError
from resilinet.base.settings import Check, Role, Setting
from resilinet.cli.deployment_script import main as deployment_main
from resilinet.cli.experiment_script import main as experiment_main
from resilinet.data.health import DATA_VARIABLE
from resilinet.report.pooled import load_runs
from resilinet.runs import settings
from resilinet.runs.driver import checked_saved_run
from resilinet.runs.results import ResultsLog, RunDescription
from resilinet.runs.settings import deployment_defaults, experiment_defaults

EXPERIMENT = "health_average_accuracy"
# Written by hand from the roles' meanings: (taken by experiments, by the deployment; refused by a resume, by
# --evaluate_saved, by the report's pooling, by a deployment) when two runs differ in the setting.
EXPECTED = {
    Role.NETWORK: (True, True, True, True, True, True),
    Role.TRAINING: (True, False, True, True, True, False),
    Role.SEED: (True, True, True, True, False, False),
    Role.EVALUATION: (True, False, True, False, True, False),
    Role.OUTPUT: (True, False, False, False, False, False),
    Role.DEPLOYMENT: (False, True, False, False, False, False),
}


@pytest.fixture
def health(monkeypatch):
    import health_common

    monkeypatch.delenv(DATA_VARIABLE, raising=False)
    return health_common.DATASET


def add_knob(monkeypatch, role: Role) -> None:
    """Declare a new setting `knob` (default 1) with `role`, in a copy of the declarations this test holds."""
    monkeypatch.setitem(settings.SETTINGS, "knob", Setting(int, "a setting added by a test", role, default=1))


def complete_run(folder, dataset, seed: int, knob: int | None) -> str:
    """A results file of a finished one-iteration run of health_average_accuracy (no training: made-up scores)."""
    config = {**experiment_defaults(), **dataset.defaults, "iterations": 1, "seed": seed,
              "results_dir": str(folder / "results"), "models_dir": str(folder / "models")}
    config.pop("knob", None)
    if knob is not None:
        config["knob"] = knob
    nodes = list(dataset.topology.failable)
    combinations = [{"alive": dict(zip(nodes, alive)), "no_path": False, dataset.metric: 0.5}
                    for alive in itertools.product((True, False), repeat=len(nodes))]
    variants = ("Vanilla", "DFG", "ResiliNet")
    run = RunDescription(EXPERIMENT, "average_accuracy", config, dataset.topology, dataset.reliability_settings,
                         dataset.metric, variants)
    log = ResultsLog.create(folder / "results", folder / "models", run)
    for variant in variants:
        log.add({"iteration": 1, "variant": variant, "group": variant, "combinations": combinations,
                 "average": {s: 0.5 for s in dataset.reliability_settings},
                 "model": {"kind": variant, "survival_rates": None, "variable_failout": False, "skips": None,
                           "weight_scheme": 1, "setting": None}})
    return str(log.json_path)


def refused(call) -> str:
    """The one-line error `call` stops with ('' if it does not stop with one)."""
    try:
        call()
    except UserError as error:
        return str(error)
    return ""


@pytest.mark.parametrize("role", list(Role))
def test_a_new_setting_is_taken_and_compared_as_its_role_says(role, health, monkeypatch, tmp_path, capsys):
    in_experiments, in_deployment, on_resume, on_evaluate_saved, on_pool, on_deploy = EXPECTED[role]
    add_knob(monkeypatch, role)
    assert ("knob" in experiment_defaults()) is in_experiments
    assert ("knob" in deployment_defaults(health)) is in_deployment

    logged = complete_run(tmp_path / "a", health, seed=0, knob=1 if in_experiments else None)
    here = {**json.loads(open(logged).read())["config"], "knob": 2}
    for check, expected in ((Check.EVALUATE_SAVED, on_evaluate_saved), (Check.DEPLOY, on_deploy)):
        message = refused(lambda c=check: checked_saved_run(logged, tmp_path, EXPERIMENT, here, c))
        assert ("knob: 1 there, 2 here" in message) is (expected and in_experiments), (check, message)

    if in_experiments:  # the experiment script resumes the run with --knob=2, or refuses naming the setting
        resume = [f"--resume={logged}", "--knob=2", "--iterations=1", f"--results_dir={tmp_path / 'a' / 'results'}",
                  f"--models_dir={tmp_path / 'a' / 'models'}"]
        if on_resume:
            with pytest.raises(SystemExit) as stop:
                experiment_main(health, "average_accuracy", resume)
            assert stop.value.code == 2 and "knob: logged 1, given 2" in capsys.readouterr().err
        else:
            experiment_main(health, "average_accuracy", resume)
            assert "nothing to do" in capsys.readouterr().out
    else:
        with pytest.raises(SystemExit) as stop:
            experiment_main(health, "average_accuracy", ["--knob=2"])
        assert stop.value.code == 2 and "unknown flag --knob" in capsys.readouterr().err

    other = complete_run(tmp_path / "b", health, seed=1, knob=2 if in_experiments else None)
    message = refused(lambda: load_runs([Path(logged), Path(other)]))
    assert ("knob" in message) is (on_pool and in_experiments), message

    with pytest.raises(SystemExit) as stop:
        deployment_main(health, [f"--saved_run={logged}", "--knob=2", f"--results_dir={tmp_path / 'deployed'}"])
    error = capsys.readouterr().err
    assert stop.value.code == 2
    if not in_deployment:
        assert "unknown flag --knob" in error
    elif on_deploy:
        assert "knob: 1 there, 2 here" in error
    else:  # taken and not compared: the deployment goes on to look for the weights this made-up run never saved
        assert "no weights at" in error


@pytest.mark.parametrize("role", list(Role))
def test_a_run_using_another_takes_its_logged_value_where_no_flag_gives_one(role, health, monkeypatch, tmp_path,
                                                                             capsys):
    in_experiments, in_deployment, on_resume, on_evaluate_saved, _, on_deploy = EXPECTED[role]
    add_knob(monkeypatch, role)
    logged = complete_run(tmp_path, health, seed=0, knob=1 if in_experiments else None)  # iterations=1
    monkeypatch.setitem(settings.SETTINGS, "knob", dataclasses.replace(settings.SETTINGS["knob"], default=2))
    folders = [f"--results_dir={tmp_path / 'results'}", f"--models_dir={tmp_path / 'models'}"]

    def taken(out: str) -> str:
        lines = [line for line in out.splitlines() if "as no flag gives them here: " in line]
        return lines[0].split(": ")[-1] if lines else ""

    if in_experiments:  # no --knob, no --iterations (the script's is 10): the run goes on as it was logged
        experiment_main(health, "average_accuracy", [f"--resume={logged}", *folders])
        out = capsys.readouterr().out
        assert "nothing to do" in out
        assert taken(out) == ("knob=1, iterations=1" if on_resume else "iterations=1")
        with pytest.raises(SystemExit) as stop:  # this made-up run saved no weights
            experiment_main(health, "average_accuracy", ["--evaluate_saved=true", f"--saved_run={logged}", *folders])
        out, err = capsys.readouterr()
        assert stop.value.code == 2 and "Vanilla_iter1.weights.h5" in err, err
        assert taken(out) == ("knob=1, iterations=1" if on_evaluate_saved else "iterations=1")
    if in_deployment:
        with pytest.raises(SystemExit) as stop:
            deployment_main(health, [f"--saved_run={logged}", f"--results_dir={tmp_path / 'deployed'}"])
        out, err = capsys.readouterr()
        assert stop.value.code == 2 and "no weights at" in err, err
        assert taken(out) == ("knob=1" if on_deploy and in_experiments else "")


def test_a_file_written_before_a_setting_existed_reads_as_its_absent_value(health, monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(settings.SETTINGS, "knob", Setting(int, "a later setting", Role.NETWORK, default=1,
                                                           absent_means=1))
    logged = complete_run(tmp_path, health, seed=0, knob=None)
    flags = [f"--resume={logged}", "--iterations=1", f"--results_dir={tmp_path / 'results'}",
             f"--models_dir={tmp_path / 'models'}"]
    experiment_main(health, "average_accuracy", flags)  # knob=1 is what the old run did
    assert "nothing to do" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        experiment_main(health, "average_accuracy", [*flags, "--knob=2"])
    assert "knob: logged None, given 2" in capsys.readouterr().err


def test_every_setting_is_declared_with_a_default_of_its_type():
    for key, setting in itertools.chain(settings.SETTINGS.items(),
                                        *(table.items() for table in settings.DATASET_SETTINGS.values())):
        assert setting.meaning, key
        if setting.default is not settings.REQUIRED:
            assert setting.has_type_of(setting.default), key
        if setting.absent_means is not None:
            assert setting.has_type_of(setting.absent_means), key


def test_every_dataset_default_has_its_declared_type():
    import camera_common
    import cifar_common
    import health_common
    import imagenet_common

    for dataset in (health_common.DATASET, camera_common.DATASET, cifar_common.CIFAR_MOBILENET,
                    cifar_common.CIFAR_RESNET, imagenet_common.DATASET):
        for key, setting in settings.settings_of(dataset, dataset.defaults).items():
            assert setting.has_type_of(dataset.defaults[key]), (dataset.name, key)


def test_the_configuration_is_typed_and_frozen(health):
    import dataclasses

    from resilinet.cli.parser import parse_flags

    defaults = {**experiment_defaults(), **health.defaults}
    config = parse_flags(defaults, ["--epochs=3"], specs=settings.settings_of(health, defaults))
    fields = {field.name: field.type for field in dataclasses.fields(config)}
    assert fields["epochs"] is int and fields["mass_left"] is float and fields["verify_checksums"] is bool
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.epochs = 4
    with pytest.raises(AttributeError):
        config.alpha  # noqa: B018  (health has no MobileNet width: no silent default)
