"""CIFAR-10: the loader (real JPEGs from ../shared/data, and malformed sources) on a 600-image slice of the real
data, and the eight experiment scripts end-to-end on a 60-image slice of it."""
import shutil
import tarfile
from pathlib import Path, PurePosixPath

import cv2
import keras
import numpy as np
import pytest
from conftest import extract_members, run_script, run_weights, shared_archive
from sklearn.model_selection import train_test_split

from resilinet.base.errors import UserError
from resilinet.cli.parser import parse_flags
from resilinet.data import cifar
from resilinet.runs.settings import settings_of

IMAGES_PER_CLASS_AND_SPLIT = 30  # 600 images: 300 from train/, 300 from test/
# The scripts' end-to-end runs check what they write, not accuracy: 60 images (48 to train, 6 to validate, 6 to test).
# Training ResNet-18 costs in proportion to the images beyond a fixed cost per model (building and tracing it).
SCRIPT_IMAGES_PER_CLASS_AND_SPLIT = 3
SETTINGS = ("no failure", "normal", "poor", "hazardous")
NO_PATH_WITHOUT_SKIPS = [True, True, True, False]  # combinations (fog, edge): all dead .. all alive
NO_PATH_WITH_BOTH_SKIPS = [True, False, False, False]


@pytest.fixture(scope="module")
def cifar_slice(tmp_path_factory) -> Path:
    """The first 30 images of every class in train/ and test/, extracted from the shared archive."""
    archive = shared_archive("cifar10-jpg.tar.gz")
    destination = tmp_path_factory.mktemp("cifar_slice")
    extract_members(archive, destination, lambda name: int(PurePosixPath(name).stem) < IMAGES_PER_CLASS_AND_SPLIT)
    return destination / "cifar10-jpg"


@pytest.fixture(scope="module")
def script_slice(cifar_slice, tmp_path_factory) -> Path:
    """The first SCRIPT_IMAGES_PER_CLASS_AND_SPLIT images of every class in train/ and test/ of `cifar_slice`."""
    destination = tmp_path_factory.mktemp("script_slice") / "cifar10-jpg"
    for image in cifar_slice.glob("*/*/*.jpg"):
        if int(image.stem) < SCRIPT_IMAGES_PER_CLASS_AND_SPLIT:
            target = destination / image.relative_to(cifar_slice)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(image, target)
    return destination


def write_tree(root: Path, classes=cifar.CLASS_NAMES, splits=cifar.SOURCE_SPLITS, size=32, per_class=2) -> Path:
    rng = np.random.default_rng(0)
    for split in splits:
        for class_name in classes:
            folder = root / split / class_name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                cv2.imwrite(str(folder / f"{i:04d}.png"), rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8))
    return root


# ---- loader ----

def test_loader_reads_the_real_jpegs_in_rgb(cifar_slice):
    x, y = cifar.load_cifar10(str(cifar_slice))
    assert x.shape == (600, 32, 32, 3) and x.dtype == np.uint8
    assert np.bincount(y).tolist() == [60] * 10
    assert y[:30].tolist() == [0] * 30 and y[300:330].tolist() == [0] * 30  # train/ first, then test/
    bgr = cv2.imread(str(cifar_slice / "train" / "airplane" / "0000.jpg"))
    np.testing.assert_array_equal(x[0], bgr[..., ::-1])
    np.testing.assert_array_equal(cifar.load_cifar10(str(cifar_slice.parent))[0], x)  # the folder above works too


def test_split_is_80_10_10_scaled_and_deterministic(cifar_slice):
    data = cifar.load_data(str(cifar_slice))
    assert (len(data.train.y), len(data.val.y), len(data.test.y)) == (480, 60, 60)
    assert data.train.x.dtype == np.float32 and 0.0 <= data.train.x.min() and data.train.x.max() <= 1.0
    assert data.num_classes == 10
    x, y = cifar.load_cifar10(str(cifar_slice))
    x_train, x_rest, y_train, y_rest = train_test_split(x, y, test_size=0.2, random_state=42)
    _, x_test, _, y_test = train_test_split(x_rest, y_rest, test_size=0.5, random_state=42)
    np.testing.assert_array_equal(data.train.y, y_train)
    np.testing.assert_array_equal(data.test.y, y_test)
    np.testing.assert_allclose(data.test.x, x_test / np.float32(255.0))


def test_archive_is_read_like_the_folder(cifar_slice, tmp_path):
    archive = tmp_path / "slice.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(cifar_slice, arcname="cifar10-jpg")
    x_folder, y_folder = cifar.load_cifar10(str(cifar_slice))
    x_archive, y_archive = cifar.load_cifar10(str(archive))
    np.testing.assert_array_equal(x_archive, x_folder)
    np.testing.assert_array_equal(y_archive, y_folder)


@pytest.mark.parametrize("breakage, message", [
    pytest.param(lambda root: None, r"does not exist", id="missing folder"),
    pytest.param(lambda root: write_tree(root, splits=("train",)), r"has no test/ folder", id="missing split"),
    pytest.param(lambda root: write_tree(root, classes=cifar.CLASS_NAMES[:-1]), r"no folder train/truck/ with images",
                 id="missing class"),
    pytest.param(lambda root: write_tree(root, classes=cifar.CLASS_NAMES + ("unicorn",)),
                 r"not CIFAR-10 classes: test/unicorn/", id="unknown class"),
    pytest.param(lambda root: write_tree(root, size=16), r"0000\.png: image is 16x16, CIFAR-10 images are 32x32",
                 id="wrong size"),
    pytest.param(lambda root: (write_tree(root), (root / "test" / "cat" / "0001.png").write_bytes(b"not a png")),
                 r"test/cat/0001\.png: not a readable image", id="corrupt image"),
])
def test_malformed_sources_are_reported(tmp_path, breakage, message):
    root = tmp_path / "cifar"
    breakage(root)
    with pytest.raises(UserError, match=message):
        cifar.load_cifar10(str(root))


def test_corrupt_archive_is_reported(tmp_path):
    archive = tmp_path / "cifar.tar.gz"
    archive.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(UserError, match="not a readable .tar"):
        cifar.load_cifar10(str(archive))


def test_keras_source_merges_train_and_test(monkeypatch):
    train = (np.zeros((4, 32, 32, 3), np.uint8), np.array([[0], [1], [2], [3]]))
    test = (np.ones((2, 32, 32, 3), np.uint8), np.array([[8], [9]]))
    monkeypatch.setattr(keras.datasets.cifar10, "load_data", lambda: (train, test))
    x, y = cifar.load_cifar10("")
    assert x.shape == (6, 32, 32, 3) and y.tolist() == [0, 1, 2, 3, 8, 9]

    def offline():
        raise Exception("URL fetch failure")
    monkeypatch.setattr(keras.datasets.cifar10, "load_data", offline)
    with pytest.raises(UserError, match="URL fetch failure.*--data_dir"):
        cifar.load_cifar10("")


def test_environment_variable_chooses_the_source(monkeypatch):
    from cifar_common import CIFAR_MOBILENET, CIFAR_RESNET

    def data_dir(dataset):
        return parse_flags(dataset.defaults, [], specs=settings_of(dataset, dataset.defaults)).data_dir

    monkeypatch.setenv(cifar.DATA_VARIABLE, "/somewhere/cifar10-jpg")
    assert data_dir(CIFAR_MOBILENET) == data_dir(CIFAR_RESNET) == "/somewhere/cifar10-jpg"
    monkeypatch.delenv(cifar.DATA_VARIABLE)
    assert data_dir(CIFAR_MOBILENET) == data_dir(CIFAR_RESNET) == ""


# ---- scripts ----

def flags(data_dir, *extra):
    return (f"--data_dir={data_dir}", "--epochs=1", "--iterations=1", "--verbose=0", *extra)


def records_by_variant(results):
    return {record["variant"]: record for record in results["records"]}


def no_path_flags(record):
    return [combination["no_path"] for combination in record["combinations"]]


def summary_models(results):
    models = [row["model"] for row in results["summary"]]
    assert [row["setting"] for row in results["summary"]] == list(SETTINGS) * len(set(models))
    return list(dict.fromkeys(models))


@pytest.mark.parametrize("architecture, extra", [("mobilenet", ("--alpha=0.25",)), ("resnet", ())])
def test_average_accuracy_script(script_slice, tmp_path, architecture, extra):
    results = run_script(f"cifar_{architecture}_average_accuracy.py", *flags(script_slice, *extra), cwd=tmp_path)
    assert results["experiment"] == f"cifar_{architecture}_average_accuracy"
    assert results["failable_nodes"] == ["fog", "edge"]
    records = records_by_variant(results)
    assert list(records) == ["Vanilla", "DFG", "ResiliNet"]
    assert no_path_flags(records["Vanilla"]) == NO_PATH_WITHOUT_SKIPS
    assert no_path_flags(records["ResiliNet"]) == NO_PATH_WITH_BOTH_SKIPS
    assert summary_models(results) == ["Vanilla", "DFG", "ResiliNet"]
    assert all(0.0 <= row["mean"] <= 1.0 and row["std"] is None for row in results["summary"])
    assert results["config"]["augment"] is True and results["config"]["epochs"] == 1
    assert sorted(p.name for p in run_weights(tmp_path, results["experiment"]).iterdir()) == [
        "DFG_iter1.weights.h5", "ResiliNet_iter1.weights.h5", "Vanilla_iter1.weights.h5"]


def test_mobilenet_hyperconnection_weight_script(script_slice, tmp_path):
    results = run_script("cifar_mobilenet_hyperconnection_weight.py",
                         *flags(script_slice, "--alpha=0.25", "--weight_schemes=4", "--model_kinds=DFG,ResiliNet"),
                         cwd=tmp_path)
    records = records_by_variant(results)
    assert list(records) == ["DFG_weight_scheme4", "ResiliNet_weight_scheme4"]
    assert list(records["ResiliNet_weight_scheme4"]["average"]) == list(SETTINGS)
    assert summary_models(results) == ["DFG_weight_scheme4", "ResiliNet_weight_scheme4"]


def test_resnet_hyperconnection_weight_script(script_slice, tmp_path):
    results = run_script("cifar_resnet_hyperconnection_weight.py",
                         *flags(script_slice, "--weight_schemes=1", "--model_kinds=DFG"), cwd=tmp_path)
    assert list(records_by_variant(results)) == ["DFG_weight_scheme1"]
    assert summary_models(results) == ["DFG_weight_scheme1"]


@pytest.mark.parametrize("architecture, extra", [("mobilenet", ("--alpha=0.25",)), ("resnet", ())])
def test_failout_rate_script(script_slice, tmp_path, architecture, extra):
    results = run_script(f"cifar_{architecture}_failout_rate.py",
                         *flags(script_slice, "--failout_survival_rates=0.9", *extra), cwd=tmp_path)
    assert list(records_by_variant(results)) == ["ResiliNet_failout0.9"] + [
        f"ResiliNet_variable_failout_{s}" for s in ("normal", "poor", "hazardous")]
    assert summary_models(results) == ["ResiliNet failout 0.9", "ResiliNet variable failout"]
    variable_no_failure = next(row for row in results["summary"]
                               if row["model"] == "ResiliNet variable failout" and row["setting"] == "no failure")
    assert variable_no_failure["mean"] is None and variable_no_failure["iterations"] == 0


@pytest.mark.backend
def test_mobilenet_skiphyperconnection_sensitivity_script(script_slice, tmp_path):
    # One configuration, one model: under JAX (tests/test_backends.py) each model costs its own compilation; health
    # and camera run several configurations in one script. A batch of all 48 training images: JAX compiles one
    # training step, not two.
    results = run_script("cifar_mobilenet_skiphyperconnection_sensitivity.py",
                         *flags(script_slice, "--alpha=0.25", "--skip_configurations=01", "--batch_size=48"),
                         cwd=tmp_path)
    records = records_by_variant(results)
    assert list(records) == ["ResiliNet_skips01"]
    assert no_path_flags(records["ResiliNet_skips01"]) == [True, True, False, False]  # the iot->fog skip only
    assert summary_models(results) == ["ResiliNet skips 01"]


def test_resnet_skiphyperconnection_sensitivity_script_in_mixed_precision(script_slice, tmp_path):
    results = run_script("cifar_resnet_skiphyperconnection_sensitivity.py",
                         *flags(script_slice, "--skip_configurations=10", "--mixed_precision=true"), cwd=tmp_path)
    records = records_by_variant(results)
    assert list(records) == ["ResiliNet_skips10"]
    assert no_path_flags(records["ResiliNet_skips10"]) == [True, False, True, False]  # edge->cloud only
    assert results["config"]["mixed_precision"] is True
    assert keras.mixed_precision.global_policy().name == "float32", "the run restores the policy"


@pytest.mark.parametrize("script, flag, message", [
    ("cifar_mobilenet_average_accuracy.py", "--partition_setting=3", "--partition_setting must be one of 1, 2, got 3"),
    ("cifar_resnet_failout_rate.py", "--partition_setting=0", "--partition_setting must be one of 1, 2, got 0"),
    ("cifar_resnet_average_accuracy.py", "--data_dir=/no/such/cifar", "/no/such/cifar does not exist"),
])
def test_scripts_report_bad_constants_and_sources(tmp_path, capsys, script, flag, message):
    with pytest.raises(SystemExit) as exit_info:
        run_script(script, flag, cwd=tmp_path)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
