"""Constants, data and models of the ImageNet experiments (MobileNet v1, 160x160).

The networks are those of cnn_Vanilla_MobileNet.py / cnn_DFG_MobileNet.py /
cnn_ResiliNet_MobileNet.py (PARTITION_SETING and ResiliNetPlus live there) with ImageNet's input
size, strides and class count. Images are streamed from disk batch by batch (a
keras.utils.PyDataset: any backend), the CIFAR augmentation runs as layers of the IoT node, and
with two or more GPUs training is data-parallel (--distribute, as CIFAR). Every UPPER_CASE
constant is a default that a script's --key=value flag can override for one run.
"""

import cnn_ResiliNet_MobileNet
import cnn_Vanilla_MobileNet

from resilinet.base.errors import UserError
from resilinet.core.paper_topologies import CNN
from resilinet.core.splits import Data, Split
from resilinet.data.definition import DatasetDefinition
from resilinet.data.imagenet import class_names, hold_out, list_images
from resilinet.networks.partitions import MOBILENET as MOBILENET_PARTITIONS

EPOCHS = 75  # as CIFAR; the original's ImageNet code ran 10 epochs with batches of 1024 per GPU on 4 GPUs
BATCH_SIZE = 128  # global batch, split over the GPUs when training distributed
ITERATIONS = 1
FAILOUT_SURVIVAL_RATE = 0.9
IMAGE_SIZE = 160
STRIDES = (2, 2)
SEED = 0
EVALUATE_SAVED = False

# Alive probability of [fog, edge] (as CIFAR).
RELIABILITY_SETTINGS = {
    "no failure": (1.0, 1.0),
    "normal": (0.98, 0.96),
    "poor": (0.95, 0.90),
    "hazardous": (0.85, 0.80),
}

# Class-per-folder directories (<dir>/<wnid>/*.JPEG). The images of VAL_DIR (ImageNet's labelled
# validation set) are the test set. The best epoch is chosen on VALIDATION_IMAGES_PER_CLASS images
# per class held out from TRAIN_DIR (seeded), never on the test set. (The original trained without
# validation data, kept the last epoch and tested on the validation directory.)
# $RESILINET_IMAGENET_TRAIN and $RESILINET_IMAGENET_VAL, if set, replace them.
TRAIN_DIR = ""
VAL_DIR = ""
VALIDATION_IMAGES_PER_CLASS = 10
AUGMENT = True
MIXED_PRECISION = False
READ_WORKERS = 4  # threads reading images in parallel (keras.utils.PyDataset workers)


def load_data(config):
    from resilinet.data.image_stream import (
        ImageFolderSequence,  # Keras: imported once the flags are checked
    )

    paths, labels, classes = list_images(config.train_dir, "train_dir")
    test_paths, test_labels, test_classes = list_images(config.val_dir, "val_dir")
    if test_classes != classes:
        different = sorted(set(classes) ^ set(test_classes))
        raise UserError(f"--train_dir and --val_dir hold different class folders ({len(classes)} vs "
                        f"{len(test_classes)}; e.g. {', '.join(different[:3])}); they must be the same")
    train, val = hold_out(labels, classes, config.validation_images_per_class)
    stream = dict(batch_size=config.batch_size, image_size=config.image_size, workers=config.read_workers)

    def split(indices, shuffle):
        chosen = [paths[i] for i in indices]
        return Split(ImageFolderSequence(chosen, labels[indices], shuffle=shuffle, seed=config.seed, **stream),
                     labels[indices])

    test = Split(ImageFolderSequence(test_paths, test_labels, shuffle=False, **stream), test_labels)
    print(f"imagenet: {len(classes)} classes; training on {len(train)} images, choosing the best epoch on "
          f"{len(val)} held out from --train_dir, testing on the {len(test_labels)} images of --val_dir; "
          f"no path to the cloud scores {no_path_note(len(classes))}", flush=True)
    return Data(split(train, True), split(val, False), test, num_classes=len(classes))


def architecture(config):
    return cnn_Vanilla_MobileNet.mobilenet_architecture(
        config.partition_setting, input_shape=(config.image_size, config.image_size, 3),
        num_classes=len(class_names(config.train_dir, "train_dir")), strides=STRIDES, alpha=config.alpha,
        augment=config.augment)


def validate(config):
    """Check that --train_dir holds class folders (1000 for ImageNet) before Keras loads."""
    class_names(config.train_dir, "train_dir")


def no_path_score(data):
    """Guessing one of the classes: 0.001 for the 1000 ImageNet classes, as in the paper."""
    return 1.0 / data.num_classes


def no_path_note(num_classes):
    if num_classes == 1000:
        return "0.001 (1/1000, as in the paper)"
    return f"1/{num_classes} = {1.0 / num_classes:.4g} (chance level of this {num_classes}-class subset)"


DATASET = DatasetDefinition(
    name="imagenet",
    topology=CNN,
    reliability_settings=RELIABILITY_SETTINGS,
    defaults={
        "epochs": EPOCHS,
        "batch_size": BATCH_SIZE,
        "iterations": ITERATIONS,
        "seed": SEED,
        "evaluate_saved": EVALUATE_SAVED,
        "failout_survival_rate": FAILOUT_SURVIVAL_RATE,
        "partition_setting": cnn_Vanilla_MobileNet.PARTITION_SETING,
        "resilinet_plus": cnn_ResiliNet_MobileNet.ResiliNetPlus,
        "alpha": cnn_Vanilla_MobileNet.ALPHA,
        "train_dir": TRAIN_DIR,
        "val_dir": VAL_DIR,
        "validation_images_per_class": VALIDATION_IMAGES_PER_CLASS,
        "image_size": IMAGE_SIZE,
        "augment": AUGMENT,
        "mixed_precision": MIXED_PRECISION,
        "read_workers": READ_WORKERS,
    },
    load_data=load_data,
    architecture=architecture,
    model_name="MobileNet",
    no_path_score=no_path_score,
    validate=validate,
    choices={"partition_setting": tuple(MOBILENET_PARTITIONS)},
    constants_file=__file__,
    constant_files={"partition_setting": cnn_Vanilla_MobileNet.__file__},
)
