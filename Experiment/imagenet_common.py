"""Constants, data and models of the ImageNet experiments (MobileNet v1, 160x160).

The networks are those of cnn_Vanilla_MobileNet.py / cnn_DFG_MobileNet.py /
cnn_ResiliNet_MobileNet.py (PARTITION_SETING and ResiliNetPlus live there) with ImageNet's input
size, strides and class count. Every UPPER_CASE constant is a default that a script's --key=value
flag can override for one run.
"""
import os

import cnn_DFG_MobileNet
import cnn_ResiliNet_MobileNet
import cnn_Vanilla_MobileNet
from resilinet.builder import ModelKind
from resilinet.data.imagenet import ImageFolderSequence, list_images
from resilinet.dataset import Data, DatasetDefinition, Split
from resilinet.errors import UserError
from resilinet.topologies import CNN

EPOCHS = 75
BATCH_SIZE = 128
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

# Class-per-folder directories (<dir>/<wnid>/*.JPEG). The validation images are both the
# validation data (best-epoch selection) and the test data, as in the paper.
TRAIN_DIR = os.environ.get("RESILINET_IMAGENET_TRAIN", "")
VAL_DIR = os.environ.get("RESILINET_IMAGENET_VAL", "")
AUGMENT = True
MIXED_PRECISION = False
WORKERS = 4  # threads reading images in parallel (keras.utils.PyDataset workers)


def load_data(config):
    train_paths, train_labels, classes = list_images(config.train_dir, "train_dir")
    val_paths, val_labels, val_classes = list_images(config.val_dir, "val_dir")
    if val_classes != classes:
        raise UserError(f"--train_dir and --val_dir hold different class folders ({len(classes)} vs "
                        f"{len(val_classes)}); they must be the same")
    stream = dict(batch_size=config.batch_size, image_size=config.image_size, workers=config.workers)
    train = ImageFolderSequence(train_paths, train_labels, shuffle=True, seed=config.seed, **stream)
    val = ImageFolderSequence(val_paths, val_labels, shuffle=False, **stream)
    return Data(Split(train, train_labels), Split(val, val_labels), Split(val, val_labels), num_classes=len(classes))


def architecture(config):
    return {"input_shape": (config.image_size, config.image_size, 3), "num_classes": config.num_classes,
            "strides": STRIDES, "alpha": config.alpha, "augment": config.augment}


def build_model(kind, config, options):
    if kind is ModelKind.VANILLA:
        return cnn_Vanilla_MobileNet.define_vanilla_model_MobileNet(config.partition_setting, **architecture(config))
    if kind is ModelKind.DFG:
        return cnn_DFG_MobileNet.define_deepFogGuard_MobileNet(config.partition_setting, options,
                                                               **architecture(config))
    return cnn_ResiliNet_MobileNet.define_ResiliNet_MobileNet(
        config.partition_setting, options, kind is ModelKind.RESILINET_PLUS, config.failout_survival_rate,
        **architecture(config))


def validate(config):
    """Check the constants, and record the number of classes found in --train_dir."""
    config.num_classes = len(list_images(config.train_dir, "train_dir")[2])
    cnn_Vanilla_MobileNet.mobilenet_architecture(config.partition_setting, **architecture(config))


def no_path_score(data):
    """Guessing one of the classes: 0.001 for the 1000 ImageNet classes, as in the paper."""
    return 1.0 / data.num_classes


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
        "image_size": IMAGE_SIZE,
        "augment": AUGMENT,
        "mixed_precision": MIXED_PRECISION,
        "workers": WORKERS,
    },
    load_data=load_data,
    build_model=build_model,
    no_path_score=no_path_score,
    validate=validate,
)
