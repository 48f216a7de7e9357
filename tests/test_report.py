"""Experiment/report.py on tiny real health runs: tables recomputed from the JSON, figures, pooling,
refusals of mismatched or broken files."""
import json
import math
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO, expected_difference, run_script, write_mhealth_logs
from scipy import stats

from resilinet.cli.report_script import main

FAST = ["--epochs=1", "--batch_size=256", "--verbose=0", "--verify_checksums=false"]
SETTINGS = ["no failure", "normal", "poor", "hazardous"]
NODES = ["fog1", "fog2", "edge"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, two_iteration_run):
    """Results files of tiny health runs: average_accuracy (2 iterations: the shared run of conftest.py, which the
    tests only read), failout_rate and skiphyperconnection_sensitivity."""
    folder, _ = two_iteration_run
    paths = {"average": next((folder / "results").glob("health_average_accuracy_*.json"))}
    data = f"--data_dir={write_mhealth_logs(tmp_path_factory.mktemp('mhealth'), rows_per_subject=100)}"
    for name, script, flags in [
        ("failout", "health_failout_rate.py", ["--iterations=1", "--failout_survival_rates=0.5"]),
        ("skips", "health_skiphyperconnection_sensitivity.py", ["--iterations=1", "--skip_configurations=000,111"]),
    ]:
        cwd = tmp_path_factory.mktemp(name)
        run_script(script, data, *flags, *FAST, cwd=cwd)
        paths[name] = next((cwd / "results").glob("*.json"))
    return paths


def tables(markdown):
    """Each markdown table of a report as (header, {row label: cells})."""
    found, lines = [], markdown.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("| ") and (i == 0 or not lines[i - 1].startswith("|")):
            header = [c.strip() for c in line.strip("|").split("|")]
            rows = {}
            for row in lines[i + 2:]:
                if not row.startswith("|"):
                    break
                cells = [c.strip() for c in row.strip("|").split("|")]
                rows[cells[0]] = cells[1:]
            found.append((header, rows))
    return found


def expected_cell(values):
    """mean ± std (n; 95% CI) recomputed here with numpy and scipy."""
    values = np.asarray(values, dtype=float)
    if len(values) == 1:
        return f"{values.mean():.4f} ± n/a (n=1; 95% CI n/a)"
    mean, std = values.mean(), values.std(ddof=1)
    half = stats.t.ppf(0.975, len(values) - 1) * std / math.sqrt(len(values))
    return f"{mean:.4f} ± {std:.4f} (n={len(values)}; 95% CI {mean - half:.4f}–{mean + half:.4f})"


def paired(records, after, before, setting, key=lambda record: record["iteration"]):
    """`after` minus `before` under `setting`, per key both models have, in the order of `after`'s records."""
    scores = {g: {key(r): r["average"][setting] for r in records if r["group"] == g} for g in (after, before)}
    return [score - scores[before][k] for k, score in scores[after].items() if k in scores[before]]


def report(tmp_path, *paths, flags=()):
    out = tmp_path / "report"
    main([*map(str, paths), f"--out={out}", *flags])
    return out


def test_average_accuracy_tables_and_figures(tmp_path, runs):
    document = json.loads(runs["average"].read_text())
    out = report(tmp_path, runs["average"])
    text = (out / "health_average_accuracy.md").read_text()
    (summary_header, summary), (step_header, steps), (single_header, single), (dead_header, dead_steps), *_ = (
        tables(text))
    assert summary_header == ["model", *SETTINGS]
    assert list(summary) == ["Vanilla", "DFG", "ResiliNet"]
    records = document["records"]
    for model, cells in summary.items():
        assert cells == [expected_cell([r["average"][s] for r in records if r["group"] == model]) for s in SETTINGS]

    assert step_header == ["models", *SETTINGS]
    assert list(steps) == ["DFG − Vanilla", "ResiliNet − DFG"]
    for row, (after, before) in zip(steps, [("DFG", "Vanilla"), ("ResiliNet", "DFG")]):
        assert steps[row] == [expected_difference(paired(records, after, before, s)) for s in SETTINGS], row

    assert single_header == ["model", "n", "none dead", "fog1 dead", "fog2 dead", "edge dead"]
    for model, cells in single.items():
        assert cells[0] == "2"
        for dead, cell in zip(["none", *NODES], cells[1:]):
            scores, no_path = [], set()
            for record in (r for r in records if r["group"] == model):
                (match,) = [c for c in record["combinations"]
                            if [c["alive"][n] for n in NODES] == [n != dead for n in NODES]]
                scores.append(match["accuracy"])
                no_path.add(match["no_path"])
            expected = f"{np.mean(scores):.4f} ± {np.std(scores, ddof=1):.4f}" + (" †" if True in no_path else "")
            assert cell == expected
    assert dead_header == ["models", *(f"{node} dead" for node in NODES)]
    for row, (after, before) in zip(dead_steps, [("DFG", "Vanilla"), ("ResiliNet", "DFG")], strict=True):
        for dead, cell in zip(NODES, dead_steps[row], strict=True):
            score, alive = {}, [n != dead for n in NODES]  # (group, iteration): the score with `dead` dead
            for record in records:
                (match,) = [c for c in record["combinations"] if [c["alive"][n] for n in NODES] == alive]
                score[record["group"], record["iteration"]] = match["accuracy"]
            assert cell == expected_difference([score[after, i] - score[before, i] for i in (1, 2)]), (row, dead)
    assert single["Vanilla"][2].endswith("†"), "Vanilla has no path to the cloud without fog1"
    assert not single["ResiliNet"][2].endswith("†"), "ResiliNet's skip bypasses fog1"
    assert document["commands"][0] in text and f"| epochs | `{document['config']['epochs']}` |" in text

    pictures = sorted(p.name for p in out.glob("*.png"))
    assert pictures == ["health_average_accuracy_combinations.png", "health_average_accuracy_expected.png",
                        "health_average_accuracy_learning_curves.png"]
    assert all((out / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and (out / p).stat().st_size > 5000 for p in pictures)


def test_failout_and_skip_reports_keep_the_run_order(tmp_path, runs):
    out = report(tmp_path, runs["failout"], runs["skips"])
    (header, failout), *_ = tables((out / "health_failout_rate.md").read_text())
    assert header == ["model", *SETTINGS]
    assert list(failout) == ["ResiliNet failout 0.5", "ResiliNet variable failout"]
    records = json.loads(runs["failout"].read_text())["records"]
    variable = [r for r in records if r["group"] == "ResiliNet variable failout"]
    assert failout["ResiliNet variable failout"] == ["n/a"] + [
        expected_cell([r["average"][s] for r in variable if s in r["average"]]) for s in SETTINGS[1:]]

    (header, skips), *_ = tables((out / "health_skiphyperconnection_sensitivity.md").read_text())
    assert list(skips) == ["ResiliNet skips 000", "ResiliNet skips 111"]
    assert "Individual node failures" not in (out / "health_skiphyperconnection_sensitivity.md").read_text()
    assert "What each model adds" not in (out / "health_failout_rate.md").read_text()
    for name in ("health_failout_rate_survival.png", "health_skiphyperconnection_sensitivity_skips.png",
                 "health_failout_rate_expected.png", "health_skiphyperconnection_sensitivity_combinations.png"):
        assert (out / name).stat().st_size > 5000


def test_two_files_of_one_experiment_pool_their_iterations(tmp_path, runs, report_cli):
    whole = json.loads(runs["average"].read_text())
    parts = []
    for iteration in (1, 2):  # as if each iteration had run on its own machine
        parts.append(tmp_path / f"part{iteration}.json")
        records = [r for r in whole["records"] if r["iteration"] == iteration]
        parts[-1].write_text(json.dumps(dict(whole, records=records)))
    pooled = (report(tmp_path / "pooled", *parts) / "health_average_accuracy.md").read_text()
    alone = (report(tmp_path / "whole", runs["average"]) / "health_average_accuracy.md").read_text()
    assert tables(pooled)[:4] == tables(alone)[:4]
    assert f"`{parts[0]}` (3 records)" in pooled and f"`{parts[1]}` (3 records)" in pooled

    other_seed = tmp_path / "seed7.json"
    whole["config"].update(seed=7, verbose=2)  # flags that do not change results may differ
    other_seed.write_text(json.dumps(whole))
    text = (report(tmp_path / "seeds", runs["average"], other_seed) / "health_average_accuracy.md").read_text()
    (_, summary), _, (_, single), *_ = tables(text)
    doubled = whole["records"] * 2
    for model in ("Vanilla", "DFG", "ResiliNet"):
        assert summary[model] == [expected_cell([r["average"][s] for r in doubled if r["group"] == model])
                                  for s in SETTINGS]
        assert single[model][0] == "4"
    assert "- `seed`: `0`, `7`" in text and "- `verbose`: `0`, `2`" in text

    printed = tmp_path / "printed"
    code, stdout, stderr = report_cli(*parts, "--readme=true", f"--out={printed}")
    assert code == 0, stderr
    assert not printed.exists(), "--readme=true writes nothing"
    (header, rows), = tables(stdout)
    assert header == ["model", *SETTINGS]
    assert rows["DFG"] == [cell.split(" (")[0] for cell in tables(alone)[0][1]["DFG"]]
    assert "over 2 iterations" in stdout and whole["commands"][0] in stdout


def test_differences_pair_the_models_of_one_iteration_of_one_seed(tmp_path, runs):
    """Two seeds' files share iteration numbers; a difference pairs models of the same seed and iteration only, and
    a model missing from an iteration leaves that pair out."""
    whole = json.loads(runs["average"].read_text())
    shifted = json.loads(runs["average"].read_text())
    shifted["config"]["seed"] = 7
    for record in shifted["records"]:
        if record["group"] == "DFG":  # seed 7's DFG scores half as much, its other models the same as seed 0's
            record["average"] = {s: value / 2 for s, value in record["average"].items()}
    shifted["records"] = [r for r in shifted["records"] if (r["group"], r["iteration"]) != ("ResiliNet", 2)]
    other = tmp_path / "seed7.json"
    other.write_text(json.dumps(shifted))
    text = (report(tmp_path, runs["average"], other) / "health_average_accuracy.md").read_text()
    _, (_, steps), *_ = tables(text)

    def seed_and_iteration(seed):
        return lambda record: (seed, record["iteration"])

    for row, (after, before) in zip(steps, [("DFG", "Vanilla"), ("ResiliNet", "DFG")]):
        for setting, cell in zip(SETTINGS, steps[row]):
            differences = (paired(whole["records"], after, before, setting, seed_and_iteration(0))
                           + paired(shifted["records"], after, before, setting, seed_and_iteration(7)))
            assert len(differences) == (4 if after == "DFG" else 3)
            assert cell == expected_difference(differences), (row, setting)
    dfg, vanilla = ([r["average"]["hazardous"] for r in whole["records"] if r["group"] == g]
                    for g in ("DFG", "Vanilla"))
    assert paired(shifted["records"], "DFG", "Vanilla", "hazardous") == [d / 2 - v for d, v in zip(dfg, vanilla)]


def test_a_difference_is_bold_only_when_its_interval_excludes_zero():
    from resilinet.report.pooled import statistics
    from resilinet.report.tables import difference_cell

    assert difference_cell(statistics([0.10, 0.12, 0.11])).startswith("**+0.1100 ± 0.0100 (n=3; 95% CI +0.0852 to")
    assert difference_cell(statistics([-0.10, -0.12, -0.11])).startswith("**-0.1100")
    assert difference_cell(statistics([0.10, -0.08])) == "+0.0100 ± 0.1273 (n=2; 95% CI -1.1336 to +1.1536)"
    assert difference_cell(statistics([0.25])) == "+0.2500 ± n/a (n=1; 95% CI n/a)"
    assert difference_cell(statistics([1e-17, 1e-17])) == "+0.0000 ± 0.0000 (n=2; 95% CI +0.0000 to +0.0000)"
    assert difference_cell(None) == "n/a"


def test_files_of_different_experiments_get_their_own_report(tmp_path, runs):
    out = report(tmp_path, runs["skips"], runs["average"])
    assert sorted(p.name for p in out.glob("*.md")) == ["health_average_accuracy.md",
                                                       "health_skiphyperconnection_sensitivity.md"]


def test_mismatched_configurations_are_refused(tmp_path, runs, report_cli):
    document = json.loads(runs["average"].read_text())
    document["config"].update(epochs=5, batch_size=64, verbose=2)  # verbose does not change results
    other = tmp_path / "other.json"
    other.write_text(json.dumps(document))
    code, stdout, stderr = report_cli(runs["average"], other, f"--out={tmp_path / 'out'}")
    assert code == 2 and not (tmp_path / "out").exists()
    assert stderr.startswith("Experiment/report.py: error: ") and len(stderr.splitlines()) == 1
    assert "batch_size, epochs)" in stderr and str(other) in stderr and "verbose" not in stderr


def test_the_same_run_twice_is_refused(tmp_path, runs, report_cli):
    copy = tmp_path / "copy.json"
    copy.write_text(runs["average"].read_text())
    code, _, stderr = report_cli(runs["average"], copy, f"--out={tmp_path / 'out'}")
    assert code == 2 and str(copy) in stderr and str(runs["average"]) in stderr and "iteration 1" in stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("content, message", [
    (lambda text: text[: len(text) // 2], "is not a readable results file (truncated or not JSON"),
    (lambda text: '{"experiment": "x"}', "is not a results file of these scripts"),
    (lambda text: text.replace('"no_path"', '"blocked"'), "record 1 is malformed"),
])
def test_a_broken_file_ends_with_one_line_naming_it(tmp_path, runs, report_cli, content, message):
    broken = tmp_path / "broken.json"
    broken.write_text(content(runs["failout"].read_text()))
    code, stdout, stderr = report_cli(runs["failout"], broken, f"--out={tmp_path / 'out'}")
    assert code == 2 and stdout == "" and not (tmp_path / "out").exists()
    assert stderr.startswith(f"Experiment/report.py: error: {broken}") and message in stderr
    assert len(stderr.splitlines()) == 1


def test_an_unwritable_out_dir_is_a_user_error(tmp_path, runs, report_cli):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    code, _, stderr = report_cli(runs["skips"], f"--out={blocker}")
    assert code == 2 and stderr.strip() == f"Experiment/report.py: error: --out {blocker} is a file, not a folder"


def test_help_and_no_files(tmp_path, report_cli):
    code, stdout, _ = report_cli("--help")
    assert code == 0 and "--out" in stdout and "--readme" in stdout
    code, _, stderr = report_cli()
    assert code == 2 and "give at least one results file" in stderr
    code, _, stderr = report_cli(tmp_path)
    assert code == 2 and stderr.strip().endswith(f"{tmp_path} is a folder: give the results files in it, e.g. "
                                                 f"{tmp_path / '*.json'}")


def test_the_script_imports_no_keras_and_prints_no_traceback(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    code = ("import runpy, sys; sys.argv = ['Experiment/report.py', sys.argv[1]]\n"
            "try: runpy.run_path('Experiment/report.py', run_name='__main__')\n"
            "finally: print('keras' in sys.modules, 'tensorflow' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code, str(broken)], capture_output=True, text=True, cwd=REPO,
                          env={"PYTHONPATH": str(REPO), "PATH": ""})
    assert done.returncode == 2 and done.stdout.split() == ["False", "False"]
    assert done.stderr.startswith(f"Experiment/report.py: error: {broken} is not a readable results file")
    assert len(done.stderr.splitlines()) == 1


@pytest.mark.parametrize("experiment_type, flags", [
    ("average_accuracy", {}),
    ("average_accuracy", {"resilinet_plus": True}),
    ("hyperconnection_weight", {"weight_schemes": (1, 2, 3, 4, 5), "model_kinds": ("DFG", "ResiliNet")}),
    ("failout_rate", {"failout_survival_rates": (0.95, 0.5)}),
    ("skiphyperconnection_sensitivity", {"skip_configurations": ("1111000", "0000001")}),
])
def test_records_describe_themselves_as_old_files_are_read(experiment_type, flags):
    """A record's `model` fields are what the report reads; files written before records carried
    them get the same fields from their labels (describe_legacy), for every variant."""
    from types import SimpleNamespace

    import camera_common

    from resilinet.report.pooled import describe_legacy
    from resilinet.runs.variants import VARIANTS, describe, model_options

    dataset = camera_common.DATASET
    config = SimpleNamespace(**{**dataset.defaults, "resilinet_plus": False, **flags})
    variants = VARIANTS[experiment_type](dataset, config)
    records = [{"iteration": 1, "variant": v.name, "group": v.group, "average": {s: 0.5 for s in v.settings},
                "combinations": []} for v in variants]
    legacy = {"experiment": f"camera_{experiment_type}", "failable_nodes": list(dataset.topology.failable),
              "reliability_settings": {k: list(r) for k, r in dataset.reliability_settings.items()},
              "config": vars(config), "records": records}
    describe_legacy(legacy)
    assert legacy["experiment_type"] == experiment_type
    assert legacy["skip_order"] == [list(skip) for skip in dataset.topology.skips]
    for variant, record in zip(variants, legacy["records"]):
        assert record["model"] == describe(variant, model_options(dataset, variant, config, 1), config), variant.name
    kinds = {r["model"]["kind"] for r in legacy["records"]}
    assert kinds <= {"Vanilla", "DFG", "ResiliNet", "ResiliNet+"} and kinds
