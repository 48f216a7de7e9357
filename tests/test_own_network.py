"""A network of your own in one file: the example end to end, bounded within exact, and declaration mistakes."""
import dataclasses
import json
import runpy
import sys

import pytest
from conftest import REPO

from resilinet.cli.own_network import main

EXAMPLE = REPO / "examples" / "sensor_field.py"
NETWORK = runpy.run_path(str(EXAMPLE))["NETWORK"]
TINY = ["--epochs=1", "--samples=300", "--verbose=0", "--batch_size=64"]


def run(network, *argv, cwd):
    previous = sys.argv
    try:
        import os
        here = os.getcwd()
        os.chdir(cwd)
        return main(network, list(argv))
    finally:
        os.chdir(here)
        sys.argv = previous


def test_the_example_runs_and_its_bounds_hold_the_exact_scores(tmp_path):
    run(NETWORK, "average_accuracy", *TINY, cwd=tmp_path)
    run(NETWORK, "average_accuracy", *TINY, "--evaluate_saved=true", "--exact_max_nodes=11", "--mass_left=0.05",
        cwd=tmp_path)
    exact_file, bounded_file = sorted((tmp_path / "results").glob("sensor_field_average_accuracy_*.json"))
    exact, bounded = json.loads(exact_file.read_text()), json.loads(bounded_file.read_text())
    assert exact["commands"][0].startswith("python examples/sensor_field.py average_accuracy --epochs=1")
    assert [r["variant"] for r in exact["records"]] == ["Vanilla", "DFG", "ResiliNet"]
    for e, b in zip(exact["records"], bounded["records"], strict=True):
        assert len(e["combinations"]) == 4096 and "bounds" not in e
        assert len(b["combinations"]) < 4096
        for setting, bounds in b["bounds"].items():
            assert bounds["mass_left"] <= 0.05
            assert bounds["low"] - 1e-9 <= e["average"][setting] <= bounds["high"] + 1e-9


@pytest.mark.parametrize("change, message", [
    ({"failable": ("fog1a", "fog9")}, "failable order names unknown node"),
    ({"skips": (("edge1", "cloud"),)}, "skip edge1->cloud must jump over exactly one node"),
    ({"chain": NETWORK.chain + (("cloud", "edge1"),)}, "cycle"),
    ({"reliability_settings": {"normal": (0.9,) * 3}}, "reliability setting 'normal' needs 12 probabilities"),
])
def test_declaration_mistakes_stop_before_training(tmp_path, capsys, change, message):
    with pytest.raises(SystemExit) as exit_info:
        run(dataclasses.replace(NETWORK, **change), "average_accuracy", *TINY, cwd=tmp_path)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "examples/sensor_field.py" in error and message in error
    assert not (tmp_path / "results").exists()


def test_layers_whose_shapes_do_not_meet_are_named(tmp_path, capsys):
    import keras

    layers = dict(NETWORK.layers, edge2=lambda: [keras.layers.Dense(7)])
    with pytest.raises(SystemExit) as exit_info:
        run(dataclasses.replace(NETWORK, layers=layers), "average_accuracy", *TINY, cwd=tmp_path)
    assert exit_info.value.code == 2
    assert "the tensors that meet at fog2a have shapes (32,), (7,)" in capsys.readouterr().err


def test_the_first_argument_names_what_to_run(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run(NETWORK, "train", cwd=tmp_path)
    assert exit_info.value.code == 2
    assert "one of average_accuracy, hyperconnection_weight" in capsys.readouterr().err
