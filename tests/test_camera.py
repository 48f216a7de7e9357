"""Camera (multi-view): the loader on the real dataset, the 256-combination no-path map, the
multiplexers, and the four scripts end-to-end on a slice of the real data."""
import contextlib
import io
import json
import re
import tarfile
from collections import defaultdict

import cv2
import keras
import numpy as np
import pytest
from conftest import assert_same_weights, extract_members, run_script, shared_archive
from mlp_Vanilla_camera import build_camera_model

from resilinet.base.errors import UserError
from resilinet.core.builder import ModelKind, set_alive
from resilinet.core.kinds import ModelOptions
from resilinet.core.paper_topologies import CAMERA
from resilinet.data import camera
from resilinet.report.pooled import load_runs
from resilinet.report.tables import write_report
from resilinet.runs.training import derived_seed

ARCHIVE = "multiview-dataset.tar.gz"
NAME = re.compile(r"multiview-dataset/(\w+)/(\w+)_images/c(\d)_(\d+)_(\d+)\.jpg$")


def groups_in_archive(path):
    """(split folder, class, k, frame) -> set of cameras, read from the archive's file names."""
    groups = defaultdict(set)
    with tarfile.open(path) as archive:
        for name in archive.getnames():
            match = NAME.match(name)
            if match:
                folder, cls, cam, k, frame = match.groups()
                groups[folder, cls, k, frame].add(int(cam))
    return groups


@pytest.fixture(scope="module")
def full_data(tmp_path_factory):
    root = extract_members(shared_archive(ARCHIVE), tmp_path_factory.mktemp("camera"), lambda name: True)
    return root / "multiview-dataset"


# Complete samples per class kept in each split folder of the slice. The test split (holdout_dir) is small: each
# model predicts it once per failure combination, up to 256 times, and the tests check plumbing, not accuracy.
SLICE_SAMPLES = {"train_dir": 12, "test_dir": 12, "holdout_dir": 4}


@pytest.fixture(scope="module")
def slice_dir(tmp_path_factory):
    """Complete samples only, `SLICE_SAMPLES` per class and split at most, plus one incomplete sample per split."""
    path = shared_archive(ARCHIVE)
    groups = groups_in_archive(path)
    chosen, per_class, incomplete = set(), defaultdict(int), set()
    for key in sorted(groups):
        folder, cls = key[:2]
        if len(groups[key]) == 6 and per_class[folder, cls] < SLICE_SAMPLES[folder]:
            per_class[folder, cls] += 1
            chosen.add(key)
    for folder in ("train_dir", "test_dir", "holdout_dir"):
        key = next(k for k in sorted(groups) if k[0] == folder and k not in chosen)
        incomplete.add(key)

    def keep(name):
        match = NAME.match(name)
        if not match:
            return False
        folder, cls, cam, k, frame = match.groups()
        key = (folder, cls, k, frame)
        return key in chosen or (key in incomplete and cam != "3")

    root = extract_members(path, tmp_path_factory.mktemp("camera_slice"), keep)
    return root / "multiview-dataset"


def test_loader_counts_views_and_labels_on_the_real_dataset(full_data, capsys):
    data = camera.load_camera(str(full_data))
    groups = groups_in_archive(shared_archive(ARCHIVE))
    for split, folder in (("train", "train_dir"), ("val", "test_dir"), ("test", "holdout_dir")):
        complete = sorted(k for k, cams in groups.items() if k[0] == folder and len(cams) == 6)
        loaded = getattr(data, split)
        assert len(loaded.x) == 6 and all(v.shape == (len(complete), 32, 32, 3) for v in loaded.x)
        expected_labels = [camera.CLASSES.index(cls) for _, cls, _, _ in complete]
        assert sorted(loaded.y.tolist()) == sorted(expected_labels)
    assert (len(data.train.y), len(data.val.y), len(data.test.y)) == (1110, 146, 123)
    assert "skipped 5 sample(s) of train_dir" in capsys.readouterr().out
    # view i of a sample is the image of camera c<i>
    first = sorted((k, f) for (folder, cls, k, f), cams in groups.items()
                   if folder == "holdout_dir" and cls == "person" and len(cams) == 6)[0]
    index = 0  # samples are sorted by (label, k, frame); person is label 0
    for cam in range(6):
        image = cv2.cvtColor(cv2.imread(str(full_data / "holdout_dir" / "person_images" /
                                            f"c{cam}_{first[0]}_{first[1]}.jpg")), cv2.COLOR_BGR2RGB)
        np.testing.assert_allclose(data.test.x[cam][index], image / 255.0, atol=1e-6)
    assert data.test.y[index] == 0


def test_loader_reads_the_archive_and_ignores_hidden_files(slice_dir, tmp_path):
    data = camera.load_camera(str(shared_archive(ARCHIVE)), str(tmp_path / "cache"))
    assert (len(data.train.y), len(data.val.y), len(data.test.y)) == (1110, 146, 123)
    hidden = slice_dir / "test_dir" / "bus_images" / ".DS_Store"
    hidden.write_bytes(b"\0")
    try:
        assert len(camera.load_camera(str(slice_dir)).test.y) == 4 + 4 + 1  # holdout_dir has a single bus
    finally:
        hidden.unlink()


def test_loader_errors_name_the_problem(slice_dir, tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        camera.load_camera(str(tmp_path / "missing"))
    with pytest.raises(UserError, match="it is not the multi-view dataset"):
        camera.load_camera(str(tmp_path))
    broken = next((slice_dir / "train_dir" / "car_images").glob("c0_*.jpg"))
    original = broken.read_bytes()
    broken.write_bytes(b"not a jpeg")
    try:
        with pytest.raises(UserError, match=f"{broken.name} is not a readable image"):
            camera.load_camera(str(slice_dir))
    finally:
        broken.write_bytes(original)


def alive(dead):
    return tuple(node not in dead for node in CAMERA.failable)


@pytest.mark.parametrize("dead, skip_mask, has_path", [
    ({"edge1", "edge2", "edge3", "edge4"}, None, False),
    ({"fog1"}, None, True),  # fog2 -> cloud
    ({"fog1"}, "0111111", False),
    ({"fog1", "fog2"}, None, False),
    ({"fog2"}, None, True),  # fog3/fog4 -> fog1
    ({"fog2"}, "1000000", False),
    ({"fog3", "fog4"}, None, True),  # edges -> fog2
    ({"fog3", "fog4"}, "1111000", True),  # edge1 -> fog2 (fourth bit)
    ({"fog3", "fog4"}, "1110000", False),
    ({"fog3", "fog4", "edge1", "edge2", "edge3"}, "0000001", True),  # edge4 -> fog2
    ({"fog4", "edge1"}, "1111000", False),
    ({"edge2", "edge3", "edge4"}, None, True),  # edge1 -> fog3 -> fog2
    (set(), "0000000", True),
])
def test_no_path_spot_checks_by_hand(dead, skip_mask, has_path):
    mask = None if skip_mask is None else tuple(bit == "1" for bit in skip_mask)
    assert CAMERA.has_path(alive(dead), mask) is has_path


def test_vanilla_camera_paths_counted_by_hand():
    paths = [a for a in CAMERA.failure_combinations() if CAMERA.has_path(a, (False,) * 7)]
    # fog1 and fog2 alive, and (fog3 and edge1) or (fog4 and one of edge2..edge4):
    # of the 64 states of fog3, fog4, edge1..edge4: 16 + 28 - 7 = 37
    assert all(a[0] and a[1] for a in paths)
    assert len(paths) == 37


def test_camera_multiplexers_take_the_skips_when_the_node_below_dies():
    model = build_camera_model(ModelKind.RESILINET)
    names = [layer.name for layer in model.layers]
    assert sorted(n for n in names if n.startswith("mux_")) == [
        "mux_fog1_to_cloud", "mux_fog2_to_fog1", "mux_fog3_to_fog2", "mux_fog4_to_fog2"]
    x = [np.random.default_rng(i).random((4, 32, 32, 3)).astype("float32") for i in range(6)]
    probe = keras.Model(model.inputs, [model.get_layer("mux_fog2_to_fog1").output,
                                       model.get_layer("skips_over_fog2_to_fog1").output,
                                       model.get_layer("mux_fog4_to_fog2").output,
                                       model.get_layer("skips_over_fog4_to_fog2").output])
    set_alive(model, CAMERA, alive({"fog2", "fog4"}))
    fog1_input, fog3_plus_fog4, fog2_from_fog4, edges = probe.predict(x, verbose=0)
    np.testing.assert_allclose(fog1_input, fog3_plus_fog4)
    np.testing.assert_allclose(fog2_from_fog4, edges)
    assert np.abs(edges).max() > 0


def test_switched_off_camera_skips_are_absent():
    model = build_camera_model(ModelKind.DFG, ModelOptions(skip_mask=(True,) + (False,) * 6))
    names = [layer.name for layer in model.layers]
    assert "cloud_input" in names and "fog1_input" not in names and "mux_fog1_to_cloud" not in names


FAST = ["--epochs=1", "--batch_size=32", "--verbose=0", "--iterations=1"]


@pytest.fixture(scope="module")
def trained(slice_dir, tmp_path_factory):
    """One camera average_accuracy run (FAST), shared by the tests that only read its weights and scores: its
    folder, its results and what it printed."""
    folder = tmp_path_factory.mktemp("camera_run")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        document = run_script("camera_average_accuracy.py", f"--data_dir={slice_dir}", *FAST, cwd=folder)
    return folder, document, printed.getvalue()


def test_average_accuracy_end_to_end(trained, slice_dir, tmp_path, capsys):
    folder, document, printed = trained
    assert [r["variant"] for r in document["records"]] == ["Vanilla", "DFG", "ResiliNet"]
    assert all(len(r["combinations"]) == 256 for r in document["records"])
    assert document["metric"] == "micro_f1"
    assert sum(not c["no_path"] for c in document["records"][0]["combinations"]) == 37
    assert "skipped 1 sample(s) of holdout_dir" in printed

    # The same weights, bounded: the most probable combinations down to 2% of the probability left.
    bounded = run_script("camera_average_accuracy.py", f"--data_dir={slice_dir}", *FAST, "--evaluate_saved=true",
                         "--exact_max_nodes=7", "--mass_left=0.02", cwd=folder)
    for exact, record in zip(document["records"], bounded["records"], strict=True):
        scores = {tuple(c["alive"].values()): c["micro_f1"] for c in exact["combinations"]}
        evaluated = {tuple(c["alive"].values()): c["micro_f1"] for c in record["combinations"]}
        assert len(evaluated) < 256 and all(evaluated[alive] == scores[alive] for alive in evaluated)
        for setting, reliability in bounded["reliability_settings"].items():
            probability = {alive: np.prod([r if up else 1 - r for up, r in zip(alive, reliability)])
                           for alive in scores}
            low = sum(probability[alive] * evaluated[alive] for alive in evaluated)
            left = 1 - sum(probability[alive] for alive in evaluated)
            bounds = record["bounds"][setting]
            assert left <= 0.02 and bounds["mass_left"] == pytest.approx(left, abs=1e-12)
            assert (bounds["low"], bounds["high"]) == pytest.approx((low, low + left), abs=1e-12)
            assert low <= exact["average"][setting] <= low + left
            assert record["average"][setting] == pytest.approx(low + left / 2, abs=1e-12)
    bounded_file = sorted((folder / "results").glob("camera_average_accuracy_*.json"))[-1]
    assert [r["bounds"] for r in json.loads(bounded_file.read_text())["records"]] == \
        [r["bounds"] for r in bounded["records"]]
    write_report(load_runs([bounded_file]), tmp_path / "report")
    worst = {s: max(r["bounds"][s]["mass_left"] for r in bounded["records"]) for s in bounded["reliability_settings"]}
    assert ("The most probability left unevaluated: " + ", ".join(f"{s} {m:.2g}" for s, m in worst.items())
            in (tmp_path / "report" / "camera_average_accuracy.md").read_text())

    # The same weights, sampled: 300 combinations drawn per setting, each model of the iteration on the same draws.
    capsys.readouterr()
    sampled = run_script("camera_average_accuracy.py", f"--data_dir={slice_dir}", *FAST, "--evaluate_saved=true",
                         "--exact_max_nodes=7", "--draws=300", "--draw_seed=3", cwd=folder)
    nodes = sampled["failable_nodes"]
    drawn = {setting: [tuple(row) for row in np.random.default_rng(derived_seed(3, 1, setting)).random((300, 8))
                       < np.array(reliability)]
             for setting, reliability in sampled["reliability_settings"].items()}
    distinct = {alive for rows in drawn.values() for alive in rows}
    for exact, record in zip(document["records"], sampled["records"], strict=True):
        scores = {tuple(c["alive"].values()): c["micro_f1"] for c in exact["combinations"]}
        evaluated = {tuple(c["alive"][node] for node in nodes): c["micro_f1"] for c in record["combinations"]}
        assert set(evaluated) == distinct and all(evaluated[alive] == scores[alive] for alive in evaluated)
        for setting, rows in drawn.items():
            values = np.array([scores[alive] for alive in rows])
            half = 1.96 * values.std(ddof=1) / np.sqrt(300)
            estimate = record["estimates"][setting]
            assert (estimate["draws"], estimate["evaluated"]) == (300, len(set(rows)))
            assert record["average"][setting] == estimate["mean"] == pytest.approx(values.mean(), abs=1e-12)
            assert (estimate["low"], estimate["high"]) == pytest.approx((values.mean() - half, values.mean() + half))
            assert abs(estimate["mean"] - exact["average"][setting]) <= 3 * max(half, 1e-3)
    assert f"({len(distinct)} of 256 combinations evaluated, 300 drawn per setting)" in capsys.readouterr().out
    sampled_file = sorted((folder / "results").glob("camera_average_accuracy_*.json"))[-1]
    assert "95% interval [" in sampled_file.with_suffix(".txt").read_text()
    write_report(load_runs([sampled_file]), tmp_path / "sampled_report")
    assert "**Sampled:**" in (tmp_path / "sampled_report" / "camera_average_accuracy.md").read_text()


def test_two_workers_on_camera_match_one(trained, slice_dir, tmp_path):
    pytest.importorskip("ray")
    folder, one, _ = trained
    two = run_script("camera_average_accuracy.py", f"--data_dir={slice_dir}", *FAST, "--workers=2", cwd=tmp_path)
    assert [r["variant"] for r in two["records"]] == ["Vanilla", "DFG", "ResiliNet"]
    assert scores_of(two) == scores_of(one) and two["summary"] == one["summary"]
    assert_same_weights(folder, tmp_path, "camera_average_accuracy")


def scores_of(document):
    return {(r["iteration"], r["variant"]): r["combinations"] for r in document["records"]}


def test_hyperconnection_weight_end_to_end(slice_dir, tmp_path):
    document = run_script("camera_hyperconnection_weight.py", f"--data_dir={slice_dir}", "--weight_schemes=4",
                          "--model_kinds=ResiliNet", *FAST, cwd=tmp_path)
    assert [r["variant"] for r in document["records"]] == ["ResiliNet_weight_scheme4"]
    assert len(document["records"][0]["combinations"]) == 256


def test_failout_rate_end_to_end(slice_dir, tmp_path):
    document = run_script("camera_failout_rate.py", f"--data_dir={slice_dir}", "--failout_survival_rates=0.3",
                          *FAST, cwd=tmp_path)
    assert [r["variant"] for r in document["records"]][:2] == ["ResiliNet_failout0.3",
                                                                 "ResiliNet_variable_failout_normal"]
    assert len(document["records"]) == 4


@pytest.mark.backend
def test_skiphyperconnection_sensitivity_end_to_end(slice_dir, tmp_path):
    # Every split in one batch: under JAX (tests/test_backends.py) each batch size is a compilation of its own.
    document = run_script("camera_skiphyperconnection_sensitivity.py", f"--data_dir={slice_dir}",
                          "--skip_configurations=1000001,0000000", "--epochs=1", "--batch_size=64", "--verbose=0",
                          "--iterations=1", cwd=tmp_path)
    records = {r["variant"]: r for r in document["records"]}
    assert set(records) == {"ResiliNet_skips1000001", "ResiliNet_skips0000000"}
    assert sum(not c["no_path"] for c in records["ResiliNet_skips0000000"]["combinations"]) == 37
