"""Failure models (independent, shared failure domains, outage traces): probabilities computed by hand for 2- and
3-node networks, draws that follow them, the paper's settings reproducing committed expected scores, the
sampled estimate's interval, `Experiment/report.py --failure_model`, and a one-line error for every bad file."""
import itertools
import json
import math
from fractions import Fraction

import numpy as np
import pytest
from conftest import REPO, expected_difference

from resilinet.core.failure_files import read_failure_model
from resilinet.core.failure_models import (
    Domain,
    Independent,
    Outage,
    OutageTrace,
    SharedDomains,
    expected_score,
    sampled_estimate,
)
from resilinet.core.topology import expected_value
from resilinet.report.failures import under_model
from resilinet.report.pooled import load_runs
from resilinet.runs.results import read_results

CAMERA_RUN = REPO / "reproduction/camera/results/camera_average_accuracy_20261126-175007.json.gz"
RESNET_RUN = REPO / "reproduction/cifar/results/cifar_resnet_average_accuracy_20261202-023536.json.gz"
MODELS = REPO / "reproduction/failure_models"


def all_combinations(n):
    return list(itertools.product((False, True), repeat=n))


def by_combination(model, nodes):
    combinations = all_combinations(len(nodes))
    return dict(zip(combinations, model.probabilities(nodes, combinations)))


# probabilities by hand


def test_two_nodes_sharing_a_domain_by_hand():
    # a survives on its own with 0.9, b with 0.8; the domain {a, b} is down with 0.1
    model = SharedDomains({"a": 0.9, "b": 0.8}, (Domain("feed", ("a", "b"), 0.1),))
    p = by_combination(model, ["a", "b"])
    assert p[True, True] == pytest.approx(0.9 * 0.9 * 0.8)  # feed up, both survive: 0.648
    assert p[True, False] == pytest.approx(0.9 * 0.9 * 0.2)  # 0.162
    assert p[False, True] == pytest.approx(0.9 * 0.1 * 0.8)  # 0.072
    assert p[False, False] == pytest.approx(0.1 + 0.9 * 0.1 * 0.2)  # feed down, or both fail on their own: 0.118
    assert sum(p.values()) == pytest.approx(1.0)


def test_three_nodes_in_two_overlapping_domains_by_hand():
    # D1 = {a, b} down with 0.2, D2 = {b, c} down with 0.1; a survives with 0.9, b always, c with 0.5
    model = SharedDomains({"a": 0.9, "c": 0.5}, (Domain("D1", ("a", "b"), 0.2), Domain("D2", ("b", "c"), 0.1)))
    p = by_combination(model, ["a", "b", "c"])
    assert p[True, True, True] == pytest.approx(0.8 * 0.9 * 0.9 * 0.5)  # both domains up, a and c survive: 0.324
    assert p[True, False, True] == 0.0  # b dies only with a domain, and either one takes a or c with it
    assert p[True, False, False] == pytest.approx(0.8 * 0.1 * 0.9)  # D1 up, D2 down, a survives: 0.072
    # all dead: both down (0.02); D1 only (0.18) with c failing (0.5); D2 only (0.08) with a failing (0.1)
    assert p[False, False, False] == pytest.approx(0.02 + 0.18 * 0.5 + 0.08 * 0.1)
    assert p[False, True, True] == pytest.approx(0.8 * 0.9 * 0.1 * 0.5)  # domains up, a fails, c survives
    assert sum(p.values()) == pytest.approx(1.0)


def test_a_two_node_trace_by_hand():
    # window [0, 100) s: a down [10, 40) and [90, 120) (clipped to 100), b down [30, 50)
    trace = OutageTrace(0.0, 100.0, (Outage("a", 10, 40), Outage("b", 30, 50), Outage("a", 90, 100)))
    p = by_combination(trace, ["a", "b"])
    # none down [0, 10) and [50, 90): 50 s; only a [10, 30) and [90, 100): 30 s; both [30, 40); only b [40, 50)
    assert p == {(True, True): 0.5, (False, True): 0.3, (False, False): 0.1, (True, False): 0.1}


def test_a_three_node_trace_from_a_file_with_iso_times(tmp_path):
    path = tmp_path / "hour.csv"
    path.write_text("node,down_from,down_until\n"
                    "window,2026-01-01T00:00:00,2026-01-01T01:00:00\n"
                    "fog,2026-01-01T00:00:00,2026-01-01T00:15:00\n"
                    "edge,2026-01-01T00:10:00,2026-01-01T00:30:00\n"
                    "cam,2025-12-31T23:00:00,2026-01-01T00:05:00\n")  # starts before the window: clipped
    trace = read_failure_model(path, ["cam", "edge", "fog"])
    p = by_combination(trace, ["cam", "edge", "fog"])
    minutes = {(False, True, False): 5, (True, True, False): 5, (True, False, False): 5, (True, False, True): 15,
               (True, True, True): 30}  # [0,5) cam+fog, [5,10) fog, [10,15) edge+fog, [15,30) edge, then none
    assert {c: v for c, v in p.items() if v} == pytest.approx({c: m / 60 for c, m in minutes.items()})
    segments = trace.segments(["cam", "edge", "fog"])
    assert [(end - start) / 60 for start, end, _ in segments] == [5, 5, 5, 15, 30]


def test_a_file_saved_by_a_spreadsheet_reads_as_the_plain_one(tmp_path):
    """Spreadsheets save "CSV UTF-8" with a byte-order mark and CRLF line ends; some editors put the mark on JSON."""
    trace = "node,down_from,down_until\nwindow,0,100\nfog1,10,40\nedge1,30,50\n"
    (tmp_path / "plain.csv").write_text(trace)
    (tmp_path / "excel.csv").write_bytes(b"\xef\xbb\xbf" + trace.replace("\n", "\r\n").encode())
    (tmp_path / "plain.json").write_text(NODES_JSON)
    (tmp_path / "marked.json").write_bytes(b"\xef\xbb\xbf" + NODES_JSON.encode())
    nodes = ["fog1", "edge1"]
    for plain, saved in [("plain.csv", "excel.csv"), ("plain.json", "marked.json")]:
        assert by_combination(read_failure_model(tmp_path / saved, nodes), nodes) == \
            by_combination(read_failure_model(tmp_path / plain, nodes), nodes)
    assert by_combination(read_failure_model(tmp_path / "excel.csv", nodes), nodes)[False, True] == 0.2


def test_independent_is_the_paper_semantics():
    model = Independent({"fog": 0.85, "edge": 0.8})
    p = by_combination(model, ["fog", "edge"])
    assert p == pytest.approx({(True, True): 0.68, (True, False): 0.17, (False, True): 0.12, (False, False): 0.03})
    assert by_combination(Independent({"fog": 0.85}), ["fog", "edge"])[True, False] == 0.0, "unnamed: never fails"


@pytest.mark.parametrize("model", [
    Independent({"a": 0.7, "b": 0.95, "c": 0.5}),
    SharedDomains({"a": 0.9, "c": 0.5}, (Domain("D1", ("a", "b"), 0.2), Domain("D2", ("b", "c"), 0.1))),
    OutageTrace(0.0, 10.0, (Outage("a", 1, 4), Outage("b", 3, 5), Outage("c", 2, 9))),
], ids=["independent", "domains", "trace"])
def test_draws_follow_the_exact_probabilities(model):
    nodes = ["a", "b", "c"]
    drawn = model.draw(nodes, 200_000, np.random.default_rng(0))
    counts = {c: 0 for c in all_combinations(3)}
    for row in map(tuple, drawn.tolist()):
        counts[row] += 1
    exact = by_combination(model, nodes)
    for combination, probability in exact.items():
        assert counts[combination] / len(drawn) == pytest.approx(probability, abs=0.004), combination


# the committed runs


def test_an_expected_value_is_the_exactly_rounded_sum_of_its_products_in_any_order():
    rng = np.random.default_rng(0)
    probabilities, scores = rng.dirichlet(np.ones(256)), rng.random(256)
    products = [float(p * s) for p, s in zip(probabilities, scores)]
    exact = float(sum(map(Fraction, products)))  # the sum without any rounding, rounded once
    assert expected_value(probabilities, scores) == exact
    order = rng.permutation(256)
    assert expected_value(probabilities[order], scores[order]) == exact


def within_ulps(computed, stored, ulps):
    return len(computed) == len(stored) and all(abs(a - b) <= ulps * math.ulp(b) for a, b in zip(computed, stored))


@pytest.mark.parametrize("path", [CAMERA_RUN, RESNET_RUN], ids=["camera", "cifar_resnet"])
def test_the_papers_settings_as_independent_models_reproduce_the_committed_scores(path):
    document = read_results(path)
    (run,) = load_runs([path])
    for setting, survival in document["reliability_settings"].items():
        model = Independent(dict(zip(document["failable_nodes"], survival)))
        under = under_model(run, path, model)
        for group in run.groups:
            stored = [r["average"][setting] for r in document["records"] if r["group"] == group]
            # These runs summed probability x score with np.dot, whose order of summation is that of the BLAS kernel
            # of the machine that trained them; the report sums exactly rounded, the same bits on every machine.
            assert within_ulps(under.expected[group], stored, 4), (setting, group, under.expected[group], stored)


def test_the_committed_independent_file_is_the_hazardous_setting():
    document = read_results(CAMERA_RUN)
    model = read_failure_model(MODELS / "camera_hazardous.json", document["failable_nodes"])
    assert model == Independent(dict(zip(document["failable_nodes"], document["reliability_settings"]["hazardous"])))


def camera_resilinet_record():
    document = read_results(CAMERA_RUN)
    record = next(r for r in document["records"] if r["variant"] == "ResiliNet")
    nodes = document["failable_nodes"]
    combinations = [tuple(c["alive"][n] for n in nodes) for c in record["combinations"]]
    return nodes, combinations, [c["micro_f1"] for c in record["combinations"]], document


def test_the_sampled_interval_holds_the_exact_value_and_scores_only_drawn_combinations():
    nodes, combinations, scores, document = camera_resilinet_record()
    model = Independent(dict(zip(nodes, document["reliability_settings"]["hazardous"])))
    exact = expected_score(model, nodes, combinations, scores)
    table = dict(zip(combinations, scores))
    held = 0
    for seed in range(5):  # the full count, 20 seeds, is in bench/results
        asked = []

        def score_of(combination, asked=asked):
            asked.append(combination)
            return table[combination]

        estimate = sampled_estimate(model, nodes, score_of, 300, np.random.default_rng(seed))
        assert len(asked) == len(set(asked)) == estimate.evaluated < len(combinations)
        assert estimate.low < estimate.mean < estimate.high
        held += estimate.low <= exact <= estimate.high
    assert held >= 4


# Experiment/report.py --failure_model


def test_the_report_under_a_trace_writes_its_numbers_and_the_score_over_time(tmp_path, report_cli):
    out = tmp_path / "report"
    trace = MODELS / "camera_trace_24h.csv"
    code, stdout, err = report_cli(CAMERA_RUN, f"--failure_model={trace}", f"--out={out}")
    assert code == 0, err
    written = json.loads((out / "camera_average_accuracy_under_camera_trace_24h.json").read_text())
    (run,) = load_runs([CAMERA_RUN])
    model = read_failure_model(trace, run.failable_nodes)
    for group, numbers in written["models"].items():
        records = [r for r in run.records if r["group"] == group]
        expected = []
        for record in records:
            combinations = [tuple(c["alive"][n] for n in run.failable_nodes) for c in record["combinations"]]
            expected.append(expected_score(model, run.failable_nodes, combinations,
                                           [c["micro_f1"] for c in record["combinations"]]))
        assert [r["expected"] for r in numbers["records"]] == pytest.approx(expected, abs=1e-12)
        assert numbers["mean"] == pytest.approx(np.mean(expected)) and numbers["n"] == 10
        assert f"| {group} |" in stdout and f"**{numbers['mean']:.4f} ± {np.std(expected, ddof=1):.4f}**" in stdout
    assert (out / "camera_average_accuracy_under_camera_trace_24h_over_time.png").stat().st_size > 0
    markdown = (out / "camera_average_accuracy.md").read_text()
    assert "## Under the failure model `camera_trace_24h.csv`" in markdown
    steps = markdown.split("What each model adds under `camera_trace_24h.csv`")[1].split("\n\n")[1].splitlines()
    assert steps[0] == "| models | `camera_trace_24h.csv` |"
    for line, (after, before) in zip(steps[2:], [("DFG", "Vanilla"), ("ResiliNet", "DFG")], strict=True):
        by_iteration = {group: {r["iteration"]: r["expected"] for r in written["models"][group]["records"]}
                        for group in (after, before)}
        differences = [by_iteration[after][i] - by_iteration[before][i] for i in range(1, 11)]
        assert line == f"| {after} − {before} | {expected_difference(differences)} |"
    assert "camera_average_accuracy_under_camera_trace_24h_over_time.png" in markdown


def test_a_group_of_one_model_per_setting_has_a_row_per_model_under_a_failure_model(tmp_path, report_cli):
    """Variable failout trains one model per reliability setting. The paper's settings score each under its own
    setting, so they share a row there; a failure model scores all three under the same failures, so each model has
    its row, over its own 5 iterations, beside the one setting it was evaluated under."""
    failout_run = REPO / "reproduction/camera/results/camera_failout_rate_20261126-192026.json.gz"
    feed = MODELS / "camera_fog_power_feed.json"
    code, stdout, err = report_cli(failout_run, f"--failure_model={feed}", f"--out={tmp_path}")
    assert code == 0, err
    (run,) = load_runs([failout_run])
    model = read_failure_model(feed, run.failable_nodes)
    written = json.loads((tmp_path / "camera_failout_rate_under_camera_fog_power_feed.json").read_text())
    for setting in ("normal", "poor", "hazardous"):
        label = f"ResiliNet variable failout, trained for {setting}"
        records = [r for r in run.records if r["variant"] == f"ResiliNet_variable_failout_{setting}"]
        expected = [expected_score(model, run.failable_nodes,
                                   [tuple(c["alive"][n] for n in run.failable_nodes) for c in r["combinations"]],
                                   [c["micro_f1"] for c in r["combinations"]]) for r in records]
        assert len(expected) == 5 and written["models"][label]["n"] == 5
        assert [r["expected"] for r in written["models"][label]["records"]] == pytest.approx(expected, abs=1e-12)
        own = [r["average"][setting] for r in records]
        cells = [f"{np.mean(own):.4f} ± {np.std(own, ddof=1):.4f}" if s == setting else "n/a" for s in run.settings]
        assert (f"| {label} | {' | '.join(cells)} | **{np.mean(expected):.4f} ± {np.std(expected, ddof=1):.4f}** |"
                in stdout.splitlines())
    assert "ResiliNet variable failout" not in written["models"]
    assert written["models"]["ResiliNet failout 0.9"]["n"] == 5


NODES_JSON = '{"kind": "independent", "survival": {"fog1": 0.9}}'


@pytest.mark.parametrize("name, text, message", [
    ("empty.json", "  \n", "the failure model file is empty"),
    ("broken.json", '{"kind": "independent",\n "survival": {', "line 2: not JSON"),
    ("kind.json", '{"kind": "correlated"}', "kind: must be one of independent, shared_domains"),
    ("unknown.json", '{"kind": "independent", "survival": {"fog9": 0.9}}',
     "survival.fog9: fog9 is not a failable node of this network (failable: fog1, fog2"),
    ("above.json", '{"kind": "independent", "survival": {"fog1": 1.5}}',
     "survival.fog1: a probability must be a number in [0, 1], got 1.5"),
    ("nan.json", '{"kind": "independent", "survival": {"fog1": NaN}}',
     "survival.fog1: a probability must be a number in [0, 1], got NaN"),
    ("twice.json", '{"kind": "independent", "survival": {"fog1": 0.9, "fog2": 0.8, "fog1": 0.5}}',
     "fog1: given twice in one object (JSON would keep only the last value)"),
    ("nosurvival.json", '{"kind": "independent"}', "survival: names no node, so none can fail"),
    ("allalive.json", '{"kind": "independent", "survival": {"fog1": 1, "edge1": 1.0}}',
     "no node can fail under this model (every survival is 1): that is the no-failure setting"),
    ("nodown.json", '{"kind": "shared_domains", "domains": {"feed": {"nodes": ["fog1"], "down": 0}}}',
     "no node can fail under this model (every survival is 1 and every domain's down is 0)"),
    ("domain.json", '{"kind": "shared_domains", "domains": {"feed": {"nodes": ["fog1", "cam"], "down": 0.1}}}',
     "domains.feed.nodes: cam is not a failable node"),
    ("negative.json", '{"kind": "shared_domains", "domains": {"feed": {"nodes": ["fog1"], "down": -0.1}}}',
     "domains.feed.down: a probability must be a number in [0, 1], got -0.1"),
    ("header.csv", "node,from,until\n", "line 1: the header must be node,down_from,down_until"),
    ("backwards.csv", "node,down_from,down_until\nwindow,0,100\nfog1,50,20\n",
     "line 3: fog1's interval ends (20) before it starts (50)"),
    ("overlap.csv", "node,down_from,down_until\nwindow,0,100\nfog1,10,30\nedge1,0,5\nfog1,20,40\n",
     "line 5: fog1's outage overlaps its outage on line 3"),
    ("outside.csv", "node,down_from,down_until\nwindow,0,100\nfog1,150,160\n",
     "line 3: fog1's outage lies outside the window (line 2)"),
    ("nodata.csv", "node,down_from,down_until\nwindow,0,100\n", "the window (line 2) has no data"),
    ("nowindow.csv", "node,down_from,down_until\nfog1,0,10\n", "no window row"),
    ("unknown.csv", "node,down_from,down_until\nwindow,0,100\ncamera1,0,10\n",
     "line 3: camera1 is not a failable node"),
    ("time.csv", "node,down_from,down_until\nwindow,0,100\nfog1,noon,10\n",
     "line 3: 'noon' is neither seconds nor an ISO-8601 time"),
    ("mixed.csv", "node,down_from,down_until\nwindow,0,100\nfog1,2026-01-01T00:00:00,10\n",
     "line 3: mixes seconds and ISO-8601 times"),
])
def test_a_bad_failure_model_file_is_one_line_naming_it_and_nothing_is_written(tmp_path, report_cli, name, text,
                                                                                 message):
    path = tmp_path / name
    path.write_text(text)
    out = tmp_path / "report"
    code, stdout, err = report_cli(CAMERA_RUN, f"--failure_model={path}", f"--out={out}")
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert err.strip().startswith(f"Experiment/report.py: error: {path}: ") and message in err, err
    assert not out.exists() and not stdout


def test_draws_need_a_failure_model(report_cli, tmp_path):
    code, _, err = report_cli(CAMERA_RUN, "--draws=100", f"--out={tmp_path / 'report'}")
    assert code == 2 and "--draws needs --failure_model" in err
    code, _, err = report_cli(CAMERA_RUN, f"--failure_model={tmp_path / 'model.json'}", "--draws=1")
    assert code == 2 and "--draws must be 0 (off) or at least 2, got 1" in err
