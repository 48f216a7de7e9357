"""ImageNet: the streaming loader on imagenette-mini and the four scripts end-to-end on a slice."""
import re
import tracemalloc
from collections import Counter

import numpy as np
import pytest
from conftest import extract_members, run_script, shared_archive

from resilinet.base.errors import UserError
from resilinet.data.image_stream import ImageFolderSequence
from resilinet.data.imagenet import hold_out, list_images

ARCHIVE = "imagenette-mini.tar.gz"
MEMBER = re.compile(r"imagenette-mini/(train|val)/(\w+)/[^/]+$")


@pytest.fixture(scope="module")
def full_dir(tmp_path_factory):
    root = extract_members(shared_archive(ARCHIVE), tmp_path_factory.mktemp("imagenet"), lambda n: True)
    return root / "imagenette-mini"


@pytest.fixture(scope="module")
def slice_dir(tmp_path_factory):
    """6 training and 3 validation images per class."""
    taken = Counter()

    def keep(name):
        match = MEMBER.match(name)
        if not match:
            return False
        split, wnid = match.groups()
        limit = 6 if split == "train" else 3
        taken[split, wnid] += 1
        return taken[split, wnid] <= limit

    root = extract_members(shared_archive(ARCHIVE), tmp_path_factory.mktemp("imagenet_slice"), keep)
    return root / "imagenette-mini"


def test_streamed_batches_have_the_right_shape_labels_and_bounded_memory(full_dir):
    paths, labels, classes = list_images(str(full_dir / "train"), "train_dir")
    assert len(classes) == 10 and classes == sorted(classes)
    assert len(paths) == 400 and np.bincount(labels).tolist() == [40] * 10
    sequence = ImageFolderSequence(paths, labels, batch_size=32, image_size=160, shuffle=False)
    assert len(sequence) == 13
    images, batch_labels = sequence[0]
    assert images.shape == (32, 160, 160, 3) and images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 1.0
    np.testing.assert_array_equal(batch_labels, labels[:32])
    assert sequence[12][0].shape == (400 - 12 * 32, 160, 160, 3)
    # only paths are held; reading every batch keeps at most about one batch in memory
    batch_bytes = images.nbytes
    tracemalloc.start()
    for index in range(len(sequence)):
        sequence[index]
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 2.5 * batch_bytes, f"peak {peak} bytes while streaming 13 batches of {batch_bytes}"


def test_shuffled_training_order_changes_per_epoch_and_keeps_labels_aligned(slice_dir):
    paths, labels, _ = list_images(str(slice_dir / "train"), "train_dir")
    sequence = ImageFolderSequence(paths, labels, batch_size=60, image_size=32, shuffle=True, seed=1)
    first = sequence[0][1].copy()
    sequence.set_epoch_order(2)
    second = sequence[0][1].copy()
    assert sorted(first) == sorted(second) == sorted(labels) and not np.array_equal(first, second)
    sequence.set_epoch_order(1)
    np.testing.assert_array_equal(sequence[0][1], first)  # an epoch's order is a function of its seed alone


def test_loader_errors(slice_dir, tmp_path):
    with pytest.raises(UserError, match="--train_dir '' is not a folder"):
        list_images("", "train_dir")
    (tmp_path / "n01").mkdir()
    with pytest.raises(UserError, match="n01 holds no images"):
        list_images(str(tmp_path), "val_dir")
    bad = tmp_path / "n01" / "broken.JPEG"
    bad.write_bytes(b"not an image")
    sequence = ImageFolderSequence([bad], np.array([0]), batch_size=1, image_size=32, shuffle=False)
    with pytest.raises(UserError, match="broken.JPEG is not a readable image"):
        sequence[0]


def test_hold_out_takes_the_same_images_of_every_class_for_validation():
    labels = np.repeat(np.arange(3), [5, 6, 7])
    train, validation = hold_out(labels, ["a", "b", "c"], per_class=2)
    assert np.bincount(labels[validation]).tolist() == [2, 2, 2]
    assert sorted(np.concatenate([train, validation]).tolist()) == list(range(18))
    np.testing.assert_array_equal(validation, hold_out(labels, ["a", "b", "c"], per_class=2)[1])
    with pytest.raises(UserError, match="class a has 5 training image"):
        hold_out(labels, ["a", "b", "c"], per_class=5)


def flags(slice_dir):
    """Tiny runs of a quarter-width MobileNet; a batch of 20 divides the 40 training and 20 validation images, so
    JAX (tests/test_backends.py) compiles one training and one validation step."""
    return [f"--train_dir={slice_dir / 'train'}", f"--val_dir={slice_dir / 'val'}", "--image_size=64", "--alpha=0.25",
            "--batch_size=20", "--epochs=1", "--iterations=1", "--verbose=0", "--read_workers=1",
            "--validation_images_per_class=2"]


def test_average_accuracy_end_to_end(slice_dir, tmp_path, capsys):
    document = run_script("imagenet_average_accuracy.py", *flags(slice_dir), cwd=tmp_path)
    assert ("10 classes; training on 40 images, choosing the best epoch on 20 held out from --train_dir, "
            "testing on the 30 images of --val_dir; no path to the cloud scores 1/10 = 0.1") in capsys.readouterr().out
    assert [r["variant"] for r in document["records"]] == ["Vanilla", "DFG", "ResiliNet"]
    vanilla, dfg, _ = document["records"]
    assert [c["accuracy"] for c in vanilla["combinations"][:3]] == [0.1] * 3  # no path: 1 / 10 classes
    assert [c["no_path"] for c in dfg["combinations"]] == [True, False, False, False]
    assert "num_classes" not in document["config"]  # read from --train_dir's class folders, never a setting


def test_hyperconnection_weight_and_failout_rate_end_to_end(slice_dir, tmp_path):
    weight = run_script("imagenet_hyperconnection_weight.py", *flags(slice_dir), "--weight_schemes=1",
                        "--model_kinds=ResiliNet", cwd=tmp_path)
    assert [r["variant"] for r in weight["records"]] == ["ResiliNet_weight_scheme1"]
    failout = run_script("imagenet_failout_rate.py", *flags(slice_dir), "--failout_survival_rates=0.5", cwd=tmp_path)
    assert len(failout["records"]) == 4


@pytest.mark.backend
def test_skiphyperconnection_sensitivity_end_to_end(slice_dir, tmp_path):
    skips = run_script("imagenet_skiphyperconnection_sensitivity.py", *flags(slice_dir), "--skip_configurations=01",
                       cwd=tmp_path)
    assert [c["no_path"] for c in skips["records"][0]["combinations"]] == [True, True, False, False]


def test_mismatched_class_folders_are_refused(slice_dir, tmp_path, capsys):
    other = tmp_path / "val" / "n99999999"
    other.mkdir(parents=True)
    (other / "image.JPEG").write_bytes(next((slice_dir / "val").glob("*/*.JPEG")).read_bytes())
    with pytest.raises(SystemExit) as exit_info:
        run_script("imagenet_average_accuracy.py", *flags(slice_dir), f"--val_dir={tmp_path / 'val'}", cwd=tmp_path)
    assert exit_info.value.code == 2
    assert "hold different class folders (10 vs 1; e.g. n01440764" in capsys.readouterr().err
