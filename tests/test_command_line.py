"""The command line: --help explains every flag, and bad flags stop at once, before Keras loads."""
from __future__ import annotations

import dataclasses
import os
import runpy
import subprocess
import sys

import pytest
from conftest import EXPERIMENT_DIR, REPO

from resilinet.base.errors import UserError
from resilinet.base.settings import Range, Role, Setting
from resilinet.cli.experiment_script import main
from resilinet.cli.parser import parse_flags
from resilinet.runs.settings import SETTINGS as FLAGS
from resilinet.runs.settings import settings_of

DATASETS = ("health", "cifar_mobilenet", "cifar_resnet", "camera", "imagenet")
SCRIPTS = sorted(p.name for p in EXPERIMENT_DIR.glob("*.py") if p.name.startswith(DATASETS) and "_common" not in p.name)
HEAVY_MODULES = {"keras", "tensorflow", "jax", "torch", "sklearn"}


def run_from_repository_root(script: str, *flags: str) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run `python -X importtime Experiment/<script> flags` as a user would; return the finished
    process (stderr without the import-time lines) and the top-level packages it imported."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-X", "importtime", f"Experiment/{script}", *flags], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    lines = done.stderr.splitlines()
    imported = {line.rsplit("|", 1)[1].strip().split(".")[0] for line in lines if line.startswith("import time:")}
    imported.discard("package")  # the header line
    done.stderr = "".join(line + "\n" for line in lines if not line.startswith("import time:"))
    return done, imported


@pytest.mark.parametrize("script, flag, message", [
    ("health_average_accuracy.py", "--verbose=7", "--verbose must be one of 0, 1, 2, got 7"),
    ("cifar_mobilenet_hyperconnection_weight.py", "--alpha=nan", "--alpha takes a finite number, got 'nan'"),
    ("cifar_resnet_failout_rate.py", "--partition_setting=3", "--partition_setting must be one of 1, 2, got 3"),
    ("camera_skiphyperconnection_sensitivity.py", "--skip_configurations=0101", "must be 7 bits of 0/1"),
    ("imagenet_average_accuracy.py", "--epochs=1.5", "--epochs takes an integer, got '1.5'"),
])
def test_help_and_a_bad_flag_answer_before_keras_loads(script, flag, message):
    shown, imported = run_from_repository_root(script, "--help")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith(f"usage: python Experiment/{script}")
    assert "Traceback" not in shown.stderr
    assert not imported & HEAVY_MODULES, f"--help imported {sorted(imported & HEAVY_MODULES)}"

    refused, imported = run_from_repository_root(script, flag)
    assert refused.returncode == 2
    assert refused.stderr.startswith(f"Experiment/{script}: error: ") and message in refused.stderr
    assert len(refused.stderr.splitlines()) == 1 and refused.stdout == ""
    assert not imported & HEAVY_MODULES, f"the error came after importing {sorted(imported & HEAVY_MODULES)}"


def help_text(script: str, capsys) -> str:
    argv = sys.argv
    sys.argv = [str(EXPERIMENT_DIR / script), "--help"]
    try:
        with pytest.raises(SystemExit) as exit_info:
            runpy.run_path(str(EXPERIMENT_DIR / script), run_name="__main__")
    finally:
        sys.argv = argv
    assert exit_info.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_gives_every_flag_a_meaning(script, capsys):
    flag_lines = [line for line in help_text(script, capsys).splitlines() if line.startswith("  --")]
    assert len(flag_lines) >= 12
    for line in flag_lines:
        name, _, meaning = line.strip().partition(" ")
        assert meaning.strip(), f"{script}: {name} has no meaning in resilinet/flag_table.py"


@pytest.mark.parametrize("script, expected", [
    ("health_average_accuracy.py", ["$RESILINET_HEALTH_DATA", "one of: rows, subjects", "one of: 1, 2",
                                    "one of: auto, on, off", "one of: 0, 1, 2", "in (0, 1]"]),
    ("cifar_mobilenet_failout_rate.py", ["$RESILINET_CIFAR_DATA", "greater than 0"]),
    ("camera_hyperconnection_weight.py", ["$RESILINET_CAMERA_DATA", "one of: DFG, ResiliNet, ResiliNet+",
                                          "one of: 1, 2, 3, 4, 5"]),
    ("imagenet_skiphyperconnection_sensitivity.py", ["$RESILINET_IMAGENET_TRAIN", "$RESILINET_IMAGENET_VAL",
                                                     "in the order edge->cloud, iot->fog", "at least 32"]),
])
def test_help_shows_allowed_values_and_environment_variables(script, expected, capsys):
    text = help_text(script, capsys)
    for part in expected:
        assert part in text, part


def test_a_flag_has_one_meaning_whatever_the_script(capsys):
    """The table is the one source: the same flag reads the same in scripts of different datasets."""
    lines = {}
    for script in ("health_average_accuracy.py", "camera_average_accuracy.py"):
        for line in help_text(script, capsys).splitlines():
            if line.startswith("  --epochs="):
                lines[script] = line.split(None, 1)[1]
    assert lines["health_average_accuracy.py"] == lines["camera_average_accuracy.py"]
    assert lines["health_average_accuracy.py"].startswith(FLAGS["epochs"].meaning)


DEFAULTS = {"epochs": 5, "rate": 0.5, "augment": True, "name": "rows", "rates": (0.9, 0.5), "schemes": (1, 2)}
SPECS = {"epochs": Setting(int, "", Role.TRAINING, range=Range(1)),
         "rate": Setting(float, "", Role.NETWORK, range=Range(0, 1, low_open=True)),
         "name": Setting(str, "", Role.NETWORK, choices=("rows", "subjects")),
         "rates": Setting(float, "", Role.TRAINING, is_list=True, range=Range(0, 1, low_open=True)),
         "schemes": Setting(int, "", Role.TRAINING, is_list=True, choices=(1, 2, 3))}


@pytest.mark.parametrize("flag, message", [
    ("--epochs=1.5", "--epochs takes an integer, got '1.5'"),
    ("--epochs=0", "--epochs must be at least 1, got 0"),
    ("--rate=x", "--rate takes a finite number, got 'x'"),
    ("--rate=nan", "--rate takes a finite number, got 'nan'"),
    ("--rate=inf", "--rate takes a finite number, got 'inf'"),
    ("--rate=-Infinity", "--rate takes a finite number, got '-Infinity'"),
    ("--rate=0", "--rate must be in (0, 1], got 0.0"),
    ("--augment=maybe", "--augment takes true or false, got 'maybe'"),
    ("--name=days", "--name must be one of rows, subjects, got 'days'"),
    ("--rates=0.9,nan", "--rates takes finite numbers separated by commas, got '0.9,nan'"),
    ("--rates=0.9,1.5", "each value of --rates must be in (0, 1], got 1.5"),
    ("--schemes=1,x", "--schemes takes integers separated by commas, got '1,x'"),
    ("--schemes=", "--schemes takes integers separated by commas, got ''"),
    ("--schemes=1,7", "each value of --schemes must be one of 1, 2, 3, got 7"),
    ("--rates=0.9,0.5,0.90", "--rates gives 0.9 twice: give each value once"),
    ("--schemes=2,2", "--schemes gives 2 twice: give each value once"),
])
def test_bad_values_name_the_flag_and_what_it_takes(flag, message):
    with pytest.raises(UserError) as error:
        parse_flags(DEFAULTS, [flag], specs=SPECS)
    assert str(error.value) == message


def test_good_values_pass_and_unchecked_defaults_are_left_to_their_owners():
    config = parse_flags(DEFAULTS, ["--rate=1", "--rates=0.7, 0.3", "--schemes=3", "--augment=off"], specs=SPECS)
    assert (config.rate, config.rates, config.schemes, config.augment) == (1.0, (0.7, 0.3), (3,), False)
    assert parse_flags({**DEFAULTS, "epochs": 0}, [], specs=SPECS).epochs == 0


def test_an_edited_constant_is_named_with_its_file_before_keras_loads(capsys):
    """A wrong PARTITION_SETING in the model file is not a flag: the message names the constant."""
    from health_common import DATASET

    edited = dataclasses.replace(DATASET, defaults={**DATASET.defaults, "partition_setting": 3})
    with pytest.raises(SystemExit) as exit_info:
        main(edited, "average_accuracy", argv=[])
    assert exit_info.value.code == 2
    assert "PARTITION_SETING = 3 (Experiment/mlp_Vanilla_health.py or --partition_setting)" in capsys.readouterr().err


@pytest.mark.parametrize("experiment_type, edit, message", [
    ("average_accuracy", {"epochs": 0}, "EPOCHS = 0 (Experiment/health_common.py or --epochs): --epochs must be at "
     "least 1, got 0"),
    ("average_accuracy", {"no_path_guess": "sample"}, "NO_PATH_GUESS = 'sample' (Experiment/health_common.py or "
     "--no_path_guess): --no_path_guess must be one of expected, draw, got 'sample'"),
    ("failout_rate", {"failout_survival_rates": (0.9, 1.5)}, "FAILOUT_SURVIVAL_RATES = (0.9, 1.5) "
     "(Experiment/health_failout_rate.py or --failout_survival_rates): each value of --failout_survival_rates must "
     "be in (0, 1], got 1.5"),
    ("failout_rate", {"failout_survival_rates": (0.9, 0.5, 0.9)}, "FAILOUT_SURVIVAL_RATES = (0.9, 0.5, 0.9) "
     "(Experiment/health_failout_rate.py or --failout_survival_rates): --failout_survival_rates gives 0.9 twice: "
     "give each value once"),
])
def test_a_constant_set_in_a_file_is_checked_like_its_flag(experiment_type, edit, message, capsys):
    from health_common import DATASET

    defaults, script = {**DATASET.defaults}, {}
    for key, value in edit.items():
        (script if experiment_type == "failout_rate" else defaults)[key] = value
    with pytest.raises(SystemExit) as exit_info:
        main(dataclasses.replace(DATASET, defaults=defaults), experiment_type, argv=[], script_defaults=script)
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip().endswith(message)


def test_specs_of_a_dataset_add_its_choices_and_environment_variables():
    from imagenet_common import DATASET

    specs = settings_of(DATASET, DATASET.defaults)
    assert specs["train_dir"].environment == "RESILINET_IMAGENET_TRAIN"
    assert specs["partition_setting"].choices == (1, 2)
    assert specs["read_workers"].meaning == "threads reading images in parallel"


def test_an_environment_variable_replaces_the_default_and_is_checked_like_its_flag(monkeypatch):
    specs = {"data_dir": Setting(str, "", Role.NETWORK, environment="RESILINET_TEST_DATA"),
             "epochs": Setting(int, "", Role.TRAINING, range=Range(1), environment="RESILINET_TEST_EPOCHS")}
    defaults = {"data_dir": "", "epochs": 5}
    monkeypatch.delenv("RESILINET_TEST_DATA", raising=False)
    monkeypatch.setenv("RESILINET_TEST_EPOCHS", "")
    assert vars(parse_flags(defaults, [], specs=specs)) == {"data_dir": "", "epochs": 5}  # unset or empty: default
    monkeypatch.setenv("RESILINET_TEST_DATA", "/data/x")
    monkeypatch.setenv("RESILINET_TEST_EPOCHS", "7")
    assert vars(parse_flags(defaults, [], specs=specs)) == {"data_dir": "/data/x", "epochs": 7}
    assert parse_flags(defaults, ["--data_dir=/given"], specs=specs).data_dir == "/given"  # the flag wins
    monkeypatch.setenv("RESILINET_TEST_EPOCHS", "0")
    expected = r"^\$RESILINET_TEST_EPOCHS='0' \(it sets --epochs\): --epochs must be at least 1"
    with pytest.raises(UserError, match=expected):
        parse_flags(defaults, [], specs=specs)


def test_a_script_reads_its_data_folder_from_the_environment_at_run_time(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("RESILINET_CAMERA_DATA", str(tmp_path / "nowhere"))
    monkeypatch.setattr(sys, "argv", [str(EXPERIMENT_DIR / "camera_average_accuracy.py")])
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(EXPERIMENT_DIR / "camera_average_accuracy.py"), run_name="__main__")
    assert exit_info.value.code == 2
    assert f"camera data '{tmp_path / 'nowhere'}' does not exist" in capsys.readouterr().err
