"""Deployment as one Ray actor per node: answers equal the in-process simulation for every failure
combination, real kills lose no request, and a network without a path answers by the no-path rule.

One local Ray instance serves the whole module; each deployed network is started once (every
actor imports Keras, which takes seconds).
"""
import json
import time

import keras
import numpy as np
import pytest

ray = pytest.importorskip("ray")

import mlp_Vanilla_camera  # noqa: E402
import mlp_Vanilla_health  # noqa: E402
from conftest import run_script, write_mhealth_logs  # noqa: E402

from resilinet.cli.report_script import main as report_main  # noqa: E402
from resilinet.core.builder import ModelKind, set_alive  # noqa: E402
from resilinet.core.paper_topologies import CAMERA, HEALTH  # noqa: E402
from resilinet.deployment.network import DeployedNetwork  # noqa: E402
from resilinet.deployment.split import split_model  # noqa: E402
from resilinet.runs.ray_session import start_ray  # noqa: E402

GUESS = ([7], [1.0])  # the no-path rule of these tests always guesses label 7
TIMEOUT_S = 5.0


@pytest.fixture(scope="module")
def ray_instance():
    started = start_ray(num_cpus=2)
    yield
    if started:
        ray.shutdown()


def deploy(model, topology, kind):
    network = DeployedNetwork(topology, split_model(model, topology, None, kind.has_skips), GUESS)
    network.start()
    return network


@pytest.fixture(scope="module")
def health_resilinet(ray_instance):
    keras.utils.set_random_seed(1)
    model = mlp_Vanilla_health.build_health_model(ModelKind.RESILINET)
    network = deploy(model, HEALTH, ModelKind.RESILINET)
    yield model, network
    network.shutdown()


def simulate(model, topology, alive, inputs):
    set_alive(model, topology, alive)
    try:
        return np.argmax(np.asarray(model.predict_on_batch(inputs if len(inputs) > 1 else inputs[0])), axis=-1)
    finally:
        set_alive(model, topology, [True] * len(topology.failable))


def check_every_combination(model, topology, network, inputs, skip_mask=None):
    """Each combination, its dead nodes left out of the request, answers as the gated model. The requests are all
    sent before the first answer is collected (each actor serves them in turn): half the time of one at a time."""
    answers = {}
    combinations = list(topology.failure_combinations())
    requests = [network.submit(i, inputs, TIMEOUT_S, frozenset(n for n, up in zip(topology.failable, alive) if not up))
                for i, alive in enumerate(combinations)]
    for alive, request in zip(combinations, requests):
        answer = network.collect(request)
        assert tuple(answer.alive[n] for n in topology.failable) == alive
        if topology.has_path(alive, skip_mask):
            assert not answer.no_path, topology.describe(alive)
            np.testing.assert_array_equal(answer.labels, simulate(model, topology, alive, inputs),
                                          err_msg=topology.describe(alive))
        else:
            assert answer.no_path and set(answer.labels) == {7}, topology.describe(alive)
        answers[alive] = tuple(answer.labels)
    assert len(set(answers.values())) > 2  # the failures change the answers: the comparison means something


def test_health_every_combination_equals_the_simulation(health_resilinet):
    model, network = health_resilinet
    inputs = [np.random.default_rng(0).normal(0.0, 3.0, size=(16, 23)).astype("float32")]
    check_every_combination(model, HEALTH, network, inputs)


def test_health_kill_while_streaming_loses_no_request_and_a_restart_rejoins(health_resilinet):
    model, network = health_resilinet
    rng = np.random.default_rng(1)
    batches = [[rng.normal(0.0, 3.0, size=(3, 23)).astype("float32")] for _ in range(12)]
    in_flight = [network.submit(i, batches[i], TIMEOUT_S) for i in range(6)]
    network.kill("fog2")
    in_flight += [network.submit(i, batches[i], TIMEOUT_S) for i in range(6, 12)]
    answers = [network.collect(request) for request in in_flight]
    assert [a.index for a in answers] == list(range(12))
    for answer in answers:
        alive = tuple(answer.alive[n] for n in HEALTH.failable)
        np.testing.assert_array_equal(answer.labels, simulate(model, HEALTH, alive, batches[answer.index]))
    for answer in answers[6:]:
        assert answer.alive == {"fog1": True, "fog2": False, "edge": True}
        assert answer.known_dead == {"fog2"} and not answer.died_during
    network.restart("fog2")
    network.admit_ready(wait=True)
    answer = network.collect(network.submit(12, batches[0], TIMEOUT_S))
    assert answer.alive == {"fog1": True, "fog2": True, "edge": True}
    np.testing.assert_array_equal(answer.labels, simulate(model, HEALTH, (True,) * 3, batches[0]))


def test_a_silent_sender_counts_as_zeros_after_the_timeout(health_resilinet):
    model, network = health_resilinet
    spec = network.specs["fog1"]  # senders fog2 (chain) and edge (skip)

    @ray.remote(num_cpus=0.1)
    def silent(width):
        time.sleep(30.0)
        return np.ones((2, width), dtype="float32"), True

    refs = [silent.remote(shape[0]) for shape in spec.input_shapes]
    started = time.perf_counter()
    output_ref, report_ref = network.actors["fog1"].process.options(num_returns=2).remote(0, 2, refs, 0.5)
    (output, reached), report = ray.get([output_ref, report_ref])
    assert time.perf_counter() - started < 20.0
    assert report["received"] == {"fog2": False, "edge": False} and not reached
    zeros = [np.zeros((2, *shape), dtype="float32") for shape in spec.input_shapes]
    np.testing.assert_array_equal(output, np.asarray(spec.build()(zeros, training=False)))
    for ref in refs:
        ray.cancel(ref, force=True)


def test_camera_every_combination_equals_the_simulation(ray_instance):
    keras.utils.set_random_seed(3)
    model = mlp_Vanilla_camera.build_camera_model(ModelKind.RESILINET)
    network = deploy(model, CAMERA, ModelKind.RESILINET)
    rng = np.random.default_rng(3)
    inputs = [rng.random((4, 32, 32, 3), dtype=np.float32) for _ in range(6)]
    try:
        check_every_combination(model, CAMERA, network, inputs)
        network.kill("fog3")
        network.kill("edge2")
        answer = network.collect(network.submit(1, inputs, TIMEOUT_S))
        alive = tuple(n not in ("fog3", "edge2") for n in CAMERA.failable)
        np.testing.assert_array_equal(answer.labels, simulate(model, CAMERA, alive, inputs))
    finally:
        network.shutdown()


@ray.remote(num_cpus=0.05)
class Idle:
    def ready(self) -> bool:
        return True


def test_more_node_actors_than_cpus_start_without_a_warning_of_rays(ray_instance, capfd):
    """A network of 24 nodes on 2 CPUs is deployed by design: Ray's console warning that more workers were started
    than it expects on 2 CPUs (from 16 workers on) would be framework noise in the script's output."""
    actors = [Idle.remote() for _ in range(24)]
    try:
        assert all(ray.get([actor.ready.remote() for actor in actors], timeout=120))
        time.sleep(2)  # the warning reaches the driver's console asynchronously
    finally:
        for actor in actors:
            ray.kill(actor)
    out, err = capfd.readouterr()
    assert "(raylet)" not in out + err, out + err


def test_script_missing_weights_names_the_file_and_the_command(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_script("health_deployment.py", "--model=DFG", "--iteration=2", cwd=tmp_path)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "--saved_run=latest: results holds no results file of health_average_accuracy" in error
    fake_run(tmp_path, {})
    with pytest.raises(SystemExit) as exit_info:
        run_script("health_deployment.py", "--model=DFG", "--iteration=2", cwd=tmp_path)
    error = capsys.readouterr().err
    assert "no weights at models/health_average_accuracy/20200101-000000/DFG_iter2.weights.h5" in error
    assert "python Experiment/health_average_accuracy.py" in error
    assert not list((tmp_path / "results").glob("health_deployment_*"))


def fake_run(folder, config):
    """A results file of health_average_accuracy (no records) whose weights folder is returned."""
    run = folder / "results" / "health_average_accuracy_20200101-000000.json"
    run.parent.mkdir(parents=True, exist_ok=True)
    weights_dir = "models/health_average_accuracy/20200101-000000"
    run.write_text(json.dumps({"experiment": "health_average_accuracy", "metric": "accuracy", "config": config,
                               "failable_nodes": ["fog1", "fog2", "edge"], "reliability_settings": {}, "records": [],
                               "run": {"weights_dir": weights_dir, "training_logs": "results/x"}}))
    (folder / weights_dir).mkdir(parents=True, exist_ok=True)
    return folder / weights_dir


def test_script_takes_the_constants_of_the_weights_and_refuses_a_flag_that_differs(tmp_path, capsys):
    fake_run(tmp_path, {"partition_setting": 2, "epochs": 9})
    with pytest.raises(SystemExit) as exit_info:
        run_script("health_deployment.py", "--model=DFG", "--partition_setting=1", cwd=tmp_path)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert ("--saved_run: the weights of results/health_average_accuracy_20200101-000000.json were made with other "
            "constants (partition_setting: 2 there, 1 here)") in error
    with pytest.raises(SystemExit) as exit_info:  # no flag: the run's 2 is taken (epochs: not the deployment's)
        run_script("health_deployment.py", "--model=DFG", cwd=tmp_path)
    out, error = capsys.readouterr()
    assert exit_info.value.code == 2 and "--model=DFG --iteration=1: no weights at" in error
    assert out.splitlines()[-1] == ("--saved_run: taken from results/health_average_accuracy_20200101-000000.json, "
                                    "as no flag gives them here: partition_setting=2")


def test_script_bad_fail_flag_is_a_user_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_script("health_deployment.py", "--fail=fog9", cwd=tmp_path)
    assert exit_info.value.code == 2
    assert "--fail: fog9 cannot fail; failable nodes: fog1, fog2, edge" in capsys.readouterr().err


def untrained_health_run(folder, kind, seed):
    """Generated MHEALTH logs of 40 rows a subject and a fake run holding untrained `kind` weights: the data flag."""
    data = write_mhealth_logs(folder / "mhealth", rows_per_subject=40)
    keras.utils.set_random_seed(seed)
    weights = fake_run(folder, {}) / f"{kind.file_name}_iter1.weights.h5"
    mlp_Vanilla_health.build_health_model(kind).save_weights(weights)
    return f"--data_dir={data}"


def test_script_vanilla_with_a_dead_middle_node_answers_only_by_the_no_path_rule(ray_instance, tmp_path):
    data = untrained_health_run(tmp_path, ModelKind.VANILLA, 4)
    document = run_script("health_deployment.py", "--model=Vanilla", "--fail=fog2", "--request_size=4",
                          "--timeout_ms=60000", data, "--verify_checksums=false", cwd=tmp_path)
    assert document["requests"] == 10  # 40 test rows (10 % of 400) in requests of 4
    assert document["kills"] == 1
    [combination] = document["combinations"]
    assert combination["alive"] == {"fog1": True, "fog2": False, "edge": True} and combination["no_path"]
    assert combination["no_path_answers"] == 10 and combination["same_predictions"]
    assert document["latency"]["node known dead"]["requests"] == 10
    text = next((tmp_path / "results").glob("health_deployment_*.txt")).read_text()
    assert "fog1=up fog2=DOWN edge=up (no path)" in text
    written = json.loads(next((tmp_path / "results").glob("health_deployment_*.json")).read_text())
    assert written["combinations"] == document["combinations"]


def expecting_other_widths(spec, width):
    """`spec` made into a node whose layers expect `width` features from each sender: the first
    real request makes its own code raise (a shape error), as a bug in a node would."""
    import dataclasses

    arriving = [keras.Input((width,)) for _ in spec.senders]
    merged = arriving[0] if len(arriving) == 1 else keras.layers.Concatenate()(arriving)
    broken = keras.Model(arriving, keras.layers.Dense(4)(merged))
    return dataclasses.replace(spec, input_shapes=tuple((width,) for _ in spec.senders),
                               input_dtypes=("float32",) * len(spec.senders), config=broken.to_json(),
                               weights=tuple(np.asarray(w) for w in broken.get_weights()))


def test_script_stops_with_the_message_of_a_node_whose_own_code_raises(ray_instance, tmp_path, capsys, monkeypatch):
    """Only a dead node counts as failed: an exception of a node's own code is no failure answered with
    zeros, it stops the deployment with that node's message (exit 2)."""
    import resilinet.deployment.split as split

    data = write_mhealth_logs(tmp_path / "mhealth", rows_per_subject=40)
    keras.utils.set_random_seed(4)
    mlp_Vanilla_health.build_health_model(ModelKind.RESILINET).save_weights(
        fake_run(tmp_path, {}) / "ResiliNet_iter1.weights.h5")
    cut = split.split_model
    monkeypatch.setattr(split, "split_model", lambda *args: {**cut(*args), "fog2": expecting_other_widths(
        cut(*args)["fog2"], 5)})
    with pytest.raises(SystemExit) as exit_info:
        run_script("health_deployment.py", "--model=ResiliNet", "--request_size=4", "--timeout_ms=60000",
                   f"--data_dir={data}", "--verify_checksums=false", cwd=tmp_path)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("Experiment/health_deployment.py: error: node fog2: ValueError: ")
    assert error.endswith("(an error of the node's own code, not a node failure: the deployment stops)")
    assert not list((tmp_path / "results").glob("health_deployment_*"))


@pytest.mark.parametrize("placement, message", [
    ("fog1", "--placement: 'fog1' is not node:raynode with node one of iot, edge, fog2, fog1, cloud"),
    ("fog9:machineA", "--placement: 'fog9:machineA' is not node:raynode"),
    ("fog1:machineA,fog1:machineB", "--placement names a node twice"),
])
def test_script_bad_placement_is_a_user_error(tmp_path, capsys, placement, message):
    with pytest.raises(SystemExit) as exit_info:
        run_script("health_deployment.py", f"--placement={placement}", cwd=tmp_path)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_script_placement_on_a_ray_node_that_is_not_there_names_it(ray_instance, tmp_path, capsys):
    data = write_mhealth_logs(tmp_path / "mhealth", rows_per_subject=40)
    mlp_Vanilla_health.build_health_model(ModelKind.RESILINET).save_weights(
        fake_run(tmp_path, {}) / "ResiliNet_iter1.weights.h5")
    with pytest.raises(SystemExit) as exit_info:
        run_script("health_deployment.py", "--placement=fog1:machineZ", f"--data_dir={data}",
                   "--verify_checksums=false", cwd=tmp_path)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "--placement: no Ray node named machineZ (a Ray node is named by a custom resource: ray start " in error
    assert "named Ray nodes: none" in error


def test_a_node_that_cannot_fail_going_down_stops_the_deployment_naming_it(ray_instance):
    from resilinet.base.errors import UserError

    keras.utils.set_random_seed(1)
    model = mlp_Vanilla_health.build_health_model(ModelKind.RESILINET)
    network = DeployedNetwork(HEALTH, split_model(model, HEALTH, None, True), GUESS, placement={"cloud": "machineA"})
    with pytest.raises(UserError, match="node cloud on Ray node machineA went down at request 7, but cloud cannot "
                                        "fail in health's topology"):
        network._lost("cloud", 7)


def test_a_node_slowed_past_the_deadline_answers_as_if_it_were_dead(health_resilinet):
    """fog2 (two hops from the input) is due 3 x 0.5 s after a request is sent and takes 2.5 s: in every failure
    combination the answer is the simulation's with fog2 dead too; under a deadline it meets, nothing changes."""
    model, network = health_resilinet
    inputs = [np.random.default_rng(5).normal(0.0, 3.0, size=(16, 23)).astype("float32")]
    whole = network.collect(network.submit(0, inputs, TIMEOUT_S, deadline_s=0.5))
    assert all(whole.alive.values())
    np.testing.assert_array_equal(whole.labels, simulate(model, HEALTH, (True,) * 3, inputs))
    network.slow_down("fog2", 2.5)
    try:
        for alive in HEALTH.failure_combinations():
            excluded = frozenset(n for n, up in zip(HEALTH.failable, alive) if not up)
            answer = network.collect(network.submit(1, inputs, TIMEOUT_S, excluded, deadline_s=0.5))
            as_if_dead = tuple(up and node != "fog2" for node, up in zip(HEALTH.failable, alive))
            assert tuple(answer.alive[n] for n in HEALTH.failable) == as_if_dead, HEALTH.describe(alive)
            if HEALTH.has_path(as_if_dead):
                assert not answer.no_path
                np.testing.assert_array_equal(answer.labels, simulate(model, HEALTH, as_if_dead, inputs),
                                              err_msg=HEALTH.describe(alive))
            else:
                assert answer.no_path and set(answer.labels) == {7}
    finally:
        network.slow_down("fog2", 0.0)  # returns once fog2 has worked off the slow requests it holds


def test_script_deadlines_record_each_one_and_the_report_draws_them(ray_instance, tmp_path, capsys):
    data = untrained_health_run(tmp_path, ModelKind.RESILINET, 6)
    document = run_script("health_deployment.py", "--slow=fog2:5000", "--deadline_ms=1000,3000", "--in_flight=1",
                          "--request_size=20", data, "--verify_checksums=false", cwd=tmp_path)
    tight, loose = document["deadlines"]
    shown = json.dumps(document["deadlines"], default=str)[:3000]
    assert (tight["deadline_ms"], loose["deadline_ms"]) == (1000.0, 3000.0)
    assert [c["alive"] for c in tight["combinations"]] == [{"fog1": True, "fog2": False, "edge": True}], shown
    assert [c["alive"] for c in loose["combinations"]] == [{"fog1": True, "fog2": True, "edge": True}], shown
    for entry in (tight, loose):
        assert entry["requests"] == 2 and entry["all_same_predictions"], shown  # the test rows in requests of 20
        assert entry["latency"]["all requests"]["requests"] == 2 and entry["latency"]["all requests"]["p99_ms"] > 0
    assert tight["latency"]["node late"]["requests"] == 2 and loose["latency"]["no failure"]["requests"] == 2
    assert loose["latency"]["no failure"]["p50_ms"] > 5000, "fog2's answer, 5 s late, was waited for"
    capsys.readouterr()
    path = next((tmp_path / "results").glob("health_deployment_*.json"))
    report_main([str(path), f"--out={tmp_path / 'report'}"])
    table = (tmp_path / "report" / "health_deployment_deadlines.md").read_text()
    assert f"| ResiliNet | 1000 | 2 | {tight['measured']:.4f} | yes |" in table
    assert (tmp_path / "report" / "health_deployment_deadlines.png").stat().st_size > 0


def test_script_replays_an_outage_trace_in_time_order_and_scores_the_simulation_under_it(ray_instance, tmp_path):
    """Five windows of two requests (37 test rows in requests of 4) at the middles of the trace's five fifths (10, 30,
    50, 70, 90 s): fog2, down from 20 to 60 s, is down in the second and third, killed once and restarted once (one
    request in flight at a time, so none is caught by the kill)."""
    data = untrained_health_run(tmp_path, ModelKind.RESILINET, 7)
    trace = tmp_path / "trace.csv"
    trace.write_text("node,down_from,down_until\nwindow,0,100\nfog2,20,60\n")
    document = run_script("health_deployment.py", f"--failure_model={trace}", "--request_size=4", "--window=2",
                          "--in_flight=1", "--timeout_ms=60000", data, "--verify_checksums=false", cwd=tmp_path)
    by_alive = {tuple(c["alive"].values()): c["requests"] for c in document["combinations"]}
    assert by_alive == {(True, True, True): 6, (True, False, True): 4}
    assert (document["kills"], document["restarts"]) == (1, 1) and document["all_same_predictions"]
    model = document["failure_model"]
    assert model["file"] == str(trace)
    assert model["description"] == "an outage trace over 0.02778 h with 1 outage(s); never failing: fog1, edge"
    text = next((tmp_path / "results").glob("health_deployment_*.txt")).read_text()
    assert f"simulated expected accuracy under {trace} (an outage trace" in text
    assert f"{model['simulated_expected']:.4f}" in text


class Batches(keras.utils.PyDataset):
    """37 samples streamed in batches of 8, as a streamed test split (ImageNet's) gives them."""

    batch_size = 8

    def __len__(self):
        return 5

    def __getitem__(self, index):
        rows = np.arange(37)[index * 8:(index + 1) * 8]
        return rows[:, None].astype(np.float32), rows


@pytest.mark.parametrize("streamed", [False, True], ids=["in_memory", "streamed"])
def test_the_windows_of_a_stream_are_counted_from_the_requests_it_sends(streamed):
    """An outage trace is spread over the stream's windows, so their number must be that of the requests sent."""
    from resilinet.core.splits import Split
    from resilinet.deployment.run import request_batches, requests_in_stream

    test = Split(Batches(), np.arange(37)) if streamed else Split(np.zeros((37, 2), np.float32), np.arange(37))
    for size, count in ((1, 0), (3, 0), (4, 0), (37, 0), (50, 0), (3, 20)):
        assert requests_in_stream(test, size, count) == len(list(request_batches(test, size, count))), (size, count)


def test_a_setting_draws_per_window_as_the_independent_model_of_its_reliabilities():
    """--setting is the independent failure model of the setting: the same draws per window, seed for seed, as
    drawing each window's nodes alive with their reliabilities, one window after the other."""
    from resilinet.core.failure_models import Independent, window_states

    reliability = (0.85, 0.85, 0.8)
    model = Independent(dict(zip(HEALTH.failable, reliability)))
    rng = np.random.default_rng(11)
    one_by_one = np.array([rng.random(3) < np.asarray(reliability) for _ in range(40)])
    np.testing.assert_array_equal(window_states(model, HEALTH.failable, 40, np.random.default_rng(11)), one_by_one)


@pytest.mark.parametrize("flags, message", [
    (["--setting=poor", "--failure_model=x.json"], "--fail, --setting and --failure_model exclude each other"),
    (["--failure_model=missing.json"], "--failure_model=missing.json: no such file"),
])
def test_script_bad_failure_model_flags_are_user_errors(tmp_path, capsys, flags, message):
    fake_run(tmp_path, {})
    with pytest.raises(SystemExit) as exit_info:
        run_script("health_deployment.py", *flags, cwd=tmp_path)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_script_bad_slow_flag_is_a_user_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_script("health_deployment.py", "--slow=cloud:500", cwd=tmp_path)
    assert exit_info.value.code == 2
    assert "--slow: 'cloud:500' is not node:ms with node one of fog1, fog2, edge" in capsys.readouterr().err
