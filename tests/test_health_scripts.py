"""The four health scripts end-to-end on generated MHEALTH-format data, tiny epochs and iterations."""
import pytest
from conftest import TWO_ITERATIONS, copy_run, run_script, run_weights, write_mhealth_logs

FAST = ["--epochs=2", "--batch_size=128", "--verbose=0", "--verify_checksums=false"]


@pytest.fixture(scope="module")
def data_flag(tmp_path_factory):
    folder = write_mhealth_logs(tmp_path_factory.mktemp("mhealth"), rows_per_subject=200)
    return f"--data_dir={folder}"


def summary(document):
    return {(row["model"], row["setting"]): row for row in document["summary"]}


def test_average_accuracy_then_reevaluate_saved_models(tmp_path, two_iteration_run, two_iteration_data_flag):
    folder, document = two_iteration_run  # made once in the session (conftest.py), copied here
    copy_run(folder, tmp_path)
    records = document["records"]
    assert [(r["iteration"], r["variant"]) for r in records] == [
        (i, m) for i in (1, 2) for m in ("Vanilla", "DFG", "ResiliNet")]
    assert all(len(r["combinations"]) == 8 and set(r["average"]) == {"no failure", "normal", "poor", "hazardous"}
               for r in records)
    vanilla = records[0]["combinations"]
    assert [c["no_path"] for c in vanilla] == [True] * 7 + [False]
    rows = summary(document)
    assert len(rows) == 12 and all(row["iterations"] == 2 and row["std"] is not None for row in rows.values())
    assert rows["DFG", "no failure"]["mean"] > 0.5, "the generated classes are easy to learn"
    assert rows["DFG", "hazardous"]["mean"] > rows["Vanilla", "hazardous"]["mean"]
    for iteration in (1, 2):
        for model in ("Vanilla", "DFG", "ResiliNet"):
            assert (run_weights(tmp_path, "health_average_accuracy") / f"{model}_iter{iteration}.weights.h5").exists()
    assert len(list((tmp_path / "results").glob("health_average_accuracy_*.txt"))) == 1

    (tmp_path / "results" / "first").mkdir()
    for path in (tmp_path / "results").glob("health_average_accuracy_*"):
        path.rename(tmp_path / "results" / "first" / path.name)
    (first,) = (tmp_path / "results" / "first").glob("*.json")
    again = run_script("health_average_accuracy.py", two_iteration_data_flag, *TWO_ITERATIONS, "--evaluate_saved=true",
                       f"--saved_run={first}", cwd=tmp_path)
    assert again["run"]["weights_dir"] == str(run_weights(tmp_path, "health_average_accuracy").relative_to(tmp_path))
    assert [r["combinations"] for r in again["records"]] == [r["combinations"] for r in records]


def test_hyperconnection_weight(tmp_path, data_flag):
    document = run_script("health_hyperconnection_weight.py", data_flag, "--iterations=1", "--weight_schemes=1,3",
                          "--model_kinds=ResiliNet", *FAST, cwd=tmp_path)
    variants = [r["variant"] for r in document["records"]]
    assert variants == ["ResiliNet_weight_scheme1", "ResiliNet_weight_scheme3_no_failure",
                        "ResiliNet_weight_scheme3_normal", "ResiliNet_weight_scheme3_poor",
                        "ResiliNet_weight_scheme3_hazardous"]
    assert list(document["records"][2]["average"]) == ["normal"]
    rows = summary(document)
    assert all(rows["ResiliNet_weight_scheme3", s]["iterations"] == 1 for s in ("no failure", "hazardous"))


def test_failout_rate_with_variable_failout(tmp_path, data_flag):
    document = run_script("health_failout_rate.py", data_flag, "--iterations=1", "--failout_survival_rates=0.5",
                          *FAST, cwd=tmp_path)
    assert [r["variant"] for r in document["records"]] == [
        "ResiliNet_failout0.5", "ResiliNet_variable_failout_normal", "ResiliNet_variable_failout_poor",
        "ResiliNet_variable_failout_hazardous"]
    rows = summary(document)
    assert rows["ResiliNet variable failout", "no failure"]["mean"] is None
    assert rows["ResiliNet variable failout", "poor"]["mean"] is not None


@pytest.mark.backend
def test_skiphyperconnection_sensitivity(tmp_path, data_flag):
    # Every split in one batch: under JAX (tests/test_backends.py) each batch size is a compilation of its own.
    document = run_script("health_skiphyperconnection_sensitivity.py", data_flag, "--iterations=1",
                          "--skip_configurations=000,100", "--epochs=2", "--batch_size=4096", "--verbose=0",
                          "--verify_checksums=false", cwd=tmp_path)
    none, cloud_only = document["records"]
    assert [c["no_path"] for c in none["combinations"]] == [True] * 7 + [False]
    # fog2->cloud only: a path needs fog2 and edge alive
    assert [c["no_path"] for c in cloud_only["combinations"]] == [True, True, True, False, True, True, True, False]


@pytest.mark.parametrize("flags, message", [
    (["--partition_setting=3"], "--partition_setting must be one of 1, 2, got 3"),
    (["--epochs=0"], "--epochs must be at least 1"),
    (["--bogus=1"], "unknown flag --bogus"),
    (["--skip_configurations=01"], "must be 3 bits"),
    (["--data_dir=/nonexistent/mhealth"], "/nonexistent/mhealth does not exist"),
    (["--evaluate_saved=true"],
     "--saved_run=latest: results holds no results file of health_skiphyperconnection_sensitivity"),
])
def test_bad_input_exits_2_with_a_clear_message(tmp_path, data_flag, capsys, flags, message):
    with pytest.raises(SystemExit) as exit_info:
        run_script("health_skiphyperconnection_sensitivity.py", data_flag, *FAST, *flags, cwd=tmp_path)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("Experiment/health_skiphyperconnection_sensitivity.py: error:")
    assert message in err


def test_scripts_run_as_users_run_them_from_the_repository_root():
    import subprocess
    import sys

    from conftest import REPO

    shown = subprocess.run([sys.executable, "Experiment/health_average_accuracy.py", "--help"], cwd=REPO,
                           capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0, shown.stderr
    assert "usage: python Experiment/health_average_accuracy.py" in shown.stdout
    assert "--partition_setting" in shown.stdout
    refused = subprocess.run([sys.executable, "Experiment/health_average_accuracy.py", "--partition_setting=3"],
                             cwd=REPO, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2
    assert "--partition_setting must be one of 1, 2, got 3" in refused.stderr and "Traceback" not in refused.stderr
